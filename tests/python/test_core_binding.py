"""qreport._core: tensors reach the observers without a copy, in every layout and dtype the
CLI reads; errors keep their kind."""

import json

import pytest
import torch

import qreport
from qreport import _core


def test_the_view_is_the_tensors_own_memory():
    x = torch.randn(4, 6, 5)
    address, sizes, strides, dtype = _core.view_of(x)
    assert address == x.data_ptr()
    assert sizes == [4, 6, 5] and strides == list(x.stride()) and dtype == "float32"


def test_a_strided_tensor_is_read_in_place():
    base = torch.randn(6, 8)
    x = base.t()[1:, ::2]  # transposed, sliced, stepped: not contiguous
    address, sizes, strides, _ = _core.view_of(x)
    assert not x.is_contiguous()
    assert address == x.data_ptr() and sizes == list(x.shape) and strides == list(x.stride())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_types_are_read_as_such(dtype):
    x = torch.randn(3, 4).to(dtype)
    address, _, _, name = _core.view_of(x)
    assert address == x.data_ptr()
    assert name == {torch.float16: "float16", torch.bfloat16: "bfloat16",
                    torch.float64: "float64"}[dtype]


def _outlier_report(batch_list):
    """The outlier detector's report.json entry for one leaf module fed `batch_list` through
    the bank directly (no model), so each tensor reaches the observer as given."""
    description = _core.ModelDescription()
    description.path = "direct"
    description.leaf_modules = [_core.LeafModule("m", "torch.nn.modules.linear.Identity", 1)]
    analysis = _core.Analysis(description, ["outlier"])
    bank = _core.Bank(analysis, "fingerprint", "direct")
    for batch in batch_list:
        bank.observe(list(range(bank.size)), batch)
        bank.add_batches(1)
    analysis.set_weights([])
    return json.loads(analysis.run(bank).report_json())["outlier_detector"]["m"]


def test_strided_inputs_give_the_statistics_of_their_values():
    gen = torch.Generator().manual_seed(1)
    data = [torch.randn(5, 7, generator=gen) for _ in range(3)]
    strided = []
    for d in data:
        s = torch.empty(7, 5).t()
        s.copy_(d)
        assert not s.is_contiguous()
        strided.append(s)
    assert _outlier_report(strided) == _outlier_report(data)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_types_give_the_statistics_of_their_float32_values(dtype):
    gen = torch.Generator().manual_seed(2)
    data = [torch.randn(6, 9, generator=gen).to(dtype) for _ in range(3)]
    as_float = [d.float() for d in data]
    assert _outlier_report(data) == _outlier_report(as_float)
    # and the values matter: another batch set gives other statistics
    assert _outlier_report([d * 3 + 1 for d in as_float]) != _outlier_report(as_float)


def test_errors_keep_their_kind_and_are_value_errors():
    assert issubclass(qreport.InvalidArgumentError, qreport.QreportError)
    assert issubclass(qreport.InvalidArgumentError, ValueError)
    assert issubclass(qreport.QreportIOError, OSError)
    with pytest.raises(qreport.QreportIOError, match="nowhere"):
        _core.Bank.load("/nowhere/state.qstate")


def test_an_unsupported_dtype_is_a_clear_error():
    with pytest.raises(qreport.InvalidArgumentError, match="element type"):
        _core.view_of(torch.zeros(3, dtype=torch.complex64))
