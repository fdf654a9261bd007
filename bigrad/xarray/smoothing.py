"""Smoothing derivatives of DataArrays along a named dimension (for the accessor).

The step comes from the dimension's coordinate, which must be evenly spaced (to a
relative 1e-6, as ``np.linspace`` coordinates are); Gaussian widths are given in the
coordinate's units.  The numbers are :mod:`bigrad.smoothing`'s.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from bigrad.core.errors import Arg, argument_error
from bigrad.core.windows import WindowStencil
from bigrad.smoothing import gaussian_derivative, parse_smooth, savgol_derivative
from bigrad.xarray.attrs import derivative_attrs
from bigrad.xarray.coords import Spacing, resolve

__all__ = ["gaussian_along", "savgol_along", "smooth_stencils", "uniform_step"]


def uniform_step(da: xr.DataArray, dim: Hashable) -> tuple[Hashable, int, float, Any]:
    """``(dim, axis, step, units)`` of ``dim``'s coordinate, or an error naming ``dim``
    if it is not evenly spaced."""
    (sp,) = resolve(da, [dim], None, None, None)
    return sp.dim, da.get_axis_num(sp.dim), _step(sp), sp.units


def _step(sp: Spacing) -> float:
    if np.ndim(sp.spacing) == 0:
        return float(sp.spacing)
    x = np.asarray(sp.spacing, dtype=np.float64)
    if x.size < 2:
        return 1.0
    step = float((x[-1] - x[0]) / (x.size - 1))
    if not np.allclose(np.diff(x), step, rtol=1e-6, atol=0.0):
        raise ValueError(
            f"coordinate {sp.key!r} is not evenly spaced; smoothing derivatives need a "
            "uniform grid (interpolate onto one first, e.g. with DataArray.interp)"
        )
    return step


def smooth_stencils(obj: xr.Dataset, dims: Any, periodic: Any, smooth: str,
                    order: int) -> dict[Hashable, WindowStencil]:  # fmt: skip
    """Per dimension of ``dims`` (all of ``obj``'s: None), the stencil that ``smooth``
    (``"savgol:W:P"`` or ``"gaussian:SIGMA"``) names, with its coordinate's step."""
    if periodic not in (None, False):
        raise argument_error(
            ValueError, "{smooth} does not take periodic dimensions; leave out {periodic}",
            smooth=Arg("smooth", subject=True), periodic=Arg("periodic"),
        )  # fmt: skip
    out: dict[Hashable, WindowStencil] = {}
    for sp in resolve(obj, dims, None, None, None):
        out[sp.dim] = parse_smooth(smooth, order, _step(sp), "smooth (--smooth)")
    return out


def _wrap(da: xr.DataArray, dim: Hashable, value: Any, units: Any, order: int) -> xr.DataArray:
    if order == 0:  # smoothing only: the variable's own units
        attrs = {**da.attrs, "long_name": f"smoothed {da.attrs.get('long_name', da.name)}"}
    else:
        attrs = derivative_attrs(da.attrs, da.name, [dim], [units], order)
    return xr.DataArray(value, coords=da.coords, dims=da.dims, name=da.name, attrs=attrs)


def savgol_along(da: xr.DataArray, dim: Hashable, window_length: int, polyorder: int,
                 order: int, mode: str, cval: float) -> xr.DataArray:  # fmt: skip
    """:func:`bigrad.savgol_derivative` of ``da`` along ``dim``."""
    name, axis, step, units = uniform_step(da, dim)
    value = savgol_derivative(da.data, window_length, polyorder, axis=axis, order=order,
                              spacing=step, mode=mode, cval=cval)  # fmt: skip
    return _wrap(da, name, value, units, order)


def gaussian_along(da: xr.DataArray, dim: Hashable, sigma: float, order: int, mode: str,
                   cval: float, truncate: float) -> xr.DataArray:  # fmt: skip
    """:func:`bigrad.gaussian_derivative` of ``da`` along ``dim``, ``sigma`` in the
    coordinate's units."""
    name, axis, step, units = uniform_step(da, dim)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)):
        raise TypeError(f"sigma must be a number, got {sigma!r}")
    value = gaussian_derivative(da.data, float(sigma) / abs(step), axis=axis, order=order,
                                spacing=step, mode=mode, cval=cval, truncate=truncate)  # fmt: skip
    return _wrap(da, name, value, units, order)
