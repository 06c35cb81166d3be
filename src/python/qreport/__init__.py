"""qreport: says, layer by layer, how to quantize a PyTorch model, and hands back the
configurations that do it.

    import qreport
    report = qreport.analyze(model, loader)        # an eager nn.Module, a DataLoader
    print(report.text())
    report.save("report/")                         # report.json, report.html, mappings, CSV
    quantize_(model, report.torchao_config(), filter_fn=None)

``qreport.torch`` holds a drop-in for PyTorch's ``torch.ao.quantization.fx._model_report``.
Importing qreport does not import torch; the functions below do when called.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["analyze", "observe", "Observer", "Report", "Visualizer", "QreportError",
           "InvalidArgumentError", "BadModelError", "BadDataError", "QreportIOError"]

_ERRORS = ("QreportError", "InvalidArgumentError", "BadModelError", "BadDataError",
           "QreportIOError", "InternalError")


def __getattr__(name: str) -> Any:
    if name in ("analyze", "observe", "Observer"):
        from . import _api

        return getattr(_api, name)
    if name == "Report":
        from .report import Report

        return Report
    if name == "Visualizer":
        from .visualizer import Visualizer

        return Visualizer
    if name in _ERRORS:
        from . import _core

        return getattr(_core, name)
    raise AttributeError(f"module 'qreport' has no attribute {name!r}")
