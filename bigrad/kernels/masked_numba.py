"""The compiled forms of ``nan="one-sided"`` (:mod:`bigrad.kernels.masked` holds the numpy
reference, which they must match number for number).

numpy's gradient (three-point rules, on a step or a coordinate: a point's rule follows
from which of its four nearest neighbours are finite) takes one pass,
:func:`select_block`, instead of the plain kernel and a redo: every point's rule chosen
by selects in a vector loop (see the section "three-point rules in one pass" below).
Every other stencil takes the redo:

After the plain kernel, the block is cut into slabs along its first axis and one thread
takes a slab from start to finish: a mask of its missing values (one byte a point), then
for each masked axis with a step a sweep for changes of missingness and the redo of the
points near them, while the slab's values and mask are still in cache.  A slab is a
block of its own: its halo rows along the first axis are the block's rows beside it, as
deep as the stencil's halo.

Along an axis, with the slab seen as ``(P, n, Q)`` and its halo planes before and after
it along the axis::

    window   | lo halo |      block      | hi halo |     (one line: fixed p, q)
    mask     . 0 0 1 0 0 0 0 0 0 0 . . 1 0 0 . .
    segments [   ][ ][               ][ ][ ...         stretches of equal missingness

along the last axis a line's window mask is tested 64 bytes at a time (all 0 or all 1,
like the byte before: no change); along any other axis a row of ``Q`` mask bytes is
compared with the row before, 64 bytes at a time.  The changes are listed first (a tight
loop), then each segment ending at one is handled as
:func:`bigrad.kernels.masked.fix_axis` handles it: its points near a change (or all of a
short run) get the rule of their run from :class:`~bigrad.core.masked.RunTables`, with
the same arithmetic as the plain kernels, and missing points near a change get NaN.

The redo takes axes with a step, an evenly spaced coordinate among them (numpy takes
its step); on another coordinate a run's rules depend on its points: the numpy
reference redoes those (a derivative of higher order or accuracy; numpy's gradient
there takes the one pass).  Compiled lazily, on the first ``nan="one-sided"`` call, per
dtype, and cached on disk.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from bigrad.core.masked import MaskedRules, RunTables
from bigrad.core.weights import (
    DIFF,
    AxisRules,
    compute_dtype,
    float_coordinate,
    numpy_coordinate_weights,
)
from bigrad.kernels import threads
from bigrad.kernels.notice import announce

__all__ = [
    "SELECT_SLAB_BYTES",
    "SLAB_BYTES",
    "fix_axis_compiled",
    "fix_block",
    "missing_mask",
    "select_block",
    "select_coordinate_rules",
    "select_rules",
    "threads",
]

# numpy's error model: a division by zero gives inf or NaN as in the numpy reference,
# and the check for it (raising ZeroDivisionError) no longer blocks the optimizer
_njit = numba.njit(cache=True, nogil=True, error_model="numpy")
#: bytes of input a slab holds: large enough that the halo rows swept along axis 0 with
#: it (a stencil's depth on each side) add little, small enough to stay in cache
SLAB_BYTES = 4 << 20
#: the same for the one-pass three-point kernels: a slab read from memory for its first
#: axis, from cache for the others; each slab's first-axis rows also read the two rows
#: before and after it, and each is a call handed to a thread: fewer, larger slabs
SELECT_SLAB_BYTES = 4 << 20
_ONES = np.uint64(0x0101010101010101)
#: a word of marks' byte ``k`` is mark ``k ^ _BYTE_ORDER`` (numba freezes it at compile)
_BYTE_ORDER = 7 if sys.byteorder == "big" else 0
#: numba's intrinsic (a word's trailing zero bits), typed loosely: its stub's call
#: signature is the typing context's, not the kernel's
_trailing_zeros: Any = trailing_zeros


# small helpers inlined: a call passing arrays costs more (their reference counts) than
# the work of most calls
_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")


@_inline
def _mask(src, dst):  # type: ignore[no-untyped-def]
    """``dst`` = 1 where ``src`` (1-D, as long) is not finite (NaN or infinite: ``v - v``
    is NaN, and NaN != 0), else 0."""
    for i in range(src.shape[0]):
        dst[i] = np.uint8(src[i] - src[i] != 0)


@_inline
def _copy(src, dst):  # type: ignore[no-untyped-def]
    """``dst[:] = src`` (1-D, as long): numba's slice assignment is many times slower
    than this loop."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@_inline
