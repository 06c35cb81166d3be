"""Calibration split across torch.distributed ranks: each rank observes its own batches, and
the report combines every rank's statistics with the core's exact merge (the one
``qreport merge`` uses), not an average.

Every rank calls the report; the ranks first agree, under a timeout, that they observed the
same model with the same detectors, so a mismatch is an error on every rank instead of a
collective that never completes."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from . import _core

# How long the ranks wait for each other before the merge; a rank that never reaches the
# report (it crashed, or took another path) is then named in the error.
DEFAULT_TIMEOUT = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class Distribution:
    """The process group whose ranks calibrate together, and who writes the files."""

    group: Any  # a torch.distributed ProcessGroup; None: the default group
    rank: int  # this process's rank in the group
    size: int
    writer: int  # the rank whose Report.save() writes files
    timeout: datetime.timedelta


def resolve(distributed: Any, writer: int = 0,
            timeout: Optional[datetime.timedelta] = None) -> Optional[Distribution]:
    """`distributed`: None to combine whenever torch.distributed is initialised with more than
    one rank, False to never combine, True to require it, or a ProcessGroup."""
    if distributed is False:
        return None
    import torch.distributed as dist

    initialised = dist.is_available() and dist.is_initialized()
    if not initialised:
        if distributed is None:
            return None
        raise _core.InvalidArgumentError(
            "distributed calibration needs torch.distributed initialised first "
            "(dist.init_process_group('gloo'), as torchrun sets up)")
    group = None if distributed in (None, True) else distributed
    size = dist.get_world_size(group)
    if size == 1 and distributed is None:
        return None
    if not 0 <= writer < size:
        raise _core.InvalidArgumentError(
            f"the writing rank {writer} is not a rank of the group (0 to {size - 1})")
    return Distribution(group, dist.get_rank(group), size, writer,
                        timeout if timeout is not None else DEFAULT_TIMEOUT)


def signature(bank: "_core.Bank", settings: Any, fusion: bool) -> str:
    """What the ranks must agree on: the model (its fingerprint), the observation points and
    the detector settings."""
    digest = hashlib.sha256()
    digest.update(bank.fingerprint.encode())
    for slot in range(bank.size):
        fqn, position = bank.key(slot)
        digest.update(f"\0{fqn}\0{position}".encode())
    digest.update(repr(settings).encode())
    digest.update(b"fusion" if fusion else b"no fusion")
    return digest.hexdigest()


def _barrier(d: Distribution) -> None:
    import torch.distributed as dist

    try:
        if dist.get_backend(d.group) == "gloo":
            # Names the ranks that did not arrive instead of waiting for ever.
            dist.monitored_barrier(d.group, timeout=d.timeout, wait_all_ranks=True)
        else:
            dist.barrier(d.group)
    except RuntimeError as e:
        raise _core.BadDataError(
            f"rank {d.rank}: not every rank reached the report within {d.timeout}: under "
            "torch.distributed every rank must make it, or pass distributed=False to report on "
            f"this rank's batches alone ({e})") from e


def _gather(d: Distribution, value: Any) -> List[Any]:
    import torch.distributed as dist

    values: List[Any] = [None] * d.size
    dist.all_gather_object(values, value, group=d.group)
    return values


def combine(d: Distribution, bank: Optional["_core.Bank"],
            own_signature: Optional[str]) -> Tuple[Optional["_core.Bank"], List[int]]:
    """Every rank's bank merged in rank order, the same on every rank, and each rank's batch
    count. A rank that never saw the model (the drop-in's ModelReport before its first call)
    passes None for both: it takes part, so the others do not wait, and gets None."""
    _barrier(d)
    signatures: Sequence[Optional[str]] = _gather(d, own_signature)
    known = [s for s in signatures if s is not None]
    differing = [r for r, s in enumerate(signatures) if s is not None and s != known[0]]
    if differing:
        raise _core.InvalidArgumentError(
            f"rank {d.rank}: ranks {', '.join(map(str, differing))} observed another model, "
            "other layers or other detector options than rank "
            f"{signatures.index(known[0])}; every rank must calibrate the same model with the "
            "same settings")
    states = _gather(d, None if bank is None else bank.to_bytes())
    merged: Optional["_core.Bank"] = None
    counts: List[int] = []
    for r, state in enumerate(states):
        if state is None:
            counts.append(0)
            continue
        other = _core.Bank.from_bytes(state, f"rank {r}'s statistics")
        counts.append(other.batches)
        if merged is None:
            merged = other
        else:
            merged.merge(other)
    return merged, counts
