"""The entry points of the jitted kernels behind :func:`bigrad._numba.fused_gradient`:
rows in chunks, each chunk's rows split between the one-pass loops and the
component-by-component ones.

A block is 3-D ``(n0, n1, n2)``, C-contiguous, so that the last axis is a contiguous
*row*.  Rows are taken in chunks, the unit of work of numba's threads, each thread
taking the next chunk as it finishes one (:mod:`bigrad._threads`).  Where every
requested component of a row follows its axis's interior rule and reads the block only
(nearly every row of a large block: the rows within :func:`_plain_spans`),
:func:`bigrad._plain.plain_rows` writes all of them while the row's inputs are in the
first-level cache; elsewhere the components of a chunk go one after the other
(:mod:`bigrad._rows`), the chunk's rows still in cache.

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

from bigrad._plain import folded_weights, plain_rows
from bigrad._rows import outer_rows, row_ends, row_interior, row_rows
from bigrad._stores import store_fence
from bigrad._threads import fetch_add

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
    # row (:func:`bigrad._plain.plain_rows`); the other rows (next to a face, on an
    # edge, or where the axes' spacings differ in kind) component by component.  With
    # `stream`, the whole cache lines of a row are written by streaming stores (the
    # outputs then share their alignment to a line and their strides).
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
            plain_rows(
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
    # non-uniform (paired, in one process).  Where those rows are not one run (never,
    # with bigrad's stencils), the longest run is taken and the others go component
    # by component, which is right for any row.
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
    threads: int,
    taken: Any,
) -> None:
    spans = _plain_spans(f, offs, modes, requested)
    folded = folded_weights(weights, f.shape[2], requested)
    count = (f.shape[0] * f.shape[1] + size - 1) // size
    # one iteration per thread, each taking the next chunk from the counter `taken`
    # (zero, allocated by the caller: numba does not see the atomic add, and may take
    # an array made here for a constant) until none is left (:mod:`bigrad._threads`)
    for _ in prange(threads):
        c = fetch_add(taken, 1)
        while c < count:
            _chunk(
                c,
                size,
                f,
                los,
                his,
                offs,
                weights,
                modes,
                requested,
                outs,
                stream,
                divs,
                spans,
                folded,
            )
            c = fetch_add(taken, 1)


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
    folded = folded_weights(weights, f.shape[2], requested)
    for c in range((f.shape[0] * f.shape[1] + size - 1) // size):
        _chunk(
            c, size, f, los, his, offs, weights, modes, requested, outs, stream, divs, spans, folded
        )
