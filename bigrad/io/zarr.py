"""Zarr in, Zarr out: the gradients of a store far larger than memory, as a new store.

:func:`gradient_zarr` names, labels and lays out the outputs with the xarray accessor
(``ds.bigrad.gradient``), writes their metadata and coordinates with
``Dataset.to_zarr(compute=False)``, then streams the data block by block
(:mod:`bigrad.io.stream`), marking progress in the target (:mod:`bigrad.io.store`) so that
a killed run can be resumed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import itertools
import json
import logging
import math
import os
import signal
import threading
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import dask
import dask.array
import numpy as np
import xarray as xr
import zarr

from bigrad import kernels, sphere
from bigrad.core.args import check_spec, parse_args
from bigrad.core.blocks import extract_faces
from bigrad.core.errors import Arg, argument_error, literal, name_axes
from bigrad.core.masked import nan_stencil
from bigrad.core.plan import GradientPlan
from bigrad.core.weights import AxisRules, StencilSpec
from bigrad.io import cluster as _cluster
from bigrad.io import lock as _lock
from bigrad.io import manifest as _manifest
from bigrad.io import store as _store
from bigrad.io.errors import ChunkDecodeError, check_names, disk_full
from bigrad.io.stream import TaskRunner, block_spec, stream_engine, stream_gradient
from bigrad.operators import prepare
from bigrad.xarray import sphere as xsphere
from bigrad.xarray.attrs import gradient_name
from bigrad.xarray.coords import (
    Spacing,
    Stencils,
    as_names,
    axis_arguments,
    differentiable,
    resolve,
    select_variables,
    stencil_order,
    stencils_for,
    variable_derivatives,
)
from bigrad.xarray.smoothing import smooth_stencils

__all__ = ["IncompleteStoreError", "gradient_zarr", "kinematics_zarr", "open_gradient"]

IncompleteStoreError = _store.IncompleteStoreError
Mode = Literal["w-", "w", "resume"]
Names = Hashable | Sequence[Hashable] | None

#: attribute of the target's root group while a run is unfinished
STATUS_ATTR = "bigrad:status"
_MODES = ("w-", "w", "resume")
#: what that attribute says, on the root group and on every output array
_STATUS = (
    "incomplete: a bigrad run is writing this store or was killed; do not use it; finish "
    "it with `bigrad gradient SOURCE TARGET --mode resume`"
)
#: key marking that the target's metadata and coordinates are all written
_META_DONE = f"{_store.MARK_PREFIX}/metadata-written"
#: the size and time of every source file when the run began (bigrad.io.manifest)
_SOURCE_KEY = f"{_store.MARK_PREFIX}/source.json"

_log = logging.getLogger("bigrad")


class _Axes(NamedTuple):
    """How coordinates become spacings: :func:`bigrad.xarray.coords.resolve`'s arguments."""

    datetime_unit: str | None
    periodic: Any
    period: Any


def _jsonable(period: Any) -> Any:
    if isinstance(period, Mapping):
        return {str(k): float(v) for k, v in period.items()}
    return None if period is None else float(period)


@dataclass(frozen=True)
class _Job:
    """One variable's share of the work (or, with ``inputs``, several variables read
    together, stacked along a new first axis of the plan: the winds)."""

    variable: Hashable
    outputs: tuple[str, ...]
    plan: GradientPlan
    rules: tuple[AxisRules, ...]
    unit: tuple[int, ...]  # the blocks: the source's write units
    inputs: tuple[Hashable, ...] = ()  # what is read, if not ``variable`` alone
    compute: Any = None  # the stream's compute hook, if not the plain gradient

    @property
    def sources(self) -> tuple[Hashable, ...]:
        return self.inputs or (self.variable,)


@dataclass(frozen=True)
class _Opened:
    """The source as a run reads it: a Zarr store, or a file any xarray engine opens."""

    store: Any  # the Zarr store; None for a file
    ds: xr.Dataset  # lazily, for names, coordinates and the template
    reader: xr.Dataset  # undecoded-chunk view without dask or caching: the blocks' reader
    zarr_format: int  # the source's, or the target's for a file
    path: Path | None  # the file, when the source is one


def _open_source(loc: _store.Location) -> _Opened:
    if loc.local is not None and not loc.local.exists():
        raise FileNotFoundError(f"source {loc} does not exist")
    if loc.local is not None and loc.local.is_file():
        return _open_file(loc.local)
    store: Any = loc.store(read_only=True)
    if not _store.is_zarr_store(store):
        raise ValueError(
            f"source {loc} is not a Zarr store (no zarr.json, .zgroup or .zarray); give a "
            "Zarr store, or a local file xarray opens (NetCDF: pip install 'bigrad[netcdf]')"
        )
    _store.check_safe_codecs(store, f"source {loc}")
    with warnings.catch_warnings():
        # consolidated metadata is not in the Zarr 3 spec yet; xarray writes it anyway
        warnings.simplefilter("ignore", UserWarning)
        zarr_format = int(_source_group(store, loc).metadata.zarr_format)
        # blocks are read through xarray's decoding (masking, scale/offset) without dask
        # and without caching whole arrays
        reader = xr.open_dataset(
            store, engine="zarr", chunks=None, cache=False, consolidated=None,
            zarr_format=zarr_format,
        )  # fmt: skip
    # names, coordinates and the template come from the same lazy view: the template
    # chunks the variables it differentiates itself, and one open less is one reading
    # of the metadata and the index coordinates less
    return _Opened(store, reader, reader, zarr_format, None)


def _source_group(store: Any, loc: _store.Location) -> Any:
    """The source's root group; a store holding one bare array (no names, no dims) is
    refused, since the outputs are named and dimensioned after the source's variables."""
    try:
        return zarr.open_group(store, mode="r")
    except (zarr.errors.ContainsArrayError, zarr.errors.GroupNotFoundError):
        if not isinstance(zarr.open(store, mode="r"), zarr.Array):
            raise
        raise ValueError(
            f"source {loc} is a single Zarr array, not a group of named variables; write it "
            "as a dataset first, e.g. xr.DataArray(zarr.open_array(SRC), dims=(...)).to_dataset("
            "name='f').to_zarr(NEW)"
        ) from None


def _open_file(path: Path) -> _Opened:
    """A file (NetCDF, HDF5, ...) opened by whichever installed xarray engine claims it;
    its blocks are read through the engine's lazy indexing, one region at a time."""
    engine = _builtin_engine(path)
    try:
        ds = xr.open_dataset(path, engine=engine, chunks={})
        reader = xr.open_dataset(path, engine=engine, chunks=None, cache=False)
    except (ValueError, OSError, ImportError, TypeError) as e:
        engines = [n for n in xr.backends.list_engines() if n not in ("store", "zarr")]
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        why = "none recognises it" if "did not find a match" in first else first
        raise ValueError(
            f"source {path} is a file that no installed xarray engine opens (tried "
            f"{', '.join(engines) or 'none'}: {why}); for NetCDF-4 and HDF5 files run "
            "pip install 'bigrad[netcdf]'"
        ) from e
    fmt = int(zarr.config.get("default_zarr_format"))
    return _Opened(None, ds, reader, fmt, path)


