"""The Python package finds the layers the CLI finds on torchvision's attention models, whose
projections are used outside their modules' forward: nn.MultiheadAttention's in_proj and
out_proj in vit_b_16 (50 layers; forward hooks alone see 26), F.linear on qkv.weight and
proj.weight in swin_t (53; hooks see 29). Runs where torchvision is installed: under Debian's
Python (python3-torchvision) with the CLI built on Debian's LibTorch."""

import json
import subprocess

import pytest
import torch

import qreport

torchvision = pytest.importorskip("torchvision")


@pytest.mark.parametrize("name,expected", [("vit_b_16", 50), ("swin_t", 53)])
def test_same_layers_as_the_cli(cli, tmp_path, name, expected):
    model = getattr(torchvision.models, name)().eval()
    archive = tmp_path / f"{name}.pt"
    torch.jit.script(model).save(str(archive))
    listed = json.loads(subprocess.run([cli, "inspect", "--json", str(archive)], check=True,
                                       capture_output=True, text=True).stdout)
    theirs = [(layer["fqn"], layer["weight"]) for layer in listed["layers"]]
    report = qreport.analyze(model, [torch.randn(1, 3, 224, 224)], detectors=["per_channel"],
                             progress=False)
    ours = [(fact.fqn, fact.weight_path) for fact in report.layers]
    assert len(ours) == expected
    assert ours == theirs
