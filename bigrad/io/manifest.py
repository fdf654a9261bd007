"""What a resume checks of its source: the size and modification time of every file.

A run records, when it begins, the size and modification time of every file (chunk,
shard or metadata document) of the arrays it reads: the differentiated variables and
the coordinates of their dimensions.  A resume, and every run before it finishes,
lists them again and refuses to go on if any differs, naming the first that does (in
key order), so a target never mixes blocks computed from two versions of a source.

What it costs: one ``stat`` per file (one listing on an object store) when the run
begins, when it resumes and when it finishes, and about 60 bytes per file in the
target's ``.bigrad/source.json`` until the run ends.

What it cannot see: a change that keeps both the size and the modification time of
every file (a file rewritten with equal length and its time set back, e.g. with
``touch -r``).  On object stores the ETag (a content hash on S3) stands in for the
time where the backend reports one.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Hashable, Iterable
from typing import Any

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

from bigrad.core.errors import Arg, argument_error, literal

__all__ = ["Manifest", "SourceChangedError", "check_unchanged", "take", "take_file"]

#: key (relative to the store's root) -> [size in bytes, modification stamp]
Manifest = dict[str, list[Any]]


class SourceChangedError(ValueError):
    """The source's data changed since the run began."""


def _local(root: str, prefixes: Iterable[str]) -> Manifest:
    out: Manifest = {}
    for prefix in prefixes:
        top = os.path.join(root, prefix)
        for dirpath, _, files in os.walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                st = os.stat(path)
                out[os.path.relpath(path, root).replace(os.sep, "/")] = [
                    st.st_size,
                    st.st_mtime_ns,
                ]
    return out


def _stamp(info: dict[str, Any]) -> str:
    # whichever the backend has: a content hash beats a time
    for key in ("ETag", "etag", "md5", "mtime", "LastModified", "last_modified", "created"):
        if info.get(key) is not None:
            return str(info[key])
    return ""


def _remote(store: FsspecStore, prefixes: Iterable[str]) -> Manifest:
    out: Manifest = {}
    root = store.path.rstrip("/")
    for prefix in prefixes:
        found = store.fs.find(f"{root}/{prefix}", detail=True)
        for path, info in found.items():
            key = path[len(root) :].lstrip("/") if path.startswith(root) else path
            out[key] = [int(info.get("size") or 0), _stamp(info)]
    return out


def take(store: Store, arrays: Iterable[Hashable]) -> Manifest:
    """The size and modification stamp of every file of ``arrays`` in ``store``.

    Parameters
    ----------
    store : zarr Store
        The source: a local store or an fsspec one (any other gives an empty manifest,
        and nothing is checked).
    arrays : iterable of hashable
        Names of the arrays (variables, coordinates) whose files to list.

    Returns
    -------
    dict
        ``key -> [size, stamp]``, JSON-serialisable.
    """
    prefixes = sorted({str(a) for a in arrays})
    if isinstance(store, LocalStore):
        return _local(str(store.root), prefixes)
    if isinstance(store, FsspecStore):
        return _remote(store, prefixes)
    return {}


def take_file(path: str | os.PathLike[str]) -> Manifest:
    """The size and modification time of a source that is one file (NetCDF, HDF5...).

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(suffix=".nc") as f:
    ...     _ = f.write(b"CDF")
    ...     f.flush()
    ...     entry = take_file(f.name)[os.path.basename(f.name)]
    >>> entry[0]
    3
    """
    st = os.stat(path)
    return {os.path.basename(os.fspath(path)): [st.st_size, st.st_mtime_ns]}


def _show(entry: list[Any] | None) -> str:
    if entry is None:
        return "absent"
    size, stamp = entry
    if isinstance(stamp, int):
        when = _dt.datetime.fromtimestamp(stamp / 1e9).isoformat(timespec="milliseconds")
        return f"{size} bytes modified {when}"
    return f"{size} bytes, {stamp}" if stamp else f"{size} bytes"


def check_unchanged(recorded: Manifest, now: Manifest, label: str) -> None:
    """Raise :class:`SourceChangedError` naming the first file that differs.

    Parameters
    ----------
    recorded, now : dict
        Manifests from :func:`take`, when the run began and now.
    label : str
        The source, as the message names it.
    """
    if recorded == now:
        return
    for key in sorted(set(recorded) | set(now)):
        before, after = recorded.get(key), now.get(key)
        if before != after:
            text = (
                f"source {label} changed since this run began: {key} was {_show(before)}, "
                f"is {_show(after)}; the blocks already written came from the old data, so "
                "this run cannot be finished; start afresh with "
            )
            raise argument_error(
                SourceChangedError,
                literal(text) + "{w}",
                w=Arg("mode", "w"),
            )
