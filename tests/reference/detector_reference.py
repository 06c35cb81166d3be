"""Runs PyTorch's Model Report detectors (the reference) on small models and writes what they
conclude, for the C++ differential test (detector_diff_test.cpp).

    /usr/bin/python3 tests/reference/detector_reference.py OUT_DIR

For each case NAME it writes:
  OUT_DIR/NAME.pt                 the float model, torch.jit.script-ed (eval mode)
  OUT_DIR/NAME_batches/bK.npy     the calibration batches (float32), K = 0..5
  OUT_DIR/NAME_reference.json     the reference's per-detector, per-module results

The reference runs prepare_fx(model, QConfigMapping().set_global(default_qconfig), example)
with the qnnpack engine, then ModelReport with {DynamicStaticDetector(),
InputWeightEqualizationDetector(0.5), PerChannelDetector("qnnpack")}; and, separately, a second
ModelReport with {OutlierDetector()} on a fresh prepare_fx, because the detectors share one
pre-observer whose options come from whichever detector a set iterates last (spec B12).

Module names. prepare_fx fuses Conv(+BN)+ReLU and Linear+ReLU into one module; the reference
then reports on the fused module's children ("0.0" for the conv inside the fused "0"). In the
JSON every entry keeps the reference's name ("reference_fqn") and gets "fqn": the module of the
user's float model it stands for. A fused child "X.0" maps to the layer "X" (the conv/linear,
whose BatchNorm, if any, is folded into the weight); a fused child "X.K" with K > 0 (the ReLU
that joined it) maps to None, since it is not a module of its own after fusion (the float
model's ReLU has another name). Names of unfused modules are kept.

Besides the report, each case records the reference's generate_qconfig_mapping() (per module:
dynamic activations? per-channel weights?) and generate_equalization_mapping() (module names),
both under the user's names, and any detector run that raised ("reference_errors").

Cases beyond plain prepare_fx models:
  linear_stack  Linear layers on (N, T, C) inputs. With its default axis 1 the reference's
                equalization detector fails (spec B8; recorded); the comparison runs its
                equalization and outlier detectors with ch_axis=-1, the axis qreport uses for
                a Linear.
  twice         one Linear called twice. The reference observes only the first call (its
                observer sits before the first node that calls the module); qreport observes
                every call. "all_calls" holds ModelReportObserver statistics fed every call
                through hooks on the float model: the oracle for qreport's numbers.
  qat           a model prepared with prepare_qat_fx (per-channel fake-quant weights,
                observers then frozen, eval): the reference's ModelReport runs on it directly.
"""
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import QConfigMapping, default_qconfig, get_default_qat_qconfig
from torch.ao.quantization.observer import PlaceholderObserver
from torch.ao.quantization.quantize_fx import prepare_fx, prepare_qat_fx
from torch.ao.quantization.fx._model_report.model_report_observer import ModelReportObserver
from torch.ao.quantization.fx._model_report.detector import (
    DynamicStaticDetector, InputWeightEqualizationDetector, OutlierDetector, PerChannelDetector)
from torch.ao.quantization.fx._model_report.model_report import ModelReport

# tests/testing/torchscript_export.py: what the fixtures and the reference cases share.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "testing"))
from torchscript_export import forget_replaced_ops  # noqa: E402

NUM_BATCHES = 6
PRE_OBSERVER = DynamicStaticDetector.DEFAULT_PRE_OBSERVER_NAME
POST_OBSERVER = DynamicStaticDetector.DEFAULT_POST_OBSERVER_NAME


def encode(value):
    """Plain JSON: tensors become numbers or lists; inf/nan become strings."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.dim() == 0:
            return encode(value.item())
        return [encode(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 3 * 3, 6)

    def forward(self, x):
        x = self.conv2(self.relu(self.bn(self.conv1(x))))
        return self.fc(torch.flatten(x, 1))


class Grouped(nn.Module):
    """A grouped conv then a depthwise conv: the equalization detector tiles the weight's
    per-input-channel ranges over the groups."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.relu = nn.ReLU()
        self.dw = nn.Conv2d(8, 8, 3, groups=8)

    def forward(self, x):
        return self.dw(self.relu(self.conv1(x)))


