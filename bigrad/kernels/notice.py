"""Saying on stderr, once per kind of kernel, that numba compiles it.

numba's compile event fires only when its cache misses: loading cached code (however
long it takes on a busy machine) says nothing.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numba

__all__ = ["CompileNotice", "announce"]

_said: set[str] = set()
_lock = threading.Lock()


class CompileNotice(numba.core.event.Listener):
    """A listener for numba's ``numba:compile`` event: writes ``message`` (if any) as the
    first compile starts and sets ``started``."""

    def __init__(self, message: str, started: threading.Event | None = None) -> None:
        self.message = message
        self.started = started
        self.said = False

    def on_start(self, event: Any) -> None:
        if not self.said:
            self.said = True
            if self.started is not None:
                self.started.set()
            if self.message:
                sys.stderr.write(self.message)
                sys.stderr.flush()

    def on_end(self, event: Any) -> None:
        pass


@contextmanager
def announce(name: str, message: str,
             started: threading.Event | None = None) -> Iterator[CompileNotice]:  # fmt: skip
    """While the block runs, say ``message`` on stderr as numba starts compiling (and set
    ``started``), unless a compile of ``name`` was said before in this process."""
    with _lock:
        known = name in _said
    notice = CompileNotice("" if known else message, started)
    with numba.core.event.install_listener("numba:compile", notice):
        yield notice
    if notice.said:
        with _lock:
            _said.add(name)
