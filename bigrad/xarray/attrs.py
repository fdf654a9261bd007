"""Names, units and attributes of gradient outputs, and CF longitude detection.

Plain dictionaries and strings only (no xarray), so the xarray accessor and the
Zarr-to-Zarr writer label their outputs the same way.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import Any

__all__ = [
    "DATETIME_UNITS",
    "derivative_attrs",
    "gradient_attrs",
    "gradient_name",
    "gradient_units",
    "is_cf_longitude",
]

#: numpy datetime units as UDUNITS spells them, for the units of a gradient along time
DATETIME_UNITS = {
    "W": "week",
    "D": "day",
    "h": "h",
    "m": "min",
    "s": "s",
    "ms": "ms",
    "us": "us",
    "μs": "us",
    "ns": "ns",
    "ps": "ps",
    "fs": "fs",
    "as": "as",
}

# CF's spellings of longitude units (CF conventions, section 4.2)
_LONGITUDE_UNITS = frozenset(
    {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"}
)
_DEGREES = frozenset({"", "degree", "degrees"})
# one symbol with an optional integer power, e.g. "m", "s-1", "m2"
_SYMBOL_POWER = re.compile(r"^([A-Za-z_%]+)(-?\d+)?$")

#: attributes that describe the differentiated quantity, so a gradient must not keep them
_REPLACED = ("units", "long_name", "standard_name")


def gradient_name(variable: Hashable, dim: Hashable, order: int = 1) -> str:
    """Name of the derivative of ``variable`` along ``dim``: ``"dT_dlon"`` for ``T``,
    ``lon`` (``"d2T_dlon2"`` for a second derivative)."""
    if order == 1:
        return f"d{variable}_d{dim}"
    return f"d{order}{variable}_d{dim}{order}"


def _inverse(units: str, order: int = 1) -> str:
    match = _SYMBOL_POWER.match(units)
    if match is None:
        return f"({units})-{order}"
    symbol, power = match.groups()
    inverse = -(int(power) if power else 1) * order
    return symbol if inverse == 1 else f"{symbol}{inverse}"


def gradient_units(units: Any, coord_units: Any, order: int = 1) -> str | None:
    """Units of a derivative of ``order``, or ``None`` when either units is unknown.

    >>> gradient_units("K", "m")
    'K m-1'
    >>> gradient_units("m s-1", "s")
    'm s-1 s-1'
    >>> gradient_units("1", "km2")
    'km-2'
    >>> gradient_units("K", "m", order=2)
    'K m-2'
    """
    if not isinstance(units, str) or not isinstance(coord_units, str):
        return None
    units, coord_units = units.strip(), coord_units.strip()
    if not units or not coord_units:
        return None
    inverse = _inverse(coord_units, order)
    return inverse if units == "1" else f"{units} {inverse}"


def is_cf_longitude(attrs: Mapping[Hashable, Any]) -> bool:
    """Whether a coordinate with these attributes is a CF longitude in degrees.

    True for ``units`` ``degrees_east`` (or another CF spelling of it), or for
    ``standard_name`` ``longitude`` with units absent or in degrees; a longitude in
    other units (radians) has no inferred period.
    """
    units = attrs.get("units", "")
    units = units.strip().lower() if isinstance(units, str) else None
    if units in _LONGITUDE_UNITS:
        return True
    return attrs.get("standard_name") == "longitude" and units in _DEGREES


def gradient_attrs(
    attrs: Mapping[Hashable, Any],
    name: Hashable | None,
    dim: Hashable,
    coord_units: Any,
) -> dict[Hashable, Any]:
    """Attributes of the gradient along ``dim`` of a variable with ``attrs``.

    Keeps every attribute except ``units``, ``long_name`` and ``standard_name`` (they
    describe the variable, not its derivative); sets ``long_name`` to "gradient of X
    along DIM", X being the variable's ``standard_name``, else its ``long_name``, else
    its name; sets ``units`` from the variable's and the coordinate's units when both
    are known.  ``attrs`` is not modified.

    >>> gradient_attrs({"units": "K", "standard_name": "air_temperature"}, "T", "lon", "m")
    {'long_name': 'gradient of air_temperature along lon', 'units': 'K m-1'}
    """
    out = {k: v for k, v in attrs.items() if k not in _REPLACED}
    label = attrs.get("standard_name") or attrs.get("long_name") or name
    out["long_name"] = f"gradient of {label} along {dim}" if label else f"gradient along {dim}"
    units = gradient_units(attrs.get("units"), coord_units)
    if units is not None:
        out["units"] = units
    return out


def derivative_attrs(
    attrs: Mapping[Hashable, Any],
    name: Hashable | None,
    dims: list[Hashable],
    coord_units: list[Any],
    order: int,
) -> dict[Hashable, Any]:
    """Attributes of a derivative of ``order`` along ``dims[0]``, or (several dims) of
    the Laplacian along ``dims``: as :func:`gradient_attrs`, with ``long_name``
    "second derivative of X along DIM" or "laplacian of X along DIM1, DIM2", and
    ``units`` only where every dim has the same units.

    >>> derivative_attrs({"units": "K"}, "T", ["x", "y"], ["m", "m"], 2)
    {'long_name': 'laplacian of T along x, y', 'units': 'K m-2'}
    """
    if order == 1 and len(dims) == 1:
        return gradient_attrs(attrs, name, dims[0], coord_units[0])
    out = {k: v for k, v in attrs.items() if k not in _REPLACED}
    label = attrs.get("standard_name") or attrs.get("long_name") or name
    what = "laplacian" if len(dims) > 1 else "second derivative"
    along = ", ".join(map(str, dims))
    out["long_name"] = f"{what} of {label} along {along}" if label else f"{what} along {along}"
    units = {gradient_units(attrs.get("units"), u, order) for u in coord_units}
    if len(units) == 1 and None not in units:
        out["units"] = units.pop()
    return out
