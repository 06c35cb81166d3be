"""The reference's return values, made from report.json: per detector the per-module dict
with the reference's keys, in its order and with its value types (0-d and 1-D tensors, lists
of bools), and the text its generate_detector_report writes, by the same rules."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import torch

from .._findings import decode

# The reference's keys per detector, in its order, and how each value is typed there.
_TENSOR, _TENSOR_I32, _SCALAR_TENSOR, _BOOL_TENSOR, _PLAIN, _BOOL_LIST = range(6)

KEYS: Dict[str, List[Tuple[str, int]]] = {
    "per_channel_detector": [
        ("per_channel_quantization_supported", _PLAIN),
        ("per_channel_quantization_used", _PLAIN),
        ("backend", _PLAIN),
    ],
    "dynamic_vs_static_detector": [
        ("dynamic_static_tolerance", _PLAIN),
        ("dynamic_recommended", _BOOL_TENSOR),
        ("input_activation_dynamic_static_comp_stat", _SCALAR_TENSOR),
        ("input_activation_dynamic_static_data_classification", _PLAIN),
        ("output_activation_dynamic_static_comp_stat", _SCALAR_TENSOR),
        ("output_activation_dynamic_static_data_classification", _PLAIN),
        ("is_dynamic_supported", _PLAIN),
    ],
    "input_weight_equalization_detector": [
        ("input_weight_equalization_recommended", _BOOL_LIST),
        ("input_weight_channel_comparison_metrics", _TENSOR),
        ("input_weight_threshold", _PLAIN),
        ("input_weight_channel_axis", _PLAIN),
        ("input_activation_per_channel_max", _TENSOR),
        ("input_activation_per_channel_min", _TENSOR),
        ("input_activation_global_max", _SCALAR_TENSOR),
        ("input_activation_global_min", _SCALAR_TENSOR),
        ("weight_per_channel_max", _TENSOR),
        ("weight_per_channel_min", _TENSOR),
        ("weight_global_max", _SCALAR_TENSOR),
        ("weight_global_min", _SCALAR_TENSOR),
    ],
    "outlier_detector": [
        ("outlier_detection_channel_axis", _PLAIN),
        ("outlier_detection_reference_percentile", _PLAIN),
        ("outlier_detection_ratio_threshold", _PLAIN),
        ("outlier_detection_percentile_ratios", _TENSOR),
        ("outlier_detection_batches_used", _TENSOR_I32),
        ("outliers_detected", _BOOL_LIST),
        ("outlier_detection_is_sufficient_batches", _BOOL_LIST),
        ("constant_batch_counts", _TENSOR_I32),
        ("input_activation_per_channel_max", _TENSOR),
    ],
}


def _typed(value: Any, kind: int) -> Any:
    if kind == _TENSOR:
        return torch.tensor(value, dtype=torch.float32)
    if kind == _TENSOR_I32:
        return torch.tensor(value, dtype=torch.int32)
    if kind == _SCALAR_TENSOR:
        return torch.tensor(value, dtype=torch.float32)
    if kind == _BOOL_TENSOR:
        return torch.tensor(bool(value))
    if kind == _BOOL_LIST:
        return [bool(v) for v in value]
    return value


def module_dict(detector: str, values: Dict[str, Any]) -> Dict[str, Any]:
    """One module's dict as the reference builds it. A module qreport could not judge keeps
    the keys it has and says why under "problem" (the reference raises instead)."""
    out: Dict[str, Any] = {}
    for key, kind in KEYS[detector]:
        if key in values and values[key] is not None:
            out[key] = _typed(decode(values[key]), kind)
    if values.get("problem"):
        out["problem"] = values["problem"]
    return out


def per_channel_text(backend: str, info: Dict[str, Dict[str, Any]]) -> str:
    text = f"Further Optimizations for backend {backend}: \n"
    optimizable = [fqn for fqn, v in info.items()
                   if v.get("per_channel_quantization_supported")
                   and not v.get("per_channel_quantization_used")]
    for fqn in optimizable:
        text += f"Module {fqn} can be configured to use per_channel quantization.\n"
    if optimizable:
        text += ("To use per_channel quantization, make sure the qconfig has a per_channel "
                 "weight observer.")
    else:
        text += "No further per_channel optimizations possible."
    return text


def dynamic_static_text(info: Dict[str, Dict[str, Any]]) -> str:
    text = "Dynamic vs. Static Quantization suggestions: \n"
    for fqn, v in info.items():
        if "dynamic_recommended" not in v:
            continue
        pre = v["input_activation_dynamic_static_data_classification"]
        post = v["output_activation_dynamic_static_data_classification"]
        reasoning = (f"the distribution of data before {fqn} is {pre} and the distribution "
                     f"after is {post}.")
        if v["dynamic_recommended"]:
            kind = "dynamic"
            benefit = " You will get more accurate results if you use dynamic quantization"
            if not v["is_dynamic_supported"]:
                benefit += ". This layer is not yet supported for dynamic quantization"
        else:
            kind = "static"
            benefit = " You can increase model efficiency if you use static quantization"
        reasoning += benefit
        if pre == "non-stationary" and post == "stationary":
            reasoning += (". We recommend to add a dynamic quantize per tensor layer before this "
                          "module if it is static. This is because the input to this module has "
                          "a non-stationary distribution")
        text += (f"For module {fqn} it is suggested to use {kind} quantization because "
                 f"{reasoning}.\n")
    if not info:
        text += "No applicable layers for suggestions. Only linear and conv are valid.\n"
    return text


def equalization_text(axis_shown: Any, info: Dict[str, Dict[str, Any]]) -> str:
    text = "Input-Weight Equalization suggestions: \n"
    for fqn, v in info.items():
        recommended = v.get("input_weight_equalization_recommended")
        if recommended is None:
            continue
        axis = v.get("input_weight_channel_axis", axis_shown) if axis_shown is None else axis_shown
        text += f"For Module {fqn} looked at with axis {axis}: \n"
        count, total = sum(recommended), len(recommended)
        if total and count / total >= 0.4:
            text += (f"\tWe suggest to use input weight equalization because {count}/{total} "
                     "channels would benefit and we expect significant reduction in quantization "
                     "error.\n")
        else:
            text += ("\tWe suggest to not use input weight equalization because we don't expect "
                     "much improvement from input-weight equalization based on "
                     f"{count}/{total} channels benefitting from input-weight equalization being "
                     "applied.\n")
    if not info:
        text += "No applicable layers for suggestions. Only linear and conv valid.\n"
    return text


def outlier_text(axis_shown: Any, info: Dict[str, Dict[str, Any]]) -> str:
    text = "Outlier detection report: \n"
    added = False
    for fqn, v in info.items():
        if "outliers_detected" not in v:
            continue
        axis = v.get("outlier_detection_channel_axis") if axis_shown is None else axis_shown
        header = f"For Module {fqn} looked at with axis {axis}: \n"
        header_done = False
        for index, outlier in enumerate(v["outliers_detected"]):
            if outlier:
                if not header_done:
                    text += header
                    header_done = True
                added = True
                maximum = v["input_activation_per_channel_max"][index]
                text += (f"\tFor channel {index}, we found outliers in the preceding activation "
                         f"data with a max value across all batches of {maximum}.\n")
            constant = v["constant_batch_counts"][index]
            if constant != 0:
                if not header_done:
                    text += header
                    header_done = True
                text += (f"\tFor channel {index}, we found {constant} constant value batches. "
                         "We recommend taking a look at the dict and data to see how frequent "
                         "this occured and why.\n")
                added = True
    if added:
        text += ("Note: outlier detection is only reliable for stationary distributions. We "
                 "recommend running the static vs. dynamic detector to ensure activation data "
                 "before modules above is stationary to ensure the most accurate results.")
    else:
        text += "There were no outliers found in the activations.\n"
    return text
