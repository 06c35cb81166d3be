"""The torch functions the eager front-end looks for: functional layers (a weight used through
``F.linear``/``F.conv*`` outside its module's own forward), functional ReLUs that fuse into
the layer before them, and composite functions whose inner calls must be seen."""

from __future__ import annotations

import types
from typing import Any, Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from .. import _core

LAYER_FUNCTIONS: Dict[Callable, "_core.LayerKind"] = {
    F.linear: _core.LayerKind.Linear,
    F.conv1d: _core.LayerKind.Conv1d,
    F.conv2d: _core.LayerKind.Conv2d,
    F.conv3d: _core.LayerKind.Conv3d,
}

# The op names the TorchScript front-end reports for the same calls, so call sites and
# observation points read the same in both.
OP_NAMES: Dict[Callable, str] = {
    F.linear: "aten::linear",
    F.conv1d: "aten::conv1d",
    F.conv2d: "aten::conv2d",
    F.conv3d: "aten::conv3d",
}

# The op a layer kind's module calls, for call sites and observation points.
OP_OF_KIND: Dict["_core.LayerKind", str] = {kind: OP_NAMES[f] for f, kind in LAYER_FUNCTIONS.items()}

RELU_FUNCTIONS = frozenset(
    f for f in (F.relu, getattr(F, "relu_", None), torch.relu, torch.relu_,
                torch.Tensor.relu, torch.Tensor.relu_) if f is not None)


def layer_call_arguments(func: Callable, args: Tuple, kwargs: Dict[str, Any]
                         ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor], int]:
    """(input, weight, groups) of a call to one of LAYER_FUNCTIONS."""
    x = args[0] if args else kwargs.get("input")
    weight = args[1] if len(args) > 1 else kwargs.get("weight")
    groups = 1
    if func is not F.linear:
        groups = args[6] if len(args) > 6 else kwargs.get("groups", 1)
    return x, weight, int(groups)


def _without_dispatch_check(func: Callable) -> Callable:
    """A private copy of a Python function whose ``has_torch_function`` check always says
    no, so that running it under a mode shows the mode its inner calls (the original would
    hand the whole call to the mode again, recursing). Nothing global is changed."""
    namespace = dict(func.__globals__)
    namespace["has_torch_function"] = lambda *_args: False
    copy = types.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    return copy


# Composites that use module weights inside (nn.MultiheadAttention's projections): under the
# calibration mode they run through their inner calls. Their fast paths (the fused
# _native_multi_head_attention) are not taken while a mode is active.
COMPOSITES: Dict[Callable, Callable] = {
    F.multi_head_attention_forward: _without_dispatch_check(F.multi_head_attention_forward),
}
