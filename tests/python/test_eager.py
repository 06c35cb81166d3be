"""The eager front-end: layers and fusion found on the module tree and the data flow, the
user's model left exactly as it was, functional layers, and the errors a user meets."""

import json
import os
import stat

import pytest
import torch
import torch.nn as nn

import qreport
from models import (ConvBnRelu, DataDependent, Mlp, NoLayers, Residual, SharedBatchNorm, Twice,
                    batches, encoder_layer)


def layers_of(report):
    return list(report.to_dict()["per_channel_detector"])


def hooks_of(model):
    return [(name, dict(m._forward_hooks), dict(m._forward_pre_hooks))
            for name, m in model.named_modules()]


def test_conv_bn_relu_fuses_and_the_post_point_is_after_the_relu():
    model = ConvBnRelu().eval()
    data = batches((2, 3, 8, 8))
    report = qreport.analyze(model, data, detectors=["dynamic_static"], progress=False)
    finding = report.modules["conv"].dynamic_static
    # The post observer saw relu(bn(conv(x))): its batch-to-epoch ratio, computed by hand.
    with torch.no_grad():
        outs = [torch.relu(model.bn(model.conv(b))) for b in data]
    ranges = [float(o.max() - o.min()) for o in outs]
    epoch = float(max(o.max() for o in outs) - min(o.min() for o in outs))
    assert finding.output_ratio == pytest.approx(sum(ranges) / len(ranges) / epoch, rel=1e-6)
    assert "bn" not in report.modules  # a folded BatchNorm is not a layer of its own


def test_a_folded_batchnorm_is_listed_not_observed():
    model = ConvBnRelu().eval()
    report = qreport.analyze(model, batches((2, 3, 8, 8)), detectors=["outlier"], progress=False)
    assert "bn" not in report.to_dict()["outlier_detector"]  # its input is gone once folded
    assert "relu" in report.to_dict()["outlier_detector"]
    assert report.not_observed == {"outlier_detector": {"bn": "folded into conv"}}
    assert "bn (BatchNorm2d, folded into conv)" in report.text()
    unfused = qreport.analyze(model, batches((2, 3, 8, 8)), detectors=["outlier"],
                              fusion=False, progress=False)
    assert "bn" in unfused.to_dict()["outlier_detector"]
    assert unfused.not_observed == {}


def test_a_batchnorm_is_observed_where_it_is_not_folded():
    model = SharedBatchNorm().eval()
    data = batches((2, 4, 6, 6), count=3)
    report = qreport.analyze(model, data, detectors=["outlier"], progress=False)
    values = report.modules["bn"].outlier.values
    assert values["outlier_detection_total_batches"] == 3  # one observed call per batch
    per_channel_max = torch.cat(data).transpose(0, 1).flatten(1).max(1).values
    assert values["input_activation_per_channel_max"] == per_channel_max.tolist()
    assert report.not_observed == {}


def test_the_folded_weight_is_analysed():
    model = ConvBnRelu().eval()
    report = qreport.analyze(model, batches((2, 3, 8, 8)), detectors=["input_weight_equalization"],
                             progress=False)
    values = report.modules["conv"].equalization.values
    bn = model.bn
    scale = bn.weight.detach() * torch.rsqrt(bn.running_var + bn.eps)
    folded = model.conv.weight.detach() * scale.reshape(-1, 1, 1, 1)
    per_in = folded.transpose(0, 1).flatten(1)
    assert values["weight_per_channel_max"] == pytest.approx(per_in.max(1).values.tolist(),
                                                             rel=1e-6)


def test_an_in_place_add_between_batchnorm_and_relu_stops_the_fusion():
    model = Residual().eval()
    data = batches((2, 4, 6, 6))
    report = qreport.analyze(model, data, detectors=["dynamic_static"], progress=False)
    with torch.no_grad():
        outs = [model.bn(model.conv(b)) for b in data]  # folded BN, no ReLU, no residual
    ranges = [float(o.max() - o.min()) for o in outs]
    epoch = float(max(o.max() for o in outs) - min(o.min() for o in outs))
    assert report.modules["conv"].dynamic_static.output_ratio == pytest.approx(
        sum(ranges) / len(ranges) / epoch, rel=1e-6)


