"""Fused numba kernels: one pass over a block and its halo planes -> every component.

Imported lazily by :func:`bigrad._kernels.gradient_block`; nothing else in bigrad needs
numba.  This module turns a block, its halos and its stencils into the arrays the
jitted row kernels of :mod:`bigrad._fused` take: the block seen as 3-D ``(n0, n1, n2)``,
C-contiguous (1-D and 2-D blocks get leading axes of length one; a 4-D block runs as
3-D slabs, then once more for its first axis), and every point's rule tabulated per axis
(``_axis_table``).  Rows are taken in chunks of about ``_CHUNK_POINTS`` points.

The input is read from memory about once and each output is written once; no copy of
block + halo is made.  Large outputs are allocated at offsets from the input chosen by
:mod:`bigrad._placement`, so that the kernels' read and write streams do not collide in
the caches.  Weights are float64 and products are formed in float64
registers, so float32 data gives numpy's numbers to float32 rounding without float64
temporaries of array size.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np

from bigrad._fused import rows_parallel, rows_serial
from bigrad._placement import LINE_BYTES, empty_at, output_offsets, spread
from bigrad._stencil import AxisStencil
from bigrad._stores import X86_64

__all__ = ["SUPPORTED_KINDS", "fused_gradient"]

#: input dtypes (after integers become float64) the kernels handle; others go to numpy
SUPPORTED_KINDS = frozenset({"f4", "f8", "c8", "c16"})

_NDIM = 3
#: points per chunk of rows: a chunk's input rows stay in cache from one component
#: to the next
_CHUNK_POINTS = 16384
#: chunks this many times larger where every row may be fused (the rows of a chunk
#: are then read once): fewer calls per row; float32 non-uniform took 0.95x the time
#: on a 512**3 array and on its 64 MiB dask blocks (the other cases 0.99-1.02x)
_FUSED_CHUNKS = 4
#: outputs of a kernel call at least this large (together) are written by streaming
#: stores: larger than the last-level cache, they would leave it before being read
#: anyway (32 MiB on the development machine)
_STREAM_MIN_BYTES = 32 << 20
#: outputs at least this large are placed apart from the input (:mod:`bigrad._placement`);
#: smaller ones stay in cache and are not worth the 64 KiB each placement costs
_PLACE_MIN_BYTES = 4 << 20


def _real_float(x: Any) -> float | None:
    """``x`` as a Python float, or None when float64 cannot hold it faithfully."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and a.dtype.itemsize > 8):
        return None
    return float(a)


def _float32_divisor(divisor: Any, dtype: np.dtype[Any]) -> np.float32 | None:
    """``divisor`` as float32 where numpy divides ``dtype`` data by it in float32
    (float32 data, ``divisor`` a Python number or a float32), else None."""
    if dtype != np.float32 or (np.ones(1, dtype=np.float32) / divisor).dtype != np.float32:
        return None
    return np.float32(divisor)


def _reciprocal(divisor: Any, dtype: np.dtype[Any]) -> float | None:
    """The float64 weight standing for numpy's division of ``dtype`` data by
    ``divisor``, or None when float64 cannot hold ``divisor``.

    For a float32 division it is the reciprocal of the float32 divisor: a float32
    difference times it, rounded to float64 and then to float32, is numpy's float32
    quotient (the quotient of two float32 numbers is never within 2**-50 of a
    float32 rounding boundary, farther than the two float64 roundings can move it).
    """
    d32 = _float32_divisor(divisor, dtype)
    d = float(d32) if d32 is not None else _real_float(divisor)
    return None if d is None else 1.0 / d


def _axis_table(st: AxisStencil, m: int, dtype: np.dtype[Any]) -> tuple[Any, Any, Any] | None:
    """Offsets ``(3, m)``, weights ``(3, m)`` and modes ``(m,)`` of the ``m`` points
    of one axis of a block of ``dtype`` data (the rules of :mod:`bigrad._rows`), or
    None when the spacing is not a real number float64 can hold."""
    offs = np.zeros((3, m), dtype=np.int64)
    weights = np.zeros((3, m), dtype=np.float64)
    modes = np.zeros(m, dtype=np.int8)
    if st.coef is None:
        # the expression np.gradient divides by, with its type
        w = _reciprocal(2.0 * st.dx, dtype)
        if w is None:
            return None
        offs[0], offs[1] = -1, 1
        weights[0] = w
    else:
        if st.coef.dtype.kind != "f" or st.coef.dtype.itemsize > 8:
            return None
        offs[:] = np.array([[-1], [0], [1]])
        weights[:] = st.coef[:m].T
        modes[:] = 1
    if st.periodic or m == 0:
        return offs, weights, modes
    for i, first in ((0, True), (m - 1, False)):
        g = st.start + i
        if g != (0 if first else st.n - 1):
            continue
        if st.edge_order == 1:
            w = _reciprocal(st.edge_dx[0 if first else 1], dtype)
            if w is None:
                return None
            offs[:, i] = (0, 1, 0) if first else (-1, 0, 0)
            weights[:, i] = (w, 0.0, 0.0)
            modes[i] = 0
        else:
            assert st.edge_coef is not None
            ws = [_real_float(w) for w in st.edge_coef[0 if first else 1]]
            if any(w is None for w in ws):
                return None
            offs[:, i] = (0, 1, 2) if first else (-2, -1, 0)
            weights[:, i] = ws
            modes[i] = 1
    return offs, weights, modes


