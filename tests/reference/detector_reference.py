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
"""
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import QConfigMapping, default_qconfig
from torch.ao.quantization.quantize_fx import prepare_fx
from torch.ao.quantization.fx._model_report.detector import (
    DynamicStaticDetector, InputWeightEqualizationDetector, OutlierDetector, PerChannelDetector)
from torch.ao.quantization.fx._model_report.model_report import ModelReport

NUM_BATCHES = 6


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
    return [("mlp", mlp, mlp_batches), ("cnn", cnn, cnn_batches),
            ("grouped", grouped, grouped_batches)]


def user_fqn(prepared, reference_fqn):
    """The float model's module a reference fqn stands for (see the top of the file)."""
    parent, _, child = reference_fqn.rpartition(".")
    if parent and child.isdigit():
        fused = prepared.get_submodule(parent)
        if type(fused).__module__.startswith("torch.ao.nn.intrinsic") or \
                type(fused).__module__.startswith("torch.nn.intrinsic"):
            return parent if child == "0" else None
    return reference_fqn


def run_report(model, batches, detectors):
    # prepare_fx (1.13) shares the float model's leaf modules with the GraphModule, and
    # ModelReport attaches its observers to them with add_submodule: without the copy, a
    # second ModelReport on the same float model would find (and report from) the first's
    # observers, e.g. OutlierDetector reading percentiles taken at 0.9 instead of 0.975.
    model = copy.deepcopy(model)
    torch.manual_seed(0)
    prepared = prepare_fx(model, QConfigMapping().set_global(default_qconfig), (batches[0],))
    report = ModelReport(prepared, set(detectors))
    calibrated = report.prepare_detailed_calibration()
    with torch.no_grad():
        for b in batches:
            calibrated(b)
    return calibrated, report.generate_model_report(False)


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


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: detector_reference.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.backends.quantized.engine = "qnnpack"
    names = []
    for name, model, batches in make_cases():
        torch.jit.script(model).save(os.path.join(out_dir, f"{name}.pt"))
        batch_dir = os.path.join(out_dir, f"{name}_batches")
        os.makedirs(batch_dir, exist_ok=True)
        for i, b in enumerate(batches):
            np.save(os.path.join(batch_dir, f"b{i}.npy"), b.numpy().astype(np.float32))
        result = {"name": name, "batches": len(batches)}
        calibrated, reports = run_report(model, batches, [
            DynamicStaticDetector(), InputWeightEqualizationDetector(0.5),
            PerChannelDetector("qnnpack")])
        result.update(convert(calibrated, reports))
        calibrated, reports = run_report(model, batches, [OutlierDetector()])
        result.update(convert(calibrated, reports))
        with open(os.path.join(out_dir, f"{name}_reference.json"), "w") as f:
            json.dump(result, f, indent=1)
        names.append(name)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"cases": names}, f)
    print(f"wrote {len(names)} detector cases to {out_dir}")


if __name__ == "__main__":
    main()
