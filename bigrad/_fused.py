"""The entry points of the jitted kernels behind :func:`bigrad._numba.fused_gradient`,
and their one-pass loops.

A block is 3-D ``(n0, n1, n2)``, C-contiguous, so that the last axis is a contiguous
*row*.  Rows are taken in chunks (the unit of work of numba's threads).  Where every
requested component of a row follows its axis's interior rule and reads the block only
(nearly every row of a large block), :func:`_fused_rows` writes all of them while the
row's inputs are in the first-level cache; elsewhere the components of a chunk go one
after the other (:mod:`bigrad._rows`), the chunk's rows still in cache.

The rules (``offs``, ``weights``, ``modes``) are :mod:`bigrad._rows`'s; ``los[k]`` and
``his[k]`` are the halo planes before and after the block along ``k``; ``requested[k]``
says whether ``outs[k]`` is wanted.  ``divs``, when not empty, holds the float32
divisors of uniform axes that numpy divides float32 data by (one per axis).

Large outputs are written by streaming stores (``stream``, :mod:`bigrad._stores`): a
row's whole cache lines skip the read an ordinary store makes of the line first.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import prange

from bigrad._rows import outer_rows, row_ends, row_interior, row_rows
from bigrad._stores import line_span, store_fence, stream_store

__all__ = ["rows_parallel", "rows_serial"]


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
    divs: Any,
    spans: Any,
    folded: Any,
) -> None:
    # rows r0 .. r1-1 of the components along axes 1 and 2 (and 0 if `with_axis0`):
    # runs of rows whose every rule is the row axis's interior rule and reads the
    # block only (the rows within `spans`, :func:`_plain_spans`) in one pass over the
    # row (:func:`_plain_rows`); the other rows (next to a face, on an edge, or where
    # the axes' spacings differ in kind) component by component.  With `stream`, the
    # whole cache lines of a row are written by streaming stores (the outputs then
    # share their alignment to a line and their strides).
    n1, m = f.shape[1], f.shape[2]
    lo0, hi0, lo1, hi1 = spans[0, 0], spans[0, 1], spans[1, 0], spans[1, 1]
    o0, o1, o2 = outs
    # a row as the products take it (float64 for real data, complex128 for complex),
    # padded; only the split loops use it
    cb = np.zeros(m + 8 if f.itemsize == 4 else 0, dtype=(weights[0, 0, :1] * f[0, 0, :1]).dtype)
    # the row axis's end points of every row (which may read its halo), in a loop of
    # their own: a function called per row would reference-count its arrays per row
    ends = np.empty((r1 - r0, 2), dtype=cb.dtype)
    row_ends(f, los[2], his[2], r0, r1, offs, weights, modes, ends)
    r = r0
    while r < r1:
        i0 = r // n1
        i1 = r % n1
        # plain: every rule is the interior one, (f[i+1] - f[i-1]) w or
        # w f[i-1] + v f[i] + u f[i+1], and reads the block only: the run of plain
        # rows that starts here, to the end of the plane's span or of the chunk
        if lo0 <= i0 < hi0 and lo1 <= i1 < hi1:
            stop = min(r1, i0 * n1 + hi1)
            _plain_rows(
                f,
                outs,
                i0,
                i1,
                i1 + stop - r,
                ends[r - r0 :],
                cb,
                weights,
                folded,
                divs,
                stream,
                with_axis0,
                modes[2, 1],
            )
            r = stop
            continue
        if with_axis0:
            outer_rows(f, los[0], his[0], o0, 0, r, r + 1, offs, weights, modes)
        outer_rows(f, los[1], his[1], o1, 1, r, r + 1, offs, weights, modes)
        # (its end points are in `ends` already)
        row_interior(f, o2, r, r + 1, weights, modes)
        o2[i0, i1, 0] = ends[r - r0, 0]
        o2[i0, i1, m - 1] = ends[r - r0, 1]
        r += 1
    if stream:
        store_fence()


@numba.njit(cache=True, nogil=True)
def _plain_rows(
    f: Any,
    outs: Any,
    i0: int,
    i1a: int,
    i1b: int,
    ends: Any,
    cb: Any,
    weights: Any,
    folded: Any,
    divs: Any,
    stream: bool,
    with_axis0: bool,
    rmode: int,
) -> None:
    # rows i1a .. i1b-1 of plane i0, every one plain (:func:`_fused_rows`), their
    # row axis's end points in ends[0 .. i1b-i1a-1]; `rmode` is the rules' kind.
    #
    # float64 and complex data: one loop over the row computes every component.
    # float32 data (`split`): one loop per component, over the row while it is in
    # the first-level cache; the row is converted to float64 once for the three
    # non-uniform components, and with `divs` the uniform rule is numpy's own float32
    # division, eight lanes at a time, instead of a float64 product.  Against one loop
    # for all on 512**3 float32 (ordinary stores), paired in one process, this took
    # 0.79x the time uniform (0.83x in dask's threads) and 0.85-0.91x non-uniform
    # (0.87-0.96x); one loop for all ran slower streamed (its 16-byte streaming stores
    # to three outputs interleave), and float64 ran 1.08-1.27x slower split.
    m = f.shape[2]
    split = f.itemsize == 4  # float32, the one supported dtype of 4 bytes
    divide = divs.shape[0] > 0
    s = weights[2, 0, 1]
    o0, o1, o2 = outs
    base = o1.ctypes.data
    one = np.uint64(1)  # unsigned indices: no wraparound test to keep from vectorizing
    cm, c0, c1 = np.uint64(3), np.uint64(4), np.uint64(5)  # cb[k + c0] is point k
    # unsigned like k: numba compares an unsigned with a signed integer as floats
    zero, last = np.uint64(0), np.uint64(m - 1)
    for i1 in range(i1a, i1b):
        e = i1 - i1a
        w0 = v0 = u0 = 0.0
        if with_axis0:
            w0, v0, u0 = weights[0, 0, i0], weights[0, 1, i0], weights[0, 2, i0]
        w1, v1, u1 = weights[1, 0, i1], weights[1, 1, i1], weights[1, 2, i1]
        row = base + i0 * o1.strides[0] + i1 * o1.strides[1]
        if split:
            # one loop per component (each reads two or three rows and writes one):
            # streaming stores written a line at a time, one output after another
            # (interleaved they measured slower than ordinary stores).  Points
            # ja .. jb-1 of the outer components and ka .. kb-1 of the row axis's
            # are streamed if `stream`, the rest of the row by ordinary stores.  A
            # test inside a loop would keep LLVM from vectorizing it: the loops are
            # written out per case.
            ja = jb = 0
            ka = kb = 1
            if stream:
                ja, jb = line_span(row, o1.itemsize, 0, m)
                ka, kb = line_span(row + o1.itemsize, o1.itemsize, 1, m - 1)
            # the row axis's first and last lines hold its end points: where they are
            # whole lines they are streamed too, by vector loops that put the end
            # point in place of the interior rule's value (a select, not a branch),
            # rather than by scalar ordinary stores (paired: uniform 0.95-0.98x the
            # time, non-uniform 0.93-0.96x in dask's threads, unchanged on numpy input)
            head = stream and m >= 34 and ja == 0  # then 0 .. ka-1 is the first line
            tail = stream and m >= 34 and jb == m  # and kb .. m-1 the last
            e0, e1 = ends[e, 0], ends[e, 1]
            lo2 = 0 if head else 1
            hi2 = m if tail else m - 1
            if not head:
                o2[i0, i1, 0] = e0
            if not tail:
                o2[i0, i1, m - 1] = e1
            if rmode == 0 and divide:
                d0, d1, d2 = divs[0], divs[1], divs[2]
                for a, b in ((0, ja), (jb, m)):
                    for k in range(np.uint64(a), np.uint64(b)):
                        o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) / d1
                for k in range(np.uint64(ja), np.uint64(jb)):
                    stream_store(o1, i0, i1, k, (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) / d1)
                if with_axis0:
                    for a, b in ((0, ja), (jb, m)):
                        for k in range(np.uint64(a), np.uint64(b)):
                            o0[i0, i1, k] = (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) / d0
                    for k in range(np.uint64(ja), np.uint64(jb)):
                        stream_store(o0, i0, i1, k, (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) / d0)
                for a, b in ((lo2, ka), (kb, hi2)):
                    if a == 0 or b == m:
                        # at k = 0 and m - 1, f[k - 1] and f[k + 1] are the neighbouring
                        # rows' end points (a plain row has both; k - 1 wraps to the
                        # offset -1), which the select discards
                        for k in range(np.uint64(a), np.uint64(b)):
                            x = (f[i0, i1, k + one] - f[i0, i1, k - one]) / d2
                            y = e0 if k == zero else (e1 if k == last else x)
                            stream_store(o2, i0, i1, k, y)
                    else:
                        for k in range(np.uint64(a), np.uint64(b)):
                            o2[i0, i1, k] = (f[i0, i1, k + one] - f[i0, i1, k - one]) / d2
                for k in range(np.uint64(ka), np.uint64(kb)):
                    stream_store(o2, i0, i1, k, (f[i0, i1, k + one] - f[i0, i1, k - one]) / d2)
            elif rmode == 0:
                for a, b in ((0, ja), (jb, m)):
                    for k in range(np.uint64(a), np.uint64(b)):
                        o1[i0, i1, k] = (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1
                for k in range(np.uint64(ja), np.uint64(jb)):
                    stream_store(o1, i0, i1, k, (f[i0, i1 + 1, k] - f[i0, i1 - 1, k]) * w1)
                if with_axis0:
                    for a, b in ((0, ja), (jb, m)):
                        for k in range(np.uint64(a), np.uint64(b)):
                            o0[i0, i1, k] = (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) * w0
                    for k in range(np.uint64(ja), np.uint64(jb)):
                        stream_store(o0, i0, i1, k, (f[i0 + 1, i1, k] - f[i0 - 1, i1, k]) * w0)
                for a, b in ((lo2, ka), (kb, hi2)):
                    if a == 0 or b == m:
                        for k in range(np.uint64(a), np.uint64(b)):
                            x = (f[i0, i1, k + one] - f[i0, i1, k - one]) * s
                            y = e0 if k == zero else (e1 if k == last else x)
                            stream_store(o2, i0, i1, k, y)
                    else:
                        for k in range(np.uint64(a), np.uint64(b)):
                            o2[i0, i1, k] = (f[i0, i1, k + one] - f[i0, i1, k - one]) * s
                for k in range(np.uint64(ka), np.uint64(kb)):
                    stream_store(o2, i0, i1, k, (f[i0, i1, k + one] - f[i0, i1, k - one]) * s)
            else:
                # the row converted once for the three components, into cb[4 .. m+3]
                # (aligned as cb is; cb[3] and cb[m + 4] are zeros the end points'
                # selects discard)
                for a, b in ((0, ja), (jb, m)):
                    for k in range(np.uint64(a), np.uint64(b)):
                        c = cb[k + c0] = f[i0, i1, k]
                        o1[i0, i1, k] = w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]
                for k in range(np.uint64(ja), np.uint64(jb)):
                    c = cb[k + c0] = f[i0, i1, k]
                    stream_store(
                        o1, i0, i1, k, w1 * f[i0, i1 - 1, k] + v1 * c + u1 * f[i0, i1 + 1, k]
                    )
                if with_axis0:
                    for a, b in ((0, ja), (jb, m)):
                        for k in range(np.uint64(a), np.uint64(b)):
                            o0[i0, i1, k] = (
                                w0 * f[i0 - 1, i1, k] + v0 * cb[k + c0] + u0 * f[i0 + 1, i1, k]
                            )
                    for k in range(np.uint64(ja), np.uint64(jb)):
                        stream_store(
                            o0,
                            i0,
                            i1,
                            k,
                            w0 * f[i0 - 1, i1, k] + v0 * cb[k + c0] + u0 * f[i0 + 1, i1, k],
                        )
                # a whole-line row in one loop, its end points folded in: put in the
                # pads, they are taken by the rows of `folded` that weigh them by 1 and
                # their neighbours by 0.  Exact where those neighbours are finite (0 x
                # inf is nan) and the end points are not zero (e + 0 is +0 for e = -0);
                # elsewhere the selects below.  (Paired: 0.97-0.98x the time of the
                # selects on 512**3 float32.)
                if (
                    head
                    and tail
                    and e0 != 0.0
                    and e1 != 0.0
                    and cb[c0] - cb[c0] == 0.0
                    and cb[c1] - cb[c1] == 0.0
                    and cb[m + cm - one] - cb[m + cm - one] == 0.0
                    and cb[m + cm] - cb[m + cm] == 0.0
                ):
                    cb[cm] = e0
                    cb[m + c0] = e1
                    for k in range(np.uint64(0), np.uint64(m)):
                        stream_store(
                            o2,
                            i0,
                            i1,
                            k,
                            folded[0, k] * cb[k + cm]
                            + folded[1, k] * cb[k + c0]
                            + folded[2, k] * cb[k + c1],
                        )
                    cb[cm] = cb[m + c0] = 0.0
                    continue
                for a, b in ((lo2, ka), (kb, hi2)):
                    if a == 0 or b == m:
                        for k in range(np.uint64(a), np.uint64(b)):
                            x = (
                                weights[2, 0, k] * cb[k + cm]
                                + weights[2, 1, k] * cb[k + c0]
                                + weights[2, 2, k] * cb[k + c1]
                            )
                            y = e0 if k == zero else (e1 if k == last else x)
                            stream_store(o2, i0, i1, k, y)
                    else:
                        for k in range(np.uint64(a), np.uint64(b)):
                            o2[i0, i1, k] = (
                                weights[2, 0, k] * cb[k + cm]
                                + weights[2, 1, k] * cb[k + c0]
                                + weights[2, 2, k] * cb[k + c1]
                            )
                for k in range(np.uint64(ka), np.uint64(kb)):
                    stream_store(
                        o2,
                        i0,
                        i1,
                        k,
                        weights[2, 0, k] * cb[k + cm]
                        + weights[2, 1, k] * cb[k + c0]
                        + weights[2, 2, k] * cb[k + c1],
                    )
            continue
        # points ka .. kb-1 by streaming stores, 1 .. ka-1 and kb .. m-2 by plain ones
        ka = kb = 1
        if stream:
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
        # every component at the row's ends
        o2[i0, i1, 0] = ends[e, 0]
        o2[i0, i1, m - 1] = ends[e, 1]
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
    stream: bool,
    divs: Any,
    spans: Any,
    folded: Any,
) -> None:
    # every requested component of rows c * size .. (c + 1) * size - 1: fused where
    # the components allow, else one component after the other (the chunk's rows stay
    # in cache, so the block is read from memory about once either way)
    n0, n1 = f.shape[0], f.shape[1]
    r0 = c * size
    r1 = min(r0 + size, n0 * n1)
    if requested[1] and requested[2] and f.shape[2] > 2:
        # rows on the first and last planes along axis 0 read its halo or are its
        # edges: there the components go one after the other (plane by plane)
        a, b = r0, r1
        if requested[0]:
            a, b = max(r0, n1), min(r1, (n0 - 1) * n1)
        if a < b:
            _by_component(f, los, his, outs, r0, a, offs, weights, modes, requested)
            _fused_rows(
                f,
                los,
                his,
                outs,
                a,
                b,
                offs,
                weights,
                modes,
                requested[0],
                stream,
                divs,
                spans,
                folded,
            )
            _by_component(f, los, his, outs, b, r1, offs, weights, modes, requested)
            return
    _by_component(f, los, his, outs, r0, r1, offs, weights, modes, requested)


@numba.njit(cache=True, nogil=True)
def _by_component(
    f: Any,
    los: Any,
    his: Any,
    outs: Any,
    r0: int,
    r1: int,
    offs: Any,
    weights: Any,
    modes: Any,
    requested: Any,
) -> None:
    # every requested component of rows r0 .. r1-1, one after the other
    if requested[0]:
        outer_rows(f, los[0], his[0], outs[0], 0, r0, r1, offs, weights, modes)
    if requested[1]:
        outer_rows(f, los[1], his[1], outs[1], 1, r0, r1, offs, weights, modes)
    if requested[2]:
        row_rows(f, los[2], his[2], outs[2], r0, r1, offs, weights, modes)


@numba.njit(cache=True, nogil=True)
def _plain_spans(f: Any, offs: Any, modes: Any, requested: Any) -> Any:
    # spans[k] = (lo, hi): the indices along outer axis k (0, 1) of the rows that
    # :func:`_fused_rows` takes in one pass: those whose rule along k is the row axis's
    # kind of interior rule and reads the block only (1 <= i < n - 1).  Found once per
    # call, so that a row is tested by two comparisons of its indices: testing the
    # rule tables row by row took 2-6% of the fused loops' time on 512**3 float32
    # non-uniform (paired, in one process).  Where those rows are not one run (never, with
    # bigrad's stencils), the longest run is taken and the others go component by
    # component, which is right for any row.
    spans = np.zeros((2, 2), dtype=np.int64)
    m = f.shape[2]
    if m <= 2:
        return spans
    rmode = modes[2, 1]
    for k in range(2):
        n = f.shape[k]
        if k == 0 and not requested[0]:
            spans[0, 1] = n  # every plane: axis 0 is not computed there
            continue
        start = 1
        for i in range(1, n):
            fits = (
                i < n - 1
                and modes[k, i] == rmode
                and offs[k, 0, i] == -1
                and offs[k, 1, i] == 1 - rmode
            )
            if not fits:
                if i - start > spans[k, 1] - spans[k, 0]:
                    spans[k, 0], spans[k, 1] = start, i
                start = i + 1
    return spans


@numba.njit(cache=True, nogil=True)
def _folded_weights(weights: Any, m: int, requested: Any) -> Any:
    # the row axis's weights with its end points' rules replaced by (1, 0, 0) and
    # (0, 0, 1): the weights of :func:`_fused_rows`'s rows whose end points, computed
    # apart, sit in the pads of their converted row (empty when the row axis is not
    # computed)
    if not requested[2] or m <= 2:
        return np.zeros((3, 0), dtype=np.float64)
    folded = weights[2, :, :m].copy()
    folded[:, 0] = 0.0
    folded[:, m - 1] = 0.0
    folded[0, 0] = folded[2, m - 1] = 1.0
    return folded


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
    divs: Any,
) -> None:
    spans = _plain_spans(f, offs, modes, requested)
    folded = _folded_weights(weights, f.shape[2], requested)
    for c in prange((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(
            c, size, f, los, his, offs, weights, modes, requested, outs, stream, divs, spans, folded
        )


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
    divs: Any,
) -> None:
    spans = _plain_spans(f, offs, modes, requested)
    folded = _folded_weights(weights, f.shape[2], requested)
    for c in range((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(
            c, size, f, los, his, offs, weights, modes, requested, outs, stream, divs, spans, folded
        )
