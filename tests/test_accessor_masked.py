"""The accessor's ``nan=`` and smoothing derivatives: names, coordinates, attrs."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sig
import xarray as xr

import bigrad
from tests.helpers import raise_if_dask_computes


def _field(chunked: bool = True) -> xr.DataArray:
    lat = xr.DataArray(np.linspace(-30.0, 30.0, 13), dims="lat", attrs={"units": "degrees_north"})
    lon = xr.DataArray(np.arange(20) * 0.25, dims="lon", attrs={"units": "degrees_east"})
    values = np.random.default_rng(0).standard_normal((13, 20))
    values[4:8, 6:11] = np.nan
    data = da.from_array(values, chunks=(5, 3)) if chunked else values
    return xr.DataArray(data, coords={"lat": lat, "lon": lon}, name="sst",
                        attrs={"units": "K"})  # fmt: skip


def test_nan_one_sided_through_the_accessor() -> None:
    sst = _field()
    with raise_if_dask_computes():
        d = sst.bigrad.differentiate("lon", nan="one-sided")
        g = sst.bigrad.gradient(nan="one-sided")
        d2 = sst.bigrad.derivative("lat", order=2, accuracy=4, nan="one-sided")
        # in degrees, summed as on a plane (the sphere's: below)
        lap = sst.bigrad.laplacian(nan="one-sided", geometry="cartesian")
        ds = sst.to_dataset().bigrad.gradient(["lon"], nan="one-sided")
    values = sst.values
    want = bigrad.gradient(values, sst.lon.values, axis=1, nan="one-sided")
    np.testing.assert_array_equal(d.values, want)
    np.testing.assert_array_equal(g["dsst_dlon"].values, want)
    np.testing.assert_array_equal(ds["dsst_dlon"].values, want)
    # an evenly spaced coordinate is its step, as in numpy (and takes the step's kernels)
    np.testing.assert_array_equal(want, bigrad.gradient(values, 0.25, axis=1, nan="one-sided"))
    np.testing.assert_array_equal(
        d2.values,
        bigrad.derivative(values, sst.lat.values, axis=0, order=2, accuracy=4, nan="one-sided"),
    )
    assert lap.shape == sst.shape
    assert d.attrs["units"] == "K degrees_east-1"
    # fewer NaN than numpy's, exactly the land's
    assert np.isnan(d.values).sum() == np.isnan(values).sum()
    assert np.isnan(sst.differentiate("lon").values).sum() > np.isnan(values).sum()


@pytest.mark.parametrize("chunked", [False, True])
def test_smoothing_through_the_accessor(chunked: bool) -> None:
    sst = _field(chunked).fillna(0.0)
    values = sst.values
    sg = sst.bigrad.savgol_derivative("lon", 7, 2, mode="mirror")
    np.testing.assert_allclose(
        sg.values, sig.savgol_filter(values, 7, 2, deriv=1, delta=0.25, mode="mirror"),
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    assert sg.attrs["units"] == "K degrees_east-1" and "sst" in sg.attrs["long_name"]
    # sigma in the coordinate's units: 5 degrees of latitude are 1 point
    gd = sst.bigrad.gaussian_derivative("lat", 5.0, order=2)
    np.testing.assert_allclose(
        gd.values, ndi.gaussian_filter1d(values, 1.0, axis=0, order=2) / 5.0**2,
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    assert gd.attrs["units"] == "K degrees_north-2"
    assert gd.dims == sst.dims and gd.name == "sst"


def test_non_uniform_coordinate_is_refused() -> None:
    f = xr.DataArray(np.zeros(6), coords={"z": [0.0, 1.0, 3.0, 4.0, 6.0, 9.0]}, dims="z")
    with pytest.raises(ValueError, match="coordinate 'z' is not evenly spaced"):
        f.bigrad.savgol_derivative("z", 3, 1)
    with pytest.raises(ValueError, match="coordinate 'z' is not evenly spaced"):
        f.bigrad.gaussian_derivative("z", 1.0)
    with pytest.raises(ValueError, match="nan must be one of"):
        f.bigrad.differentiate("z", nan="drop")


def test_nan_on_the_sphere_is_taken_not_ignored() -> None:
    sst = _field()
    with raise_if_dask_computes():
        lap = sst.bigrad.laplacian(nan="one-sided")
    want = bigrad.spherical_laplacian(sst.values, sst.lat.values, sst.lon.values, nan="one-sided")
    np.testing.assert_array_equal(lap.values, want)
    np.testing.assert_array_equal(np.isnan(lap.values), np.isnan(sst.values))
    assert lap.attrs["units"] == "K m-2"
