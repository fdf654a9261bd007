"""``nan="one-sided"`` on the sphere: every run of finite values along latitude and
longitude differentiated alone (the run-by-run oracle of test_masked, with the metric
factors applied), numpy and dask input on several chunkings, and the accessor."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import xarray as xr

import bigrad
from tests.helpers import raise_if_dask_computes
from tests.test_masked import oracle, periodic_oracle

pytestmark = pytest.mark.usefixtures("engine")

A = bigrad.EARTH_RADIUS
PER_DEGREE = 180.0 / np.pi
# a regional grid: latitude uneven (a coordinate), longitude evenly spaced (a step)
LAT = np.concatenate([np.linspace(-70.0, 0.0, 8), [4.0, 9.0, 15.0, 22.0, 30.0, 39.0]])
LON = np.arange(100.0, 100.0 + 2.5 * 17, 2.5)
CHUNKINGS = [None, (1, (2, 1, 5, 9)), ((5, 1, 8), 4), (14, 17)]


def _field(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((LAT.size, LON.size))
    f[4:7, 6:11] = np.nan  # an island
    f[:, 13] = np.nan  # a meridian of land
    f[10, :] = np.nan  # a parallel
    f[rng.random(f.shape) < 0.05] = np.nan  # single points
    return f


def _as(f: np.ndarray, chunks: Any) -> Any:
    return f if chunks is None else da.from_array(f, chunks=chunks)


def _inv_cos() -> np.ndarray:
    return (1.0 / np.cos(np.deg2rad(LAT)))[:, None]


def _runs(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/dlambda and d/dphi (per radian) run by run."""
    return oracle(f, 2.5, 1, edge_order=2) * PER_DEGREE, oracle(
        f, LAT, 0, edge_order=2
    ) * PER_DEGREE


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_geospatial_gradient(chunks: Any) -> None:
    f = _field(1)
    dlon, dlat = _runs(f)
    d_dx, d_dy = bigrad.geospatial_gradient(
        _as(f, chunks), LAT, LON, periodic=False, nan="one-sided"
    )
    np.testing.assert_allclose(np.asarray(d_dx), dlon * _inv_cos() / A, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(d_dy), dlat / A, rtol=1e-12)
    assert np.array_equal(np.isnan(np.asarray(d_dx)), np.isnan(dlon))


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("which", ["vorticity", "divergence"])
def test_vorticity_and_divergence(chunks: Any, which: str) -> None:
    u, v = _field(2), _field(3)
    tan = np.tan(np.deg2rad(LAT))[:, None] / A
    if which == "vorticity":
        want = _runs(v)[0] * _inv_cos() / A - _runs(u)[1] / A + u * tan
    else:
        want = _runs(u)[0] * _inv_cos() / A + _runs(v)[1] / A - v * tan
    func = getattr(bigrad, which)
    with raise_if_dask_computes():
        got = func(_as(u, chunks), _as(v, chunks), LAT, LON, periodic=False, nan="one-sided")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-22)
    assert np.array_equal(np.isnan(np.asarray(got)), np.isnan(want))
    # without missing values: the combined latitude stencil's numbers, to rounding
    plain = func(np.nan_to_num(u), np.nan_to_num(v), LAT, LON, periodic=False)
    one_sided = func(np.nan_to_num(u), np.nan_to_num(v), LAT, LON, periodic=False, nan="one-sided")
    np.testing.assert_allclose(one_sided, plain, rtol=1e-9, atol=1e-20)


