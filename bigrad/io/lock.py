"""One writer per target: an exclusive lock file in the target, held for the whole run.

The lock is ``TARGET/.bigrad.lock``, created with ``O_CREAT | O_EXCL`` (so of two runs
starting at once exactly one creates it) and holding the holder's host, pid, process
start time and mode as JSON.  The holder also keeps an ``flock`` on it for as long as
it runs: the kernel drops that the moment the process dies, however it dies, so a
lock whose ``flock`` can be taken and whose pid is gone is known to be stale without
guessing from ages.

- a second run on a locked target, in any mode, is refused, naming the holder;
- ``mode="resume"`` (and ``"w"``, which replaces the target anyway) takes over a
  stale lock left by a dead process on this host, and says so;
- a lock from another host is never taken over: this host cannot tell whether that
  run is alive.

Only local targets are locked: an object store (``s3://``) has no atomic
create-if-absent that every fsspec backend offers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

__all__ = ["LOCK_NAME", "LockedError", "TargetLock", "acquire"]

#: the lock's file name in the target's root directory (not a Zarr key)
LOCK_NAME = ".bigrad.lock"
#: a lock file still empty this long after it was created belongs to a run that died
#: between creating it and writing it (a run writes it within microseconds)
_EMPTY_GRACE_S = 5.0

_log = logging.getLogger("bigrad")


class LockedError(FileExistsError):
    """Another run holds the target."""


def _proc_start(pid: int) -> str | None:
    # the start time (clock ticks since boot) tells a live holder from a new process
    # that reuses a dead holder's pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    now = _proc_start(pid)
    return start is None or now is None or now == start


def _describe(info: dict[str, Any]) -> str:
    when = info.get("started")
    since = ""
    if isinstance(when, (int, float)):
        since = f" since {_dt.datetime.fromtimestamp(when).isoformat(timespec='seconds')}"
    return (
        f"pid {info.get('pid', '?')} on host {info.get('host', '?')} "
        f"(--mode {info.get('mode', '?')}){since}"
    )


class TargetLock:
    """A held lock; :meth:`release` (or leaving the ``with`` block) removes it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file, then drop the ``flock`` (idempotent)."""
        if self._fd is None:
            return
        # unlink first: a process waiting on the flock then finds the file gone
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> TargetLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _write_info(fd: int, mode: str) -> None:
    info = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "proc_start": _proc_start(os.getpid()),
        "started": time.time(),
        "mode": mode,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    os.fsync(fd)


def _read_info(fd: int) -> dict[str, Any] | None:
    raw = os.pread(fd, 4096, 0)
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


def _try_create(path: Path, mode: str) -> TargetLock | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # uncontended: nobody else has this new file yet
        _write_info(fd, mode)
    except BaseException:
        # e.g. a full disk: no half-written lock left behind
        path.unlink(missing_ok=True)
        os.close(fd)
        raise
    return TargetLock(path, fd)


def _is_stale(fd: int, info: dict[str, Any] | None) -> bool:
    """Whether the lock behind ``fd`` (whose flock we hold) was left by a dead run."""
    if info is None:
        age = time.time() - os.fstat(fd).st_mtime
        return age > _EMPTY_GRACE_S
    if info.get("host") != socket.gethostname():
        return False
    pid = info.get("pid")
    return isinstance(pid, int) and not _alive(pid, info.get("proc_start"))


def _try_take_over(path: Path, mode: str, may_take: bool) -> TargetLock | None:
    """Open an existing lock; take it over if it is stale and ``may_take``, else raise."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None  # released meanwhile: try creating it again
    keep = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _read_info(fd)
            raise LockedError(_held_message(path, info)) from None
        if os.fstat(fd).st_ino != _inode(path):
            return None  # its holder removed it as we opened it: start again
        info = _read_info(fd)
        if not _is_stale(fd, info):
            raise LockedError(_held_message(path, info))
        if not may_take:
            raise LockedError(
                f"target {path.parent} already exists, left by a run that died "
                f"({_describe(info or {})}); --mode resume takes over its lock and finishes "
                "it, --mode w replaces it"
            )
        _write_info(fd, mode)
        keep = True
        _log.warning(
            "took over the stale lock of a dead run (%s) on %s", _describe(info or {}), path.parent
        )
        return TargetLock(path, fd)
    finally:
        if not keep:
            os.close(fd)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _held_message(path: Path, info: dict[str, Any] | None) -> str:
    holder = _describe(info) if info else "a run that is just starting"
    return (
        f"target {path.parent} is in use by another bigrad run: {holder}; wait for it to "
        f"end (if that run is surely dead, e.g. on another host, remove {path})"
    )


def acquire(target: Path, mode: str) -> TargetLock:
    """Lock the local directory ``target`` (created if missing) for one run.

    Parameters
    ----------
    target : Path
        The target store's directory.
    mode : str
        The run's mode; ``"resume"`` and ``"w"`` take over a stale lock of a dead run.

    Returns
    -------
    TargetLock
        Held until released; the ``with`` statement releases it.

    Raises
    ------
    LockedError
        A live run (or one on another host) holds the target.
    OSError
        The directory cannot be created or written (read-only, full, name too long).
    """
    target.mkdir(parents=True, exist_ok=True)
    path = target / LOCK_NAME
    # a few rounds at most: each retry means another run released or created the lock
    for _ in range(10):
        lock = _try_create(path, mode)
        if lock is None:
            lock = _try_take_over(path, mode, may_take=mode in ("resume", "w"))
        if lock is not None:
            return lock
    raise LockedError(f"target {target} is being locked and released by other runs; retry")
