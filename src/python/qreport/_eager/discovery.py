"""The discovery pass: one forward of the first batch, recording which module or function
consumed which tensor, to find the layers the forward calls and what fuses with them.

Layers are found on the module tree (nn.Linear/ConvNd, their QAT and fused forms) and, through
a ``TorchFunctionMode``, wherever a module's weight reaches ``F.linear``/``F.conv*`` outside
that module's own forward (``nn.MultiheadAttention``'s projections, torchvision's Swin
attention). Fusion is decided as PyTorch's prepare step decides it, from the data flow: a
BatchNorm whose input is the layer's output, and used by nothing else, is folded; a ReLU
(module or function) in the same position is fused and the post point moves after it. The
data flow is recovered by tensor identity and version counter, so an in-place change between
two modules (``out += identity``) breaks the chain as it should.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch.overrides import TorchFunctionMode

from .. import _core
from .functions import (COMPOSITES, LAYER_FUNCTIONS, OP_NAMES, OP_OF_KIND, RELU_FUNCTIONS,
                        layer_call_arguments)
from .modules import ModuleInfo, classify, is_observer
from .tensors import as_list, first_tensor, tensor_count

Role = _core.ModuleRole


@dataclass
class Fusion:
    batch_norm: Optional[str] = None  # fqn
    batch_norm_eps: float = 1e-5
    relu: bool = False
    relu_fqn: str = ""  # the ReLU module, "" for a functional ReLU
    post_value: str = ""  # what the post point observes, for people

    def key(self) -> tuple:
        return (self.batch_norm, self.relu, self.relu_fqn)


@dataclass
class LayerCall:
    op: str
    fusion: Fusion
    batch_norm_call: Optional["_Event"] = None  # the BatchNorm call its fusion folds in


@dataclass
class FoundLayer:
    fqn: str
    weight_path: str
    owner: torch.nn.Module
    weight: torch.Tensor
    kind: "_core.LayerKind"
    family: "_core.ModuleFamily"
    groups: int
    functional: bool  # seen through the function mode, not the module's own forward
    calls: List[LayerCall] = field(default_factory=list)
    input_ndim: Optional[int] = None  # of the first call's input

    def fusion(self) -> Fusion:
        """The calls' common fusion; none when call sites fuse differently (one observer
        serves every call, and only unfused outputs are comparable)."""
        keys = {call.fusion.key() for call in self.calls}
        if len(keys) == 1:
            return self.calls[0].fusion
        return Fusion(post_value=f"output of {self.calls[0].op}")


@dataclass
class Leaf:
    fqn: str
    module: torch.nn.Module
    tensor_inputs: int
    # A BatchNorm folded into this layer at every call: fusion leaves no input to observe.
    folded_into: str = ""


@dataclass
class Discovery:
    layers: List[FoundLayer]  # in module order
    leaves: List[Leaf]  # leaf modules forward called, in module order
    needs_mode: bool  # some layer is reached only through the function mode
    unseen: List[str]  # Linear/Conv modules the forward never called, for the report


@dataclass
class _Event:
    kind: str  # "module", "function" or "layer"
    name: str
    module: Optional[torch.nn.Module] = None
    info: Optional[ModuleInfo] = None
    func: Optional[Callable] = None
    inputs: List[Tuple[int, int]] = field(default_factory=list)  # (token, version)
    first_input: Optional[Tuple[int, int]] = None
    outputs: List[Tuple[int, int]] = field(default_factory=list)
    layer: Optional[FoundLayer] = None


class _Tokens:
    """A number per live tensor object, forgotten when the tensor dies, so that a recycled
    id() never joins two tensors."""

    def __init__(self) -> None:
        self._by_id: Dict[int, Tuple[int, weakref.ref]] = {}
        self._next = 0

    def of(self, tensor: torch.Tensor) -> Tuple[int, int]:
        entry = self._by_id.get(id(tensor))
        if entry is None or entry[1]() is not tensor:
            key = id(tensor)
            self._next += 1
            by_id = self._by_id
            entry = (self._next, weakref.ref(tensor, lambda _ref, key=key: by_id.pop(key, None)))
            by_id[key] = entry
        return entry[0], tensor._version


class _Recorder(TorchFunctionMode):
    def __init__(self, discovery: "_Discoverer") -> None:
        super().__init__()
        self._d = discovery

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        d = self._d
        if func in LAYER_FUNCTIONS:
            layer = d.functional_layer(func, args, kwargs)
            if layer is not None:
                x, _, _ = layer_call_arguments(func, args, kwargs)
                event = _Event("layer", OP_NAMES[func], func=func, layer=layer)
                if isinstance(x, torch.Tensor) and layer.input_ndim is None:
                    layer.input_ndim = x.dim()
                if isinstance(x, torch.Tensor):
                    event.first_input = d.tokens.of(x)
                    event.inputs = [event.first_input]
                out = func(*args, **kwargs)
                event.outputs = [d.tokens.of(out)]
                d.add(event)
                return out
        composite = COMPOSITES.get(func)
        if composite is not None:
            with self:
                return composite(*args, **kwargs)
        if d.inside_atomic():
            return func(*args, **kwargs)
        inputs = [d.tokens.of(t) for t in as_list((args, kwargs))]
        out = func(*args, **kwargs)
        outputs = as_list(out)
        if outputs:  # size(), dim(), .shape: not a use of the data
            event = _Event("function", getattr(func, "__name__", str(func)), func=func,
                           inputs=inputs, outputs=[d.tokens.of(t) for t in outputs])
            event.first_input = inputs[0] if inputs else None
            d.add(event)
        return out


class _Discoverer:
    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.tokens = _Tokens()
        self.events: List[_Event] = []
        self.atomic_depth = 0
        self.names: Dict[int, str] = {}
        self.infos: Dict[int, Optional[ModuleInfo]] = {}
        self.owners: Dict[int, Tuple[str, str, torch.nn.Module]] = {}
        self.layers: Dict[str, FoundLayer] = {}
        self.leaf_calls: Dict[str, Leaf] = {}
        self.active: List[torch.nn.Module] = []
        self.pending: List[Tuple[List[Tuple[int, int]], Optional[Tuple[int, int]]]] = []
        for fqn, module in model.named_modules():
            self.names[id(module)] = fqn
            self.infos[id(module)] = classify(module)
            for name, param in module.named_parameters(recurse=False):
                self.owners.setdefault(id(param), (fqn, name, module))

    # --- what the hooks and the mode report -----------------------------------------------
    def inside_atomic(self) -> bool:
        return self.atomic_depth > 0

    def is_atomic(self, module: torch.nn.Module) -> bool:
        info = self.infos.get(id(module))
        if info is not None and info.role == Role.Layer:
            return True
        return next(iter(module.children()), None) is None

    def add(self, event: _Event) -> None:
        self.events.append(event)

    def functional_layer(self, func, args, kwargs) -> Optional[FoundLayer]:
        _, weight, groups = layer_call_arguments(func, args, kwargs)
        owner = self.owners.get(id(weight)) if isinstance(weight, torch.Tensor) else None
        if owner is None:
            return None
        fqn, name, module = owner
        info = self.infos.get(id(module))
        own_forward = bool(self.active) and self.active[-1] is module
        if own_forward and info is not None and info.role == Role.Layer:
            return None  # the module's own forward: its hooks see this call
        path = _weight_path(fqn, name)
        layer = self.layers.get(path)
        if layer is None:
            family = info.family if info is not None and info.role == Role.Layer else \
                _core.ModuleFamily.Custom
            layer = FoundLayer(fqn, path, module, weight, LAYER_FUNCTIONS[func], family, groups,
                               functional=True)
            self.layers[path] = layer
        return layer

    def pre_hook(self, module, args, kwargs=None):
        if self.is_atomic(module):
            self.active.append(module)
            self.atomic_depth += 1
            tensors = as_list((args, kwargs or {}))
            first = first_tensor(args, kwargs)
            self.pending.append(([self.tokens.of(t) for t in tensors],
                                  self.tokens.of(first) if first is not None else None))
            fqn = self.names.get(id(module), "")
            # nn.Identity (what fuse_modules leaves where a BatchNorm or ReLU was) computes
            # nothing, and vanishes from TorchScript graphs: not a leaf to analyse.
            if next(iter(module.children()), None) is None and not is_observer(module) \
                    and not isinstance(module, torch.nn.Identity) and fqn not in self.leaf_calls:
                self.leaf_calls[fqn] = Leaf(fqn, module, tensor_count(args))

    def post_hook(self, module, args, *rest):
        output = rest[-1]
        if not self.is_atomic(module):
            return
        self.active.pop()
        self.atomic_depth -= 1
        inputs, first = self.pending.pop()
        if self.atomic_depth > 0:
            return  # inside another atomic module: its internals
        fqn = self.names.get(id(module), "")
        info = self.infos.get(id(module))
        event = _Event("module", fqn, module=module, info=info, inputs=inputs, first_input=first,
                       outputs=[self.tokens.of(t) for t in as_list(output)])
        if info is not None and info.role == Role.Layer:
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor):
                path = _weight_path(fqn)
                layer = self.layers.get(path)
                if layer is None:
                    layer = FoundLayer(fqn, path, module, weight, info.kind, info.family,
                                       int(getattr(module, "groups", 1)), functional=False)
                    self.layers[path] = layer
                x = first_tensor(args)
                if layer.input_ndim is None and x is not None:
                    layer.input_ndim = x.dim()
                event.layer = layer
        self.add(event)

    # --- after the forward ------------------------------------------------------------------
    def finish(self, output: Any, fusion: bool) -> Discovery:
        consumers: Dict[Tuple[int, int], List[_Event]] = {}
        for event in self.events:
            for token in event.inputs:
                consumers.setdefault(token, []).append(event)
        returned = {self.tokens.of(t) for t in as_list(output)}
        for event in self.events:
            if event.layer is not None:
                op = OP_NAMES.get(event.func) if event.func else OP_OF_KIND[event.layer.kind]
                call = LayerCall(op, Fusion(post_value=f"output of {op}"))
                if fusion:
                    call.fusion, call.batch_norm_call = _follow(event, op, consumers, returned)
                event.layer.calls.append(call)
        order = {fqn: i for i, fqn in enumerate(self.names.values())}
        layers = sorted(self.layers.values(), key=lambda l: (order.get(l.fqn, len(order)),
                                                             l.weight_path))
        layers = [l for l in layers if l.calls]
        leaves = sorted(self.leaf_calls.values(), key=lambda l: order.get(l.fqn, len(order)))
        _mark_folded(layers, leaves, self.events)
        called = {l.weight_path for l in layers}
        unseen = []
        for fqn, module in self.model.named_modules():
            info = self.infos.get(id(module))
            if info is not None and info.role == Role.Layer and _weight_path(fqn) not in called:
                unseen.append(fqn)
        return Discovery(layers, leaves, any(l.functional for l in layers), unseen)


def _weight_path(fqn: str, name: str = "weight") -> str:
    return f"{fqn}.{name}" if fqn else name


def _mark_folded(layers: List[FoundLayer], leaves: List[Leaf], events: List[_Event]) -> None:
    """A BatchNorm every call of which folds into a layer is marked with that layer. Only
    layers whose calls agree on their fusion fold at all (FoundLayer.fusion)."""
    folded: Dict[int, str] = {}  # id(event) -> layer fqn
    for layer in layers:
        if layer.fusion().batch_norm is None:
            continue
        for call in layer.calls:
            if call.batch_norm_call is not None:
                folded[id(call.batch_norm_call)] = layer.fqn
    calls: Dict[str, List[_Event]] = {}
    for event in events:
        if event.kind == "module":
            calls.setdefault(event.name, []).append(event)
    for leaf in leaves:
        mine = calls.get(leaf.fqn, [])
        if mine and all(id(e) in folded for e in mine):
            leaf.folded_into = folded[id(mine[0])]


def _follow(event: _Event, op: str, consumers, returned) -> Tuple[Fusion, Optional[_Event]]:
    """Walks forward from a layer call's output as PyTorch's fusion patterns do. Returns the
    fusion and the BatchNorm call it folds in, if any."""
    fusion = Fusion(post_value=f"output of {op}")
    batch_norm_call = None
    if event.layer.family == _core.ModuleFamily.QatFused or len(event.outputs) != 1:
        return fusion, None  # a fused QAT module's output already is its post point
    value = event.outputs[0]
    for _ in range(64):
        users = consumers.get(value, [])
        if len(users) != 1 or value in returned:
            break
        user = users[0]
        if user.first_input != value or len(user.outputs) != 1:
            break
        if user.kind == "module" and user.info is not None and user.info.role == Role.BatchNorm \
                and fusion.batch_norm is None:
            fusion.batch_norm = user.name
            fusion.batch_norm_eps = float(getattr(user.module, "eps", 1e-5))
            fusion.post_value = "output of aten::batch_norm"
            batch_norm_call = user
            value = user.outputs[0]
            continue
        if user.kind == "module" and user.info is not None and user.info.role == Role.ReLU:
            fusion.relu, fusion.relu_fqn = True, user.name
            fusion.post_value = "output of aten::relu"
        elif user.kind == "function" and user.func in RELU_FUNCTIONS:
            fusion.relu = True
            fusion.post_value = "output of aten::relu"
        break
    return fusion, batch_norm_call


def discover(model: torch.nn.Module, args: tuple, kwargs: dict, fusion: bool = True) -> Discovery:
    """Runs the model once on (args, kwargs) under hooks and the recording mode; removes
    every hook before returning, also when the forward fails."""
    discoverer = _Discoverer(model)
    handles = []
    try:
        for module in model.modules():
            handles.append(_register_pre(module, discoverer.pre_hook))
            handles.append(module.register_forward_hook(discoverer.post_hook))
        with torch.no_grad(), _Recorder(discoverer):
            output = model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return discoverer.finish(output, fusion)


def _register_pre(module: torch.nn.Module, hook):
    try:
        return module.register_forward_pre_hook(hook, with_kwargs=True)
    except TypeError:  # torch < 2.0: no keyword arguments in hooks
        return module.register_forward_pre_hook(lambda m, args: hook(m, args, None))
