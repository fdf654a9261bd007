"""Stencil weights along one axis: any derivative order and accuracy, numpy's own formulas.

Pure numpy: nothing here knows about chunks, dask or xarray.  Two layers:

* :class:`StencilSpec` and :class:`Layout` say, without data, which points every output
  point reads (the halo plan needs only this);
* :func:`axis_rules` turns a spacing (a scalar step or a coordinate array) into an
  :class:`AxisRules` table: per output point a *form*, the offset and width of the points
  it reads, and its weights or divisor.  The kernels apply the table.

Two forms exist, so that ``np.gradient``'s numbers come out bit for bit::

    DIFF   out[i] = (f[i+off+width-1] - f[i+off]) / divisor[i]     numpy's differences
    SUM    out[i] = w[0,i]*f[i+off] + w[1,i]*f[i+off+1] + ...     (left to right)

Weights and divisors are stored in the *compute dtype*: the dtype numpy's own arithmetic
would use for data of this dtype with these scalars (a Python float step is "weak" and
keeps float32 data in float32; a numpy float64 step promotes it), so the kernels repeat
numpy's operations exactly.

Rules:

* ``order=1, accuracy=2`` (``np.gradient``): numpy's formulas, interior
  ``(f[i+1] - f[i-1]) / (2*dx)`` or ``a*f[i-1] + b*f[i] + c*f[i+1]`` on non-uniform
  coordinates, one-sided differences of ``edge_order`` 1 or 2 at the ends.
* any other order and accuracy: Fornberg's weights.  Uniform spacing takes findiff's
  stencils (central with ``2*floor((order+1)/2) - 1 + accuracy`` points inside, one-sided
  at the ends with as many points, one more for even orders).  Non-uniform coordinates
  take ``order + accuracy`` points everywhere, so every point is exact for polynomials
  of degree ``order + accuracy - 1`` (an even order's interior stencil leans one point
  forward).
* periodic axes: the interior stencil everywhere, wrapping round; a coordinate array is
  extended by its ``period``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bigrad.core.errors import Arg, argument_error

__all__ = [
    "DIFF",
    "SUM",
    "AxisRules",
    "Layout",
    "Stencil",
    "StencilSpec",
    "axis_rules",
    "check_coordinate",
    "compute_dtype",
    "continued_coordinate",
    "coordinate_step",
    "coordinate_weights",
    "evenly_spaced",
    "float_coordinate",
    "fornberg",
    "numpy_coordinate_weights",
]

#: form of a rule: ``SUM`` of weighted points, or numpy's ``DIFF``erence over a divisor
SUM, DIFF = 0, 1

ORDERS = (1, 2)
ACCURACIES = (2, 4, 6)


class Stencil(Protocol):
    """What is computed along one axis: anything that says which points every output
    point reads (:meth:`layouts`, for the halo plan, without data) and, given the
    spacing, their weights (:meth:`rules`).  Every executor runs any stencil alike, so
    a new operator along an axis is a new stencil, not new execution code.
    :class:`StencilSpec` (derivatives of any order and accuracy) is the built-in one.
    """

    @property
    def order(self) -> int:
        """The derivative's order: the power of the coordinate's units in the result's."""
        ...

    def layouts(self, n: int, periodic: bool, uniform: bool | None) -> tuple[Layout, ...]:
        """Every layout the rules may take on an axis of ``n`` points (``uniform`` None:
        not known yet, for a lazy coordinate)."""
        ...

    def check_length(self, axis: int, n: int, periodic: bool, uniform: bool | None) -> None:
        """Raise ``ValueError``, naming ``axis`` and the fix, if ``n`` points are too few."""
        ...

    def rules(self, n: int, spacing: Any, data: np.dtype[Any], periodic: bool = False,
              period: Any = None, label: str = "coordinate") -> AxisRules:  # fmt: skip
        """The rules for a scalar step or 1-D numpy coordinate ``spacing``; ``data`` is
        the dtype the kernels compute on; ``label`` names the coordinate in errors."""
        ...