def _segment(  # type: ignore[no-untyped-def]
    lo, x, hi, out, p, q, start, stop, missing, cut_lo, cut_hi, cfg, ints, weights, divisor, none
):
    """Window points ``[start, stop)`` of line ``(p, q)``, all missing or all finite:
    those near a cut end (all of a known short run) get their run's rule, missing ones
    NaN (as ``fix_axis`` does)."""
    nl, n = lo.shape[1], x.shape[1]
    width = nl + n + hi.shape[1]
    first, n_axis, reach, shortest = cfg[0], cfg[1], cfg[2], cfg[3]
    length = stop - start
    known = (cut_lo or first == 0) and (cut_hi or first + width == n_axis)
    short = not missing and known and length < shortest
    lo_end = stop if short else (min(stop, start + reach) if cut_lo else start)
    hi_first = max(lo_end, stop - reach) if cut_hi and not short else stop
    run = min(length, shortest)
    for half in range(2):
        a, b = (start, lo_end) if half == 0 else (hi_first, stop)
        for j in range(max(a, nl), min(b, nl + n)):
            if missing or none[run]:
                out[p, j - nl, q] = np.nan
                continue
            k = j - start
            # a long run: a point near its end has the rule of a shortest run's end
            loc = shortest - (length - k) if length >= shortest and k >= shortest // 2 else k
            form, off, wd = ints[run, loc, 0], ints[run, loc, 1], ints[run, loc, 2]
            i = j + off
            v = lo[p, i, q] if i < nl else (x[p, i - nl, q] if i < nl + n else hi[p, i - nl - n, q])
            if form == DIFF:
                i += wd - 1
                v1 = (
                    lo[p, i, q]
                    if i < nl
                    else (x[p, i - nl, q] if i < nl + n else hi[p, i - nl - n, q])
                )
                out[p, j - nl, q] = (v1 - v) / divisor[run, loc]
                continue
            acc = weights[run, loc, 0] * v
            for c in range(1, wd):
                i = j + off + c
                v = (
                    lo[p, i, q]
                    if i < nl
                    else (x[p, i - nl, q] if i < nl + n else hi[p, i - nl - n, q])
                )
                acc = acc + weights[run, loc, c] * v
            out[p, j - nl, q] = acc


