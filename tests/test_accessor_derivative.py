"""The accessor's derivative and laplacian: xarray's differentiate as the oracle, the
array functions' numbers, units and names, laziness, any chunking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import bigrad
from tests.helpers import raise_if_dask_computes
from tests.strategies import chunkings

RNG = np.random.default_rng(5)
LAT = np.sort(RNG.uniform(-80.0, 80.0, 11))
LON = np.arange(0.0, 360.0, 30.0)


def field() -> xr.DataArray:
    return xr.DataArray(
        RNG.standard_normal((11, 12)),
        dims=("lat", "lon"),
        coords={"lat": ("lat", LAT, {"units": "degrees_north"}),
                "lon": ("lon", LON, {"units": "degrees_east"})},
        name="T",
        attrs={"units": "K", "standard_name": "air_temperature"},
    )  # fmt: skip


@settings(max_examples=20)
@given(data=st.data())
def test_first_order_accuracy_two_is_xarrays_edge_order_two(data: Any) -> None:
    T = field()
    lazy = T.chunk(dict(zip(T.dims, data.draw(chunkings(T.shape)), strict=True)))
    with raise_if_dask_computes():
        got = lazy.bigrad.derivative("lat")
    expected = T.differentiate("lat", edge_order=2)
    xr.testing.assert_identical(got.drop_attrs(), expected.drop_attrs())
    assert got.chunks == lazy.chunks


@pytest.mark.parametrize(("order", "accuracy"), [(1, 4), (2, 2), (2, 6)])
def test_equals_the_array_function(order: int, accuracy: int) -> None:
    T = field()
    got = T.chunk({"lat": 3, "lon": 5}).bigrad.derivative(
        "lon", order=order, accuracy=accuracy, periodic=True
    )
    expected = bigrad.derivative(T.values, LON, axis=1, order=order, accuracy=accuracy,
                                 periodic=True, period=360.0)  # fmt: skip
    np.testing.assert_array_equal(got.values, expected)
    assert got.name == "T" and got.dims == T.dims
    units = "K degrees_east-1" if order == 1 else "K degrees_east-2"
    assert got.attrs["units"] == units
    if order == 2:
        assert got.attrs["long_name"] == "second derivative of air_temperature along lon"


def test_datetime_unit_scales_the_time_axis() -> None:
    time = pd.date_range("2000-01-01", periods=8, freq="6h")
    T = xr.DataArray(np.arange(8.0) ** 2, coords={"time": time}, dims="time", name="T")
    per_hour = T.bigrad.derivative("time", order=2, datetime_unit="h")
    per_day = T.bigrad.derivative("time", order=2, datetime_unit="D")
    np.testing.assert_allclose(per_hour.values, 2.0 / 36.0)
    np.testing.assert_allclose(per_day.values, 2.0 / 0.25**2)


def test_laplacian_values_units_and_name() -> None:
    x = np.cumsum(RNG.uniform(0.5, 1.5, 9))
    y = np.cumsum(RNG.uniform(0.5, 1.5, 10))
    f = xr.DataArray(
        3 * x[:, None] ** 2 - y[None, :] ** 2,
        coords={"x": ("x", x, {"units": "m"}), "y": ("y", y, {"units": "m"})},
        dims=("x", "y"), name="psi", attrs={"units": "m2 s-1"},
    )  # fmt: skip
    with raise_if_dask_computes():
        lap = f.chunk({"x": 2, "y": 3}).bigrad.laplacian(accuracy=4)
    np.testing.assert_allclose(lap.values, 4.0, rtol=1e-9)
    np.testing.assert_array_equal(lap.values, bigrad.laplacian(f.values, x, y, accuracy=4))
    assert lap.name == "psi" and lap.attrs["units"] == "m2 s-1 m-2"
    assert lap.attrs["long_name"] == "laplacian of psi along x, y"
    # dims of different units: no units to give
    mixed = f.assign_coords(y=("y", y, {"units": "km"})).bigrad.laplacian()
    assert "units" not in mixed.attrs


def test_bad_arguments_name_the_argument() -> None:
    T = field()
    with pytest.raises(ValueError, match="accuracy must be 2, 4 or 6"):
        T.bigrad.derivative("lat", accuracy=5)
    with pytest.raises(ValueError, match=r"'T'.*lat.*too few"):
        T.isel(lat=slice(0, 5)).bigrad.derivative("lat", order=2, accuracy=4)
