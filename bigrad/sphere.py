"""Calculus on the sphere: gradient in metres, vorticity, divergence and the Laplacian
of fields on latitude/longitude grids in degrees.

Array functions: numpy or dask arrays in, the same kind out (dask stays lazy and keeps
the input's chunks); latitude and longitude are 1-D numpy arrays in degrees.  No xarray
here (the accessor maps names to these functions).  Every derivative goes through
:func:`bigrad.operators.apply`, so every executor computes the same numbers; the metric
factors (``1 / (a cos phi)``, ``tan phi / a``) are 1-D arrays along latitude, applied by
the engine as it writes each term (``scale=``; by broadcasting after it for inputs it
does not take), and the degrees-to-radians factor is folded into them (the derivatives
are taken along the coordinates in degrees, which keeps an evenly spaced grid evenly
spaced).  Vorticity and divergence are one engine call on both winds (``source=``).

With ``a`` the radius, ``phi`` latitude and ``lambda`` longitude (radians)::

    d_dx   = 1 / (a cos phi) df/dlambda                      eastward
    d_dy   = 1 / a df/dphi                                   northward
    zeta   = 1 / (a cos phi) dv/dlambda - 1 / a du/dphi + u tan(phi) / a
    delta  = 1 / (a cos phi) du/dlambda + 1 / a dv/dphi - v tan(phi) / a
    lap f  = 1 / (a cos phi)^2 d2f/dlambda2 + 1 / a^2 (d2f/dphi2 - tan(phi) df/dphi)

The Laplacian's latitude term is one stencil (:class:`LatitudeLaplacian`): per point
the weights of ``d2/dphi2 - tan(phi) d/dphi`` on the same points, not the gradient
applied twice.

Poles: where ``|lat| == 90`` the terms with ``1 / cos phi`` or ``tan phi`` have no finite
value, so ``d_dx``, vorticity, divergence and the Laplacian are NaN there (never inf);
``d_dy`` is finite at the poles (a one-sided difference).  The other points, including
the poles' neighbours, are unaffected.

Longitude is periodic automatically when the grid covers the full circle (the step
after the last point lands on the first, modulo 360); ``periodic=`` overrides it.

Missing values (``nan="one-sided"``, as :func:`bigrad.gradient`'s): along latitude and
longitude every maximal run of finite values is differentiated as that run alone (on a
periodic longitude a run may cross the ends of ``lon``: it goes on round the circle).
Vorticity and divergence then take the metric term apart (``- 1 / a du/dphi + u
tan(phi) / a``, ``1 / a dv/dphi - v tan(phi) / a``) and the Laplacian its latitude term
(``1 / a^2 (d2f/dphi2 - tan(phi) df/dphi)``), so that each derivative is a plain one that
runs can shorten.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bigrad.core.args import check_spec, is_dask, parse_args
from bigrad.core.blocks import halos_from_faces
from bigrad.core.masked import NanStencil, nan_stencil
from bigrad.core.plan import GradientPlan
from bigrad.core.weights import (
    SUM,
    AxisRules,
    Layout,
    StencilSpec,
    check_coordinate,
    evenly_spaced,
    fornberg,
)
from bigrad.kernels import block_derivatives, result_dtype
from bigrad.operators import apply, prepare

__all__ = [
    "EARTH_RADIUS",
    "WINDS",
    "BlockOperator",
    "CosineDerivative",
    "LatitudeLaplacian",
    "covers_circle",
    "divergence",
    "geospatial_gradient",
    "gradient_blocks",
    "spherical_laplacian",
    "vorticity",
    "wind_blocks",
]

#: mean Earth radius in metres (IUGG)
EARTH_RADIUS = 6371008.8

# radians per degree: derivatives along degrees times this power give per radian
_PER_DEGREE = 180.0 / np.pi


class _LatitudeStencil:
    """A per-point stencil along latitude ``c2 d2/dphi2 + c1 d/dphi + c0`` (per radian),
    the coefficients depending on latitude (:meth:`_coefficients`), from a latitude
    coordinate in degrees.  Its points are those of the derivative of :attr:`order` and
    ``accuracy`` (:class:`~bigrad.core.weights.StencilSpec`); per point the Fornberg
    weights of each derivative on those points are combined.  At ``|lat| == 90`` the
    weights are NaN: the metric terms have no finite value there."""

    accuracy: int
    radius: float

    @property
    def order(self) -> int:
        raise NotImplementedError

    def _coefficients(self, tan: np.ndarray) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    @property
    def _spec(self) -> StencilSpec:
        return StencilSpec(self.order, self.accuracy)

    def layouts(self, n: int, periodic: bool, uniform: bool | None) -> tuple[Layout, ...]:
        return self._spec.layouts(n, False, uniform)

    def check_length(self, axis: int, n: int, periodic: bool, uniform: bool | None) -> None:
        if periodic:
            raise ValueError(f"latitude (axis {axis}) cannot be periodic; leave it out of periodic")
        self._spec.check_length(axis, n, False, uniform)

    def rules(self, n: int, spacing: Any, data: np.dtype[Any], periodic: bool = False,
              period: Any = None, label: str = "coordinate") -> AxisRules:  # fmt: skip
        lat = np.asarray(spacing, dtype=np.float64)
        if lat.shape != (n,):
            raise ValueError(f"{label} must be the {n} latitudes in degrees, got {spacing!r}")
        check_coordinate(lat, label, strict=True)
        # a grid's weights once (a call per time step would otherwise rebuild them)
        return _latitude_rules(self, lat.tobytes(), np.dtype(data).str)

    def _rules(self, lat: np.ndarray, data: np.dtype[Any]) -> AxisRules:
        n = lat.size
        d = np.diff(lat)
        layout = self._spec.layout(n, False, evenly_spaced(d))
        weights = np.zeros((max(layout.center[1], layout.side), n))
        segs = []
        with np.errstate(invalid="ignore", divide="ignore"):
            tan = np.where(np.abs(lat) == 90.0, np.nan, np.tan(np.deg2rad(lat)))
        c2, c1, c0 = (np.broadcast_to(c, (n,)) for c in self._coefficients(tan))
        for first, stop, (off, w) in layout.runs():
            g = np.arange(first, stop)
            nodes = lat[g[:, None] + off + np.arange(w)] - lat[g][:, None]
            scale = np.abs(nodes).max(axis=1)[:, None]
            unit = nodes / scale
            # per radian: a derivative along degrees times (180 / pi) ** order
            w1 = fornberg(unit, 1) / scale * _PER_DEGREE
            block = c1[g, None] * w1
            if self.order == 2:
                block += c2[g, None] * fornberg(unit, 2) / scale**2 * _PER_DEGREE**2
            block[np.arange(g.size), -off] += c0[g]  # the point itself
            weights[:w, first:stop] = block.T
            segs.append((first, stop, SUM, off, w))
        dtype = np.result_type(data, np.float32)
        segs_ = np.array(segs, np.int64)
        rules = AxisRules(n, segs_, weights.astype(dtype), np.ones(n, dtype), True)
        return _negated(rules) if getattr(self, "negate", False) else rules


@functools.lru_cache(maxsize=16)
def _latitude_rules(stencil: _LatitudeStencil, lat: bytes, data: str) -> AxisRules:
    return stencil._rules(np.frombuffer(lat, np.float64), np.dtype(data))


@dataclass(frozen=True)
class LatitudeLaplacian(_LatitudeStencil):
    """The latitude part of the spherical Laplacian as one stencil along latitude:
    ``(d2f/dphi2 - tan(phi) df/dphi) / a^2`` (``= 1 / (a^2 cos phi) d/dphi (cos phi
    df/dphi)``), with the points of the second derivative of ``accuracy``; NaN weights
    at the poles.

    >>> lat = np.array([-90.0, -45.0, 0.0, 45.0, 90.0])
    >>> r = LatitudeLaplacian().rules(5, lat, np.dtype("f8"))
    >>> r.point(2)[3] * (np.pi / 4) ** 2  # the equator: tan 0 = 0, the plain [1, -2, 1]
    array([ 1., -2.,  1.])
    >>> r.point(0)[3]  # a pole
    array([nan, nan, nan, nan])
    """

    accuracy: int = 2
    radius: float = 1.0

    @property
    def order(self) -> int:
        return 2

    def _coefficients(self, tan: np.ndarray) -> tuple[Any, Any, Any]:
        a2 = self.radius**2
        return 1.0 / a2, -tan / a2, 0.0


@dataclass(frozen=True)
class CosineDerivative(_LatitudeStencil):
    """``1 / (a cos phi) d(f cos phi)/dphi = (df/dphi - tan(phi) f) / a`` as one stencil
    along latitude: the northward terms of the divergence (``f = v``) and, negated, of
    the vorticity (``f = u``), with the points of the first derivative of ``accuracy``
    (numpy's formulas' points at accuracy 2); NaN weights at the poles.  With
    ``negate``, every weight negated (exactly: the result is the negation, bit for bit).

    >>> lat = np.array([-30.0, 0.0, 30.0])
    >>> r = CosineDerivative().rules(3, lat, np.dtype("f8"))
    >>> r.point(1)[3] * (np.pi / 6)  # the equator: the central difference
    array([-0.5,  0. ,  0.5])
    """

    accuracy: int = 2
    radius: float = 1.0
    negate: bool = False

    @property
    def order(self) -> int:
        return 1

    def _coefficients(self, tan: np.ndarray) -> tuple[Any, Any, Any]:
        return 0.0, 1.0 / self.radius, -tan / self.radius


@dataclass(frozen=True)
class _Grid:
    """A checked latitude/longitude grid and its metric factors (1-D, along latitude)."""

    lat: np.ndarray
    lon: np.ndarray
    lat_axis: int
    lon_axis: int
    ndim: int
    radius: float
    periodic: bool

    def lon_spacing(self) -> Any:
        """A Python float step when even (keeps float32 data in float32), else the
        coordinate."""
        d = np.diff(self.lon)
        return float(d[0]) if d.size and evenly_spaced(d) else self.lon

    def lat_spacing(self) -> Any:
        d = np.diff(self.lat)
        return float(d[0]) if d.size and evenly_spaced(d) else self.lat

    def along_lat(self, values: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
        """``values`` (one per latitude) shaped to broadcast against the data."""
        shape = [1] * self.ndim
        shape[self.lat_axis] = values.size
        return values.reshape(shape).astype(dtype)

    def inv_cos(self) -> np.ndarray:
        """``1 / cos(phi)``, NaN at the poles."""
        with np.errstate(divide="ignore"):
            c = 1.0 / np.cos(np.deg2rad(self.lat))
        return np.where(np.abs(self.lat) == 90.0, np.nan, c)

    def arguments(self, x: Any = None, y: Any = None, shift: int = 0) -> tuple[Any, ...]:
        """The engine's ``(spacings, axes, stencils, periodic, period)`` for stencil ``x``
        along longitude and/or ``y`` along latitude (axes moved by ``shift``: the winds
        stacked along a new first axis)."""
        axes, spacings, specs = [], [], []
        if x is not None:
            axes.append(self.lon_axis + shift)
            spacings.append(self.lon_spacing())
            specs.append(x)
        if y is not None:
            axes.append(self.lat_axis + shift)
            # the latitude stencils with metric terms need the latitudes themselves
            lat = isinstance(y, _LatitudeStencil)
            spacings.append(self.lat if lat else self.lat_spacing())
            specs.append(y)
        periodic = (self.lon_axis + shift,) if self.periodic and x is not None else False
        period = 360.0 if periodic else None
        return spacings, tuple(axes), tuple(specs), periodic, period

    def derivatives(self, f: Any, x: Any = None, y: Any = None, **kw: Any) -> list[Any]:
        """``f``'s derivatives per degree with stencil ``x`` along longitude and/or ``y``
        along latitude, in one call of the engine (one graph, ``f`` read once); ``kw``
        as :func:`~bigrad.operators.apply` takes them (``out``, ``accumulate``)."""
        return apply(f, *self.arguments(x, y), **kw)


def _coordinate(values: Any, name: str) -> np.ndarray:
    if is_dask(values):
        raise TypeError(f"{name} must be a 1-D numpy array in degrees, got a dask array; "
                        f"pass {name}.compute() (coordinates are small)")  # fmt: skip
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a 1-D array of numbers in degrees, got {values!r}"
        ) from None
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 values in degrees, "
                         f"got shape {x.shape}")  # fmt: skip
    check_coordinate(x, name, strict=True)
    return x


def _axis(axis: Any, ndim: int, name: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{name} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of {ndim} dimension(s)")
    return int(axis) % ndim


def covers_circle(lon: np.ndarray) -> bool:
    """Whether longitudes (degrees) cover the full circle: the step after the last
    point lands on the first, modulo 360.

    >>> covers_circle(np.arange(0.0, 360.0, 90.0)), covers_circle(np.arange(0.0, 361.0, 90.0))
    (True, False)
    """
    step = lon[-1] - lon[-2]
    gap = (lon[-1] + step - lon[0]) % 360.0
    return bool(min(gap, 360.0 - gap) <= 1e-6 * abs(step))


def _grid(shape: tuple[int, ...], lat: Any, lon: Any, lat_axis: Any, lon_axis: Any,
          radius: Any, periodic: Any, field: str = "f") -> _Grid:  # fmt: skip
    """Check everything before any work starts; one-line errors name the argument."""
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"{field} must have at least 2 dimensions (latitude and longitude), "
                         f"got shape {shape}")  # fmt: skip
    la, lo = _axis(lat_axis, ndim, "lat_axis"), _axis(lon_axis, ndim, "lon_axis")
    if la == lo:
        raise ValueError(f"lat_axis and lon_axis are the same axis ({la}); give two different axes")
    lat_, lon_ = _coordinate(lat, "lat"), _coordinate(lon, "lon")
    for name, x, ax in (("lat", lat_, la), ("lon", lon_, lo)):
        if x.size != shape[ax]:
            raise ValueError(f"{name} has {x.size} values but axis {ax} of {field} has "
                             f"{shape[ax]}; give one {name} per point along {name}_axis")  # fmt: skip
    if np.abs(lat_).max() > 90.0:
        i = int(np.argmax(np.abs(lat_)))
        raise ValueError(
            f"lat has {float(lat_[i])!r} at index {i}; latitudes must lie in [-90, 90] degrees"
        )
    a: Any = EARTH_RADIUS if radius is None else radius
    if isinstance(a, bool) or not isinstance(a, (int, float, np.number)) or not 0 < a < np.inf:
        raise ValueError(f"radius must be a positive number of metres, got {radius!r}")
    if periodic is None:
        periodic = covers_circle(lon_)
    elif not isinstance(periodic, (bool, np.bool_)):
        raise TypeError(f"periodic must be None (automatic), True or False, got {periodic!r}")
    return _Grid(lat_, lon_, la, lo, ndim, float(a), bool(periodic))


def _spec(accuracy: Any) -> StencilSpec:
    # edge_order 2 with accuracy 2: numpy's (and MetPy's) second-order one-sided ends
    return check_spec(1, accuracy, 2)


def _out_dtype(*arrays: Any) -> np.dtype[Any]:
    return np.result_type(*(a.dtype for a in arrays), np.float32)


def _scale_add(x: Any, factor: Any, dtype: np.dtype[Any], y: Any = None, sign: float = 1.0) -> Any:
    """``x * factor + sign * y`` in ``dtype``: lazily for dask (one fused task per
    chunk), in place in ``x`` (the engine's fresh output) for numpy, so that no
    temporary array is made."""
    if is_dask(x) or is_dask(y):
        out = x * factor if y is None else x * factor + sign * y
        return out.astype(dtype, copy=False)
    x = x.astype(dtype, copy=False)
    np.multiply(x, factor, out=x)
    if y is not None:
        (np.add if sign > 0 else np.subtract)(x, y, out=x, casting="unsafe")
    return x


_COMMON = """lat, lon : 1-D array_like
        Latitudes (in [-90, 90]) and longitudes in degrees, strictly monotonic, one per
        point along ``lat_axis`` and ``lon_axis``; evenly spaced or not.
    lat_axis, lon_axis : int, optional
        The axes of latitude and longitude (default: the last two, lat before lon).
    radius : float, optional
        The sphere's radius in metres; :data:`EARTH_RADIUS` by default.
    accuracy : {2, 4, 6}, optional
        The order of accuracy of the stencils (2: numpy's and MetPy's differences).
    periodic : bool, optional
        Whether longitude wraps round; by default, when ``lon`` covers the full circle."""

_NAN = """nan : {"propagate", "one-sided"}, optional
        ``"propagate"`` (numpy's behaviour) or ``"one-sided"``: each run of finite values
        along latitude and along longitude differentiated alone, as in
        :func:`bigrad.gradient` (round a periodic longitude a run may cross the ends of
        ``lon``)."""


def geospatial_gradient(f: Any, lat: Any, lon: Any, *, lat_axis: int = -2, lon_axis: int = -1,
                        radius: float | None = None, accuracy: int = 2,
                        periodic: bool | None = None,
                        nan: str = "propagate") -> tuple[Any, Any]:  # fmt: skip
    """Return the gradient of ``f`` on the sphere in units of ``f`` per metre.

    ``d_dx = 1 / (a cos phi) df/dlambda`` (eastward) and ``d_dy = 1 / a df/dphi``
    (northward), both from one pass over ``f``.  ``d_dx`` is NaN at the poles.

    Parameters
    ----------
    f : array_like or dask.array.Array
        The field, with latitude and longitude axes.
    {common}
    {nan}

    Returns
    -------
    (d_dx, d_dy) : tuple of ndarray or dask.array.Array
        Of ``f``'s kind, shape and chunks; float32 data stays float32.

    Examples
    --------
    >>> import numpy as np, bigrad
    >>> lat, lon = np.array([-10.0, 0.0, 10.0]), np.arange(0.0, 360.0, 10.0)
    >>> f = np.broadcast_to(np.deg2rad(lon), (3, 36)) * bigrad.EARTH_RADIUS
    >>> d_dx, d_dy = bigrad.geospatial_gradient(f, lat, lon, periodic=False)
    >>> float(d_dx[1, 1:-1].round(12).max()), float(abs(d_dy).max().round(12))
    (1.0, 0.0)
    """
    g = _grid(np.shape(f), lat, lon, lat_axis, lon_axis, radius, periodic)
    spec = nan_stencil(_spec(accuracy), nan)
    if _direct(f):
        # the metric factors applied by the engine as it writes: one pass over f
        dtype = result_dtype(f.dtype)
        x_metric = g.along_lat(g.inv_cos() * (_PER_DEGREE / g.radius), dtype)
        y_factor = np.asarray(dtype.type(_PER_DEGREE / g.radius))
        d_dx, d_dy = g.derivatives(f, spec, spec, scale=[x_metric, y_factor])
        return d_dx, d_dy
    dlon, dlat = g.derivatives(f, spec, spec)
    dtype = _out_dtype(dlon, dlat)
    d_dx = _scale_add(dlon, g.along_lat(g.inv_cos() * (_PER_DEGREE / g.radius), dtype), dtype)
    d_dy = _scale_add(dlat, dtype.type(_PER_DEGREE / g.radius), dtype)
    return d_dx, d_dy


def _winds(u: Any, v: Any, lat: Any, lon: Any, lat_axis: Any, lon_axis: Any, radius: Any,
           periodic: Any) -> _Grid:  # fmt: skip
    if np.shape(u) != np.shape(v):
        raise ValueError(f"u and v must have the same shape, got {np.shape(u)} and {np.shape(v)}")
    return _grid(np.shape(u), lat, lon, lat_axis, lon_axis, radius, periodic, "u")


def _kinematics(along_x: Any, along_y: Any, sign: float, lat: Any, lon: Any, lat_axis: Any,
                lon_axis: Any, radius: Any, accuracy: Any, periodic: Any, nan: Any) -> Any:  # fmt: skip
    """``1 / (a cos phi) d(along_x)/dlambda + sign / (a cos phi) d(along_y cos phi)/dphi``:
    vorticity (``along_x=v, along_y=u, sign=-1``) or divergence (``u, v, +1``), the
    latitude terms one stencil (:class:`CosineDerivative`); with ``nan="one-sided"``
    ``sign (1 / a d(along_y)/dphi - along_y tan(phi) / a)``, plain derivatives of runs."""
    g = _winds(along_x, along_y, lat, lon, lat_axis, lon_axis, radius, periodic)
    check_spec(1, accuracy)
    spec = nan_stencil(_spec(accuracy), nan)
    if not isinstance(spec, NanStencil) and _direct(along_x, along_y):
        return _kinematics_one_call(g, along_x, along_y, sign, spec, accuracy)
    (dx,) = g.derivatives(along_x, x=spec)
    if isinstance(spec, NanStencil):
        (dlat,) = g.derivatives(along_y, y=spec)
        dtype = _out_dtype(dx, dlat)
        tan = g.along_lat(np.tan(np.deg2rad(g.lat)) / g.radius, dtype)
        dy = dlat * dtype.type(_PER_DEGREE / g.radius) - along_y * tan
    else:
        (dy,) = g.derivatives(along_y, y=CosineDerivative(accuracy, g.radius))
        dtype = _out_dtype(dx, dy)
    x_metric = g.along_lat(g.inv_cos() * (_PER_DEGREE / g.radius), dtype)
    return _scale_add(dx, x_metric, dtype, dy, sign)


def _plain(*arrays: Any) -> bool:
    """numpy ndarrays (no subclass) whose derivatives are all of the output's dtype."""
    if not all(type(a) is np.ndarray for a in arrays):
        return False
    dtypes = {result_dtype(a.dtype) for a in arrays}
    return len(dtypes) == 1 and np.result_type(*dtypes, np.float32) in dtypes


def _direct(*arrays: Any) -> bool:
    """numpy ndarrays (no subclass) or dask arrays, of one dtype, whose derivatives are
    of the output's dtype: the engine then writes the results itself (the metric
    factors applied, the terms added) with the numbers of the combine after it."""
    if not all(type(a) is np.ndarray or is_dask(a) for a in arrays):
        return False
    if len({a.dtype for a in arrays}) != 1:
        return False
    otype = result_dtype(arrays[0].dtype)
    return bool(np.result_type(otype, np.float32) == otype)


def _kinematics_one_call(g: _Grid, along_x: Any, along_y: Any, sign: float, spec: Any,
                         accuracy: int) -> Any:  # fmt: skip
    """:func:`_kinematics` in one engine call (one graph for dask) instead of four
    passes: the longitude term scaled by the engine as it writes it, the latitude term
    added to each few rows of it while they are in cache.  The same numbers: ``x - y``
    is ``x + (-y)``, and the negated stencil gives ``-y`` exactly."""
    dtype = result_dtype(along_x.dtype)
    metric = g.along_lat(g.inv_cos() * (_PER_DEGREE / g.radius), dtype)
    lat_term = CosineDerivative(accuracy, g.radius, negate=sign < 0)
    # u first, whichever wind each term reads: a dask result takes u's chunks
    winds, source = ((along_y, along_x), [1, 0]) if sign < 0 else ((along_x, along_y), [0, 1])
    (out,) = g.derivatives(winds, spec, lat_term, add=True, scale=[metric, None],
                           source=source)  # fmt: skip
    return out


def vorticity(u: Any, v: Any, lat: Any, lon: Any, *, lat_axis: int = -2, lon_axis: int = -1,
              radius: float | None = None, accuracy: int = 2,
              periodic: bool | None = None, nan: str = "propagate") -> Any:  # fmt: skip
    """Return the relative vorticity of the wind ``(u, v)`` on the sphere (s-1 for
    winds in m s-1).

    ``zeta = 1 / (a cos phi) dv/dlambda - 1 / a du/dphi + u tan(phi) / a``, the metric
    term taken analytically.  NaN at the poles.

    Parameters
    ----------
    u, v : array_like or dask.array.Array
        Eastward and northward wind, of one shape.
    {common}
    {nan}

    Returns
    -------
    ndarray or dask.array.Array
        Of the winds' kind, shape and chunks.

    Examples
    --------
    Solid-body rotation ``u = U cos(phi)`` has ``zeta = 2 U sin(phi) / a``:

    >>> import numpy as np, bigrad
    >>> lat, lon = np.linspace(-80.0, 80.0, 161), np.arange(0.0, 360.0, 1.0)
    >>> u = 10.0 * np.cos(np.deg2rad(lat))[:, None] * np.ones(360)
    >>> zeta = bigrad.vorticity(u, np.zeros_like(u), lat, lon)
    >>> exact = 2 * 10.0 * np.sin(np.deg2rad(lat))[:, None] / bigrad.EARTH_RADIUS
    >>> bool(np.abs(zeta - exact)[1:-1].max() < 1e-9)
    True
    """
    return _kinematics(v, u, -1.0, lat, lon, lat_axis, lon_axis, radius, accuracy, periodic, nan)


def divergence(u: Any, v: Any, lat: Any, lon: Any, *, lat_axis: int = -2, lon_axis: int = -1,
               radius: float | None = None, accuracy: int = 2,
               periodic: bool | None = None, nan: str = "propagate") -> Any:  # fmt: skip
    """Return the horizontal divergence of the wind ``(u, v)`` on the sphere (s-1 for
    winds in m s-1).

    ``delta = 1 / (a cos phi) du/dlambda + 1 / a dv/dphi - v tan(phi) / a``, the metric
    term taken analytically.  NaN at the poles.

    Parameters
    ----------
    u, v : array_like or dask.array.Array
        Eastward and northward wind, of one shape.
    {common}
    {nan}

    Returns
    -------
    ndarray or dask.array.Array
        Of the winds' kind, shape and chunks.

    Examples
    --------
    >>> import numpy as np, bigrad
    >>> lat, lon = np.linspace(-60.0, 60.0, 121), np.arange(0.0, 360.0, 1.0)
    >>> u = 10.0 * np.cos(np.deg2rad(lat))[:, None] * np.ones(360)
    >>> float(np.abs(bigrad.divergence(u, np.zeros_like(u), lat, lon)).max())
    0.0
    """
    return _kinematics(u, v, 1.0, lat, lon, lat_axis, lon_axis, radius, accuracy, periodic, nan)


def spherical_laplacian(f: Any, lat: Any, lon: Any, *, lat_axis: int = -2, lon_axis: int = -1,
                        radius: float | None = None, accuracy: int = 2,
                        periodic: bool | None = None, nan: str = "propagate") -> Any:  # fmt: skip
    """Return the Laplacian of ``f`` on the sphere (units of ``f`` per square metre).

    ``1 / (a cos phi)^2 d2f/dlambda2 + 1 / (a^2 cos phi) d/dphi (cos phi df/dphi)``;
    the latitude term is one stencil (:class:`LatitudeLaplacian`), both terms come
    from one pass over ``f``.  Second derivatives of ``accuracy`` (one-sided at the
    ends of non-periodic axes).  NaN at the poles.

    Parameters
    ----------
    f : array_like or dask.array.Array
        The field, with latitude and longitude axes.
    {common}
    nan : {"propagate", "one-sided"}, optional
        ``"one-sided"``: the latitude term taken apart, ``1 / a^2 (d2f/dphi2 - tan(phi)
        df/dphi)``, so that each of the three derivatives is a plain one of runs of
        finite values along its axis, as :func:`bigrad.derivative` with
        ``nan="one-sided"`` (a run too short for a second derivative gives NaN).  The
        same operator, to the accuracy asked, with other numbers than the one stencil.

    Returns
    -------
    ndarray or dask.array.Array
        Of ``f``'s kind, shape and chunks.

    Examples
    --------
    ``psi = cos(phi)^2 sin(phi) cos(2 lambda)`` is a spherical harmonic of degree 3:
    its Laplacian is ``-12 psi / a^2``.

    >>> import numpy as np, bigrad
    >>> lat, lon = np.linspace(-80.0, 80.0, 321), np.arange(0.0, 360.0, 0.5)
    >>> phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)
    >>> psi = np.cos(phi) ** 2 * np.sin(phi) * np.cos(2 * lam)
    >>> lap = bigrad.spherical_laplacian(psi, lat, lon, radius=1.0, accuracy=4)
    >>> bool(np.abs(lap + 12 * psi).max() < 1e-6)
    True
    """
    g = _grid(np.shape(f), lat, lon, lat_axis, lon_axis, radius, periodic)
    second = nan_stencil(check_spec(2, accuracy), nan)
    if isinstance(second, NanStencil):
        return _laplacian_of_runs(g, f, second, accuracy)
    lat_stencil = LatitudeLaplacian(accuracy, g.radius)
    x_metric = (g.inv_cos() * (_PER_DEGREE / g.radius)) ** 2
    if _direct(f):
        # the longitude term scaled by the engine as it writes it, the latitude term
        # added to it (computed in the output's dtype: the numbers of adding the two)
        dtype = result_dtype(f.dtype)
        scale = [g.along_lat(x_metric, dtype), None]
        (lap,) = g.derivatives(f, check_spec(2, accuracy), lat_stencil, add=True, scale=scale)
        return lap
    lon_term, lat_term = g.derivatives(f, check_spec(2, accuracy), lat_stencil)
    dtype = _out_dtype(lon_term, lat_term)
    return _scale_add(lon_term, g.along_lat(x_metric, dtype), dtype, lat_term)


def _laplacian_of_runs(g: _Grid, f: Any, second: NanStencil, accuracy: int) -> Any:
    """:func:`spherical_laplacian` with ``nan="one-sided"``: three derivatives of runs,
    ``d2f/dlambda2``, ``d2f/dphi2`` and ``df/dphi``, combined with their metric factors."""
    d2lon, d2lat = g.derivatives(f, second, second)
    (dlat,) = g.derivatives(f, y=nan_stencil(_spec(accuracy), "one-sided"))
    dtype = _out_dtype(d2lon, d2lat, dlat)
    per_rad = _PER_DEGREE / g.radius
    tan = np.where(np.abs(g.lat) == 90.0, np.nan, np.tan(np.deg2rad(g.lat)))
    lat_term = d2lat * dtype.type(per_rad**2) - dlat * g.along_lat(tan * per_rad / g.radius, dtype)
    x_metric = (g.inv_cos() * per_rad) ** 2
    return _scale_add(d2lon, g.along_lat(x_metric, dtype), dtype, lat_term)


#: the wind kinematics :func:`wind_blocks` computes
WINDS = ("vorticity", "divergence")


@dataclass(frozen=True)
class BlockOperator:
    """An operator on the sphere as the Zarr stream (:mod:`bigrad.io.stream`) runs it:
    the halo plan, the per-axis rules, and ``compute(block, faces, spec) -> outputs``,
    which gives, block by block, the same numbers as the array function on the whole
    array (the same engine calls, the same metric factors cast the same way)."""

    plan: GradientPlan
    rules: tuple[Any, ...]
    compute: Callable[..., Iterator[Any]]


def _block_operator(g: _Grid, shape: tuple[int, ...], dtype: Any, chunks: Any, x: Any, y: Any,
                    compute: Any, shift: int = 0) -> BlockOperator:  # fmt: skip
    spacings, axes, specs, periodic, period = g.arguments(x, y, shift)
    args = parse_args(shape, np.dtype(dtype), spacings, axes, specs, periodic, period)
    plan, rules = prepare(args, shape, chunks, np.dtype(dtype))
    return BlockOperator(plan, tuple(rules), compute)


@dataclass(frozen=True)
class _GradientBlocks:
    """:func:`geospatial_gradient` of one block: ``d_dx`` then ``d_dy``."""

    lat_axis: int
    x_metric: np.ndarray  # per latitude, float64
    y_factor: float

    def __call__(self, block: Any, bundles: Any, spec: Any) -> Iterator[Any]:
        halos = halos_from_faces(block, spec.axes, spec.lo, spec.hi, bundles)
        otype = result_dtype(block.dtype)
        if _plain(block):  # as geospatial_gradient: the factors applied by the engine
            scale = [_rows(self.x_metric, spec, self.lat_axis, block.ndim, otype),
                     np.asarray(otype.type(self.y_factor))]  # fmt: skip
            yield from block_derivatives(block, halos, spec.rules, spec.axes, parallel=False,
                                         scale=scale)  # fmt: skip
            return
        dlon, dlat = block_derivatives(block, halos, spec.rules, spec.axes, parallel=False)
        dtype = _out_dtype(dlon, dlat)
        yield _scale_add(dlon, _rows(self.x_metric, spec, self.lat_axis, block.ndim, dtype), dtype)
        del dlon
        yield _scale_add(dlat, dtype.type(self.y_factor), dtype)


@dataclass(frozen=True)
class _WindBlocks:
    """:func:`vorticity` and/or :func:`divergence` of one block of the winds stacked
    along a new first axis (``block[0]`` is u, ``block[1]`` v), in ``quantities``'
    order."""

    quantities: tuple[str, ...]
    lat_axis: int  # of the winds, without the stacking axis
    x_metric: np.ndarray
    #: with nan="one-sided": ``tan(phi) / a`` per latitude and ``1 / a`` per degree, the
    #: metric term taken apart as :func:`_kinematics` takes it
    runs: tuple[np.ndarray, float] | None = None

    def __call__(self, block: Any, bundles: Any, spec: Any) -> Iterator[Any]:
        (lo_x, hi_x), (lo_y, hi_y) = halos_from_faces(block, spec.axes, spec.lo, spec.hi, bundles)
        x_axis, y_axis = spec.axes[0] - 1, spec.axes[1] - 1
        otype = result_dtype(block.dtype)
        # as _kinematics_one_call: one engine call and one array per output instead of
        # four passes and two arrays, the same numbers (the array function's path)
        in_place = (self.runs is None and type(block) is np.ndarray
                    and np.result_type(otype, np.float32) == otype)  # fmt: skip
        for what in self.quantities:
            # vorticity: dv/dlambda - d(u cos)/dphi; divergence: du/dlambda + d(v cos)/dphi
            ix, sign = (1, -1.0) if what == "vorticity" else (0, 1.0)
            iy = 1 - ix
            if in_place:
                metric = _rows(self.x_metric, spec, self.lat_axis + 1, block.ndim - 1, otype, 1)
                y_rules = spec.rules[1] if sign > 0 else _negated(spec.rules[1])
                yield from block_derivatives(
                    (block[ix], block[iy]), [(lo_x[ix], hi_x[ix]), (lo_y[iy], hi_y[iy])],
                    [spec.rules[0], y_rules], [x_axis, y_axis], add=True, parallel=False,
                    scale=[metric, None], source=[0, 1])  # fmt: skip
                continue
            (dx,) = block_derivatives(block[ix], [(lo_x[ix], hi_x[ix])], [spec.rules[0]],
                                      [x_axis], parallel=False)  # fmt: skip
            (dy,) = block_derivatives(block[iy], [(lo_y[iy], hi_y[iy])], [spec.rules[1]],
                                      [y_axis], parallel=False)  # fmt: skip
            dtype = _out_dtype(dx, dy)
            if self.runs is not None:
                tan = _rows(self.runs[0], spec, self.lat_axis + 1, block.ndim - 1, dtype, 1)
                dy = dy * dtype.type(self.runs[1]) - block[iy] * tan
            metric = _rows(self.x_metric, spec, self.lat_axis + 1, block.ndim - 1, dtype, 1)
            yield _scale_add(dx, metric, dtype, dy, sign)
            del dx, dy


def _negated(rules: AxisRules) -> AxisRules:
    """``rules`` with every weight negated: exactly the negated result (what
    :class:`CosineDerivative` with ``negate`` gives)."""
    return replace(rules, weights=-rules.weights)


def _rows(values: np.ndarray, spec: Any, axis: int, ndim: int, dtype: np.dtype[Any],
          shift: int = 0) -> np.ndarray:  # fmt: skip
    """The block's rows of a per-latitude factor, cast as the array function casts the
    whole, shaped to broadcast against the block."""
    shape = [1] * ndim
    rows: np.ndarray = values.astype(dtype)[spec.region[axis]]
    shape[axis - shift] = rows.size
    return rows.reshape(shape)


def gradient_blocks(shape: tuple[int, ...], dtype: Any, chunks: Sequence[Sequence[int]],
                    lat: Any, lon: Any, *, lat_axis: int = -2, lon_axis: int = -1,
                    radius: float | None = None, accuracy: int = 2,
                    periodic: bool | None = None, nan: str = "propagate") -> BlockOperator:  # fmt: skip
    """:func:`geospatial_gradient` of an array of ``shape`` and ``dtype`` in blocks of
    ``chunks``: two outputs per block, ``d_dx`` and ``d_dy``.

    >>> lat, lon = np.array([-10.0, 0.0, 10.0]), np.arange(0.0, 360.0, 90.0)
    >>> op = gradient_blocks((3, 4), np.dtype("f8"), ((2, 1), (1, 3)), lat, lon)
    >>> op.plan.numblocks, op.plan.axes[0].periodic
    ((2, 2), True)
    """
    g = _grid(tuple(shape), lat, lon, lat_axis, lon_axis, radius, periodic)
    spec = nan_stencil(_spec(accuracy), nan)
    compute = _GradientBlocks(g.lat_axis, g.inv_cos() * (_PER_DEGREE / g.radius),
                              _PER_DEGREE / g.radius)  # fmt: skip
    return _block_operator(g, tuple(shape), dtype, chunks, spec, spec, compute)


def wind_blocks(quantities: Sequence[str], shape: tuple[int, ...], dtype: Any,
                chunks: Sequence[Sequence[int]], lat: Any, lon: Any, *, lat_axis: int = -2,
                lon_axis: int = -1, radius: float | None = None, accuracy: int = 2,
                periodic: bool | None = None, nan: str = "propagate") -> BlockOperator:  # fmt: skip
    """:func:`vorticity` and/or :func:`divergence` (``quantities``, from :data:`WINDS`)
    of winds of ``shape`` and ``dtype`` in blocks of ``chunks``, read stacked along a
    new first axis (u then v) so that each wind is read once per block: the plan is of
    shape ``(2, *shape)``, its blocks ``(2, *block)``.

    >>> lat, lon = np.array([-10.0, 0.0, 10.0]), np.arange(0.0, 360.0, 90.0)
    >>> op = wind_blocks(["vorticity"], (3, 4), np.dtype("f4"), ((1, 2), (4,)), lat, lon)
    >>> op.plan.shape, op.plan.numblocks
    ((2, 3, 4), (1, 2, 1))
    """
    unknown = [q for q in quantities if q not in WINDS]
    if unknown or not quantities:
        raise ValueError(f"quantities must be one or both of {WINDS}, got {list(quantities)!r}")
    g = _grid(tuple(shape), lat, lon, lat_axis, lon_axis, radius, periodic, "u")
    check_spec(1, accuracy)
    x_metric = g.inv_cos() * (_PER_DEGREE / g.radius)
    spec = nan_stencil(_spec(accuracy), nan)
    stacked = (2, *shape)
    if isinstance(spec, NanStencil):
        runs = (np.tan(np.deg2rad(g.lat)) / g.radius, _PER_DEGREE / g.radius)
        compute = _WindBlocks(tuple(quantities), g.lat_axis, x_metric, runs)
        return _block_operator(g, stacked, dtype, ((2,), *chunks), spec, spec, compute, shift=1)
    compute = _WindBlocks(tuple(quantities), g.lat_axis, x_metric)
    return _block_operator(g, stacked, dtype, ((2,), *chunks), spec,
                           CosineDerivative(accuracy, g.radius), compute, shift=1)  # fmt: skip


for _function in (geospatial_gradient, vorticity, divergence, spherical_laplacian):
    _function.__doc__ = (_function.__doc__ or "").replace("{common}", _COMMON)
    _function.__doc__ = _function.__doc__.replace("{nan}", _NAN)
