"""A module's findings as objects: what each detector concluded about it, with the numbers
behind it under the reference's key names (``values``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


_NONFINITE = frozenset(("inf", "-inf", "nan"))


def decode(value: Any) -> Any:
    """report.json writes non-finite numbers as strings; these are floats again. (Its arrays
    are flat lists of numbers and yes/no values.)"""
    if value.__class__ is str:
        return float(value) if value in _NONFINITE else value
    if value.__class__ is list:
        if any(v.__class__ is str for v in value):
            return [float(v) if v.__class__ is str and v in _NONFINITE else v for v in value]
        return value
    return value


@dataclass(frozen=True)
class Finding:
    """One detector's finding for one module."""

    detector: str
    values: Dict[str, Any]

    @property
    def problem(self) -> Optional[str]:
        """Why the detector could not judge the module (None when it could)."""
        return self.values.get("problem")


@dataclass(frozen=True)
class PerChannelFinding(Finding):
    @property
    def supported(self) -> bool:
        return bool(self.values.get("per_channel_quantization_supported"))

    @property
    def used(self) -> bool:
        return bool(self.values.get("per_channel_quantization_used"))


@dataclass(frozen=True)
class DynamicStaticFinding(Finding):
    @property
    def dynamic_recommended(self) -> bool:
        return bool(self.values.get("dynamic_recommended"))

    @property
    def dynamic_supported(self) -> bool:
        return bool(self.values.get("is_dynamic_supported"))

    @property
    def input_ratio(self) -> Optional[float]:
        return self.values.get("input_activation_dynamic_static_comp_stat")

    @property
    def output_ratio(self) -> Optional[float]:
        return self.values.get("output_activation_dynamic_static_comp_stat")


@dataclass(frozen=True)
class EqualizationFinding(Finding):
    @property
    def recommended(self) -> bool:
        return bool(self.values.get("module_equalization_recommended"))

    @property
    def channels_recommended(self) -> List[bool]:
        return list(self.values.get("input_weight_equalization_recommended", []))

    @property
    def comparison(self) -> List[float]:
        return list(self.values.get("input_weight_channel_comparison_metrics", []))


@dataclass(frozen=True)
class OutlierFinding(Finding):
    @property
    def outlier_channels(self) -> List[int]:
        return [i for i, flag in enumerate(self.values.get("outliers_detected", [])) if flag]

    @property
    def ratios(self) -> List[float]:
        return list(self.values.get("outlier_detection_percentile_ratios", []))

    @property
    def has_outliers(self) -> bool:
        return bool(self.outlier_channels)


_KINDS = {
    "per_channel_detector": PerChannelFinding,
    "dynamic_vs_static_detector": DynamicStaticFinding,
    "input_weight_equalization_detector": EqualizationFinding,
    "outlier_detector": OutlierFinding,
}


@dataclass(frozen=True)
class ModuleFindings:
    """Everything the report says about one module (``report.modules["layer1.0.conv1"]``)."""

    fqn: str
    findings: Dict[str, Finding] = field(default_factory=dict)

    @property
    def per_channel(self) -> Optional[PerChannelFinding]:
        return self.findings.get("per_channel_detector")  # type: ignore[return-value]

    @property
    def dynamic_static(self) -> Optional[DynamicStaticFinding]:
        return self.findings.get("dynamic_vs_static_detector")  # type: ignore[return-value]

    @property
    def equalization(self) -> Optional[EqualizationFinding]:
        return self.findings.get("input_weight_equalization_detector")  # type: ignore[return-value]

    @property
    def outlier(self) -> Optional[OutlierFinding]:
        return self.findings.get("outlier_detector")  # type: ignore[return-value]

    @property
    def problems(self) -> Dict[str, str]:
        return {name: f.problem for name, f in self.findings.items() if f.problem}


DETECTOR_KEYS = tuple(_KINDS)


def modules_of(report_json: Dict[str, Any]) -> Dict[str, ModuleFindings]:
    """The modules of a report.json document, in the model's order of first mention."""
    modules: Dict[str, Dict[str, Finding]] = {}
    for detector, kind in _KINDS.items():
        for fqn, values in report_json.get(detector, {}).items():
            decoded = {key: decode(value) for key, value in values.items()}
            modules.setdefault(fqn, {})[detector] = kind(detector, decoded)
    return {fqn: ModuleFindings(fqn, findings) for fqn, findings in modules.items()}


def is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
