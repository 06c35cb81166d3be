"""Exports the benchmark models and their calibration batches, so qreport and the reference
see the same weights and the same data.

    /usr/bin/python3 bench/export_bench_models.py OUT_DIR [--models mlp,resnet18]

For each model NAME (bench_models.MODELS) it writes:
  OUT_DIR/NAME.pt          torch.jit.script of the model in eval mode (what qreport loads)
  OUT_DIR/NAME.state.pt    its state_dict (what the reference runner loads into the Python
                           model, which FX can trace and TorchScript cannot give back)
  OUT_DIR/NAME/bNN.npy     the calibration batches, float32
and OUT_DIR/manifest.json listing models, input shapes and batch counts. Existing files of a
model are kept while its manifest entry (shape, batch count and a hash of bench_models.py) is
unchanged: re-running the bench re-exports nothing.
"""
import argparse
import hashlib
import json
import os
import warnings

import numpy as np
import torch

import bench_models


def export(name, out_dir):
    model = bench_models.build(name)
    scripted = torch.jit.script(model)
    batches = bench_models.batches(name)
    with torch.no_grad():
        want = model(batches[0])
        got = scripted(batches[0])
    # The scripted transformer may take the fused inference path where eager Python does
    # too; both compute the same function to float rounding.
    if not torch.allclose(want, got, rtol=1e-4, atol=1e-4):
        raise AssertionError(f"{name}: the scripted model's output differs from the Python model")
    scripted.save(os.path.join(out_dir, f"{name}.pt"))
    torch.save(model.state_dict(), os.path.join(out_dir, f"{name}.state.pt"))
    batch_dir = os.path.join(out_dir, name)
    os.makedirs(batch_dir, exist_ok=True)
    for i, batch in enumerate(batches):
        np.save(os.path.join(batch_dir, f"b{i:02}.npy"), batch.numpy().astype(np.float32))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--models", default=",".join(bench_models.MODELS),
                        help="comma-separated subset of: " + ", ".join(bench_models.MODELS))
    args = parser.parse_args()
    # nn.TransformerEncoderLayer declares a constant it never sets; scripting says so.
    warnings.filterwarnings("ignore", message=".*found in ScriptModule constants")
    os.makedirs(args.out_dir, exist_ok=True)
    manifest_path = os.path.join(args.out_dir, "manifest.json")
    with open(bench_models.__file__, "rb") as f:
        source_hash = hashlib.sha256(f.read()).hexdigest()[:16]
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    for name in args.models.split(","):
        spec = bench_models.MODELS[name]
        entry = {"shape": list(spec.shape), "batches": spec.batches, "source": source_hash}
        complete = all(os.path.exists(os.path.join(args.out_dir, f))
                       for f in (f"{name}.pt", f"{name}.state.pt",
                                 f"{name}/b{spec.batches - 1:02}.npy"))
        if manifest.get(name) == entry and complete:
            continue
        export(name, args.out_dir)
        manifest[name] = entry
        print(f"exported {name}: {spec.batches} batches of {list(spec.shape)}", flush=True)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
