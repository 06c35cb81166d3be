"""The reference's four detectors: the same constructor arguments, defaults, checks and
names. They carry settings; the C++ core does the work.

One deliberate difference: where the reference's ``ch_axis`` defaults to 1 for every layer,
which is wrong for a Linear on (N, T, C) inputs (the spec's B8), an axis left unset here means
each layer's own (1 for Conv, the last for Linear). Give ``ch_axis`` to get the reference's."""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch


class DetectorBase:
    name = ""

    def get_detector_name(self) -> str:
        return self.name

    def settings(self) -> Dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings()})"


class PerChannelDetector(DetectorBase):
    name = "per_channel_detector"

    def __init__(self, backend: Optional[str] = None) -> None:
        # The reference captures the engine when its module is imported (B2); here it is
        # read when the detector is made.
        self.backend_chosen = backend if backend is not None else torch.backends.quantized.engine

    def settings(self) -> Dict[str, Any]:
        return {"backend": self.backend_chosen}


class DynamicStaticDetector(DetectorBase):
    name = "dynamic_vs_static_detector"

    def __init__(self, tolerance: float = 0.5) -> None:
        self.tolerance = tolerance

    def settings(self) -> Dict[str, Any]:
        return {"dynamic_static_tolerance": self.tolerance}


class InputWeightEqualizationDetector(DetectorBase):
    name = "input_weight_equalization_detector"

    def __init__(self, ratio_threshold: float, ch_axis: Optional[int] = None) -> None:
        if ratio_threshold <= 0 or ratio_threshold >= 1:
            raise ValueError("Make sure threshold is > 0 and < 1")
        self.ratio_threshold = ratio_threshold
        self.ch_axis = ch_axis

    def settings(self) -> Dict[str, Any]:
        return {"equalization_threshold": self.ratio_threshold,
                "equalization_axis": self.ch_axis}


class OutlierDetector(DetectorBase):
    name = "outlier_detector"

    def __init__(self, ratio_threshold: float = 3.5, reference_percentile: float = 0.975,
                 fraction_batches_used_threshold: float = 0.95,
                 ch_axis: Optional[int] = None) -> None:
        if not 0 <= reference_percentile <= 1:
            raise ValueError(f"reference_percentile must be in [0, 1], got {reference_percentile}")
        if not 0 <= fraction_batches_used_threshold <= 1:
            raise ValueError("fraction_batches_used_threshold must be in [0, 1], got "
                             f"{fraction_batches_used_threshold}")
        self.ratio_threshold = ratio_threshold
        self.reference_percentile = reference_percentile
        self.fraction_batches_used_threshold = fraction_batches_used_threshold
        self.ch_axis = ch_axis

    def settings(self) -> Dict[str, Any]:
        return {"outlier_ratio_threshold": self.ratio_threshold,
                "outlier_percentile": self.reference_percentile,
                "outlier_fraction_batches": self.fraction_batches_used_threshold,
                "outlier_axis": self.ch_axis}
