"""Times PyTorch's ModelReportObserver (the reference) on the activations that
qreport_observer_bench captured, for comparison with its BM_ObserversFresh:

    build/bench/qreport_observer_bench --model resnet18.pt --capture-dir DIR \
        --benchmark_filter=ObserversFresh
    /usr/bin/python3 bench/reference_observer_bench.py DIR [--threads 2] [--repetitions 5]

Each repetition runs a fresh observer (all statistics, comp_percentile 0.9, the point's
channel axis) on every point's tensor once, as BM_ObserversFresh does; the script prints the
time of every repetition and their median in milliseconds.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
from torch.ao.quantization.fx._model_report.model_report_observer import ModelReportObserver


def load_points(directory):
    with open(os.path.join(directory, "points.json")) as f:
        points = json.load(f)["points"]
    return [(p["point"], p["channel_axis"],
             torch.from_numpy(np.load(os.path.join(directory, p["file"]))))
            for p in points]


def run_once(points):
    start = time.perf_counter()
    for _, axis, tensor in points:
        ModelReportObserver(ch_axis=axis, comp_percentile=0.9)(tensor)
    return (time.perf_counter() - start) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    points = load_points(args.capture_dir)
    elements = sum(t.numel() for _, _, t in points)
    with torch.no_grad():
        run_once(points)  # warm-up: first-call allocations and lazy initialisation
        times = [run_once(points) for _ in range(args.repetitions)]
    print(f"reference ModelReportObserver: {len(points)} points, {elements / 1e6:.3f} M elements, "
          f"{args.threads} threads")
    print("repetitions (ms): " + " ".join(f"{t:.1f}" for t in times))
    print(f"median: {statistics.median(times):.1f} ms")


if __name__ == "__main__":
    main()
