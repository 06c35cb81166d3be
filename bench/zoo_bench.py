"""torchvision's models with many small layers, and start-up, for `make bench` (issue 22).

Where a model is made of many small layers, what calibration costs per observation point and
per call, rather than per element, decides the ratio to plain inference; and on a run of a few
batches, what happens before the first batch is most of the wait. `run_bench.py` calls
`measure` and `render`; this file also exports the models:

    /usr/bin/python3 bench/zoo_bench.py export OUT_DIR mobilenet_v3_small,densenet121

Per model and thread count, one process of qreport_model_report_bench times plain inference
and qreport's calibration (all four detectors) on synthetic 224x224 batches of 8 and of 1
images, as for the main models. Start-up compares two whole processes, each timed from exec
to exit: the `qreport analyze` command on one batch of one image (everything a user waits for:
loading LibTorch and the model, finding the layers, preparing, the batch, the report and its
files) against the driver's plain mode on the same model and batch (loading LibTorch and the
model, one forward). The difference is what qreport adds before and after the model's own
work.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = ("mobilenet_v3_small", "shufflenet_v2_x1_0", "mnasnet0_5", "lraspp_mobilenet_v3_large",
          "regnet_y_400mf", "densenet121", "efficientnet_b0", "mobilenet_v3_large")
# Batch size -> calibration / plain forward at most.
TARGETS = {8: 1.10, 1: 1.25}
BATCHES = {8: 6, 1: 10}  # per repetition; the clone's first two are the executor's profiling
REPETITIONS = 3
STARTUP_ROUNDS = 3
STARTUP_SLACK_S = 0.5    # qreport's start-up over the model's load and one forward, at most


def build(name):
    import torch
    import torchvision
    torch.manual_seed(0)
    if name == "lraspp_mobilenet_v3_large":
        model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
            weights=None, weights_backbone=None)
    else:
        model = getattr(torchvision.models, name)(weights=None)
    return model.eval()


def export(out_dir, names):
    """Scripts each model to OUT_DIR/NAME.pt, unless a file made by this torchvision is there."""
    import torch
    import torchvision
    os.makedirs(out_dir, exist_ok=True)
    manifest_path = os.path.join(out_dir, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    for name in names:
        path = os.path.join(out_dir, f"{name}.pt")
        if manifest.get(name) == torchvision.__version__ and os.path.exists(path):
            continue
        torch.jit.script(build(name)).save(path)
        manifest[name] = torchvision.__version__
        print(f"exported {name}", flush=True)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def wall_seconds(command):
    """Runs `command` to its end; its wall time in seconds, or None if it failed."""
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    return (elapsed, None) if proc.returncode == 0 else (
        None, f"exit {proc.returncode}: {(proc.stderr.strip() or 'no output').splitlines()[-1]}")


def measure(names, thread_counts, data_dir, driver, cli, run_json, log):
    """Raw measurements: per model, per thread count and batch size, the driver's JSON; and
    the start-up processes' wall times at the last thread count (every core by default)."""
    zoo_dir = os.path.join(data_dir, "zoo")
    log(f"exporting {len(names)} torchvision models to {zoo_dir}")
    subprocess.run([sys.executable, os.path.abspath(__file__), "export", zoo_dir,
                    ",".join(names)], check=True)
    results = []
    for threads in thread_counts:
        for name in names:
            model = os.path.join(zoo_dir, f"{name}.pt")
            for batch in TARGETS:
                log(f"zoo {name}, batch {batch}, {threads} thread(s)")
                raw, error = run_json([driver, "--model", model, "--input-shape",
                                       f"{batch},3,224,224", "--batches", str(BATCHES[batch]),
                                       "--repetitions", str(REPETITIONS),
                                       "--threads", str(threads)])
                results.append({"name": name, "threads": threads, "batch": batch, "raw": raw,
                                "error": error})
    startup = []
    threads = thread_counts[-1]
    for name in names:
        log(f"start-up {name}, {threads} thread(s)")
        model = os.path.join(zoo_dir, f"{name}.pt")
        entry = {"name": name, "threads": threads, "plain": [], "qreport": [], "error": None}
        with tempfile.TemporaryDirectory() as out:
            for _ in range(STARTUP_ROUNDS):
                plain, error = wall_seconds([driver, "--model", model, "--input-shape",
                                             "1,3,224,224", "--batches", "1", "--mode", "plain",
                                             "--threads", str(threads)])
                entry["plain"].append(plain)
                entry["error"] = entry["error"] or error
                ours, error = wall_seconds([cli, "analyze", model, "--input-shape", "1,3,224,224",
                                            "--batches", "1", "--threads", str(threads), "-q",
                                            "--out", os.path.join(out, "report")])
                entry["qreport"].append(ours)
                entry["error"] = entry["error"] or error
        startup.append(entry)
    return {"per_batch": results, "startup": startup}


