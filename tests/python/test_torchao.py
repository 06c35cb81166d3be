"""report.torchao_config(): quantize_ accepts it, the quantized model runs, and its output
stays close to the float model's; the written program rebuilds the same config."""

import copy
import warnings

import pytest
import torch

import qreport
from models import Mlp, batches, encoder_layer

torchao = pytest.importorskip("torchao", reason="torchao is installed in .venv only "
                              "(0.18 needs torch >= 2.11; Debian's is older)")


def quantized(model, config):
    from torchao.quantization import quantize_

    q = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_(q, config, filter_fn=None)
    return q


def relative_error(model, q, x):
    with torch.no_grad():
        a, b = model(x), q(x)
    return float((a - b).norm() / a.norm())


@pytest.mark.parametrize("growth,dynamic", [(1.0, False), (2.5, True)])
def test_quantize_with_the_config_runs_and_stays_close(growth, dynamic):
    from torchao.quantization import (Int8DynamicActivationInt8WeightConfig,
                                      Int8StaticActivationInt8WeightConfig)

    model = Mlp().eval()
    data = batches((8, 12), count=6, scale_growth=growth)
    report = qreport.analyze(model, data, progress=False)
    config = report.torchao_config()
    wanted = Int8DynamicActivationInt8WeightConfig if dynamic else \
        Int8StaticActivationInt8WeightConfig
    decisions = {fqn: f.dynamic_static.dynamic_recommended for fqn, f in report.modules.items()
                 if f.dynamic_static is not None}
    table = config.fqn_to_config if hasattr(config, "fqn_to_config") else \
        config.module_fqn_to_config
    assert set(table) == {"fc1", "fc2"}
    for fqn, entry in table.items():
        assert isinstance(entry, Int8DynamicActivationInt8WeightConfig if decisions[fqn] else
                          Int8StaticActivationInt8WeightConfig), fqn
    assert any(isinstance(e, wanted) for e in table.values())
    q = quantized(model, config)
    assert "Int8" in type(q.fc1.weight).__name__  # quantize_ swapped in int8 weights
    assert relative_error(model, q, data[-1]) < 0.05


def test_attention_projections_are_left_out_with_a_reason():
    model = encoder_layer()
    data = batches((2, 5, 16), count=4)
    report = qreport.analyze(model, data, progress=False)
    source = report.torchao_config_source()
    assert "#   self_attn: its weight is used outside the module's forward" in source
    q = quantized(model, report.torchao_config())
    assert relative_error(model, q, data[0]) < 0.05


def test_the_written_program_rebuilds_the_config(tmp_path):
    model = Mlp().eval()
    data = batches((8, 12), count=4)
    report = qreport.analyze(model, data, progress=False)
    report.save(str(tmp_path))
    namespace = {}
    exec(compile((tmp_path / "torchao_config.py").read_text(), "torchao_config.py", "exec"),
         namespace)
    with torch.no_grad():
        a = quantized(model, namespace["torchao_config"])(data[0])
        b = quantized(model, report.torchao_config())(data[0])
    assert torch.equal(a, b)
