"""A progress bar for calibration: tqdm's when it is installed, else a line on stderr that
rewrites itself (only on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import Optional


class Progress:
    def __init__(self, total: Optional[int], enabled: bool, description: str = "calibrating"):
        self._bar = None
        self._enabled = enabled
        self._total = total
        self._description = description
        self._done = 0
        self._start = time.monotonic()
        self._tty = enabled and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=description, unit="batch", leave=False)

    def update(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif self._tty:
            of = f"/{self._total}" if self._total else ""
            rate = self._done / max(time.monotonic() - self._start, 1e-9)
            sys.stderr.write(f"\r{self._description}: {self._done}{of} batches ({rate:.1f}/s)")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._tty and self._done:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()
