"""The README's Python example runs as written (in .venv-vision, which has torchvision and
torchao)."""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torchvision")
pytest.importorskip("torchao")

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                      "README.md")


def example() -> str:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    found = re.search(r"<!-- python-example:[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert found, "README.md has no python-example block"
    return found.group(1)


def test_the_readme_example_runs_as_written(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(example())
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "torch.Size([2, 1000])" in done.stdout
    written = set(os.listdir(tmp_path / "report"))
    assert {"report.json", "report.html", "qconfig_mapping.py", "torchao_config.py"} <= written
