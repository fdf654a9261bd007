"""Smoothing derivative stencils: Savitzky-Golay and Gaussian-derivative windows.

Pure numpy: the weights of scipy's ``savgol_filter`` and ``gaussian_filter1d`` as
:class:`~bigrad.core.weights.Stencil` objects, so every executor of the engine (numpy in
memory, dask of any chunking, the Zarr stream) runs them unchanged.

A window of ``w = 2*h + 1`` points is applied as a correlation, ``out[g] = sum_k
kernel[k] * f[g - h + k]``.  Past the ends of the axis scipy pads the data; padding
only repeats values of the axis (or a constant), so an edge point's weights *fold* back
onto the first or last ``w`` points of the axis::

    mode      padded            fold of an index j outside [0, n)
    mirror    d c b | a b c d   reflect about the end points
    reflect   c b a | a b c d   reflect about the ends, repeating the end point
    nearest   a a a | a b c d   the end point
    constant  k k k | a b c d   dropped; cval * (the dropped weights) is added after
    wrap      b c d | a b c d   the engine's periodic axis (folded on a short axis)

so an edge point reads one window of the axis (a one-sided :class:`EdgeLayout`) with
weights of its own, and the halo plan never reads past the axis.  Savitzky-Golay's
``interp`` mode fits a polynomial to the first or last window instead: again weights
of the edge point over that window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bigrad.core.weights import SUM, AxisRules, Layout, compute_dtype

__all__ = [
    "GAUSSIAN_MODES",
    "SAVGOL_MODES",
    "EdgeLayout",
    "WindowStencil",
    "fold",
    "gaussian_kernel",
    "gaussian_stencil",
    "lstsq_weights",
    "savgol_stencil",
]

#: the padding modes of ``scipy.signal.savgol_filter``
SAVGOL_MODES = ("interp", "mirror", "nearest", "wrap", "constant")
#: the padding modes of ``scipy.ndimage.gaussian_filter1d`` (the grid- names are aliases)
GAUSSIAN_MODES = ("reflect", "mirror", "nearest", "wrap", "constant")
_ALIASES = {"grid-mirror": "reflect", "grid-wrap": "wrap", "grid-constant": "constant"}


@dataclass(frozen=True)
class EdgeLayout(Layout):
    """A window layout whose edge points read the whole first or last window.

    Inside, point ``g`` reads ``[g - h, g + h]``; each of the first ``h`` points reads
    ``[0, w)`` and each of the last ``h`` reads ``[n - w, n)``; on an axis shorter
    than the window every point reads the whole axis.

    >>> lay = EdgeLayout(10, False, (-2, 5), 5)
    >>> [lay.reads(g) for g in (0, 1, 2, 8, 9)]
    [(0, 5), (-1, 5), (-2, 5), (-3, 5), (-4, 5)]
    >>> lay.read_range(1, 2), EdgeLayout(3, False, (-2, 5), 5).read_range(2, 3)
    ((0, 5), (0, 3))
    """

    def reads(self, g: int) -> tuple[int, int]:
        if self.periodic:
            return self.center
        w = self.center[1]
        h = w // 2
        if self.n < w:
            return -g, self.n
        if g < h:
            return -g, w
        if g >= self.n - h:
            return self.n - w - g, w
        return self.center


def fold(j: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Where the padded index ``j`` lies in an axis of ``n`` points (-1: outside, for
    ``constant``), repeating the padding as scipy.ndimage does on short axes.

    >>> fold(np.arange(-3, 7), 4, "mirror")
    array([3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
    >>> fold(np.arange(-3, 7), 4, "reflect")
    array([2, 1, 0, 0, 1, 2, 3, 3, 2, 1])
    """
    if mode == "nearest":
        return np.asarray(np.clip(j, 0, n - 1))
    if mode == "wrap":
        return np.asarray(np.mod(j, n))
    if mode == "constant":
        return np.asarray(np.where((j >= 0) & (j < n), j, -1))
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(j)
        k = np.mod(j, 2 * n - 2)
        return np.asarray(np.where(k >= n, 2 * n - 2 - k, k))
    k = np.mod(j, 2 * n)  # reflect
    return np.asarray(np.where(k >= n, 2 * n - 1 - k, k))


