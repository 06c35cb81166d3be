"""Differential test against PyTorch's own Model Report, run in this process on the torch at
hand (Debian's 1.13, or the index's 2.x, which still ships torch.ao.quantization.fx.
_model_report). The cases, and how the reference is run on them, are the C++ differential
test's (tests/reference/detector_reference.py); the comparisons and the documented deviations
are those of detector_diff_test.cpp: decisions exactly, statistics to 1e-5 relative, outlier
ratios after a folded BatchNorm to 1e-4."""

import math
import os
import sys
import warnings

import pytest
import torch

import qreport

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "reference"))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import detector_reference as reference  # noqa: E402

OUTLIER_RATIO_TOLERANCE = 1e-4
SATURATED = 3.4028234663852886e38 / 1024
# Modules whose outlier statistics run along another axis than the reference's run (not
# compared), and channels dead in every batch (B6), per case: as in detector_diff_test.cpp.
OTHER_AXIS = {"linear_stack": {"act", "norm"}}
DEAD_CHANNELS = {"mlp": 1, "nested": 3}


def number(value):
    return float(value) if isinstance(value, str) else value


def close(actual, expected, what, rel=1e-5):
    actual, expected = number(actual), number(expected)
    if math.isinf(expected) or math.isnan(expected):
        assert actual == expected or (math.isnan(actual) and math.isnan(expected)), what
        return
    assert abs(actual - expected) <= 1e-7 + rel * abs(expected), f"{what}: {actual} != {expected}"


def all_close(actual, expected, what, rel=1e-5):
    assert len(actual) == len(expected), what
    for i, (a, e) in enumerate(zip(actual, expected)):
        close(a, e, f"{what}[{i}]", rel)


def reference_modules(result, detector):
    return {e["fqn"]: e for e in result[detector] if e["fqn"] is not None}


def same_axis(ours, entry, key, result):
    theirs = entry[key]
    if ours == theirs:
        return True
    # B8: -1 for a Linear in qreport, 1 in the reference (the same axis for 2-D inputs).
    return entry["module_type"] == "Linear" and ours == -1 and theirs == 1 and \
        result["reference_axis"] is None


@pytest.fixture(scope="module")
def cases():
    torch.backends.quantized.engine = "qnnpack"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = reference.make_cases()
        return [(case, reference.reference_result(case)) for case in made]


def ours_for(case):
    """qreport with its defaults: each layer's own input axis (the reference's run of a case
    with another axis uses that axis for every module)."""
    return qreport.analyze(case.model, case.batches, backend="qnnpack", progress=False,
                           equalization_threshold=0.5)


