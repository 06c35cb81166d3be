"""Calibration batches as a DataLoader yields them, turned into the model's call."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Optional, Tuple

import torch

Call = Tuple[tuple, Dict[str, Any]]


def positional_capacity(model: torch.nn.Module) -> Optional[int]:
    """How many positional arguments forward takes; None when it takes any number."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def to_call(batch: Any, capacity: Optional[int], device: Optional[torch.device],
            input_fn: Optional[Callable[[Any], Any]] = None) -> Call:
    """A tensor is the one argument; a dict gives keyword arguments; a tuple or list gives
    positional ones, and items beyond what forward takes (the labels of a labelled
    DataLoader's (inputs, labels) pairs) are dropped. `input_fn` maps a batch first."""
    if input_fn is not None:
        batch = input_fn(batch)
    if isinstance(batch, dict):
        args, kwargs = (), dict(batch)
    elif isinstance(batch, (tuple, list)):
        items = tuple(batch)
        if capacity is not None and len(items) > capacity:
            items = items[:capacity]
        args, kwargs = items, {}
    else:
        args, kwargs = (batch,), {}
    if device is not None:
        args = tuple(_to(a, device) for a in args)
        kwargs = {k: _to(v, device) for k, v in kwargs.items()}
    return args, kwargs


def _to(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor) and value.device != device:
        return value.to(device)
    return value


def model_device(model: torch.nn.Module) -> Optional[torch.device]:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return None