def test_the_model_is_left_as_it_was():
    model = ConvBnRelu().train()
    x = torch.randn(2, 3, 8, 8)
    before_hooks = hooks_of(model)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        before_out = model(x)
    model.train()
    qreport.analyze(model, batches((2, 3, 8, 8)), progress=False)
    assert hooks_of(model) == before_hooks
    assert model.training and all(m.training for m in model.modules())
    after_state = model.state_dict()
    assert before_state.keys() == after_state.keys()
    for key, value in before_state.items():
        assert torch.equal(value, after_state[key]), key
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), before_out)


def test_a_module_called_twice_feeds_one_observer():
    model = Twice().eval()
    data = batches((4, 10), count=3)
    report = qreport.analyze(model, data, detectors=["outlier"], progress=False)
    assert report.modules["fc"].outlier.values["outlier_detection_total_batches"] == 6


def test_a_model_fx_cannot_trace_is_analysed():
    model = DataDependent().eval()
    with pytest.raises(Exception):
        torch.fx.symbolic_trace(model)
    report = qreport.analyze(model, [torch.ones(2, 8), -torch.ones(2, 8)] * 2, progress=False)
    assert layers_of(report) == ["a", "b"]


def test_multi_head_attention_projections_are_found():
    model = encoder_layer()
    report = qreport.analyze(model, batches((2, 5, 16), count=3), progress=False)
    assert layers_of(report) == ["self_attn", "self_attn.out_proj", "linear1", "linear2"]
    assert report.summary.functional_layers == ["self_attn.in_proj_weight",
                                                "self_attn.out_proj.weight"]


def test_labels_of_a_labelled_loader_are_dropped_and_dicts_are_keyword_arguments():
    model = Mlp().eval()
    pairs = [(torch.randn(3, 12), torch.tensor([0, 1, 2])) for _ in range(3)]
    assert qreport.analyze(model, pairs, progress=False).batches == 3
    dicts = [{"x": torch.randn(3, 12)} for _ in range(2)]
    assert qreport.analyze(model, dicts, progress=False).batches == 2


def test_observe_in_the_users_own_loop():
    model = Mlp().eval()
    data = batches((3, 12), count=4)
    with qreport.observe(model, data[0]) as obs:
        with torch.no_grad():
            for b in data:
                model(b)
    assert hooks_of(model) == hooks_of(Mlp())
    assert obs.report().to_json() == qreport.analyze(model, data, progress=False).to_json()


def test_an_unknown_detector_is_named():
    with pytest.raises(qreport.InvalidArgumentError, match="no_such_detector"):
        qreport.analyze(Mlp(), batches((3, 12)), detectors=["no_such_detector"], progress=False)


def test_a_rejected_batch_names_its_index():
    data = batches((3, 12), count=2) + [torch.randn(3, 7)]
    with pytest.raises(qreport.BadDataError, match="batch 2"):
        qreport.analyze(Mlp(), data, progress=False)


def test_no_data_is_an_error():
    with pytest.raises(qreport.BadDataError, match="no batch"):
        qreport.analyze(Mlp(), [], progress=False)


def test_nan_activations_are_counted_not_folded_in():
    data = batches((3, 12), count=3)
    data[1][0, 0] = float("nan")
    report = qreport.analyze(Mlp(), data, detectors=["dynamic_static"], progress=False)
    # One NaN in the input; it spreads over the whole row of fc1's 16 outputs.
    assert "left out NaN/Inf values: 1 in the input, 16 in the output" in report.text()
    assert report.modules["fc1"].dynamic_static.output_ratio is not None


def test_a_model_without_layers_reports_so():
    report = qreport.analyze(NoLayers(), batches((2, 3)), detectors=["per_channel"],
                             progress=False)
    assert "no modules to analyse" in report.text()


