"""A drop-in for PyTorch's ``torch.ao.quantization.fx._model_report``: change the import and
the script runs on any eager model, with no FX tracing and no prepare_fx step.

    from qreport.torch import ModelReport, PerChannelDetector, DynamicStaticDetector, \\
        InputWeightEqualizationDetector, OutlierDetector

    report = ModelReport(model, {PerChannelDetector(), OutlierDetector()})
    prepared = report.prepare_detailed_calibration()   # the model itself, observed
    for batch in loader:
        prepared(batch)
    reports = report.generate_model_report(remove_inserted_observers=True)
    text, info = reports["outlier_detector"]
"""

from .detectors import (DetectorBase, DynamicStaticDetector, InputWeightEqualizationDetector,
                        OutlierDetector, PerChannelDetector)
from .model_report import ModelReport
from ..visualizer import Visualizer as ModelReportVisualizer

__all__ = ["ModelReport", "ModelReportVisualizer", "DetectorBase", "PerChannelDetector",
           "DynamicStaticDetector", "InputWeightEqualizationDetector", "OutlierDetector"]
