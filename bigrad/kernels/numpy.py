"""Reference kernels in numpy: a block, its halo planes and an axis's rules -> one output.

The oracle inside the package, and the path for what numba does not compile (float16,
time deltas, subclasses such as masked arrays, duck arrays).  Points whose stencil lies
inside the block are computed with whole-array slices, segment by segment; the few
points whose stencil reaches into the halo are computed plane by plane.  The arithmetic
is the rules' own (see :mod:`bigrad.core.weights`), in the same order as the numba
kernel, so both give identical numbers.
"""

from __future__ import annotations

from typing import Any

from bigrad.core.blocks import index
from bigrad.core.weights import DIFF, AxisRules

__all__ = ["apply_axis"]


def _weighted(terms: list[Any], weights: list[Any]) -> Any:
    """``w0*t0 + w1*t1 + ...``, left to right."""
    acc = weights[0] * terms[0]
    for w, t in zip(weights[1:], terms[1:], strict=True):
        acc = acc + w * t
    return acc


def _store(out: Any, where: Any, value: Any, add: bool) -> None:
    out[where] = out[where] + value if add else value


def apply_axis(f: Any, lo: Any, hi: Any, axis: int, rules: AxisRules, out: Any, add: bool) -> None:
    """Write (or, with ``add``, add) the derivative of block ``f`` along ``axis`` to ``out``.

    ``lo`` and ``hi`` hold the planes just before and after the block along ``axis``;
    ``rules`` are restricted to the block's points.
    """
    m = f.shape[axis]
    n_lo = lo.shape[axis]

    def plane(j: int) -> Any:
        if j < 0:
            return lo[index(axis, n_lo + j)]
        if j >= m:
            return hi[index(axis, j - m)]
        return f[index(axis, j)]

    bshape = [1] * f.ndim
    for first, stop, form, off, width in rules.segments():
        # the points whose whole stencil lies inside the block: whole-array slices
        a, b = max(first, -off), min(stop, m - off - width + 1)
        if a < b:
            bshape[axis] = b - a
            spans = [f[index(axis, slice(a + off + k, b + off + k))] for k in range(width)]
            if form == DIFF:
                value = (spans[-1] - spans[0]) / rules.divisor[a:b].reshape(bshape)
            else:
                value = _weighted(
                    spans, [rules.weights[k, a:b].reshape(bshape) for k in range(width)]
                )
            _store(out, index(axis, slice(a, b)), value, add)
        # the others, next to the block's faces, plane by plane
        for i in [*range(first, min(a, stop)), *range(max(b, first, a), stop)]:
            planes = [plane(i + off + k) for k in range(width)]
            if form == DIFF:
                value = (planes[-1] - planes[0]) / rules.divisor[i]
            else:
                value = _weighted(planes, [rules.weights[k, i] for k in range(width)])
            _store(out, index(axis, i), value, add)
