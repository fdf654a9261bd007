"""The jitted row kernels behind :func:`bigrad._numba.fused_gradient`.

A block is 3-D ``(n0, n1, n2)``, C-contiguous, so that the last axis is a contiguous
*row*.  Rows are taken in chunks (the unit of work of numba's threads):

* along the *outer* axes 0 and 1 a component's row is a weighted sum of whole rows of
  the block, or of its halo planes next to the block's faces;
* along the row axis 2 a row is differenced in place, its two end points reading the
  halo;
* where every requested component of a row follows its axis's interior rule and reads
  the block only (nearly every row of a large block), one loop over the row writes
  all of them; elsewhere the components of a chunk go one after the other, the
  chunk's rows still in cache.

Each axis ``k`` has a rule per point ``i`` (``offs[k, :, i]``, ``weights[k, :, i]``,
``modes[k, i]``): ``mode 0``: ``(f[i + o1] - f[i + o0]) * w0``, ``mode 1``:
``w0 f[i + o0] + w1 f[i + o1] + w2 f[i + o2]``.  ``los[k]`` and ``his[k]`` are the halo
planes before and after the block along ``k``; ``requested[k]`` says whether ``outs[k]``
is wanted.  Weights are float64, so products are formed in float64 registers.

Rows are reached by indexing the block, not through views, and no function taking
arrays is called per row (except next to a face): numba reference-counts every view and
every array argument of an inlined call, 300-500 ns a row when the kernels did (more
than a short row's arithmetic).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import prange

from bigrad._stores import line_span, store_fence, stream_store

__all__ = ["rows_parallel", "rows_serial"]


@numba.njit(cache=True)
def _plane1_row(f: Any, lo: Any, hi: Any, i0: int, j: int) -> Any:
    # row i0 of plane j along axis 1 of block + halo: negative j reads the lo halo,
    # j >= n1 the hi halo
    if j < 0:
        return lo[i0, lo.shape[1] + j]
    if j >= f.shape[1]:
        return hi[i0, j - f.shape[1]]
    return f[i0, j]


@numba.njit(cache=True)
def _outer1_from_halo(f: Any, lo: Any, hi: Any, o: Any, i0: int, i1: int, rule: Any) -> None:
    # row (i0, i1) of the component along axis 1 whose rule reads a halo plane; a
    # function of its own, called for the two rows of a plane next to the block's
    # faces, so that the views it makes cost nothing in the loops over the other rows
    mode, ja, jb, jc, wa, wb, wc = rule
    a = _plane1_row(f, lo, hi, i0, ja)
    b = _plane1_row(f, lo, hi, i0, jb)
    orow = o[i0, i1]
    if mode == 0:
        for k in range(orow.shape[0]):
            orow[k] = (b[k] - a[k]) * wa
    else:
        c = _plane1_row(f, lo, hi, i0, jc)
        for k in range(orow.shape[0]):
            orow[k] = wa * a[k] + wb * b[k] + wc * c[k]


@numba.njit(cache=True)
def _plane0(f: Any, lo: Any, hi: Any, j: int) -> Any:
    # plane j along axis 0 of block + halo, as a 2-D view
    if j < 0:
        return lo[lo.shape[0] + j]
    if j >= f.shape[0]:
        return hi[j - f.shape[0]]
    return f[j]


@numba.njit(cache=True)
def _outer0_from_halo(
    f: Any, lo: Any, hi: Any, o: Any, i0: int, i1a: int, i1b: int, rule: Any
) -> None:
    # rows i1a .. i1b-1 of plane i0 of the component along axis 0, whose rule reads a
    # halo plane: the planes' views are made once for all the rows (a thin block has
    # every row next to a face)
    mode, ja, jb, jc, wa, wb, wc = rule
    a = _plane0(f, lo, hi, ja)
    b = _plane0(f, lo, hi, jb)
    if mode == 0:
        for i1 in range(i1a, i1b):
            for k in range(f.shape[2]):
                o[i0, i1, k] = (b[i1, k] - a[i1, k]) * wa
    else:
        c = _plane0(f, lo, hi, jc)
        for i1 in range(i1a, i1b):
            for k in range(f.shape[2]):
                o[i0, i1, k] = wa * a[i1, k] + wb * b[i1, k] + wc * c[i1, k]


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
    # rows r0 .. r1-1 of the component along outer `axis` (0 or 1).  Along axis 0 all
    # the rows of a plane share one rule: they go plane by plane.
    n1 = f.shape[1]
    r = r0
    while r < r1:
        i0 = r // n1
        i1 = r % n1
        i = i0 if axis == 0 else i1
        # along axis 0: the rest of the plane's rows in the range; along axis 1: one row
        stop = min(r1, (i0 + 1) * n1) if axis == 0 else r + 1
        i1b = i1 + stop - r
        mode = modes[axis, i]
        ja = i + offs[axis, 0, i]
        jb = i + offs[axis, 1, i]
        jc = i + offs[axis, 2, i] if mode == 1 else jb
        wa, wb, wc = weights[axis, 0, i], weights[axis, 1, i], weights[axis, 2, i]
        if min(ja, jb, jc) < 0 or max(ja, jb, jc) >= f.shape[axis]:
            rule = (mode, ja, jb, jc, wa, wb, wc)
            if axis == 0:
                _outer0_from_halo(f, lo, hi, o, i0, i1, i1b, rule)
            else:
                _outer1_from_halo(f, lo, hi, o, i0, i1, rule)
        elif axis == 0 and mode == 0:
            for j1 in range(i1, i1b):
                for k in range(f.shape[2]):
                    o[i0, j1, k] = (f[jb, j1, k] - f[ja, j1, k]) * wa
        elif axis == 0:
            for j1 in range(i1, i1b):
                for k in range(f.shape[2]):
                    o[i0, j1, k] = wa * f[ja, j1, k] + wb * f[jb, j1, k] + wc * f[jc, j1, k]
        elif mode == 0:
            for k in range(f.shape[2]):
                o[i0, i1, k] = (f[i0, jb, k] - f[i0, ja, k]) * wa
        else:
            for k in range(f.shape[2]):
                o[i0, i1, k] = wa * f[i0, ja, k] + wb * f[i0, jb, k] + wc * f[i0, jc, k]
        r = stop


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
    stream: bool,
) -> None:
    # rows r0 .. r1-1 of the components along axes 1 and 2 (and 0 if `with_axis0`),
    # all in one loop over a row wherever every rule is the row axis's interior rule
    # and reads the block only; the other rows (next to a face, on an edge, or where
    # the axes' spacings differ in kind) go component by component.  The row axis's
    # end points are left to _row_rows.  With `stream`, the whole cache lines of a
    # fused row are written by streaming stores (the outputs then share their
    # alignment to a line and their strides).
    n0, n1, m = f.shape
    rmode = modes[2, 1]
    s = weights[2, 0, 1]
    o0, o1, o2 = outs
    base = o1.ctypes.data
    one = np.uint64(1)  # unsigned indices: no wraparound test to keep from vectorizing
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
        # points ka .. kb-1 by streaming stores, 1 .. ka-1 and kb .. m-2 by plain ones
        ka = kb = 1
        if stream:
            row = base + i0 * o1.strides[0] + i1 * o1.strides[1]
            ka, kb = line_span(row + o1.itemsize, o1.itemsize, 1, m - 1)
        if rmode == 0 and with_axis0:
            for a, b in ((1, ka), (kb, m - 1)):
                for k in range(np.uint64(a), np.uint64(b)):
                    o0[i0, i1, k] = (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) * w0
                    o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1
                    o2[i0, i1, k] = (f[i0, i1, k + one] - f[i0, i1, k - one]) * s
            for k in range(np.uint64(ka), np.uint64(kb)):
                stream_store(o0, i0, i1, k, (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) * w0)
                stream_store(o1, i0, i1, k, (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1)
                stream_store(o2, i0, i1, k, (f[i0, i1, k + one] - f[i0, i1, k - one]) * s)
        elif rmode == 0:
            for a, b in ((1, ka), (kb, m - 1)):
                for k in range(np.uint64(a), np.uint64(b)):
                    o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1
                    o2[i0, i1, k] = (f[i0, i1, k + one] - f[i0, i1, k - one]) * s
            for k in range(np.uint64(ka), np.uint64(kb)):
                stream_store(o1, i0, i1, k, (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1)
                stream_store(o2, i0, i1, k, (f[i0, i1, k + one] - f[i0, i1, k - one]) * s)
        elif with_axis0:
            for a, b in ((1, ka), (kb, m - 1)):
                for k in range(np.uint64(a), np.uint64(b)):
                    c = f[i0, i1, k]  # read once, for all three components
                    o0[i0, i1, k] = w0 * f[i0 - 1, i1, k] + v0 * c + u0 * f[i0 + 1, i1, k]
                    o1[i0, i1, k] = w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]
                    o2[i0, i1, k] = (
                        weights[2, 0, k] * f[i0, i1, k - one]
                        + weights[2, 1, k] * c
                        + weights[2, 2, k] * f[i0, i1, k + one]
                    )
            for k in range(np.uint64(ka), np.uint64(kb)):
                c = f[i0, i1, k]
                stream_store(o0, i0, i1, k, w0 * f[i0 - 1, i1, k] + v0 * c + u0 * f[i0 + 1, i1, k])
                stream_store(o1, i0, i1, k, w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k])
                stream_store(
                    o2,
                    i0,
                    i1,
                    k,
                    weights[2, 0, k] * f[i0, i1, k - one]
                    + weights[2, 1, k] * c
                    + weights[2, 2, k] * f[i0, i1, k + one],
                )
        else:
            for a, b in ((1, ka), (kb, m - 1)):
                for k in range(np.uint64(a), np.uint64(b)):
                    c = f[i0, i1, k]
                    o1[i0, i1, k] = w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]
                    o2[i0, i1, k] = (
                        weights[2, 0, k] * f[i0, i1, k - one]
                        + weights[2, 1, k] * c
                        + weights[2, 2, k] * f[i0, i1, k + one]
                    )
            for k in range(np.uint64(ka), np.uint64(kb)):
                c = f[i0, i1, k]
                stream_store(o1, i0, i1, k, w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k])
                stream_store(
                    o2,
                    i0,
                    i1,
                    k,
                    weights[2, 0, k] * f[i0, i1, k - one]
                    + weights[2, 1, k] * c
                    + weights[2, 2, k] * f[i0, i1, k + one],
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
    if stream:
        store_fence()


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
    stream: bool,
) -> None:
    # every requested component of rows c * size .. (c + 1) * size - 1: fused where
    # the components allow, else one component after the other (the chunk's rows stay
    # in cache, so the block is read from memory about once either way)
    n0, n1 = f.shape[0], f.shape[1]
    r0 = c * size
    r1 = min(r0 + size, n0 * n1)
    # rows on the first and last planes along axis 0 read its halo or are its edges:
    # there the components go one after the other (plane by plane along axis 0)
    fuse = requested[1] and requested[2] and f.shape[2] > 2
    if requested[0] and (r0 < n1 or r1 > (n0 - 1) * n1):
        fuse = False
    if fuse:
        _fused_rows(f, los, his, outs, r0, r1, offs, weights, modes, requested[0], stream)
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
def rows_parallel(
    f: Any,
    los: Any,
    his: Any,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
    outs: Any,
    size: int,
    stream: bool,
) -> None:
    for c in prange((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(c, size, f, los, his, offs, weights, modes, requested, outs, stream)


@numba.njit(cache=True, nogil=True)
def rows_serial(
    f: Any,
    los: Any,
    his: Any,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
    outs: Any,
    size: int,
    stream: bool,
) -> None:
    for c in range((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(c, size, f, los, his, offs, weights, modes, requested, outs, stream)
