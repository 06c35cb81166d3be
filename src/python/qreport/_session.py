"""One analysis of an eager model: discovery, the core's Analysis and observer bank, and the
taps that feed it. ``qreport.analyze``, ``qreport.observe`` and the drop-in ``ModelReport``
are views of this."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import torch

from . import _core
from ._batches import Call
from ._distributed import Distribution, combine, signature
from ._eager.describe import describe
from ._eager.discovery import Discovery, discover
from ._eager.taps import Taps
from ._eager.weights import analysed_weight, fingerprint

BACKENDS = ("fbgemm", "qnnpack", "onednn", "x86")


@dataclass(frozen=True)
class DetectorSettings:
    """Which detectors run, with the reference's parameters and defaults."""

    detectors: Sequence[str] = ()  # empty: all four
    backend: Optional[str] = None  # None: torch's quantized engine
    dynamic_static_tolerance: float = 0.5
    equalization_threshold: float = 0.5
    equalization_axis: Optional[int] = None  # None: 1 for Conv, the last axis for Linear
    outlier_ratio_threshold: float = 3.5
    outlier_percentile: float = 0.975
    outlier_fraction_batches: float = 0.95
    outlier_axis: Optional[int] = None

    def resolved_backend(self) -> str:
        if self.backend is not None:
            if self.backend not in BACKENDS:
                raise _core.InvalidArgumentError(
                    f"unknown backend {self.backend!r}; expected one of {', '.join(BACKENDS)}")
            return self.backend
        engine = torch.backends.quantized.engine
        return engine if engine in BACKENDS else "x86"


def qconfig_json(qconfig: Union[None, str, dict]) -> Optional[str]:
    """The user's current configuration, as the CLI's --qconfig JSON: a path, a dict or None."""
    if qconfig is None:
        return None
    if isinstance(qconfig, dict):
        return json.dumps(qconfig)
    try:
        with open(qconfig, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise _core.QreportIOError(f"{qconfig}: cannot read the qconfig: {e.strerror}") from e


class Session:
    def __init__(self, model: torch.nn.Module, example: Call, settings: DetectorSettings,
                 qconfig: Union[None, str, dict] = None, fusion: bool = True,
                 name: Optional[str] = None,
                 distribution: Optional[Distribution] = None) -> None:
        if not isinstance(model, torch.nn.Module):
            raise _core.InvalidArgumentError(
                f"expected a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.name = name or type(model).__name__
        self.settings = settings
        self.fusion = fusion
        self.distribution = distribution
        args, kwargs = example
        try:
            self.discovery: Discovery = discover(model, args, kwargs, fusion)
        except _core.QreportError:
            raise
        except Exception as e:
            raise _core.BadDataError(
                f"{self.name}: the model's forward raised on the first batch "
                f"({type(e).__name__}: {e})") from e
        self.description = describe(model, self.discovery, self.name)
        self.analysis = _core.Analysis(
            self.description, list(settings.detectors), backend=settings.resolved_backend(),
            dynamic_static_tolerance=settings.dynamic_static_tolerance,
            equalization_threshold=settings.equalization_threshold,
            equalization_axis=settings.equalization_axis,
            outlier_ratio_threshold=settings.outlier_ratio_threshold,
            outlier_percentile=settings.outlier_percentile,
            outlier_fraction_batches=settings.outlier_fraction_batches,
            outlier_axis=settings.outlier_axis, current_qconfig_json=qconfig_json(qconfig))
        self.bank = _core.Bank(self.analysis, fingerprint(model, self.discovery), self.name)
        self.taps = Taps(model, self.discovery, self.bank)

    def reporting_bank(self) -> Tuple["_core.Bank", List[int]]:
        """The statistics to report on: this process's, or every rank's merged (a collective:
        every rank must call it), and the batches each rank observed."""
        if self.distribution is None:
            return self.bank, [self.bank.batches]
        merged, counts = combine(self.distribution, self.bank,
                                 signature(self.bank, self.settings, self.fusion))
        assert merged is not None  # this rank's own bank is in it
        return merged, counts

    def writes_files(self) -> bool:
        return self.distribution is None or self.distribution.rank == self.distribution.writer

    def core_report(self, bank: "_core.Bank") -> "_core.Report":
        if bank.batches == 0:
            where = " on any rank" if self.distribution is not None else ""
            raise _core.BadDataError(
                f"{self.name}: no calibration batches have run{where}, so there is nothing to "
                "report on")
        weights = []
        for layer in self.discovery.layers:
            fusion = layer.fusion()
            weights.append(analysed_weight(self.model, layer, fusion.batch_norm,
                                           fusion.batch_norm_eps))
        self.analysis.set_weights(weights)
        return self.analysis.run(bank, self.taps.threads)
