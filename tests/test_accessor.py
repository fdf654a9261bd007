"""The accessor's own API: output names, variable selection, periodic dimensions,
attributes, one graph per variable, and errors at call time."""

from __future__ import annotations

import copy
import threading
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import bigrad
from tests.helpers import periodic_reference, raise_if_dask_computes, tasks_per_chunk
from tests.strategies import chunkings, coordinate

LAT = np.linspace(-80.0, 80.0, 9)
LON = np.arange(0.0, 360.0, 30.0)


def _field(lon_attrs: dict[str, Any] | None = None) -> xr.Dataset:
    rs = np.random.default_rng(1)
    lon_attrs = {"units": "degrees_east"} if lon_attrs is None else lon_attrs
    return xr.Dataset(
        {
            "T": (
                ("lat", "lon"),
                rs.random((9, 12)),
                {"units": "K", "standard_name": "air_temperature", "source": "synthetic"},
            ),
            "zonal": ("lat", rs.random(9), {"long_name": "zonal mean"}),
            "flag": (("lat", "lon"), rs.random((9, 12)) > 0.5),
            "label": ("lat", np.array(list("abcdefghi"))),
        },
        coords={"lat": ("lat", LAT, {"units": "degrees_north"}), "lon": ("lon", LON, lon_attrs)},
        attrs={"title": "test"},
    )


def test_dataset_gradient_names_and_selection() -> None:
    ds = _field()
    out = ds.bigrad.gradient()
    # booleans and strings are left out; zonal has no lon, so no dzonal_dlon
    assert list(out.data_vars) == ["dT_dlat", "dT_dlon", "dzonal_dlat"]
    xr.testing.assert_allclose(out["dT_dlat"], ds["T"].differentiate("lat"))
    xr.testing.assert_allclose(out["dzonal_dlat"], ds["zonal"].differentiate("lat"))
    assert out["dT_dlat"].dims == ("lat", "lon")
    assert out.attrs == {"title": "test"}
    xr.testing.assert_identical(out.coords.to_dataset(), ds.coords.to_dataset())

    only = ds.bigrad.gradient("lon", variables=["T"])
    assert list(only.data_vars) == ["dT_dlon"]
    assert list(ds.bigrad.gradient("lon").data_vars) == ["dT_dlon"]


def test_dataarray_gradient_names() -> None:
    ds = _field()
    out = ds["T"].bigrad.gradient(["lon", "lat"])
    assert list(out.data_vars) == ["dT_dlon", "dT_dlat"]
    xr.testing.assert_allclose(out["dT_dlon"], ds["T"].differentiate("lon"))
    unnamed = xr.DataArray(np.arange(12.0) ** 2, dims="x").bigrad.gradient()
    assert list(unnamed.data_vars) == ["df_dx"]
    np.testing.assert_allclose(unnamed["df_dx"], np.gradient(np.arange(12.0) ** 2))
    assert unnamed["df_dx"].attrs == {"long_name": "gradient along x"}


def test_attributes() -> None:
    ds = _field()
    before = copy.deepcopy(ds)
    out = ds.bigrad.gradient()
    assert out["dT_dlon"].attrs == {
        "source": "synthetic",
        "long_name": "gradient of air_temperature along lon",
        "units": "K degrees_east-1",
    }
    # no units on the variable: none on its gradient
    assert out["dzonal_dlat"].attrs == {"long_name": "gradient of zonal mean along lat"}
    metres = ds.assign_coords(lon=("lon", LON * 1000.0, {"units": "m"}))
    assert metres["T"].bigrad.differentiate("lon").attrs["units"] == "K m-1"
    hours = xr.DataArray(
        np.arange(5.0),
        dims="time",
        coords={"time": np.arange(5) * np.timedelta64(1, "h") + np.datetime64("2000-01-01")},
        attrs={"units": "K"},
    )
    assert hours.bigrad.differentiate("time", datetime_unit="h").attrs["units"] == "K h-1"
    assert hours.bigrad.differentiate("time", datetime_unit="D").attrs["units"] == "K day-1"
    # the input is never mutated
    xr.testing.assert_identical(ds, before)
    assert ds["T"].attrs == before["T"].attrs


@pytest.mark.parametrize("chunks", [None, {"lon": 1}, {"lon": (2, 1, 9), "lat": 2}])
def test_periodic_longitude(chunks: Any) -> None:
    ds = _field() if chunks is None else _field().chunk(chunks)
    values = _field()["T"].values
    expected = periodic_reference(values, [LON], [1], periodic=(1,), periods={1: 360.0})
    with raise_if_dask_computes():
        inferred = ds["T"].bigrad.differentiate("lon", periodic=True)
        by_name = ds.bigrad.gradient(periodic="lon")["dT_dlon"]
    for got in (inferred, by_name):
        np.testing.assert_allclose(got.values, expected, rtol=1e-12)
    # the ends differ from the one-sided, non-periodic result
    assert not np.allclose(inferred.values[:, 0], ds["T"].bigrad.differentiate("lon").values[:, 0])

    plain = _field(lon_attrs={})
    with pytest.raises(ValueError, match=r"pass period="):
        plain["T"].bigrad.differentiate("lon", periodic=True)
    for period in (360.0, {"lon": 360.0}):
        got = plain.bigrad.gradient("lon", periodic=["lon"], period=period)["dT_dlon"]
        np.testing.assert_allclose(got.values, expected, rtol=1e-12)
    standard = _field(lon_attrs={"standard_name": "longitude"})
    got = standard["T"].bigrad.differentiate("lon", periodic="lon")
    np.testing.assert_allclose(got.values, expected, rtol=1e-12)


