"""qreport.analyze and qreport.observe."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

import torch

from . import _core
from ._batches import model_device, positional_capacity, to_call
from ._distributed import resolve as resolve_distribution
from ._progress import Progress
from ._session import DetectorSettings, Session
from ._eager.modules import class_name
from .report import LayerFacts, Report, RunSummary

Data = Iterable[Any]
_NO_BATCH = object()  # the end of the data (a batch may be anything, None included)


def _settings(detectors: Optional[Sequence[str]], backend: Optional[str],
              options: dict) -> DetectorSettings:
    if isinstance(detectors, str):
        detectors = [d.strip() for d in detectors.split(",") if d.strip()]
    unknown = set(options) - set(DetectorSettings.__dataclass_fields__) - {"detectors", "backend"}
    if unknown:
        raise _core.InvalidArgumentError(
            f"unknown detector option(s) {', '.join(sorted(unknown))}; expected "
            + ", ".join(k for k in DetectorSettings.__dataclass_fields__
                        if k not in ("detectors", "backend")))
    return DetectorSettings(detectors=tuple(detectors or ()), backend=backend, **options)


def _summary(session: Session, bank: "_core.Bank", rank_batches: List[int]) -> RunSummary:
    d = session.discovery
    return RunSummary(bank.batches, session.taps.host_copies, len(d.layers),
                      len(d.leaves), list(d.unseen),
                      [layer.weight_path for layer in d.layers if layer.functional],
                      session.taps.threads, session.bank.mapped_updates, rank_batches)


def _layer_facts(session: Session, bank: "_core.Bank"):
    facts = []
    for layer in session.discovery.layers:
        facts.append(LayerFacts(layer.fqn, layer.weight_path, class_name(type(layer.owner)),
                                layer.functional,
                                layer.input_ndim, bank.input_range(layer.fqn)))
    return facts


def make_report(session: Session) -> Report:
    bank, rank_batches = session.reporting_bank()
    core = session.core_report(bank)
    return Report(core, _summary(session, bank, rank_batches), _layer_facts(session, bank),
                  writes_files=session.writes_files())


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module):
    """Calibration runs in eval mode (BatchNorm and dropout as at inference, and running
    statistics left alone); every module's own training flag is restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, flag in flags:
            module.training = flag


class Observer:
    """Calibration in the user's own loop: ``with qreport.observe(model, example) as obs:``,
    run the model on calibration data, then ``obs.report()``. Hooks are removed when the
    block ends; the report can be made inside or after it."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __enter__(self) -> "Observer":
        self._session.taps.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._session.taps.close()

    @property
    def batches(self) -> int:
        return self._session.bank.batches

    def report(self) -> Report:
        return make_report(self._session)

    def save_state(self, path: str) -> None:
        """The statistics so far, as ``qreport calibrate --state`` writes them."""
        self._session.bank.save(path)


def observe(model: torch.nn.Module, example: Any, *, detectors: Optional[Sequence[str]] = None,
            backend: Optional[str] = None, qconfig: Union[None, str, dict] = None,
            fusion: bool = True, name: Optional[str] = None,
            input_fn: Optional[Callable[[Any], Any]] = None, distributed: Any = None,
            write_rank: int = 0, timeout: Optional[datetime.timedelta] = None,
            **options: Any) -> Observer:
    """Prepares to observe `model` in a loop you run yourself. `example` is one batch, as
    your loop will call the model with it (a tensor, a tuple of arguments or a dict of keyword
    arguments); it runs once, unobserved, to find the layers. Under torch.distributed, see
    ``analyze`` for `distributed`, `write_rank` and `timeout`."""
    settings = _settings(detectors, backend, options)
    distribution = resolve_distribution(distributed, write_rank, timeout)
    call = to_call(example, positional_capacity(model), None, input_fn)
    with torch.no_grad():
        session = Session(model, call, settings, qconfig, fusion, name, distribution)
    return Observer(session)


def analyze(model: torch.nn.Module, data: Data, *, detectors: Optional[Sequence[str]] = None,
            backend: Optional[str] = None, qconfig: Union[None, str, dict] = None,
            fusion: bool = True, max_batches: Optional[int] = None, progress: bool = True,
            name: Optional[str] = None, input_fn: Optional[Callable[[Any], Any]] = None,
            example: Any = None, distributed: Any = None, write_rank: int = 0,
            timeout: Optional[datetime.timedelta] = None, **options: Any) -> Report:
    """Calibrates `model` on `data` and says layer by layer how to quantize it.

    data: an iterable of batches as a DataLoader yields them. A tensor is the model's one
      argument, a dict its keyword arguments, a tuple or list its positional arguments (items
      beyond what forward takes, such as labels, are dropped). `input_fn` maps each batch
      first. Tensors are moved to the model's device.
    detectors: names among per_channel, dynamic_static, input_weight_equalization and
      outlier (full names such as "outlier_detector" too); all four by default.
    backend: the quantized backend the per-channel advice is for (default: torch's engine).
    qconfig: the configuration you quantize with today, as the CLI's --qconfig JSON (a path
      or a dict); default: PyTorch's default_qconfig.
    options: the detectors' parameters (dynamic_static_tolerance, equalization_threshold,
      equalization_axis, outlier_ratio_threshold, outlier_percentile,
      outlier_fraction_batches, outlier_axis), with the reference's defaults.

    example: one batch to find the layers with (run once, unobserved) when `data` may yield
      none, as one rank's shard can.
    distributed: when torch.distributed is initialised with more than one rank (None, the
      default), each rank calibrates on its own `data` and the report merges every rank's
      statistics exactly, as ``qreport merge`` does; every rank must call analyze and gets
      the merged report. False: this process alone. A ProcessGroup: its ranks.
    write_rank: the rank whose ``report.save()`` writes files (the others write none).
    timeout: how long ranks wait for each other before the merge (default 5 minutes); a
      rank that calibrated another model or with other options is an error on every rank.

    The model runs in eval mode without gradients and is left as it was: hooks removed,
    parameters, buffers and training flags untouched."""
    settings = _settings(detectors, backend, options)
    distribution = resolve_distribution(distributed, write_rank, timeout)
    capacity = positional_capacity(model)
    device = model_device(model)
    try:
        total: Optional[int] = len(data)  # type: ignore[arg-type]
    except TypeError:
        total = None
    if max_batches is not None:
        total = max_batches if total is None else min(total, max_batches)
    iterator = iter(data)
    try:
        first = next(iterator)
    except StopIteration:
        if example is None:
            raise _core.BadDataError(
                f"{name or type(model).__name__}: the data yielded no batch (give example= "
                "to find the layers with, where a shard may be empty)")
        first = _NO_BATCH
    discovery_batch = first if example is None else example
    if max_batches is not None and max_batches <= 0:
        first = _NO_BATCH
    bar = Progress(total, progress)
    try:
        with torch.no_grad(), _eval_mode(model):
            session = Session(model,
                              to_call(discovery_batch, capacity, device, input_fn),
                              settings, qconfig, fusion, name, distribution)
            with session.taps:
                index = 0
                batch = first
                while batch is not _NO_BATCH:
                    args, kwargs = to_call(batch, capacity, device, input_fn)
                    try:
                        model(*args, **kwargs)
                    except _core.QreportError:
                        raise
                    except Exception as e:
                        raise _core.BadDataError(
                            f"{session.name}: batch {index}: the model's forward raised "
                            f"{type(e).__name__}: {e}") from e
                    bar.update()
                    index += 1
                    if max_batches is not None and index >= max_batches:
                        break
                    batch = next(iterator, _NO_BATCH)
    finally:
        bar.close()
    return make_report(session)