class Block(nn.Module):
    """conv+relu and a 1x1 conv+relu in a nested Sequential, with a residual add. (No
    BatchNorm: folded into the conv by prepare_fx it changes the activations by float
    rounding, which near-zero percentiles amplify; the cnn case covers BatchNorm.)"""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu = nn.ReLU()
        self.inner = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU())

    def forward(self, x):
        return x + self.inner(self.relu(self.conv(x)))


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(Block(6), Block(6))
        self.head = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LinearStack(nn.Module):
    """A transformer-style feed-forward stack on (N, T, C) inputs."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(16, 32)
        self.norm = nn.LayerNorm(32)
        self.ff1 = nn.Linear(32, 64)
        self.act = nn.GELU()
        self.ff2 = nn.Linear(64, 32)
        self.head = nn.Linear(32, 8)

    def forward(self, x):
        h = self.embed(x)
        h = h + self.ff2(self.act(self.ff1(self.norm(h))))
        return self.head(h)


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)
        self.out = nn.Linear(10, 4)

    def forward(self, x):
        y = torch.clamp(self.fc(x), -2.0, 2.0)
        return self.out(self.fc(y) * 0.5)


class QatNet(nn.Module):
    # No BatchNorm: torch 1.13 cannot script the QAT ConvBn modules.
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.relu(self.conv(x)), 1))


def randomize_bn(bn, gen):
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(bn.num_features, generator=gen) * 0.2)
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=gen) * 0.1)
        bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)


def make_cases():
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    mlp = Mlp().eval()
    # Hidden unit 3 never fires: fc2's input channel 3 is zero in every batch (a dead
    # channel; spec B6: the reference calls it an outlier with ratio inf).
    with torch.no_grad():
        mlp.fc1.bias[3] = -100.0
    # Inputs with per-feature scales, so the equalization metrics spread around [0.5, 2].
    mlp_scale = torch.linspace(0.2, 3.0, 12)
    mlp_batches = [torch.randn(8, 12, generator=gen) * mlp_scale + 0.3 for _ in range(NUM_BATCHES)]
    # Batch-to-batch drift, so the dynamic/static decisions are not all the same.
    for i, b in enumerate(mlp_batches):
        b.mul_(1.0 + 1.5 * i)

    torch.manual_seed(8)
    cnn = Cnn()
    randomize_bn(cnn.bn, gen)
    cnn.eval()
    cnn_batches = [torch.randn(2, 3, 8, 8, generator=gen) for _ in range(NUM_BATCHES)]
    # A spike in channel 0 of some batches: an outlier for the outlier detector.
    for i in (1, 3):
        cnn_batches[i][0, 0, 2, 2] = 40.0

    torch.manual_seed(9)
    grouped = Grouped().eval()
    grouped_batches = [torch.randn(2, 4, 7, 7, generator=gen) * torch.tensor(
        [0.5, 1.0, 2.0, 4.0]).view(1, 4, 1, 1) for _ in range(NUM_BATCHES)]
    torch.manual_seed(10)
    nested = Nested().eval()
    # Strong drift, so that the reference recommends dynamic for convolutions too (B14).
    nested_batches = [torch.randn(2, 3, 6, 6, generator=gen) * 0.1 * 4**i
                      for i in range(NUM_BATCHES)]

    torch.manual_seed(11)
    stack = LinearStack().eval()
    # T = 6 does not divide C = 16: the reference's axis-1 equalization asserts (B8).
    stack_scale = torch.linspace(0.1, 4.0, 16)
    stack_batches = [torch.randn(2, 6, 16, generator=gen) * stack_scale for _ in range(NUM_BATCHES)]
    for b in stack_batches[::2]:
        b[:, :, 5] += 25.0 * torch.rand(2, 6, generator=gen)  # outliers in feature 5

    torch.manual_seed(12)
    twice = Twice().eval()
    # Strong drift: fc's output ranges grow 3x per batch (dynamic recommended).
    twice_batches = [torch.randn(4, 10, generator=gen) * 0.2 * 3**i for i in range(NUM_BATCHES)]

    torch.manual_seed(13)
    qat_batches = [torch.randn(2, 3, 8, 8, generator=gen) for _ in range(NUM_BATCHES)]
    qat = prepare_qat_fx(QatNet().train(), QConfigMapping().set_global(
        get_default_qat_qconfig("onednn")), (qat_batches[0],))
    for b in qat_batches:  # "training": the fake-quant observers see data once
        qat(b)
    qat.apply(torch.ao.quantization.disable_observer)
    qat.eval()

    return [
        Case("mlp", mlp, mlp_batches), Case("cnn", cnn, cnn_batches),
        Case("grouped", grouped, grouped_batches), Case("nested", nested, nested_batches),
        Case("linear_stack", stack, stack_batches, axis=-1),
        Case("twice", twice, twice_batches, mode="hooks"),
        Case("qat", qat, qat_batches, mode="qat"),
    ]


class Case:
    """mode: "prepare_fx" (the float model is prepared as the reference's users do), "qat"
    (the model is already prepared), "hooks" (the reference's detectors read observers that
    hooks on the float model feed at every call; see the top of the file). axis: the ch_axis
    given to the reference's equalization and outlier detectors (None: their default)."""

    def __init__(self, name, model, batches, mode="prepare_fx", axis=None):
        self.name, self.model, self.batches, self.mode, self.axis = name, model, batches, mode, axis


def user_fqn(prepared, reference_fqn):
    """The float model's module a reference fqn stands for (see the top of the file)."""
    parent, _, child = reference_fqn.rpartition(".")
    if parent and child.isdigit():
        fused = prepared.get_submodule(parent)
        if type(fused).__module__.startswith("torch.ao.nn.intrinsic") or \
                type(fused).__module__.startswith("torch.nn.intrinsic"):
            return parent if child == "0" else None
    return reference_fqn


def observe(observer, x):
    observer(x)  # a hook that returns None leaves the module's input and output alone


def attach_observers(model, comp_percentile):
    """For mode "hooks": a pre- and post-observer on every Linear/Conv leaf, fed at every call
    by hooks, where the reference's detectors look for them."""
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        pre = ModelReportObserver(ch_axis=1, comp_percentile=comp_percentile)
        post = ModelReportObserver()
        module.qconfig = default_qconfig  # what prepare_fx would attach; PerChannelDetector reads it
        module.register_forward_pre_hook(lambda _m, args, pre=pre: observe(pre, args[0]))
        module.register_forward_hook(lambda _m, _args, out, post=post: observe(post, out))
        module.add_module(PRE_OBSERVER, pre)
        module.add_module(POST_OBSERVER, post)


def run_report(case, detectors, comp_percentile):
    """Calibrates a copy of the case's model for the reference's detectors; returns the
    calibrated model, the ModelReport and its report."""
    # prepare_fx (1.13) shares the float model's leaf modules with the GraphModule, and
    # ModelReport attaches its observers to them with add_submodule: without the copy, a
    # second ModelReport on the same float model would find (and report from) the first's
    # observers, e.g. OutlierDetector reading percentiles taken at 0.9 instead of 0.975.
    model = copy.deepcopy(case.model)
    torch.manual_seed(0)
    if case.mode == "prepare_fx":
        model = prepare_fx(model, QConfigMapping().set_global(default_qconfig), (case.batches[0],))
    report = ModelReport(model, set(detectors))
    if case.mode == "hooks":
        attach_observers(model, comp_percentile)
        report._prepared_flag = True  # the observers are in place; generate_* only check this
        calibrated = model
    else:
        calibrated = report.prepare_detailed_calibration()
    with torch.no_grad():
        for b in case.batches:
            calibrated(b)
    return calibrated, report, report.generate_model_report(False)


def convert(calibrated, reports):
    out = {}
    for name, (_text, info) in reports.items():
        modules = []
        for fqn, entry in info.items():
            modules.append({"reference_fqn": fqn, "fqn": user_fqn(calibrated, fqn),
                            "module_type": type(calibrated.get_submodule(fqn)).__name__,
                            **{k: encode(v) for k, v in entry.items()}})
        out[name] = modules
    return out


def observed_calls(model):
    """How many calls each module's pre-observer saw."""
    return {fqn: int(getattr(m, PRE_OBSERVER).num_batches_tracked)
            for fqn, m in model.named_modules() if hasattr(m, PRE_OBSERVER)}


def qconfig_mapping(calibrated, report):
    """The reference's generate_qconfig_mapping under the user's names: per module, whether
    activations are dynamic and weights per-channel."""
    qconfigs = {}
    for fqn, qconfig in report.generate_qconfig_mapping().module_name_qconfigs.items():
        user = user_fqn(calibrated, fqn)
        if user is not None:
            qconfigs[user] = {"dynamic": isinstance(qconfig.activation(), PlaceholderObserver),
                              "per_channel": hasattr(qconfig.weight(), "ch_axis")}
    return qconfigs


def equalization_mapping(calibrated, report):
    """The modules of the reference's generate_equalization_mapping, under the user's names."""
    names = [user_fqn(calibrated, fqn)
             for fqn in report.generate_equalization_mapping().module_name_qconfigs]
    return [fqn for fqn in names if fqn is not None]


def reference_errors(case):
    """For a case run with another axis: what the reference's detectors do with their
    default axis (spec B8: the equalization detector asserts on (N, T, C) inputs)."""
    errors = []
    for detector in (InputWeightEqualizationDetector(0.5), OutlierDetector()):
        try:
            run_report(case, [detector], 0.9)
        except Exception as e:  # the reference's failure is the data here
            errors.append({"detector": detector.get_detector_name(),
                           "error": f"{type(e).__name__}: {e}"})
    return errors


def axis_args(case):
    return {} if case.axis is None else {"ch_axis": case.axis}


def reference_result(case):
    """Everything the reference concludes on one case (the JSON written per case)."""
    result = {"name": case.name, "batches": len(case.batches), "mode": case.mode,
              "reference_axis": case.axis,
              "reference_errors": reference_errors(case) if case.axis is not None else []}
    equalization = InputWeightEqualizationDetector(0.5, **axis_args(case))
    first = [DynamicStaticDetector(), PerChannelDetector("qnnpack")]
    # With another axis, equalization gets a ModelReport of its own: in a shared one the
    # dynamic/static detector's axis-1 pre-observer may win (B12).
    groups = [first + [equalization]] if case.axis is None else [first, [equalization]]
    for detectors in groups:
        calibrated, report, reports = run_report(case, detectors, 0.9)
        result.update(convert(calibrated, reports))
        if detectors is groups[0]:
            result["qconfig_mapping"] = qconfig_mapping(calibrated, report)
        if equalization in detectors:
            result["equalization_mapping"] = equalization_mapping(calibrated, report)
    calibrated, _, reports = run_report(case, [OutlierDetector(**axis_args(case))], 0.975)
    result.update(convert(calibrated, reports))
    result["observed_calls"] = observed_calls(calibrated)
    if case.mode == "hooks":  # what the reference's own observers would have seen
        prepared_fx = Case(case.name, case.model, case.batches)
        result["model_report_observed_calls"] = observed_calls(
            run_report(prepared_fx, [OutlierDetector()], 0.975)[0])
    return result


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: detector_reference.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.backends.quantized.engine = "qnnpack"
    names = []
    for case in make_cases():
        forget_replaced_ops()
        torch.jit.script(case.model).save(os.path.join(out_dir, f"{case.name}.pt"))
        batch_dir = os.path.join(out_dir, f"{case.name}_batches")
        os.makedirs(batch_dir, exist_ok=True)
        for i, b in enumerate(case.batches):
            np.save(os.path.join(batch_dir, f"b{i}.npy"), b.numpy().astype(np.float32))
        result = reference_result(case)
        with open(os.path.join(out_dir, f"{case.name}_reference.json"), "w") as f:
            json.dump(result, f, indent=1)
        names.append(case.name)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"cases": names}, f)
    print(f"wrote {len(names)} detector cases to {out_dir}")


if __name__ == "__main__":
    main()
