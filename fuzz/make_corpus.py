#!/usr/bin/python3
"""Writes the fuzzers' seed inputs that Python writes best: NumPy files from NumPy itself,
TorchScript and torch.save archives from torch, QConfig mappings and --data entries as text.
State files and report.json come from qreport's own writers (qreport_fuzz_seeds).

    /usr/bin/python3 fuzz/make_corpus.py OUT_DIR    # OUT_DIR/<harness>/<seed>

Run with Debian's Python: its numpy and torch (1.13) match Debian's LibTorch. Seeds stay small
(a few KB): libFuzzer mutates small inputs best, and its default length limit follows them.
"""

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np


def npy_bytes(array, version=None):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, version=version, allow_pickle=False)
    return out.getvalue()


def npy_seeds():
    rng = np.random.default_rng(0)
    arrays = {
        "f4_2x3": rng.standard_normal((2, 3)).astype("<f4"),
        "f4_scalar": np.array(1.5, dtype="<f4"),
        "f4_empty": np.zeros((0, 3), dtype="<f4"),
        "f8_big_endian": rng.standard_normal((3, 2)).astype(">f8"),
        "f2_nonfinite": np.array([[1.0, np.inf], [-np.inf, np.nan]], dtype="<f2"),
        "f4_fortran": np.asfortranarray(rng.standard_normal((2, 3, 4)).astype("<f4")),
        "i1": np.arange(-4, 4, dtype="|i1").reshape(2, 4),
        "i2": np.arange(6, dtype="<i2"),
        "i4_big_endian": np.arange(6, dtype=">i4").reshape(3, 2),
        "i8": np.arange(4, dtype="<i8"),
        "u1": np.arange(8, dtype="|u1").reshape(2, 2, 2),
        "b1": np.array([True, False, True]),
        "f4_8d": np.ones((1, 2, 1, 2, 1, 2, 1, 2), dtype="<f4"),
        "u2_unsupported": np.arange(3, dtype="<u2"),
    }
    seeds = {f"{name}.npy": npy_bytes(a) for name, a in arrays.items()}
    seeds["f4_v2.npy"] = npy_bytes(arrays["f4_2x3"], version=(2, 0))
    seeds["f4_v3.npy"] = npy_bytes(arrays["f4_2x3"], version=(3, 0))
    return seeds


def npz_seeds():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    seeds = {}
    for name, save in (("stored", np.savez), ("deflated", np.savez_compressed)):
        out = io.BytesIO()
        save(out, x=x, mask=np.array([True, False]), ids=np.arange(3, dtype=np.int64))
        seeds[f"{name}.npz"] = out.getvalue()
        out = io.BytesIO()
        save(out, x, np.float16([1, 2]))  # arr_0, arr_1
        seeds[f"{name}_positional.npz"] = out.getvalue()
    out = io.BytesIO()
    np.savez(out)
    seeds["empty.npz"] = out.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "not an array")
    seeds["not_npy_entry.npz"] = out.getvalue()
    return seeds


def archive_seeds():
    import torch

    class Small(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, x):
            return torch.relu(self.fc(x))

    seeds = {}
    out = io.BytesIO()
    torch.jit.save(torch.jit.script(Small()), out)
    seeds["script.pt"] = out.getvalue()
    out = io.BytesIO()
    torch.save({"x": torch.ones(2)}, out)
    seeds["torch_save.pt"] = out.getvalue()
    out = io.BytesIO()
    torch.save(torch.ones(2), out, _use_new_zipfile_serialization=False)
    seeds["torch_save_legacy.pt"] = out.getvalue()
    seeds["npz.pt"] = npz_seeds()["stored.npz"]
    seeds["empty.pt"] = b""
    return seeds


def qconfig_seeds():
    documents = {
        "full.json": {
            "schema_version": 1,
            "global": {"activation": "static", "weight": "per_tensor"},
            "object_type": [
                {"type": "torch.nn.Linear", "qconfig": "default_dynamic_qconfig"},
                {"type": "Conv2d", "qconfig": {"weight": "per_channel"}},
            ],
            "module_name_regex": [{"regex": "body\\.[0-9]+\\.conv", "qconfig": None}],
            "module_name": [{"name": "fc1", "qconfig": "default_per_channel_qconfig"}],
        },
        "global_only.json": {"global": "default_qconfig"},
        "null_global.json": {"global": None},
        "observer_names.json": {
            "global": {
                "activation": "torch.ao.quantization.default_dynamic_quant_observer",
                "weight": "default_per_channel_weight_observer",
            }
        },
        "empty.json": {},
    }
    return {name: json.dumps(doc).encode() for name, doc in documents.items()}


def data_entry_seeds():
    # The first byte lays out the made-up file system (see data_entry_fuzzer.cpp).
    entries = ["calib/", "x.npy", "x.npz", "data.pt:inputs", "C:/data.pt:inputs", "a:b:c", ":", "x:"]
    return {f"entry_{i}_{layout:02x}": bytes([layout]) + entry.encode()
            for i, entry in enumerate(entries) for layout in (0x00, 0x55, 0xAA, 0x1B)}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    out = Path(sys.argv[1])
    for harness, seeds in (("npy", npy_seeds()), ("npz", npz_seeds()), ("archive", archive_seeds()),
                           ("qconfig", qconfig_seeds()), ("data_entry", data_entry_seeds())):
        directory = out / harness
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (directory / name).write_bytes(data)
        print(f"{directory}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
