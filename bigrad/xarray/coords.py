"""xarray bookkeeping for the accessor: names to axes, coordinates to spacings, rewrap.

Coordinates become spacings exactly as ``xarray.Dataset.differentiate`` makes them
(datetime and cftime coordinates through xarray's own ``Variable._to_numeric``, with
its default ``datetime_unit``), so results equal xarray's.  The differencing itself is
:func:`bigrad.gradient`, called once per variable for all of its requested axes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bigrad.core.args import check_spec, is_dask
from bigrad.core.errors import Arg, argument_error, literal, name_axes
from bigrad.core.masked import nan_stencil
from bigrad.core.weights import Stencil, check_coordinate
from bigrad.operators import apply
from bigrad.xarray.attrs import DATETIME_UNITS, derivative_attrs, gradient_name, is_cf_longitude
from bigrad.xarray.units import as_quantity, split

__all__ = [
    "Spacing",
    "Stencils",
    "as_names",
    "axis_arguments",
    "differentiable",
    "resolve",
    "select_variables",
    "stencil_order",
    "stencils_for",
    "variable_derivatives",
    "variable_gradients",
]

#: name given to an unnamed DataArray in output names: ``df_dlon``
UNNAMED = "f"

#: one stencil for every dimension, or one per dimension name
Stencils = Stencil | Mapping[Hashable, Stencil]


@dataclass(frozen=True)
class Spacing:
    """How to differentiate along one requested dimension."""

    #: what the caller named: a dimension, or a 1-D coordinate along one
    key: Hashable
    dim: Hashable
    #: 1.0 (no coordinate: unit spacing, as xarray) or a 1-D numeric numpy/dask array
    spacing: Any
    #: the coordinate's units (for a datetime coordinate, its datetime unit)
    units: Any
    #: unit that datetime data variables are converted to, as xarray does along this dim
    datetime_unit: str | None
    periodic: bool = False
    period: Any = None
    #: a pint coordinate's units (its values are then ``spacing``'s magnitudes)
    quantity: Any = None


def _contains_datetime_like(var: xr.Variable) -> bool:
    if var.dtype.kind in "mM":
        return True
    if var.dtype.kind != "O":
        return False
    # xarray's own test, which looks at one element only (computing it if lazy)
    from xarray.core.common import contains_cftime_datetimes

    return bool(contains_cftime_datetimes(var))


def differentiable(var: xr.Variable) -> bool:
    """Whether a data variable can be differentiated (numbers, datetimes, cftime)."""
    return var.dtype.kind in "iufcmM" or _contains_datetime_like(var)


def _names(obj: xr.DataArray | xr.Dataset) -> str:
    dims = tuple(obj.dims)
    coords = tuple(k for k, c in obj.coords.items() if c.ndim == 1 and k not in obj.dims)
    more = f" and 1-D coordinates {coords}" if coords else ""
    return f"dimensions {dims}{more}"


def _dim_of(obj: xr.DataArray | xr.Dataset, key: Hashable, what: str) -> Hashable:
    if key in obj.coords:
        coord = obj.coords[key]
        if coord.ndim != 1:
            raise argument_error(
                ValueError,
                "{what} " + literal(f"{key!r} is a {coord.ndim}-D coordinate {coord.dims}; name a "
                        f"dimension or a 1-D coordinate: {_names(obj)}"),
                what=Arg(what, subject=True),
            )  # fmt: skip
        return coord.dims[0]
    if key in obj.dims:
        return key
    kind = type(obj).__name__
    raise argument_error(
        ValueError, "{what} " + literal(f"{key!r} is not in this {kind}; it has {_names(obj)}"),
        what=Arg(what, subject=True),
    )  # fmt: skip


def as_names(names: Any) -> list[Hashable]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        return [names]
    return list(names)


def _numeric_coordinate(coord: xr.Variable, key: Hashable, datetime_unit: Any) -> Spacing:
    dim = coord.dims[0]
    if _contains_datetime_like(coord):
        # xarray's rules: the coordinate's own unit for datetime64/timedelta64, seconds
        # for cftime, unless datetime_unit is given
        if datetime_unit is None:
            datetime_unit = np.datetime_data(coord.dtype)[0] if coord.dtype.kind in "mM" else "s"
        numeric = coord._to_numeric(datetime_unit=datetime_unit)
        units = DATETIME_UNITS.get(datetime_unit, datetime_unit)
        return Spacing(key, dim, numeric.data, units, datetime_unit)
    if not differentiable(coord) or coord.dtype.kind in "mM":
        raise TypeError(f"coordinate {key!r} has dtype {coord.dtype}; it must hold numbers")
    data, quantity = split(coord.data)
    if not is_dask(data):
        data = np.asarray(data)
        # a lazy coordinate is checked when computed; a loaded one now, naming it
        check_coordinate(data, f"coordinate {key!r} of dimension {dim!r}")
    return Spacing(key, dim, data, coord.attrs.get("units"), datetime_unit, quantity=quantity)


def _period(obj: xr.DataArray | xr.Dataset, sp: Spacing, given: Mapping[Hashable, Any]) -> Spacing:
    if sp.key in given:
        period = given[sp.key]
    elif sp.dim in given:
        period = given[sp.dim]
    elif not np.ndim(sp.spacing):
        # no coordinate: the period is the axis length (bigrad implies it)
        period = None
    elif is_cf_longitude(obj.coords[sp.key].attrs):
        period = 360.0
    else:
        raise argument_error(
            ValueError,
            literal(f"dimension {sp.dim!r} is periodic but the period of coordinate "
                    f"{sp.key!r} is unknown (it is not a CF longitude: units 'degrees_east' "
                    "or standard_name 'longitude'); pass ") + "{period}",
            period=Arg("period", {sp.key: 360.0}),
        )  # fmt: skip
    return Spacing(sp.key, sp.dim, sp.spacing, sp.units, sp.datetime_unit, True, period)


def resolve(
    obj: xr.DataArray | xr.Dataset,
    dims: Any,
    datetime_unit: Any,
    periodic: Any,
    period: Any,
) -> list[Spacing]:
    """One :class:`Spacing` per requested name (``None``: every dimension of ``obj``).

    ``periodic`` is ``None``/``False``, ``True`` (every requested dimension), or one name
    or a list of names (dimensions or 1-D coordinates); ``period`` a number for every
    periodic dimension or a mapping ``{name: period}``.  Raises ``ValueError`` naming
    what ``obj`` has for an unknown name or a 2-D coordinate.
    """
    if datetime_unit is not None and datetime_unit not in DATETIME_UNITS:
        raise argument_error(
            ValueError,
            "{unit} " + literal(f"{datetime_unit!r} is not a unit of time; give one of "
                                f"{', '.join(DATETIME_UNITS)}"),
            unit=Arg("datetime_unit", subject=True),
        )  # fmt: skip
    keys = list(obj.dims) if dims is None else as_names(dims)
    out: list[Spacing] = []
    for key in keys:
        dim = _dim_of(obj, key, "dim")
        if any(sp.dim == dim for sp in out):
            raise argument_error(
                ValueError, "{dims} " + literal(f"names dimension {dim!r} twice; name each once"),
                dims=Arg("dims", subject=True),
            )  # fmt: skip
        if key in obj.coords:
            out.append(_numeric_coordinate(obj.coords[key].variable, key, datetime_unit))
        else:
            out.append(Spacing(key, dim, 1.0, None, datetime_unit))

    if periodic is None or periodic is False:
        wrapped: set[Hashable] = set()
    elif periodic is True:
        wrapped = {sp.dim for sp in out}
    else:
        wrapped = {_dim_of(obj, name, "periodic") for name in as_names(periodic)}
    stray = wrapped - {sp.dim for sp in out}
    if stray:
        raise argument_error(
            ValueError,
            "{periodic} " + literal(f"names {sorted(map(str, stray))}, not among the dimensions "
                                    f"being differentiated {tuple(sp.dim for sp in out)}")
            + "; add them to {dims} or drop them from {periodic_}",
            periodic=Arg("periodic", subject=True), dims=Arg("dims"), periodic_=Arg("periodic"),
        )  # fmt: skip
    if period is not None and not wrapped:
        raise argument_error(
            ValueError, "{period} is given but no dimension is periodic; pass {periodic} too",
            period=Arg("period", subject=True), periodic=Arg("periodic"),
        )  # fmt: skip
    if isinstance(period, Mapping):
        given = dict(period)
        for name in given:
            if _dim_of(obj, name, "period") not in wrapped:
                raise argument_error(
                    ValueError,
                    "{period} is given for " + literal(repr(name)) + ", which is not "
                    "periodic; add it to {periodic} or drop it from {period_}",
                    period=Arg("period", subject=True), periodic=Arg("periodic"),
                    period_=Arg("period"),
                )  # fmt: skip
    elif period is not None:
        given = {sp.key: period for sp in out if sp.dim in wrapped}
    else:
        given = {}
    return [_period(obj, sp, given) if sp.dim in wrapped else sp for sp in out]


def select_variables(ds: xr.Dataset, variables: Any, dims: set[Hashable]) -> list[Hashable]:
    """The data variables to differentiate along ``dims``.

    ``None``: every differentiable data variable that has one of ``dims`` (strings,
    booleans and variables with none of them are left out).  Named variables must be
    data variables with one of ``dims``; the dtype is checked when differentiating.
    """
    if variables is None:
        return [
            k
            for k, v in ds.data_vars.items()
            if dims.intersection(v.dims) and differentiable(v.variable)
        ]
    names = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    for name in names:
        if name not in ds.data_vars:
            raise argument_error(
                ValueError,
                "{variables} " + literal(f"names {name!r}, which is not a data variable; "
                                         f"the data variables are {tuple(ds.data_vars)}"),
                variables=Arg("variables", subject=True),
            )  # fmt: skip
        if not dims.intersection(ds[name].dims):
            raise ValueError(
                f"variable {name!r} has dims {ds[name].dims}, none of the requested {tuple(dims)}"
            )
    return names


def axis_arguments(
    var: xr.Variable, spacings: list[Spacing]
) -> tuple[tuple[int, ...], tuple[int, ...], dict[int, Any]]:
    """``axis``, ``periodic`` and ``period`` of :func:`bigrad.gradient` for ``var``
    differentiated along ``spacings`` (all of whose dimensions it has)."""
    axes = tuple(var.get_axis_num(sp.dim) for sp in spacings)
    wrapped = tuple(a for a, sp in zip(axes, spacings, strict=True) if sp.periodic)
    periods = {
        a: sp.period
        for a, sp in zip(axes, spacings, strict=True)
        if sp.periodic and sp.period is not None
    }
    return axes, wrapped, periods


def stencils_for(spec: Stencils, spacings: list[Spacing]) -> Stencil | list[Stencil]:
    """The stencil for every spacing, or each spacing's dimension's."""
    if isinstance(spec, Mapping):
        return [spec[sp.dim] for sp in spacings]
    return spec


def stencil_order(spec: Stencils) -> int:
    """The derivative order of the stencil(s)."""
    if isinstance(spec, Mapping):
        return int(next(iter(spec.values())).order)
    return int(spec.order)


def variable_gradients(
    var: xr.Variable,
    name: Hashable | None,
    spacings: list[Spacing],
    edge_order: int,
    nan: str = "propagate",
) -> dict[str, xr.Variable]:
    """``{d{name}_d{key}: gradient}`` for each spacing whose dimension ``var`` has."""
    spec = nan_stencil(check_spec(edge_order=edge_order), nan)
    return variable_derivatives(var, name, spacings, spec)


def variable_derivatives(
    var: xr.Variable,
    name: Hashable | None,
    spacings: list[Spacing],
    spec: Stencils,
    add: bool = False,
) -> dict[str, xr.Variable]:
    """``{d{name}_d{key}: derivative}`` (``d2{name}_d{key}2`` for a second
    derivative) for each spacing whose dimension ``var`` has (with ``add``,
    ``{name: their sum}``: the Laplacian).

    One call (one graph, the data read once) for all of them, except that datetime
    data along dimensions whose datetime units differ is converted, as xarray converts
    it, once per unit.
    """
    present = [sp for sp in spacings if sp.dim in var.dims]
    if not present:
        return {}
    label = UNNAMED if name is None else name
    if not differentiable(var):
        raise TypeError(
            f"variable {label!r} has dtype {var.dtype}, which cannot be differentiated; "
            "give numbers, datetimes or cftime dates"
        )
    datetime_data = _contains_datetime_like(var)
    order = stencil_order(spec)
    if datetime_data and order > 1:
        raise TypeError(f"variable {label!r} holds dates; only first derivatives apply to it")
    groups: dict[Any, list[Spacing]] = {}
    for sp in present:
        groups.setdefault(sp.datetime_unit if datetime_data else None, []).append(sp)
    out: dict[str, xr.Variable] = {}
    for unit, group in groups.items():
        data = var._to_numeric(datetime_unit=unit).data if datetime_data else var.data
        data, data_units = split(data)
        results = _call(data, var, label, group, spec, add)
        if add:
            attrs = derivative_attrs(var.attrs, name, [sp.key for sp in group],
                                     [sp.units for sp in group], order)  # fmt: skip
            value = as_quantity(results[0], data_units, [sp.quantity for sp in group], order,
                                f"the Laplacian of {label!r}")  # fmt: skip
            return {str(label): xr.Variable(var.dims, value, attrs)}
        for sp, grad in zip(group, results, strict=True):
            attrs = derivative_attrs(var.attrs, name, [sp.key], [sp.units], order)
            value = as_quantity(grad, data_units, [sp.quantity], order, repr(sp.key))
            out[gradient_name(label, sp.key, order)] = xr.Variable(var.dims, value, attrs)
    return out


def _call(data: Any, var: xr.Variable, label: Hashable, group: list[Spacing],
          spec: Stencils, add: bool) -> list[Any]:  # fmt: skip
    axes, wrapped, periods = axis_arguments(var, group)
    stencils = stencils_for(spec, group)
    try:
        return apply(
            data, [sp.spacing for sp in group], axes, stencils, wrapped, periods or None, add
        )
    except (ValueError, TypeError) as err:
        # bigrad's messages number axes; say which variable and dims they are
        named = name_axes(err, var.dims, f"differentiating {label!r}: ")
        if named is not None:
            raise named from err
        where = ", ".join(f"axis {a} = {sp.dim!r}" for a, sp in zip(axes, group, strict=True))
        raise type(err)(f"differentiating {label!r} ({where}): {err}") from err
