"""Where stores are, what may be done to them, and the marks of an unfinished run.

Everything here runs before any data is read or written, so that a mistake costs
nothing: a source that is not a Zarr store, a target that is the source (or inside it),
an existing target that ``mode="w-"`` must not touch, a directory that ``mode="w"``
must not wipe because it is not a Zarr store, a store whose arrays would run code when
decoded (pickled objects).

An unfinished run is marked by a ``.bigrad/`` prefix in the target store, written before
anything else and removed last::

    .bigrad/job.json          the job's parameters, so a resume can check it is the same job
    .bigrad/source.json       size and time of each source file (bigrad.io.manifest)
    .bigrad/attrs.json        the outputs' final attributes, put in place when finishing
    .bigrad/metadata-written  the outputs' metadata and coordinates are all written
    .bigrad/done/<var>/<i.j>  one empty key per block whose outputs are all written
    .bigrad/finished          every block is written: a resume only finishes

The run's lock (:mod:`bigrad.io.lock`) lies beside them, outside the Zarr keys.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore, LocalStore

from bigrad.io.lock import LOCK_NAME

__all__ = [
    "IncompleteStoreError",
    "Location",
    "check_safe_codecs",
    "done_blocks",
    "get_key",
    "has_key",
    "is_zarr_store",
    "locate",
    "mark_done",
    "set_key",
]

MARK_PREFIX = ".bigrad"
JOB_KEY = f"{MARK_PREFIX}/job.json"
DONE_PREFIX = f"{MARK_PREFIX}/done"
FINISHED_KEY = f"{MARK_PREFIX}/finished"
#: the outputs' attributes as they must be once the run is finished
ATTRS_KEY = f"{MARK_PREFIX}/attrs.json"
#: files in a target's directory that are not its content (the run's lock)
_NOT_CONTENT = frozenset({LOCK_NAME})

#: codecs that decode by running code from the store (pickle) or are otherwise unsafe
_UNSAFE_CODECS = {"pickle", "msgpack", "msgpack2", "json", "json2"}
#: object-dtype codecs that only ever yield strings or bytes
_SAFE_OBJECT_CODECS = {"vlen-utf8", "vlen-bytes", "vlen-array"}


class IncompleteStoreError(RuntimeError):
    """The target store is the output of a bigrad run that did not finish.

    Raised by :func:`bigrad.open_gradient`; finish the run with ``mode="resume"``
    (``bigrad gradient SOURCE TARGET --mode resume``).

    >>> import bigrad
    >>> issubclass(bigrad.IncompleteStoreError, RuntimeError)
    True
    """


@dataclass(frozen=True)
class Location:
    """A store's address: a local directory or an fsspec URL."""

    url: str
    local: Path | None

    def store(self, read_only: bool) -> Store:
        if self.local is not None:
            return LocalStore(self.local, read_only=read_only)
        return FsspecStore.from_url(self.url, read_only=read_only)

    def exists(self) -> bool:
        """Whether anything at all is there (a file, a non-empty directory, any key),
        the lock of a run aside."""
        if self.local is not None:
            if self.local.is_dir():
                return any(p.name not in _NOT_CONTENT for p in self.local.iterdir())
            return self.local.exists()
        return bool(_keys(self.store(read_only=True), ""))

    def contains(self, other: Location) -> bool:
        """Whether ``other`` is this location or lies inside it."""
        if self.local is not None and other.local is not None:
            return other.local == self.local or self.local in other.local.parents
        a, b = self.url.rstrip("/"), other.url.rstrip("/")
        return b == a or b.startswith(a + "/")

    def __str__(self) -> str:
        return str(self.local) if self.local is not None else self.url


def locate(path: str | os.PathLike[str]) -> Location:
    """The location of a local path or an fsspec URL (``file://`` counts as local)."""
    text = os.fspath(path)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if "://" in text:
        return Location(text.rstrip("/"), None)
    local = Path(text).expanduser().resolve()
    return Location(str(local), local)


