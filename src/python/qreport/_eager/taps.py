"""Calibration taps: forward hooks (and, for weights used outside their module's forward, a
``TorchFunctionMode``) that hand each observed activation to the C++ observer bank without a
copy. The model is never changed: hooks are removed when the taps close, and a tensor is only
read, never replaced.

Each module that needs observing gets one pre-hook and one forward hook, which do in order:
- before the call: match the input against a fused chain in progress (a BatchNorm or ReLU
  that folds into the layer before it, found by tensor identity and version as discovery
  found it), then observe the input (a layer's pre point, a leaf's for the outlier detector);
- after it: note how a clamp leaf's output derives from its input (below), hand a layer's
  output on (to its folded BatchNorm or fused ReLU, or to its post point), and finish a chain.

Reuse: a tensor observed once, or the output of ReLU/ReLU6/Hardtanh whose input was observed,
is not read again where the core can derive the statistics exactly (ObserverBank's
ObserveThrough: clamp keeps every value's rank, so min, max and quantiles map through it).
Where it cannot, the tensor is read as usual. The derivation needs the richer observation
first, so a module's output that the next module of an ``nn.Sequential`` is certain to
receive (no other hooks in between) is read once for both points, the successor's input
observer leading: a layer's range-only post point and the next module's per-channel input.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from torch.overrides import TorchFunctionMode

from .. import _core
from .discovery import Discovery
from .functions import COMPOSITES, LAYER_FUNCTIONS, RELU_FUNCTIONS, layer_call_arguments
from .tensors import first_tensor

INF = math.inf


def clamp_bounds(module: torch.nn.Module) -> Optional[Tuple[float, float]]:
    if isinstance(module, torch.nn.ReLU):
        return 0.0, INF
    if isinstance(module, torch.nn.Hardtanh):  # ReLU6 too
        return float(module.min_val), float(module.max_val)
    return None


@dataclass
class _ModuleTap:
    pre_slots: List[int] = field(default_factory=list)
    layer: Optional[int] = None  # the layer this module computes (not functional)
    batch_norm: bool = False  # folds into some layer
    relu: bool = False  # a ReLU module that fuses into some layer
    clamp: Optional[Tuple[float, float]] = None  # a clamp leaf whose input is observed
    successor: Optional["_Successor"] = None  # the next module of its nn.Sequential


@dataclass
class _Successor:
    """The module an ``nn.Sequential`` calls next with this module's output, and the
    observers of its input."""
    module: torch.nn.Module
    slots: List[int]


@dataclass
class _Derived:
    ref: weakref.ref
    version: int
    sources: List[Tuple[int, int]]  # (input slot, its update count when this was noted)
    low: float
    high: float


class Taps:
    """Hooks on `model` that feed `bank`; a context manager. Counts the forward calls of the
    whole model as calibration batches."""

    def __init__(self, model: torch.nn.Module, discovery: Discovery, bank: "_core.Bank") -> None:
        self._model = model
        self._discovery = discovery
        self._bank = bank
        self._slots: Dict[Tuple[str, str], List[int]] = {}
        for slot in range(bank.size):
            self._slots.setdefault(bank.key(slot), []).append(slot)
        self._updates = [0] * bank.size
        self._handles: list = []
        self._mode: Optional[_CalibrationMode] = None
        self._chain: Dict[int, Tuple[weakref.ref, int, int]] = {}  # id -> (ref, version, layer)
        self._chain_calls: Dict[int, List[Optional[int]]] = {}  # id(module) -> layer stack
        self._derived: Dict[int, _Derived] = {}
        self._relu_inputs: Dict[int, Tuple[weakref.ref, int, int]] = {}
        # The output a post hook is handing on, and the successor that will receive it.
        self._ahead: Optional[Tuple[torch.Tensor, _Successor]] = None
        # id(tensor) -> (ref, version, id(successor)): observed for the successor already.
        self._prefetched: Dict[int, Tuple[weakref.ref, int, int]] = {}
        self.host_copies = 0  # activations copied from another device to be read
        self.threads = torch.get_num_threads()
        self._fusions = [layer.fusion() for layer in discovery.layers]
        self._functional: Dict[int, int] = {
            id(layer.weight): i for i, layer in enumerate(discovery.layers) if layer.functional}
        # A functional layer inside a leaf module (a custom module calling F.linear on its own
        # weight) shares the leaf's pre point; the leaf's hook observes it, once.
        leaves = {leaf.fqn for leaf in discovery.leaves}
        self._functional_pre: Dict[int, List[int]] = {
            i: ([] if layer.fqn in leaves else self._slots.get((layer.fqn, "pre"), []))
            for i, layer in enumerate(discovery.layers) if layer.functional}

    # --- lifetime ---------------------------------------------------------------------------
    def __enter__(self) -> "Taps":
        try:
            self._install()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._chain.clear()
        self._derived.clear()
        self._relu_inputs.clear()
        self._prefetched.clear()
        self._ahead = None

    def _plan(self, modules: Dict[str, torch.nn.Module]) -> Dict[str, _ModuleTap]:
        taps: Dict[str, _ModuleTap] = {}

        def tap(fqn: str) -> _ModuleTap:
            return taps.setdefault(fqn, _ModuleTap())

        for index, layer in enumerate(self._discovery.layers):
            fusion = self._fusions[index]
            if not layer.functional:
                tap(layer.fqn).layer = index
                tap(layer.fqn).pre_slots = self._slots.get((layer.fqn, "pre"), [])
            if fusion.batch_norm is not None:
                tap(fusion.batch_norm).batch_norm = True
            if fusion.relu and fusion.relu_fqn:
                tap(fusion.relu_fqn).relu = True
        for leaf in self._discovery.leaves:
            slots = self._slots.get((leaf.fqn, "pre"), [])
            if not slots:
                continue
            tap(leaf.fqn).pre_slots = slots
            tap(leaf.fqn).clamp = clamp_bounds(modules[leaf.fqn])
        for fqn, successor in sequential_successors(self._model).items():
            if fqn in taps and successor in taps and taps[successor].pre_slots:
                taps[fqn].successor = _Successor(modules[successor], taps[successor].pre_slots)
        return taps

    def _install(self) -> None:
        # The observers use the threads torch uses; torch's own setting is never changed.
        self.threads = torch.get_num_threads()
        _core.set_num_threads(self.threads)
        modules = dict(self._model.named_modules())
        for fqn, plan in self._plan(modules).items():
            module = modules[fqn]
            self._chain_calls[id(module)] = []
            self._handles.append(module.register_forward_pre_hook(self._pre_hook(plan)))
            if plan.layer is not None or plan.batch_norm or plan.relu or plan.clamp:
                self._handles.append(module.register_forward_hook(self._post_hook(plan)))
        self._handles.append(self._model.register_forward_pre_hook(self._start_forward))
        self._handles.append(self._model.register_forward_hook(self._end_forward))
        if self._discovery.needs_mode:
            self._mode = _CalibrationMode(self)
            self._mode.__enter__()

    # --- observing ----------------------------------------------------------------------------
    def observe(self, slots: List[int], tensor: Optional[torch.Tensor]) -> None:
        if tensor is None or not slots:
            return
        derived = self._derived.get(id(tensor))
        if derived is not None and derived.ref() is tensor and derived.version == tensor._version:
            slots = [s for s in slots if not self._through(s, derived)]
            if not slots:
                return
        if self._ahead is not None and self._ahead[0] is tensor:
            successor = self._ahead[1]
            self._ahead = None
            slots = slots + successor.slots
            self._prefetched[id(tensor)] = (weakref.ref(tensor), tensor._version,
                                            id(successor.module))
        read = tensor.detach()
        if read.device.type != "cpu":
            read = read.cpu()
            self.host_copies += 1
        self._bank.observe(slots, read)
        for slot in slots:
            self._updates[slot] += 1
        self._derived[id(tensor)] = _Derived(weakref.ref(tensor), tensor._version,
                                             [(s, self._updates[s]) for s in slots], -INF, INF)

    def _through(self, slot: int, derived: _Derived) -> bool:
        for source, count in derived.sources:
            if source != slot and self._updates[source] == count and \
                    self._bank.observe_through(slot, source, derived.low, derived.high):
                self._updates[slot] += 1
                return True
        return False

    def _start_forward(self, _module, _args) -> None:
        self._chain.clear()
        self._derived.clear()
        self._relu_inputs.clear()
        self._prefetched.clear()

    def _end_forward(self, _module, _args, _output) -> None:
        self._flush_relu_inputs()
        self._bank.add_batches(1)
        self._derived.clear()
        self._prefetched.clear()

    def _pre_hook(self, plan: _ModuleTap):
        def hook(module, args):
            x = first_tensor(args)
            folded = False
            if plan.batch_norm or plan.relu:
                entry = self._chain.pop(id(x), None) if x is not None else None
                layer = None
                if entry is not None and entry[0]() is x and entry[1] == x._version:
                    layer = entry[2]
                self._chain_calls[id(module)].append(layer)
                # A BatchNorm call that folds into its layer has no input once fused.
                folded = plan.batch_norm and layer is not None
            if plan.pre_slots and not folded and not self._was_prefetched(module, x):
                self.observe(plan.pre_slots, x)
        return hook

    def _was_prefetched(self, module: torch.nn.Module, x: Optional[torch.Tensor]) -> bool:
        entry = self._prefetched.pop(id(x), None) if x is not None else None
        return entry is not None and entry[0]() is x and entry[1] == x._version and \
            entry[2] == id(module)

    def _post_hook(self, plan: _ModuleTap):
        def hook(module, args, output):
            if plan.clamp is not None and isinstance(output, torch.Tensor):
                self._note_clamp(plan, first_tensor(args), output)
            if plan.successor is not None and isinstance(output, torch.Tensor) and \
                    hands_on_unchanged(module, plan.successor.module):
                self._ahead = (output, plan.successor)
            try:
                if plan.layer is not None:
                    self.layer_output(plan.layer, output)
                if plan.batch_norm or plan.relu:
                    stack = self._chain_calls[id(module)]
                    layer = stack.pop() if stack else None
                    if layer is not None and isinstance(output, torch.Tensor):
                        self._chain_step(layer, output, after_relu=plan.relu)
            finally:
                self._ahead = None
        return hook

    def _note_clamp(self, plan: _ModuleTap, x: Optional[torch.Tensor], y: torch.Tensor) -> None:
        """y = clamp(x): observers of y can be derived from those of x that saw it."""
        if x is None:
            return
        low, high = plan.clamp
        self._derived[id(y)] = _Derived(weakref.ref(y), y._version,
                                        [(s, self._updates[s]) for s in plan.pre_slots],
                                        low, high)

    def layer_output(self, layer_index: int, output) -> None:
        """A call of layer `layer_index` returned `output`: observe it, or wait for the
        BatchNorm or ReLU module that fuses into it."""
        if not isinstance(output, torch.Tensor):
            return
        fusion = self._fusions[layer_index]
        if fusion.batch_norm is not None or (fusion.relu and fusion.relu_fqn):
            self._chain[id(output)] = (weakref.ref(output), output._version, layer_index)
            return
        self._chain_step(layer_index, output, after_relu=False)

    def _chain_step(self, layer_index: int, output: torch.Tensor, after_relu: bool) -> None:
        fusion = self._fusions[layer_index]
        if not after_relu and fusion.relu and fusion.relu_fqn:
            self._chain[id(output)] = (weakref.ref(output), output._version, layer_index)
            return
        if not after_relu and fusion.relu and self._mode is not None:
            # A functional ReLU: the mode sees its call and observes its output.
            self._relu_inputs[id(output)] = (weakref.ref(output), output._version, layer_index)
            return
        self._observe_post(layer_index, output, relu_applied=after_relu)

    def take_relu_input(self, x) -> Optional[int]:
        """The mode is about to run F.relu(x) (or torch.relu, x.relu()): the layer whose
        fused chain ends there, if any. Asked before the call, as an in-place ReLU changes
        x's version."""
        entry = self._relu_inputs.pop(id(x), None) if isinstance(x, torch.Tensor) else None
        if entry is not None and entry[0]() is x and entry[1] == x._version:
            return entry[2]
        return None

    def _flush_relu_inputs(self) -> None:
        """A chain whose functional ReLU did not come (a model that changed its path since
        discovery): observe relu(x) as before."""
        for ref, version, layer_index in list(self._relu_inputs.values()):
            x = ref()
            if x is not None and x._version == version:
                self._observe_post(layer_index, x)
        self._relu_inputs.clear()

    def _observe_post(self, layer_index: int, value: torch.Tensor,
                      relu_applied: bool = False) -> None:
        layer = self._discovery.layers[layer_index]
        slots = self._slots.get((layer.fqn, "post"))
        if not slots:
            return
        if self._fusions[layer_index].relu and not relu_applied:
            value = torch.relu(value)  # a functional ReLU fuses: what the fused kernel emits
        self.observe(slots, value)


