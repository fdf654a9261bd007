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

from bigrad.core.masked import MaskedRules
from bigrad.core.weights import DIFF, AxisRules

__all__ = ["fix_axis", "masked_block"]


def masked_block(
    f: Any, halos: Sequence[tuple[Any, Any]], rules: Sequence[AxisRules], axes: Sequence[int],
    *, add: bool, outs: list[Any], derive: Any,
) -> list[Any]:  # fmt: skip
    """Every component of the block into ``outs`` (their sum, with ``add``): ``derive``
    (the plain block kernel) per axis, then the run-by-run points of masked axes."""
    parts = []
    for axis, (lo, hi), r in zip(axes, halos, rules, strict=True):
        plain = r.plain() if isinstance(r, MaskedRules) else r
        (part,) = derive(f, [(lo, hi)], [plain], [axis])
        if isinstance(r, MaskedRules) and f.dtype.kind in "fc":
            fix_axis(f, lo, hi, axis, r, part)
        parts.append(part)
    if not add:
        for o, p in zip(outs, parts, strict=True):
            o[...] = p
        return outs
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    outs[0][...] = total
    return outs


def _runs(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point of every line, the window indices ``[start, stop)`` of its run."""
    width = missing.shape[-1]
    idx = np.arange(width)
    start = np.maximum.accumulate(np.where(missing, idx, -1), axis=-1) + 1
    back = np.maximum.accumulate(np.where(missing[:, ::-1], idx, -1), axis=-1) + 1
    return start, width - back[:, ::-1]


def fix_axis(f: Any, lo: Any, hi: Any, axis: int, rules: MaskedRules, out: Any) -> None:
    """Redo, in ``out``, the points of block ``f`` whose run of finite values along
    ``axis`` makes their rule differ from the axis's (and set missing points to NaN)."""
    window = np.moveaxis(np.concatenate([lo, f, hi], axis=axis), axis, -1)
    lines = window.reshape(-1, window.shape[-1])
    missing = ~np.isfinite(lines)
    if not missing.any():
        return
    n_lo, m = lo.shape[axis], f.shape[axis]
    omoved = np.moveaxis(out, axis, -1)
    oshape = omoved.shape[:-1]
    # window index of every point of the block, and whether the window ends are the axis's
    first = rules.start - n_lo
    start, stop = _runs(missing)
    block = slice(n_lo, n_lo + m)
    start, stop, miss = start[:, block], stop[:, block], missing[:, block]
    i = np.arange(n_lo, n_lo + m)[None, :]
    at_nan_lo, at_nan_hi = start > 0, stop < lines.shape[-1]
    known_lo = at_nan_lo | (first == 0)
    known_hi = at_nan_hi | (first + lines.shape[-1] == rules.n)
    length, k, k_end = stop - start, i - start, stop - 1 - i
    reach, shortest = rules.stencil.reach, rules.stencil.shortest
    redo = ~miss & (
        (at_nan_lo & (k < reach))
        | (at_nan_hi & (k_end < reach))
        | ((at_nan_lo | at_nan_hi) & known_lo & known_hi & (length < shortest))
    )
    line_m, col_m = np.nonzero(miss)
    omoved[_at(line_m, oshape, col_m)] = np.nan
    line, col = np.nonzero(redo)
    if not line.size:
        return
    start, length, k = start[line, col], length[line, col], k[line, col]
    _redo(lines, omoved, oshape, rules, line, col + n_lo, n_lo, start, length, k, first)


def _redo(lines: np.ndarray, omoved: Any, oshape: tuple[int, ...], rules: MaskedRules,
          line: np.ndarray, pos: np.ndarray, n_lo: int, start: np.ndarray,
          length: np.ndarray, k: np.ndarray, first: int) -> None:  # fmt: skip
    """Compute the redone points (at window positions ``pos``), grouped by the rule
    their run gives them."""
    shortest = rules.stencil.shortest
    long = length >= shortest
    # a point of a long run lies near one end, where its rule is the one it has in
    # the run's first or last ``shortest`` points: those stand for the run
    run_first = np.where(long & (k >= shortest // 2), start + length - shortest, start)
    run_len = np.where(long, shortest, length)
    # with a step the rules depend on the run's length only, on a coordinate on its points
    key_first = run_first + first if rules.coord is not None else np.zeros_like(run_first)
    keys = np.stack([key_first, run_len, pos - run_first], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    cache: dict[tuple[int, int], AxisRules | None] = {}
    for g, (kf, rl, loc) in enumerate(uniq.tolist()):
        sel = np.flatnonzero(inverse == g)
        if (kf, rl) not in cache:
            cache[(kf, rl)] = rules.run(kf, rl)
        ln, p = line[sel], pos[sel]
        value = _value(lines, ln, p, cache[(kf, rl)], loc)
        omoved[_at(ln, oshape, p - n_lo)] = value


def _value(lines: np.ndarray, ln: np.ndarray, p: np.ndarray, run: AxisRules | None,
           loc: int) -> Any:  # fmt: skip
    """The rule of local point ``loc`` of ``run`` at window points ``p`` of lines ``ln``."""
    if run is None:
        return np.nan
    form, off, width, weights, divisor = run.point(loc)
    terms = [lines[ln, p + off + j] for j in range(width)]
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
