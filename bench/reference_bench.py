"""Times PyTorch's own Model Report (the reference) on one benchmark model, with the data
qreport's bench driver sees:

    /usr/bin/python3 bench/reference_bench.py DATA_DIR NAME [--repetitions 3] [--threads 2]

DATA_DIR is what export_bench_models.py wrote. Each repetition is what a user of the
reference does: copy the float model, prepare_fx it (qnnpack engine, default_qconfig
everywhere), ModelReport with all four detectors, prepare_detailed_calibration, run every
batch, generate_model_report(True). The eager float model's forward on the same batches is
timed in the same repetition, for context. Prints one JSON object: milliseconds per phase
and repetition, or {"failed": reason} when the reference cannot handle the model.

--mode memory runs one such repetition (no eager timing) and prints the process's peak
resident memory, for comparison with qreport_model_report_bench --mode calibrate; --batches N
takes only the first N batches (the observers' state does not grow with more).
"""
import argparse
import copy
import glob
import json
import os
import time
import traceback
import warnings

import numpy as np
import torch
from torch.ao.quantization import QConfigMapping, default_qconfig
from torch.ao.quantization.quantize_fx import prepare_fx
from torch.ao.quantization.fx._model_report.detector import (
    DynamicStaticDetector, InputWeightEqualizationDetector, OutlierDetector, PerChannelDetector)
from torch.ao.quantization.fx._model_report.model_report import ModelReport

import bench_models

BACKEND = "qnnpack"  # Debian's torch 1.13 has only qnnpack and onednn


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def ms_since(start):
    return (time.perf_counter() - start) * 1e3


def load(data_dir, name, limit):
    model = bench_models.build(name)
    model.load_state_dict(torch.load(os.path.join(data_dir, f"{name}.state.pt")))
    files = sorted(glob.glob(os.path.join(data_dir, name, "*.npy")))
    files = files[:limit] if limit > 0 else files
    return model, [torch.from_numpy(np.load(f)) for f in files]


def reference_run(model, batches):
    """One calibration as a reference user runs it; milliseconds per phase."""
    times = {}
    start = time.perf_counter()
    prepared = prepare_fx(copy.deepcopy(model), QConfigMapping().set_global(default_qconfig),
                          (batches[0],))
    times["prepare_fx"] = ms_since(start)
    start = time.perf_counter()
    report = ModelReport(prepared, {PerChannelDetector(BACKEND), DynamicStaticDetector(),
                                    InputWeightEqualizationDetector(0.5), OutlierDetector()})
    calibrated = report.prepare_detailed_calibration()
    times["prepare_detailed_calibration"] = ms_since(start)
    per_batch = []
    with torch.no_grad():
        for batch in batches:
            start = time.perf_counter()
            calibrated(batch)
            per_batch.append(ms_since(start))
    times["calibration"] = per_batch
    start = time.perf_counter()
    result = report.generate_model_report(True)
    times["report"] = ms_since(start)
    times["report_modules"] = {name: len(info) for name, (_, info) in result.items()}
    return times


def eager_forward(model, batches):
    per_batch = []
    with torch.no_grad():
        for batch in batches:
            start = time.perf_counter()
            model(batch)
            per_batch.append(ms_since(start))
    return per_batch


def failure(error):
    """The reference's error in one line: where it was raised and what it said."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    for frame in reversed(frames):
        if "/torch/" in frame.filename:
            where = f" (in {os.path.basename(frame.filename)}:{frame.lineno} {frame.name})"
            break
    return f"{type(error).__name__}: {error}{where}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("name", choices=sorted(bench_models.MODELS))
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--mode", choices=["time", "memory"], default="time")
    parser.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    parser.add_argument("--batches", type=int, default=0, help="the first N batches (0: all)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    torch.backends.quantized.engine = BACKEND
    model, batches = load(args.data_dir, args.name, args.batches)
    out = {"threads": torch.get_num_threads(), "torch": torch.__version__,
           "batches": len(batches)}
    try:
        if args.mode == "memory":
            reference_run(model, batches)
            out["peak_rss_kib"] = peak_rss_kib()
        else:
            eager_forward(model, batches[:1])  # warm-up: lazy initialisation, allocator
            runs = []
            for _ in range(args.repetitions):
                run = reference_run(model, batches)
                run["eager_forward"] = eager_forward(model, batches)
                runs.append(run)
            out["runs"] = runs
    except Exception as error:  # the reference's limits are a result, not a crash
        out["failed"] = failure(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
