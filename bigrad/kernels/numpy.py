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

import numpy as np

from bigrad.core.blocks import index
from bigrad.core.weights import DIFF, AxisRules

__all__ = ["apply_axis"]


def _weighted(terms: list[Any], weights: list[Any]) -> Any:
    """``w0*t0 + w1*t1 + ...``, left to right."""
    acc = weights[0] * terms[0]
    for w, t in zip(weights[1:], terms[1:], strict=True):
        acc = acc + w * t
    return acc


def _combine(form: int, terms: list[Any], weights: list[Any], divisor: Any) -> Any:
    """One rule applied to its terms (points, or whole slices of them)."""
    if form == DIFF:
        return (terms[-1] - terms[0]) / divisor
    return _weighted(terms, weights)


def _store(out: Any, where: Any, value: Any, add: bool) -> None:
    out[where] = out[where] + value if add else value


def _put(out: Any, where: Any, form: int, terms: list[Any], weights: list[Any], divisor: Any,
         add: bool) -> None:  # fmt: skip
    """``_store(out, where, _combine(...), add)``; a difference into a plain array is
    taken in place (the difference in the data's dtype, then divided in the divisor's
    and rounded once into ``out``: the same numbers), as the Zarr stream runs these
    kernels block after block and each temporary would be a block's size."""
    o = out[where] if form == DIFF and not add and type(out) is np.ndarray else None
    if isinstance(o, np.ndarray) and o.ndim and o.dtype == terms[0].dtype:  # a view
        np.subtract(terms[-1], terms[0], out=o)
        np.divide(o, divisor, out=o, casting="same_kind")
        return
    _store(out, where, _combine(form, terms, weights, divisor), add)


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
    for s, (first, stop, form, off, width) in enumerate(rules.segments()):
        # the points whose whole stencil lies inside the block: whole-array slices
        a, b = max(first, -off), min(stop, m - off - width + 1)
        if a < b:
            bshape[axis] = b - a
            if rules.varying:
                ws = [rules.weights[k, a:b].reshape(bshape) for k in range(width)]
                div = rules.divisor[a:b].reshape(bshape)
            else:
                ws, div = [rules.weights[k, s] for k in range(width)], rules.divisor[s]
            spans = [f[index(axis, slice(a + off + k, b + off + k))] for k in range(width)]
            _put(out, index(axis, slice(a, b)), form, spans, ws, div, add)
        # the others, next to the block's faces, plane by plane
        for i in [*range(first, min(a, stop)), *range(max(b, first, a), stop)]:
            planes = [plane(i + off + k) for k in range(width)]
            col = i if rules.varying else s
            ws = [rules.weights[k, col] for k in range(width)]
            _put(out, index(axis, i), form, planes, ws, rules.divisor[col], add)
