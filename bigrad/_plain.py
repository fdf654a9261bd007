"""The one-pass loops of :mod:`bigrad._fused`: every component of a run of *plain* rows.

A row (the last axis of a 3-D C-contiguous block) is plain where every requested
component follows its axis's interior rule and reads the block only; nearly every row
of a large block is.  :func:`plain_rows` writes all of a row's components while its
inputs are in the first-level cache, by streaming stores where ``stream`` is set
(:mod:`bigrad._stores`).  Its end points along the row axis, which follow another rule,
come computed (:func:`bigrad._rows.row_ends`).

The loops are written out per case (dtype, kind of rule, stores), since a test inside a
loop would keep LLVM from vectorizing it.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from bigrad._stores import line_span, stream_store

__all__ = ["folded_weights", "plain_rows"]


@numba.njit(cache=True, nogil=True)
def plain_rows(
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
    # rows i1a .. i1b-1 of plane i0, every one plain, their row axis's end points in
    # ends[0 .. i1b-i1a-1]; `rmode` is the rules' kind (0: (f[i+1] - f[i-1]) w, 1:
    # w f[i-1] + v f[i] + u f[i+1]); `cb` a padded buffer of m + 8 points (float32)
    # and `folded` the weights of :func:`folded_weights`.
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
    # axis 0's weights: one plane, one rule
    w0 = v0 = u0 = 0.0
    if with_axis0:
        w0, v0, u0 = weights[0, 0, i0], weights[0, 1, i0], weights[0, 2, i0]
    for i1 in range(i1a, i1b):
        e = i1 - i1a
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
def folded_weights(weights: Any, m: int, requested: Any) -> Any:
    # the row axis's weights with its end points' rules replaced by (1, 0, 0) and
    # (0, 0, 1): the weights of :func:`plain_rows`'s rows whose end points, computed
    # apart, sit in the pads of their converted row (empty when the row axis is not
    # computed)
    if not requested[2] or m <= 2:
        return np.zeros((3, 0), dtype=np.float64)
    folded = weights[2, :, :m].copy()
    folded[:, 0] = 0.0
    folded[:, m - 1] = 0.0
    folded[0, 0] = folded[2, m - 1] = 1.0
    return folded
