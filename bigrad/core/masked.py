"""``nan="one-sided"``: derivatives that stop at missing values instead of spreading them.

Pure numpy, no data: :class:`NanStencil` wraps a :class:`~bigrad.core.weights.StencilSpec`
so that along its axis every maximal run of finite values is differentiated as that run
alone would be (``np.gradient`` of the run, with the run's own coordinates), without a
halo exchange of its own: its layout only asks for a deeper halo, from which a block
sees where the runs near its points start and stop.  The kernels
(:mod:`bigrad.kernels.masked`) compute the plain result and redo the points near a
missing value (or in a run too short for the stencil) with the rules of their run.

The rule for a run of ``L`` finite points (the shortening rule):

* the stencil as asked wherever the run holds the points it reads (one-sided
  stencils at the run's ends, as at the ends of an axis);
* a run too short for the asked ``accuracy`` takes the highest accuracy that fits
  (``derivative``'s 6 -> 4 -> 2), and for ``np.gradient``'s formulas a run of 2 points
  lowers ``edge_order`` to 1;
* a run of one point (or, for a second derivative, a run shorter than its 4-point
  one-sided stencil) gives NaN; a missing input (NaN or infinite) gives NaN;
* on a periodic axis a run may cross its ends: its coordinate goes on round the
  circle (continued by the period), and a line without a missing value is one run
  with no ends, which takes the periodic stencils (the plain result);
* on an uneven coordinate every run takes the coordinate's (uneven) stencils, one
  that happens to be evenly spaced too: alone it would take its step's (for numpy's
  gradient the same numbers to rounding; for a wider stencil one of the same accuracy
  on other points, and a run too short for the uneven stencils gives NaN although its
  step's would fit: a second derivative of accuracy 2 takes 5 points on an uneven
  coordinate, 4 on a step).  So a point's rule follows from its neighbours alone (a
  compiled kernel chooses numpy's gradient's in one pass) and the rules of many runs
  are built at once (:meth:`MaskedRules.run_points`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bigrad.core.errors import Arg, argument_error, literal
from bigrad.core.weights import (
    DIFF,
    SUM,
    AxisRules,
    Layout,
    StencilSpec,
    compute_dtype,
    coordinate_step,
    coordinate_weights,
    evenly_spaced,
    float_coordinate,
    numpy_coordinate_weights,
    periodic_extension,
)

__all__ = [
    "NAN_MODES",
    "ClippedLayout",
    "MaskedRules",
    "NanStencil",
    "RunTables",
    "nan_stencil",
    "run_rules",
]

#: accepted values of ``nan=``
NAN_MODES = ("propagate", "one-sided")


@dataclass(frozen=True)
class ClippedLayout(Layout):
    """Every point reads ``center`` clipped to the axis: a block sees ``h`` points
    beyond each of its faces, or up to the end of the axis (on a periodic axis: round
    it, modulo ``n``).

    >>> lay = ClippedLayout(10, False, (-3, 7), 7)
    >>> [lay.reads(g) for g in (0, 2, 5, 9)], lay.read_range(1, 2)
    ([(0, 4), (-2, 6), (-3, 7), (-3, 4)], (0, 5))
    """

    def reads(self, g: int) -> tuple[int, int]:
        if self.periodic:
            return self.center
        off, width = self.center
        lo, hi = max(0, g + off), min(self.n, g + off + width)
        return lo - g, hi - lo


@dataclass(frozen=True)
class NanStencil:
    """``spec`` applied run by run between missing values (a
    :class:`~bigrad.core.weights.Stencil`)."""

    spec: StencilSpec

    @property
    def order(self) -> int:
        return self.spec.order

    @property
    def reach(self) -> int:
        """The farthest any of ``spec``'s stencils reads from its point."""
        far = 0
        for uniform in (True, False):
            lay = self.spec.layout(64, False, uniform)
            off, width = lay.center
            far = max(far, -off, off + width - 1, lay.side - 1)
        return far

    @property
    def shortest(self) -> int:
        """Runs shorter than this may take other rules than the axis's (``2 * reach +
        2``, more than any stencil needs)."""
        return 2 * self.reach + 2

    @property
    def depth(self) -> int:
        """How deep the halo must be for a block to see every run near its points."""
        return self.reach + self.shortest

    def layouts(self, n: int, periodic: bool, uniform: bool | None) -> tuple[Layout, ...]:
        # round a periodic axis, ``n`` points each side show both ends of every run that
        # has one (a line without a missing value is one run round the circle: plain)
        h = min(self.depth, n) if periodic else self.depth
        wide = ClippedLayout(n, periodic, (-h, 2 * h + 1), 2 * h + 1)
        return (*self.spec.layouts(n, periodic, uniform), wide)

    def check_length(self, axis: int, n: int, periodic: bool, uniform: bool | None) -> None:
        self.spec.check_length(axis, n, periodic, uniform)

    def rules(self, n: int, spacing: Any, data: np.dtype[Any], periodic: bool = False,
              period: Any = None, label: str = "coordinate") -> AxisRules:  # fmt: skip
        plain = self.spec.rules(n, spacing, data, periodic, period, label)
        coord = np.asarray(spacing) if np.ndim(spacing) else None
        step, pad = (None if coord is not None else spacing), 0
        if coord is not None and periodic:
            # a run across the ends takes the coordinate continued by its period
            coord, pad = periodic_extension(float_coordinate(coord), period, n), n
        even = coordinate_step(coord) if coord is not None else None
        if even is not None:
            # numpy takes an evenly spaced coordinate's step, and so does every run of
            # it: the same rules as that step's, whose tables the compiled kernels take
            coord, step, pad = None, even, 0
        return MaskedRules(
            plain.n, plain.segs, plain.weights, plain.divisor, plain.varying, plain.start,
            stencil=self, step=step, coord=coord, data=np.dtype(data), label=label,
            periodic=periodic, pad=pad,
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class MaskedRules(AxisRules):
    """The plain rules of an axis, and what the kernels need to redo points run by run:
    the stencil, the step or the whole coordinate, the compute dtype, whether the axis
    is periodic (it has no ends: a run may cross them).  On a periodic axis ``coord``
    is continued by its period ``pad`` points (the axis's length) each side: global
    point ``g`` of a window, ``-n <= g < 2 n``, is at ``coord[g + pad]``."""

    stencil: NanStencil = field(default=NanStencil(StencilSpec()))
    step: Any = None
    coord: np.ndarray | None = None
    data: np.dtype[Any] = field(default=np.dtype(np.float64))
    label: str = "coordinate"
    periodic: bool = False
    pad: int = 0

    def restrict(self, start: int, stop: int) -> AxisRules:
        plain = AxisRules.restrict(self, start, stop)
        return replace(
            self, segs=plain.segs, weights=plain.weights, divisor=plain.divisor, start=start
        )

    def plain(self) -> AxisRules:
        """These rules without the run-by-run part."""
        return AxisRules(self.n, self.segs, self.weights, self.divisor, self.varying, self.start)

    def run(self, length: int) -> AxisRules | None:
        """The rules of a run of ``length`` points on a step (None: too short, NaN)."""
        return run_rules(self.stencil.spec, length, self.step, self.data)

    def run_points(self, first: np.ndarray, length: int, loc: int) -> Point | None:
        """On a coordinate, point ``loc`` of runs of ``length`` points from global
        indices ``first``, all at once: ``(form, offset, width, weights, divisor)``, the
        weights ``(width, len(first))`` and the divisors per run (None: too short, NaN).

        The coordinate's own (uneven) stencils on every run, also one that happens to be
        evenly spaced (alone, numpy would take its step's: see the module docstring).
        """
        spec, x = self.stencil.spec, self.coord
        assert x is not None
        x = float_coordinate(x)
        cand = _fitting(spec, length, False)
        if cand is None:
            return None
        off, width = cand.layout(length, False, False).reads(loc)
        at = np.asarray(first) + loc + self.pad
        if cand.is_numpy:
            return _numpy_point(x, at, loc, length, cand.edge_order, self.data)
        weights = coordinate_weights(x, at, off, width, cand.order)  # as the plain rules'
        ctype = compute_dtype(self.data, np.float64(1.0))
        return SUM, off, width, weights.astype(ctype), np.ones(at.size, ctype)

    def tables(self) -> RunTables | None:
        """Every run's rules as tables, for an axis with a step (None on a coordinate,
        where a run's rules depend on its points, and where the runs compute in
        different dtypes: see :meth:`RunTables.build`)."""
        if self.coord is not None:
            return None
        step = np.asarray(self.step)
        # the step's type matters, not only its value: a Python float is weak in numpy
        key = (self.stencil.spec, type(self.step), step.dtype.str, step.tobytes(), self.data.str)
        if key not in _TABLES:
            _TABLES[key] = RunTables.build(self.stencil, self.step, self.data)
        return _TABLES[key]

    def __repr__(self) -> str:
        return "Masked" + AxisRules.__repr__(self)


@dataclass(frozen=True, eq=False)
class RunTables:
    """The rules of every run length ``1 .. shortest`` on an axis with a step, packed
    for a compiled kernel (a run of ``shortest`` points stands for every longer run:
    a point near one of its ends has the rule it has there).

    ``ints[L, k]`` is ``(form, offset, width)`` of point ``k`` of a run of ``L`` points,
    ``weights[L, k]`` and ``divisor[L, k]`` its weights and divisor (compute dtype),
    ``none[L]`` is 1 where no stencil fits a run of ``L`` points (NaN).

    >>> t = RunTables.build(NanStencil(StencilSpec()), 0.5, np.dtype(np.float64))
    >>> t.shortest, t.ints[2, 0].tolist(), t.none[:3].tolist()
    (6, [1, 0, 2], [1, 1, 0])
    """

    shortest: int
    ints: np.ndarray
    weights: np.ndarray
    divisor: np.ndarray
    none: np.ndarray

    @classmethod
    def build(cls, stencil: NanStencil, step: Any, data: np.dtype[Any]) -> RunTables | None:
        """The tables, or None where the runs' rules compute in different dtypes (one
        table has one): float32 data, a derivative of order 1 whose short runs take
        numpy's gradient, which a Python float step leaves in float32."""
        s = stencil.shortest
        runs = [run_rules(stencil.spec, n, step, data) for n in range(1, s + 1)]
        width = max((int(r.segs[:, 4].max()) for r in runs if r is not None), default=1)
        ctypes = {r.dtype for r in runs if r is not None}
        if len(ctypes) > 1:
            return None
        ctype = ctypes.pop() if ctypes else np.dtype(np.float64)
        ints = np.zeros((s + 1, s, 3), np.int64)
        weights = np.zeros((s + 1, s, width), ctype)
        divisor = np.ones((s + 1, s), ctype)
        none = np.ones(s + 1, np.int64)
        for n, r in enumerate(runs, start=1):
            if r is None:
                continue
            none[n] = 0
            for k in range(n):
                form, off, w, wts, div = r.point(k)
                ints[n, k] = (form, off, w)
                weights[n, k, :w] = wts
                divisor[n, k] = div
        return cls(s, ints, weights, divisor, none)


_TABLES: dict[tuple[Any, ...], RunTables | None] = {}


#: a point's rule, per run: ``(form, offset, width, weights, divisor)``
Point = tuple[int, int, int, np.ndarray, np.ndarray]


def _fitting(spec: StencilSpec, length: int, uniform: bool) -> StencilSpec | None:
    """The stencil a run of ``length`` points takes (the shortening rule), or None."""
    candidates = [replace(spec, accuracy=a) for a in range(spec.accuracy, 1, -2)]
    if spec.is_numpy or spec.order == 1:
        candidates.append(StencilSpec(1, 2, 1))
    for cand in candidates:
        try:
            cand.check_length(0, length, False, uniform)
        except ValueError:
            continue
        return cand
    return None


def _numpy_point(x: np.ndarray, at: np.ndarray, loc: int, length: int, edge_order: int,
                 data: np.dtype[Any]) -> Point:  # fmt: skip
    """numpy's rule at indices ``at`` of float coordinate ``x``, local point ``loc`` of
    their runs of ``length`` points (its formulas, element by element as the plain rules
    compute them, from the steps beside those points only: not the whole coordinate's
    for each group of points)."""

    def weights(k: np.ndarray) -> tuple[tuple[np.ndarray, ...], ...]:
        # element k of numpy_coordinate_weights(np.diff(x)), for each k given
        return numpy_coordinate_weights(np.stack([x[k + 1] - x[k], x[k + 2] - x[k + 1]]))

    ctype = compute_dtype(data, x[:0])
    ones = np.ones(at.size, ctype)
    if 0 < loc < length - 1:
        return SUM, -1, 3, np.array([w[0] for w in weights(at - 1)[0]], ctype), ones
    if edge_order == 1:
        k, off = (at, 0) if loc == 0 else (at - 1, -1)
        return DIFF, off, 2, np.zeros((2, at.size), ctype), (x[k + 1] - x[k]).astype(ctype)
    if loc == 0:
        return SUM, 0, 3, np.array([w[0] for w in weights(at)[1]], ctype), ones
    return SUM, -2, 3, np.array([w[0] for w in weights(at - 2)[2]], ctype), ones


def run_rules(spec: StencilSpec, length: int, spacing: Any, data: np.dtype[Any],
              label: str = "coordinate") -> AxisRules | None:  # fmt: skip
    """The rules of a run of ``length`` points alone, accuracy lowered as far as the run
    needs (see the module docstring); None when no stencil fits.

    >>> run_rules(StencilSpec(), 2, 0.5, np.dtype(np.float64)).segments()  # edge_order 1
    [(0, 1, 1, 0, 2), (1, 2, 1, -1, 2)]
    >>> run_rules(StencilSpec(), 1, 0.5, np.dtype(np.float64)) is None
    True
    """
    d = np.diff(spacing) if np.ndim(spacing) else np.zeros(1)
    cand = _fitting(spec, length, evenly_spaced(d))
    return None if cand is None else cand.rules(length, spacing, data, False, None, label)


def nan_stencil(spec: StencilSpec, nan: Any) -> StencilSpec | NanStencil:
    """``spec`` as ``nan`` asks: itself for ``"propagate"``, wrapped for ``"one-sided"``.

    >>> nan_stencil(StencilSpec(), "one-sided").depth
    8
    """
    if nan == "propagate":
        return spec
    if nan == "one-sided":
        return NanStencil(spec)
    raise argument_error(
        ValueError, f"{{nan}} must be one of {literal(str(NAN_MODES))}, got {literal(repr(nan))}",
        nan=Arg("nan", subject=True),
    )  # fmt: skip
