"""Fused numba kernels: one pass over a block and its halo planes -> every component.

Imported lazily by :func:`bigrad._kernels.gradient_block`; nothing else in bigrad needs
numba.  The kernels see a block as 3-D ``(n0, n1, n2)``, C-contiguous, so that the last
axis is a contiguous *row* (1-D and 2-D blocks get leading axes of length one; a 4-D
block is run as 3-D slabs, see :func:`fused_gradient`).  Rows are taken in chunks of
about ``_CHUNK_POINTS`` points, the unit of work of numba's threads:

* along the *outer* axes 0 and 1 a component's row is a weighted sum of whole rows of
  the block, or of its halo planes next to the block's faces;
* along the row axis 2 a row is differenced in place, its two end points reading the
  halo;
* where every requested component of a row follows its axis's interior rule and reads
  the block only (nearly every row of a large block), one loop over the row writes
  all of them; elsewhere the components of a chunk go one after the other, the
  chunk's rows still in cache.

The input is read from memory about once and each output is written once; no copy of
block + halo is made.

Every point's rule is tabulated per axis before the kernel runs (``_axis_table``):
``mode 0``: ``(f[i + o1] - f[i + o0]) * w0`` (a difference times a reciprocal
spacing), ``mode 1``: ``w0 f[i + o0] + w1 f[i + o1] + w2 f[i + o2]``.  Weights are
float64 and products are formed in float64 registers, so float32 data gives numpy's
numbers to float32 rounding without float64 temporaries of array size.

Rows are reached by indexing the block, not through views, and no function taking
arrays is called per row (except next to a face): numba reference-counts every view
and every array argument of an inlined call, which costs more than a short row's
arithmetic.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from numba import prange

from bigrad._stencil import AxisStencil

__all__ = ["SUPPORTED_KINDS", "fused_gradient"]

#: input dtypes (after integers become float64) the kernels handle; others go to numpy
SUPPORTED_KINDS = frozenset({"f4", "f8", "c8", "c16"})

_NDIM = 3
#: points per chunk of rows: a chunk's input rows stay in cache from one component
#: to the next
_CHUNK_POINTS = 16384


@numba.njit(cache=True)
def _plane_row(f: Any, lo: Any, hi: Any, axis: int, i0: int, i1: int, j: int) -> Any:
    # row (i0, i1) of plane j along outer `axis` (0 or 1) of block + halo: negative j
    # reads the lo halo, j >= m the hi halo
    m = f.shape[axis]
    src = f
    if j < 0:
        src = lo
        j = lo.shape[axis] + j
    elif j >= m:
        src = hi
        j = j - m
    if axis == 0:
        return src[j, i1]
    return src[i0, j]


@numba.njit(cache=True)
def _outer_row_from_halo(
    f: Any, lo: Any, hi: Any, o: Any, axis: int, i0: int, i1: int, rule: Any
) -> None:
    # the row of a component along an outer axis whose rule reads a halo plane; a
    # function of its own, called for the few rows next to a block's faces, so that
    # the views it makes cost nothing in the loops over the other rows
    mode, ja, jb, jc, wa, wb, wc = rule
    a = _plane_row(f, lo, hi, axis, i0, i1, ja)
    b = _plane_row(f, lo, hi, axis, i0, i1, jb)
    orow = o[i0, i1]
    if mode == 0:
        for k in range(orow.shape[0]):
            orow[k] = (b[k] - a[k]) * wa
    else:
        c = _plane_row(f, lo, hi, axis, i0, i1, jc)
        for k in range(orow.shape[0]):
            orow[k] = wa * a[k] + wb * b[k] + wc * c[k]


@numba.njit(cache=True, nogil=True)
def _outer_rows(
    f: Any,
    lo: Any,
    hi: Any,
    o: Any,
    axis: int,
    r0: int,
    r1: int,
    offs: Any,
    weights: Any,
    modes: Any,
) -> None:
    # rows r0 .. r1-1 of the component along outer `axis` (0 or 1)
    n1 = f.shape[1]
    for r in range(r0, r1):
        i0 = r // n1
        i1 = r % n1
        i = i0 if axis == 0 else i1
        mode = modes[axis, i]
        ja = i + offs[axis, 0, i]
        jb = i + offs[axis, 1, i]
        jc = i + offs[axis, 2, i] if mode == 1 else jb
        wa, wb, wc = weights[axis, 0, i], weights[axis, 1, i], weights[axis, 2, i]
        if min(ja, jb, jc) < 0 or max(ja, jb, jc) >= f.shape[axis]:
            _outer_row_from_halo(f, lo, hi, o, axis, i0, i1, (mode, ja, jb, jc, wa, wb, wc))
        elif axis == 0 and mode == 0:
            for k in range(f.shape[2]):
                o[i0, i1, k] = (f[jb, i1, k] - f[ja, i1, k]) * wa
        elif axis == 0:
            for k in range(f.shape[2]):
                o[i0, i1, k] = wa * f[ja, i1, k] + wb * f[jb, i1, k] + wc * f[jc, i1, k]
        elif mode == 0:
            for k in range(f.shape[2]):
                o[i0, i1, k] = (f[i0, jb, k] - f[i0, ja, k]) * wa
        else:
            for k in range(f.shape[2]):
                o[i0, i1, k] = wa * f[i0, ja, k] + wb * f[i0, jb, k] + wc * f[i0, jc, k]


@numba.njit(cache=True, nogil=True)
def _row_rows(
    f: Any,
    lo: Any,
    hi: Any,
    o: Any,
    r0: int,
    r1: int,
    offs: Any,
    weights: Any,
    modes: Any,
    interior: bool,
) -> None:
    # rows r0 .. r1-1 of the component along the row axis (2): points 1 .. m-2 (if
    # `interior`) are interior points of the whole axis, with one rule for all of them;
    # the end points may read the halo and may be the axis's edges
    n1, m, n_lo = f.shape[1], f.shape[2], lo.shape[2]
    uniform = m > 2 and modes[2, 1] == 0
    s = weights[2, 0, 1] if m > 2 else 0.0
    for r in range(r0, r1):
        i0 = r // n1
        i1 = r % n1
        if interior and uniform:
            for k in range(1, m - 1):
                o[i0, i1, k] = (f[i0, i1, k + 1] - f[i0, i1, k - 1]) * s
        elif interior and m > 2:
            for k in range(1, m - 1):
                o[i0, i1, k] = (
                    weights[2, 0, k] * f[i0, i1, k - 1]
                    + weights[2, 1, k] * f[i0, i1, k]
                    + weights[2, 2, k] * f[i0, i1, k + 1]
                )
        for j in (0, m - 1):
            # the rule's (up to) three points, each from the block or a halo
            pa, pb, pc = j + offs[2, 0, j], j + offs[2, 1, j], j + offs[2, 2, j]
            if pa < 0:
                a = lo[i0, i1, n_lo + pa]
            elif pa >= m:
                a = hi[i0, i1, pa - m]
            else:
                a = f[i0, i1, pa]
            if pb < 0:
                b = lo[i0, i1, n_lo + pb]
            elif pb >= m:
                b = hi[i0, i1, pb - m]
            else:
                b = f[i0, i1, pb]
            if modes[2, j] == 0:
                o[i0, i1, j] = (b - a) * weights[2, 0, j]
                continue
            if pc < 0:
                c = lo[i0, i1, n_lo + pc]
            elif pc >= m:
                c = hi[i0, i1, pc - m]
            else:
                c = f[i0, i1, pc]
            o[i0, i1, j] = weights[2, 0, j] * a + weights[2, 1, j] * b + weights[2, 2, j] * c


@numba.njit(cache=True, nogil=True)
def _fused_rows(
    f: Any,
    los: Any,
    his: Any,
    outs: Any,
    r0: int,
    r1: int,
    offs: Any,
    weights: Any,
    modes: Any,
    with_axis0: bool,
) -> None:
    # rows r0 .. r1-1 of the components along axes 1 and 2 (and 0 if `with_axis0`),
    # all in one loop over a row wherever every rule is the row axis's interior rule
    # and reads the block only; the other rows (next to a face, on an edge, or where
    # the axes' spacings differ in kind) go component by component.  The row axis's
    # end points are left to _row_rows.
    n0, n1, m = f.shape
    rmode = modes[2, 1]
    s = weights[2, 0, 1]
    o0, o1, o2 = outs
    for r in range(r0, r1):
        i0 = r // n1
        i1 = r % n1
        # plain: the rule is the interior one, (f[i+1] - f[i-1]) w or
        # w f[i-1] + v f[i] + u f[i+1], and reads the block only
        plain = (
            0 < i1 < n1 - 1
            and modes[1, i1] == rmode
            and offs[1, 0, i1] == -1
            and offs[1, 1, i1] == 1 - rmode
        )
        if with_axis0:
            # (axis 0's table is only as long as axis 0 when axis 0 is requested)
            plain = (
                plain
                and 0 < i0 < n0 - 1
                and modes[0, i0] == rmode
                and offs[0, 0, i0] == -1
                and offs[0, 1, i0] == 1 - rmode
            )
        if not plain:
            if with_axis0:
                _outer_rows(f, los[0], his[0], o0, 0, r, r + 1, offs, weights, modes)
            _outer_rows(f, los[1], his[1], o1, 1, r, r + 1, offs, weights, modes)
            _row_rows(f, los[2], his[2], o2, r, r + 1, offs, weights, modes, True)
            continue
        w0 = v0 = u0 = 0.0
        if with_axis0:
            w0, v0, u0 = weights[0, 0, i0], weights[0, 1, i0], weights[0, 2, i0]
        w1, v1, u1 = weights[1, 0, i1], weights[1, 1, i1], weights[1, 2, i1]
        if rmode == 0 and with_axis0:
            for k in range(1, m - 1):
                o0[i0, i1, k] = (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) * w0
                o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1
                o2[i0, i1, k] = (f[i0, i1, k + 1] - f[i0, i1, k - 1]) * s
        elif rmode == 0:
            for k in range(1, m - 1):
                o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1
                o2[i0, i1, k] = (f[i0, i1, k + 1] - f[i0, i1, k - 1]) * s
        elif with_axis0:
            for k in range(1, m - 1):
                c = f[i0, i1, k]  # read once, for all three components
                o0[i0, i1, k] = w0 * f[i0 - 1, i1, k] + v0 * c + u0 * f[i0 + 1, i1, k]
                o1[i0, i1, k] = w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]
                o2[i0, i1, k] = (
                    weights[2, 0, k] * f[i0, i1, k - 1]
                    + weights[2, 1, k] * c
                    + weights[2, 2, k] * f[i0, i1, k + 1]
                )
        else:
            for k in range(1, m - 1):
                c = f[i0, i1, k]
                o1[i0, i1, k] = w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]
                o2[i0, i1, k] = (
                    weights[2, 0, k] * f[i0, i1, k - 1]
                    + weights[2, 1, k] * c
                    + weights[2, 2, k] * f[i0, i1, k + 1]
                )
        # the outer components at the row's ends (the row axis's are _row_rows's)
        for k in (0, m - 1):
            if rmode == 0:
                if with_axis0:
                    o0[i0, i1, k] = (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) * w0
                o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1
            else:
                c = f[i0, i1, k]
                if with_axis0:
                    o0[i0, i1, k] = w0 * f[i0 - 1, i1, k] + v0 * c + u0 * f[i0 + 1, i1, k]
                o1[i0, i1, k] = w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]


@numba.njit(cache=True, nogil=True)
def _chunk(
    c: int,
    size: int,
    f: Any,
    los: Any,
    his: Any,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
    outs: Any,
) -> None:
    # every requested component of rows c * size .. (c + 1) * size - 1: fused where
    # the components allow, else one component after the other (the chunk's rows stay
    # in cache, so the block is read from memory about once either way)
    r0 = c * size
    r1 = min(r0 + size, f.shape[0] * f.shape[1])
    if requested[1] and requested[2] and f.shape[2] > 2:
        _fused_rows(f, los, his, outs, r0, r1, offs, weights, modes, requested[0])
        _row_rows(f, los[2], his[2], outs[2], r0, r1, offs, weights, modes, False)
        return
    if requested[0]:
        _outer_rows(f, los[0], his[0], outs[0], 0, r0, r1, offs, weights, modes)
    if requested[1]:
        _outer_rows(f, los[1], his[1], outs[1], 1, r0, r1, offs, weights, modes)
    if requested[2]:
        _row_rows(f, los[2], his[2], outs[2], r0, r1, offs, weights, modes, True)


# Two entry points rather than one function compiled twice: numba's on-disk cache is
# keyed by function, not by the `parallel` flag.  Both release the GIL, so that dask's
# threads run blocks side by side.
@numba.njit(cache=True, parallel=True, nogil=True)
def _rows_parallel(
    f: Any,
    los: Any,
    his: Any,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
    outs: Any,
    size: int,
) -> None:
    for c in prange((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(c, size, f, los, his, offs, weights, modes, requested, outs)


@numba.njit(cache=True, nogil=True)
def _rows_serial(
    f: Any,
    los: Any,
    his: Any,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
    outs: Any,
    size: int,
) -> None:
    for c in range((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(c, size, f, los, his, offs, weights, modes, requested, outs)


def _real_float(x: Any) -> float | None:
    """``x`` as a Python float, or None when float64 cannot hold it faithfully."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and a.dtype.itemsize > 8):
        return None
    return float(a)


