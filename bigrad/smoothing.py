"""Smoothing derivatives of numpy and dask arrays: Savitzky-Golay and Gaussian.

Array functions only, never xarray objects (see :mod:`bigrad.xarray.accessor`).  Each is
a :class:`~bigrad.core.windows.WindowStencil` run by :func:`bigrad.operators.apply`, so
numpy input is filtered in one pass and dask input lazily, chunk by chunk, each chunk
reading as many points of its neighbours as the window reaches (from further neighbours
when chunks are smaller than the window).  The numbers are scipy's (to rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bigrad.core.args import is_dask
from bigrad.core.windows import WindowStencil, gaussian_stencil, savgol_stencil
from bigrad.kernels import result_dtype
from bigrad.operators import apply

__all__ = [
    "gaussian_derivative",
    "gaussian_gradient_magnitude",
    "parse_smooth",
    "savgol_derivative",
]


def _check_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be one integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of {ndim} dimension(s)")
    return int(axis) % ndim


def _run(f: Any, stencil: WindowStencil, axis: int, spacing: Any, cval: Any) -> Any:
    """Apply ``stencil`` along ``axis``; ``wrap`` is the engine's periodic axis, and
    ``constant`` adds ``cval`` times the weights that fell past the ends."""
    if not is_dask(f):
        f = np.asanyarray(f)
    n = f.shape[axis] if f.ndim else 0
    periodic = stencil.mode == "wrap" and n >= stencil.width
    (out,) = apply(f, (spacing,), axis, stencil, periodic)
    if stencil.mode == "constant" and cval != 0 and n:
        shape = [1] * f.ndim
        shape[axis] = n
        dtype = result_dtype(f.dtype)
        term = (float(cval) * stencil.outside(n, spacing)).astype(dtype).reshape(shape)
        out = out + term
    return out


def savgol_derivative(
    f: Any,
    window_length: int,
    polyorder: int,
    *,
    axis: int = -1,
    order: int = 1,
    spacing: float = 1.0,
    mode: str = "interp",
    cval: float = 0.0,
) -> Any:
    """Return the Savitzky-Golay derivative of ``order`` along ``axis``.

    Each point gets the derivative of the least-squares polynomial of degree
    ``polyorder`` through the ``window_length`` points around it: equal to
    ``scipy.signal.savgol_filter(f, window_length, polyorder, deriv=order,
    delta=spacing, axis=axis, mode=mode, cval=cval)``, for numpy and dask input of any
    chunking.

    Parameters
    ----------
    f : array_like or dask.array.Array
        Samples on an evenly spaced grid (integers are filtered as float64).
    window_length : int
        Odd number of points in each fit.
    polyorder : int
        Degree of the fitted polynomial, less than ``window_length``.
    axis : int, optional
        The axis to differentiate along.
    order : int, optional
        The derivative's order (0 smooths); above ``polyorder`` the result is 0.
    spacing : float, optional
        The step between samples.
    mode : {"interp", "mirror", "nearest", "wrap", "constant"}, optional
        How the ends are treated: ``interp`` fits the first and last window (the axis
        must hold at least ``window_length`` points); the others pad as scipy does.
    cval : float, optional
        The padding value of ``mode="constant"``.

    Returns
    -------
    ndarray or dask.array.Array
        Of the input's kind, shape (and chunks).

    Examples
    --------
    >>> import numpy as np
    >>> import bigrad
    >>> x = np.arange(8.0)
    >>> bigrad.savgol_derivative(x**2, 5, 2).round(10) + 0.0
    array([ 0.,  2.,  4.,  6.,  8., 10., 12., 14.])
    """
    stencil = savgol_stencil(window_length, polyorder, order, mode)
    axis = _check_axis(axis, np.ndim(f))
    return _run(f, stencil, axis, spacing, cval)


def gaussian_derivative(
    f: Any,
    sigma: float,
    *,
    axis: int = -1,
    order: int = 1,
    spacing: float = 1.0,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
) -> Any:
    """Return the Gaussian derivative of ``order`` along ``axis``: ``f`` convolved with
    the ``order``-th derivative of a Gaussian of standard deviation ``sigma`` points.

    Equal to ``scipy.ndimage.gaussian_filter1d(f, sigma, axis=axis, order=order,
    mode=mode, cval=cval, truncate=truncate) / spacing**order`` for numpy and dask
    input of any chunking, chunks smaller than the kernel's reach included.

    Parameters
    ----------
    f : array_like or dask.array.Array
        Samples on an evenly spaced grid.
    sigma : float
        Standard deviation of the Gaussian, in points.
    axis : int, optional
        The axis to differentiate along.
    order : int, optional
        The derivative's order (0 smooths).
    spacing : float, optional
        The step between samples; the result is divided by ``spacing**order``.
    mode : {"reflect", "mirror", "nearest", "wrap", "constant"}, optional
        How scipy pads past the ends.
    cval : float, optional
        The padding value of ``mode="constant"``.
    truncate : float, optional
        The kernel reaches ``int(truncate * sigma + 0.5)`` points each side.

    Returns
    -------
    ndarray or dask.array.Array
        Of the input's kind, shape (and chunks).

    Examples
    --------
    >>> import numpy as np
    >>> import bigrad
    >>> bigrad.gaussian_derivative(np.arange(6.0) * 3.0, 1.0, mode="nearest").round(4)
    array([1.4999, 2.5912, 2.9551, 2.9551, 2.5912, 1.4999])
    """
    stencil = gaussian_stencil(sigma, order, mode, truncate)
    axis = _check_axis(axis, np.ndim(f))
    return _run(f, stencil, axis, spacing, cval)


def gaussian_gradient_magnitude(
    f: Any,
    sigma: float | Sequence[float],
    *,
    spacing: float | Sequence[float] = 1.0,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
) -> Any:
    """Return the magnitude of the Gaussian gradient, as
    ``scipy.ndimage.gaussian_gradient_magnitude`` (with a step per axis).

    Component ``d`` is ``f`` filtered along every axis in turn (the first Gaussian
    derivative along ``d``, the Gaussian itself along the others), divided by
    ``spacing[d]``; the result is the square root of the sum of their squares.

    Parameters
    ----------
    f : array_like or dask.array.Array
        Samples on an evenly spaced grid.
    sigma : float or sequence of float
        Standard deviation of the Gaussian in points, one for all axes or one per axis.
    spacing : float or sequence of float, optional
        The step, one for all axes or one per axis.
    mode, cval, truncate : optional
        As for :func:`gaussian_derivative`.

    Returns
    -------
    ndarray or dask.array.Array
        Of the input's kind, shape (and chunks).

    Examples
    --------
    >>> import numpy as np
    >>> import bigrad
    >>> y, x = np.mgrid[0:12, 0:12] * 1.0
    >>> float(bigrad.gaussian_gradient_magnitude(3 * x + 4 * y, 1.0)[6, 6].round(6))
    4.99964
    """
    ndim = np.ndim(f)
    sigmas = _per_axis("sigma", sigma, ndim)
    steps = _per_axis("spacing", spacing, ndim)
    if ndim == 0:
        raise ValueError("f has no axes; give an array of at least one dimension")
    smooth = [gaussian_stencil(s, 0, mode, truncate) for s in sigmas]
    slope = [gaussian_stencil(s, 1, mode, truncate) for s in sigmas]
    total: Any = None
    for d in range(ndim):
        g = f
        for a in range(ndim):
            # after the derivative (divided by its step) the values beyond the edges are
            # the input's divided by it too, as when the component is divided at the end
            edge = cval / steps[d] if a > d else cval
            g = _run(g, slope[a] if a == d else smooth[a], a, steps[a] if a == d else 1.0, edge)
        total = g * g if total is None else total + g * g
    return np.sqrt(total)


def _per_axis(name: str, value: Any, ndim: int) -> list[Any]:
    if np.ndim(value) == 0:
        return [value] * ndim
    values = list(value)
    if len(values) != ndim:
        raise ValueError(f"{name} has {len(values)} values for {ndim} axes; give one per axis")
    return values


def parse_smooth(smooth: Any, order: int, step: float, flag: str = "smooth") -> WindowStencil:
    """The stencil that ``"savgol:WINDOW:POLYORDER"`` or ``"gaussian:SIGMA"`` (sigma in
    the units of a coordinate of step ``step``) names, for derivatives of ``order``;
    errors name ``flag``.

    >>> parse_smooth("gaussian:2.0", 1, 0.5).width  # sigma 4 points, reach 16
    33
    """
    parts = str(smooth).split(":")
    try:
        if parts[0] == "savgol" and len(parts) == 3:
            return savgol_stencil(int(parts[1]), int(parts[2]), order, "interp")
        if parts[0] == "gaussian" and len(parts) == 2:
            return gaussian_stencil(float(parts[1]) / abs(step), order, "reflect")
    except ValueError as err:
        raise ValueError(f"{flag} {smooth!r}: {err}") from err
    raise ValueError(
        f"{flag} must be savgol:WINDOW:POLYORDER or gaussian:SIGMA (e.g. savgol:7:2, "
        f"gaussian:1.5), got {smooth!r}"
    )
