"""The result of an analysis: findings per module, the documents the CLI writes, and
configurations to apply."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import _core
from ._findings import ModuleFindings, modules_of


@dataclass(frozen=True)
class LayerFacts:
    """What configs for other toolkits need to know of a layer beyond the findings."""

    fqn: str
    weight_path: str
    module_type: str
    functional: bool  # its weight is used outside its module's forward
    input_ndim: Optional[int]
    input_range: Optional[Tuple[float, float]]  # finite min and max of its input


@dataclass(frozen=True)
class RunSummary:
    """How the statistics were gathered."""

    batches: int  # forward calls of the whole model observed
    host_copies: int  # activations copied to the CPU to be read (tensors on other devices)
    layers: int
    leaf_modules: int
    unseen_layers: List[str]  # Linear/Conv modules the forward never called
    functional_layers: List[str]  # weights used outside their module's forward
    threads: int  # torch's thread count, which the observers used too
    derived_updates: int  # observations derived from another (ObserveThrough), not read
    # Under torch.distributed: the batches each rank observed, in rank order; [batches]
    # for one process.
    rank_batches: List[int] = field(default_factory=list)


class Report:
    """What ``qreport.analyze`` returns (and ``Observer.report()``).

    ``text()`` is the CLI's report, ``to_json()`` its report.json (``qreport view`` opens it),
    ``save(dir)`` writes every file ``qreport analyze --out`` writes, and ``modules`` holds the
    findings as objects."""

    def __init__(self, core: "_core.Report", summary: RunSummary,
                 layers: Optional[List[LayerFacts]] = None, writes_files: bool = True) -> None:
        self._core = core
        self._writes_files = writes_files
        self.summary = summary
        self._json_text = core.report_json()
        self._modules: Optional[Mapping[str, ModuleFindings]] = None
        self.layers: List[LayerFacts] = list(layers or [])

    @property
    def modules(self) -> Mapping[str, ModuleFindings]:
        """The findings per module, as objects (made on first use: for a large model this
        reads every per-channel value)."""
        if self._modules is None:
            self._modules = modules_of(json.loads(self._json_text))
        return self._modules

    @property
    def not_observed(self) -> Dict[str, Dict[str, str]]:
        """Per detector, the modules of its kind it left out on purpose, with why
        (``{"outlier_detector": {"bn1": "folded into conv1"}}``: a BatchNorm folded into its
        layer has no input of its own once fused)."""
        section = json.loads(self._json_text).get("not_observed", {})
        return {detector: {fqn: entry["reason"] for fqn, entry in modules.items()}
                for detector, modules in section.items()}

    def recommended_layers(self) -> List[Tuple[str, str, str, Optional[str], Optional[str]]]:
        """Per layer: (fqn, the name the mapping uses, kind, activation "static"/"dynamic"
        or None when left in float, weight "per_tensor"/"per_channel" or None)."""
        return self._core.recommended_layers()

    # --- documents --------------------------------------------------------------------------
    def text(self) -> str:
        """The CLI's text report, then how the statistics were gathered: what was seen only
        through the function mode, what forward never called, and what had to be copied."""
        return self._core.text() + self._run_lines()

    def _run_lines(self) -> str:
        s = self.summary
        lines = [f"\nrun: {s.batches} batches, {s.layers} layers, {s.leaf_modules} leaf modules, "
                 f"{s.threads} threads; {s.derived_updates} observations derived without "
                 "reading the tensor"]
        if len(s.rank_batches) > 1:
            lines.append(f"merged from {len(s.rank_batches)} ranks (torch.distributed), batches "
                         "per rank: " + ", ".join(map(str, s.rank_batches)))
        if s.functional_layers:
            lines.append("weights used outside their module's forward (seen through the "
                         "function mode): " + ", ".join(s.functional_layers))
        if s.host_copies:
            lines.append(f"{s.host_copies} activations were copied to the CPU to be read")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.text()

    def to_json(self) -> str:
        """report.json, as the CLI writes it."""
        return self._json_text

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(self._json_text)

    @property
    def batches(self) -> int:
        return self._core.batches

    def html(self) -> str:
        """report.html: one self-contained page."""
        return self._core.html()

    def qconfig_mapping_json(self) -> Dict[str, Any]:
        return json.loads(self._core.qconfig_mapping_json())

    def qconfig_mapping_source(self) -> str:
        """A Python program that builds the recommended torch.ao QConfigMapping."""
        return self._core.qconfig_mapping_python()

    def equalization_mapping_json(self) -> Dict[str, Any]:
        return json.loads(self._core.equalization_mapping_json())

    # --- configurations ---------------------------------------------------------------------
    def qconfig_mapping(self):
        """The recommended ``torch.ao.quantization.QConfigMapping`` (for prepare_fx)."""
        try:
            import torch.ao.quantization  # noqa: F401
        except ImportError as e:
            raise _core.InvalidArgumentError(
                "this torch has no torch.ao.quantization; use report.torchao_config()") from e
        namespace: Dict[str, Any] = {"__name__": "qreport_qconfig_mapping"}
        exec(compile(self.qconfig_mapping_source(), "qconfig_mapping.py", "exec"), namespace)
        return namespace["qconfig_mapping"]

    def torchao_config(self):
        """A torchao config for ``torchao.quantization.quantize_`` (see qreport.torchao)."""
        from .torchao import torchao_config

        return torchao_config(self)

    def torchao_config_source(self) -> str:
        from .torchao import torchao_config_source

        return torchao_config_source(self)

    def visualizer(self):
        from .visualizer import Visualizer

        return Visualizer(self._json_text, "report")

    # --- files ----------------------------------------------------------------------------
    def documents(self) -> Dict[str, str]:
        """Every file ``save`` writes, by name."""
        tensor_csv, channel_csv = self._core.csv_tables()
        files = {
            "report.json": self._json_text,
            "report.html": self.html(),
            "qconfig_mapping.json": self._core.qconfig_mapping_json(),
            "qconfig_mapping.py": self.qconfig_mapping_source(),
            "equalization_mapping.json": self._core.equalization_mapping_json(),
            "tensor_table.csv": tensor_csv,
            "channel_table.csv": channel_csv,
        }
        try:
            files["torchao_config.py"] = self.torchao_config_source()
        except ImportError:
            pass  # torchao is optional; the other files do not need it
        return files

    def save(self, directory: str) -> List[str]:
        """Writes the CLI's files into `directory` (created if needed): all of them or, on an
        error, none. Returns the paths written. Under torch.distributed only the writing rank
        (``write_rank``, 0 by default) writes; the others return []."""
        if not self._writes_files:
            return []
        files = self.documents()
        write_all_or_nothing(directory, files)
        return [os.path.join(directory, name) for name in files]


def write_all_or_nothing(directory: str, files: Dict[str, str]) -> None:
    # The core's writer: the CLI's rules for devices, FIFOs and links, and all or none.
    _core.create_output_directory(directory)
    _core.write_files_atomically(
        [(os.path.join(directory, name), content) for name, content in files.items()])