def summarize(raw):
    runs = raw["runs"]
    plain = median([median(r["plain"]) for r in runs])
    calibration = median([median(r["calibration"]) for r in runs])
    return plain, calibration


def render(zoo):
    """Markdown lines: the per-batch table, the start-up table and their target rows."""
    lines = ["", "## Models with many small layers", "",
             "torchvision's models that had the largest calibration cost over plain inference "
             "(`bench/zoo_bench.py`), scripted, random weights, synthetic 224×224 batches. "
             "*per point*: (calibration − plain) / observed points, the cost each observation "
             "point adds to a batch.", "",
             "| model | threads | batch | layers / observed points | plain forward | qreport "
             "calibration | qreport / plain | per point (µs) | target |",
             "|---|--:|--:|---|--:|--:|--:|--:|---|"]
    targets = []
    for entry in zoo["per_batch"]:
        head = [entry["name"], str(entry["threads"]), str(entry["batch"])]
        if entry["raw"] is None:
            lines.append("| " + " | ".join(head + [f"failed: {entry['error']}"] + ["—"] * 5) +
                         " |")
            continue
        plain, calibration = summarize(entry["raw"])
        points = entry["raw"]["observed_points"]
        value = calibration / plain
        limit = TARGETS[entry["batch"]]
        met = value <= limit
        per_point = (calibration - plain) * 1e3 / points if points else None
        lines.append("| " + " | ".join(head + [
            f"{entry['raw']['layers']} / {points}", f"{plain:.1f}", f"{calibration:.1f}",
            f"{value:.2f}×", "—" if per_point is None else f"{per_point:.0f}",
            f"≤ {limit:.2f}×: {'yes' if met else '**no**'}"]) + " |")
        targets.append((f"calibration ≤ {limit:.2f}× plain forward, batch {entry['batch']}",
                        f"{entry['name']}, {entry['threads']} thread(s)", f"{value:.2f}×", met))
    lines += ["", "## Start-up", "",
              "Whole processes, exec to exit, medians of "
              f"{STARTUP_ROUNDS}: `qreport analyze MODEL --input-shape 1,3,224,224 --batches 1` "
              "against the bench driver loading the same model and running one plain forward "
              "(both load LibTorch). Target: qreport takes at most "
              f"{STARTUP_SLACK_S} s more.", "",
              "| model | threads | plain: load + one forward (s) | `qreport analyze`, one batch "
              "(s) | difference (s) | target |", "|---|--:|--:|--:|--:|---|"]
    for entry in zoo["startup"]:
        plain = median(entry["plain"])
        ours = median(entry["qreport"])
        if plain is None or ours is None:
            lines.append(f"| {entry['name']} | {entry['threads']} | failed: {entry['error']} | "
                         "— | — | — |")
            continue
        met = ours - plain <= STARTUP_SLACK_S
        lines.append(f"| {entry['name']} | {entry['threads']} | {plain:.2f} | {ours:.2f} | "
                     f"{ours - plain:+.2f} | ≤ +{STARTUP_SLACK_S} s: "
                     f"{'yes' if met else '**no**'} |")
        targets.append((f"start-up ≤ load + one forward + {STARTUP_SLACK_S} s",
                        f"{entry['name']}, {entry['threads']} thread(s)",
                        f"{ours - plain:+.2f} s", met))
    return lines, targets


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "export":
        sys.exit("usage: zoo_bench.py export OUT_DIR NAME[,NAME...]")
    import warnings
    warnings.filterwarnings("ignore")
    export(sys.argv[2], sys.argv[3].split(","))
