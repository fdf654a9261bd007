"""The component-by-component row kernels of :mod:`bigrad._fused`.

A block is 3-D ``(n0, n1, n2)``, C-contiguous, so that the last axis is a contiguous
*row*:

* along the *outer* axes 0 and 1 a component's row is a weighted sum of whole rows of
  the block, or of its halo planes next to the block's faces (:func:`outer_rows`);
* along the row axis 2 a row is differenced in place (:func:`row_rows`), its two end
  points reading the halo (:func:`row_ends`).

They serve the rows that :mod:`bigrad._fused`'s one-pass loops leave: rows next to a
face or on an edge, and blocks where fewer components are requested; :func:`row_ends`
also gives those loops the end points of theirs.

Each axis ``k`` has a rule per point ``i`` (``offs[k, :, i]``, ``weights[k, :, i]``,
``modes[k, i]``): ``mode 0``: ``(f[i + o1] - f[i + o0]) * w0``, ``mode 1``:
``w0 f[i + o0] + w1 f[i + o1] + w2 f[i + o2]``.  ``lo`` and ``hi`` are the halo planes
before and after the block along the component's axis.  Weights are float64, so
products are formed in float64 registers.

Rows are reached by indexing the block, not through views, and no function taking
arrays is called per row (except next to a face): numba reference-counts every view and
every array argument of an inlined call, 300-500 ns a row when the kernels did (more
than a short row's arithmetic).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["outer_rows", "row_ends", "row_interior", "row_rows"]


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
def outer_rows(
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
def row_rows(
    f: Any,
    lo: Any,
    hi: Any,
    o: Any,
    r0: int,
    r1: int,
    offs: Any,
    weights: Any,
    modes: Any,
) -> None:
    # rows r0 .. r1-1 of the component along the row axis (2): the interior points
    # (row_interior), then the end points, which may read the halo and may be the
    # axis's edges (row_ends)
    n1, m = f.shape[1], f.shape[2]
    row_interior(f, o, r0, r1, weights, modes)
    ends = np.empty((r1 - r0, 2), dtype=(weights[2, 0, :1] * f[0, 0, :1]).dtype)
    row_ends(f, lo, hi, r0, r1, offs, weights, modes, ends)
    for r in range(r0, r1):
        o[r // n1, r % n1, 0] = ends[r - r0, 0]
        o[r // n1, r % n1, m - 1] = ends[r - r0, 1]


@numba.njit(cache=True, nogil=True)
def row_interior(f: Any, o: Any, r0: int, r1: int, weights: Any, modes: Any) -> None:
    # points 1 .. m-2 of rows r0 .. r1-1 of the component along the row axis: interior
    # points of the whole axis, with one rule for all of them
    n1, m = f.shape[1], f.shape[2]
    uniform = m > 2 and modes[2, 1] == 0
    s = weights[2, 0, 1] if m > 2 else 0.0
    for r in range(r0, r1):
        i0 = r // n1
        i1 = r % n1
        if uniform:
            for k in range(1, m - 1):
                o[i0, i1, k] = (f[i0, i1, k + 1] - f[i0, i1, k - 1]) * s
        elif m > 2:
            for k in range(1, m - 1):
                o[i0, i1, k] = (
                    weights[2, 0, k] * f[i0, i1, k - 1]
                    + weights[2, 1, k] * f[i0, i1, k]
                    + weights[2, 2, k] * f[i0, i1, k + 1]
                )


@numba.njit(cache=True, nogil=True)
def row_ends(
    f: Any, lo: Any, hi: Any, r0: int, r1: int, offs: Any, weights: Any, modes: Any, ends: Any
) -> None:
    # the end points 0 and m-1 of rows r0 .. r1-1 of the component along the row
    # axis, into ends[r - r0, 0] and ends[r - r0, 1]: each rule's (up to) three points
    # are read from the block or a halo.  One end at a time, its rule looked up once
    # (per row, the lookups took 1-2% of the fused loops' time on 512**3 float32), and
    # no function per row: numba reference-counts the arrays passed to every call, even
    # one inlined.
    n1, m, n_lo = f.shape[1], f.shape[2], lo.shape[2]
    if r0 >= r1:
        return
    for e in range(2):
        j = e * (m - 1)
        pa, pb, pc = j + offs[2, 0, j], j + offs[2, 1, j], j + offs[2, 2, j]
        wa, wb, wc = weights[2, 0, j], weights[2, 1, j], weights[2, 2, j]
        uniform = modes[2, j] == 0
        inside = min(pa, pb, pc) >= 0 and max(pa, pb, pc) < m
        i0, i1 = r0 // n1, r0 % n1
        for r in range(r0, r1):
            if inside:
                a, b, c = f[i0, i1, pa], f[i0, i1, pb], f[i0, i1, pc]
            else:
                a = (
                    lo[i0, i1, n_lo + pa]
                    if pa < 0
                    else (hi[i0, i1, pa - m] if pa >= m else f[i0, i1, pa])
                )
                b = (
                    lo[i0, i1, n_lo + pb]
                    if pb < 0
                    else (hi[i0, i1, pb - m] if pb >= m else f[i0, i1, pb])
                )
                c = (
                    lo[i0, i1, n_lo + pc]
                    if pc < 0
                    else (hi[i0, i1, pc - m] if pc >= m else f[i0, i1, pc])
                )
            if uniform:
                ends[r - r0, e] = (b - a) * wa
            else:
                ends[r - r0, e] = wa * a + wb * b + wc * c
            i1 += 1
            if i1 == n1:
                i0, i1 = i0 + 1, 0
