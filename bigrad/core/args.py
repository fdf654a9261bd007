"""Argument checking for the array functions (:func:`bigrad.gradient`,
:func:`bigrad.derivative`, :func:`bigrad.laplacian`), before any work starts.

Every error names the argument at fault and says what to do.  Exception types follow
numpy's: ``TypeError`` for a wrong number or kind of argument, ``ValueError`` (numpy's
``AxisError`` for axes) for a wrong value.  Values of lazy coordinates cannot be checked
here without computing them; they are checked, with the same messages, when their
stencil is built.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from bigrad.core.errors import Arg, argument_error
from bigrad.core.weights import (
    ACCURACIES,
    ORDERS,
    Stencil,
    StencilSpec,
    continued_coordinate,
    evenly_spaced,
    float_coordinate,
)

__all__ = ["GradientArgs", "check_spec", "is_dask", "parse_args"]

#: dtype kinds np.gradient can difference: integers, floats, complex, timedelta, datetime
_NUMERIC_KINDS = "iufcmM"


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a dask array (without importing dask)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(x, da.Array)


@dataclass(frozen=True)
class GradientArgs:
    """Checked arguments: per axis one spacing (scalar, numpy coordinate or dask
    coordinate) and the :class:`~bigrad.core.weights.Stencil` applied along it."""

    axes: tuple[int, ...]
    spacings: tuple[Any, ...]
    stencils: tuple[Stencil, ...]
    periodic: tuple[int, ...]
    periods: Mapping[int, Any] = field(default_factory=dict)

    def uniform(self, i: int) -> bool | None:
        """Whether axis ``axes[i]`` is evenly spaced (None: a lazy coordinate, unknown)."""
        dx = self.spacings[i]
        if is_dask(dx):
            return None
        if np.ndim(dx) == 0:
            return True
        if self.axes[i] in self.periodic:
            # the rules decide on the coordinate continued by the period: its step round
            # the ends may differ (then so do the stencils, and the halos they need)
            spec = getattr(self.stencils[i], "spec", self.stencils[i])
            if not isinstance(spec, StencilSpec):
                return None  # both layouts' halos
            x = float_coordinate(np.asarray(dx))
            x, _ = continued_coordinate(x, spec, self.periods[self.axes[i]])
            return evenly_spaced(np.diff(x))
        # one point has no step: even, and then too short (check_length's message, not
        # numpy's IndexError)
        return evenly_spaced(np.diff(np.asarray(dx)))


def _check_dtype(dtype: np.dtype[Any]) -> None:
    if dtype.kind == "b":
        raise TypeError(
            "f has dtype bool, which cannot be differenced (numpy refuses boolean "
            "subtraction); convert it first, e.g. f.astype(np.int8)"
        )
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"f has dtype {dtype}, which np.gradient cannot difference; give an array of "
            "integers, floats, complex numbers, datetime64 or timedelta64"
        )


def _check_scalar(dx: Any, axis: int) -> Any:
    value: Any
    if isinstance(dx, np.ndarray):
        dx = dx[()]  # a numpy scalar keeps numpy's promotion of a 0-d array
    if isinstance(dx, (bool, np.bool_)) or not isinstance(dx, numbers.Number):
        raise TypeError(
            f"spacing for axis {axis} must be a number or a 1-D coordinate array, got {dx!r}"
        )
    value = dx
    if not np.isfinite(value) or value == 0:
        raise ValueError(
            f"spacing for axis {axis} must be a finite, non-zero number, got {value!r}"
        )
    return value


def _check_coordinate(x: Any, axis: int, n: int) -> Any:
    label = f"coordinate for axis {axis}"
    if x.ndim != 1:
        raise ValueError(
            f"{label} has {x.ndim} dimensions; distances must be either scalars or 1d "
            "(one coordinate array per axis)"
        )
    if x.shape[0] != n:
        raise ValueError(
            f"{label} has length {x.shape[0]} but the axis has length {n}; when 1d, "
            "distances must match the length of the corresponding dimension"
        )
    kind = x.dtype.kind
    if kind in "mM":
        raise TypeError(
            f"{label} has dtype {x.dtype}; convert it to numbers first, e.g. "
            "(x - x[0]) / np.timedelta64(1, 's')"
        )
    if kind == "b" or kind not in _NUMERIC_KINDS:
        raise TypeError(f"{label} has dtype {x.dtype}; give numbers")
    return x


def _spacings(
    varargs: Sequence[Any], axes: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[Any, ...]:
    n_args = len(varargs)
    if n_args == 0:
        return (1.0,) * len(axes)
    if n_args == 1 and np.ndim(varargs[0]) == 0:
        return (_check_scalar(varargs[0], axes[0] if axes else 0),) * len(axes)
    if n_args != len(axes):
        raise TypeError(
            f"invalid number of arguments: got {n_args} spacings for {len(axes)} axes "
            f"{axes}; give none, one scalar for all axes, or one scalar or coordinate "
            "array per axis"
        )
    out = []
    for axis, dx in zip(axes, varargs, strict=True):
        if is_dask(dx):
            if dx.ndim == 0:
                raise TypeError(
                    f"spacing for axis {axis} is a lazy 0-d array; give a number instead"
                )
            if math.isnan(dx.shape[0]):
                raise ValueError(
                    f"coordinate for axis {axis} has an unknown length; call "
                    "compute_chunk_sizes() on it first"
                )
            out.append(_check_coordinate(dx, axis, shape[axis]))
            continue
        arr = np.asanyarray(dx)
        if arr.ndim == 0:
            out.append(_check_scalar(dx, axis))
        else:
            out.append(_check_coordinate(arr, axis, shape[axis]))
    return tuple(out)


def _periodic_axes(periodic: Any, axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    if periodic is None or periodic is False:
        return ()
    if periodic is True:
        return axes
    if isinstance(periodic, (bool, np.bool_)):
        return axes if periodic else ()
    try:
        wrapped = normalize_axis_tuple(periodic, ndim, argname="periodic")
    except TypeError:
        raise TypeError(
            f"periodic must be True, False, an axis or a tuple of axes, got {periodic!r}"
        ) from None
    stray = [a for a in wrapped if a not in axes]
    if stray:
        raise argument_error(
            ValueError,
            f"{{periodic}} names {{where}}, which is not among the gradient axes {axes}; "
            "add it to {axis} or drop it from {periodic_}",
            periodic=Arg("periodic", subject=True), where=Arg("@axis", stray[0]),
            axis=Arg("axis"), periodic_=Arg("periodic"),
        )  # fmt: skip
    return wrapped


def _check_period(p: Any, axis: int) -> Any:
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"period for axis {axis} must be a positive number, got {p!r}")
    value: Any = p
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"period for axis {axis} must be a positive finite number, got {p!r}")
    return p


def _periods(
    period: Any,
    periodic: tuple[int, ...],
    spacings: dict[int, Any],
    shape: tuple[int, ...],
) -> dict[int, Any]:
    if period is None:
        given: dict[int, Any] = {}
    elif isinstance(period, Mapping):
        given = {}
        for key, p in period.items():
            axis = normalize_axis_index(key, len(shape), msg_prefix="period")
            if axis not in periodic:
                raise argument_error(
                    ValueError,
                    "{period} is given for {where}, which is not periodic; "
                    "add it to {periodic} or drop it from {period_}",
                    period=Arg("period", subject=True), where=Arg("@axis", axis),
                    periodic=Arg("periodic"), period_=Arg("period"),
                )  # fmt: skip
            given[axis] = _check_period(p, axis)
    else:
        given = {a: _check_period(period, a) for a in periodic}
        if not periodic:
            raise argument_error(
                ValueError, "{period} is given but no axis is periodic; pass {periodic} too",
                period=Arg("period", subject=True), periodic=Arg("periodic"),
            )  # fmt: skip
    for axis in periodic:
        dx = spacings[axis]
        if np.ndim(dx) == 0:
            if axis in given and not np.isclose(given[axis], shape[axis] * abs(dx)):
                raise argument_error(
                    ValueError,
                    f"{{period}} for {{where}} disagrees with its spacing {dx!r} times its "
                    f"length {shape[axis]}; with a scalar spacing the period is implied, so "
                    "leave {period_} out",
                    period=Arg("period", {axis: given[axis]}), where=Arg("@axis", axis),
                    period_=Arg("period"),
                )  # fmt: skip
            given.pop(axis, None)
        elif axis not in given:
            raise argument_error(
                ValueError,
                "{where} is periodic and has a coordinate array, so the wrap-around step "
                "is unknown; pass its period, e.g. {period} for longitude in degrees",
                where=Arg("@axis", axis), period=Arg("period", {axis: 360.0}),
            )  # fmt: skip
    return given


def _choice(name: str, value: Any, allowed: tuple[int, ...]) -> int:
    text = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {text}, got {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be {text}, got {value!r}")
    return int(value)


def check_spec(order: Any = 1, accuracy: Any = 2, edge_order: Any = 2) -> StencilSpec:
    """The checked :class:`StencilSpec`, or an error naming the argument at fault."""
    return StencilSpec(
        _choice("order", order, ORDERS),
        _choice("accuracy", accuracy, ACCURACIES),
        _choice("edge_order", edge_order, (1, 2)),
    )


def parse_args(
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    varargs: Sequence[Any],
    axis: Any,
    spec: Stencil | Sequence[Stencil],
    periodic: Any,
    period: Any,
) -> GradientArgs:
    """Check the arguments of an array function for an array of ``shape``/``dtype``.

    ``spec`` is the stencil applied along every axis, or one stencil per axis of ``axis``.
    """
    ndim = len(shape)
    axes = tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)
    spacings = _spacings(varargs, axes, shape)
    _check_dtype(np.dtype(dtype))
    wrapped = _periodic_axes(periodic, axes, ndim)
    periods = _periods(period, wrapped, dict(zip(axes, spacings, strict=True)), shape)
    stencils = tuple(spec) if isinstance(spec, Sequence) else (spec,) * len(axes)
    if len(stencils) != len(axes):
        raise ValueError(f"{len(stencils)} stencils given for {len(axes)} axes")
    args = GradientArgs(axes, spacings, stencils, wrapped, periods)
    for i, a in enumerate(axes):
        if math.isnan(shape[a]):
            raise ValueError("f has unknown chunk sizes; call f.compute_chunk_sizes() first")
        stencils[i].check_length(a, shape[a], a in wrapped, args.uniform(i))
    return args
