"""The ``nan="one-sided"`` kernel: the plain derivative, then the points next to missing
values redone with the rules of their run of finite values (numpy).

Along the axis, the block and its (deep) halo planes form a window::

    window   | lo halo |      block      | hi halo |
    line     . 3 4 nan 5 6 7 8 9 . . . nan 1 2 . .
    runs          [ ]  [              ]    [    ...
                       ^^ redone     ^^ redone

A point keeps the plain result unless a missing value lies within the stencils' reach
of it or its run is short; those points are grouped by the rule their run gives them
(one rule per run length and position, or per run on a coordinate) and each group is
computed with the same arithmetic as the plain kernels, so the numbers are
``np.gradient``'s for each run alone.  A block with no missing value in its window costs
one scan for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bigrad.core.blocks import index
from bigrad.core.masked import MaskedRules
from bigrad.core.weights import DIFF, AxisRules
from bigrad.kernels import threads

__all__ = ["fix_axis", "masked_block"]


def masked_block(
    f: Any, halos: Sequence[tuple[Any, Any]], rules: Sequence[AxisRules], axes: Sequence[int],
    *, add: bool, outs: list[Any], derive: Any, compiled: bool = False, parallel: bool = True,
) -> list[Any]:  # fmt: skip
    """Every component of the block into ``outs`` (their sum, with ``add``): ``derive``
    (the plain block kernel, all components in one pass), then the run-by-run points
    of masked axes: with ``compiled``, those on an axis with a step by
    :mod:`bigrad.kernels.masked_numba` where it applies (plain float32/float64 arrays,
    copied to C order), the others here.  With ``compiled``, numpy's gradient (on a
    step or a coordinate) takes that module's one pass instead of both."""
    if compiled and type(f) is np.ndarray and not f.flags.c_contiguous:
        # the compiled kernels take blocks in C order (dask's blocks of a numpy array are
        # often views, Fortran-ordered input is not): a copy costs less than the redo
        f = np.ascontiguousarray(f)
    if not add and compiled and _compiled_applies(f, outs):
        chosen = _one_pass(f, halos, rules, axes, outs, parallel)
        if chosen:
            rest = [c for c in range(len(axes)) if c not in chosen]
            if rest:
                masked_block(f, [halos[c] for c in rest], [rules[c] for c in rest],
                             [axes[c] for c in rest], add=False, outs=[outs[c] for c in rest],
                             derive=derive, compiled=compiled, parallel=parallel)  # fmt: skip
            return outs
    plain = [r.plain() if isinstance(r, MaskedRules) else r for r in rules]
    parts = derive(f, halos, plain, axes, None if add else outs)
    if f.dtype.kind not in "fc" or not any(isinstance(r, MaskedRules) for r in rules):
        return _sum(parts, outs) if add else outs
    fast = compiled and _compiled_applies(f, parts)
    tables = [r.tables() if fast and isinstance(r, MaskedRules) else None for r in rules]
    if any(t is not None for t in tables):
        from bigrad.kernels import masked_numba as _compiled

        _compiled.fix_block(f, halos, rules, axes, tables, parts, parallel)
    missing: np.ndarray | None = None  # once for every axis
    for part, axis, (lo, hi), r, t in zip(parts, axes, halos, rules, tables, strict=True):
        if isinstance(r, MaskedRules) and t is None:
            missing = ~np.isfinite(f) if missing is None else missing
            fix_axis(f, lo, hi, axis, r, part, missing)
    return _sum(parts, outs) if add else outs


def _one_pass(f: np.ndarray, halos: Sequence[tuple[Any, Any]], rules: Sequence[AxisRules],
              axes: Sequence[int], outs: list[Any], parallel: bool) -> list[int]:  # fmt: skip
    """The components whose rules are numpy's gradient's three-point rules (on a step or
    a coordinate), computed in one pass by
    :func:`bigrad.kernels.masked_numba.select_block` instead of the plain kernel and the
    redo; their indices."""
    from bigrad.kernels import masked_numba as _compiled

    chosen = {}
    for c, (r, axis) in enumerate(zip(rules, axes, strict=True)):
        if not isinstance(r, MaskedRules):
            continue
        tables = r.tables()
        rule: tuple[Any, ...] | None
        if tables is not None:
            rule = _compiled.select_rules(tables)
        else:
            rule = _compiled.select_coordinate_rules(r, f.shape[axis])
        if rule is not None and all(type(h) is np.ndarray for h in halos[c]):
            chosen[c] = rule
    if chosen:
        _compiled.select_block(f, [halos[c] for c in chosen], [axes[c] for c in chosen],
                               list(chosen.values()), [outs[c] for c in chosen],
                               threads(parallel))  # fmt: skip
    return list(chosen)


