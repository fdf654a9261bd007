"""Fused numba kernels: one pass over a block and its halo planes -> every component.

Imported lazily by :func:`bigrad._kernels.gradient_block`; nothing else in bigrad needs
numba.  A block of 1 to 4 dimensions is viewed as 4-D ``(n0, n1, n2, n3)`` (leading
axes of length one), C-contiguous, so that the last axis is a contiguous *row*.  For
each row the kernel writes the row of every requested component:

* along axes 0-2 a component row is a weighted sum of two or three whole rows of the
  block (or of its halo planes, near the block's ends): a loop LLVM vectorises;
* along axis 3 the row is differenced in place, its two end points reading the halo.

The input is read from memory about once (neighbouring rows along axes 0-2 are
re-read from cache) and each output is written once; no copy of block + halo is made.

Every point's rule is tabulated per axis before the kernel runs (``_axis_table``):
``mode 0``: ``(f[i + o1] - f[i + o0]) * w0`` (a difference times a reciprocal
spacing), ``mode 1``: ``w0 f[i + o0] + w1 f[i + o1] + w2 f[i + o2]``.  Weights are
float64 and products are formed in float64 registers, so float32 data gives numpy's
numbers to float32 rounding without float64 temporaries of array size.
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

_NDIM = 4


@numba.njit(cache=True, inline="always")
def _neighbour_row(f: Any, lo: Any, hi: Any, axis: int, i0: int, i1: int, i2: int, j: int) -> Any:
    # plane j along `axis` (0-2) of block + halo: negative j reads the lo halo,
    # j >= m the hi halo
    m = f.shape[axis]
    src = f
    if j < 0:
        src = lo
        j = lo.shape[axis] + j
    elif j >= m:
        src = hi
        j = j - m
    if axis == 0:
        return src[j, i1, i2]
    if axis == 1:
        return src[i0, j, i2]
    return src[i0, i1, j]


@numba.njit(cache=True, inline="always")
def _point3(row: Any, lo: Any, hi: Any, i0: int, i1: int, i2: int, j: int) -> Any:
    # element j along the row axis (3) of block + halo
    m = row.shape[0]
    if j < 0:
        return lo[i0, i1, i2, lo.shape[3] + j]
    if j >= m:
        return hi[i0, i1, i2, j - m]
    return row[j]


@numba.njit(cache=True, inline="always")
def _edge3(
    row: Any,
    lo: Any,
    hi: Any,
    i0: int,
    i1: int,
    i2: int,
    j: int,
    offs: Any,
    weights: Any,
    modes: Any,
    orow: Any,
) -> None:
    # one end point j of a row along axis 3, by its tabulated rule
    o = offs[3, :, j]
    w = weights[3, :, j]
    if modes[3, j] == 0:
        orow[j] = (
            _point3(row, lo, hi, i0, i1, i2, j + o[1]) - _point3(row, lo, hi, i0, i1, i2, j + o[0])
        ) * w[0]
    else:
        orow[j] = (
            w[0] * _point3(row, lo, hi, i0, i1, i2, j + o[0])
            + w[1] * _point3(row, lo, hi, i0, i1, i2, j + o[1])
            + w[2] * _point3(row, lo, hi, i0, i1, i2, j + o[2])
        )


@numba.njit(cache=True, inline="always")
def _one_row(
    r: int,
    f: Any,
    los: Any,
    his: Any,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
    outs: Any,
) -> None:
    n1, n2 = f.shape[1], f.shape[2]
    i2 = r % n2
    t = r // n2
    i1 = t % n1
    i0 = t // n1
    # one fused pass over the row when every requested axis uses the same kind of rule
    # there: all differences (mode 0), or all three-point sums along axes 0-2 (mode 1)
    all_diff = True
    all_sums = requested[0] and requested[1] and requested[2]
    for axis in range(3):
        if requested[axis]:
            i = i0 if axis == 0 else (i1 if axis == 1 else i2)
            if modes[axis, i] != 0:
                all_diff = False
            if modes[axis, i] != 1:
                all_sums = False
    if all_sums:
        n = f.shape[3]
        a0 = _neighbour_row(f, los[0], his[0], 0, i0, i1, i2, i0 + offs[0, 0, i0])
        b0 = _neighbour_row(f, los[0], his[0], 0, i0, i1, i2, i0 + offs[0, 1, i0])
        c0 = _neighbour_row(f, los[0], his[0], 0, i0, i1, i2, i0 + offs[0, 2, i0])
        a1 = _neighbour_row(f, los[1], his[1], 1, i0, i1, i2, i1 + offs[1, 0, i1])
        b1 = _neighbour_row(f, los[1], his[1], 1, i0, i1, i2, i1 + offs[1, 1, i1])
        c1 = _neighbour_row(f, los[1], his[1], 1, i0, i1, i2, i1 + offs[1, 2, i1])
        a2 = _neighbour_row(f, los[2], his[2], 2, i0, i1, i2, i2 + offs[2, 0, i2])
        b2 = _neighbour_row(f, los[2], his[2], 2, i0, i1, i2, i2 + offs[2, 1, i2])
        c2 = _neighbour_row(f, los[2], his[2], 2, i0, i1, i2, i2 + offs[2, 2, i2])
        wa0, wb0, wc0 = weights[0, 0, i0], weights[0, 1, i0], weights[0, 2, i0]
        wa1, wb1, wc1 = weights[1, 0, i1], weights[1, 1, i1], weights[1, 2, i1]
        wa2, wb2, wc2 = weights[2, 0, i2], weights[2, 1, i2], weights[2, 2, i2]
        o0 = outs[0][i0, i1, i2]
        o1 = outs[1][i0, i1, i2]
        o2 = outs[2][i0, i1, i2]
        for j in range(n):
            o0[j] = wa0 * a0[j] + wb0 * b0[j] + wc0 * c0[j]
            o1[j] = wa1 * a1[j] + wb1 * b1[j] + wc1 * c1[j]
            o2[j] = wa2 * a2[j] + wb2 * b2[j] + wc2 * c2[j]
    elif all_diff:
        n = f.shape[3]
        r0m = f[i0, i1, i2]
        r0p = r0m
        r1m = r0m
        r1p = r0m
        r2m = r0m
        r2p = r0m
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        if requested[0]:
            r0m = _neighbour_row(f, los[0], his[0], 0, i0, i1, i2, i0 + offs[0, 0, i0])
            r0p = _neighbour_row(f, los[0], his[0], 0, i0, i1, i2, i0 + offs[0, 1, i0])
            s0 = weights[0, 0, i0]
        if requested[1]:
            r1m = _neighbour_row(f, los[1], his[1], 1, i0, i1, i2, i1 + offs[1, 0, i1])
            r1p = _neighbour_row(f, los[1], his[1], 1, i0, i1, i2, i1 + offs[1, 1, i1])
            s1 = weights[1, 0, i1]
        if requested[2]:
            r2m = _neighbour_row(f, los[2], his[2], 2, i0, i1, i2, i2 + offs[2, 0, i2])
            r2p = _neighbour_row(f, los[2], his[2], 2, i0, i1, i2, i2 + offs[2, 1, i2])
            s2 = weights[2, 0, i2]
        if requested[0] and requested[1] and requested[2]:
            o0 = outs[0][i0, i1, i2]
            o1 = outs[1][i0, i1, i2]
            o2 = outs[2][i0, i1, i2]
            for j in range(n):
                o0[j] = (r0p[j] - r0m[j]) * s0
                o1[j] = (r1p[j] - r1m[j]) * s1
                o2[j] = (r2p[j] - r2m[j]) * s2
        elif requested[1] and requested[2]:
            o1 = outs[1][i0, i1, i2]
            o2 = outs[2][i0, i1, i2]
            for j in range(n):
                o1[j] = (r1p[j] - r1m[j]) * s1
                o2[j] = (r2p[j] - r2m[j]) * s2
        else:
            for axis in range(3):
                if not requested[axis]:
                    continue
                orow = outs[axis][i0, i1, i2]
                rm = r0m if axis == 0 else (r1m if axis == 1 else r2m)
                rp = r0p if axis == 0 else (r1p if axis == 1 else r2p)
                s = s0 if axis == 0 else (s1 if axis == 1 else s2)
                for j in range(n):
                    orow[j] = (rp[j] - rm[j]) * s
    else:
        for axis in range(3):
            if not requested[axis]:
                continue
            i = i0 if axis == 0 else (i1 if axis == 1 else i2)
            orow = outs[axis][i0, i1, i2]
            lo = los[axis]
            hi = his[axis]
            if modes[axis, i] == 0:
                rm = _neighbour_row(f, lo, hi, axis, i0, i1, i2, i + offs[axis, 0, i])
                rp = _neighbour_row(f, lo, hi, axis, i0, i1, i2, i + offs[axis, 1, i])
                s = weights[axis, 0, i]
                for j in range(orow.shape[0]):
                    orow[j] = (rp[j] - rm[j]) * s
            else:
                ra = _neighbour_row(f, lo, hi, axis, i0, i1, i2, i + offs[axis, 0, i])
                rb = _neighbour_row(f, lo, hi, axis, i0, i1, i2, i + offs[axis, 1, i])
                rc = _neighbour_row(f, lo, hi, axis, i0, i1, i2, i + offs[axis, 2, i])
                a = weights[axis, 0, i]
                b = weights[axis, 1, i]
                c = weights[axis, 2, i]
                for j in range(orow.shape[0]):
                    orow[j] = a * ra[j] + b * rb[j] + c * rc[j]
    if not requested[3]:
        return
    row = f[i0, i1, i2]
    orow = outs[3][i0, i1, i2]
    lo = los[3]
    hi = his[3]
    m = row.shape[0]
    # points 1 .. m-2 are interior points of the whole axis: one rule for all of them
    if m > 2:
        if modes[3, 1] == 0:
            s = weights[3, 0, 1]
            for j in range(1, m - 1):
                orow[j] = (row[j + 1] - row[j - 1]) * s
        else:
            wa = weights[3, 0]
            wb = weights[3, 1]
            wc = weights[3, 2]
            for j in range(1, m - 1):
                orow[j] = wa[j] * row[j - 1] + wb[j] * row[j] + wc[j] * row[j + 1]
    _edge3(row, lo, hi, i0, i1, i2, 0, offs, weights, modes, orow)
    if m > 1:
        _edge3(row, lo, hi, i0, i1, i2, m - 1, offs, weights, modes, orow)


# Two entry points rather than one function compiled twice: numba's on-disk cache is
# keyed by function, not by the `parallel` flag.  Both release the GIL, so that dask's
# threads run blocks side by side.
@numba.njit(cache=True, parallel=True, nogil=True)
def _rows_parallel(
    f: Any, los: Any, his: Any, offs: Any, weights: Any, modes: Any, requested: Any, outs: Any
) -> None:
    for r in prange(f.shape[0] * f.shape[1] * f.shape[2]):
        _one_row(r, f, los, his, offs, weights, modes, requested, outs)


@numba.njit(cache=True, nogil=True)
def _rows_serial(
    f: Any, los: Any, his: Any, offs: Any, weights: Any, modes: Any, requested: Any, outs: Any
) -> None:
    for r in range(f.shape[0] * f.shape[1] * f.shape[2]):
        _one_row(r, f, los, his, offs, weights, modes, requested, outs)


def _real_float(x: Any) -> float | None:
    """``x`` as a Python float, or None when float64 cannot hold it faithfully."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and a.dtype.itemsize > 8):
        return None
    return float(a)


