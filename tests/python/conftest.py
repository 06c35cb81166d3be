"""Shared helpers for the Python package's tests. They import the installed package (make
test-python installs it into .venv and .venv-system first), never the source tree."""

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cli():
    """The `qreport` CLI built against this torch's LibTorch version (make test-python sets
    QREPORT_CLI); tests that compare with it are skipped when it is not given."""
    path = os.environ.get("QREPORT_CLI")
    if not path:
        pytest.skip("QREPORT_CLI is not set (make test-python sets it)")
    assert os.access(path, os.X_OK), f"QREPORT_CLI={path} is not an executable"
    return path


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