def sequential_successors(model: torch.nn.Module) -> Dict[str, str]:
    """fqn -> fqn of the module a plain ``nn.Sequential`` calls next with its output, for
    modules that appear once in the model (a shared module's next call is not known)."""
    seen: Dict[int, int] = {}
    for _, module in model.named_modules(remove_duplicate=False):
        seen[id(module)] = seen.get(id(module), 0) + 1
    successors: Dict[str, str] = {}
    for fqn, parent in model.named_modules():
        if type(parent).forward is not torch.nn.Sequential.forward:
            continue
        names = list(parent._modules)
        for name, following in zip(names, names[1:]):
            a, b = parent._modules[name], parent._modules[following]
            if a is None or b is None or seen[id(a)] != 1 or seen[id(b)] != 1:
                continue
            prefix = f"{fqn}." if fqn else ""
            successors[prefix + name] = prefix + following
    return successors


def hands_on_unchanged(module: torch.nn.Module, successor: torch.nn.Module) -> bool:
    """Whether the successor's pre-hook is certain to receive `module`'s output as it is
    now: no hook but the taps' own after `module` or before `successor`, which could replace
    or change it."""
    from torch.nn.modules import module as hooks
    return len(module._forward_hooks) == 1 and len(successor._forward_pre_hooks) == 1 and \
        not hooks._global_forward_hooks and not hooks._global_forward_pre_hooks


class _CalibrationMode(TorchFunctionMode):
    """Sees the functional layers: a module weight handed to F.linear/F.conv* outside that
    module's forward. Active only for models that have them."""

    def __init__(self, taps: Taps) -> None:
        super().__init__()
        self._taps = taps

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in LAYER_FUNCTIONS:
            x, weight, _ = layer_call_arguments(func, args, kwargs)
            layer_index = self._taps._functional.get(id(weight))
            if layer_index is not None:
                taps = self._taps
                taps.observe(taps._functional_pre[layer_index], x)
                out = func(*args, **kwargs)
                taps.layer_output(layer_index, out)
                return out
        if func in RELU_FUNCTIONS and self._taps._relu_inputs:
            layer_index = self._taps.take_relu_input(args[0] if args else kwargs.get("input"))
            out = func(*args, **kwargs)
            if layer_index is not None:
                self._taps._observe_post(layer_index, out, relu_applied=True)
            return out
        composite = COMPOSITES.get(func)
        if composite is not None:
            with self:
                return composite(*args, **kwargs)
        return func(*args, **kwargs)