@_njit
def _lines(lo, x, hi, mx, out, cfg, ints, weights, divisor, none):  # type: ignore[no-untyped-def]
    """Along the last axis (``Q == 1``): each line's window mask in a buffer, between
    copies of its first and last bytes, tested 64 bytes at a time (all 0 or all 1 and
    like the byte before: no change), the changes listed, then their segments."""
    p_, nl, n = x.shape[0], lo.shape[1], x.shape[1]
    width = nl + n + hi.shape[1]
    lo2, hi2, mx2 = lo.reshape(p_, nl), hi.reshape(p_, hi.shape[1]), mx.reshape(p_, n)
    # window point t at m[8 + t]
    m = np.zeros(8 + -(-width // 64) * 64 + 8, np.uint8)
    words = m.view(np.uint64)
    at = np.empty(width + 1, np.int64)
    for p in range(p_):
        _mask(lo2[p], m[8 : 8 + nl])
        _copy(mx2[p], m[8 + nl : 8 + nl + n])
        _mask(hi2[p], m[8 + nl + n : 8 + width])
        for t in range(8):
            m[t] = m[8]
        for t in range(8 + width, m.shape[0]):
            m[t] = m[7 + width]
        count = 0
        for w0 in range(1, words.shape[0] - 1, 8):
            any_, all_ = np.uint64(0), _ONES
            for w in range(w0, w0 + 8):
                any_ |= words[w]
                all_ &= words[w]
            if m[8 * w0 - 1] == (0 if any_ == 0 else (1 if all_ == _ONES else 2)):
                continue
            for t in range(8 * w0, 8 * w0 + 64):
                if m[t] != m[t - 1]:
                    at[count] = t - 8
                    count += 1
        # each change ends a segment; the last one ends at the window's end
        at[count] = width
        start, cut = 0, False
        for i in range(count + 1):
            t = at[i]
            if i == count and not cut:
                break
            _segment(lo, x, hi, out, p, 0, start, t, m[7 + t] != 0, cut, i < count, cfg, ints,
                     weights, divisor, none)  # fmt: skip
            start, cut = t, True


@_njit
def _columns(lo, x, hi, mx, out, cfg, ints, weights, divisor, none):  # type: ignore[no-untyped-def]
    """Along another axis: rows of ``Q`` mask bytes swept in order, each compared with
    the row before 64 bytes at a time, the changed columns listed, then their segments;
    each column's open segment kept in ``start``/``cut``."""
    nl, n, q_ = lo.shape[1], x.shape[1], x.shape[2]
    width = nl + n + hi.shape[1]
    padded = -(-q_ // 64) * 64
    rows = np.zeros((2, padded), np.uint8)
    words = rows.view(np.uint64)
    start = np.zeros(q_, np.int64)
    cut = np.zeros(q_, np.uint8)
    at = np.empty(q_, np.int64)
    for p in range(x.shape[0]):
        for c in range(q_):
            start[c], cut[c] = 0, 0
        for j in range(width):
            row, prev = rows[j % 2], rows[(j + 1) % 2]
            if j < nl:
                _mask(lo[p, j], row[:q_])
            elif j < nl + n:
                _copy(mx[p, j - nl], row)
            else:
                _mask(hi[p, j - nl - n], row[:q_])
            if j == 0:
                continue
            rw, pw = words[j % 2], words[(j + 1) % 2]
            # first the changed columns (a tight loop), then their segments
            count = 0
            for w0 in range(0, padded // 8, 8):
                d = np.uint64(0)
                for w in range(w0, w0 + 8):
                    d |= rw[w] ^ pw[w]
                if d == 0:
                    continue
                for c in range(8 * w0, min(8 * w0 + 64, q_)):
                    if row[c] != prev[c]:
                        at[count] = c
                        count += 1
            for i in range(count):
                c = at[i]
                _segment(lo, x, hi, out, p, c, start[c], j, prev[c] != 0, cut[c] != 0, True,
                         cfg, ints, weights, divisor, none)  # fmt: skip
                start[c], cut[c] = j, 1
        last = rows[(width - 1) % 2]
        for c in range(q_):
            if cut[c]:
                _segment(lo, x, hi, out, p, c, start[c], width, last[c] != 0, True, False,
                         cfg, ints, weights, divisor, none)  # fmt: skip


def missing_mask(f: np.ndarray) -> np.ndarray:
    """``~np.isfinite(f)`` as one byte a point, for a C-contiguous float block."""
    m = np.empty(f.shape, np.uint8)
    _mask(f.reshape(-1), m.reshape(-1))
    return m


def fix_axis_compiled(f: np.ndarray, lo: np.ndarray, hi: np.ndarray, axis: int,
                      tables: RunTables, reach: int, first: int, n_axis: int,
                      out: np.ndarray, missing: np.ndarray) -> None:  # fmt: skip
    """:func:`bigrad.kernels.masked.fix_axis` compiled, for an axis with a step, in the
    calling thread: ``f``, ``out`` and ``missing`` (:func:`missing_mask`) C-contiguous,
    ``first`` the window's first point on the axis of ``n_axis`` points."""
    if f.size == 0:
        return
    p_ = int(np.prod(f.shape[:axis]))
    q_ = int(np.prod(f.shape[axis + 1 :]))

    def view(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a).reshape(p_, a.shape[axis], q_)

    cfg = np.array([first, n_axis, reach, tables.shortest], np.int64)
    sweep = _lines if q_ == 1 else _columns
    sweep(view(lo), view(f), view(hi), view(missing), view(out), cfg, tables.ints,
          tables.weights, tables.divisor, tables.none)  # fmt: skip


_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _run(calls: Sequence[Callable[[], None]], threads: int) -> None:
    """Run ``calls`` (the kernels release the GIL) on ``threads`` threads, handed out
    in order as threads ask, so that a thread slowed by its neighbours holds no one up."""
    if threads == 1 or len(calls) == 1:
        for call in calls:
            call()
        return
    with _lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bigrad-nan")
        pool = _pools[threads]
    list(pool.map(lambda call: call(), calls))


def _slabs(n0: int, rows: int) -> list[tuple[int, int]]:
    """``[a, b)`` row ranges of ``rows`` rows, the remainder joined to the last one (so
    every slab but the last has ``rows`` rows after it).

    >>> _slabs(10, 4), _slabs(3, 4)
    ([(0, 4), (4, 10)], [(0, 3)])
    """
    cuts = list(range(0, n0 - rows, rows)) if n0 > rows else [0]
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], n0], strict=True)]


