"""A one-line progress bar on stderr, redrawn in place (no dependency).

A dependency (rich, tqdm) would buy colours; a block count, a rate and an estimate of
the time left are all this needs, and the bar only draws on a terminal.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``[#####     ] 12/40 blocks  30%  1.2 blocks/s  0:23 left`` on one line.

    Draws at most every 0.1 s, and only if the stream is a terminal (unless
    ``force``); :meth:`update` with ``final=True`` ends the line.
    """

    def __init__(self, total: int, stream: TextIO | None = None, force: bool = False) -> None:
        self.total = max(total, 0)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or self.stream.isatty()
        self._start = time.perf_counter()
        self._last = 0.0
        self._first_done: int | None = None

    def update(self, done: int, total: int | None = None, final: bool = False) -> None:
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._first_done is None:
            # blocks skipped by a resume do not count towards the rate
            self._first_done, self._start = done, now
        if not final and now - self._last < 0.1:
            return
        self._last = now
        frac = done / self.total if self.total else 1.0
        width = 30
        filled = int(width * frac)
        elapsed = now - self._start
        rate = (done - self._first_done) / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else 0.0
        tail = f"{elapsed:5.1f} s" if final else f"{int(left) // 60}:{int(left) % 60:02d} left"
        line = (
            f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{self.total} blocks "
            f"{100 * frac:3.0f}%  {rate:.1f} blocks/s  {tail}"
        )
        self.stream.write(line + ("\n" if final else ""))
        self.stream.flush()