def _pack(tables: Sequence[tuple[Any, Any, Any] | None]) -> tuple[Any, Any, Any, Any]:
    """The per-axis tables of a 3-D view (None where an axis is not requested) as the
    kernels take them: offsets, weights, modes and the requested flags."""
    width = max([t[2].shape[0] for t in tables if t is not None])
    offs = np.zeros((_NDIM, 3, width), dtype=np.int64)
    weights = np.zeros((_NDIM, 3, width), dtype=np.float64)
    modes = np.zeros((_NDIM, width), dtype=np.int8)
    requested = np.zeros(_NDIM, dtype=np.bool_)
    for k, table in enumerate(tables):
        if table is not None:
            n = table[2].shape[0]
            offs[k, :, :n], weights[k, :, :n], modes[k, :n] = table
            requested[k] = True
    return offs, weights, modes, requested


def _run(
    f: np.ndarray,
    halos: Sequence[tuple[np.ndarray, np.ndarray] | None],
    packed: tuple[Any, Any, Any, Any],
    outs: Sequence[np.ndarray | None],
    parallel: bool,
    divisors: Sequence[Any],
) -> None:
    """One kernel call on a 3-D C-ordered ``f``: per axis its halo, output and float32
    divisor (None where the axis is not requested or has none), and the tables of
    :func:`_pack`."""
    offs, weights, modes, requested = packed
    empty = np.empty((0,) * _NDIM, dtype=f.dtype)
    los, his, arrays = [empty] * _NDIM, [empty] * _NDIM, [empty] * _NDIM
    for k, (halo, out) in enumerate(zip(halos, outs, strict=True)):
        if requested[k]:
            assert halo is not None and out is not None
            los[k], his[k] = halo
            arrays[k] = out
    points = _CHUNK_POINTS * (_FUSED_CHUNKS if requested[1] and requested[2] else 1)
    size = max(1, points // f.shape[2])
    stream = _streams([a for a, r in zip(arrays, requested, strict=True) if r])
    divs = _kernel_divisors(f.dtype, divisors, requested)
    args = (f, tuple(los), tuple(his), offs, weights, modes, requested, tuple(arrays))
    if parallel:
        taken = np.zeros(1, dtype=np.int64)
        rows_parallel(*args, size, stream, divs, numba.get_num_threads(), taken)
    else:
        rows_serial(*args, size, stream, divs)


def _kernel_divisors(dtype: np.dtype[Any], divisors: Sequence[Any], requested: Any) -> Any:
    """The kernels' ``divs``: one float32 divisor per axis of the 3-D view when every
    requested axis is uniform with one (:func:`_float32_divisor`), else empty."""
    lead = [None] * (_NDIM - len(divisors))
    full = lead + list(divisors)
    if len(divisors) == 0 or any(r and d is None for r, d in zip(requested, full, strict=True)):
        return np.zeros(0, dtype=dtype)
    return np.array([1 if d is None else d for d in full], dtype=dtype)


def _streams(outs: Sequence[np.ndarray]) -> bool:
    """Whether the kernels write ``outs`` by streaming stores: real, too large to stay
    in cache, on a machine where the stores are vectorized, laid out alike to a cache
    line (one span of whole lines per row serves every output) and spread apart in
    memory (:func:`bigrad._placement.spread`; outputs at one offset modulo 4 KiB ran
    5-7x slower streamed)."""
    first = outs[0]
    return (
        X86_64
        and first.dtype in (np.float64, np.float32)
        and sum(o.nbytes for o in outs) >= _STREAM_MIN_BYTES
        and all(o.strides == first.strides for o in outs)
        and len({o.ctypes.data % LINE_BYTES for o in outs}) == 1
        and first.ctypes.data % first.itemsize == 0
        and spread(outs)
    )


def fused_gradient(
    f: np.ndarray,
    halos: Sequence[tuple[np.ndarray, np.ndarray]],
    stencils: Sequence[AxisStencil],
    axes: Sequence[int],
    otype: np.dtype[Any],
    parallel: bool,
    out: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray] | None:
    """Every component of one block in one pass, or None if the case is not handled.

    ``f`` and the halos are numpy arrays of one dtype in :data:`SUPPORTED_KINDS`;
    ``otype`` is the result dtype.  ``parallel`` spreads rows over numba's threads
    (leave it off inside dask tasks, which are already run in parallel); it only takes
    effect in the main thread.  ``out`` (one array per axis, shaped like ``f``, of
    dtype ``otype``, in ``f``'s memory order) receives the results instead of new
    arrays.
    """
    nd = f.ndim
    kind = f.dtype.str[1:]
    if not 1 <= nd <= _NDIM + 1 or kind not in SUPPORTED_KINDS or np.dtype(otype) != f.dtype:
        return None
    if not f.flags.c_contiguous and f.T.flags.c_contiguous:
        # Fortran order: work on the transposed (C-ordered) view; results come back
        # transposed, Fortran-ordered like np.empty_like(f)
        outs = fused_gradient(
            f.T,
            [(lo.T, hi.T) for lo, hi in halos],
            stencils,
            [nd - 1 - a for a in axes],
            otype,
            parallel,
            None if out is None else [o.T for o in out],
        )
        if outs is None:
            return None
        return list(out) if out is not None else [o.T for o in outs]
    f = np.ascontiguousarray(f)
    tables: list[Any] = [None] * nd
    own: list[Any] = [None] * nd
    results: list[Any] = [None] * nd
    copy_back = []  # ``out`` arrays the kernel cannot write in place
    given = list(out) if out is not None else [None] * len(axes)
    offsets = iter(_placement(f, otype, len(axes)))
    divisors: list[Any] = [None] * nd
    for axis, (lo, hi), st, target in zip(axes, halos, stencils, given, strict=True):
        tables[axis] = _axis_table(st, f.shape[axis], f.dtype)
        if tables[axis] is None:
            return None
        if st.coef is None:
            divisors[axis] = _float32_divisor(2.0 * st.dx, f.dtype)
        own[axis] = (_as_kernel_array(lo, f.dtype), _as_kernel_array(hi, f.dtype))
        if target is not None and target.flags.c_contiguous and target.dtype == otype:
            results[axis] = target
        else:
            offset = next(offsets)
            results[axis] = (
                np.empty(f.shape, dtype=otype) if offset is None else empty_at(f, offset, otype)
            )
            if target is not None:
                copy_back.append((target, axis))
    if f.size:
        # numba's default (workqueue) threading layer aborts the process when parallel
        # kernels are launched from two threads at once: only the main thread fans out
        parallel = parallel and threading.current_thread() is threading.main_thread()
        if nd <= _NDIM:
            lead = (1,) * (_NDIM - nd)
            _run(
                f.reshape(lead + f.shape),
                [None] * (_NDIM - nd)
                + [None if h is None else tuple(a.reshape(lead + a.shape) for a in h) for h in own],
                _pack([None] * (_NDIM - nd) + tables),
                [None] * (_NDIM - nd)
                + [None if o is None else o.reshape(lead + f.shape) for o in results],
                parallel,
                divisors,
            )
        else:
            _run_4d(f, own, tables, results, parallel, divisors)
    for target, axis in copy_back:
        target[...] = results[axis]
    return [
        results[axis] if target is None else target
        for axis, target in zip(axes, given, strict=True)
    ]


def _placement(f: np.ndarray, otype: np.dtype[Any], count: int) -> tuple[int | None, ...]:
    """Offsets from ``f`` (C-ordered) at which to allocate ``count`` outputs, or None
    where they are small enough to leave to numpy."""
    if f.size * np.dtype(otype).itemsize < _PLACE_MIN_BYTES:
        return (None,) * count
    # the kernels read rows across the last three axes (a 4-D block goes slab by slab)
    return output_offsets(f.strides[-3:-1], count)


def _as_kernel_array(a: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """``a`` as the kernels take it: C-ordered, writable, of ``dtype`` (copied if not),
    so that every halo has one numba type and one compiled signature serves them all."""
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, dtype=dtype, order="C")


def _run_4d(
    f: np.ndarray,
    halos: list[Any],
    tables: list[Any],
    outs: list[Any],
    parallel: bool,
    divisors: list[Any],
) -> None:
    """A 4-D block in two passes: axes 1-3 slab by slab along axis 0, then axis 0 on
    the view that merges axes 1 and 2 (the input is read twice)."""
    n0, n1, n2, n3 = f.shape
    if any(t is not None for t in tables[1:]):
        packed = _pack(tables[1:])  # the same for every slab
        for i in range(n0):
            _run(
                f[i],
                [None if h is None else (h[0][i], h[1][i]) for h in halos[1:]],
                packed,
                [None if o is None else o[i] for o in outs[1:]],
                parallel,
                divisors[1:],
            )
    if tables[0] is not None:
        merged = (n0, n1 * n2, n3)
        lo, hi = halos[0]
        _run(
            f.reshape(merged),
            [
                (lo.reshape(lo.shape[:1] + merged[1:]), hi.reshape(hi.shape[:1] + merged[1:])),
                None,
                None,
            ],
            _pack([tables[0], None, None]),
            [outs[0].reshape(merged), None, None],
            parallel,
            [divisors[0], None, None],
        )
