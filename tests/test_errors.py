"""Bad input: a clear error at call time, naming the argument, for numpy and dask input."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
from numpy.exceptions import AxisError

import bigrad
from tests.helpers import raise_if_dask_computes

F = np.arange(30.0).reshape(5, 6)
X5 = np.arange(5.0)
X6 = np.arange(6.0)

ERRORS = [
    # (args, kwargs, exception, message pattern)
    # edge_order must be 1 or 2
    ((), {"edge_order": 3}, ValueError, "edge_order must be 1 or 2"),
    ((), {"edge_order": 0}, ValueError, "edge_order must be 1 or 2"),
    ((), {"edge_order": 1.5}, TypeError, "edge_order must be 1 or 2"),
    # axis out of range, or repeated
    ((), {"axis": 2}, AxisError, "axis 2 is out of bounds"),
    ((), {"axis": (0, 0)}, ValueError, "repeated axis"),
    # wrong number of spacings
    ((1.0, 1.0, 1.0), {}, TypeError, "got 3 spacings for 2 axes"),
    ((X5,), {}, TypeError, "invalid number of arguments"),
    # coordinate of the wrong length, or not 1-D
    ((X6, X6), {}, ValueError, "axis 0 has length 6 but the axis has length 5"),
    ((np.ones((5, 2)), 1.0), {}, ValueError, "scalars or 1d"),
    # coordinates that would give inf or nan
    (
        (np.array([0.0, 1.0, np.nan, 3.0, 4.0]), 1.0),
        {},
        ValueError,
        "non-finite value nan at index 2",
    ),
    (
        (np.array([0.0, 1.0, np.inf, 3.0, 4.0]), 1.0),
        {},
        ValueError,
        "non-finite value inf at index 2",
    ),
    (
        (np.array([0.0, 1.0, 1.0, 3.0, 4.0]), 1.0),
        {},
        ValueError,
        "repeats the value 1.0 at indices 1 and 2",
    ),
    ((np.array([0.0, 1.0, 0.0, 3.0, 4.0]), 1.0), {}, ValueError, "indices 0 and 2"),
    ((np.datetime64("2000-01-01") + np.arange(5), 1.0), {}, TypeError, "convert it to numbers"),
    ((np.ones(5, dtype=bool), 1.0), {}, TypeError, "dtype bool"),
    # scalar spacings
    ((0.0,), {}, ValueError, "finite, non-zero"),
    ((np.nan,), {}, ValueError, "finite, non-zero"),
    (("1",), {}, TypeError, "must be a number"),
    # periodic axes
    ((), {"periodic": 3}, AxisError, "periodic"),
    ((), {"periodic": 1, "axis": 0}, ValueError, "not among the gradient axes"),
    ((1.0, X6), {"periodic": 1}, ValueError, "pass its period"),
    ((1.0, X6), {"periodic": 1, "period": -360.0}, ValueError, "positive finite"),
    ((1.0, X6), {"periodic": 1, "period": {0: 360.0}}, ValueError, "not periodic"),
    ((), {"period": 360.0}, ValueError, "no axis is periodic"),
    ((1.0, 1.0), {"periodic": 1, "period": 5.0}, ValueError, "disagrees with its spacing"),
    ((1.0, X6), {"periodic": 1, "period": 5.0}, ValueError, "extended by period=5.0 repeats"),
]


@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
@pytest.mark.parametrize("args, kwargs, error, match", ERRORS)
def test_bad_arguments(lazy: bool, args: Any, kwargs: Any, error: type, match: str) -> None:
    f = da.from_array(F, chunks=2) if lazy else F
    with raise_if_dask_computes(), pytest.raises(error, match=match):
        bigrad.gradient(f, *args, **kwargs)


@pytest.mark.parametrize(
    "shape, kwargs, match",
    [
        ((1, 4), {}, "axis 0 has 1 point"),
        ((2, 4), {"edge_order": 2}, "at least 3 are required with edge_order=2"),
        ((0,), {}, "axis 0 has 0 point"),
        ((1, 4), {"periodic": 0}, "periodic axis 0 has 1 point"),
    ],
)
@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
def test_axis_too_short(shape: Any, kwargs: Any, match: str, lazy: bool) -> None:
    f = np.ones(shape)
    if lazy:
        f = da.from_array(f, chunks=1)
    with raise_if_dask_computes(), pytest.raises(ValueError, match=match):
        bigrad.gradient(f, **kwargs)


@pytest.mark.parametrize(
    "f, error, match",
    [
        (np.ones(4, dtype=bool), TypeError, "dtype bool"),
        (np.array(["a", "b", "c"]), TypeError, "cannot difference"),
        (np.ones(4, dtype=object), TypeError, "cannot difference"),
    ],
)
def test_bad_dtypes(f: np.ndarray, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        bigrad.gradient(f)
    with pytest.raises(error, match=match):
        bigrad.gradient(da.from_array(f, chunks=2))


def test_lazy_coordinate_shape_checked_at_call_time() -> None:
    f = da.ones((5, 6), chunks=2)
    with raise_if_dask_computes():
        with pytest.raises(ValueError, match="length 4 but the axis has length 5"):
            bigrad.gradient(f, da.arange(4.0, chunks=2), 1.0)
        with pytest.raises(ValueError, match="scalars or 1d"):
            bigrad.gradient(f, da.ones((5, 2), chunks=2), 1.0)
        with pytest.raises(TypeError, match="lazy 0-d"):
            bigrad.gradient(f, da.ones((), chunks=()), 1.0)
        with pytest.raises(ValueError, match="pass its period"):
            bigrad.gradient(f, 1.0, da.arange(6.0, chunks=2), periodic=1)


def test_one_point_coordinate_is_too_short_not_an_index_error() -> None:
    # np.gradient raises IndexError here; bigrad says what is wrong
    with pytest.raises(ValueError, match="axis 0 has 1 point"):
        bigrad.gradient(np.ones(1), np.array([0.0]))
