"""The compiled form of ``nan="one-sided"``'s redo (:mod:`bigrad.kernels.masked` holds the
numpy reference, which it must match number for number).

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

Only axes with a step use it (on a coordinate a run's rules depend on its points: the
numpy reference does those).  Compiled lazily, on the first ``nan="one-sided"`` call,
per dtype, and cached on disk.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

from bigrad.core.masked import MaskedRules, RunTables
from bigrad.core.weights import DIFF, AxisRules

__all__ = ["SLAB_BYTES", "fix_axis_compiled", "fix_block", "missing_mask"]

# numpy's error model: a division by zero gives inf or NaN as in the numpy reference,
# and the check for it (raising ZeroDivisionError) no longer blocks the optimizer
_njit = numba.njit(cache=True, nogil=True, error_model="numpy")
#: bytes of input a slab holds: large enough that the halo rows swept along axis 0 with
#: it (a stencil's depth on each side) add little, small enough to stay in cache
SLAB_BYTES = 4 << 20
_ONES = np.uint64(0x0101010101010101)


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


def _threads(parallel: bool) -> int:
    if not parallel:
        return 1
    env = os.environ.get("BIGRAD_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
            fix_axis_compiled(f[a:b], lo, hi, ax, t, reach, first, r.n, part[a:b], missing)

    calls = [lambda a=a, b=b: slab(a, b) for a, b in _slabs(n0, rows)]
    _run(calls, _threads(parallel))
