"""Tables and plots of a report, as the reference's ModelReportVisualizer offers them, drawn by
the C++ core (SVG) or by matplotlib when it is installed."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Set, Tuple

from . import _core

TENSOR_KEY = "tensor_level_info"
CHANNEL_KEY = "channel_level_info"


class SvgPlot:
    """A plot as a standalone SVG document; notebooks display it."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        _core.write_files_atomically([(path, self.svg)])


class Visualizer:
    """Built from a report.json document (``report.visualizer()``, or ``Visualizer.load``).
    Features are report.json's keys; a feature is per channel when it holds a list."""

    def __init__(self, report_json: str, source: str = "report.json") -> None:
        self._core = _core.Visualizer(report_json, source)

    @classmethod
    def load(cls, path: str) -> "Visualizer":
        try:
            with open(path, encoding="utf-8") as f:
                return cls(f.read(), path)
        except OSError as e:
            raise _core.QreportIOError(f"{path}: cannot read: {e.strerror}") from e

    # --- the reference's names ----------------------------------------------------------
    def get_all_unique_module_fqns(self) -> Set[str]:
        return set(self._core.module_fqns())

    def get_all_unique_feature_names(self, plottable_features_only: bool = True) -> Set[str]:
        return set(self._core.feature_names(plottable_features_only))

    def generate_filtered_tables(self, feature_filter: str = "",
                                 module_fqn_filter: str = "") -> Dict[str, Tuple[List, List]]:
        """{"tensor_level_info": (headers, rows), "channel_level_info": (headers, rows)};
        rows start with their index and module (and channel), as the reference's do."""
        t = self._core.filtered_tables(feature_filter, module_fqn_filter)
        tensor_headers = ["idx", "layer_fqn"] + list(t["tensor_features"]) \
            if t["tensor_features"] else []
        channel_headers = ["idx", "layer_fqn", "channel"] + list(t["channel_features"]) \
            if t["channel_features"] else []
        tensor_rows = [[i] + row for i, row in enumerate(t["tensor_rows"])]
        channel_rows = [[i] + row for i, row in enumerate(t["channel_rows"])]
        return {TENSOR_KEY: (tensor_headers, tensor_rows),
                CHANNEL_KEY: (channel_headers, channel_rows)}

    def generate_table_visualization(self, feature_filter: str = "",
                                     module_fqn_filter: str = "") -> None:
        print(self.render_tables(feature_filter, module_fqn_filter))

    def generate_plot_visualization(self, feature_filter: str, module_fqn_filter: str = ""):
        """One feature across modules (per-tensor) or across channels (per-channel): a
        matplotlib figure when matplotlib is installed, else an SvgPlot."""
        tables = self.generate_filtered_tables(feature_filter, module_fqn_filter)
        per_channel = bool(tables[CHANNEL_KEY][0]) and not tables[TENSOR_KEY][0]
        if per_channel:
            svg = self._core.plot_across_channels(feature_filter, module_fqn_filter)
        else:
            svg = self._core.plot_across_modules(feature_filter, module_fqn_filter)
        return self._matplotlib_lines(tables, per_channel) or SvgPlot(svg)

    def generate_histogram_visualization(self, feature_filter: str, module_fqn_filter: str = "",
                                         num_bins: int = 10):
        svg = self._core.histogram(feature_filter, module_fqn_filter, num_bins)
        values = self._values(self.generate_filtered_tables(feature_filter, module_fqn_filter))
        figure = self._matplotlib_histogram(values, num_bins, feature_filter)
        return figure or SvgPlot(svg)

    # --- qreport's own ------------------------------------------------------------------
    def render_tables(self, feature_filter: str = "", module_fqn_filter: str = "",
                      max_width: int = 0) -> str:
        return self._core.render_tables(feature_filter, module_fqn_filter, max_width)

    def plot_across_channels(self, feature: str, module: str = "") -> SvgPlot:
        return SvgPlot(self._core.plot_across_channels(feature, module))

    def plot_across_modules(self, feature: str, module: str = "") -> SvgPlot:
        return SvgPlot(self._core.plot_across_modules(feature, module))

    def histogram(self, feature: str, module: str = "", bins: int = 10) -> SvgPlot:
        return SvgPlot(self._core.histogram(feature, module, bins))

    # --- matplotlib, when installed -----------------------------------------------------
    @staticmethod
    def _pyplot():
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        return plt

    @staticmethod
    def _values(tables) -> List[float]:
        out = []
        for key in (TENSOR_KEY, CHANNEL_KEY):
            headers, rows = tables[key]
            skip = 2 if key == TENSOR_KEY else 3
            for row in rows:
                out += [v for v in row[skip:] if isinstance(v, float) and math.isfinite(v)]
        return out

    def _matplotlib_lines(self, tables, per_channel: bool) -> Optional[Any]:
        plt = self._pyplot()
        if plt is None:
            return None
        figure, axes = plt.subplots()
        if per_channel:
            headers, rows = tables[CHANNEL_KEY]
            by_module: Dict[str, List[Tuple[int, float]]] = {}
            for row in rows:
                if isinstance(row[3], (int, float)):
                    by_module.setdefault(row[1], []).append((row[2], float(row[3])))
            for fqn, points in by_module.items():
                axes.plot([p[0] for p in points], [p[1] for p in points], label=fqn)
            axes.set_xlabel("channel")
            axes.set_ylabel(headers[3] if len(headers) > 3 else "")
        else:
            headers, rows = tables[TENSOR_KEY]
            points = [(row[1], float(row[2])) for row in rows
                      if len(row) > 2 and isinstance(row[2], (int, float))]
            axes.plot(range(len(points)), [p[1] for p in points], marker="o")
            axes.set_xticks(range(len(points)))
            axes.set_xticklabels([p[0] for p in points], rotation=90)
            axes.set_ylabel(headers[2] if len(headers) > 2 else "")
        return figure

    def _matplotlib_histogram(self, values: List[float], bins: int, title: str) -> Optional[Any]:
        plt = self._pyplot()
        if plt is None:
            return None
        figure, axes = plt.subplots()
        axes.hist(values, bins=bins)
        axes.set_title(title)
        return figure
