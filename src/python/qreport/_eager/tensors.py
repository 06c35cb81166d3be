"""Small helpers over the structures models take and return."""

from __future__ import annotations

from typing import Any, Iterator, List, Optional

import torch


def flat_tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor in a nest of tuples, lists and dicts (and dataclass-like namedtuples)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from flat_tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from flat_tensors(item)


def first_tensor(args: tuple, kwargs: Optional[dict] = None) -> Optional[torch.Tensor]:
    """The tensor a module's pre-observer sees: its first tensor argument."""
    for arg in args:
        if isinstance(arg, torch.Tensor):
            return arg
    for arg in (kwargs or {}).values():
        if isinstance(arg, torch.Tensor):
            return arg
    return None


def tensor_count(args: tuple) -> int:
    return sum(1 for arg in args if isinstance(arg, torch.Tensor))


def as_list(value: Any) -> List[torch.Tensor]:
    return list(flat_tensors(value))
