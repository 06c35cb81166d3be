"""Calibration taps: forward hooks (and, for weights used outside their module's forward, a
``TorchFunctionMode``) that hand each observed activation to the C++ observer bank without a
copy. The model is never changed: hooks are removed when the taps close, and a tensor is only
read, never replaced.

A fused layer's post point is observed where the fused chain ends: after its BatchNorm (found
at run time by tensor identity, as discovery found it), and, when a ReLU fuses, on
``relu(x)`` of that output, which is what the fused kernel would emit; computing it here
means the ReLU module needs no hook, whether in place or not.
"""

from __future__ import annotations

import weakref
from typing import Dict, List, Optional, Tuple

import torch
from torch.overrides import TorchFunctionMode

from .. import _core
from .discovery import Discovery
from .functions import COMPOSITES, LAYER_FUNCTIONS, layer_call_arguments
from .tensors import first_tensor


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
        self._handles: list = []
        self._mode: Optional[_CalibrationMode] = None
        self._chain: Dict[int, Tuple[weakref.ref, int, int]] = {}  # id -> (ref, version, layer)
        self._bn_calls: Dict[int, List[Optional[int]]] = {}  # id(bn module) -> layer stack
        self._sites: Dict[int, int] = {}
        self.host_copies = 0  # activations copied from another device to be read
        self.forward_calls = 0
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

    def _install(self) -> None:
        modules = dict(self._model.named_modules())
        pre_points = set()
        for layer_index, layer in enumerate(self._discovery.layers):
            if layer.functional:
                continue
            pre_points.add(layer.fqn)
            self._handles.append(layer.owner.register_forward_hook(
                self._layer_post_hook(layer_index)))
            bn = self._fusions[layer_index].batch_norm
            if bn is not None and id(modules[bn]) not in self._bn_calls:
                self._bn_calls[id(modules[bn])] = []
                self._handles.append(modules[bn].register_forward_pre_hook(self._bn_pre_hook))
                self._handles.append(modules[bn].register_forward_hook(self._bn_post_hook))
        pre_points.update(leaf.fqn for leaf in self._discovery.leaves)
        for fqn in pre_points:
            slots = self._slots.get((fqn, "pre"))
            if slots:
                self._handles.append(modules[fqn].register_forward_pre_hook(
                    self._pre_hook(slots)))
        self._handles.append(self._model.register_forward_pre_hook(self._start_forward))
        self._handles.append(self._model.register_forward_hook(self._end_forward))
        if self._discovery.needs_mode:
            self._mode = _CalibrationMode(self)
            self._mode.__enter__()

    # --- observing ----------------------------------------------------------------------------
    def observe(self, slots: List[int], tensor: Optional[torch.Tensor], site: int = 0) -> None:
        if tensor is None or not slots:
            return
        tensor = tensor.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
            self.host_copies += 1
        self._bank.observe(slots, tensor, site)

    def _start_forward(self, _module, _args) -> None:
        self._chain.clear()
        self._sites.clear()

    def _end_forward(self, _module, _args, _output) -> None:
        self.forward_calls += 1
        self._bank.add_batches(1)

    def _pre_hook(self, slots: List[int]):
        def hook(module, args):
            self.observe(slots, first_tensor(args))
        return hook

    def _site(self, layer_index: int) -> int:
        site = self._sites.get(layer_index, 0)
        self._sites[layer_index] = site + 1
        return site

    def layer_output(self, layer_index: int, output) -> None:
        """A call of layer `layer_index` returned `output`: observe it, or wait for the
        BatchNorm that folds into it."""
        if not isinstance(output, torch.Tensor):
            return
        fusion = self._fusions[layer_index]
        site = self._site(layer_index)
        if fusion.batch_norm is not None:
            self._chain[id(output)] = (weakref.ref(output), output._version, layer_index)
            return
        self._observe_post(layer_index, output, site)

    def _observe_post(self, layer_index: int, value: torch.Tensor, site: int = 0) -> None:
        layer = self._discovery.layers[layer_index]
        slots = self._slots.get((layer.fqn, "post"))
        if not slots:
            return
        if self._fusions[layer_index].relu:
            value = torch.relu(value)
        self.observe(slots, value, site)

    def _layer_post_hook(self, layer_index: int):
        def hook(module, args, output):
            self.layer_output(layer_index, output)
        return hook

    def _bn_pre_hook(self, module, args) -> None:
        x = first_tensor(args)
        entry = self._chain.pop(id(x), None) if x is not None else None
        layer = None
        if entry is not None and entry[0]() is x and entry[1] == x._version:
            layer = entry[2]
        self._bn_calls[id(module)].append(layer)

    def _bn_post_hook(self, module, args, output) -> None:
        stack = self._bn_calls[id(module)]
        layer = stack.pop() if stack else None
        if layer is not None and isinstance(output, torch.Tensor):
            self._observe_post(layer, output)


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
        composite = COMPOSITES.get(func)
        if composite is not None:
            with self:
                return composite(*args, **kwargs)
        return func(*args, **kwargs)