def lstsq_weights(nodes: np.ndarray, at: np.ndarray, polyorder: int, order: int) -> np.ndarray:
    """Weights (one row per point of ``at``) of the ``order``-th derivative, at ``at``,
    of the least-squares polynomial of degree ``polyorder`` through values at ``nodes``
    (scipy's ``savgol_coeffs``: the minimum-norm ``lstsq`` solution).

    >>> lstsq_weights(np.arange(-1.0, 2.0), np.zeros(1), 2, 1).round(12) + 0.0
    array([[-0.5,  0. ,  0.5]])
    """
    if order > polyorder:
        return np.zeros((at.size, nodes.size))
    # fit in t = (x - centre) / half-width, for conditioning, and scale back
    centre = (nodes.max() + nodes.min()) / 2
    half = max((nodes.max() - nodes.min()) / 2, 1.0)
    nodes, at = (nodes - centre) / half, (at - centre) / half
    powers = np.arange(polyorder + 1, dtype=np.float64)
    a = nodes[None, :] ** powers[:, None]
    # d^order/dx^order of x**q at the point: q!/(q-order)! x**(q-order)
    y = np.zeros((polyorder + 1, at.size))
    for q in range(order, polyorder + 1):
        y[q] = math.factorial(q) / math.factorial(q - order) * at ** (q - order)
    coeffs, *_ = np.linalg.lstsq(a, y, rcond=None)
    return np.asarray(coeffs.T / half**order)


def gaussian_kernel(sigma: float, order: int, radius: int) -> np.ndarray:
    """scipy.ndimage's Gaussian (derivative) kernel, in correlation order: weight ``k``
    multiplies ``f[g - radius + k]``.

    >>> gaussian_kernel(1.0, 1, 1).round(6) + 0.0
    array([-0.274069,  0.      ,  0.274069])
    """
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    phi = phi / phi.sum()
    if order == 0:
        return np.asarray(phi[::-1].copy())
    powers = np.arange(order + 1)
    # the derivative is q(x) * phi(x) with a polynomial q: q' + q * (-x / sigma**2)
    q = np.zeros(order + 1)
    q[0] = 1
    step = np.diag(powers[1:], 1) + np.diag(np.ones(order) / -(sigma * sigma), -1)
    for _ in range(order):
        q = step.dot(q)
    return np.asarray(((x[:, None] ** powers).dot(q) * phi)[::-1])


