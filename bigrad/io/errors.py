"""Errors a user can act on, named and worded here, and the names bigrad refuses to write.

Each error says what went wrong, where, and what to do, in one line: the command
prints it as it is (``bigrad: error: ...``) without a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Hashable, Iterable
from pathlib import Path

from bigrad.core.errors import Arg, argument_error, literal

__all__ = [
    "ChunkDecodeError",
    "ClusterError",
    "DiskFullError",
    "check_names",
    "disk_full",
    "environment_message",
]

#: longest name a file system takes for one path component (ext4, xfs, btrfs, tmpfs)
MAX_NAME_BYTES = 255


class DiskFullError(OSError):
    """The target's file system filled up (ENOSPC) during a run."""


class ChunkDecodeError(ValueError):
    """A source chunk cannot be read or decoded (truncated, garbage, wrong codec)."""


class ClusterError(RuntimeError):
    """The dask.distributed scheduler or its workers failed the run."""


def _why_bad(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL character"
    for bad in ("/", "\\"):
        if bad in name:
            return f"contains {bad!r}, which a Zarr store would take as a path"
    if ".." in name:
        return "contains '..', which a Zarr store may take as a parent directory"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes, the most a file name may have"
    return None


def check_names(kind: str, names: Iterable[Hashable]) -> None:
    """Refuse names a Zarr store cannot hold as one plain key.

    Parameters
    ----------
    kind : str
        What the names are (``"variable"``, ``"dimension"``, ``"output variable"``).
    names : iterable of hashable
        The names to check; non-strings are checked as ``str(name)``.

    Raises
    ------
    ValueError
        Naming the first bad name and why.
    """
    for name in names:
        why = _why_bad(str(name))
        if why is not None:
            shown = str(name) if len(str(name)) <= 60 else f"{str(name)[:57]}..."
            raise ValueError(
                f"{kind} name {shown!r} {why}; rename it (e.g. ds.rename(...)) before "
                "writing gradients to Zarr"
            )


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def _du(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile: not counted
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def disk_full(error: OSError, target: Path, needed: int) -> DiskFullError:
    """A :class:`DiskFullError` saying how much the run needs and what is free where.

    Parameters
    ----------
    error : OSError
        The ENOSPC error raised by a write.
    target : Path
        The target directory.
    needed : int
        Bytes of the whole output, uncompressed (an upper bound for most data).
    """
    free = shutil.disk_usage(target).free if target.exists() else 0
    written = _du(target)
    where = f" (writing {error.filename})" if error.filename else ""
    message = (
        f"no space left on the device of {target}{where}: the outputs take up "
        f"to {_size(needed)} uncompressed, {_size(written)} are written, {_size(free)} "
        "free; free some space, then finish with "
    )
    return argument_error(
        lambda text: DiskFullError(errno.ENOSPC, text), literal(message) + "{resume}",
        resume=Arg("mode", "resume"),
    )  # fmt: skip


_OS_HINTS = {
    errno.EROFS: "the file system is read-only; choose a target on a writable one",
    errno.EACCES: "permission denied; choose a target you may write to",
    errno.EPERM: "operation not permitted; choose a target you may write to",
    errno.ENAMETOOLONG: "a file name is too long (at most 255 bytes per path component)",
    errno.ENOSPC: "no space left on the device; free some space, then --mode resume",
    errno.EDQUOT: "disk quota exceeded; free some space, then --mode resume",
    errno.EFBIG: "file too large for this file system or process limit",
    errno.ENOTDIR: "a component of the path is not a directory",
    errno.EIO: "input/output error from the device",
}


def environment_message(error: OSError) -> str:
    """One line for an error of the file system: what, where, what to do."""
    if isinstance(error, DiskFullError) or (error.errno is None and error.args):
        return str(error.strerror or error.args[0])
    hint = _OS_HINTS.get(error.errno or 0, error.strerror or str(error))
    where = f": {error.filename}" if error.filename else ""
    if error.errno == errno.ENAMETOOLONG and error.filename:
        # the offending path may be kilobytes long; show its start and end
        text = str(error.filename)
        where = f": {text[:40]}...{text[-40:]}" if len(text) > 100 else f": {text}"
    return f"{hint}{where}"