@pytest.mark.parametrize("chunks", [None, (5, (1, 2, 9, 4)), (14, 3)])
def test_global_grid(chunks: Any) -> None:
    # the full circle: longitude periodic by default, runs cross the ends of lon
    lon = np.arange(-180.0, 180.0, 22.5)
    u, v = _field(6)[:, :16], _field(7)[:, :16]
    u[3, [0, 15]] = np.nan  # land on both sides of the ends
    v[:, 15] = v[:, 0] = v[:, 8] = np.nan  # a run of one point, and land on the ends
    dlon = periodic_oracle(v, 22.5, 1, edge_order=2) * PER_DEGREE
    d_dx, d_dy = bigrad.geospatial_gradient(_as(v, chunks), LAT, lon, nan="one-sided")
    np.testing.assert_allclose(np.asarray(d_dx), dlon * _inv_cos() / A, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(d_dy), _runs(v)[1] / A, rtol=1e-12)
    assert np.array_equal(np.isnan(np.asarray(d_dx)), np.isnan(dlon))
    tan = np.tan(np.deg2rad(LAT))[:, None] / A
    want = dlon * _inv_cos() / A - _runs(u)[1] / A + u * tan
    with raise_if_dask_computes():
        got = bigrad.vorticity(_as(u, chunks), _as(v, chunks), LAT, lon, nan="one-sided")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-22)
    assert np.array_equal(np.isnan(np.asarray(got)), np.isnan(want))
    # the same with the ends somewhere else: lon rolled, the same numbers rolled
    lon_r = np.concatenate([lon[-5:] - 360.0, lon[:-5]])
    rolled = bigrad.geospatial_gradient(np.roll(v, 5, 1), LAT, lon_r, nan="one-sided")
    np.testing.assert_allclose(rolled[0], np.roll(np.asarray(d_dx), 5, 1), rtol=1e-12)


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("accuracy", [2, 4])
def test_spherical_laplacian(chunks: Any, accuracy: int) -> None:
    # 1 / (a cos)^2 f_lambda,lambda + 1 / a^2 (f_phi,phi - tan f_phi), each run by run;
    # a latitude with no evenly spaced stretch (on one the oracle's run alone takes its
    # step, bigrad the coordinate's stencils: see bigrad.core.masked)
    lat = LAT + np.linspace(0.0, 1.0, LAT.size) ** 2
    f = _field(8)
    f[:, 7] = np.nan  # runs of 7 and 9 points along longitude
    d2lon = oracle(f, 2.5, 1, 2, accuracy) * PER_DEGREE**2
    d2lat = oracle(f, lat, 0, 2, accuracy) * PER_DEGREE**2
    dlat = oracle(f, lat, 0, 1, accuracy, edge_order=2) * PER_DEGREE
    tan = np.tan(np.deg2rad(lat))[:, None]
    inv_cos2 = 1.0 / np.cos(np.deg2rad(lat))[:, None] ** 2
    want = d2lon * inv_cos2 / A**2 + (d2lat - tan * dlat) / A**2
    with raise_if_dask_computes():
        got = bigrad.spherical_laplacian(_as(f, chunks), lat, LON, accuracy=accuracy,
                                         periodic=False, nan="one-sided")  # fmt: skip
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-24)
    assert np.array_equal(np.isnan(np.asarray(got)), np.isnan(want))


@pytest.mark.parametrize("accuracy", [2, 4])
def test_spherical_laplacian_converges(accuracy: int) -> None:
    # psi = cos^2 sin cos(2 lambda), lap psi = -12 psi / a^2, with land on the grid:
    # the observed order at least accuracy - 0.3, the coast's one-sided stencils included
    errors = []
    for n in (60, 120, 240):
        lat, lon = np.linspace(-80.0, 80.0, n + 1), np.arange(0.0, 360.0, 180.0 / n)
        phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)
        psi = np.cos(phi) ** 2 * np.sin(phi) * np.cos(2 * lam)
        land = (np.abs(lat[:, None] - 20.0) < 15.0) & (np.abs(lon - 200.0) < 30.0)
        lap = bigrad.spherical_laplacian(np.where(land, np.nan, psi), lat, lon, radius=1.0,
                                         accuracy=accuracy, nan="one-sided")  # fmt: skip
        np.testing.assert_array_equal(np.isnan(lap), land)
        errors.append(np.nanmax(np.abs(lap + 12.0 * psi)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert (orders >= accuracy - 0.3).all(), orders


def test_accessor() -> None:
    f, g = _field(4), _field(5)
    coords = {
        "lat": ("lat", LAT, {"units": "degrees_north"}),
        "lon": ("lon", LON, {"units": "degrees_east"}),
    }
    ds = xr.Dataset({"u": (("lat", "lon"), f), "v": (("lat", "lon"), g)}, coords=coords)
    grad = ds["u"].chunk({"lat": 3}).bigrad.geospatial_gradient(nan="one-sided")
    d_dx, d_dy = bigrad.geospatial_gradient(f, LAT, LON, nan="one-sided")
    np.testing.assert_array_equal(grad["du_dx"].values, d_dx)
    np.testing.assert_array_equal(grad["du_dy"].values, d_dy)
    zeta = ds.bigrad.vorticity("u", "v", nan="one-sided")
    np.testing.assert_array_equal(zeta.values, bigrad.vorticity(f, g, LAT, LON, nan="one-sided"))
    delta = ds.bigrad.divergence("u", "v", nan="one-sided")
    np.testing.assert_array_equal(delta.values, bigrad.divergence(f, g, LAT, LON, nan="one-sided"))
    lap = ds["u"].bigrad.laplacian(nan="one-sided")
    np.testing.assert_array_equal(
        lap.values, bigrad.spherical_laplacian(f, LAT, LON, nan="one-sided")
    )
    assert lap.attrs["long_name"].startswith("laplacian of")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda f, lon: bigrad.divergence(f, f, LAT, lon, nan="omit"),
            r"nan must be one of",
        ),
    ],
)
def test_errors(call: Any, match: str) -> None:
    lon = np.arange(0.0, 360.0, 360.0 / LON.size)  # the full circle: periodic by default
    with raise_if_dask_computes(), pytest.raises(ValueError, match=match):
        call(da.zeros((LAT.size, LON.size), chunks=5), lon)
