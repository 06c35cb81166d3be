"""The Python package and the CLI agree: on the same model (eager here, scripted for the CLI)
and the same batches they write the same report.json, decisions exactly and statistics to
1e-5 relative, and the same qconfig and equalization mappings."""

import json
import math
import subprocess
import warnings

import numpy as np
import pytest
import torch

import qreport
from models import (ConvBnRelu, Mlp, Residual, Twice, batches, encoder_layer,
                    fused_intrinsic)

CASES = {
    "conv_bn_relu": (ConvBnRelu, (2, 3, 8, 8), 1.0),
    "mlp": (Mlp, (4, 12), 1.6),
    "residual": (Residual, (2, 4, 6, 6), 1.0),
    "twice": (Twice, (4, 10), 2.5),
    "encoder_layer": (encoder_layer, (2, 5, 16), 1.3),
    "fused_intrinsic": (fused_intrinsic, (2, 3, 8, 8), 1.0),
}


def close(a, b, path):
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, (int, float)):
        assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-30), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def run_cli(cli, tmp_path, name, model, data):
    archive = tmp_path / f"{name}.pt"
    with warnings.catch_warnings():
        # torch 2.x deprecates TorchScript, which is what the CLI reads.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(model).save(str(archive))
    data_dir = tmp_path / f"{name}_batches"
    data_dir.mkdir()
    for i, b in enumerate(data):
        np.save(data_dir / f"b{i}.npy", b.numpy())
    out = tmp_path / f"{name}_out"
    subprocess.run([cli, "analyze", str(archive), "--data", str(data_dir), "--backend",
                    "qnnpack", "--threads", str(torch.get_num_threads()), "--quiet", "--out",
                    str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return {f: json.loads((out / f).read_text())
            for f in ("report.json", "qconfig_mapping.json", "equalization_mapping.json")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_report_as_the_cli(cli, tmp_path, name):
    make, shape, growth = CASES[name]
    model = make().eval()
    data = batches(shape, count=6, scale_growth=growth, seed=3)
    theirs = run_cli(cli, tmp_path, name, model, data)
    report = qreport.analyze(model, data, backend="qnnpack", progress=False)
    ours = {"report.json": report.to_dict(), "qconfig_mapping.json": report.qconfig_mapping_json(),
            "equalization_mapping.json": report.equalization_mapping_json()}
    for document in ours.values():
        document.pop("model", None)
    for document in theirs.values():
        document.pop("model", None)
    if name == "encoder_layer":
        # Scripted, the encoder layer takes its fused fast path in eval mode: the CLI takes
        # the fused op apart into the projections, and its norms and dropouts are never
        # called. Eager, under qreport's function mode, the layer runs its plain path, which
        # calls them. Every layer agrees; those leaf modules are reported only by us.
        never = [fqn for fqn, v in theirs["report.json"]["outlier_detector"].items()
                 if v.get("problem") == "module was never called during calibration"]
        assert never == ["dropout", "norm1", "norm2", "dropout1", "dropout2"]
        for fqn in never:
            del theirs["report.json"]["outlier_detector"][fqn]
            del ours["report.json"]["outlier_detector"][fqn]
    for file in ours:
        close(ours[file], theirs[file], file)
