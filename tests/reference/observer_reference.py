"""Runs PyTorch's ModelReportObserver (the reference) on generated batches and writes what it
computes, for the C++ differential test (observer_diff_test.cpp).

    /usr/bin/python3 tests/reference/observer_reference.py OUT_DIR

For each case it writes the batches as raw little-endian float32 files (CASE.bN.f32) and
OUT_DIR/observer_cases.json: shapes, options and the reference's statistics.

Where the reference is wrong (docs/reference_differences.md, Q2: its percentile statistics
use the wrong dimension unless the channel axis is 1), the oracle is the reference run on the
batches with the channel axis moved to 1, which is what the reference intends.
"""
import json
import math
import os
import sys

import numpy as np
import torch
from torch.ao.quantization.fx._model_report.model_report_observer import ModelReportObserver


def encode(value):
    """JSON has no inf/nan: write them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def tensor_list(t):
    return [encode(float(v)) if t.dtype.is_floating_point else int(v) for v in t.flatten()]


def reference_stats(batches, axis, percentile):
    moved = [torch.movedim(b, axis, 1) if b.dim() > 1 else b for b in batches]
    obs = ModelReportObserver(ch_axis=1, comp_percentile=percentile)
    for b in moved:
        obs(b)
    return {
        "num_batches_tracked": obs.num_batches_tracked,
        "average_batch_activation_range": encode(float(obs.average_batch_activation_range)),
        "epoch_activation_min": encode(float(obs.epoch_activation_min)),
        "epoch_activation_max": encode(float(obs.epoch_activation_max)),
        "min_val": tensor_list(obs.min_val),
        "max_val": tensor_list(obs.max_val),
        "average_percentile_ratio": tensor_list(obs.average_percentile_ratio),
        "percentile_batches_tracked": tensor_list(obs.percentile_batches_tracked),
        "constant_channels": tensor_list(obs.constant_channels),
    }


def special_channels(rng, n):
    """4-D batches whose channels are: all zero, constant, zero but one value, zero in one
    batch only, negative only, heavy ties, ordinary."""
    batches = []
    for b in range(n):
        x = rng.standard_normal((6, 7, 5, 5)).astype(np.float32)
        x[:, 0] = 0.0
        x[:, 1] = 3.0
        x[:, 2] = 0.0
        x[0, 2, 0, 0] = 5.0
        if b == 1:
            x[:, 3] = 0.0
        x[:, 4] = -np.abs(x[:, 4]) - 0.1
        x[:, 5] = np.round(x[:, 5])
        batches.append(x)
    return batches


def relu_ties(rng):
    """ReLU outputs whose zeros are 50%, 90% and 97% of a channel, and an integer channel."""
    x = rng.standard_normal((4, 4, 30, 30)).astype(np.float32)
    x[:, 1] -= 1.3
    x[:, 2] -= 1.9
    x = np.maximum(x, 0)
    x[:, 3] = np.round(x[:, 3] * 3)
    return x


def border_columns(rng):
    """Image-like channels whose first and last columns hold much larger values."""
    x = rng.standard_normal((8, 3, 56, 56)).astype(np.float32)
    x[:, :, :, 0] += 20
    x[:, :, :, -1] -= 20
    x[:, 1, ::8, :] = 7.5
    return x


def build_cases(rng):
    normal = lambda shape: rng.standard_normal(shape).astype(np.float32)
    cauchy = lambda shape: rng.standard_cauchy(shape).astype(np.float32)
    return [
        ("normal_4d", [normal((8, 16, 5, 5)) for _ in range(3)], 1, 0.9),
        ("heavy_tailed_4d", [cauchy((4, 8, 6, 6)) for _ in range(4)], 1, 0.9),
        ("student_t_4d_p975", [rng.standard_t(2, (4, 8, 6, 6)).astype(np.float32)
                               for _ in range(3)], 1, 0.975),
        ("special_channels", special_channels(rng, 3), 1, 0.9),
        ("linear_2d", [normal((32, 10)) * 3 + 1 for _ in range(5)], 1, 0.9),
        ("seq_3d_axis1", [normal((4, 7, 12)) for _ in range(3)], 1, 0.9),
        ("seq_3d_axis2", [normal((4, 7, 12)) for _ in range(3)], 2, 0.9),
        ("seq_3d_axis_last", [cauchy((3, 5, 9)) for _ in range(3)], -1, 0.9),
        ("video_5d", [normal((2, 3, 4, 4, 4)) for _ in range(2)], 1, 0.9),
        ("axis0_4d", [normal((5, 3, 4, 4)) for _ in range(3)], 0, 0.9),
        ("varying_batch", [normal((n, 6, 3, 3)) for n in (1, 4, 2)], 1, 0.9),
        ("single_batch", [cauchy((2, 4, 8, 8))], 1, 0.5),
        # more than 16384 values per channel: the histogram select path
        ("large_relu_like", [np.maximum(normal((4, 3, 80, 80)), 0) for _ in range(2)], 1, 0.9),
        ("large_heavy_tailed", [cauchy((2, 2, 120, 120)) for _ in range(2)], 1, 0.975),
        ("large_linear_last_axis", [normal((20000, 3)) * 5 for _ in range(2)], -1, 0.9),
        # the sampled-threshold select: a distribution that moves between batches, ReLU
        # zeros at the quantile, spatial structure a strided sample would alias with
        ("shifting_distribution", [normal((4, 6, 20, 20)) * scale + shift
                                   for scale, shift in ((1, 0), (10, 5), (0.1, -3), (3, 30))],
         1, 0.9),
        ("relu_ties", [relu_ties(rng) for _ in range(3)], 1, 0.9),
        ("border_columns", [border_columns(rng) for _ in range(2)], 1, 0.975),
        ("threshold_boundary", [normal((1, 5, 8, 8)), normal((1, 5, 7, 9))], 1, 0.9),
    ]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: observer_reference.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(1234)
    cases = []
    for name, batches, axis, percentile in build_cases(rng):
        files = []
        for i, batch in enumerate(batches):
            path = os.path.join(out_dir, f"{name}.b{i}.f32")
            np.ascontiguousarray(batch, dtype="<f4").tofile(path)
            files.append({"file": os.path.basename(path), "shape": list(batch.shape)})
        stats = reference_stats([torch.from_numpy(b) for b in batches], axis, percentile)
        cases.append({"name": name, "channel_axis": axis, "comp_percentile": percentile,
                      "batches": files, "reference": stats})
    with open(os.path.join(out_dir, "observer_cases.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} observer cases to {out_dir}")


if __name__ == "__main__":
    main()