def _axis_table(st: AxisStencil, m: int) -> tuple[Any, Any, Any] | None:
    """Offsets ``(3, m)``, weights ``(3, m)`` and modes ``(m,)`` of the ``m`` points
    of one axis of a block (see the module docstring), or None when the spacing is not
    a real number float64 can hold."""
    offs = np.zeros((3, m), dtype=np.int64)
    weights = np.zeros((3, m), dtype=np.float64)
    modes = np.zeros(m, dtype=np.int8)
    if st.coef is None:
        dx = _real_float(st.dx)
        if dx is None:
            return None
        offs[0], offs[1] = -1, 1
        weights[0] = 1.0 / (2.0 * dx)
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
            d = _real_float(st.edge_dx[0 if first else 1])
            if d is None:
                return None
            offs[:, i] = (0, 1, 0) if first else (-1, 0, 0)
            weights[:, i] = (1.0 / d, 0.0, 0.0)
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


def _run(
    f: np.ndarray,
    halos: Sequence[tuple[np.ndarray, np.ndarray] | None],
    tables: Sequence[tuple[Any, Any, Any] | None],
    outs: Sequence[np.ndarray | None],
    parallel: bool,
) -> None:
    """One kernel call on a 3-D C-ordered ``f``: per axis its halo, table and output,
    or None where the axis is not requested."""
    width = max([t[2].shape[0] for t in tables if t is not None])
    offs = np.zeros((_NDIM, 3, width), dtype=np.int64)
    weights = np.zeros((_NDIM, 3, width), dtype=np.float64)
    modes = np.zeros((_NDIM, width), dtype=np.int8)
    requested = np.zeros(_NDIM, dtype=np.bool_)
    empty = np.empty((0,) * _NDIM, dtype=f.dtype)
    los, his, arrays = [empty] * _NDIM, [empty] * _NDIM, [empty] * _NDIM
    for k, (halo, table, out) in enumerate(zip(halos, tables, outs, strict=True)):
        if table is None or halo is None or out is None:
            continue
        n = table[2].shape[0]
        offs[k, :, :n], weights[k, :, :n], modes[k, :n] = table
        requested[k] = True
        los[k], his[k] = halo
        arrays[k] = out
    kernel = _rows_parallel if parallel else _rows_serial
    size = max(1, _CHUNK_POINTS // f.shape[2])
    kernel(f, tuple(los), tuple(his), offs, weights, modes, requested, tuple(arrays), size)


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
    for axis, (lo, hi), st, target in zip(axes, halos, stencils, given, strict=True):
        tables[axis] = _axis_table(st, f.shape[axis])
        if tables[axis] is None:
            return None
        # halos are thin: own C-ordered, writable copies keep the kernel's types uniform
        own[axis] = (np.array(lo, dtype=f.dtype, order="C"), np.array(hi, dtype=f.dtype, order="C"))
        if target is not None and target.flags.c_contiguous and target.dtype == otype:
            results[axis] = target
        else:
            results[axis] = np.empty(f.shape, dtype=otype)
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
                [None] * (_NDIM - nd) + tables,
                [None] * (_NDIM - nd)
                + [None if o is None else o.reshape(lead + f.shape) for o in results],
                parallel,
            )
        else:
            _run_4d(f, own, tables, results, parallel)
    for target, axis in copy_back:
        target[...] = results[axis]
    return [
        results[axis] if target is None else target
        for axis, target in zip(axes, given, strict=True)
    ]


def _run_4d(
    f: np.ndarray, halos: list[Any], tables: list[Any], outs: list[Any], parallel: bool
) -> None:
    """A 4-D block in two passes: axes 1-3 slab by slab along axis 0, then axis 0 on
    the view that merges axes 1 and 2 (the input is read twice)."""
    n0, n1, n2, n3 = f.shape
    if any(t is not None for t in tables[1:]):
        for i in range(n0):
            _run(
                f[i],
                [None if h is None else (h[0][i], h[1][i]) for h in halos[1:]],
                tables[1:],
                [None if o is None else o[i] for o in outs[1:]],
                parallel,
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
            [tables[0], None, None],
            [outs[0].reshape(merged), None, None],
            parallel,
        )