@pytest.mark.parametrize("index", range(7))
def test_findings_match_the_reference(cases, index):
    case, result = cases[index]
    report = ours_for(case)
    ours = report.to_dict()
    qat = case.mode == "qat"

    ref = reference_modules(result, "per_channel_detector")
    got = ours["per_channel_detector"]
    assert set(got) == set(ref)
    for fqn, r in ref.items():
        g = got[fqn]
        assert g["per_channel_quantization_supported"] == r["per_channel_quantization_supported"]
        if qat:  # B1: the reference reads per-channel fake-quant weights as per-tensor
            assert not r["per_channel_quantization_used"] and g["per_channel_quantization_used"]
        else:
            assert got[fqn]["per_channel_quantization_used"] == r["per_channel_quantization_used"]
        assert got[fqn]["backend"] == r["backend"]

    ref = reference_modules(result, "dynamic_vs_static_detector")
    got = ours["dynamic_vs_static_detector"]
    assert set(got) == set(ref)
    for fqn, r in ref.items():
        g = got[fqn]
        assert "problem" not in g, g.get("problem")
        for key in ("dynamic_recommended", "is_dynamic_supported",
                    "input_activation_dynamic_static_data_classification",
                    "output_activation_dynamic_static_data_classification"):
            assert g[key] == r[key], f"{fqn} {key}"
        for key in ("input_activation_dynamic_static_comp_stat",
                    "output_activation_dynamic_static_comp_stat"):
            close(g[key], r[key], f"{fqn} {key}")

    ref = reference_modules(result, "input_weight_equalization_detector")
    got = ours["input_weight_equalization_detector"]
    assert set(got) == set(ref)
    for fqn, r in ref.items():
        g = got[fqn]
        assert "problem" not in g, g.get("problem")
        assert same_axis(g["input_weight_channel_axis"], r, "input_weight_channel_axis", result)
        key = "input_weight_equalization_recommended"
        assert g[key] == r[key], fqn
        for key in ("input_weight_channel_comparison_metrics", "input_activation_per_channel_max",
                    "input_activation_per_channel_min", "weight_per_channel_max",
                    "weight_per_channel_min"):
            all_close(g[key], r[key], f"{fqn} {key}")
        for key in ("input_activation_global_max", "input_activation_global_min",
                    "weight_global_max", "weight_global_min"):
            close(g[key], r[key], f"{fqn} {key}")
        recommended = r["input_weight_equalization_recommended"]
        assert g["module_equalization_recommended"] == (sum(recommended) / len(recommended) >= 0.4)

    ref = reference_modules(result, "outlier_detector")
    got = ours["outlier_detector"]
    if not ref:
        assert not got  # qat: no leaf module in the reference's view
    dead, other_axis = 0, set()
    for fqn, r in ref.items():
        assert fqn in got, f"no outlier finding for {fqn}"
        g = got[fqn]
        assert "problem" not in g, g.get("problem")
        if not same_axis(g["outlier_detection_channel_axis"], r, "outlier_detection_channel_axis",
                         result):
            other_axis.add(fqn)
            continue
        assert g["outlier_detection_total_batches"] == \
            result["observed_calls"].get(r["reference_fqn"], 0), fqn
        ratios, outliers = r["outlier_detection_percentile_ratios"], r["outliers_detected"]
        assert len(g["outliers_detected"]) == len(outliers)
        for c, outlier in enumerate(outliers):
            at = f"{fqn} channel {c}"
            if g["dead_channels"][c]:  # B6: the reference calls a dead channel an outlier
                dead += 1
                assert math.isinf(number(ratios[c])) and outlier and not g["outliers_detected"][c]
                continue
            assert g["outliers_detected"][c] == outlier, at
            if number(ratios[c]) >= SATURATED:  # FLT_MAX batches (N4)
                assert number(g["outlier_detection_percentile_ratios"][c]) >= SATURATED, at
                continue
            close(g["outlier_detection_percentile_ratios"][c], ratios[c], at,
                  OUTLIER_RATIO_TOLERANCE)
        all_close(g["outlier_detection_batches_used"], r["outlier_detection_batches_used"], fqn)
        assert g["outlier_detection_is_sufficient_batches"] == \
            r["outlier_detection_is_sufficient_batches"]
        all_close(g["constant_batch_counts"], r["constant_batch_counts"], fqn)
        all_close(g["input_activation_per_channel_max"], r["input_activation_per_channel_max"], fqn)
    assert dead == DEAD_CHANNELS.get(case.name, 0)
    assert other_axis == OTHER_AXIS.get(case.name, set())

    # The mappings (B3, B4, B14 as in the C++ test).
    mapping = report.qconfig_mapping_json()
    by_name = {e["name"]: e["qconfig"] for e in mapping["module_name"]}
    for fqn, r in result["qconfig_mapping"].items():
        q = by_name.get(fqn, mapping["global"])
        assert q is not None, f"{fqn} is left in float"
        assert (q["weight"] == "per_channel") == r["per_channel"], fqn
        is_linear = ours["dynamic_vs_static_detector"][fqn]["is_dynamic_supported"]
        if is_linear:
            assert (q["activation"] == "dynamic") == r["dynamic"], fqn
        else:
            assert q["activation"] == "static", fqn  # B14
    listed = {m["name"] for m in report.equalization_mapping_json()["modules"]}
    recommended = {fqn for fqn, g in ours["input_weight_equalization_detector"].items()
                   if g["module_equalization_recommended"]}
    assert listed == recommended
    assert listed <= set(result["equalization_mapping"])


def test_the_drop_in_gives_the_references_keys_and_texts(cases):
    from torch.ao.quantization.fx._model_report.detector import OutlierDetector as RefOutlier

    case, result = cases[0]  # mlp
    from qreport.torch import DynamicStaticDetector, ModelReport, OutlierDetector

    report = ModelReport(case.model, {DynamicStaticDetector(), OutlierDetector(ch_axis=1)})
    prepared = report.prepare_detailed_calibration()
    with torch.no_grad():
        for b in case.batches:
            prepared(b)
    reports = report.generate_model_report(True)
    assert set(reports) == {"dynamic_vs_static_detector", "outlier_detector"}
    text, info = reports["dynamic_vs_static_detector"]
    ref_entries = reference_modules(result, "dynamic_vs_static_detector")
    assert set(info) == set(ref_entries)
    reference_keys = [k for k in ref_entries["fc1"] if k not in ("fqn", "reference_fqn",
                                                                   "module_type")]
    assert list(info["fc1"]) == reference_keys
    assert isinstance(info["fc1"]["dynamic_recommended"], torch.Tensor)
    for fqn, r in ref_entries.items():
        kind = "dynamic" if r["dynamic_recommended"] else "static"
        assert f"For module {fqn} it is suggested to use {kind} quantization" in text
    _, outliers = reports["outlier_detector"]
    assert list(outliers["fc2"]) == [RefOutlier.CHANNEL_AXIS_KEY, RefOutlier.REF_PERCENTILE_KEY,
                                     RefOutlier.RATIO_THRES_KEY, RefOutlier.COMP_METRIC_KEY,
                                     RefOutlier.NUM_BATCHES_KEY, RefOutlier.OUTLIER_KEY,
                                     RefOutlier.IS_SUFFICIENT_BATCHES_KEY,
                                     RefOutlier.CONSTANT_COUNTS_KEY, RefOutlier.MAX_VALS_KEY]
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in case.model.modules())
    with pytest.raises(Exception, match="already removed observers"):
        report.generate_model_report(False)
    tables = report.generate_visualizer().generate_filtered_tables()
    assert {row[1] for row in tables["tensor_level_info"][1]} | \
        {row[1] for row in tables["channel_level_info"][1]} == set(info) | set(outliers)
