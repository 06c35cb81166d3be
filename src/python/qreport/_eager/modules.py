"""What a module of an eager model is to qreport: a layer, a fused container, a BatchNorm, a
ReLU, or nothing special. The one table of classes is the C++ core's (module_types.cpp), asked
by class name; subclasses of a known class (a user's ``class MyConv(nn.Conv2d)``) are what
their nearest known base is, as ``isinstance`` would say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from .. import _core


def class_name(cls: type) -> str:
    """``torch.nn.modules.conv.Conv2d``: the name the core's table and report.json use."""
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass(frozen=True)
class ModuleInfo:
    role: "_core.ModuleRole"
    kind: "_core.LayerKind"
    family: "_core.ModuleFamily"


def classify(module: torch.nn.Module) -> Optional[ModuleInfo]:
    for cls in type(module).__mro__:
        if cls is torch.nn.Module or cls is object:
            break
        found = _core.classify_module_type(class_name(cls))
        if found is not None:
            return ModuleInfo(*found)
    return None


def is_observer(module: torch.nn.Module) -> bool:
    """Observers and fake-quant modules of a prepared (QAT) model: never analysed as leaves,
    as the reference's OutlierDetector skips them."""
    try:
        from torch.ao.quantization.fake_quantize import FakeQuantizeBase
        from torch.ao.quantization.observer import ObserverBase
    except ImportError:  # a torch without torch.ao
        return False
    return isinstance(module, (ObserverBase, FakeQuantizeBase))
