"""The compiled form of ``nan="one-sided"``'s redo (:mod:`bigrad.kernels.masked` holds the
numpy reference, which it must match number for number).

Once per block, a mask of missing values (one byte a point) is taken in one parallel
pass.  Then along each masked axis, with the block seen as ``(P, n, Q)`` and its halo
planes before and after it along the axis::

    window   | lo halo |      block      | hi halo |     (one line: fixed p, q)
    mask     . 0 0 1 0 0 0 0 0 0 0 . . 1 0 0 . .
    segments [   ][ ][               ][ ][ ...         stretches of equal missingness

the window is swept for changes of missingness: along the last axis line by line,
along any other one row of ``Q`` mask bytes at a time against the previous row, so that
memory is read in order and stretches without a change are skipped a chunk at a time.
Each segment ending at a change is handled as :func:`bigrad.kernels.masked.fix_axis`
handles it: its points near a change (or all of a short run) get the rule of their run
from :class:`~bigrad.core.masked.RunTables`, with the same arithmetic as the plain
kernels, and missing points near a change get NaN.

Only axes with a step use it (on a coordinate a run's rules depend on its points: the
numpy reference does those).  Compiled lazily, on the first ``nan="one-sided"`` call,
per dtype, and cached on disk.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

from bigrad.core.masked import RunTables
from bigrad.core.weights import DIFF

__all__ = ["fix_axis_compiled", "missing_mask"]

_njit = numba.njit(cache=True, nogil=True)
#: mask bytes compared at a time before looking at single points
_CHUNK = 16


@_njit
def _mask_rows(x2, m2, first, stop):  # type: ignore[no-untyped-def]
    for i in range(first, stop):
        r, mr = x2[i], m2[i]
        for q in range(r.shape[0]):
            mr[q] = r[q] - r[q] != 0  # not finite: NaN or infinite (NaN != 0)


# The hot loops below are written out, not split into helpers taking arrays: a call
# with array arguments costs more than the few points it would compute.

#: work items: (p, q, start, stop, flags) of segments to redo; flags: finite, cut_lo, cut_hi
_WORK = 4096
_FINITE, _CUT_LO, _CUT_HI = 1, 2, 4


@_njit
def _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none):  # type: ignore[no-untyped-def]
    """The points of the ``count`` segments in ``work`` whose rule is not the axis's:
    those near a change (all of a known short run) get their run's rule, missing ones
    NaN (as ``fix_axis`` does)."""
    nl, n = lo.shape[1], x.shape[1]
    width = nl + n + hi.shape[1]
    first, n_axis, reach, shortest = cfg[0], cfg[1], cfg[2], cfg[3]
    for w in range(count):
        p, q, start, stop, flags = work[w, 0], work[w, 1], work[w, 2], work[w, 3], work[w, 4]
        finite, cut_lo, cut_hi = flags & _FINITE != 0, flags & _CUT_LO != 0, flags & _CUT_HI != 0
        length = stop - start
        known = (cut_lo or first == 0) and (cut_hi or first + width == n_axis)
        short = finite and known and length < shortest
        lo_end = stop if short else (min(stop, start + reach) if cut_lo else start)
        hi_first = max(lo_end, stop - reach) if cut_hi and not short else stop
        run = min(length, shortest)
        for half in range(2):
            a, b = (start, lo_end) if half == 0 else (hi_first, stop)
            for j in range(max(a, nl), min(b, nl + n)):
                if not finite or none[run]:
                    out[p, j - nl, q] = np.nan
                    continue
                k = j - start
                # a long run: a point near its end has the rule of a shortest run's end
                loc = shortest - (length - k) if length >= shortest and k >= shortest // 2 else k
                form, off, wd = ints[run, loc, 0], ints[run, loc, 1], ints[run, loc, 2]
                i = j + off
                v = (
                    lo[p, i, q]
                    if i < nl
                    else (x[p, i - nl, q] if i < nl + n else hi[p, i - nl - n, q])
                )
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
def _push(work, count, p, q, start, stop, prev, cut_lo, cut_hi):  # type: ignore[no-untyped-def]
    """Add a segment to ``work`` (the caller flushes it when full)."""
    flags = (_FINITE if prev == 0 else 0) | (_CUT_LO if cut_lo else 0) | (_CUT_HI if cut_hi else 0)
    work[count, 0], work[count, 1], work[count, 2], work[count, 3] = p, q, start, stop
    work[count, 4] = flags
    return count + 1


@_njit
def _lines(lo, x, hi, mlo, m, mhi, out, p0, p1, cfg, ints, weights, divisor, none):  # type: ignore[no-untyped-def]
    """Lines ``[p0, p1)`` along the last axis (``Q == 1``): each line's window mask
    copied into a buffer and skipped eight bytes at a time while it stays as it was."""
    nl, n = lo.shape[1], x.shape[1]
    width = nl + n + hi.shape[1]
    buf = np.zeros(-(-width // 8) * 8 + 8, np.uint8)
    words = buf.view(np.uint64)
    work = np.empty((_WORK, 5), np.int64)
    count = 0
    for p in range(p0, p1):
        buf[:nl] = mlo[p, :, 0]
        buf[nl : nl + n] = m[p, :, 0]
        buf[nl + n : width] = mhi[p, :, 0]
        prev, start, cut, t = buf[0], 0, False, 1
        while True:
            # to the next point unlike ``prev``: whole words, then bytes
            same = np.uint64(prev) * np.uint64(0x0101010101010101)
            while t % 8 and t < width and buf[t] == prev:
                t += 1
            if t % 8 == 0:
                w = t // 8
                while 8 * w + 8 <= width and words[w] == same:
                    w += 1
                t = 8 * w
                while t < width and buf[t] == prev:
                    t += 1
            if t >= width:
                break
            if buf[t] == prev:
                continue
            if count == _WORK:
                _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none)
                count = 0
            count = _push(work, count, p, 0, start, t, prev, cut, True)
            prev, start, cut = buf[t], t, True
            t += 1
        if cut:
            if count == _WORK:
                _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none)
                count = 0
            count = _push(work, count, p, 0, start, width, prev, True, False)
    _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none)


@_njit
def _columns(  # type: ignore[no-untyped-def]
    lo, x, hi, mlo, m, mhi, out, p0, p1, q0, q1, cfg, ints, weights, divisor, none
):
    """Columns ``[q0, q1)`` of slabs ``[p0, p1)``, along a middle axis: rows swept in
    order, each compared with the row before eight bytes at a time; each column's
    segment kept in ``start``/``cut``."""
    nl, n = lo.shape[1], x.shape[1]
    width = nl + n + hi.shape[1]
    nq = q1 - q0
    padded = -(-nq // 8) * 8
    prev, row = np.zeros(padded, np.uint8), np.zeros(padded, np.uint8)
    pw, rw = prev.view(np.uint64), row.view(np.uint64)
    start = np.zeros(nq, np.int64)
    cut = np.zeros(nq, np.uint8)
    work = np.empty((_WORK, 5), np.int64)
    count = 0
    for p in range(p0, p1):
        for j in range(width):
            if j < nl:
                row[:nq] = mlo[p, j, q0:q1]
            elif j < nl + n:
                row[:nq] = m[p, j - nl, q0:q1]
            else:
                row[:nq] = mhi[p, j - nl - n, q0:q1]
            if j == 0:
                prev[:] = row
                start[:] = 0
                cut[:] = 0
                continue
            for w in range(padded // 8):
                if rw[w] == pw[w]:
                    continue
                for c in range(8 * w, 8 * w + 8):
                    if row[c] == prev[c]:
                        continue
                    if count == _WORK:
                        _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none)
                        count = 0
                    count = _push(work, count, p, q0 + c, start[c], j, prev[c], cut[c], True)
                    start[c], cut[c] = j, 1
                pw[w] = rw[w]
        for c in range(nq):
            if cut[c]:
                if count == _WORK:
                    _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none)
                    count = 0
                count = _push(work, count, p, q0 + c, start[c], width, prev[c], True, False)
    _redo(lo, x, hi, out, work, count, cfg, ints, weights, divisor, none)


_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _threads(parallel: bool) -> int:
    if not parallel:
        return 1
    env = os.environ.get("BIGRAD_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run(calls: Sequence[Any], threads: int) -> None:
    """Run ``calls`` (the kernels release the GIL) on ``threads`` threads."""
    if threads == 1 or len(calls) == 1:
        for call in calls:
            call()
        return
    with _lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bigrad-nan")
        pool = _pools[threads]
    list(pool.map(lambda call: call(), calls))


def _ranges(n: int, pieces: int) -> list[tuple[int, int]]:
    step = max(1, -(-n // pieces))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def missing_mask(f: np.ndarray, parallel: bool = True) -> np.ndarray:
    """``~np.isfinite(f)`` as one byte a point, for a C-contiguous float block."""
    m = np.empty(f.shape, np.uint8)
    if f.size == 0:
        return m
    x2, m2 = f.reshape(f.shape[0], -1), m.reshape(f.shape[0], -1)
    threads = _threads(parallel)
    calls = [
        lambda a=a, b=b: _mask_rows(x2, m2, a, b) for a, b in _ranges(x2.shape[0], 4 * threads)
    ]
    _run(calls, threads)
    return m


def fix_axis_compiled(f: np.ndarray, lo: np.ndarray, hi: np.ndarray, axis: int,
                      tables: RunTables, reach: int, first: int, n_axis: int,
                      out: np.ndarray, missing: np.ndarray,
                      parallel: bool = True) -> None:  # fmt: skip
    """:func:`bigrad.kernels.masked.fix_axis` compiled, for an axis with a step:
    ``f``, ``out`` and ``missing`` (:func:`missing_mask`) C-contiguous, ``first`` the
    window's first point on the axis of ``n_axis`` points."""
    if f.size == 0:
        return
    p_ = int(np.prod(f.shape[:axis]))
    q_ = int(np.prod(f.shape[axis + 1 :]))

    def view(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a).reshape(p_, a.shape[axis], q_)

    los, his = view(lo), view(hi)
    arrays = (
        los, view(f), his, view(~np.isfinite(lo)).view(np.uint8), view(missing),
        view(~np.isfinite(hi)).view(np.uint8), view(out),
    )  # fmt: skip
    cfg = np.array([first, n_axis, reach, tables.shortest], np.int64)
    packed = (cfg, tables.ints, tables.weights, tables.divisor, tables.none)
    threads = _threads(parallel)
    if q_ == 1:
        calls = [
            lambda a=a, b=b: _lines(*arrays, a, b, *packed) for a, b in _ranges(p_, 4 * threads)
        ]
    elif p_ >= 4 * threads:
        calls = [
            lambda a=a, b=b: _columns(*arrays, a, b, 0, q_, *packed)
            for a, b in _ranges(p_, 4 * threads)
        ]
    else:
        bands = _ranges(q_, max(1, min(4 * threads, q_ // _CHUNK)))
        calls = [lambda a=a, b=b: _columns(*arrays, 0, p_, a, b, *packed) for a, b in bands]
    _run(calls, threads)