def _axis_table(st: AxisStencil, m: int, width: int) -> tuple[Any, Any, Any] | None:
    """Offsets ``(3, width)``, weights ``(3, width)`` and modes ``(width,)`` of the
    ``m`` points of one axis of a block (see the module docstring), or None when the
    spacing is not a real number float64 can hold."""
    offs = np.zeros((3, width), dtype=np.int64)
    weights = np.zeros((3, width), dtype=np.float64)
    modes = np.zeros(width, dtype=np.int8)
    if st.coef is None:
        dx = _real_float(st.dx)
        if dx is None:
            return None
        offs[0, :m], offs[1, :m] = -1, 1
        weights[0, :m] = 1.0 / (2.0 * dx)
    else:
        if st.coef.dtype.kind != "f" or st.coef.dtype.itemsize > 8:
            return None
        offs[:, :m] = np.array([[-1], [0], [1]])
        weights[:, :m] = st.coef[:m].T
        modes[:m] = 1
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
    if not 1 <= nd <= _NDIM or f.dtype.str[1:] not in SUPPORTED_KINDS:
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
    lead = (1,) * (_NDIM - nd)
    f4 = f.reshape(lead + f.shape)
    width = max(f4.shape)
    offs = np.zeros((_NDIM, 3, width), dtype=np.int64)
    weights = np.zeros((_NDIM, 3, width), dtype=np.float64)
    modes = np.zeros((_NDIM, width), dtype=np.int8)
    requested = np.zeros(_NDIM, dtype=np.bool_)
    empty = np.empty((0,) * _NDIM, dtype=f.dtype)
    los, his = [empty] * _NDIM, [empty] * _NDIM
    outs = [np.empty((0,) * _NDIM, dtype=otype)] * _NDIM
    given = list(out) if out is not None else [None] * len(axes)
    copy_back = []  # ``out`` arrays the kernel cannot write in place
    for axis, (lo, hi), st, target in zip(axes, halos, stencils, given, strict=True):
        k = axis + _NDIM - nd
        table = _axis_table(st, f4.shape[k], width)
        if table is None:
            return None
        offs[k], weights[k], modes[k] = table
        requested[k] = True
        # halos are thin: own C-ordered, writable copies keep the kernel's types uniform
        los[k] = np.array(lo, dtype=f.dtype, order="C").reshape(lead + lo.shape)
        his[k] = np.array(hi, dtype=f.dtype, order="C").reshape(lead + hi.shape)
        if target is not None and target.flags.c_contiguous and target.dtype == otype:
            outs[k] = target.reshape(f4.shape)
        else:
            outs[k] = np.empty(f4.shape, dtype=otype)
            if target is not None:
                copy_back.append((target, k))
    if f4.size:
        # numba's default (workqueue) threading layer aborts the process when parallel
        # kernels are launched from two threads at once: only the main thread fans out
        parallel = parallel and threading.current_thread() is threading.main_thread()
        kernel = _rows_parallel if parallel else _rows_serial
        kernel(f4, tuple(los), tuple(his), offs, weights, modes, requested, tuple(outs))
    for target, k in copy_back:
        target[...] = outs[k].reshape(f.shape)
    return [
        outs[axis + _NDIM - nd].reshape(f.shape) if target is None else target
        for axis, target in zip(axes, given, strict=True)
    ]