def _local(store: Store, key: str = "") -> Path | None:
    """The file of ``key`` in a local store, else None.

    The marks and records of a run are read and written as plain files on a local
    store: through zarr each is a round trip to its event loop thread, which during a
    run is busy with the blocks' reads and writes, and the stream waits on every mark.
    """
    return store.root / key if isinstance(store, LocalStore) else None


def _keys(store: Store, prefix: str) -> list[str]:
    base = _local(store, prefix)
    if base is not None and prefix.endswith("/"):
        root = _local(store)
        assert root is not None
        return [p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()]

    async def collect() -> list[str]:
        return [k async for k in store.list_prefix(prefix)]

    return sync(collect())


def get_key(store: Store, key: str) -> bytes | None:
    """The bytes at ``key``, or ``None`` if there are none."""
    path = _local(store, key)
    if path is not None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
    buf = sync(store.get(key, prototype=default_buffer_prototype()))
    return None if buf is None else buf.to_bytes()


def set_key(store: Store, key: str, value: bytes) -> None:
    """Write ``value`` at ``key`` (atomically on a local store: a file renamed into place)."""
    path = _local(store, key)
    if path is None or store.read_only:
        sync(store.set(key, default_buffer_prototype().buffer.from_bytes(value)))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # named as zarr names its own temporary files, so remove_partial_writes finds it
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    try:
        tmp.write_bytes(value)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def has_key(store: Store, key: str) -> bool:
    """Whether ``key`` is in ``store``."""
    path = _local(store, key)
    if path is not None:
        return path.is_file()
    return bool(sync(store.exists(key)))


def is_zarr_store(store: Store) -> bool:
    """Whether the root of ``store`` is a Zarr group or array (format 2 or 3)."""
    return any(has_key(store, k) for k in ("zarr.json", ".zgroup", ".zarray"))


def check_safe_codecs(store: Store, label: str) -> None:
    """Refuse a store holding arrays whose decoding could run code (pickled objects).

    The metadata documents are read as plain JSON, before xarray or zarr build any
    array, so nothing in the store is decoded on the way.
    """

    async def members() -> list[str]:
        return [k async for k in store.list_dir("")]

    # xarray writes flat stores: the root document and one per member are all there is
    candidates = ["zarr.json", ".zarray", ".zmetadata"]
    for member in sync(members()):
        candidates += [f"{member}/zarr.json", f"{member}/.zarray"]
    for key in candidates:
        raw = get_key(store, key)
        if raw is None:
            continue
        doc = json.loads(raw) if raw else {}
        arrays = [doc]
        # consolidated metadata (format 3) nests every array's document in the root's
        nested = (doc.get("consolidated_metadata") or {}).get("metadata") or {}
        arrays += list(nested.values())
        if key == ".zmetadata":  # consolidated metadata (format 2)
            arrays = [v for k, v in (doc.get("metadata") or {}).items() if k.endswith(".zarray")]
        for meta in arrays:
            _check_array_doc(meta, f"{label}: {key}")


def _codec_names(meta: dict[str, Any]) -> list[str]:
    specs: list[Any] = []
    if "codecs" in meta:  # format 3
        specs += meta.get("codecs") or []
    else:  # format 2
        specs += meta.get("filters") or []
        specs.append(meta.get("compressor"))
        if meta.get("object_codec"):
            specs.append(meta["object_codec"])
    names = []
    for spec in specs:
        if isinstance(spec, dict):
            names.append(str(spec.get("name", spec.get("id", ""))).lower())
            # a sharding codec nests its own codecs
            inner = (spec.get("configuration") or {}).get("codecs")
            if inner:
                names += _codec_names({"codecs": inner})
        elif isinstance(spec, str):
            names.append(spec.lower())
    return names


