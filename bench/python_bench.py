"""The Python package on eager models, beside plain eager inference and PyTorch's own Model
Report on the same torch (the one in .venv-vision):

    .venv-vision/bin/python bench/python_bench.py [--models resnet18,mobilenet_v2,transformer]
        [--repetitions 5] [--out bench/RESULTS_PYTHON.md]

Per model, in one process and interleaved so that the machine's noise hits all sides alike:
- plain: the eager forward over the calibration batches (eval, no_grad);
- qreport: the same batches under `qreport.observe` with all four detectors (hooks in place,
  the layers found beforehand), and `qreport.analyze` end to end (finding the layers,
  calibration and the report);
- reference: prepare_fx, ModelReport with all four detectors, calibration and the report
  (reference_bench.reference_run), where it can run the model.
Ratios are medians of per-repetition ratios. Peak memory is measured in a fresh process per
side (VmHWM): plain forward over the batches against qreport.analyze over them.
Threads: torch's default (every core here) unless --threads.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models  # noqa: E402
import qreport  # noqa: E402
import reference_bench  # noqa: E402
from reference_bench import peak_rss_kib  # noqa: E402

DEFAULT_MODELS = ["resnet18", "mobilenet_v2", "transformer"]


def run_plain(model, batches):
    with torch.no_grad():
        for b in batches:
            model(b)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def memory_child(name, side):
    model, batches = bench_models.build(name), bench_models.batches(name)
    run_plain(model, batches[:1])
    if side == "plain":
        run_plain(model, batches)
    else:
        qreport.analyze(model, batches, progress=False)
    print(json.dumps({"peak_rss_kib": peak_rss_kib()}))


def memory(name, side):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", name,
                          side], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_rss_kib"]


def bench(name, repetitions):
    model, batches = bench_models.build(name), bench_models.batches(name)
    n = len(batches)
    run_plain(model, batches[:1])
    observer = qreport.observe(model, batches[0])
    plain, observed, analyzed, reference = [], [], [], []
    reference_failed = None
    for _ in range(repetitions):
        plain.append(timed(lambda: run_plain(model, batches)))
        with observer:
            observed.append(timed(lambda: run_plain(model, batches)))
        analyzed.append(timed(lambda: qreport.analyze(model, batches, progress=False)))
        if reference_failed is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reference.append(timed(lambda: reference_bench.reference_run(model, batches)))
            except Exception as error:  # the reference's limits are a result
                reference_failed = reference_bench.failure(error)
    start = time.perf_counter()
    report = observer.report()
    report_ms = (time.perf_counter() - start) * 1e3
    med = statistics.median
    row = {
        "model": name, "batches": n, "threads": torch.get_num_threads(),
        "plain_ms": med(plain) / n * 1e3, "observed_ms": med(observed) / n * 1e3,
        "calibration_ratio": med([o / p for o, p in zip(observed, plain)]),
        "analyze_s": med(analyzed), "report_ms": report_ms, "layers": len(report.layers),
        "derived_updates": observer._session.bank.mapped_updates,
    }
    if reference:
        row["reference_s"] = med(reference)
        row["speedup"] = med([r / a for r, a in zip(reference, analyzed)])
    else:
        row["reference_failed"] = reference_failed
    plain_kib, ours_kib = memory(name, "plain"), memory(name, "qreport")
    row["memory_ratio"] = ours_kib / plain_kib
    row["plain_peak_mib"], row["qreport_peak_mib"] = plain_kib / 1024, ours_kib / 1024
    return row


def markdown(rows):
    lines = [
        "# Python package benchmark (bench/python_bench.py)", "",
        f"torch {torch.__version__}, {rows[0]['threads']} threads, eager models, all four "
        "detectors. Calibration ratio: a batch under qreport.observe against a plain eager "
        "forward (median of interleaved repetitions). Speedup: the reference's prepare_fx + "
        "ModelReport + calibration + report against qreport.analyze end to end.", "",
        "| model | batches | plain ms/batch | observed ms/batch "
        "| calibration ratio (target ≤ 1.15) "
        "| analyze s | reference s | speedup (target ≥ 5) | report ms | peak memory ratio "
        "(target ≤ 1.10) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reference = f"{r['reference_s']:.2f}" if "reference_s" in r else "fails"
        speedup = f"{r['speedup']:.1f}×" if "speedup" in r else "—"
        lines.append(
            f"| {r['model']} | {r['batches']} | {r['plain_ms']:.1f} | {r['observed_ms']:.1f} | "
            f"{r['calibration_ratio']:.3f} | {r['analyze_s']:.2f} | {reference} | {speedup} | "
            f"{r['report_ms']:.0f} | {r['memory_ratio']:.3f} ({r['plain_peak_mib']:.0f} → "
            f"{r['qreport_peak_mib']:.0f} MiB) |")
    failures = [r for r in rows if "reference_failed" in r]
    if failures:
        lines += ["", "Where the reference fails:"]
        lines += [f"- {r['model']}: {r['reference_failed']}" for r in failures]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = "qnnpack"
    rows = []
    for name in args.models.split(","):
        print(f"python bench: {name}", file=sys.stderr)
        rows.append(bench(name, args.repetitions))
        print(json.dumps(rows[-1]), file=sys.stderr)
    text = markdown(rows)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
