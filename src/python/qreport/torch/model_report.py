"""ModelReport with the reference's methods, on any eager model."""

from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, Optional, Set, Tuple

import torch

from .. import _core
from .._api import make_report
from .._distributed import resolve as resolve_distribution
from .._session import DetectorSettings, Session
from ..report import Report
from ..visualizer import Visualizer
from . import reference_dicts
from .detectors import (DetectorBase, DynamicStaticDetector, InputWeightEqualizationDetector,
                        OutlierDetector, PerChannelDetector)


class ModelReport:
    """``ModelReport(model, {detectors})``. ``prepare_detailed_calibration()`` returns the model
    itself with forward hooks in place (the model's own code is not changed); the layers are
    found on its first forward call, which is observed too. ``generate_model_report(True)``
    removes every hook."""

    def __init__(self, model: torch.nn.Module, desired_report_detectors: Iterable[DetectorBase],
                 *, distributed: Any = None, write_rank: int = 0,
                 timeout: Optional[datetime.timedelta] = None):
        """Beyond the reference: under torch.distributed each rank calibrates on its own
        batches and generate_model_report() merges every rank's statistics (see
        ``qreport.analyze`` for `distributed`, `write_rank` and `timeout`)."""
        detectors = list(desired_report_detectors)
        if not detectors:
            raise ValueError("Should include at least 1 desired report")
        names = [d.get_detector_name() for d in detectors]
        if len(set(names)) != len(names):
            raise ValueError(f"a detector is given twice: {names}")
        self._model = model
        self._distribution = resolve_distribution(distributed, write_rank, timeout)
        self._desired_report_detectors = detectors
        self._desired_detector_names = set(names)
        self._session: Optional[Session] = None
        self._first_call = None
        self._prepared_flag = False
        self._removed_observers = False
        self._report: Optional[Report] = None

    def get_desired_reports_names(self) -> Set[str]:
        return set(self._desired_detector_names)

    # --- settings -----------------------------------------------------------------------
    def _settings(self) -> DetectorSettings:
        options: Dict[str, Any] = {}
        backend = None
        order = ["per_channel_detector", "dynamic_vs_static_detector",
                 "input_weight_equalization_detector", "outlier_detector"]
        detectors = sorted(self._desired_report_detectors,
                           key=lambda d: order.index(d.get_detector_name()))
        for detector in detectors:
            if isinstance(detector, PerChannelDetector):
                backend = detector.backend_chosen
            else:
                options.update(detector.settings())
        options = {k: v for k, v in options.items() if v is not None}
        return DetectorSettings(detectors=tuple(d.get_detector_name() for d in detectors),
                                backend=backend, **options)

    # --- the reference's flow -------------------------------------------------------------
    def prepare_detailed_calibration(self) -> torch.nn.Module:
        if self._prepared_flag:
            raise ValueError("Already ran preparing detailed callibration. Run the report "
                             "generation next after callibration.")
        settings = self._settings()

        def first_call(module, args, kwargs=None):
            self._first_call.remove()
            self._first_call = None
            with torch.no_grad():
                self._session = Session(self._model, (tuple(args), dict(kwargs or {})),
                                        settings, distribution=self._distribution)
            self._session.taps.__enter__()
            self._session.taps._start_forward(module, args)

        try:
            self._first_call = self._model.register_forward_pre_hook(first_call,
                                                                     with_kwargs=True)
        except TypeError:  # torch < 2.0
            self._first_call = self._model.register_forward_pre_hook(
                lambda m, args: first_call(m, args))
        self._prepared_flag = True
        return self._model

    def generate_model_report(self, remove_inserted_observers: bool
                              ) -> Dict[str, Tuple[str, Dict]]:
        if not self._prepared_flag:
            raise Exception("Cannot generate report without preparing model for callibration")
        if self._removed_observers:
            raise Exception("Cannot generate report on model you already removed observers from")
        if self._session is None:
            if self._distribution is not None:
                # Take part in the merge, so the other ranks are not left waiting.
                from .._distributed import combine
                combine(self._distribution, None, None)
                raise _core.BadDataError(
                    f"rank {self._distribution.rank}: the prepared model never ran here, so this "
                    "rank cannot report (the other ranks' merged report does not need it); "
                    "run it on one batch, or use qreport.analyze(..., example=batch)")
            raise _core.BadDataError("no calibration batches have run, so there is nothing to "
                                     "report on")
        self._report = make_report(self._session)
        if remove_inserted_observers:
            self._removed_observers = True
            self._remove()
        return self._reference_reports()

    def _remove(self) -> None:
        if self._first_call is not None:
            self._first_call.remove()
            self._first_call = None
        if self._session is not None:
            self._session.taps.close()

    def _reference_reports(self) -> Dict[str, Tuple[str, Dict]]:
        document = self._report.to_dict()
        out: Dict[str, Tuple[str, Dict]] = {}
        for detector in self._desired_report_detectors:
            name = detector.get_detector_name()
            info = {fqn: reference_dicts.module_dict(name, values)
                    for fqn, values in document.get(name, {}).items()}
            out[name] = (self._text(detector, info), info)
        return out

    @staticmethod
    def _text(detector: DetectorBase, info: Dict[str, Dict]) -> str:
        if isinstance(detector, PerChannelDetector):
            return reference_dicts.per_channel_text(detector.backend_chosen, info)
        if isinstance(detector, DynamicStaticDetector):
            return reference_dicts.dynamic_static_text(info)
        if isinstance(detector, InputWeightEqualizationDetector):
            return reference_dicts.equalization_text(detector.ch_axis, info)
        assert isinstance(detector, OutlierDetector)
        return reference_dicts.outlier_text(detector.ch_axis, info)

    # --- after the report -----------------------------------------------------------------
    def _require_report(self, what: str) -> Report:
        if self._report is None:
            raise Exception(f"Unable to generate {what} without first generating the model "
                            "report (generate_model_report)")
        return self._report

    def generate_visualizer(self) -> Visualizer:
        return self._require_report("the visualizer").visualizer()

    def generate_qconfig_mapping(self):
        return self._require_report("a qconfig mapping").qconfig_mapping()

    def generate_equalization_mapping(self):
        """A QConfigMapping with default_equalization_qconfig for each module where
        equalization is recommended (the reference gives it to every reported module, B4)."""
        report = self._require_report("an equalization mapping")
        from torch.ao.quantization import QConfigMapping
        from torch.ao.quantization.fx._equalize import default_equalization_qconfig

        mapping = QConfigMapping()
        for entry in report.equalization_mapping_json()["modules"]:
            mapping.set_module_name(entry["name"], default_equalization_qconfig)
        return mapping

    @property
    def report(self) -> Report:
        """qreport's own report object (text, report.json, save, torchao config)."""
        return self._require_report("the report")