def fix_block(
    f: np.ndarray, halos: Sequence[tuple[Any, Any]], rules: Sequence[AxisRules],
    axes: Sequence[int], tables: Sequence[RunTables | None], parts: Sequence[np.ndarray],
    parallel: bool,
) -> None:  # fmt: skip
    """Redo, in ``parts`` (the plain components, C-contiguous like ``f``), the points of
    each axis with ``tables`` run by run, slab by slab along axis 0 (see the module
    docstring)."""
    n0 = f.shape[0]
    # within the block a slab's halo rows along axis 0 are the block's rows beside it, as
    # deep as the stencil's halo: the slab must hold as many (see _slabs)
    depth = max([1] + [r.stencil.depth for r, a, t in zip(rules, axes, tables, strict=True)
                       if a == 0 and t is not None and isinstance(r, MaskedRules)])  # fmt: skip
    rows = max(depth, SLAB_BYTES // max(1, f[0].nbytes))

    # (reach, depth) of each masked axis with tables, once: not per slab
    stencils = [(r.stencil.reach, r.stencil.depth) if isinstance(r, MaskedRules) else (0, 0)
                for r in rules]  # fmt: skip

    def slab(a: int, b: int) -> None:
        missing = missing_mask(f[a:b])
        for (lo, hi), r, ax, t, part, (reach, d) in zip(
            halos, rules, axes, tables, parts, stencils, strict=True
        ):
            if t is None:
                continue
            if ax == 0:
                lo = lo if a == 0 else f[a - d : a]
                hi = hi if b == n0 else f[b : b + d]
            else:
                lo, hi = lo[a:b], hi[a:b]
            first = r.start + (a if ax == 0 else 0) - lo.shape[ax]
            n_axis = r.n
            if r.periodic:  # no ends: a window never starts or stops at one
                first, n_axis = -1, -1
            fix_axis_compiled(f[a:b], lo, hi, ax, t, reach, first, n_axis, part[a:b], missing)

    calls = [lambda a=a, b=b: slab(a, b) for a, b in _slabs(n0, rows)]
    with _announce(f.dtype):
        _run(calls, threads(parallel))


# --- three-point rules in one pass ---------------------------------------------------
#
# Along an axis whose rules touch at most two points on either side (numpy's gradient,
# edge_order 1 or 2, on a step or a coordinate), a point's rule follows from which of
# its four neighbours are finite: the central rule between two finite neighbours, a
# one-sided rule at a run's end (a run of two points: the difference), NaN for a lone or
# missing point.  Every point takes its rule in one loop over a row that LLVM
# vectorises: its operands and divisor chosen by selects (a vector blend), never by a
# branch, since where the coasts fall follows no pattern.  edge_order 2's weighted rule
# at the end of a run of three or more points (it reads the points two away) is taken
# after the loop, at the runs' ends it marked.  This replaces the plain kernel, the
# mask and the sweep for changes of missingness for such an axis.

#: rows of ``prm`` (compute dtype): the divisors of the central difference and of the
#: differences at a run's left and right ends, then the weights of the ends' 3-point
#: rules (left, right) and of the central one on a coordinate.  One column on a step; on
#: a coordinate one per point of the block along the axis (the rules of a run's end
#: there follow from the coordinate at that point)
_PRM = 12


@_inline
def _difference(fm, f0, fp, w):  # type: ignore[no-untyped-def]
    """The difference rule of a point from its value and two neighbours (``w``: a column
    of ``prm``): central between two finite neighbours, else the difference with the
    finite one; meaningless where the point or both neighbours are missing
    (:func:`_rule` gives NaN there)."""
    mm, mp = fm - fm == 0, fp - fp == 0
    hi = fp if mp else f0
    lo = fm if mm else f0
    return (hi - lo) / (w[0] if mm & mp else (w[1] if mp else w[2]))


@_inline
def _rule(fm, f0, fp, w, form, nan):  # type: ignore[no-untyped-def]
    """The run-by-run derivative at a point (as numpy's gradient of its run alone) but at
    a run's weighted end (:func:`_weighted_ends`): :func:`_difference`, or on a
    coordinate (``form`` 1, a constant where inlined: see :func:`_row`) the weighted
    central rule, points in ascending order as the plain kernels add them; NaN at a
    missing or lone point."""
    mm, mp = fm - fm == 0, fp - fp == 0
    v = _difference(fm, f0, fp, w)
    if form == 1:
        v = w[9] * fm + w[10] * f0 + w[11] * fp if mm & mp else v
    return v if (f0 - f0 == 0) & (mm | mp) else nan


@_inline
def _end_mark(fm, f0, fp):  # type: ignore[no-untyped-def]
    """1 at a run's end: a finite point with one finite neighbour."""
    return np.uint8(f0 - f0 == 0) & (np.uint8(fm - fm == 0) ^ np.uint8(fp - fp == 0))


@_inline
def _weighted_ends(rm2, rm, r0, rp, rp2, o, marks, prm, pos, dp, wide_l, wide_r):  # type: ignore[no-untyped-def]
    """edge_order 2's weighted rule at the ends of runs of at least three points, among
    the points ``marks`` holds (point ``c`` with column ``pos + c * dp`` of ``prm``),
    found 8 marks at a time, and within a word of marks from its set bits (the ends
    follow no pattern: a branch a byte would mispredict); the marks past ``o``'s end up
    to the next word's are set to 0 here."""
    for t in range(o.shape[0], -(-o.shape[0] // 8) * 8):
        marks[t] = 0
    words = marks.view(np.uint64)
    for i in range(-(-o.shape[0] // 8)):
        bits = words[i]
        while bits != 0:
            c = 8 * i + ((np.int64(_trailing_zeros(bits)) >> 3) ^ _BYTE_ORDER)
            bits &= bits - np.uint64(1)
            at = pos + c * dp
            fm2, fm, f0, fp, fp2 = rm2[c], rm[c], r0[c], rp[c], rp2[c]
            if fp - fp == 0:  # the first point of a run
                if wide_l and fp2 - fp2 == 0:
                    o[c] = prm[3, at] * f0 + prm[4, at] * fp + prm[5, at] * fp2
            elif wide_r and fm2 - fm2 == 0:
                o[c] = prm[6, at] * fm2 + prm[7, at] * fm + prm[8, at] * f0


@_inline
def _column(prm, pos):  # type: ignore[no-untyped-def]
    """Column ``pos`` of ``prm``, as a tuple (held in registers through a row's loop)."""
    return (prm[0, pos], prm[1, pos], prm[2, pos], prm[3, pos], prm[4, pos], prm[5, pos],
            prm[6, pos], prm[7, pos], prm[8, pos], prm[9, pos], prm[10, pos],
            prm[11, pos])  # fmt: skip


@_inline
def _row(rm2, rm, r0, rp, rp2, o, prm, pos, coord, wide_l, wide_r, nan, marks):  # type: ignore[no-untyped-def]
    """``o`` = the run-by-run rules of the five rows (or shifted lines) with column
    ``pos`` of ``prm``; ``coord`` 1 (a coordinate's central rule, weighted); ``nan`` NaN
    of the compute dtype (a float64 NaN would widen a float32 loop); ``marks`` room for
    a mark a point, rounded up to whole words, for edge_order 2's weighted ends."""
    w = _column(prm, pos)
    m = o.shape[0]
    wide = wide_l != 0 or wide_r != 0
    # a loop per form, each with only the selects its rules need
    if coord != 0 and wide:
        for c in range(m):
            o[c] = _rule(rm[c], r0[c], rp[c], w, 1, nan)
            marks[c] = _end_mark(rm[c], r0[c], rp[c])
    elif wide:
        for c in range(m):
            o[c] = _rule(rm[c], r0[c], rp[c], w, 0, nan)
            marks[c] = _end_mark(rm[c], r0[c], rp[c])
    elif coord != 0:
        for c in range(m):
            o[c] = _rule(rm[c], r0[c], rp[c], w, 1, nan)
    else:
        for c in range(m):
            o[c] = _rule(rm[c], r0[c], rp[c], w, 0, nan)
    if wide:
        _weighted_ends(rm2, rm, r0, rp, rp2, o, marks, prm, pos, 0, wide_l != 0, wide_r != 0)


@_inline
def _points(rm2, rm, r0, rp, rp2, o, prm, a, wide_l, wide_r, nan, marks):  # type: ignore[no-untyped-def]
    """:func:`_row` on a coordinate along a line, each point its own column of ``prm``
    (from column ``a``): contiguous rows of weights, five of them (LLVM vectorises a
    loop only while it can check in a few comparisons, eight, that its output overlaps
    none of its inputs)."""
    m = o.shape[0]
    p1, p2, p9, p10, p11 = (prm[1, a : a + m], prm[2, a : a + m], prm[9, a : a + m],
                            prm[10, a : a + m], prm[11, a : a + m])  # fmt: skip
    wide = wide_l != 0 or wide_r != 0
    for c in range(m):
        z = p10[c]  # for the rows form 1 does not read: a value of the compute dtype
        w = (z, p1[c], p2[c], z, z, z, z, z, z, p9[c], z, p11[c])
        o[c] = _rule(rm[c], r0[c], rp[c], w, 1, nan)
    if wide:
        for c in range(m):
            marks[c] = _end_mark(rm[c], r0[c], rp[c])
        _weighted_ends(rm2, rm, r0, rp, rp2, o, marks, prm, a, 1, wide_l != 0, wide_r != 0)


@_inline
def _pick(lo, x, hi, nanrow, p, i):  # type: ignore[no-untyped-def]
    """Row ``i`` of the window of line ``p`` (``i < 0``: the lo halo), or ``nanrow``
    beyond the halos (the axis's ends)."""
    nl, n = lo.shape[1], x.shape[1]
    if i < 0:
        return lo[p, nl + i] if i >= -nl else nanrow
    if i < n:
        return x[p, i]
    return hi[p, i - n] if i - n < hi.shape[1] else nanrow


@_njit
def _select_rows(lo, x, hi, out, prm, coord, wide_l, wide_r, first, stop):  # type: ignore[no-untyped-def]
    """Rows ``[first, stop)`` of the ``(P, n, Q)`` view (row ``k`` is ``(k // n, k % n)``),
    each from the rows two before and after it along the axis (from the halos, or
    missing beyond them)."""
    n, q_ = x.shape[1], x.shape[2]
    # a row of NaN stands for the rows beyond the halos (the axis's ends), made only
    # where a row reaches them: the rows of axis 0 are whole planes, one or two a call
    ends = False
    for k in range(first, stop):
        ends |= k % n - 2 < -lo.shape[1] or k % n + 2 >= n + hi.shape[1]
    nanrow = np.full(q_ if ends else 0, np.nan, x.dtype)
    nan = np.full(1, np.nan, prm.dtype)[0]
    marks = np.empty(-(-q_ // 8) * 8 if wide_l or wide_r else 0, np.uint8)
    for k in range(first, stop):
        p, j = k // n, k % n
        _row(_pick(lo, x, hi, nanrow, p, j - 2), _pick(lo, x, hi, nanrow, p, j - 1), x[p, j],
             _pick(lo, x, hi, nanrow, p, j + 1), _pick(lo, x, hi, nanrow, p, j + 2), out[p, j],
             prm, j * coord, coord, wide_l, wide_r, nan, marks)  # fmt: skip


@_njit
def _select_lines(lo, x, hi, out, prm, coord, wide_l, wide_r, first, stop):  # type: ignore[no-untyped-def]
    """Lines ``[first, stop)`` along the last axis (the ``(P, n)`` view) but the two
    points at each end (:func:`_line_ends`), straight from the line."""
    n = x.shape[1]
    nan = np.full(1, np.nan, prm.dtype)[0]
    marks = np.empty(-(-n // 8) * 8 if wide_l or wide_r else 0, np.uint8)
    for p in range(first, stop):
        xr, orow = x[p], out[p]
        # five shifted views, as _select_rows reads its rows
        rm2, rm, r0, rp, rp2 = xr[: n - 4], xr[1 : n - 3], xr[2 : n - 2], xr[3 : n - 1], xr[4:]
        if n > 4 and coord == 0:
            _row(rm2, rm, r0, rp, rp2, orow[2 : n - 2], prm, 0, coord, wide_l, wide_r, nan,
                 marks)  # fmt: skip
        elif n > 4:  # on a coordinate, each point its own column of prm
            _points(rm2, rm, r0, rp, rp2, orow[2 : n - 2], prm, 2, wide_l, wide_r, nan, marks)


def _line_ends(lo: np.ndarray, x: np.ndarray, hi: np.ndarray, out: np.ndarray, prm: np.ndarray,
               coord: int, wide_l: int, wide_r: int, first: int, stop: int) -> None:  # fmt: skip
    """The two points at each end of lines ``[first, stop)`` (lines of fewer than 4
    points: all of them), as :func:`_select_rows` takes an axis's rows: each end's four
    points of every line, and its halo, turned into rows of a ``(1, 4, lines)`` block,
    so that the ends' rules are vector loops over the lines (chosen point by point they
    cost as much as the vector loop over the rest of a long line).  Called from Python,
    not from the compiled :func:`_select_lines`: numba optimises a callee's code again
    with each caller's, and the nested kernels compiled several times as slowly."""
    n, lines = x.shape[1], stop - first
    if n < 4:  # the whole line, and both halos
        xe = np.ascontiguousarray(x[first:stop].T)[None]
        le = np.ascontiguousarray(lo[first:stop].T)[None]
        he = np.ascontiguousarray(hi[first:stop].T)[None]
        oe = np.empty(xe.shape, out.dtype)
        _select_rows(le, xe, he, oe, prm, coord, wide_l, wide_r, 0, n)
        out[first:stop] = oe[0].T
        return
    none = np.empty((1, 0, lines), x.dtype)
    for a, j0 in ((0, 0), (n - 4, 2)):
        xe = np.ascontiguousarray(x[first:stop, a : a + 4].T)[None]
        le = np.ascontiguousarray(lo[first:stop].T)[None] if j0 == 0 else none
        he = none if j0 == 0 else np.ascontiguousarray(hi[first:stop].T)[None]
        oe = np.empty(xe.shape, out.dtype)
        pe = np.ascontiguousarray(prm[:, a : a + 4]) if coord else prm
        _select_rows(le, xe, he, oe, pe, coord, wide_l, wide_r, j0, j0 + 2)
        out[first:stop, a + j0 : a + j0 + 2] = oe[0, j0 : j0 + 2].T


def _lines_and_ends(*args: Any) -> None:
    """Lines ``[args[-2], args[-1])`` along the last axis: :func:`_select_lines`, then
    :func:`_line_ends`."""
    _select_lines(*args)
    _line_ends(*args)


@lru_cache(maxsize=64)  # per block otherwise; tables are built once per axis and kept
def select_rules(tables: RunTables) -> tuple[np.ndarray, int, int, int] | None:
    """``(prm, 0, wide_l, wide_r)`` for :func:`_rule` when every run's rules are three-point
    rules it can choose between (see above), else None."""
    s, ints, w, div = tables.shortest, tables.ints, tables.weights, tables.divisor
    if s < 4 or w.shape[2] < 3 or tables.none[1] != 1 or tables.none[2:].any():
        return None

    def rule(length: int, k: int) -> tuple[Any, ...]:
        return (*ints[length, k].tolist(), *w[length, k].tolist(), div[length, k].item())

    left, mid, right = rule(s, 0), rule(s, s // 2), rule(s, s - 1)
    for length in range(3, s + 1):
        want = [left] + [mid] * (length - 2) + [right]
        if any(rule(length, k) != want[k] for k in range(length)):
            return None
    wide_l, wide_r = left[:3] == (0, 0, 3), right[:3] == (0, -2, 3)
    if (
        mid[:3] != (DIFF, -1, 3)
        or rule(2, 0)[:3] != (DIFF, 0, 2)
        or rule(2, 1)[:3] != (DIFF, -1, 2)
        or not (wide_l or left[:3] == (DIFF, 0, 2))
        or not (wide_r or right[:3] == (DIFF, -1, 2))
    ):
        return None
    # one divisor for every difference at a run's end: a run of two's, which is a long
    # run's too where that end is a difference
    if not (wide_l or div[s, 0] == div[2, 0]) or not (wide_r or div[s, s - 1] == div[2, 1]):
        return None
    prm = np.zeros((_PRM, 1), div.dtype)
    prm[:3, 0] = div[s, s // 2], div[2, 0], div[2, 1]
    prm[3:6, 0], prm[6:9, 0] = w[s, 0, :3], w[s, s - 1, :3]
    return prm, 0, int(wide_l), int(wide_r)


def select_coordinate_rules(rules: MaskedRules, m: int) -> tuple[np.ndarray, int, int, int] | None:
    """:func:`select_rules` for numpy's gradient on an (uneven) coordinate: ``prm`` with
    a column per point of the block (its ``m`` points from ``rules.start``), else None."""
    spec = rules.stencil.spec
    if rules.coord is None or not spec.is_numpy:
        return None
    coord = rules.coord
    table = _coordinate_table(coord.tobytes(), coord.dtype.str, rules.data.str)
    wide = int(spec.edge_order == 2)
    # in C order, as a step's: one compiled kernel for both
    first = rules.start + rules.pad  # a periodic coordinate is continued each side
    return np.ascontiguousarray(table[:, first : first + m]), 1, wide, wide


@lru_cache(maxsize=16)  # per block otherwise; kept per grid
def _coordinate_table(coord: bytes, dtype: str, data: str) -> np.ndarray:
    """Every point's ``prm`` column on a coordinate: its rules as a run's first point,
    last point or inner point, numpy's formulas from the steps beside it (the central
    divisor is unused: 1)."""
    x = np.frombuffer(coord, dtype)
    d = np.diff(float_coordinate(x))
    central, first, last = numpy_coordinate_weights(d)
    prm = np.zeros((_PRM, x.size), compute_dtype(np.dtype(data), central[0]))
    prm[:3] = 1
    prm[1, :-1] = d  # a run's first point: the step after it
    prm[2, 1:] = d  # its last point: the step before it
    for k in range(3):
        prm[3 + k, :-2], prm[6 + k, 2:], prm[9 + k, 1:-1] = first[k], last[k], central[k]
    return prm


#: points a piece of a single line (a 1-D block) at least: pieces for threads
_PIECE = 1 << 16


def _pieces(lo: np.ndarray, x: np.ndarray, hi: np.ndarray, out: np.ndarray,
            rule: tuple[Any, ...]) -> list[Callable[[], None]]:  # fmt: skip
    """Calls computing the one line of ``x`` (``(1, n)``) piece by piece, each piece's
    halos the two points beside it (the block's own halos at its ends)."""
    kernel: Any = _lines_and_ends
    calls: list[Callable[[], None]] = []
    prm, coord = rule[:2]
    for a, b in _slabs(x.shape[1], _PIECE):
        plo = lo if a == 0 else x[:, a - 2 : a]
        phi = hi if b == x.shape[1] else x[:, b : b + 2]
        piece = (np.ascontiguousarray(prm[:, a:b]) if coord else prm, *rule[1:])
        args = (plo, x[:, a:b], phi, out[:, a:b], *piece)
        calls.append(partial(kernel, *args, 0, 1))
    return calls


def select_block(f: np.ndarray, halos: Sequence[tuple[np.ndarray, np.ndarray]],
                 axes: Sequence[int], rules: Sequence[Any], outs: Sequence[np.ndarray],
                 threads: int) -> None:  # fmt: skip
    """The derivatives along ``axes`` run by run in one pass (``rules``: each axis's
    :func:`select_rules`), ``f`` and ``outs`` C-contiguous, the halos as deep as the
    stencil's: slab by slab along axis 0, every axis's points of a slab while it is in
    cache."""
    if f.size == 0:
        return
    n0 = f.shape[0]
    rows = max(1, SELECT_SLAB_BYTES // max(1, f[0].nbytes))
    jobs: list[tuple[Any, tuple[Any, ...], int]] = []
    whole: list[Callable[[], None]] = []  # calls of their own: 1-D pieces, lines' ends
    for (lo, hi), axis, rule, out in zip(halos, axes, rules, outs, strict=True):
        p_ = int(np.prod(f.shape[:axis]))
        q_ = int(np.prod(f.shape[axis + 1 :]))

        def view(a: np.ndarray, p_: int = p_, q_: int = q_, axis: int = axis) -> np.ndarray:
            # lines as 2-D: numba then knows each line is contiguous
            shape = (p_, a.shape[axis], q_) if q_ > 1 else (p_, a.shape[axis])
            return np.ascontiguousarray(a).reshape(shape)

        vlo, vf, vhi, vout = (view(a) for a in (lo, f, hi, out))
        args = (vlo, vf, vhi, vout, *rule)
        if q_ == 1 and axis == 0:  # one line (the other axes have one point)
            whole += _pieces(vlo, vf, vhi, vout, rule)
        elif q_ == 1:
            jobs.append((_select_lines, args, p_ // n0))  # lines per row of axis 0
            # the ends of all the lines at once: per slab, their few points would cost
            # more in Python than they save
            prm, coord, wide_l, wide_r = rule
            whole.append(partial(_line_ends, vlo, vf, vhi, vout, prm, coord, wide_l, wide_r, 0, p_))
        else:
            jobs.append((_select_rows, args, p_ * f.shape[axis] // n0))

    def slab(a: int, b: int) -> None:
        for kernel, args, per in jobs:
            kernel(*args, a * per, b * per)

    slabs: list[Callable[[], None]] = [partial(slab, a, b) for a, b in _slabs(n0, rows)]
    with _announce(f.dtype):
        _run(whole + (slabs if jobs else []), threads)


def _announce(dtype: np.dtype[Any]) -> Any:
    """Say on stderr, once per dtype, that these kernels compile (a first call waits
    for them)."""
    name = f"NaN-aware kernels for {dtype} data"
    return announce(name, f"bigrad: compiling {name} (first use, several seconds, once)\n")