def test_save_writes_the_clis_files_and_a_qconfig_mapping(tmp_path):
    model = ConvBnRelu().eval()
    report = qreport.analyze(model, batches((2, 3, 8, 8)), progress=False)
    written = report.save(str(tmp_path / "out"))
    names = {os.path.basename(p) for p in written}
    assert {"report.json", "report.html", "qconfig_mapping.json", "qconfig_mapping.py",
            "equalization_mapping.json", "tensor_table.csv", "channel_table.csv"} <= names
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["batches"] == 6
    assert saved["threads"] == torch.get_num_threads() == report.summary.threads
    assert not [p for p in os.listdir(tmp_path / "out") if p.endswith(".tmp")]
    mapping = report.qconfig_mapping()
    from torch.ao.quantization import QConfigMapping

    assert isinstance(mapping, QConfigMapping)


def test_save_into_an_unwritable_place_writes_nothing(tmp_path):
    report = qreport.analyze(Mlp(), batches((3, 12)), progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(qreport.QreportIOError, match="output directory"):
        report.save(str(blocker))
    assert blocker.read_text() == "x"


def test_save_keeps_links_and_devices_as_the_cli_does(tmp_path):
    report = qreport.analyze(Mlp(), batches((3, 12)), progress=False)
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "kept.json").write_text("old")
    os.symlink(tmp_path / "kept.json", out / "report.json")
    report.save(str(out))
    assert os.path.islink(out / "report.json")
    assert json.loads((tmp_path / "kept.json").read_text())["batches"] == 6
    assert sorted(os.listdir(out)) == sorted(report.documents())  # no temporary files left
    # A state written to /dev/null is discarded; /dev/null stays a device.
    model = Mlp()
    with qreport.observe(model, torch.randn(3, 12)) as obs:
        with torch.no_grad():
            model(torch.randn(3, 12))
        obs.save_state("/dev/null")
        with pytest.raises(qreport.QreportIOError, match="is a directory"):
            obs.save_state(str(out))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_the_observers_use_torchs_thread_count_and_leave_it_alone():
    from qreport import _core

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        report = qreport.analyze(Mlp(), batches((3, 12)), progress=False)
        assert report.summary.threads == 1 and _core.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


class _AttentionThenRelu(nn.Module):
    """A functional layer (the mode is on) followed by a functional in-place ReLU, and a
    module Linear followed by F.relu: the post points are after the ReLUs."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        a = self.attn(x, x, x, need_weights=False)[0]
        return torch.nn.functional.relu(self.fc(a), inplace=True)


def test_a_functional_relu_after_a_layer_fuses_under_the_mode():
    model = _AttentionThenRelu().eval()
    data = batches((2, 4, 8), count=3)
    report = qreport.analyze(model, data, detectors=["dynamic_static"], progress=False)
    with torch.no_grad():
        outs = [model(b) for b in data]
    ranges = [float(o.max() - o.min()) for o in outs]
    epoch = float(max(o.max() for o in outs) - min(o.min() for o in outs))
    assert report.modules["fc"].dynamic_static.output_ratio == pytest.approx(
        sum(ranges) / len(ranges) / epoch, rel=1e-5)


class _WithSpare(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 4)
        self.spare = nn.Linear(4, 4)  # never called

    def forward(self, x):
        return self.used(x)


def test_what_forward_never_calls_is_listed_not_guessed():
    report = qreport.analyze(_WithSpare(), batches((2, 4), count=2), progress=False)
    assert list(report.modules) == ["used"]
    assert report.summary.unseen_layers == ["spare"]
    assert "spare.weight (Linear)\n    forward did not call it on the first batch" in report.text()
    assert report.to_dict()["not_analysed"] == {"spare.weight": {
        "module_type": "torch.nn.modules.linear.Linear", "module": "spare",
        "reason": "forward did not call it on the first batch"}}


def test_a_sequential_output_read_once_for_two_points_gives_the_same_report():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 1), nn.Flatten(),
                          nn.Linear(8 * 6 * 6, 16), nn.Linear(16, 4)).eval()
    data = batches((2, 3, 8, 8))
    shared = qreport.analyze(model, data, progress=False)
    # A hook of the user's after each module means its output may change before the next
    # module sees it, so every point reads its own tensor.
    handles = [m.register_forward_hook(lambda *_: None) for m in model]
    try:
        separate = qreport.analyze(model, data, progress=False)
    finally:
        for handle in handles:
            handle.remove()
    assert shared.to_dict() == separate.to_dict()
    assert shared.summary.derived_updates > separate.summary.derived_updates