@dataclass(frozen=True)
class WindowStencil:
    """A derivative applied as a window of weights along an axis (a
    :class:`~bigrad.core.weights.Stencil`).

    ``kernel`` holds the interior weights at unit spacing (correlation order); the
    rules divide them by ``spacing ** order``.  ``lo_fit`` and ``hi_fit`` (Savitzky-
    Golay's ``interp``) hold the weights of the first and last ``h`` points over the
    first and last window; otherwise the edges follow ``mode``'s padding.
    """

    kernel: tuple[float, ...]
    mode: str
    order: int
    lo_fit: tuple[tuple[float, ...], ...] = ()
    hi_fit: tuple[tuple[float, ...], ...] = ()
    name: str = "window_length"

    @property
    def width(self) -> int:
        return len(self.kernel)

    def layouts(self, n: int, periodic: bool, uniform: bool | None) -> tuple[Layout, ...]:
        w = self.width
        return (EdgeLayout(n, periodic, (-(w // 2), w), w),)

    def check_length(self, axis: int, n: int, periodic: bool, uniform: bool | None) -> None:
        if self.lo_fit and n < self.width:
            raise ValueError(
                f"axis {axis} has {n} point(s), fewer than {self.name}={self.width}; with "
                "mode='interp' the window must fit the axis (lower it, or use another mode)"
            )
        if periodic and n < self.width:
            raise ValueError(
                f"periodic axis {axis} has {n} point(s), fewer than the window's "
                f"{self.width}; use mode='wrap' without periodic"
            )

    def rules(self, n: int, spacing: Any, data: np.dtype[Any], periodic: bool = False,
              period: Any = None, label: str = "coordinate") -> AxisRules:  # fmt: skip
        """The weights for a uniform ``spacing`` (a step, or an evenly spaced
        coordinate) on an axis of ``n`` points."""
        scale = 1.0 / float(_uniform_step(spacing, label)) ** self.order
        dtype = compute_dtype(np.dtype(data), 1.0)
        kern = np.asarray(self.kernel) * scale
        w, h = self.width, self.width // 2
        if periodic:
            segs, cols = [(0, n, SUM, -h, w)], [kern]
        else:
            edge = range(n) if n < w else [*range(h), *range(n - h, n)]
            segs, cols = [], []
            for g in edge:
                off, width = EdgeLayout(n, False, (-h, w), w).reads(g)
                segs.append((g, g + 1, SUM, off, width))
                cols.append(self._edge_weights(g, n, off, width) * scale)
            if n >= w and h < n - h:
                segs.append((h, n - h, SUM, -h, w))
                cols.append(kern)
        order = np.argsort([s[0] for s in segs], kind="stable")
        weights = np.zeros((w if n >= w else n, len(segs)), dtype=dtype)
        for c, i in enumerate(order):
            weights[: cols[i].size, c] = cols[i]
        segs_arr = np.array([segs[i] for i in order], dtype=np.int64).reshape(-1, 5)
        return AxisRules(n, segs_arr, weights, np.ones(len(segs), dtype), False)

    def _edge_weights(self, g: int, n: int, off: int, width: int) -> np.ndarray:
        """Weights of edge point ``g`` over ``[g + off, g + off + width)`` at unit spacing."""
        h = self.width // 2
        if self.lo_fit and g < h:
            return np.asarray(self.lo_fit[g])
        if self.hi_fit and g >= n - h:
            return np.asarray(self.hi_fit[g - (n - h)])
        out = np.zeros(width)
        where = fold(np.arange(g - h, g + h + 1), n, self.mode)
        inside = where >= 0
        np.add.at(out, where[inside] - (g + off), np.asarray(self.kernel)[inside])
        return out

    def outside(self, n: int, spacing: Any) -> np.ndarray:
        """Per point, the sum of the weights that fall past the ends (``constant``
        mode adds ``cval`` times this); zero inside."""
        scale = 1.0 / float(_uniform_step(spacing, "spacing")) ** self.order
        h = self.width // 2
        j = np.arange(n)[:, None] + np.arange(-h, h + 1)[None, :]
        past = (j < 0) | (j >= n)
        return np.asarray((np.asarray(self.kernel)[None, :] * past).sum(axis=1) * scale)


def _uniform_step(spacing: Any, label: str) -> Any:
    """The step of a scalar spacing or of an evenly spaced coordinate."""
    if np.ndim(spacing) == 0:
        return spacing
    x = np.asarray(spacing, dtype=np.float64)
    d = np.diff(x)
    if d.size == 0:
        return 1.0
    if not np.allclose(d, d[0], rtol=1e-9, atol=0.0):
        raise ValueError(
            f"{label} is not evenly spaced; smoothing derivatives need a uniform "
            "spacing (give a scalar step, or interpolate onto a uniform grid first)"
        )
    return float((x[-1] - x[0]) / (x.size - 1))


def check_mode(mode: Any, allowed: tuple[str, ...]) -> str:
    """The mode, aliases resolved, or an error naming ``mode``."""
    name = _ALIASES.get(mode, mode) if isinstance(mode, str) else mode
    if name not in allowed:
        raise ValueError(f"mode must be one of {allowed}, got {mode!r}")
    return str(name)


def savgol_stencil(window_length: Any, polyorder: Any, order: Any = 1,
                   mode: Any = "interp") -> WindowStencil:  # fmt: skip
    """The checked Savitzky-Golay derivative stencil (scipy's ``savgol_filter``).

    >>> s = savgol_stencil(5, 2, 1)
    >>> np.round(s.kernel, 12) + 0.0
    array([-0.2, -0.1,  0. ,  0.1,  0.2])
    """
    w = _check_int("window_length", window_length, 1)
    if w % 2 == 0:
        raise ValueError(f"window_length must be odd, got {w}; use {w + 1} or {w - 1}")
    p = _check_int("polyorder", polyorder, 0)
    if p >= w:
        raise ValueError(f"polyorder must be less than window_length={w}, got {p}")
    m = _check_int("order", order, 0)
    mode = check_mode(mode, SAVGOL_MODES)
    h = w // 2
    nodes = np.arange(-h, h + 1, dtype=np.float64)
    kernel = lstsq_weights(nodes, np.zeros(1), p, m)[0]
    lo: tuple[tuple[float, ...], ...] = ()
    hi: tuple[tuple[float, ...], ...] = ()
    if mode == "interp":
        edge = lstsq_weights(np.arange(float(w)), np.arange(float(w)), p, m)
        lo = tuple(tuple(r) for r in edge[:h].tolist())
        hi = tuple(tuple(r) for r in edge[w - h :].tolist())
    return WindowStencil(tuple(kernel.tolist()), mode, m, lo, hi)


def gaussian_stencil(sigma: Any, order: Any = 1, mode: Any = "reflect",
                     truncate: Any = 4.0) -> WindowStencil:  # fmt: skip
    """The checked Gaussian-derivative stencil (scipy's ``gaussian_filter1d``), with
    ``sigma`` in points.

    >>> gaussian_stencil(1.0, 1, truncate=2.0).width
    5
    """
    s = _check_positive("sigma", sigma)
    t = _check_positive("truncate", truncate)
    m = _check_int("order", order, 0)
    mode = check_mode(mode, GAUSSIAN_MODES)
    radius = int(t * s + 0.5)
    kernel = gaussian_kernel(s, m, radius)
    return WindowStencil(tuple(kernel.tolist()), mode, m, name="the Gaussian window")


def _check_int(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value}")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)