def _compiled_applies(f: Any, parts: Sequence[Any]) -> bool:
    from bigrad.kernels.numba import SUPPORTED

    return (
        type(f) is np.ndarray
        and f.dtype.str[1:] in SUPPORTED
        and f.flags.c_contiguous
        and all(type(p) is np.ndarray and p.flags.c_contiguous for p in parts)
    )


def _sum(parts: Sequence[Any], outs: list[Any]) -> list[Any]:
    total = parts[0]
    for p in parts[1:]:
        total = total + p  # in ``axes`` order, as the plain kernels add
    outs[0][...] = total
    return outs


def _segments(missing: np.ndarray, axis: int) -> dict[str, np.ndarray]:
    """The stretches of equal missingness along ``axis`` that touch a change of it.

    Returns per segment: its line (the flat index of the other axes), window
    ``start``/``stop``, whether it is ``finite``, and whether its start and stop are
    changes (``cut_lo``/``cut_hi``) rather than the window's ends.  Lines without a
    change are left out: all finite (the plain result is right) or all missing.
    """
    n = missing.shape[axis]
    before = missing[index(axis, slice(0, n - 1))]
    change = before != missing[index(axis, slice(1, n))]
    where = np.nonzero(change)  # contiguous: fast; the few changes are sorted after
    other = [w for d, w in enumerate(where) if d != axis]
    oshape = tuple(s for d, s in enumerate(missing.shape) if d != axis)
    line = np.ravel_multi_index(other, oshape) if oshape else np.zeros_like(where[axis])
    order = np.lexsort((where[axis], line)) if axis != missing.ndim - 1 else slice(None)
    line, p = line[order], where[axis][order] + 1  # a change just before window point p
    was_missing = before[where][order]
    same_next = np.zeros(line.size, bool)
    same_next[:-1] = line[1:] == line[:-1]
    first_of_line = np.ones(line.size, bool)
    first_of_line[1:] = line[1:] != line[:-1]
    nxt = np.where(same_next, np.roll(p, -1), n)
    # the segment after each change, and the one before each line's first change
    return {
        "line": np.concatenate([line, line[first_of_line]]),
        "start": np.concatenate([p, np.zeros(int(first_of_line.sum()), p.dtype)]),
        "stop": np.concatenate([nxt, p[first_of_line]]),
        "finite": np.concatenate([was_missing, ~was_missing[first_of_line]]),
        "cut_lo": np.concatenate(
            [np.ones(line.size, bool), np.zeros(int(first_of_line.sum()), bool)]
        ),
        "cut_hi": np.concatenate([same_next, np.ones(int(first_of_line.sum()), bool)]),
    }


