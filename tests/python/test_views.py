"""What a user looks at: the visualizer's tables and plots, report.json opened by
`qreport view`, and the GIL left free while the observers work."""

import subprocess
import threading
import time

import pytest
import torch

import qreport
from qreport import _core
from models import ConvBnRelu, batches


@pytest.fixture(scope="module")
def report():
    return qreport.analyze(ConvBnRelu().eval(), batches((2, 3, 8, 8)), progress=False)


def test_tables_hold_every_module_and_feature(report):
    v = report.visualizer()
    tables = v.generate_filtered_tables()
    tensor_headers, tensor_rows = tables["tensor_level_info"]
    channel_headers, channel_rows = tables["channel_level_info"]
    assert tensor_headers[:2] == ["idx", "layer_fqn"] and channel_headers[:3] == [
        "idx", "layer_fqn", "channel"]
    assert {row[1] for row in tensor_rows} | {row[1] for row in channel_rows} == \
        v.get_all_unique_module_fqns() == set(report.modules)
    only = v.generate_filtered_tables("input_activation_per_channel_max")
    assert only["tensor_level_info"][0] == []
    assert only["channel_level_info"][0][3:] == ["input_activation_per_channel_max"]
    assert v.generate_filtered_tables(module_fqn_filter="not there")["tensor_level_info"][1] == []
    assert "conv2" in v.render_tables(module_fqn_filter="conv2")


def test_plots_are_svg_without_matplotlib(report):
    v = report.visualizer()
    plot = v.plot_across_channels("outlier_detection_percentile_ratios", "conv2")
    assert plot.svg.lstrip().startswith("<svg") or plot.svg.lstrip().startswith("<?xml")
    assert "</svg>" in v.histogram("input_activation_per_channel_max", bins=5).svg
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        drawn = v.generate_plot_visualization("outlier_detection_percentile_ratios", "conv2")
        assert "</svg>" in drawn.svg
    with pytest.raises(qreport.InvalidArgumentError):
        v.plot_across_channels("no_such_feature")


def test_qreport_view_opens_the_saved_report(cli, report, tmp_path):
    report.save(str(tmp_path / "r"))
    shown = subprocess.run([cli, "view", str(tmp_path / "r" / "report.json"), "--module",
                            "conv2"], capture_output=True, text=True, check=True).stdout
    assert "conv2" in shown
    subprocess.run([cli, "view", str(tmp_path / "r" / "report.json"), "--out",
                    str(tmp_path / "page.html")], check=True, stdout=subprocess.DEVNULL)
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")


def test_the_gil_is_released_while_observers_work():
    description = _core.ModelDescription()
    description.leaf_modules = [_core.LeafModule("m", "torch.nn.modules.linear.Identity", 1)]
    analysis = _core.Analysis(description, ["outlier"])
    bank = _core.Bank(analysis, "f", "gil")
    big = torch.randn(64, 512, 64, 64)  # percentiles over 512 channels: tens of ms
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.02)
    start = time.perf_counter()
    bank.observe(list(range(bank.size)), big)
    end = time.perf_counter()
    stop.set()
    thread.join()
    during = [t for t in ticks if start < t < end]
    assert end - start > 0.02  # long enough to tell
    assert len(during) > 100  # the other thread ran Python meanwhile
