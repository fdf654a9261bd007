"""xarray bookkeeping for the operators on the sphere: latitude and longitude found from
CF attributes (or named), ``geometry`` chosen, results named and labelled.

The numbers come from :mod:`bigrad.sphere` (``geometry="sphere"``) or, on a Cartesian
grid of x/y dimensions in metres, from the engine through
:func:`bigrad.xarray.coords.variable_derivatives`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bigrad import sphere
from bigrad.core.args import check_spec, is_dask
from bigrad.core.errors import Arg, argument_error, literal
from bigrad.core.masked import nan_stencil
from bigrad.xarray.attrs import gradient_units, is_cf_longitude
from bigrad.xarray.coords import UNNAMED, as_names, resolve, variable_derivatives
from bigrad.xarray.units import is_quantity, split

__all__ = [
    "GEOMETRIES",
    "Geometry",
    "as_names",
    "divergence",
    "find_geometry",
    "geospatial_gradient",
    "is_cf_latitude",
    "laplacian",
    "sphere_kwargs",
    "sphere_laplacian_geometry",
    "vorticity",
]

GEOMETRIES = ("auto", "sphere", "cartesian")

# CF's spellings of latitude units (CF conventions, section 4.1)
_LATITUDE_UNITS = frozenset(
    {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"}
)
_DEGREES = frozenset({"", "degree", "degrees"})
# winds in these units give vorticity and divergence in s-1
_SPEED = frozenset({"m s-1", "m/s", "m s**-1", "m.s-1", "meter / second", "meters/second"})


def is_cf_latitude(attrs: Mapping[Hashable, Any]) -> bool:
    """Whether a coordinate with these attributes is a CF latitude in degrees.

    >>> is_cf_latitude({"units": "degrees_north"}), is_cf_latitude({"units": "m"})
    (True, False)
    """
    units = attrs.get("units", "")
    units = units.strip().lower() if isinstance(units, str) else None
    if units in _LATITUDE_UNITS:
        return True
    return attrs.get("standard_name") == "latitude" and units in _DEGREES


@dataclass(frozen=True)
class Geometry:
    """Where the operators act: ``sphere`` (latitude/longitude in degrees) or not, the
    dimension along x (east, longitude) and y (north, latitude) and their coordinates."""

    sphere: bool
    x_key: Hashable
    y_key: Hashable
    x_dim: Hashable
    y_dim: Hashable


def _named(obj: xr.DataArray | xr.Dataset, key: Hashable, arg: str) -> Hashable:
    if key in obj.coords and obj.coords[key].ndim == 1:
        return obj.coords[key].dims[0]
    if key in obj.dims:
        return key
    raise argument_error(
        ValueError,
        "{arg} " + literal(f"is neither a dimension nor a 1-D coordinate; dims are "
                           f"{tuple(map(str, obj.dims))}, coords {tuple(map(str, obj.coords))}"),
        arg=Arg(arg, key),
    )  # fmt: skip


def _cf(obj: xr.DataArray | xr.Dataset, test: Any, what: str, arg: str) -> Hashable | None:
    found = [k for k, c in obj.coords.items() if c.ndim == 1 and test(c.attrs)]
    if len(found) > 1:
        raise argument_error(ValueError, literal(f"several {what} coordinates {found}; ")
                             + "name one with {arg}", arg=Arg(arg))  # fmt: skip
    return found[0] if found else None


def find_geometry(obj: xr.DataArray | xr.Dataset, geometry: Any, lat: Any, lon: Any) -> Geometry:
    """Decide the geometry and find the two horizontal dimensions.

    ``"auto"``: the sphere when latitude and longitude are named (``lat=``, ``lon=``)
    or found from CF attributes, else Cartesian on dims ``x`` and ``y``.
    """
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    if geometry != "cartesian":
        y = lat if lat is not None else _cf(obj, is_cf_latitude, "latitude", "lat")
        x = lon if lon is not None else _cf(obj, is_cf_longitude, "longitude", "lon")
        if x is not None and y is not None:
            return Geometry(True, x, y, _named(obj, x, "lon"), _named(obj, y, "lat"))
        if geometry == "sphere":
            missing = "latitude" if y is None else "longitude"
            arg = "lat" if y is None else "lon"
            raise argument_error(
                ValueError,
                "{g} " + literal(f"needs a {missing} coordinate: none has CF units "
                                 f"(degrees_north/degrees_east) or standard_name {missing!r}; ")
                + "name it with {arg}",
                g=Arg("geometry", "sphere"), arg=Arg(arg),
            )  # fmt: skip
    x = "x" if lon is None else lon
    y = "y" if lat is None else lat
    for key, arg in ((x, "lon"), (y, "lat")):
        if key not in obj.dims and key not in obj.coords:
            raise ValueError(
                f"no latitude/longitude found and no dimension {key!r} for a Cartesian grid; "
                f"name the dimension with {arg}= (or give CF attributes)"
            )
    return Geometry(False, x, y, _named(obj, x, "lon"), _named(obj, y, "lat"))


def _degrees(obj: xr.DataArray | xr.Dataset, key: Hashable) -> np.ndarray:
    values = obj.coords[key].data if key in obj.coords else None
    if values is None:
        raise ValueError(
            f"dimension {key!r} has no coordinate; the sphere needs its values in degrees"
        )
    values, units = split(values)
    if units is not None:  # a pint coordinate (pint-xarray): its values in degrees
        values = (values * units).to("degree").magnitude
    return np.asarray(values.compute() if is_dask(values) else values)


def _label(attrs: Mapping[Hashable, Any], name: Hashable | None) -> Any:
    return attrs.get("standard_name") or attrs.get("long_name") or name


def _per_metre(units: Any, order: int = 1) -> str | None:
    if order == 1 and isinstance(units, str) and units.strip() in _SPEED:
        return "s-1"
    return gradient_units(units, "m", order)


def _attrs(units: Any, long_name: str, standard_name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"long_name": long_name}
    if standard_name:
        out["standard_name"] = standard_name
    if units is not None:
        out["units"] = units
    return out


def _magnitude(da: xr.DataArray, like: Any = None) -> tuple[xr.DataArray, Any]:
    """``da`` with plain (numpy or dask) data, and its pint units (None if not pint).
    With ``like`` (units), the data is first converted to those units."""
    data = da.data
    if not is_quantity(data):
        return da, None
    if like is not None:
        data = data.to(like)
    magnitude, units = split(data)
    return da.copy(data=magnitude), units


def _quantity(value: Any, units: Any, power: int) -> Any:
    """``value`` as a pint quantity in ``units`` per metre to ``power`` (pint cancels
    like units: m s-1 per m is 1 / s)."""
    if units is None:
        return value
    registry = units._REGISTRY
    return registry.Quantity(value, units / registry.meter**power)


def sphere_kwargs(obj: Any, g: Geometry, var: xr.Variable, radius: Any, accuracy: Any,
                  periodic: Any) -> dict[str, Any]:  # fmt: skip
    """The keyword arguments of the array functions of :mod:`bigrad.sphere` for ``var``
    of ``obj`` on grid ``g``: coordinates in degrees, axes, and the options."""
    return {
        "lat": _degrees(obj, g.y_key),
        "lon": _degrees(obj, g.x_key),
        "lat_axis": var.get_axis_num(g.y_dim),
        "lon_axis": var.get_axis_num(g.x_dim),
        "radius": radius,
        "accuracy": accuracy,
        "periodic": periodic,
    }


def _cartesian(var: xr.Variable, name: Hashable, obj: Any, g: Geometry, along: str,
               accuracy: Any, periodic: Any, nan: Any = "propagate", order: int = 1) -> Any:  # fmt: skip
    """The derivative of ``var`` along x or y (or, ``along="xy"``, the Laplacian)."""
    keys = {"x": [g.x_key], "y": [g.y_key], "xy": [g.x_key, g.y_key]}[along]
    wrap = g.x_key if periodic and g.x_key in keys else None
    spacings = resolve(obj, keys, None, wrap, None)
    spec = nan_stencil(check_spec(order, accuracy), nan)
    (out,) = variable_derivatives(var, name, spacings, spec, add=along == "xy").values()
    # x and y are in metres here: units of pint coordinates are not carried twice
    return split(out.data)[0]


def geospatial_gradient(da: xr.DataArray, lat: Any = None, lon: Any = None, radius: Any = None,
                        accuracy: int = 2, periodic: Any = None, geometry: str = "auto",
                        nan: str = "propagate") -> xr.Dataset:  # fmt: skip
    """``d{name}_dx`` and ``d{name}_dy`` of ``da``, in units of ``da`` per metre."""
    g = find_geometry(da, geometry, lat, lon)
    name = UNNAMED if da.name is None else da.name
    da, pint_units = _magnitude(da)
    var = da.variable
    if g.sphere:
        dx, dy = sphere.geospatial_gradient(
            var.data, **sphere_kwargs(da, g, var, radius, accuracy, periodic), nan=nan
        )
    else:
        dx = _cartesian(var, name, da, g, "x", accuracy, periodic, nan)
        dy = _cartesian(var, name, da, g, "y", accuracy, periodic, nan)
    units, label = _per_metre(da.attrs.get("units")), _label(da.attrs, da.name) or "f"
    dx, dy = _quantity(dx, pint_units, 1), _quantity(dy, pint_units, 1)
    out = {
        f"d{name}_dx": xr.Variable(var.dims, dx, _attrs(units, f"eastward gradient of {label}")),
        f"d{name}_dy": xr.Variable(var.dims, dy, _attrs(units, f"northward gradient of {label}")),
    }
    return xr.Dataset(out, coords=da.coords)


def _winds(ds: xr.Dataset, u: Hashable, v: Hashable) -> tuple[xr.DataArray, xr.DataArray, Any]:
    for key, arg in ((u, "u"), (v, "v")):
        if key not in ds.data_vars:
            raise argument_error(
                ValueError,
                "{arg} " + literal(f"is not a data variable; the data variables are "
                                   f"{tuple(map(str, ds.data_vars))}"),
                arg=Arg(arg, key),
            )  # fmt: skip
    wu, pint_units = _magnitude(ds[u])
    wv, _ = _magnitude(ds[v], pint_units)
    if set(wu.dims) != set(wv.dims):
        raise ValueError(
            f"u={u!r} has dims {wu.dims} but v={v!r} has {wv.dims}; give winds on one grid"
        )
    return wu, wv.transpose(*wu.dims), pint_units


def _kinematics(ds: xr.Dataset, u: Hashable, v: Hashable, what: str, lat: Any, lon: Any,
                radius: Any, accuracy: Any, periodic: Any, geometry: str,
                nan: str = "propagate") -> xr.DataArray:  # fmt: skip
    g = find_geometry(ds, geometry, lat, lon)
    wu, wv, pint_units = _winds(ds, u, v)
    if g.sphere:
        func = sphere.vorticity if what == "vorticity" else sphere.divergence
        kw = {**sphere_kwargs(ds, g, wu.variable, radius, accuracy, periodic), "nan": nan}
        value = func(wu.data, wv.data, **kw)
    elif what == "vorticity":
        value = _cartesian(wv.variable, v, ds, g, "x", accuracy, periodic, nan) - _cartesian(
            wu.variable, u, ds, g, "y", accuracy, periodic, nan
        )
    else:
        value = _cartesian(wu.variable, u, ds, g, "x", accuracy, periodic, nan) + _cartesian(
            wv.variable, v, ds, g, "y", accuracy, periodic, nan
        )
    units = _per_metre(wu.attrs.get("units"))
    if what == "vorticity":
        attrs = _attrs(units, "relative vorticity", "atmosphere_relative_vorticity")
    else:
        attrs = _attrs(units, "divergence", "divergence_of_wind")
    value = _quantity(value, pint_units, 1)
    return xr.DataArray(xr.Variable(wu.dims, value, attrs), coords=wu.coords, name=what)


def vorticity(ds: xr.Dataset, u: Hashable, v: Hashable, **kwargs: Any) -> xr.DataArray:
    """Relative vorticity of the wind ``ds[u], ds[v]``."""
    return _kinematics(ds, u, v, "vorticity", **kwargs)


def divergence(ds: xr.Dataset, u: Hashable, v: Hashable, **kwargs: Any) -> xr.DataArray:
    """Divergence of the wind ``ds[u], ds[v]``."""
    return _kinematics(ds, u, v, "divergence", **kwargs)


def laplacian(da: xr.DataArray, g: Geometry, radius: Any, accuracy: int,
              periodic: Any, nan: str = "propagate") -> xr.DataArray:  # fmt: skip
    """The Laplacian on the sphere of ``da`` (``g.sphere``), labelled."""
    da, pint_units = _magnitude(da)
    var = da.variable
    kwargs = sphere_kwargs(da, g, var, radius, accuracy, periodic)
    value = sphere.spherical_laplacian(var.data, **kwargs, nan=nan)
    label = _label(da.attrs, da.name)
    attrs = {k: a for k, a in da.attrs.items() if k not in ("units", "long_name", "standard_name")}
    attrs.update(_attrs(_per_metre(da.attrs.get("units"), 2),
                        f"laplacian of {label} on the sphere" if label else "laplacian on the sphere"))  # fmt: skip
    value = _quantity(value, pint_units, 2)
    return xr.DataArray(xr.Variable(var.dims, value, attrs), coords=da.coords, name=da.name)


def sphere_laplacian_geometry(da: xr.DataArray, dims: Any, geometry: Any, lat: Any,
                              lon: Any) -> Geometry | None:  # fmt: skip
    """The geometry of ``da.bigrad.laplacian(dims, geometry=...)`` when it is the sphere
    (``"auto"``: when the dims summed over are a latitude and a longitude), else None."""
    if geometry == "cartesian":
        return None
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    if geometry == "auto":
        try:
            g = find_geometry(da, "sphere", lat, lon)
        except ValueError:
            return None
    else:
        g = find_geometry(da, geometry, lat, lon)
    if geometry == "auto":
        keys = list(da.dims) if dims is None else ([dims] if isinstance(dims, str) else list(dims))
        summed = {_named(da, k, "dims") for k in keys}
        return g if summed == {g.x_dim, g.y_dim} else None
    return g if g.sphere else None
