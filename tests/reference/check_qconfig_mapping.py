"""Checks a qconfig_mapping.py written by qreport against what qreport meant it to say.

    check_qconfig_mapping.py GENERATED.py EXPECTED.json

EXPECTED.json: {"mapping": <the mapping as qreport's JSON (QConfigMapping::ToJson)>,
                "modules": {"conv": {"activation": ..., "weight": ...} | null, ...}}
"modules" is what qreport's QConfigMapping::Resolve says for the modules of TinyModel below.

Checks, with PyTorch (Debian python3-torch 1.13):
  1. the file imports and builds a torch.ao.quantization.QConfigMapping whose entries are, in
     order, those of "mapping", each qconfig made of the reference's observers (compared as
     the reference's tests do: the same objects, and their with_args class and keywords);
  2. running the file as a script succeeds and prints a summary;
  3. prepare_fx of TinyModel with that mapping gives each module the qconfig "modules" says
     (PyTorch's own precedence rules agree with qreport's), and calibration + convert_fx
     succeed under the qnnpack engine, each module quantized (weights per-channel or not) or
     left in float accordingly.
Exit status 0 when everything holds; otherwise an assertion names the difference.
"""
import importlib.util
import json
import subprocess
import sys

import torch
from torch.ao.quantization import (
    MinMaxObserver,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
    QConfigMapping,
    default_dynamic_quant_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
)
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

TORCH_2 = int(torch.__version__.split(".")[0]) >= 2

# The observers of spec section 0, by qreport's words.
ACTIVATIONS = {
    "static": (default_observer, MinMaxObserver, {"quant_min": 0, "quant_max": 127}),
    "dynamic": (default_dynamic_quant_observer, PlaceholderObserver,
                dict(default_dynamic_quant_observer.p.keywords)),
}
WEIGHTS = {
    "per_tensor": (default_weight_observer, MinMaxObserver,
                   {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric}),
    "per_channel": (default_per_channel_weight_observer, PerChannelMinMaxObserver,
                    {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric}),
}


class TinyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc1 = torch.nn.Linear(64, 8)
        self.fc2 = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(self.fc1(torch.flatten(self.conv(x), 1)))


def check_observer(what, actual, expected, same_object):
    expected_object, expected_class, expected_keywords = expected
    if same_object:
        assert actual is expected_object, f"{what}: {actual} is not {expected_object}"
    assert actual.p.func is expected_class, f"{what}: class {actual.p.func}"
    assert dict(actual.p.keywords) == expected_keywords, f"{what}: {actual.p.keywords}"


def check_qconfig(what, actual, expected, same_object=True):
    """same_object=False for the copies prepare_fx attaches to modules."""
    if expected is None:
        assert actual is None, f"{what}: expected None, got {actual}"
        return
    assert actual is not None, f"{what}: expected {expected}, got None"
    check_observer(f"{what}.activation", actual.activation, ACTIVATIONS[expected["activation"]],
                   same_object)
    check_observer(f"{what}.weight", actual.weight, WEIGHTS[expected["weight"]], same_object)


def check_prepared(prepared, modules):
    """The qconfig prepare_fx resolved for each module is the one qreport resolved."""
    for name, expected in modules.items():
        qconfig = getattr(prepared.get_submodule(name), "qconfig", None)
        check_qconfig(f"prepared {name}.qconfig", qconfig, expected, same_object=False)


def class_name_matches(cls, spelling):
    return cls.__name__ == spelling.rpartition(".")[2]


def check_mapping(mapping, expected):
    assert isinstance(mapping, QConfigMapping), type(mapping)
    has_entries = any(expected.get(key) for key in ("object_type", "module_name_regex",
                                                    "module_name"))
    if "global" in expected:
        check_qconfig("global", mapping.global_qconfig, expected["global"])
    elif not has_entries:  # qreport's empty mapping means default_qconfig everywhere
        check_qconfig("global", mapping.global_qconfig,
                      {"activation": "static", "weight": "per_tensor"})
    else:
        assert mapping.global_qconfig is None, mapping.global_qconfig

    object_types = list(mapping.object_type_qconfigs.items())
    assert len(object_types) == len(expected["object_type"]), object_types
    for (cls, qconfig), entry in zip(object_types, expected["object_type"]):
        assert class_name_matches(cls, entry["type"]), (cls, entry["type"])
        check_qconfig(f"object_type {entry['type']}", qconfig, entry["qconfig"])

    for kind, key in (("module_name_regex", "regex"), ("module_name", "name")):
        actual = list(getattr(mapping, f"{kind}_qconfigs").items())
        assert [name for name, _ in actual] == [e[key] for e in expected[kind]], actual
        for (name, qconfig), entry in zip(actual, expected[kind]):
            check_qconfig(f"{kind} {name!r}", qconfig, entry["qconfig"])


def check_converted(converted, modules):
    nnq = torch.ao.nn.quantized
    for name, expected in modules.items():
        module = converted.get_submodule(name)
        is_conv = name == "conv"
        # prepare_fx accepts a dynamic qconfig on a conv and leaves the conv in float (B14).
        if expected is None or (is_conv and expected["activation"] == "dynamic"):
            float_type = torch.nn.Conv2d if is_conv else torch.nn.Linear
            assert type(module) is float_type, f"{name}: expected float, got {type(module)}"
            continue
        if is_conv:
            expected_types = (nnq.Conv2d,)
        elif expected["activation"] == "dynamic":
            # 1.13 converts a dynamic Linear whose output feeds a static layer into a static
            # Linear behind quantize_per_tensor_dynamic: dynamic input, quantized output.
            expected_types = (nnq.dynamic.Linear, nnq.Linear)
        elif name == "fc2" and (modules["fc1"] or {}).get("activation") == "dynamic" and TORCH_2:
            # From 2.0 on prepare_fx puts no observer between a dynamic Linear and a static one
            # (it takes the dynamic output's quint8 for the static input's), so convert_fx cannot
            # lower fc2 and leaves it a reference quantized Linear: weights quantized, float math.
            expected_types = (nnq.Linear, torch.ao.nn.quantized.reference.Linear)
        else:
            expected_types = (nnq.Linear,)
        assert type(module) in expected_types, f"{name}: {type(module)} not in {expected_types}"
        if isinstance(module, torch.ao.nn.quantized.reference.Linear):
            qscheme = module.weight_qscheme
        else:
            qscheme = module.weight().qscheme()
        per_channel = qscheme in (torch.per_channel_symmetric, torch.per_channel_affine)
        assert per_channel == (expected["weight"] == "per_channel"), f"{name}: {qscheme}"


def main(generated_path, expected_path):
    with open(expected_path) as f:
        expected = json.load(f)
    spec = importlib.util.spec_from_file_location("qreport_generated_qconfig", generated_path)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    check_mapping(generated.qconfig_mapping, expected["mapping"])

    run = subprocess.run([sys.executable, generated_path], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("global: "), run.stdout

    torch.backends.quantized.engine = "qnnpack"
    torch.manual_seed(0)
    example = (torch.randn(2, 3, 6, 6),)
    prepared = prepare_fx(TinyModel().eval(), generated.qconfig_mapping, example)
    check_prepared(prepared, expected["modules"])
    prepared(*example)
    converted = convert_fx(prepared)
    converted(*example)
    check_converted(converted, expected["modules"])
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