def test_periodic_without_coordinate() -> None:
    f = xr.DataArray(np.arange(10.0) ** 2 % 7, dims="x")
    got = f.bigrad.differentiate("x", periodic=True)
    np.testing.assert_allclose(got, periodic_reference(f.values, [1.0], [0], periodic=(0,)))


def test_one_graph_reads_input_once() -> None:
    reads = []
    lock = threading.Lock()

    def read(block: np.ndarray) -> np.ndarray:
        with lock:
            reads.append(block.shape)
        return block

    base = da.random.default_rng(0).random((6, 8, 10), chunks=(2, 3, 4))
    data = base.map_blocks(read, meta=np.empty((0, 0, 0)))
    ds = xr.Dataset({"T": (("t", "y", "x"), data)})
    grads = ds.bigrad.gradient()
    assert list(grads.data_vars) == ["dT_dt", "dT_dy", "dT_dx"]
    outputs = [grads[k].data for k in grads.data_vars]
    # as small a graph as one bigrad.gradient call for all axes (one per axis is larger)
    n = data.npartitions
    assert tasks_per_chunk(outputs, n) == tasks_per_chunk(bigrad.gradient(data), n)
    assert tasks_per_chunk(outputs, n) < tasks_per_chunk(
        [bigrad.gradient(data, axis=a) for a in range(3)], n
    )
    dask.compute(*outputs, scheduler="sync")
    assert len(reads) == n


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda ds: ds["T"].bigrad.differentiate("depth"), ValueError, r"\('lat', 'lon'\)"),
        (lambda ds: ds.bigrad.gradient(["lat", "time"]), ValueError, r"'time'.*'lat', 'lon'"),
        (lambda ds: ds.bigrad.gradient("l2d"), ValueError, "2-D coordinate"),
        (lambda ds: ds.bigrad.gradient(periodic="depth"), ValueError, "'depth'"),
        (lambda ds: ds.bigrad.gradient("lat", periodic="lon"), ValueError, "periodic"),
        (lambda ds: ds.bigrad.gradient("lat", period=1.0), ValueError, "periodic="),
        (lambda ds: ds.bigrad.gradient(variables="Q"), ValueError, "data variables"),
        (lambda ds: ds.bigrad.gradient("lon", variables="zonal"), ValueError, "none of"),
        (lambda ds: ds.bigrad.gradient(variables="flag"), TypeError, "'flag'.*bool"),
        (lambda ds: ds.bigrad.gradient(["lat", "lat"]), ValueError, "twice"),
        (lambda ds: ds["T"].bigrad.differentiate("lat", edge_order=3), ValueError, "edge_order"),
        (
            lambda ds: ds.isel(lat=[0, 1]).bigrad.gradient("lat", edge_order=2),
            ValueError,
            r"differentiating 'T': .*too small.*dimension 'lat' has 2 point",
        ),
    ],
)
def test_errors(call: Any, error: type[Exception], match: str) -> None:
    ds = _field().assign_coords(l2d=(("lat", "lon"), np.ones((9, 12))))
    with raise_if_dask_computes(), pytest.raises(error, match=match):
        call(ds.chunk({"lon": 1}))


def test_repeated_coordinate_values() -> None:
    ds = _field().assign_coords(lat=("lat", np.r_[LAT[:4], LAT[3], LAT[5:]]))
    with pytest.raises(ValueError, match=r"coordinate 'lat'.*repeats.*indices 3 and 4"):
        ds["T"].bigrad.differentiate("lat")


@settings(max_examples=30)
@given(data=st.data(), nlat=st.integers(3, 7), nlon=st.integers(2, 9))
def test_periodic_any_chunking(data: st.DataObject, nlat: int, nlon: int) -> None:
    lon = np.sort(data.draw(coordinate(nlon))) % 360.0
    lon = np.unique(lon)
    assume(lon.size == nlon and lon[-1] - lon[0] < 360.0 - 1e-6)
    values = np.random.default_rng(nlat * nlon).random((nlat, nlon))
    T = xr.DataArray(
        values, dims=["lat", "lon"], coords={"lon": ("lon", lon, {"units": "degrees_east"})}
    )
    chunks = data.draw(chunkings((nlat, nlon)))
    lazy = T.chunk(dict(zip(("lat", "lon"), chunks, strict=True)))
    with raise_if_dask_computes():
        got = lazy.bigrad.gradient(periodic="lon")
    assert got["df_dlon"].chunks == lazy.chunks
    expected = periodic_reference(
        values, [1.0, lon], [0, 1], edge_order=1, periodic=(1,), periods={1: 360.0}
    )
    np.testing.assert_allclose(got["df_dlat"].values, expected[0], rtol=1e-12)
    np.testing.assert_allclose(got["df_dlon"].values, expected[1], rtol=1e-12, atol=1e-12)
