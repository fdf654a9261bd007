"""Units carried by the arrays themselves (pint quantities, as pint-xarray makes them).

xarray holds a pint ``Quantity`` as a variable's data; bigrad's engine takes plain
arrays.  The front end takes the magnitudes, differentiates them, and gives the result
back as a quantity of ``data units / coordinate units ** order`` -- the units xarray's
own ``differentiate`` gives through numpy's ``gradient``, and which CF ``units`` attrs
cannot carry on a quantified variable.  Nothing here imports pint: a quantity is known
by its ``magnitude``, ``units`` and ``_REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["as_quantity", "is_quantity", "split"]


def is_quantity(data: Any) -> bool:
    """Whether ``data`` is a pint quantity (of an array or a scalar)."""
    return all(hasattr(data, a) for a in ("magnitude", "units", "_REGISTRY"))


def split(data: Any) -> tuple[Any, Any]:
    """``(magnitude, units)`` of a quantity; ``(data, None)`` of anything else."""
    if is_quantity(data):
        return data.magnitude, data.units
    return data, None


def as_quantity(values: Any, data_units: Any, coord_units: Sequence[Any], order: int,
                what: str) -> Any:  # fmt: skip
    """``values`` in ``data_units / coord_units[0] ** order`` (either may be None: no
    units), or as they are when neither has units.  A sum over several coordinates
    (a Laplacian) needs them in one unit; ``what`` names them in the error."""
    known = [u for u in coord_units if u is not None]
    if data_units is None and not known:
        return values
    if len({str(u) for u in coord_units}) > 1:
        raise ValueError(
            f"the coordinates of {what} have different units ({', '.join(map(str, coord_units))}); "
            "convert them to one unit first (e.g. da.pint.to(...))"
        )
    registry = (data_units if data_units is not None else known[0])._REGISTRY
    units = data_units if data_units is not None else registry.dimensionless
    if known:
        units = units / known[0] ** order
    return registry.Quantity(values, units)