def _check_array_doc(meta: dict[str, Any], where: str) -> None:
    if meta.get("node_type", "array") != "array" and "dtype" not in meta:
        return
    names = set(_codec_names(meta))
    unsafe = sorted(n for n in names if n in _UNSAFE_CODECS or "pickle" in n)
    if unsafe:
        raise ValueError(
            f"{where} uses the codec(s) {', '.join(unsafe)}, which can run code when "
            "decoded; bigrad refuses such stores"
        )
    dtype = meta.get("dtype", meta.get("data_type"))
    is_object = isinstance(dtype, str) and dtype.lstrip("<>|=").startswith("O")
    if is_object and not names & _SAFE_OBJECT_CODECS:
        raise ValueError(
            f"{where} has an object dtype without a string codec; bigrad refuses "
            "arrays of arbitrary Python objects"
        )


def read_job(store: Store) -> dict[str, Any] | None:
    """The job recorded in an unfinished target, or ``None`` if it has none."""
    raw = get_key(store, JOB_KEY)
    return None if raw is None else dict(json.loads(raw))


def write_job(store: Store, job: dict[str, Any]) -> None:
    set_key(store, JOB_KEY, json.dumps(job, sort_keys=True, indent=1).encode())


def block_key(variable: str, block: tuple[int, ...]) -> str:
    return f"{DONE_PREFIX}/{variable}/{'.'.join(map(str, block))}"


def mark_done(store: Store, variable: str, block: tuple[int, ...]) -> None:
    """Record that every output of ``block`` of ``variable`` is written."""
    set_key(store, block_key(variable, block), b"")


def done_blocks(store: Store, variable: str) -> set[tuple[int, ...]]:
    """The blocks of ``variable`` recorded as written."""
    prefix = f"{DONE_PREFIX}/{variable}/"
    return {
        tuple(int(i) for i in key[len(prefix) :].split("."))
        for key in _keys(store, prefix)
        if key[len(prefix) :]
    }


def delete_keys(store: Store, keys: Iterable[str]) -> None:
    for key in keys:
        path = _local(store, key)
        if path is not None and not store.read_only:
            path.unlink(missing_ok=True)
        else:
            sync(store.delete(key))


def clear_marks(store: Store, step: Callable[[str], None] = lambda name: None) -> None:
    """Remove the marks of an unfinished run, in an order that a kill at any point
    leaves resumable: the job record after every other mark but those a resume needs
    to finish (so the target still reads as unfinished), the finished mark and the
    final attributes last (so a resume interrupted here only finishes).  ``step`` is
    called after each stage."""
    keys = _keys(store, f"{MARK_PREFIX}/")
    last = (FINISHED_KEY, ATTRS_KEY)
    delete_keys(store, [k for k in keys if k != JOB_KEY and k not in last])
    step("marks-cleared")
    delete_keys(store, [k for k in keys if k == JOB_KEY])
    step("job-removed")
    delete_keys(store, [k for k in keys if k in last])
    if isinstance(store, LocalStore):
        # empty directories are not keys; leave none behind
        for sub in sorted((store.root / MARK_PREFIX).rglob("*"), reverse=True):
            if sub.is_dir():
                sub.rmdir()
        if (store.root / MARK_PREFIX).is_dir():
            (store.root / MARK_PREFIX).rmdir()


#: a temporary file of zarr's LocalStore atomic write: ``<name>.<uuid4 hex>.partial``
_PARTIAL = re.compile(r"\.[0-9a-f]{32}\.partial$")


def remove_partial_writes(store: Store) -> int:
    """Delete the temporary files of writes that a kill interrupted; returns how many.

    zarr's local store writes each key to a temporary file and renames it into place,
    so a killed write leaves no torn chunk, but it may leave that temporary file.
    """
    if not isinstance(store, LocalStore):
        return 0
    stale = [p for p in store.root.rglob("*.partial") if _PARTIAL.search(p.name)]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


def clear_store(store: Store) -> None:
    """Delete everything in a store but a run's lock (its root directory stays)."""
    if not isinstance(store, LocalStore):
        sync(store.delete_dir(""))
        return
    for sub in sorted(store.root.rglob("*"), reverse=True):
        if sub.is_dir() and not sub.is_symlink():
            sub.rmdir()
        elif sub.parent != store.root or sub.name not in _NOT_CONTENT:
            sub.unlink()