def _expand(first: np.ndarray, stop: np.ndarray, *tags: np.ndarray) -> list[np.ndarray]:
    """Every point of the ranges ``[first, stop)``, with each range's ``tags``."""
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    rep = np.repeat(np.arange(counts.size), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return [first[rep] + offsets, *(t[rep] for t in tags)]


def fix_axis(f: Any, lo: Any, hi: Any, axis: int, rules: MaskedRules, out: Any,
             missing: np.ndarray | None = None) -> None:  # fmt: skip
    """Redo, in ``out``, the points of block ``f`` whose run of finite values along
    ``axis`` makes their rule differ from the axis's, and set missing points next to
    finite ones to NaN."""
    parts = (lo, f, hi)
    inner = ~np.isfinite(f) if missing is None else missing
    missing = np.concatenate([~np.isfinite(lo), inner, ~np.isfinite(hi)], axis=axis)
    seg = _segments(missing, axis)
    if not seg["line"].size:
        return
    n_lo, m, width = lo.shape[axis], f.shape[axis], missing.shape[axis]
    oshape = tuple(s for d, s in enumerate(missing.shape) if d != axis)
    reach, shortest = rules.stencil.reach, rules.stencil.shortest
    first = rules.start - n_lo  # the window's first point on the axis
    start, stop, line = seg["start"], seg["stop"], seg["line"]
    length = stop - start
    ends = not rules.periodic  # a periodic axis has none: its runs end at missing values
    known = (seg["cut_lo"] | (ends & (first == 0))) & (
        seg["cut_hi"] | (ends & (first + width == rules.n))
    )
    short = seg["finite"] & known & (length < shortest)
    # points near a change: ``reach`` from each cut end (a short run: all of it)
    lo_end = np.where(seg["cut_lo"] | short, np.minimum(stop, start + reach), start)
    lo_end = np.where(short, stop, lo_end)
    hi_first = np.where(seg["cut_hi"] & ~short, np.maximum(lo_end, stop - reach), stop)
    pos, ln, st, ln_, fin = _concat(
        _expand(start, lo_end, line, start, length, seg["finite"]),
        _expand(hi_first, stop, line, start, length, seg["finite"]),
    )
    inside = (pos >= n_lo) & (pos < n_lo + m)
    pos, ln, st, ln_, fin = pos[inside], ln[inside], st[inside], ln_[inside], fin[inside]
    omoved = np.moveaxis(out, axis, -1)
    omoved[_at(ln[~fin], oshape, pos[~fin] - n_lo)] = np.nan
    if fin.any():
        pos, ln, st, ln_ = pos[fin], ln[fin], st[fin], ln_[fin]
        _redo(parts, axis, omoved, oshape, rules, ln, pos, n_lo, st, ln_, pos - st, first)


def _concat(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    return [np.concatenate([x, y]) for x, y in zip(a, b, strict=True)]


def _gather(parts: tuple[Any, Any, Any], axis: int, oshape: tuple[int, ...], line: np.ndarray,
            pos: np.ndarray) -> np.ndarray:  # fmt: skip
    """Values at window points ``pos`` of flat lines ``line`` (from the halo or block)."""
    other = list(np.unravel_index(line, oshape)) if oshape else []
    out = np.empty(pos.size, dtype=parts[1].dtype)
    begin = 0
    for part in parts:
        size = part.shape[axis]
        sel = (pos >= begin) & (pos < begin + size)
        if sel.any():
            idx = [o[sel] for o in other]
            idx.insert(axis, pos[sel] - begin)
            out[sel] = part[tuple(idx)]
        begin += size
    return out


def _redo(parts: tuple[Any, Any, Any], axis: int, omoved: Any, oshape: tuple[int, ...],
          rules: MaskedRules, line: np.ndarray, pos: np.ndarray, n_lo: int, start: np.ndarray,
          length: np.ndarray, k: np.ndarray, first: int) -> None:  # fmt: skip
    """Compute the redone points (at window positions ``pos``), grouped by the rule
    their run gives them."""
    shortest = rules.stencil.shortest
    long = length >= shortest
    # a point of a long run lies near one end, where its rule is the one it has in
    # the run's first or last ``shortest`` points: those stand for the run
    run_first = np.where(long & (k >= shortest // 2), start + length - shortest, start)
    run_len = np.where(long, shortest, length)
    # grouped by the run's length and the point's place in it; on a coordinate the
    # group's rules are built for each of its runs at once
    base = shortest + 1
    keys = run_len * base + (pos - run_first)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    bounds = np.flatnonzero(np.diff(ordered)) + 1
    bounds = np.concatenate([[0], bounds, [keys.size]])
    for g in range(bounds.size - 1):
        sel = order[bounds[g] : bounds[g + 1]]
        key = int(ordered[bounds[g]])
        rl, loc = key // base, key % base
        if rules.coord is None:
            run = rules.run(rl)
            point = None if run is None else run.point(loc)
        else:
            point = rules.run_points(run_first[sel] + first, rl, loc)
        ln, p = line[sel], pos[sel]
        omoved[_at(ln, oshape, p - n_lo)] = _value(parts, axis, oshape, ln, p, point)


def _value(parts: tuple[Any, Any, Any], axis: int, oshape: tuple[int, ...], ln: np.ndarray,
           p: np.ndarray, point: tuple[Any, ...] | None) -> Any:  # fmt: skip
    """Rule ``point`` (weights and divisor shared, or one per point) at window points
    ``p`` of lines ``ln``, with the plain kernels' arithmetic."""
    if point is None:
        return np.nan
    form, off, width, weights, divisor = point
    terms = [_gather(parts, axis, oshape, ln, p + off + j) for j in range(width)]
    if form == DIFF:
        return (terms[-1] - terms[0]) / divisor
    acc = weights[0] * terms[0]
    for w, t in zip(weights[1:], terms[1:], strict=True):
        acc = acc + w * t
    return acc


def _at(line: np.ndarray, oshape: tuple[int, ...], col: np.ndarray) -> tuple[Any, ...]:
    """The index of points ``col`` of flat ``line`` numbers in an array moved to
    ``oshape + (m,)``."""
    return (*np.unravel_index(line, oshape), col) if oshape else (col,)
