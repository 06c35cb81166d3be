"""Runs qreport and the reference side by side on the benchmark models and writes the results
as markdown (what `make bench` does):

    /usr/bin/python3 bench/run_bench.py --build-dir build-bench [--out bench/RESULTS.md]
        [--models mlp,resnet18] [--repetitions 5] [--reference-repetitions 2] [--threads 1,all]

For each model: one process of qreport_model_report_bench times plain TorchScript inference,
qreport's calibration (end to end, and its observers alone) and its report, in rotating
order per repetition; one process of reference_bench.py times PyTorch's ModelReport on the
same weights and batches. Everything qreport and plain inference do is measured at each
thread count of --threads (one, then every CPU the process may run on, by default); the
reference and peak memory at the first only. Peak memory comes from separate processes, each doing one thing
(plain inference, qreport calibration, reference calibration), alternating. Every number in
the tables is a median: over the batches of a repetition, then over the repetitions. The raw
measurements go to BUILD_DIR/bench-results.json.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_models  # noqa: E402  (the models' shapes and batch counts)
import zoo_bench  # noqa: E402  (models with many small layers, and start-up)

TARGET_RATIO_PLAIN = 1.10    # calibration per batch / plain forward, on these models:
TARGET_RATIO_MODELS = ("resnet18", "mobilenet_v2", "transformer", "transformer_fx")
TARGET_REFERENCE = 10.0      # reference / qreport per calibration batch
TARGET_REPORT_MS = 50.0      # report generation on resnet18
TARGET_MEMORY = 1.10         # peak memory of calibration / plain inference
MEMORY_ROUNDS = 3            # plain and qreport memory processes each (cheap); reference: one
MEMORY_BATCHES = 3           # observer state does not grow with batches; activations are freed
# glibc raises its mmap threshold when a large block is freed, so later activations come
# from the heap and stay resident; a fixed threshold returns them, and RSS follows live memory.
ALLOCATORS = {"glibc default": {}, "fixed mmap threshold": {"MALLOC_MMAP_THRESHOLD_": "131072"}}
# Timing is repeated with glibc keeping freed memory for reuse: a large fixed mmap threshold
# and trim threshold. By default glibc gives the top of its heap back after each batch and
# the next batch faults it in again, page by page. Both sides run under the same setting.
# The `qreport` command sets the same two thresholds itself, so the kept-memory calibration
# is also how the command calibrates; its peak memory is measured under this setting too.
# They are read from the command's source so the two cannot drift apart.


def kept_heap():
    with open(os.path.join(HERE, "..", "tools", "heap_policy.h")) as f:
        source = f.read()
    values = {}
    for name in ("kKeptMmapThreshold", "kKeptTrimThreshold"):
        match = re.search(rf"{name} = (\d+) << (\d+);", source)
        if not match:
            sys.exit(f"run_bench.py: {name} not found in tools/heap_policy.h")
        values[name] = int(match.group(1)) << int(match.group(2))
    return {"MALLOC_MMAP_THRESHOLD_": str(values["kKeptMmapThreshold"]),
            "MALLOC_TRIM_THRESHOLD_": str(values["kKeptTrimThreshold"])}


KEPT_HEAP = kept_heap()
KEPT_HEAP_TEXT = " ".join(f"{k}={v}" for k, v in KEPT_HEAP.items())


def run_json(command, env=None):
    """Runs a bench process; its last stdout line is JSON. Returns (result, error)."""
    proc = subprocess.run(command, capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
        return None, f"exit {proc.returncode}: {lines[-1]}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def median(values):
    return statistics.median(values) if values else None


def per_run(runs, key, reduce=median):
    """Median over repetitions of `reduce` over the batches of each repetition."""
    return median([reduce(run[key]) for run in runs])


def summarize_qreport(result):
    runs = result["runs"]
    plain_total = median([sum(r["plain"]) for r in runs])
    e2e = median([r["setup"] + sum(r["calibration"]) + r["report"] for r in runs])
    return {
        "plain": per_run(runs, "plain"),
        "calibration": per_run(runs, "calibration"),
        "observers": per_run(runs, "observers"),
        "setup": median([r["setup"] for r in runs]),
        "report": median([r["report"] for r in runs]),
        "end_to_end": e2e,
        "plain_total": plain_total,
    }


def summarize_reference(result):
    runs = result["runs"]
    return {
        "calibration": per_run(runs, "calibration"),
        "eager": per_run(runs, "eager_forward"),
        "setup": median([r["prepare_fx"] + r["prepare_detailed_calibration"] for r in runs]),
        "report": median([r["report"] for r in runs]),
        "end_to_end": median([r["prepare_fx"] + r["prepare_detailed_calibration"] +
                              sum(r["calibration"]) + r["report"] for r in runs]),
    }


def thread_counts(text):
    """--threads: comma-separated counts; "all" is every CPU this process may run on."""
    counts = []
    for part in text.split(","):
        part = part.strip()
        count = len(os.sched_getaffinity(0)) if part == "all" else int(part)
        if count < 1:
            raise argparse.ArgumentTypeError(f"a thread count is at least 1, not {part!r}")
        if count not in counts:
            counts.append(count)
    return counts


def threads_text(count):
    return f"{count} thread{'s' if count > 1 else ''}"


def measure_model(name, threads, full, args, data_dir, driver, log):
    """qreport and plain inference at `threads`; with `full`, the reference and peak memory
    too."""
    model_path = os.path.join(data_dir, f"{name}.pt")
    batch_dir = os.path.join(data_dir, name)
    common = ["--model", model_path, "--data", batch_dir, "--threads", str(threads)]
    reference = [sys.executable, os.path.join(HERE, "reference_bench.py"), data_dir, name,
                 "--threads", str(threads)]
    out = {"name": name, "threads": threads, "reference_raw": None, "reference_error": None}
    at = threads_text(threads)

    log(f"{name}, {at}: qreport and plain forward, {args.repetitions} repetitions")
    out["qreport_raw"], out["qreport_error"] = run_json(
        [driver, *common, "--repetitions", str(args.repetitions)])
    log(f"{name}, {at}: qreport and plain forward, freed memory kept ({KEPT_HEAP_TEXT})")
    out["qreport_kept_raw"], out["qreport_kept_error"] = run_json(
        [driver, *common, "--repetitions", str(args.repetitions)], KEPT_HEAP)
    if not full:
        out["reference_skipped"] = True
        return out
    log(f"{name}, {at}: reference, {args.reference_repetitions} repetitions")
    out["reference_raw"], out["reference_error"] = run_json(
        reference + ["--repetitions", str(args.reference_repetitions)])

    log(f"{name}: peak memory")
    reference_failed = out["reference_raw"] is None or "failed" in out["reference_raw"]
    out["memory_raw"] = {}
    for allocator, env in ALLOCATORS.items():
        memory = {"plain": [], "calibrate": [], "reference": []}
        for _ in range(MEMORY_ROUNDS):
            for mode in ("plain", "calibrate"):
                result, error = run_json(
                    [driver, *common, "--batches", str(MEMORY_BATCHES), "--mode", mode], env)
                memory[mode].append(result["peak_rss_kib"] if result else None)
                if error:
                    out[f"memory_{mode}_error"] = error
        if not reference_failed:
            result, error = run_json(
                reference + ["--batches", str(MEMORY_BATCHES), "--mode", "memory"], env)
            memory["reference"].append((result or {}).get("peak_rss_kib"))
        out["memory_raw"][allocator] = memory
    kept = []
    for _ in range(MEMORY_ROUNDS):
        result, error = run_json(
            [driver, *common, "--batches", str(MEMORY_BATCHES), "--mode", "calibrate"], KEPT_HEAP)
        kept.append(result["peak_rss_kib"] if result else None)
        if error:
            out["memory_calibrate_kept_error"] = error
    out["memory_raw"]["freed memory kept"] = {"calibrate": kept}
    return out


def fmt_ms(value):
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}×" if value < 100 else f"{value:.0f}×"


def fmt_mib(kib):
    return "—" if kib is None else f"{kib / 1024:.0f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def machine_lines(models, args, zoo=None):
    cpu = platform.processor() or "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    measured = [m["qreport_raw"] for m in models] + [e["raw"] for e in (zoo or {}).get(
        "per_batch", [])]
    libtorch = next((raw["torch"] for raw in measured if raw), "?")
    python_torch = next((m["reference_raw"]["torch"] for m in models if m["reference_raw"]), "?")
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    for marker, label in (("openblas", "OpenBLAS"), ("blis", "BLIS"), ("mkl", "MKL"),
                          ("/blas/", "netlib reference BLAS")):
        if marker in blas:
            blas = f"{label}, {blas}"
            break
    commit = subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores, {len(os.sched_getaffinity(0))} this "
        f"process may use; qreport and plain inference at "
        f"{' and '.join(threads_text(t) for t in args.threads)} (intra-op), the reference and "
        f"peak memory at {threads_text(args.threads[0])}, on both sides",
        f"- LibTorch {libtorch} (qreport, C++); Python torch {python_torch} "
        f"(reference, `{sys.executable}`, Python {platform.python_version()})",
        f"- BLAS behind LibTorch and PyTorch (Linear layers, 1×1 convolutions on one thread): "
        f"{blas}; other convolutions: oneDNN",
        f"- {platform.system()} {platform.release()}; qreport at `{commit}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"{args.repetitions} repetitions of qreport and plain, "
        f"{args.reference_repetitions} of the reference",
    ]


def reference_cell(model, width, reason=True):
    """Cells for a reference that failed (the reason once, in the first table), or that was
    not run at this thread count, else None."""
    if model.get("reference_skipped"):
        return ["—"] * width
    error = model["reference_error"] or (model["reference_raw"] or {}).get("failed")
    if not error:
        return None
    return [f"reference failed: {error}" if reason else "reference failed"] + ["—"] * (width - 1)


def render(models, args, elapsed_s, zoo=None):
    lines = ["# qreport against plain inference and the reference", "",
             "Written by `make bench` (`bench/run_bench.py`); do not edit by hand.", ""]
    lines += machine_lines(models, args, zoo)
    lines += ["", "All times are milliseconds, medians (over a repetition's batches, then over "
              "repetitions). qreport runs all four detectors (per_channel with backend qnnpack, "
              "dynamic_static, input_weight_equalization with threshold 0.5, outlier); the "
              "reference runs the same four in one `ModelReport` on the `prepare_fx` model "
              "(qnnpack, `default_qconfig`).", ""]

    lines += [
        "How to read it:", "",
        "- *of which observers*: the time qreport's observer taps take inside a calibration "
        "batch (PreparedModel::observer_seconds, in the same calibration); *of which eager forward*: "
        "the float model's own Python forward on the same batch.",
        "- *statistics: reference / qreport*: what gathering the statistics costs on top of the "
        "forward, (reference calibration − eager forward) / qreport's observers. Where the "
        "forward dominates, the whole-batch ratio cannot reach 10× however cheap the "
        "statistics are.",
        "- The transformer's plain forward is PyTorch's fused inference kernel "
        "(`_transformer_encoder_layer_fwd`), which calls no Linear layer; qreport's calibration "
        "runs the kernels it is made of, with the Linear layers as calls its observers read "
        "(the same values bit for bit).",
        "- qreport's calibration computes `max_pool2d` from strided views of its input (the "
        "same values): LibTorch 1.13's CPU kernel also computes the argmax indices inference "
        "discards, in a scalar loop, 40 ms of resnet18's forward against 11.",
        "- *transformer_fx* is the same encoder, with the same weights and batches, written as "
        "plain module calls on [batch × length, d_model] tokens (`bench/bench_models.py`): "
        "FX cannot trace `nn.TransformerEncoder`, and the reference's observers fail on "
        "`nn.MultiheadAttention`'s three inputs and its equalization detector on 3-D Linear "
        "inputs. It is the transformer the reference can be compared on.",
        "- *freed memory kept*: plain forward and qreport calibration timed again, in a process "
        f"of their own, with `{KEPT_HEAP_TEXT}`: glibc then keeps freed activations for the "
        "next batch instead of returning the top of its heap and faulting it back in page by "
        "page. Both sides run under the same setting.",
        "- *`qreport` command / plain*: the `qreport` command keeps freed memory the same way "
        "(it sets both thresholds at start-up unless the environment tunes malloc, or "
        "`--return-freed-memory` is given), while an application's plain inference usually "
        "runs under glibc's default: the kept-memory calibration over the default plain "
        "forward, two processes run one after the other.",
        ""]
    lines += ["## Per calibration batch", "",
              "| model | threads | batch | layers / observed points | plain forward | qreport "
              "calibration | qreport / plain | of which observers | qreport / plain, freed "
              "memory kept | `qreport` command / plain | reference calibration | of which "
              "eager forward | reference / qreport | statistics: reference / qreport |",
              "|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    kept = {}
    command = {}
    summaries = {}
    for m in models:
        spec = bench_models.MODELS[m["name"]]
        key = (m["name"], m["threads"])
        head = [m["name"], str(m["threads"]), "×".join(map(str, spec.shape))]
        if m["qreport_raw"] is None:
            lines.append("| " + " | ".join(head + [f"qreport failed: {m['qreport_error']}"] +
                                           ["—"] * 10) + " |")
            continue
        q = summarize_qreport(m["qreport_raw"])
        r = None if reference_cell(m, 1) else summarize_reference(m["reference_raw"])
        summaries[key] = (q, r)
        row = head + [f"{m['qreport_raw']['layers']} / {m['qreport_raw']['observed_points']}",
                      fmt_ms(q["plain"]), fmt_ms(q["calibration"]),
                      fmt_ratio(ratio(q["calibration"], q["plain"])), fmt_ms(q["observers"])]
        if m.get("qreport_kept_raw"):
            k = summarize_qreport(m["qreport_kept_raw"])
            kept[key] = ratio(k["calibration"], k["plain"])
            command[key] = ratio(k["calibration"], q["plain"])
            row += [fmt_ratio(kept[key]), fmt_ratio(command[key])]
        else:
            row += [f"failed: {m.get('qreport_kept_error')}", "—"]
        row += reference_cell(m, 4) or [
            fmt_ms(r["calibration"]), fmt_ms(r["eager"]),
            fmt_ratio(ratio(r["calibration"], q["calibration"])),
            fmt_ratio(ratio(r["calibration"] - r["eager"], q["observers"]))]
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", "## Setup, report and the whole run", "",
              "End to end: constructing the report, preparing, every calibration batch and the "
              "report (qreport: `ModelReport` … `GenerateModelReport(true)` and its text; the "
              "reference: `prepare_fx` … `generate_model_report(True)`).", "",
              "| model | threads | batches | plain, all batches | qreport setup | qreport report | "
              "qreport end to end | end to end / plain | reference setup | reference report | "
              "reference end to end | reference / qreport |",
              "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for m in models:
        if (m["name"], m["threads"]) not in summaries:
            continue
        q, r = summaries[(m["name"], m["threads"])]
        row = [m["name"], str(m["threads"]), str(m["qreport_raw"]["batches"]),
               fmt_ms(q["plain_total"]),
               fmt_ms(q["setup"]), fmt_ms(q["report"]), fmt_ms(q["end_to_end"]),
               fmt_ratio(ratio(q["end_to_end"], q["plain_total"]))]
        row += reference_cell(m, 4, reason=False) or [fmt_ms(r["setup"]), fmt_ms(r["report"]),
                                         fmt_ms(r["end_to_end"]),
                                         fmt_ratio(ratio(r["end_to_end"], q["end_to_end"]))]
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", "## Peak resident memory (MiB)", "",
              f"Each figure is a separate process doing only that, on the first {MEMORY_BATCHES} "
              "batches, one in memory at a time: LibTorch's plain forward; qreport's "
              "calibration and report; the reference's calibration and report (Python, so its "
              "baseline differs). Medians of "
              f"{MEMORY_ROUNDS} processes (the reference: one). With glibc's default, RSS also "
              "holds freed activations the allocator kept; with a fixed mmap threshold "
              "(`MALLOC_MMAP_THRESHOLD_=131072`) it follows the memory actually in use. "
              "*`qreport` command*: calibration with freed memory kept, as the command runs "
              "it, over plain inference under glibc's default.", ""]
    header = "| model |"
    rule = "|---|"
    for allocator in ALLOCATORS:
        header += (f" plain ({allocator}) | qreport | qreport / plain | reference |")
        rule += "--:|--:|--:|--:|"
    header += " `qreport` command | command / plain (glibc default) |"
    rule += "--:|--:|"
    lines += [header, rule]
    memory = {}
    command_memory = {}
    for m in models:
        if "memory_raw" not in m:
            continue
        row = f"| {m['name']} |"
        for allocator in ALLOCATORS:
            raw = m["memory_raw"][allocator]
            plain = median([v for v in raw["plain"] if v is not None])
            calib = median([v for v in raw["calibrate"] if v is not None])
            ref = median([v for v in raw["reference"] if v is not None])
            memory.setdefault(m["name"], (plain, calib))
            ref_cell = fmt_mib(ref) if ref else (reference_cell(m, 1, reason=False) or ["—"])[0]
            row += (f" {fmt_mib(plain)} | {fmt_mib(calib)} | {fmt_ratio(ratio(calib, plain))} | "
                    f"{ref_cell} |")
        kept_raw = m["memory_raw"].get("freed memory kept", {}).get("calibrate", [])
        kept_calib = median([v for v in kept_raw if v is not None])
        command_memory[m["name"]] = ratio(kept_calib, memory[m["name"]][0])
        row += f" {fmt_mib(kept_calib)} | {fmt_ratio(command_memory[m['name']])} |"
        lines.append(row)

    zoo_targets = []
    if zoo is not None:
        zoo_lines, zoo_targets = zoo_bench.render(zoo)
        lines += zoo_lines

    lines += ["", "## Targets", "", "| target | model | measured | met |", "|---|---|--:|---|"]

    def target(text, name, value, limit, shown, at_most=True):
        if value is None:
            lines.append(f"| {text} | {name} | — | not measured |")
            return
        met = value <= limit if at_most else value >= limit
        lines.append(f"| {text} | {name} | {shown} | {'yes' if met else '**no**'} |")

    for key in summaries:
        name, threads = key
        if name not in TARGET_RATIO_MODELS:
            continue
        q, _ = summaries[key]
        label = f"{name}, {threads_text(threads)}"
        value = ratio(q["calibration"], q["plain"])
        target("calibration ≤ 1.10× plain forward (glibc default)", label, value,
               TARGET_RATIO_PLAIN, fmt_ratio(value))
        target("calibration ≤ 1.10× plain forward (freed memory kept)", label,
               kept.get(key), TARGET_RATIO_PLAIN, fmt_ratio(kept.get(key)))
        target("`qreport` command's calibration ≤ 1.10× plain forward (glibc default)",
               label, command.get(key), TARGET_RATIO_PLAIN, fmt_ratio(command.get(key)))
    for m in models:
        key = (m["name"], m["threads"])
        if key not in summaries or m.get("reference_skipped"):
            continue
        q, r = summaries[key]
        label = f"{m['name']}, {threads_text(m['threads'])}"
        if r is not None:
            value = ratio(r["calibration"], q["calibration"])
            target("≥ 10× faster than the reference per batch", label, value, TARGET_REFERENCE,
                   fmt_ratio(value), at_most=False)
        else:
            lines.append(f"| ≥ 10× faster than the reference per batch | {label} | — | "
                         "reference failed |")
    for key in summaries:
        if key[0] == "resnet18":
            value = summaries[key][0]["report"]
            target("report generation < 50 ms", f"resnet18, {threads_text(key[1])}", value,
                   TARGET_REPORT_MS, f"{fmt_ms(value)} ms")
    for name, (plain, calib) in memory.items():
        value = ratio(calib, plain)
        target("peak memory ≤ 1.10× plain inference (glibc default)", name, value,
               TARGET_MEMORY, fmt_ratio(value))
        target("`qreport` command's peak memory ≤ 1.10× plain inference (glibc default)", name,
               command_memory.get(name), TARGET_MEMORY, fmt_ratio(command_memory.get(name)))
    for text, label, shown, met in zoo_targets:
        lines.append(f"| {text} | {label} | {shown} | {'yes' if met else '**no**'} |")
    lines += ["", f"The whole run took {elapsed_s / 60:.1f} minutes.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True,
                        help="a build configured with -DQREPORT_BUILD_BENCH=ON")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--models", default=",".join(bench_models.MODELS),
                        help="comma-separated, of: " + ", ".join(bench_models.MODELS) +
                             "; 'none' for the zoo alone")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--reference-repetitions", type=int, default=2)
    # One thread and every core: what a user gets by default is every core (the `qreport`
    # command's default), and one thread is the steadier measurement on a shared machine.
    parser.add_argument("--threads", type=thread_counts, default=thread_counts("1,all"),
                        help="comma-separated intra-op thread counts; all: every CPU this "
                             "process may use (default: 1,all)")
    parser.add_argument("--zoo", default=",".join(zoo_bench.MODELS),
                        help="torchvision models with many small layers, and start-up "
                             "(bench/zoo_bench.py); 'none' to leave them out")
    args = parser.parse_args()
    start = time.monotonic()

    def log(message):
        print(f"[{time.monotonic() - start:6.0f} s] {message}", file=sys.stderr, flush=True)

    driver = os.path.join(os.path.abspath(args.build_dir), "bench", "qreport_model_report_bench")
    if not os.access(driver, os.X_OK):
        sys.exit(f"run_bench.py: {driver} is missing: build the target qreport_model_report_bench")
    data_dir = os.path.join(os.path.abspath(args.build_dir), "bench-data")
    names = [name for name in args.models.split(",") if name and name != "none"]
    if names:
        log(f"exporting models and batches to {data_dir}")
        subprocess.run([sys.executable, os.path.join(HERE, "export_bench_models.py"), data_dir,
                        "--models", ",".join(names)], check=True)

    models = [measure_model(name, threads, index == 0, args, data_dir, driver, log)
              for index, threads in enumerate(args.threads)
              for name in names]
    zoo = None
    if args.zoo != "none":
        cli = os.path.join(os.path.abspath(args.build_dir), "qreport")
        if not os.access(cli, os.X_OK):
            sys.exit(f"run_bench.py: {cli} is missing: build the target qreport_cli")
        zoo = zoo_bench.measure(args.zoo.split(","), args.threads, data_dir, driver, cli,
                                run_json, log)
    with open(os.path.join(args.build_dir, "bench-results.json"), "w") as f:
        json.dump({"models": models, "zoo": zoo}, f, indent=1)
    text = render(models, args, time.monotonic() - start, zoo)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