@dataclass(frozen=True)
class StencilSpec:
    """What is computed along an axis: the derivative ``order`` to ``accuracy``.

    ``edge_order`` applies to ``order=1, accuracy=2`` only, which is ``np.gradient``
    with numpy's one-sided differences of that order at the ends.
    """

    order: int = 1
    accuracy: int = 2
    edge_order: int = 2

    @property
    def is_numpy(self) -> bool:
        """Whether numpy's gradient formulas apply."""
        return self.order == 1 and self.accuracy == 2

    def layout(self, n: int, periodic: bool, uniform: bool) -> Layout:
        """The points every output point reads on an axis of ``n`` points."""
        if self.is_numpy:
            return Layout(n, periodic, (-1, 3), self.edge_order + 1)
        central = 2 * ((self.order + 1) // 2) - 1 + self.accuracy
        side = central + (1 if self.order % 2 == 0 else 0)
        if uniform:
            return Layout(n, periodic, (-(central // 2), central), side)
        width = self.order + self.accuracy
        return Layout(n, periodic, (-((width - 1) // 2), width), side)

    def layouts(self, n: int, periodic: bool, uniform: bool | None) -> tuple[Layout, ...]:
        """The layouts a plan must serve: both when uniformity is not known yet
        (a lazy coordinate)."""
        if uniform is None:
            return tuple(dict.fromkeys(self.layout(n, periodic, u) for u in (True, False)))
        return (self.layout(n, periodic, uniform),)

    def check_length(self, axis: int, n: int, periodic: bool, uniform: bool | None) -> None:
        """Raise ``ValueError`` if an axis of ``n`` points is too short for the stencils."""
        need = max(lay.min_points for lay in self.layouts(n, periodic, uniform))
        if periodic and self.is_numpy:
            need = 2  # numpy's three points wrap onto two
        if n >= need:
            return
        if self.is_numpy and not periodic:
            raise argument_error(
                ValueError,
                f"Shape of array too small to calculate a numerical gradient: {{where}} has "
                f"{n} point(s), at least {need} are required with {{edge_order}} (lower it, or "
                "make the axis periodic with {periodic})",
                where=Arg("@axis", axis), edge_order=Arg("edge_order", self.edge_order),
                periodic=Arg("periodic"),
            )  # fmt: skip
        what = "periodic " if periodic else ""
        raise argument_error(
            ValueError,
            f"{what}{{where}} has {n} point(s), too few for a derivative of order {self.order} "
            f"and accuracy {self.accuracy}, whose stencils need {need}; lower {{accuracy}}",
            where=Arg("@axis", axis), accuracy=Arg("accuracy"),
        )  # fmt: skip

    def rules(self, n: int, spacing: Any, data: np.dtype[Any], periodic: bool = False,
              period: Any = None, label: str = "coordinate") -> AxisRules:  # fmt: skip
        """:func:`axis_rules` of this spec."""
        return axis_rules(n, spacing, self, data, periodic, period, label)


@dataclass(frozen=True)
class Layout:
    """Which points each output point reads along an axis of ``n`` points (no data).

    Inside, point ``g`` reads ``center[1]`` points from ``g + center[0]``.  Where that
    stencil would leave the axis (and the axis is not periodic) a one-sided stencil of
    ``side`` points is used: from ``g`` forwards near the start, ending at ``g`` near
    the end, as findiff does.

    >>> lay = Layout(10, False, (-1, 3), 3)
    >>> [lay.reads(g) for g in (0, 5, 9)]
    [(0, 3), (-1, 3), (-2, 3)]
    >>> lay.read_range(0, 1), lay.read_range(4, 6)
    ((0, 3), (3, 7))
    """

    n: int
    periodic: bool
    center: tuple[int, int]
    side: int

    @property
    def edges(self) -> tuple[int, int]:
        """How many points at the start and at the end take one-sided stencils."""
        if self.periodic:
            return 0, 0
        off, width = self.center
        return -off, off + width - 1

    def reads(self, g: int) -> tuple[int, int]:
        """``(offset, width)``: point ``g`` reads ``[g + offset, g + offset + width)``."""
        lo, hi = self.edges
        if g < lo:
            return 0, self.side
        if g >= self.n - hi:
            return 1 - self.side, self.side
        return self.center

    def read_range(self, start: int, stop: int) -> tuple[int, int]:
        """Global ``[lo, hi)`` that the points ``[start, stop)`` read (on a periodic axis
        it may pass the ends: read it modulo ``n``)."""
        if start >= stop:
            return start, stop
        lo_edge, hi_edge = self.edges
        # the edge points, and the first and last interior point (the interior reads
        # a window that moves with the point)
        points = set(range(start, min(stop, lo_edge)))
        points.update(range(max(start, self.n - hi_edge), stop))
        first, last = max(start, lo_edge), min(stop, self.n - hi_edge) - 1
        points.update(g for g in (first, last) if first <= g <= last)
        spans = [(g + o, g + o + w) for g in points for o, w in [self.reads(g)]]
        return min(s for s, _ in spans), max(e for _, e in spans)

    def runs(self) -> list[tuple[int, int, tuple[int, int]]]:
        """``(first, stop, (offset, width))``: the runs of points that read alike."""
        lo, hi = self.edges
        n = self.n
        runs = [(0, min(lo, n), (0, self.side)), (lo, n - hi, self.center),
                (max(n - hi, lo), n, (1 - self.side, self.side))]  # fmt: skip
        return [(a, b, r) for a, b, r in runs if a < b]

    @property
    def min_points(self) -> int:
        """The fewest points the axis needs for every stencil to fit."""
        if self.periodic:
            return max(2, self.center[1])
        lo, hi = self.edges
        return max(self.side, lo + self.side - 1, hi + self.side - 1)


@dataclass(frozen=True, eq=False)
class AxisRules:
    """The rule of every output point in ``[start, start + m)`` of an axis of length ``n``.

    ``segs`` holds runs of points that share a rule's shape, one row
    ``(first, stop, form, offset, width)`` each, in local indices (0 is ``start``):
    ``form`` is :data:`SUM` or :data:`DIFF`, ``offset`` and ``width`` say which points
    are read, relative to the point.  On an evenly spaced axis every point of a run has
    the same weights, stored once per run (``weights`` ``(width, runs)``, ``divisor``
    ``(runs,)``); otherwise they are stored per point (``varying``: ``(width, m)`` and
    ``(m,)``).  Weights and divisors are of the compute dtype; unused entries are 0 / 1.
    """

    n: int
    segs: np.ndarray
    weights: np.ndarray
    divisor: np.ndarray
    varying: bool
    start: int = 0

    @property
    def size(self) -> int:
        return int(self.segs[-1, 1]) if len(self.segs) else 0

    @property
    def stop(self) -> int:
        return self.start + self.size

    @property
    def dtype(self) -> np.dtype[Any]:
        """The compute dtype."""
        return self.weights.dtype

    def restrict(self, start: int, stop: int) -> AxisRules:
        """The same rules for the points ``[start, stop)`` only (small task payloads)."""
        if (start, stop) == (self.start, self.stop):
            return self
        lo, hi = start - self.start, stop - self.start
        keep = (self.segs[:, 1] > lo) & (self.segs[:, 0] < hi)
        segs = self.segs[keep].copy()
        segs[:, 0] = np.maximum(segs[:, 0], lo) - lo
        segs[:, 1] = np.minimum(segs[:, 1], hi) - lo
        if self.varying:
            weights, divisor = self.weights[:, lo:hi], self.divisor[lo:hi]
        else:
            weights, divisor = self.weights[:, keep], self.divisor[keep]
        return AxisRules(self.n, segs, weights, divisor, self.varying, start)

    def segments(self) -> list[tuple[int, int, int, int, int]]:
        """The runs, as tuples of ints."""
        return [tuple(int(v) for v in row) for row in self.segs]  # type: ignore[misc]

    def point(self, i: int) -> tuple[int, int, int, np.ndarray, Any]:
        """``(form, offset, width, weights, divisor)`` of local point ``i``."""
        s = int(np.flatnonzero((self.segs[:, 0] <= i) & (i < self.segs[:, 1]))[0])
        col = i if self.varying else s
        form, off, width = (int(v) for v in self.segs[s, 2:])
        return form, off, width, self.weights[:width, col], self.divisor[col]

    def __repr__(self) -> str:
        return (
            f"AxisRules(n={self.n}, points=[{self.start}, {self.stop}), "
            f"width<={self.weights.shape[0]}, dtype={self.dtype}"
            f"{', per point' if self.varying else ''})"
        )


def compute_dtype(data: np.dtype[Any], scalar: Any) -> np.dtype[Any]:
    """The dtype numpy computes in for ``data`` combined with ``scalar`` (a Python number
    is weak, a numpy scalar or array is not).  Time deltas are scaled by float64.

    >>> compute_dtype(np.dtype(np.float32), 0.5), compute_dtype(np.dtype(np.float32), np.float64(0.5))
    (dtype('float32'), dtype('float64'))
    """
    if data.kind == "m":
        return np.dtype(np.float64)
    if isinstance(scalar, np.ndarray):
        scalar = scalar.dtype
    return np.result_type(data, scalar)


#: stencils :func:`fornberg` takes at a time: its temporaries stay in cache
_STENCILS = 16384


def fornberg(nodes: np.ndarray, order: int) -> np.ndarray:
    """Weights of the ``order``-th derivative at 0 from values at ``nodes`` (last axis;
    leading axes are independent stencils), by Fornberg's recursion (Math. Comp. 1988).

    >>> fornberg(np.array([-1.0, 0.0, 1.0]), 2)
    array([ 1., -2.,  1.])
    """
    x = np.asarray(nodes, dtype=np.float64)
    w = x.shape[-1]
    flat = x.reshape(-1, w)
    out = np.empty((w, flat.shape[0]))
    # the recursion is element-wise across stencils: each node's values for a block of
    # stencils contiguous (not a stride of w), a block at a time
    for a in range(0, flat.shape[0], _STENCILS):
        block = np.ascontiguousarray(flat[a : a + _STENCILS].T)
        out[:, a : a + _STENCILS] = _fornberg_block(block, order)
    return out.T.reshape(x.shape)


def _fornberg_block(x: np.ndarray, order: int) -> np.ndarray:
    """:func:`fornberg` of ``x[:, s]``'s nodes for every stencil ``s``: ``(w, m)``."""
    w, m = x.shape
    c = np.zeros((w, order + 1, m))
    c[0, 0] = 1.0
    c1 = np.ones(m)
    c4 = x[0]
    for i in range(1, w):
        c2 = np.ones(m)
        c5, c4 = c4, x[i]
        for j in range(i):
            c3 = x[i] - x[j]
            c2 = c2 * c3
            if j == i - 1:
                for k in range(min(i, order), 0, -1):
                    c[i, k] = c1 * (k * c[i - 1, k - 1] - c5 * c[i - 1, k]) / c2
                c[i, 0] = -c1 * c5 * c[i - 1, 0] / c2
            for k in range(min(i, order), 0, -1):
                c[j, k] = (c4 * c[j, k] - k * c[j, k - 1]) / c3
            c[j, 0] = c4 * c[j, 0] / c3
        c1 = c2
    return c[:, order]


def check_coordinate(x: np.ndarray, label: str, strict: bool = False) -> None:
    """Raise ``ValueError`` if a coordinate would make ``np.gradient`` return inf or nan
    (or, with ``strict``, if it is not strictly monotonic, as wider stencils need).

    ``label`` names the argument in the message, e.g. ``"coordinate for axis 1"``.
    """
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{label} has a non-finite value {x[i].item()!r} at index {i}; "
            "coordinates must be finite numbers"
        )
    d = np.diff(x)
    zero = np.flatnonzero(d == 0)
    if zero.size:
        i = int(zero[0])
        raise ValueError(
            f"{label} repeats the value {x[i].item()!r} at indices {i} and {i + 1}; "
            "spacing must be non-zero (use strictly increasing or decreasing coordinates)"
        )
    # a stencil also divides by x[i+1] - x[i-1]: a coordinate that steps back onto its
    # previous value gives numpy an inf there too
    back = np.flatnonzero(d[:-1] + d[1:] == 0)
    if back.size:
        i = int(back[0])
        raise ValueError(
            f"{label} returns to the value {x[i].item()!r} at indices {i} and {i + 2}; "
            "coordinates must be strictly increasing or decreasing"
        )
    turn = np.flatnonzero(np.sign(d[1:]) != np.sign(d[:-1]))
    if strict and turn.size:
        i = int(turn[0]) + 1
        raise ValueError(
            f"{label} turns back at index {i} (value {x[i].item()!r}); wider stencils need "
            "coordinates that are strictly increasing or decreasing"
        )


def periodic_extension(x: np.ndarray, period: Any, reach: int = 1) -> np.ndarray:
    """``x`` with ``reach`` wrapped points before and after, for a periodic axis.

    >>> periodic_extension(np.array([0.0, 90.0, 180.0, 270.0]), 360.0)
    array([-90.,   0.,  90., 180., 270., 360.])
    """
    sign = -1 if x.size > 1 and x[-1] < x[0] else 1
    step = sign * period
    k = min(reach, x.size)
    before = (x[x.size - k :] - step).astype(x.dtype, copy=False)
    after = (x[:k] + step).astype(x.dtype, copy=False)
    return np.concatenate([before, x, after])


def continued_coordinate(x: np.ndarray, spec: StencilSpec, period: Any) -> tuple[np.ndarray, int]:
    """A periodic axis's (float) coordinate continued by ``period`` as far as ``spec``'s
    stencils reach on either side, and that reach: what its rules are built on (whether
    it is evenly spaced included)."""
    layouts = spec.layouts(x.size, True, None)
    reach = max(max(-lay.center[0], sum(lay.center) - 1) for lay in layouts)
    return periodic_extension(x, period, reach), reach


def evenly_spaced(steps: np.ndarray) -> bool:
    """Whether a coordinate with these ``np.diff`` steps is evenly spaced (numpy's test:
    every step equal to the first, exactly; no step at all counts as even).

    >>> evenly_spaced(np.diff([0.0, 0.5, 1.0])), evenly_spaced(np.diff([0.0, 1.0, 3.0]))
    (True, False)
    """
    return steps.size == 0 or bool((steps == steps[0]).all())


def coordinate_step(x: Any) -> Any:
    """The scalar step numpy's gradient reduces coordinate ``x`` to when it is evenly
    spaced (a numpy scalar of the coordinate's float dtype), else None.

    >>> coordinate_step(np.array([0.0, 0.25, 0.5])), coordinate_step(np.array([0.0, 1.0, 3.0]))
    (np.float64(0.25), None)
    """
    d = np.diff(float_coordinate(np.asarray(x)))
    return d[0] if d.size and evenly_spaced(d) else None


def float_coordinate(x: np.ndarray) -> np.ndarray:
    """``x`` as numpy's gradient differences it: integers converted to float64 (against
    modular arithmetic: unsigned decreasing coordinates, big jumps), floats as they are.

    >>> float_coordinate(np.array([0, 2, 5], np.uint8)).dtype
    dtype('float64')
    """
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64)
    return x


class _Builder:
    """Collects runs of points with their weights (per run, or per point)."""

    def __init__(self, n: int, width: int, dtype: np.dtype[Any], varying: bool) -> None:
        self.n, self.dtype, self.varying = n, dtype, varying
        self.segs: list[tuple[int, int, int, int, int]] = []
        cols = n if varying else 0
        self.weights = np.zeros((width, cols), dtype=dtype)
        self.divisor = np.ones(cols, dtype=dtype)
        self.runs: list[tuple[Any, Any]] = []

    def add(self, first: int, stop: int, form: int, offset: int, width: int,
            weights: Any = (), divisor: Any = 1) -> None:  # fmt: skip
        if first >= stop:
            return
        self.segs.append((first, stop, form, offset, width))
        if self.varying:
            for k, w in enumerate(weights):
                self.weights[k, first:stop] = w
            self.divisor[first:stop] = divisor
        else:
            self.runs.append((weights, divisor))

    def columns(self, first: int, stop: int, form: int, offset: int, width: int) -> np.ndarray:
        """As :meth:`add` with weights per point: the table's columns to fill."""
        if first < stop:
            self.segs.append((first, stop, form, offset, width))
        return self.weights[:width, first:stop]

    def rules(self) -> AxisRules:
        order = np.argsort([s[0] for s in self.segs], kind="stable")
        segs = np.array([self.segs[i] for i in order], dtype=np.int64).reshape(-1, 5)
        weights, divisor = self.weights, self.divisor
        if not self.varying:
            weights = np.zeros((weights.shape[0], len(order)), dtype=self.dtype)
            divisor = np.ones(len(order), dtype=self.dtype)
            for col, i in enumerate(order):
                w, d = self.runs[i]
                weights[: len(w), col] = w
                divisor[col] = d
        return AxisRules(self.n, segs, weights, divisor, self.varying)


def _numpy_uniform(n: int, dx: Any, edge_order: int, periodic: bool,
                   data: np.dtype[Any]) -> AxisRules:  # fmt: skip
    """numpy's formulas for a scalar step: the scalar objects themselves set the
    compute dtype, as in ``np.gradient``."""
    b = _Builder(n, 3, compute_dtype(data, 2.0 * dx), varying=False)
    if periodic:
        b.add(0, n, DIFF, -1, 3, divisor=2.0 * dx)
        return b.rules()
    b.add(1, n - 1, DIFF, -1, 3, divisor=2.0 * dx)
    if edge_order == 1:
        b.add(0, 1, DIFF, 0, 2, divisor=dx)
        b.add(n - 1, n, DIFF, -1, 2, divisor=dx)
    else:
        b.add(0, 1, SUM, 0, 3, weights=(-1.5 / dx, 2.0 / dx, -0.5 / dx))
        b.add(n - 1, n, SUM, -2, 3, weights=(0.5 / dx, -2.0 / dx, 1.5 / dx))
    return b.rules()


def numpy_coordinate_weights(d: np.ndarray,
                             ends: bool = True) -> tuple[tuple[np.ndarray, ...], ...]:  # fmt: skip
    """numpy's three-point weights on a coordinate of steps ``d``, wherever each applies:
    ``(central, first, last)``, each three arrays of ``len(d) - 1``; element ``k`` is
    computed from steps ``d[k]`` and ``d[k + 1]``: the central rule of point ``k + 1``,
    the second-order one-sided rule of point ``k`` as an axis's (or a run's) first
    point, and of point ``k + 2`` as its last.  Without ``ends``, ``first`` and ``last``
    are left empty (an axis needs them at two points: ``d[:2]``'s and ``d[-2:]``'s).

    >>> central, first, last = numpy_coordinate_weights(np.diff([0.0, 1.0, 3.0]))
    >>> [float(w[0]) for w in central], [float(w[0]) for w in first]
    ([-0.6666666666666666, 0.5, 0.16666666666666666], [-1.3333333333333333, 1.5, -0.16666666666666666])
    """
    dx1, dx2 = d[:-1], d[1:]
    central = (
        -(dx2) / (dx1 * (dx1 + dx2)),
        (dx2 - dx1) / (dx1 * dx2),
        dx1 / (dx2 * (dx1 + dx2)),
    )
    if not ends:
        return central, (), ()
    first = (
        -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2)),
        (dx1 + dx2) / (dx1 * dx2),
        -dx1 / (dx2 * (dx1 + dx2)),
    )
    last = (
        (dx2) / (dx1 * (dx1 + dx2)),
        -(dx2 + dx1) / (dx1 * dx2),
        (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2)),
    )
    return central, first, last


def _numpy_nonuniform(n: int, d: np.ndarray, edge_order: int, periodic: bool,
                      data: np.dtype[Any]) -> AxisRules:  # fmt: skip
    """numpy's formulas for coordinate steps ``d`` (``n + 1`` of them when periodic)."""
    central = numpy_coordinate_weights(d, ends=False)[0]
    b = _Builder(n, 3, compute_dtype(data, central[0]), varying=True)
    if periodic:
        b.add(0, n, SUM, -1, 3, weights=central)
        return b.rules()
    b.add(1, n - 1, SUM, -1, 3, weights=central)
    if edge_order == 1:
        b.add(0, 1, DIFF, 0, 2, divisor=d[0])
        b.add(n - 1, n, DIFF, -1, 2, divisor=d[-1])
        return b.rules()
    first, last = numpy_coordinate_weights(d[:2])[1], numpy_coordinate_weights(d[-2:])[2]
    b.add(0, 1, SUM, 0, 3, weights=tuple(w[0] for w in first))
    b.add(n - 1, n, SUM, -2, 3, weights=tuple(w[-1] for w in last))
    return b.rules()


def _fornberg_rules(layout: Layout, spec: StencilSpec, x: np.ndarray | None, h: Any,
                    reach: int, data: np.dtype[Any]) -> AxisRules:  # fmt: skip
    """Fornberg weights: on the unit grid scaled by ``h ** order`` (uniform, once per
    run), or on the coordinate ``x`` (extended by ``reach`` points when periodic)."""
    width = max(layout.center[1], layout.side)
    b = _Builder(layout.n, width, compute_dtype(data, np.float64(1.0)), x is not None)
    for first, stop, (off, w) in layout.runs():
        if x is None:
            unit = fornberg(np.arange(off, off + w, dtype=np.float64), spec.order)
            b.add(first, stop, SUM, off, w, weights=unit / float(h) ** spec.order)
            continue
        points = np.arange(first, stop) + reach
        coordinate_weights(x, points, off, w, spec.order, out=b.columns(first, stop, SUM, off, w))
    return b.rules()


def coordinate_weights(x: np.ndarray, points: np.ndarray, off: int, width: int, order: int,
                       out: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Fornberg weights of the ``order``-th derivative at indices ``points`` of the
    coordinate ``x``, each from the ``width`` points from ``point + off``: ``(width,
    len(points))`` (into ``out`` if given).  The nodes are scaled to unit size for
    conditioning and the weights scaled back; a block of points at a time, in cache.

    >>> coordinate_weights(np.array([0.0, 1.0, 3.0]), np.array([1]), -1, 3, 1)[:, 0]
    array([-0.66666667,  0.5       ,  0.16666667])
    """
    if out is None:
        out = np.empty((width, points.size))
    for a in range(0, points.size, _STENCILS):
        g = points[a : a + _STENCILS]
        # node k of every point's stencil in row k
        nodes = x[g + off + np.arange(width)[:, None]] - x[g]
        scale = np.abs(nodes).max(axis=0)
        unit = np.asarray(nodes / scale, dtype=np.float64)  # as fornberg takes them
        out[:, a : a + g.size] = _fornberg_block(unit, order) / scale**order
    return out


def axis_rules(
    n: int,
    spacing: Any,
    spec: StencilSpec,
    data: np.dtype[Any],
    periodic: bool = False,
    period: Any = None,
    label: str = "coordinate",
) -> AxisRules:
    """Build the rules of one axis of ``n`` points.

    Parameters
    ----------
    n : int
        Length of the axis (at least the spec's layout's ``min_points``).
    spacing : scalar or 1-D numpy array
        A uniform step, or the coordinate of every point (length ``n``).
    spec : StencilSpec
        Derivative order, accuracy and (for numpy's gradient) edge order.
    data : numpy.dtype
        The dtype the kernels will compute on (integers already float64).
    periodic, period : bool, scalar
        Wrap round; ``period`` is needed with a coordinate.
    label : str
        How error messages name the coordinate.

    Examples
    --------
    >>> r = axis_rules(5, 0.5, StencilSpec(edge_order=1), np.dtype(np.float64))
    >>> r.segments()  # (first, stop, form, offset, width): DIFF is 1
    [(0, 1, 1, 0, 2), (1, 4, 1, -1, 3), (4, 5, 1, -1, 2)]
    >>> r = axis_rules(4, np.array([0.0, 1.0, 3.0, 6.0]), StencilSpec(), np.dtype(np.float64))
    >>> r.point(1)[3]  # weights of x[0], x[1], x[2] for the derivative at x[1]
    array([-0.66666667,  0.5       ,  0.16666667])
    """
    data = np.dtype(data)
    if np.ndim(spacing) == 0:
        layout = spec.layout(n, periodic, True)
        if spec.is_numpy:
            return _numpy_uniform(n, spacing, spec.edge_order, periodic, data)
        return _fornberg_rules(layout, spec, None, spacing, 0, data)
    x = float_coordinate(np.asarray(spacing))
    check_coordinate(x, label, strict=not spec.is_numpy)
    reach = 0
    if periodic:
        x, reach = continued_coordinate(x, spec, period)
        check_coordinate(x, f"{label} extended by period={period!r}", not spec.is_numpy)
    d = np.diff(x)
    if evenly_spaced(d):
        # numpy reduces an evenly spaced coordinate to its scalar step
        return axis_rules(n, d[0], spec, data, periodic, None, label)
    if spec.is_numpy:
        return _numpy_nonuniform(n, d, spec.edge_order, periodic, data)
    return _fornberg_rules(spec.layout(n, periodic, False), spec, x, None, reach, data)