#: xarray's own file engines, in the order its guess tries them, and what each needs
_BUILTIN_ENGINES = (
    ("netcdf4", xr.backends.NetCDF4BackendEntrypoint, "netCDF4"),
    ("h5netcdf", xr.backends.H5netcdfBackendEntrypoint, "h5netcdf"),
    ("scipy", xr.backends.ScipyBackendEntrypoint, "scipy"),
)


def _builtin_engine(path: Path) -> str | None:
    """The first of xarray's own installed engines that claims ``path``, or None to let
    ``open_dataset`` guess among every installed one.

    Why not let it guess: guessing loads every third-party backend plugin first, and a
    plugin's package may import far more than the engine itself (MetPy's pulls in pint,
    pyproj and matplotlib), which would stay in memory for the whole run.  xarray's
    guess tries these three first too, so the engine chosen is the same.
    """
    for name, backend, module in _BUILTIN_ENGINES:
        if importlib.util.find_spec(module) is None:
            continue
        with contextlib.suppress(Exception):  # as xarray's guess: a failing guess is a no
            if backend().guess_can_open(path):
                return name
    return None


#: bytes of a block read from a contiguous (unchunked) variable
_CONTIGUOUS_BLOCK = 32 * 2**20


def _file_unit(shape: tuple[int, ...], chunks: Any, itemsize: int) -> tuple[int, ...]:
    """The blocks of a variable stored in a file: its own chunks if it has any; else
    whole trailing dimensions (contiguous in a C-ordered file) and as many leading rows
    as fit ``_CONTIGUOUS_BLOCK`` bytes.

    >>> _file_unit((100, 50, 64), None, 8)  # 100 rows of 25.6 kB each fit 32 MiB
    (100, 50, 64)
    >>> _file_unit((4000, 1000, 10), None, 8)
    (419, 1000, 10)
    >>> _file_unit((10, 8), (1, 4), 4)
    (1, 4)
    """
    if chunks:
        return tuple(int(c) for c in chunks)
    unit = [1] * len(shape)
    budget = max(1, _CONTIGUOUS_BLOCK // itemsize)
    for axis in reversed(range(len(shape))):
        unit[axis] = max(1, min(shape[axis], budget))
        budget //= max(1, shape[axis])
        if budget == 0:
            break
    return tuple(unit)


def _write_unit(opened: _Opened, name: Hashable) -> tuple[int, ...]:
    var = opened.ds[name]
    enc = var.encoding
    if opened.path is not None:
        chunks = None if enc.get("contiguous") else enc.get("chunksizes")
        return _file_unit(var.shape, chunks, var.dtype.itemsize)
    return tuple(enc.get("shards") or enc["chunks"])


def _select(
    ds: xr.Dataset, variables: Names, dims: Names, spec: Stencils, axes: _Axes
) -> tuple[xr.Dataset, list[Spacing], list[Hashable]]:
    """The accessor's output (lazy, for names, attrs and layout), its spacings, and the
    variables differentiated."""
    if dims is not None and not as_names(dims):
        raise ValueError("dims is empty; name at least one dimension")
    if variables is None:
        # datetimes and strings are not streamed; numbers only, with one of the dims
        spacings = resolve(ds, dims, *axes)
        wanted = {sp.dim for sp in spacings}
        names: list[Hashable] = [
            k
            for k, v in ds.data_vars.items()
            if wanted.intersection(v.dims) and v.dtype.kind in "iufc"
        ]
        if not names:
            raise ValueError(
                f"no data variable of numbers has any of the dims {sorted(map(str, wanted))}; "
                f"the data variables are {tuple(map(str, ds.data_vars))}"
            )
    else:
        names = as_names(variables)
        if not names:
            raise ValueError("variables is empty; name at least one data variable")
        for name in names:
            if name in ds.data_vars and not (
                differentiable(ds[name].variable) and ds[name].dtype.kind in "iufc"
            ):
                raise TypeError(
                    f"variable {name!r} has dtype {ds[name].dtype}; bigrad writes the "
                    "derivatives of numbers only"
                )
    # the template's data is never computed (the stream writes the data): one dask chunk
    # per variable keeps its graph a few tasks, however many blocks the store has
    ds = ds.copy()
    # "tasks": dask otherwise imports dask.distributed only to look for a client that
    # would rechunk, and it would stay in memory for the whole run
    with dask.config.set({"array.rechunk.method": "tasks"}):
        for name in names:
            if name in ds.data_vars:
                ds[name] = ds[name].chunk(-1)
    spacings = resolve(ds, dims, *axes)
    grads: dict[Hashable, Any] = {}
    for name in select_variables(ds, names, {sp.dim for sp in spacings}):
        grads.update(variable_derivatives(ds[name].variable, name, spacings, spec))
    return xr.Dataset(grads, coords=ds.coords, attrs=dict(ds.attrs)), spacings, names


def _plan_variable(
    var: xr.Variable,
    name: Hashable,
    spacings: list[Spacing],
    spec: Stencils,
    unit: tuple[int, ...],
) -> _Job:
    # the same arguments the accessor hands bigrad.gradient, with the rules built
    # eagerly: the stream computes blocks itself instead of through a dask graph
    present = [sp for sp in spacings if sp.dim in var.dims]
    axes, wrapped, periods = axis_arguments(var, present)
    spacing_values = [
        np.asarray(sp.spacing) if np.ndim(sp.spacing) else sp.spacing for sp in present
    ]
    try:
        args = parse_args(var.shape, var.dtype, spacing_values, axes, stencils_for(spec, present), wrapped,
                          periods or None)  # fmt: skip
    except (ValueError, TypeError) as e:
        named = name_axes(e, var.dims, f"differentiating {name!r}: ")
        if named is None:
            raise
        raise named from e
    chunks = tuple(
        tuple(min(u, n - s) for s in range(0, n, u)) for n, u in zip(var.shape, unit, strict=True)
    )
    plan, rules = prepare(args, var.shape, chunks, var.dtype)
    outputs = tuple(gradient_name(name, sp.key, stencil_order(spec)) for sp in present)
    return _Job(name, outputs, plan, tuple(rules), unit)


def _encoding(src: xr.Variable, out_dtype: np.dtype[Any], unit: tuple[int, ...]) -> dict[str, Any]:
    enc = src.encoding
    if "chunks" not in enc:
        # a file's variable: one Zarr chunk per block, zarr's default codecs (the file's
        # own, HDF5 filters, do not carry over)
        return {"chunks": unit}
    out: dict[str, Any] = {"chunks": tuple(enc["chunks"])}
    if enc.get("shards"):
        out["shards"] = tuple(enc["shards"])
    if "compressors" in enc:
        out["compressors"] = enc["compressors"]
    elif "compressor" in enc:
        out["compressor"] = enc["compressor"]
    # filters are often tied to the dtype (delta, scale-offset): only keep them if it is kept
    if enc.get("filters") and np.dtype(enc.get("dtype", src.dtype)) == out_dtype:
        out["filters"] = enc["filters"]
    return out


def _fingerprint(opened: _Opened, names: list[Hashable]) -> str:
    # the metadata documents of the differentiated arrays: a resume against a source
    # whose layout or attributes changed is refused
    h = hashlib.sha256()
    store = opened.store
    for name in names:
        if store is None:  # a file: what xarray reads of the variable's layout
            var = opened.reader[name].variable
            layout = (var.dims, var.shape, str(var.dtype), var.attrs, var.encoding)
            h.update(repr(layout).encode())
            continue
        for doc in ("zarr.json", ".zarray", ".zattrs"):
            raw = _store.get_key(store, f"{name}/{doc}")
            h.update(raw or b"-")
    return h.hexdigest()


def _job_record(
    src: _store.Location,
    jobs: list[_Job],
    spec: StencilSpec,
    periodic: Any,
    fingerprint: str,
    nan: str = "propagate",
) -> dict[str, Any]:
    record = {
        "source": str(src),
        "outputs": {str(j.variable): list(j.outputs) for j in jobs},
        "edge_order": spec.edge_order,
        "order": spec.order,
        "accuracy": spec.accuracy,
        "periodic": periodic
        if periodic in (None, True, False)
        else sorted(map(str, periodic))
        if not isinstance(periodic, str)
        else [periodic],
        "source_metadata_sha256": fingerprint,
    }
    if nan != "propagate":  # a resume must not mix the two; other records stay as they were
        record["nan"] = nan
    return record


@dataclass
class _Source:
    """The source as a run reads it, and what it records of it."""

    loc: _store.Location
    store: Any  # None for a file
    arrays: list[Hashable]  # the arrays read: variables and their dimension coordinates
    path: Path | None = None  # the file, when the source is one

    def manifest(self) -> _manifest.Manifest:
        if self.path is not None:
            return _manifest.take_file(self.path)
        return _manifest.take(self.store, self.arrays)


def _is_consolidated(store: Any) -> bool:
    if _store.has_key(store, ".zmetadata"):
        return True
    raw = _store.get_key(store, "zarr.json")
    return raw is not None and bool(json.loads(raw).get("consolidated_metadata"))


def _is_complete(store: Any, job: dict[str, Any]) -> bool:
    """Whether the target is the finished output of ``job``: every output is there and
    the metadata is consolidated (the last thing a run writes before its marks go)."""
    outputs = [o for outs in job["outputs"].values() for o in outs]
    return _is_consolidated(store) and all(
        _store.has_key(store, f"{o}/zarr.json") or _store.has_key(store, f"{o}/.zarray")
        for o in outputs
    )


def _resume_state(loc: _store.Location, store: Any, job: dict[str, Any], src: _Source) -> str:
    """What an existing target needs to be finished: ``"complete"``, ``"finish"``,
    ``"stream"`` or ``"restart"``; raises if it is not this job's unfinished run."""
    recorded = _store.read_job(store)
    if recorded is None:
        if _store.is_zarr_store(store) and _is_complete(store, job):
            return "complete"
        raise argument_error(
            FileExistsError,
            literal(f"target {loc} is not an unfinished bigrad run (it has no "
                    f"{_store.JOB_KEY}); nothing to resume; pass ") + "{w} to replace it",
            w=Arg("mode", "w"),
        )  # fmt: skip
    if recorded != job:
        diff = sorted(k for k in set(job) | set(recorded) if job.get(k) != recorded.get(k))
        raise argument_error(
            ValueError,
            literal(f"target {loc} holds an unfinished run of a different job (differs in "
                    f"{', '.join(diff)}); resume with the same arguments, or pass ") + "{w}",
            w=Arg("mode", "w"),
        )  # fmt: skip
    if _store.has_key(store, _store.FINISHED_KEY):
        # every block was written from the source as it was: only the finishing is left
        return "finish"
    if not _store.has_key(store, _META_DONE):
        # killed while writing metadata: nothing of the data is written yet; redo it
        return "restart"
    raw = _store.get_key(store, _SOURCE_KEY)
    if raw is None:  # written before the metadata mark, so this is not bigrad's doing
        raise ValueError(f"target {loc} lacks its record of the source ({_SOURCE_KEY})")
    _manifest.check_unchanged(json.loads(raw), src.manifest(), str(src.loc))
    return "stream"


def _prepare_target(
    loc: _store.Location, store: Any, mode: str, job: dict[str, Any], src: _Source
) -> str:
    """Make the locked target ready per ``mode``; returns what is left to do:
    ``"complete"``, ``"finish"``, ``"stream"`` (blocks marked done are skipped) or
    ``"start"`` (metadata and every block)."""
    exists = loc.exists()
    if mode == "w-" and exists:
        raise argument_error(
            FileExistsError,
            literal(f"target {loc} already exists; pass ") + "{w} to replace it, or {resume} "
            "to finish an interrupted run",
            w=Arg("mode", "w"), resume=Arg("mode", "resume"),
        )  # fmt: skip
    if mode == "resume" and exists:
        state = _resume_state(loc, store, job, src)
        _store.remove_partial_writes(store)
        if state != "restart":
            return state
        _store.clear_store(store)
    if mode == "w" and exists:
        if not (_store.is_zarr_store(store) or _store.read_job(store) is not None):
            raise FileExistsError(
                f"target {loc} exists and is not a Zarr store; bigrad will not delete it"
            )
        _store.clear_store(store)
    _store.write_job(store, job)  # first: from here on the target reads as unfinished
    # taken before any block is read: the source as this run's blocks will see it
    _store.set_key(store, _SOURCE_KEY, json.dumps(src.manifest()).encode())
    return "start"


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")


def _check_threads(threads: Any) -> None:
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(
            f"threads must be a positive integer (or None for one per CPU), got {threads!r}"
        )


def _check_all_names(ds: xr.Dataset, grads: xr.Dataset, names: list[Hashable]) -> None:
    # every name that becomes a key of the target, before anything is created
    check_names("variable", names)
    check_names("dimension", [d for n in names for d in ds[n].dims])
    check_names("coordinate", grads.coords)
    check_names("output variable", grads.data_vars)


def _checkpoint(step: str) -> None:
    """A kill switch for the tests of what a kill leaves: ``BIGRAD_KILL_AT=step`` sends
    this process SIGKILL at ``step`` (never set in normal use)."""
    if os.environ.get("BIGRAD_KILL_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _write_template(store: Any, grads: xr.Dataset, ds: xr.Dataset, jobs: list[_Job],
                    zarr_format: int) -> None:  # fmt: skip
    """The outputs' metadata and coordinates, every array and the root marked unfinished;
    their final attributes are recorded to be put in place when the run finishes."""
    template = grads.assign_attrs({STATUS_ATTR: _STATUS})
    encoding = {
        out: _encoding(ds[j.sources[0]].variable, grads[out].dtype, j.unit)
        for j in jobs
        for out in j.outputs
    }
    for out in list(template.data_vars):
        var = template[out].variable
        # the data is never computed (the stream writes it): a one-task stand-in spares
        # to_zarr building and optimising the store graph of the real computation
        blank = dask.array.empty(var.shape, dtype=var.dtype, chunks=-1)
        attrs = {**var.attrs, STATUS_ATTR: _STATUS}
        template[out] = xr.Variable(var.dims, blank, attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        template.to_zarr(
            store,
            mode="a",
            compute=False,
            consolidated=False,
            zarr_format=zarr_format,
            encoding=encoding,
        )
        group = zarr.open_group(store, mode="r", use_consolidated=False)
    # read back as stored (JSON), so a resume puts back exactly what a run would
    final = {"": dict(group.attrs)} | {str(o): dict(group[str(o)].attrs) for o in grads.data_vars}
    for attrs in final.values():
        attrs.pop(STATUS_ATTR, None)
    _store.set_key(store, _store.ATTRS_KEY, json.dumps(final).encode())
    _checkpoint("metadata")
    _store.set_key(store, _META_DONE, b"")


def _finish(store: Any, zarr_format: int) -> None:
    """Put the final attributes in place, consolidate, then remove the marks.

    Each step is one atomic write and is redone by a resume, from the attributes
    recorded with the metadata, so a kill anywhere here ends, once resumed, with the
    same bytes as a run never interrupted; the consolidated metadata (which plain
    xarray reads first) is written after every other document is final.
    """
    _store.set_key(store, _store.FINISHED_KEY, b"")
    _checkpoint("finishing")
    raw = _store.get_key(store, _store.ATTRS_KEY)
    if raw is None:  # written before the metadata mark, removed after the job record
        raise ValueError(f"the target lacks the record of its attributes ({_store.ATTRS_KEY})")
    final: dict[str, dict[str, Any]] = json.loads(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = zarr.open_group(store, mode="r+", use_consolidated=False)
        for name, attrs in final.items():
            if name:
                group[name].attrs.put(attrs)
                _checkpoint("variable-attrs")
        group.attrs.put(final.get("", {}))
        _checkpoint("root-attrs")
        zarr.consolidate_metadata(store, zarr_format=2 if zarr_format == 2 else 3)
    _checkpoint("consolidated")
    _store.clear_marks(store, step=_checkpoint)


def _output_bytes(jobs: list[_Job], grads: xr.Dataset) -> int:
    return sum(grads[o].size * grads[o].dtype.itemsize for j in jobs for o in j.outputs)


@contextlib.contextmanager
def _locked(loc: _store.Location, mode: str) -> Iterator[None]:
    """Hold the target's lock (local targets) for the ``with`` block; a directory this
    run created and left empty (a refusal) is removed with the lock."""
    if loc.local is None:
        yield
        return
    if loc.local.exists() and not loc.local.is_dir():
        raise FileExistsError(f"target {loc} is a file; give a directory for the Zarr store")
    existed = loc.local.exists()
    try:
        with _lock.acquire(loc.local, mode):
            yield
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                loc.local.rmdir()  # only if empty: nothing of a run is ever removed
        raise


#: file name endings of other formats: a Zarr store so named would mislead its readers
_NOT_ZARR = (".nc", ".nc4", ".netcdf", ".h5", ".hdf5", ".grib", ".grb", ".grib2", ".tif")


def _check_target_name(target: Any) -> None:
    name = str(target).rstrip("/")
    if name.lower().endswith(_NOT_ZARR):
        suffix = name[name.rfind(".") :]
        raise ValueError(
            f"target {name} ends in {suffix!r}, but bigrad writes a Zarr store (a "
            f"directory); name it e.g. {name[: -len(suffix)]}.zarr"
        )


def gradient_zarr(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    variables: Names = None,
    dims: Names = None,
    edge_order: int = 1,
    periodic: bool | Names = None,
    mode: Mode = "w-",
    progress: bool | Callable[[int, int], None] = False,
    *,
    order: int = 1,
    accuracy: int = 2,
    period: float | Mapping[Hashable, float] | None = None,
    datetime_unit: str | None = None,
    threads: int | None = None,
    memory: int = 512 * 2**20,
    scheduler: Any = None,
    nan: str = "propagate",
    smooth: str | None = None,
    geometry: str = "cartesian",
    lat: Hashable | None = None,
    lon: Hashable | None = None,
    radius: float | None = None,
) -> xr.Dataset:
    """Write the gradients of a Zarr store's (or a NetCDF file's) variables to a new Zarr store.

    The source (as written by ``xarray.Dataset.to_zarr``, Zarr format 2 or 3, a local
    path or an fsspec URL; or a local file that ``xarray.open_dataset`` opens with an
    installed engine, such as NetCDF-4 with ``pip install 'bigrad[netcdf]'``) is read
    once, block by block, and never written to; memory stays bounded whatever its
    size.  Values equal ``xarray``'s ``differentiate`` of the source loaded in memory.

    The blocks are the source's write units: a Zarr array's chunks (or shards); a file
    variable's own chunks (HDF5 chunking), or, for a variable stored contiguous, whole
    trailing dimensions and as many leading rows as fit 32 MiB.  The outputs are
    chunked as the blocks; a file's outputs get zarr's default compressor and, for a
    resume, the file's size and modification time are checked.

    Parameters
    ----------
    source : str or path-like
        A Zarr store (a local directory or an fsspec URL such as ``s3://...``) or a
        local file any installed xarray engine opens (NetCDF, HDF5).
    target : str or path-like
        The Zarr store to write: a local directory or an fsspec URL.  Source and
        target must differ and neither may lie inside the other.
    variables : hashable or list of hashable, optional
        Data variables to differentiate; by default every numeric one that has any of
        ``dims``.
    dims : hashable or list of hashable, optional
        Dimensions (or 1-D coordinates) to differentiate along; all by default.
        Spacing comes from the coordinates as in ``Dataset.differentiate``.
    edge_order : {1, 2}, optional
        Accuracy of numpy's one-sided differences at the ends (first derivatives of
        accuracy 2 only).
    periodic : bool, hashable or list of hashable, optional
        Dimensions that wrap round (``True``: all); the period of a CF longitude is
        inferred as 360.
    mode : {"w-", "w", "resume"}, optional
        ``"w-"`` refuses an existing target, ``"w"`` replaces a Zarr store (never a
        directory that is not one), ``"resume"`` finishes an interrupted run of the
        same job, skipping the blocks it wrote (a missing target starts afresh, a
        finished one is left as it is).
    order : {1, 2}, keyword-only
        The derivatives' order: outputs ``d{var}_d{dim}`` or ``d2{var}_d{dim}2``.
    accuracy : {2, 4, 6}, keyword-only
        Order of accuracy of the stencils (as :func:`bigrad.derivative`); ``order=1,
        accuracy=2`` is ``np.gradient``'s.
    period : float or mapping of {hashable: float}, keyword-only
        Period of periodic coordinates other than a CF longitude, e.g. ``{"x": 100.0}``.
    datetime_unit : str, keyword-only
        Unit of a time coordinate's spacing (``"h"``, ``"D"``, ...), as in
        ``Dataset.differentiate``.
    nan : {"propagate", "one-sided"}, keyword-only
        ``"one-sided"`` differentiates every run of finite values alone, as
        :func:`bigrad.gradient` does with ``nan="one-sided"`` (round a periodic
        dimension a run may cross its ends).
    smooth : str, keyword-only
        A smoothing derivative instead of differences: ``"savgol:WINDOW:POLYORDER"``
        (:func:`bigrad.savgol_derivative`, ``interp`` ends) or ``"gaussian:SIGMA"``
        (:func:`bigrad.gaussian_derivative`, sigma in the coordinate's units,
        ``reflect`` ends); evenly spaced coordinates only, not with ``periodic``,
        ``nan`` or ``accuracy``.
    geometry : {"cartesian", "sphere", "auto"}, keyword-only
        ``"sphere"``: the gradient in metres on a latitude/longitude grid in degrees,
        ``d{var}_dx`` (eastward) and ``d{var}_dy`` (northward) in "<units> m-1", equal
        to ``da.bigrad.geospatial_gradient(nan=nan)`` (second-order ends; not with
        ``order``, ``smooth``, ``period`` or ``datetime_unit``); ``"auto"``: the sphere
        when ``dims`` are a CF latitude and longitude; ``"cartesian"`` (default):
        along each of ``dims``.
    lat, lon : hashable, keyword-only
        On the sphere: the latitude and longitude coordinates, if not found from CF
        attributes.
    radius : float, keyword-only
        On the sphere: its radius in metres (:data:`bigrad.EARTH_RADIUS` by default).
    progress : bool or callable, optional
        ``True`` draws a progress bar on stderr; a callable is called as
        ``progress(blocks_done, blocks_total)`` after each block.
    threads : int, optional
        Worker threads, at least 1; the number of CPUs by default.
    memory : int, optional
        Bytes of input blocks that may be read ahead and held (default 512 MiB), beyond
        one per thread.  A smaller value caps memory at the cost of reading some blocks
        twice (once for their faces).
    scheduler : str or distributed.Client, optional
        Run the work on a dask.distributed cluster instead of local threads: the
        address of its scheduler (``"tcp://host:8786"``), a ``Client`` (left open), or
        ``"local:N"`` to start a ``LocalCluster`` of ``N`` worker processes for this
        run and close it after.  The workers must see ``source`` and ``target`` at the
        same paths or URLs.  Each worker task reads its own block; only the thin faces
        a neighbour needs move between workers, and no array data comes through this
        process.  A worker lost mid-run costs its tasks, which run again elsewhere.
        ``threads`` is then the number of tasks kept in flight (default: the
        cluster's worker threads).

    Returns
    -------
    xarray.Dataset
        The target, opened lazily: variables ``d{var}_d{dim}`` with the source's dims,
        coordinates and chunking, attributes with units (e.g. ``"K m-1"``), the
        source's compressors, metadata consolidated.

    Raises
    ------
    FileExistsError
        The target exists and ``mode`` does not allow replacing or resuming it, or
        another run holds it (``bigrad.io.lock.LockedError``, naming that run).
    FileNotFoundError, ValueError, TypeError
        Before the target is touched: a missing source or one that neither Zarr nor
        an installed xarray engine opens, a source with pickled/object arrays, source and target the same, an
        unknown variable or dim, a variable, dimension or coordinate name holding
        ``/``, ``\\``, ``..`` or NUL or longer than 255 bytes, ``threads`` not a
        positive integer, an empty selection, a resume of a different job.
    ValueError
        A resume (or a run about to finish) whose source changed since the run began
        (``bigrad.io.manifest.SourceChangedError``, naming the first file that differs);
        a source chunk that cannot be read or decoded (naming variable and chunk key).
    OSError
        The target's file system is full (saying how much the outputs need and what
        is free), read-only, or refuses a name.
    RuntimeError
        The cluster cannot be reached within 30 s, or its workers die running a task
        (``bigrad.io.errors.ClusterError``).

    Notes
    -----
    What a run guarantees, whatever kills it and when:

    - one writer: a local target is locked (``TARGET/.bigrad.lock``) for the whole
      run; a dead run's lock is taken over by ``mode="resume"`` (or ``"w"``), never
      another host's;
    - the target reads as unfinished until the run ends: ``open_gradient`` refuses
      it, and the root and every output carry ``"bigrad:status"`` for plain xarray;
      the consolidated metadata is written only once every block and attribute is;
    - a resume ends with the same bytes as a run never interrupted, and refuses a
      source whose files changed in size or modification time since the run began.
      That check costs one ``stat`` per source file (of the arrays read) when the
      run begins, resumes and finishes, and ~60 bytes per file in the target until
      it ends; it misses a change that keeps both size and time of every file.
    - a resume of a finished target does nothing and succeeds.

    Examples
    --------
    >>> import numpy as np, xarray as xr, bigrad, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> x = np.arange(6.0)
    >>> xr.Dataset({"T": ("x", x**2)}, coords={"x": x}).to_zarr(f"{d}/in.zarr")  # doctest: +ELLIPSIS
    <...>
    >>> out = bigrad.gradient_zarr(f"{d}/in.zarr", f"{d}/out.zarr")
    >>> out.dT_dx.values
    array([1., 2., 4., 6., 8., 9.])
    """
    src_loc, tgt_loc, opened = _locations(source, target, mode, threads, scheduler)
    ds, reader = opened.ds, opened.reader
    spec = check_spec(order, accuracy, edge_order)
    g = _gradient_geometry(ds, dims, geometry, lat, lon)
    if g is not None:
        _check_sphere_options(order=order, smooth=smooth, period=period,
                              datetime_unit=datetime_unit)  # fmt: skip
        wrap = _wrap(periodic, g)
        grads, jobs, names = _sphere_gradient(opened, variables, g, radius, accuracy, wrap, nan)
        job = _job_record(src_loc, jobs, check_spec(1, accuracy), wrap, _fingerprint(opened, names),
                          nan)  # fmt: skip
        job.update(geometry="sphere", radius=radius, lat=str(g.y_key), lon=str(g.x_key))
        return _execute(opened, src_loc, tgt_loc, jobs, grads, job, names, mode, progress,
                        threads, memory, scheduler)  # fmt: skip
    stencil: Stencils = nan_stencil(spec, nan)
    if smooth is not None:
        if nan != "propagate" or accuracy != 2:
            raise argument_error(
                ValueError, "{smooth} does not combine with {nan} or {accuracy}; drop those",
                smooth=Arg("smooth", subject=True), nan=Arg("nan"), accuracy=Arg("accuracy"),
            )  # fmt: skip
        stencil = smooth_stencils(ds, dims, periodic, smooth, order)
    axes = _Axes(datetime_unit, periodic, period)
    grads, spacings, names = _select(ds, variables, dims, stencil, axes)
    _check_all_names(ds, grads, names)
    jobs = [
        _plan_variable(reader[name].variable, name, spacings, stencil, _write_unit(opened, name))
        for name in names
    ]
    job = _job_record(src_loc, jobs, spec, periodic, _fingerprint(opened, names), nan)
    job.update(period=_jsonable(period), datetime_unit=datetime_unit)
    if smooth is not None:
        job["smooth"] = smooth
    return _execute(opened, src_loc, tgt_loc, jobs, grads, job, names, mode, progress, threads,
                    memory, scheduler)  # fmt: skip


def _locations(source: Any, target: Any, mode: str, threads: Any,
               scheduler: Any) -> tuple[_store.Location, _store.Location, _Opened]:  # fmt: skip
    """The checks every run makes before anything else, and the opened source."""
    _check_mode(mode)
    _check_threads(threads)
    _cluster.check_scheduler(scheduler)
    _check_target_name(target)
    src_loc, tgt_loc = _store.locate(source), _store.locate(target)
    if src_loc.contains(tgt_loc) or tgt_loc.contains(src_loc):
        raise ValueError(
            f"source {src_loc} and target {tgt_loc} are the same store or one holds the "
            "other; write the outputs to a separate store"
        )
    return src_loc, tgt_loc, _open_source(src_loc)


def _execute(opened: _Opened, src_loc: _store.Location, tgt_loc: _store.Location,
             jobs: list[_Job], grads: xr.Dataset, job: dict[str, Any], names: list[Hashable],
             mode: str, progress: Any, threads: int | None, memory: int,
             scheduler: Any) -> xr.Dataset:  # fmt: skip
    """Run ``jobs`` into the target, locked, on local threads or a cluster; every
    argument is checked by now, and nothing is written yet."""
    ds, reader = opened.ds, opened.reader
    # the kernels load while the target is set up and the first blocks are read (here,
    # where local threads will use them; a cluster's workers load their own)
    kinds = {(reader[j.sources[0]].dtype, reader[j.sources[0]].ndim) for j in jobs
             if _compiles(j)}  # fmt: skip
    for dtype, ndim in kinds if scheduler is None else ():
        threading.Thread(target=_preload, args=(dtype, ndim), daemon=True).start()
    for j in jobs if scheduler is None else ():
        if j.compute is not None and _compiles(j):
            threading.Thread(
                target=_warm, args=(j, reader[j.sources[0]].dtype), daemon=True
            ).start()
    coords = [d for n in names for d in ds[n].dims if d in ds.variables]
    src = _Source(src_loc, opened.store, [*names, *coords], opened.path)
    run = _Run(jobs, grads, ds, reader, src, opened.zarr_format, progress, memory)
    # the cluster is reached before the target is touched: a wrong address costs nothing
    with _cluster.open_runner(scheduler, threads) as (runner, n_threads), _locked(tgt_loc, mode):
        store = tgt_loc.store(read_only=False)
        try:
            if run.write(tgt_loc, store, mode, job, runner, n_threads) == "complete":
                _log.info(
                    "target %s is already complete; nothing to resume", tgt_loc,
                    extra={"bigrad_complete": True},
                )  # fmt: skip
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT) and tgt_loc.local is not None:
                raise disk_full(e, tgt_loc.local, _output_bytes(jobs, grads)) from e
            raise
    return open_gradient(str(tgt_loc))


def _gradient_geometry(ds: xr.Dataset, dims: Names, geometry: Any, lat: Any,
                       lon: Any) -> xsphere.Geometry | None:  # fmt: skip
    """The sphere's grid when ``geometry`` asks for it (``"auto"``: when ``dims`` are a
    CF latitude and longitude), else None."""
    if geometry not in xsphere.GEOMETRIES:
        raise argument_error(ValueError, "{g} " + literal(f"must be one of {xsphere.GEOMETRIES}"),
                             g=Arg("geometry", geometry))  # fmt: skip
    if geometry == "cartesian":
        return None
    if geometry == "auto":
        if dims is None:
            return None
        with contextlib.suppress(ValueError):
            g = xsphere.find_geometry(ds, "sphere", lat, lon)
            keys = set(as_names(dims))
            if keys in ({g.x_dim, g.y_dim}, {g.x_key, g.y_key}):
                return g
        return None
    g = xsphere.find_geometry(ds, "sphere", lat, lon)
    if dims is not None and set(as_names(dims)) not in ({g.x_dim, g.y_dim}, {g.x_key, g.y_key}):
        raise argument_error(
            ValueError,
            "{g} " + literal(f"differentiates along {g.y_key!r} and {g.x_key!r} only; ")
            + "drop {dims}",
            g=Arg("geometry", "sphere"), dims=Arg("dims"),
        )  # fmt: skip
    return g


def _check_sphere_options(**given: Any) -> None:
    defaults = {"order": 1, "smooth": None, "period": None, "datetime_unit": None}
    for name, value in given.items():
        if value != defaults[name]:
            raise argument_error(ValueError, "{arg} is not available on the sphere; drop it",
                                 arg=Arg(name, subject=True))  # fmt: skip


def _wrap(periodic: Any, g: xsphere.Geometry) -> bool | None:
    """Longitude's wrap on the sphere from ``periodic``: None (when it covers the
    circle), a bool, or the longitude named."""
    if periodic is None or isinstance(periodic, bool):
        return periodic
    names = set(as_names(periodic))
    if not names <= {g.x_key, g.x_dim}:
        raise argument_error(
            ValueError,
            literal(f"on the sphere only the longitude {g.x_key!r} can wrap, got ")
            + "{p}",
            p=Arg("periodic", sorted(map(str, names))),
        )  # fmt: skip
    return True


def _chunks(shape: tuple[int, ...], unit: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    return tuple(
        tuple(min(u, n - s) for s in range(0, n, u)) for n, u in zip(shape, unit, strict=True)
    )


def _template(ds: xr.Dataset, names: Sequence[Hashable]) -> xr.Dataset:
    # the template's data is never computed (the stream writes the data): one dask chunk
    # per variable keeps its graph a few tasks, however many blocks the store has
    ds = ds.copy()
    for name in names:
        ds[name] = ds[name].chunk(-1)
    return ds


def _sphere_gradient(opened: _Opened, variables: Names, g: xsphere.Geometry, radius: Any,
                     accuracy: Any, wrap: Any,
                     nan: str) -> tuple[xr.Dataset, list[_Job], list[Hashable]]:  # fmt: skip
    """The template, jobs and variables of the gradient in metres."""
    ds = opened.ds
    if variables is None:
        names = [k for k, v in ds.data_vars.items()
                 if {g.x_dim, g.y_dim} <= set(v.dims) and v.dtype.kind in "iuf"]  # fmt: skip
        if not names:
            raise ValueError(f"no data variable of numbers has dims {str(g.y_dim)!r} and "
                             f"{str(g.x_dim)!r}; the data variables are "
                             f"{tuple(map(str, ds.data_vars))}")  # fmt: skip
    else:
        names = as_names(variables)
        if not names:
            raise ValueError("variables is empty; name at least one data variable")
    missing = [n for n in names if n not in ds.data_vars]
    if missing:
        raise KeyError(f"no data variable {missing[0]!r} in the source; the data variables "
                       f"are {tuple(map(str, ds.data_vars))}")  # fmt: skip
    lazy = _template(ds, names)
    outs = [lazy[n].bigrad.geospatial_gradient(g.y_key, g.x_key, radius, accuracy, wrap,
                                               "sphere", nan) for n in names]  # fmt: skip
    grads = xr.Dataset({k: o for out in outs for k, o in out.data_vars.items()},
                       attrs=dict(ds.attrs))  # fmt: skip
    _check_all_names(ds, grads, names)
    jobs = []
    for name, out in zip(names, outs, strict=True):
        var = opened.reader[name].variable
        unit = _write_unit(opened, name)
        kw = xsphere.sphere_kwargs(ds, g, var, radius, accuracy, wrap)
        op = sphere.gradient_blocks(var.shape, var.dtype, _chunks(var.shape, unit), **kw,
                                    nan=nan)  # fmt: skip
        outputs = tuple(map(str, out.data_vars))
        jobs.append(_Job(name, outputs, op.plan, op.rules, unit, compute=op.compute))
    return grads, jobs, names


def kinematics_zarr(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    quantities: str | Sequence[str] = "vorticity",
    u: Hashable = "u",
    v: Hashable = "v",
    mode: Mode = "w-",
    progress: bool | Callable[[int, int], None] = False,
    *,
    lat: Hashable | None = None,
    lon: Hashable | None = None,
    radius: float | None = None,
    accuracy: int = 2,
    periodic: bool | Hashable | None = None,
    nan: str = "propagate",
    threads: int | None = None,
    memory: int = 512 * 2**20,
    scheduler: Any = None,
) -> xr.Dataset:
    """Write the vorticity and/or divergence of a store's winds on the sphere to a new
    Zarr store.

    As :func:`gradient_zarr` (a Zarr store or a file xarray opens, read block by block
    in bounded memory and never written to; resume, lock, cluster), for the winds
    ``u`` (eastward) and ``v`` (northward) on a latitude/longitude grid in degrees:
    each block of ``u`` and of ``v`` is read once for every quantity.  Values equal
    ``ds.bigrad.vorticity(u, v)`` and ``ds.bigrad.divergence(u, v)`` of the source
    loaded in memory (:func:`bigrad.vorticity`; NaN at the poles).  The blocks are
    ``u``'s write units; ``v`` has ``u``'s dims in the same order.

    Parameters
    ----------
    source, target, mode, progress, threads, memory, scheduler
        As in :func:`gradient_zarr`.
    quantities : {"vorticity", "divergence"} or a list of both, optional
        The outputs, named so, with units "s-1" for winds in "m s-1" and long_name
        "relative vorticity" or "divergence".
    u, v : hashable, optional
        The wind variables (default ``"u"`` and ``"v"``).
    lat, lon : hashable, keyword-only
        The latitude and longitude coordinates, if not found from CF attributes.
    radius : float, keyword-only
        The sphere's radius in metres (:data:`bigrad.EARTH_RADIUS` by default).
    accuracy : {2, 4, 6}, keyword-only
        Order of accuracy of the stencils.
    periodic : bool or hashable, keyword-only
        Whether longitude wraps round (or its name); by default when it covers the circle.
    nan : {"propagate", "one-sided"}, keyword-only
        ``"one-sided"``: each run of finite values along latitude and longitude
        differentiated alone, as :func:`bigrad.vorticity` with ``nan="one-sided"``.

    Returns
    -------
    xarray.Dataset
        The target, opened lazily (as :func:`open_gradient`).

    Examples
    --------
    >>> import numpy as np, xarray as xr, bigrad, tempfile
    >>> d = tempfile.mkdtemp()
    >>> lat, lon = np.linspace(-60.0, 60.0, 5), np.arange(0.0, 360.0, 30.0)
    >>> u = 10 * np.cos(np.deg2rad(lat))[:, None] * np.ones(12)
    >>> ds = xr.Dataset({"u": (("lat", "lon"), u, {"units": "m s-1"}),
    ...                  "v": (("lat", "lon"), 0 * u, {"units": "m s-1"})},
    ...                 coords={"lat": ("lat", lat, {"units": "degrees_north"}),
    ...                         "lon": ("lon", lon, {"units": "degrees_east"})})
    >>> _ = ds.chunk(2).to_zarr(f"{d}/winds.zarr")
    >>> out = bigrad.kinematics_zarr(f"{d}/winds.zarr", f"{d}/zeta.zarr")
    >>> out.vorticity.attrs["units"], bool(out.vorticity.equals(ds.bigrad.vorticity("u", "v")))
    ('s-1', True)
    """
    src_loc, tgt_loc, opened = _locations(source, target, mode, threads, scheduler)
    ds = opened.ds
    qs = (quantities,) if isinstance(quantities, str) else tuple(quantities)
    if not qs or not set(qs) <= set(sphere.WINDS) or len(set(qs)) < len(qs):
        raise argument_error(ValueError, "{q} " + literal(f"must be one or both of {sphere.WINDS}"),
                             q=Arg("quantities", list(qs)))  # fmt: skip
    g = xsphere.find_geometry(ds, "sphere", lat, lon)
    wrap = _wrap(periodic, g)
    lazy = _template(ds, [n for n in (u, v) if n in ds.data_vars])
    kw: dict[str, Any] = {"lat": g.y_key, "lon": g.x_key, "radius": radius,
                          "accuracy": accuracy, "periodic": wrap, "geometry": "sphere",
                          "nan": nan}  # fmt: skip
    outs = [getattr(lazy.bigrad, q)(u, v, **kw) for q in qs]
    grads = xr.Dataset({o.name: o for o in outs}, attrs=dict(ds.attrs))
    names = [u, v]
    _check_all_names(ds, grads, names)
    var_u, var_v = opened.reader[u].variable, opened.reader[v].variable
    if var_u.dims != var_v.dims:
        raise argument_error(
            ValueError,
            "{u} " + literal(f"has dims {var_u.dims} but ") + "{v} " + literal(f"has {var_v.dims}; "
            "out of core the winds need their dims in the same order (transpose one)"),
            u=Arg("u", u), v=Arg("v", v),
        )  # fmt: skip
    unit = _write_unit(opened, u)
    dtype = np.result_type(var_u.dtype, var_v.dtype)
    wind_kw = xsphere.sphere_kwargs(ds, g, var_u, radius, accuracy, wrap)
    op = sphere.wind_blocks(qs, var_u.shape, dtype, _chunks(var_u.shape, unit), **wind_kw,
                            nan=nan)  # fmt: skip
    jobs = [_Job(u, qs, op.plan, op.rules, unit, inputs=(u, v), compute=op.compute)]
    job = _job_record(src_loc, jobs, check_spec(1, accuracy), wrap, _fingerprint(opened, names),
                      nan)  # fmt: skip
    job.update(geometry="sphere", winds=[str(u), str(v)], radius=radius, lat=str(g.y_key),
               lon=str(g.x_key))  # fmt: skip
    return _execute(opened, src_loc, tgt_loc, jobs, grads, job, names, mode, progress, threads,
                    memory, scheduler)  # fmt: skip


@dataclass
class _Run:
    """One run's work on a locked target, from preparing it to finishing it."""

    jobs: list[_Job]
    grads: xr.Dataset
    ds: xr.Dataset
    reader: xr.Dataset
    src: _Source
    zarr_format: int
    progress: bool | Callable[[int, int], None]
    memory: int

    def write(
        self,
        loc: _store.Location,
        store: Any,
        mode: str,
        job: dict[str, Any],
        runner: TaskRunner | None,
        n_threads: int,
    ) -> str:
        """Prepare, stream, verify the source, finish; returns what there was to do."""
        state = _prepare_target(loc, store, mode, job, self.src)
        if state == "complete":
            # a kill after the job record went leaves the finished mark: tidy it
            _store.clear_marks(store)
            return state
        if state == "start":
            _write_template(store, self.grads, self.ds, self.jobs, self.zarr_format)
        if state in ("start", "stream"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                group = zarr.open_group(store, mode="r+", use_consolidated=False)
            readers = [
                _stacked(
                    [_Reader(self.reader[n].variable, str(n), self.src.store) for n in j.sources]
                )
                for j in self.jobs
            ]
            _stream_all(
                self.jobs, group, store, state == "stream", self.progress, runner, n_threads,
                self.memory, readers,
            )  # fmt: skip
            if runner is not None:
                # a worker killed mid-write leaves its temporary file; its task ran again
                _store.remove_partial_writes(store)
            # the source must not have changed while the blocks were read either
            raw = _store.get_key(store, _SOURCE_KEY)
            if raw is not None:
                _manifest.check_unchanged(json.loads(raw), self.src.manifest(), str(self.src.loc))
        _finish(store, self.zarr_format)
        return state


def _stream_all(
    jobs: list[_Job],
    group: Any,
    store: Any,
    resumed: bool,
    progress: bool | Callable[[int, int], None],
    runner: TaskRunner | None,
    n_threads: int,
    memory: int,
    readers: list[_Reader],
) -> None:
    total = sum(math.prod(j.plan.numblocks) for j in jobs)
    report = _progress_callback(progress, total)
    n_done = 0
    for j, reader in zip(jobs, readers, strict=True):
        done = _store.done_blocks(store, str(j.variable)) if resumed else set()
        n_done += len(done)

        def on_done(block: tuple[int, ...], var: str = str(j.variable)) -> None:
            nonlocal n_done
            _store.mark_done(store, var, block)
            n_done += 1
            report(n_done, total)

        report(n_done, total)
        targets = [group[out] for out in j.outputs]
        stream_gradient(
            reader,
            [_Unstacked(t) for t in targets] if len(j.sources) > 1 else targets,
            j.plan,
            j.rules,
            skip=done,
            on_done=on_done,
            threads=n_threads,
            runner=runner,
            budget=memory,
            compute=j.compute,
        )
    report(total, total, final=True)


def _compiles(job: _Job) -> bool:
    """Whether ``job``'s blocks may take the numba kernel (a stream's gradient, or a
    small block, takes numpy's)."""
    wide = job.compute is not None or any(stream_engine(r) is None for r in job.rules)
    return wide and math.prod(job.unit) >= kernels.AUTO_MIN_POINTS


def _preload(dtype: Any, ndim: int) -> None:
    # only a head start: whatever goes wrong here goes wrong again, and is reported,
    # when the blocks are computed
    with contextlib.suppress(Exception):
        kernels.preload(dtype, ndim)


def _warm(job: _Job, dtype: Any) -> None:
    """Run ``job``'s compute hook once on zeros shaped as its first block, so that the
    kernels its blocks take (per-point weights, adding into an output: other numba
    signatures than :func:`kernels.preload` loads) load beside the set-up, not in the
    first block."""
    plan = job.plan
    spec = block_spec(plan, job.rules, (0,) * len(plan.numblocks))
    starts = [(0, *itertools.accumulate(cs)) for cs in plan.chunks]

    def zeros(idx: tuple[int, ...]) -> np.ndarray:
        return np.zeros([s[i + 1] - s[i] for s, i in zip(starts, idx, strict=True)], dtype)

    with contextlib.suppress(Exception):  # only a head start, as _preload
        bundles = [extract_faces(zeros(n), plan.faces(n)) for n in spec.neighbours]
        for _ in job.compute(zeros((0,) * len(starts)), bundles, spec):
            pass


class _Reader:
    """Blocks of a lazily opened variable, decoded by xarray (mask, scale, offset); a
    block that cannot be read or decoded is reported with its variable and chunk key."""

    def __init__(self, var: xr.Variable, name: str = "", store: Any = None) -> None:
        self._var = var
        self._name = name
        self.dtype = var.dtype
        self.shape = var.shape
        self._store = store

    def __getitem__(self, region: tuple[slice, ...]) -> np.ndarray:
        try:
            return np.asarray(self._var[region].values)
        except MemoryError:
            raise
        except Exception as e:
            raise ChunkDecodeError(
                f"source variable {self._name!r}: chunk {self._chunk_key(region)} cannot be "
                f"read or decoded ({type(e).__name__}: {e}); the source store is damaged "
                "there: restore that chunk (or rewrite the variable), then retry"
            ) from e

    def _chunk_key(self, region: tuple[slice, ...]) -> str:
        meta: Any = None
        if self._store is not None:
            # opened only here, for naming a chunk in an error: each open costs a
            # metadata read, on every run
            with contextlib.suppress(Exception):
                meta = zarr.open_array(self._store, path=self._name, mode="r").metadata
        if meta is None:
            return f"at {tuple((s.start, s.stop) for s in region)}"
        grid = getattr(meta, "chunks", None) or meta.chunk_grid.chunk_shape
        coords = tuple(s.start // c for s, c in zip(region, grid, strict=True))
        return f"{self._name}/{meta.encode_chunk_key(coords)}"


class _Stacked:
    """Several variables of one shape read for the same region into one array, stacked
    along a new first axis (the region's first slice is that axis): each is read once
    per block however many outputs need it."""

    def __init__(self, readers: Sequence[_Reader]) -> None:
        self._readers = list(readers)
        self.dtype = np.result_type(*(r.dtype for r in readers))
        self.shape = (len(readers), *readers[0].shape)

    def __getitem__(self, region: tuple[slice, ...]) -> np.ndarray:
        shape = tuple(s.stop - s.start for s in region[1:])
        out = np.empty((len(self._readers), *shape), self.dtype)
        for k, reader in enumerate(self._readers):
            out[k] = reader[region[1:]]
        return out


def _stacked(readers: list[_Reader]) -> Any:
    return readers[0] if len(readers) == 1 else _Stacked(readers)


class _Unstacked:
    """An output array written by regions of a stacked plan: the stacking axis dropped."""

    def __init__(self, array: Any) -> None:
        self._array = array
        self.compressors = getattr(array, "compressors", ())

    def __setitem__(self, region: tuple[slice, ...], value: Any) -> None:
        self._array[region[1:]] = value


def open_gradient(target: str | os.PathLike[str]) -> xr.Dataset:
    """Open the output of :func:`gradient_zarr` lazily, refusing an unfinished one.

    Parameters
    ----------
    target : str or path-like
        The store: a local directory or an fsspec URL.

    Returns
    -------
    xarray.Dataset
        Opened read-only, with dask arrays chunked as stored.

    Raises
    ------
    IncompleteStoreError
        The run that writes the store has not finished (it was killed, or is still
        running): finish it with ``mode="resume"``.

    Examples
    --------
    >>> import numpy as np, xarray as xr, bigrad, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = xr.Dataset({"T": ("x", np.arange(4.0) ** 2)}).to_zarr(f"{d}/in.zarr")
    >>> _ = bigrad.gradient_zarr(f"{d}/in.zarr", f"{d}/out.zarr")
    >>> bigrad.open_gradient(f"{d}/out.zarr").dT_dx.values
    array([1., 2., 4., 5.])
    """
    loc = _store.locate(target)
    store = loc.store(read_only=True)
    if loc.local is not None and not loc.local.exists():
        raise FileNotFoundError(f"{loc} does not exist")
    job = _store.read_job(store)
    if job is not None:
        raise IncompleteStoreError(
            f"{loc} is incomplete: the bigrad run writing it has not finished (killed or "
            f"still running); finish it with gradient_zarr(..., mode='resume') or "
            f"`bigrad gradient {job.get('source', 'SOURCE')} {loc} --mode resume`"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds: xr.Dataset = xr.open_zarr(store, chunks={}, consolidated=True)
    return ds


def _progress_callback(
    progress: bool | Callable[[int, int], None], total: int
) -> Callable[..., None]:
    if callable(progress):
        user = progress

        def call(done: int, total: int, final: bool = False) -> None:
            user(done, total)

        return call
    if not progress:
        return lambda *a, **k: None
    from bigrad.io.progress import ProgressBar

    bar = ProgressBar(total)
    return bar.update
