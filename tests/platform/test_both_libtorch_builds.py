"""Both LibTorch builds of qreport say the same about the same model file.

`make test-builds-agree` runs this with QREPORT_BUILDS="DEBIAN_BUILD:WHEEL_BUILD" and
QREPORT_EXPORT_PYTHON (Debian's Python, which has torchvision). The models are exported once,
by that Python, so both builds read the very same archives and calibrate on the very same
NumPy batches; `inspect` must then list the same layers and `analyze` reach the same
decisions, with statistics equal to float rounding (the two LibTorch versions run different
convolution and attention kernels; AGREEMENT says how close, per model, and why).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("resnet18", "mobilenet_v2", "transformer_encoder")
BATCHES = 2


@dataclass(frozen=True)
class Agreement:
    """How close report.json's numbers must be, relative to max(1, |a|, |b|)."""

    most: float  # bound for all but `beyond` of them
    beyond: float  # the fraction allowed beyond `most`
    every: float  # bound for every one


# The kernels differ between the two LibTorch versions, the data and weights do not.
AGREEMENT = {
    "resnet18": Agreement(most=1e-5, beyond=0.0, every=1e-5),
    "transformer_encoder": Agreement(most=1e-5, beyond=0.0, every=1e-5),
    # Untrained, its deep blocks' activations shrink to ~1e-9, where a convolution's sum
    # cancels to ~1e-12 and each kernel's rounding is a visible part of it; outlier and
    # equalization ratios of such channels then differ by up to ~1% (measured: 148 of 172,266
    # numbers beyond 1e-4, 12 beyond 1e-3, the largest 1.03e-2). Decisions are still equal.
    "mobilenet_v2": Agreement(most=1e-4, beyond=1e-3, every=5e-2),
}
# What each detector decides; everything else in report.json is a statistic or a parameter.
DECISIONS = {
    "per_channel_detector": ("per_channel_quantization_supported",
                             "per_channel_quantization_used"),
    "dynamic_vs_static_detector": ("dynamic_recommended",
                                   "input_activation_dynamic_static_data_classification",
                                   "output_activation_dynamic_static_data_classification"),
    "input_weight_equalization_detector": ("input_weight_equalization_recommended",
                                           "module_equalization_recommended"),
    "outlier_detector": ("outliers_detected", "dead_channels",
                         "outlier_detection_is_sufficient_batches"),
}


def builds() -> list[Path]:
    spec = os.environ.get("QREPORT_BUILDS", "")
    dirs = [Path(d) for d in spec.split(":") if d]
    if len(dirs) != 2:
        pytest.fail("set QREPORT_BUILDS=DEBIAN_BUILD:WHEEL_BUILD (make test-builds-agree does)")
    for d in dirs:
        if not (d / "qreport").is_file():
            pytest.fail(f"{d}/qreport is missing: build it first")
    return dirs


def run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {done.returncode}:\n"
                             f"{done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    python = os.environ.get("QREPORT_EXPORT_PYTHON", "/usr/bin/python3")
    run(python, ROOT / "tests/fixtures/export_models.py", out, "--only", *MODELS)
    rng = np.random.default_rng(0)
    for name in MODELS:
        expected = json.loads((out / f"{name}.expected.json").read_text())
        (shape,) = [tuple(i["shape"]) for i in expected["inputs"]]
        shape = (4,) + shape[1:]  # a few rows, so batch and epoch ranges differ
        for b in range(BATCHES):
            np.save(out / f"{name}.{b}.npy", rng.standard_normal(shape).astype(np.float32))
    return out


def libtorch_version(build: Path) -> str:
    return run(build / "qreport", "--version").strip()


def test_the_two_builds_link_different_libtorch() -> None:
    debian, wheel = builds()
    assert libtorch_version(debian) != libtorch_version(wheel)


def differences(a, b, path: str = "") -> list[tuple[float, str]]:
    """Every number in a and b as (relative difference, path); AssertionError on any other
    difference (keys, lengths, strings, booleans)."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{path}: {a!r} vs {b!r}"
        if math.isnan(a) and math.isnan(b):
            return []
        if a == b:
            return [(0.0, path)]
        return [(abs(a - b) / max(1.0, abs(a), abs(b)), f"{path}: {a!r} vs {b!r}")]
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a.keys() ^ b.keys())} in one only"
        return [d for k in a for d in differences(a[k], b[k], f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} vs {len(b)} items"
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    assert a == b, f"{path}: {a!r} vs {b!r}"
    return []


@pytest.mark.parametrize("name", MODELS)
def test_inspect_lists_the_same_layers(exported: Path, name: str) -> None:
    debian, wheel = builds()
    model = exported / f"{name}.pt"
    layers = [json.loads(run(b / "qreport", "inspect", model, "--json")) for b in (debian, wheel)]
    assert layers[0]["layers"], f"{name}: no layers found"
    assert layers[0] == layers[1]


@pytest.mark.parametrize("name", MODELS)
def test_analyze_reaches_the_same_decisions(exported: Path, tmp_path: Path, name: str) -> None:
    debian, wheel = builds()
    model = exported / f"{name}.pt"
    data = [exported / f"{name}.{b}.npy" for b in range(BATCHES)]
    outputs = []
    for build in (debian, wheel):
        out = tmp_path / build.name
        # One backend for both: the default is each LibTorch's own quantized engine.
        run(build / "qreport", "analyze", model, "--data", *data, "--backend", "x86",
            "--out", out, "-q")
        outputs.append(out)
    reports = [json.loads((o / "report.json").read_text()) for o in outputs]

    decided = 0
    for detector, keys in DECISIONS.items():
        modules = [r[detector] for r in reports]
        assert modules[0].keys() == modules[1].keys(), detector
        for fqn, finding in modules[0].items():
            other = modules[1][fqn]
            for key in keys:
                if key in finding or key in other:
                    assert finding.get(key) == other.get(key), f"{detector} {fqn} {key}"
                    decided += 1
    assert decided > 0, f"{name}: no decision was compared"

    for r in reports:
        r.pop("model", None)
    numbers = sorted(differences(reports[0], reports[1]), reverse=True)
    agreement = AGREEMENT[name]
    assert numbers[0][0] <= agreement.every, numbers[:5]
    beyond = [n for n in numbers if n[0] > agreement.most]
    assert len(beyond) <= agreement.beyond * len(numbers), (len(beyond), len(numbers), beyond[:5])
    for file in ("qconfig_mapping.json", "equalization_mapping.json"):
        assert (outputs[0] / file).read_text() == (outputs[1] / file).read_text(), file


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
