"""Calculus on the sphere against oracles: analytic fields (solid-body rotation, the
Rossby-Haurwitz wave of Williamson et al. 1992 case 6, a spherical harmonic), observed
convergence orders, MetPy 1.7, and every chunking equal to the unchunked result."""

from __future__ import annotations

from typing import Any

import dask.array as da
import metpy.calc as mpcalc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metpy.units import units

import bigrad
from bigrad.sphere import covers_circle
from tests.helpers import raise_if_dask_computes
from tests.strategies import chunkings

A = bigrad.EARTH_RADIUS
OMEGA = K = 7.848e-6  # Williamson et al. (1992) case 6, s-1
R = 4


def global_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n + 1`` latitudes pole to pole and ``2 n`` longitudes (a full circle)."""
    return np.linspace(-90.0, 90.0, n + 1), np.arange(2 * n) * (180.0 / n)


def rossby_haurwitz(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, ...]:
    """Williamson et al. (1992) case 6 wind ``(u, v)`` and its vorticity (divergence 0)."""
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    c, s = np.cos(phi), np.sin(phi)
    u = A * OMEGA * c + A * K * c ** (R - 1) * (R * s**2 - c**2) * np.cos(R * lam)
    v = -A * K * R * c ** (R - 1) * s * np.sin(R * lam)
    zeta = 2 * OMEGA * s - K * (R + 1) * (R + 2) * c**R * s * np.cos(R * lam)
    return u, v, zeta


def harmonic(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``cos^2 phi sin phi cos 2 lambda``: degree 3, Laplacian ``-12 psi / a^2``."""
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    return np.cos(phi) ** 2 * np.sin(phi) * np.cos(2 * lam)


def band(lat: np.ndarray, limit: float = 60.0) -> np.ndarray:
    return np.abs(lat) <= limit


# ---------------------------------------------------------------- analytic oracles


@pytest.mark.parametrize(("accuracy", "tol"), [(2, 1e-4), (4, 1e-7), (6, 1e-9)])
def test_solid_body_rotation(accuracy: int, tol: float) -> None:
    lat, lon = global_grid(180)
    u = 20.0 * np.cos(np.deg2rad(lat))[:, None] * np.ones(lon.size)
    v = np.zeros_like(u)
    exact = 2 * 20.0 * np.sin(np.deg2rad(lat))[:, None] / A * np.ones(lon.size)
    zeta = bigrad.vorticity(u, v, lat, lon, accuracy=accuracy)
    delta = bigrad.divergence(u, v, lat, lon, accuracy=accuracy)
    inner = slice(1, -1)  # the poles are NaN, tested below
    scale = np.abs(exact).max()
    np.testing.assert_allclose(zeta[inner], exact[inner], rtol=0, atol=tol * scale)
    # u does not vary along longitude, v is zero: the divergence is zero up to rounding
    # (Fornberg's weights of accuracy 4 and 6 sum to zero only to rounding)
    assert np.abs(delta[inner]).max() <= 1e-12 * scale


@pytest.mark.parametrize(("accuracy", "tol"), [(2, 5e-3), (4, 5e-5)])
def test_rossby_haurwitz(accuracy: int, tol: float) -> None:
    lat, lon = global_grid(90)
    u, v, exact = rossby_haurwitz(lat, lon)
    zeta = bigrad.vorticity(u, v, lat, lon, accuracy=accuracy)
    delta = bigrad.divergence(u, v, lat, lon, accuracy=accuracy)
    inner = slice(1, -1)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(zeta[inner], exact[inner], rtol=0, atol=tol * scale)
    np.testing.assert_allclose(delta[inner], 0.0, rtol=0, atol=tol * scale)


@pytest.mark.parametrize(("accuracy", "tol"), [(2, 2e-3), (4, 1e-5), (6, 1e-7)])
def test_laplacian_of_a_harmonic(accuracy: int, tol: float) -> None:
    lat, lon = global_grid(90)
    psi = harmonic(lat, lon)
    lap = bigrad.spherical_laplacian(psi, lat, lon, accuracy=accuracy)
    exact = -12 * psi / A**2
    inner = band(lat, 80.0)
    np.testing.assert_allclose(lap[inner], exact[inner], rtol=0, atol=tol * 12 / A**2)


def test_gradient_of_analytic_field() -> None:
    # f = sin(phi) + cos(phi) sin(lambda): d_dx = cos(lambda) / a, d_dy = (cos phi - sin phi sin lambda) / a
    lat, lon = global_grid(120)
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    f = np.sin(phi) + np.cos(phi) * np.sin(lam)
    d_dx, d_dy = bigrad.geospatial_gradient(f, lat, lon, accuracy=4)
    ex = np.cos(lam) / A * np.ones_like(phi)
    ey = (np.cos(phi) - np.sin(phi) * np.sin(lam)) / A
    np.testing.assert_allclose(d_dx[1:-1], ex[1:-1], rtol=0, atol=1e-7 / A)
    np.testing.assert_allclose(d_dy, ey, rtol=0, atol=1e-6 / A)


def _error(func: Any, n: int, accuracy: int) -> float:
    lat, lon = global_grid(n)
    keep = band(lat)
    if func == "laplacian":
        psi = harmonic(lat, lon)
        out = bigrad.spherical_laplacian(psi, lat, lon, accuracy=accuracy, radius=1.0)
        return float(np.abs(out + 12 * psi)[keep].max())
    u, v, zeta = rossby_haurwitz(lat, lon)
    if func == "vorticity":
        return float(np.abs(bigrad.vorticity(u, v, lat, lon, accuracy=accuracy) - zeta)[keep].max())
    return float(np.abs(bigrad.divergence(u, v, lat, lon, accuracy=accuracy))[keep].max())


@pytest.mark.parametrize("accuracy", [2, 4])
@pytest.mark.parametrize("func", ["vorticity", "divergence", "laplacian"])
def test_convergence_order(func: str, accuracy: int) -> None:
    # coarse enough that rounding does not flatten the fourth-order errors
    errors = [_error(func, n, accuracy) for n in (30, 60, 120)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert (orders >= accuracy - 0.3).all(), (errors, orders)


def test_nonuniform_latitudes() -> None:
    # Gaussian-like latitudes (uneven steps): still the analytic answers
    x = np.linspace(-1.0, 1.0, 91)
    lat = np.rad2deg(np.arcsin(0.98 * np.sin(x * np.pi / 2.2)))
    lon = np.arange(0.0, 360.0, 2.0)
    u, v, zeta = rossby_haurwitz(lat, lon)
    psi = harmonic(lat, lon)
    scale = np.abs(zeta).max()
    for accuracy, tol in ((2, 3e-3), (4, 1e-4)):
        got = bigrad.vorticity(u, v, lat, lon, accuracy=accuracy)
        np.testing.assert_allclose(got, zeta, rtol=0, atol=tol * scale)
        lap = bigrad.spherical_laplacian(psi, lat, lon, accuracy=accuracy, radius=1.0)
        np.testing.assert_allclose(lap, -12 * psi, rtol=0, atol=30 * tol)


# ---------------------------------------------------------------- poles


def test_poles_are_nan_never_inf() -> None:
    lat, lon = global_grid(36)
    u, v, _ = rossby_haurwitz(lat, lon)
    psi = harmonic(lat, lon)
    d_dx, d_dy = bigrad.geospatial_gradient(psi, lat, lon)
    outs = [d_dx, bigrad.vorticity(u, v, lat, lon), bigrad.divergence(u, v, lat, lon),
            bigrad.spherical_laplacian(psi, lat, lon)]  # fmt: skip
    for out in outs:
        assert np.isnan(out[[0, -1]]).all()
        assert np.isfinite(out[1:-1]).all()
    # northward derivative is finite at the poles (one-sided)
    assert np.isfinite(d_dy).all()


# ---------------------------------------------------------------- MetPy 1.7


def _metpy_grid(lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    """Spherical dx, dy (metres per radian step) with parallel_scale = 1 / cos(lat)."""
    ones = np.ones((lat.size, lon.size))
    dx = A * np.deg2rad(np.diff(lon))[None, :] * np.ones((lat.size, 1))
    dy = A * np.deg2rad(np.diff(lat))[:, None] * np.ones((1, lon.size))
    scale = (1 / np.cos(np.deg2rad(lat)))[:, None] * ones
    return {"dx": dx * units.m, "dy": dy * units.m, "parallel_scale": scale,
            "meridional_scale": ones}  # fmt: skip


# half-degree grids: MetPy's differenced map factor errs by O(h^2) (about 1e-3 of the
# divergence's scale at one degree, where v tan(phi) / a dominates the divergence)
REGIONAL = [
    (np.linspace(10.0, 60.0, 101), np.linspace(-30.0, 40.0, 141)),  # even steps
    # uneven steps of 0.25 to 0.75 degrees
    (
        np.cumsum(np.random.default_rng(1).uniform(0.25, 0.75, 160)) - 50,
        np.cumsum(np.linspace(0.25, 0.75, 100)),
    ),
]


@pytest.mark.parametrize(("lat", "lon"), REGIONAL, ids=["even", "uneven"])
def test_metpy_geospatial_gradient(lat: np.ndarray, lon: np.ndarray) -> None:
    f, _, _ = rossby_haurwitz(lat, lon)
    mx, my = mpcalc.geospatial_gradient(f * units("m/s"), **_metpy_grid(lat, lon))
    bx, by = bigrad.geospatial_gradient(f, lat, lon)
    np.testing.assert_allclose(bx, mx.m, rtol=1e-10, atol=1e-10 * np.abs(mx.m).max())
    np.testing.assert_allclose(by, my.m, rtol=1e-10, atol=1e-10 * np.abs(my.m).max())


@pytest.mark.parametrize(("lat", "lon"), REGIONAL, ids=["even", "uneven"])
def test_metpy_vorticity_divergence(lat: np.ndarray, lon: np.ndarray) -> None:
    u, v, _ = rossby_haurwitz(lat, lon)
    # plus a divergent part, so that the divergence is not rounding noise
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    u, v = u + 10 * np.cos(phi) * np.sin(2 * lam), v + 5 * np.sin(2 * phi) * np.cos(lam)
    grid = _metpy_grid(lat, lon)
    uq, vq = u * units("m/s"), v * units("m/s")
    tan = np.tan(np.deg2rad(lat))[:, None] / A
    for func, ours, term in (
        (mpcalc.vorticity, bigrad.vorticity, u * tan),
        (mpcalc.divergence, bigrad.divergence, -v * tan),
    ):
        got = ours(u, v, lat, lon)
        full = func(uq, vq, **grid).m
        scale = np.abs(got).max()
        # MetPy differences the map factor for the tan(phi) term, bigrad has it exactly
        np.testing.assert_allclose(got, full, rtol=1e-3, atol=1e-3 * scale)
        # MetPy's Cartesian derivatives with the metric factors and tan term analytic
        plain = func(uq, vq, dx=grid["dx"], dy=grid["dy"]).m
        if func is mpcalc.vorticity:
            dvdx, dudy = mpcalc.vector_derivative(uq, vq, dx=grid["dx"], dy=grid["dy"],
                                                  return_only=("dv/dx", "du/dy"))  # fmt: skip
            plain = dvdx.m * grid["parallel_scale"] - dudy.m
        else:
            dudx, dvdy = mpcalc.vector_derivative(uq, vq, dx=grid["dx"], dy=grid["dy"],
                                                  return_only=("du/dx", "dv/dy"))  # fmt: skip
            plain = dudx.m * grid["parallel_scale"] + dvdy.m
        np.testing.assert_allclose(got, plain + term, rtol=1e-6, atol=1e-6 * scale)


# ---------------------------------------------------------------- chunks and laziness

OPERATORS = {
    "d_dx": lambda f, g, lat, lon, **kw: bigrad.geospatial_gradient(f, lat, lon, **kw)[0],
    "d_dy": lambda f, g, lat, lon, **kw: bigrad.geospatial_gradient(f, lat, lon, **kw)[1],
    "vorticity": lambda f, g, lat, lon, **kw: bigrad.vorticity(f, g, lat, lon, **kw),
    "divergence": lambda f, g, lat, lon, **kw: bigrad.divergence(f, g, lat, lon, **kw),
    "laplacian": lambda f, g, lat, lon, **kw: bigrad.spherical_laplacian(f, lat, lon, **kw),
}

CHUNKINGS = [
    ((1, 2, 3, 1), (2, 1, 5, 4)),  # irregular, sizes 1 and 2
    ((1,) * 7, (12,)),  # one latitude per chunk
    ((7,), (1,) * 12),  # one longitude per chunk (the wrap crosses chunks of one)
    ((2, 2, 2, 1), (2,) * 6),
]


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("accuracy", [2, 4])
@pytest.mark.parametrize("dtype", ["f8", "f4"])
@pytest.mark.parametrize("name", list(OPERATORS))
def test_every_chunking_equals_unchunked(name: str, dtype: str, accuracy: int, chunks: Any) -> None:
    lat, lon = np.linspace(-90.0, 90.0, 7), np.arange(12) * 30.0  # global, poles included
    rng = np.random.default_rng(3)
    f, g = (rng.standard_normal((7, 12)).astype(dtype) for _ in range(2))
    op = OPERATORS[name]
    eager = op(f, g, lat, lon, accuracy=accuracy)
    assert eager.dtype == np.dtype(dtype)
    with raise_if_dask_computes():
        lazy = op(da.from_array(f, chunks=chunks), da.from_array(g, chunks=chunks), lat, lon,
                  accuracy=accuracy)  # fmt: skip
    assert lazy.chunks == chunks
    lazy.dask.validate()
    np.testing.assert_array_equal(lazy.compute(), eager)


def test_winds_of_other_chunkings_or_kinds() -> None:
    # one graph for both winds: v is rechunked to u's chunks (or, with numpy u, u to
    # v's); the numbers are the numpy arrays'
    lat, lon = np.linspace(-90.0, 90.0, 7), np.arange(12) * 30.0
    rng = np.random.default_rng(4)
    u, v = (rng.standard_normal((7, 12)).astype("f4") for _ in range(2))
    for name in ("vorticity", "divergence"):
        eager = getattr(bigrad, name)(u, v, lat, lon)
        with raise_if_dask_computes():
            both = getattr(bigrad, name)(da.from_array(u, chunks=(2, 5)),
                                         da.from_array(v, chunks=(3, 4)), lat, lon)  # fmt: skip
            mixed = getattr(bigrad, name)(u, da.from_array(v, chunks=(1, 12)), lat, lon)
        assert both.chunks == ((2, 2, 2, 1), (5, 5, 2))
        assert mixed.chunks == ((1,) * 7, (12,))
        for lazy in (both, mixed):
            lazy.dask.validate()
            np.testing.assert_array_equal(lazy.compute(), eager)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), periodic=st.booleans())
def test_chunkings_property(data: Any, periodic: bool) -> None:
    # a leading time axis, latitude and longitude in the middle and last
    nlat, nlon = data.draw(st.integers(5, 9)), data.draw(st.integers(5, 10))
    # uneven latitudes and longitudes (per-point weights on both axes)
    lat = np.cumsum(np.random.default_rng(nlat).uniform(5.0, 15.0, nlat)) - 70.0
    lon = np.sort(np.random.default_rng(nlon).uniform(0, 359, nlon))
    lon = np.unique(lon.round(3))
    shape = (2, nlat, lon.size)
    chunks = data.draw(chunkings(shape))
    rng = np.random.default_rng(4)
    u, v = rng.standard_normal(shape), rng.standard_normal(shape)
    for op in OPERATORS.values():
        eager = op(u, v, lat, lon, periodic=periodic)
        lazy = op(da.from_array(u, chunks=chunks), da.from_array(v, chunks=chunks), lat, lon,
                  periodic=periodic)  # fmt: skip
        assert lazy.chunks == chunks
        np.testing.assert_array_equal(lazy.compute(), eager)


def test_axes_anywhere() -> None:
    # (lon, time, lat) order gives the transposed answers of (time, lat, lon)
    lat, lon = np.linspace(-80.0, 80.0, 9), np.arange(0.0, 360.0, 30.0)
    rng = np.random.default_rng(8)
    u, v = rng.standard_normal((3, 9, 12)), rng.standard_normal((3, 9, 12))
    ref = bigrad.vorticity(u, v, lat, lon)
    t = (2, 0, 1)
    got = bigrad.vorticity(u.transpose(t), v.transpose(t), lat, lon, lat_axis=2, lon_axis=0)
    np.testing.assert_allclose(got, ref.transpose(t), rtol=1e-14)


# ---------------------------------------------------------------- the longitude wrap


def test_periodic_is_automatic_on_the_full_circle() -> None:
    assert covers_circle(np.arange(0.0, 360.0, 0.25))
    assert covers_circle(np.arange(-180.0, 180.0, 2.5))
    assert covers_circle(np.arange(357.5, -2.0, -2.5))  # decreasing
    assert not covers_circle(np.arange(0.0, 360.1, 2.5))  # 360 repeats 0
    assert not covers_circle(np.linspace(-30.0, 40.0, 71))  # regional
    lat, lon = global_grid(18)
    u, v, _ = rossby_haurwitz(lat, lon)
    auto = bigrad.vorticity(u, v, lat, lon)
    np.testing.assert_array_equal(auto, bigrad.vorticity(u, v, lat, lon, periodic=True))
    off = bigrad.vorticity(u, v, lat, lon, periodic=False)
    # only the first and last longitudes differ (one-sided there without the wrap)
    differ = np.flatnonzero((np.abs(auto - off) > 0).any(axis=0))
    assert set(differ) == {0, lon.size - 1}


def test_regional_grid_equals_numpy() -> None:
    # no wrap on a regional grid: np.gradient along degrees times the metric factors
    lat, lon = np.linspace(20.0, 50.0, 16), np.linspace(100.0, 140.0, 21)
    f = np.random.default_rng(2).standard_normal((16, 21))
    d_dx, d_dy = bigrad.geospatial_gradient(f, lat, lon)
    k = 180 / np.pi / A
    ex = np.gradient(f, lon, axis=1, edge_order=2) * k / np.cos(np.deg2rad(lat))[:, None]
    np.testing.assert_allclose(d_dx, ex, rtol=1e-14)
    np.testing.assert_allclose(d_dy, np.gradient(f, lat, axis=0, edge_order=2) * k, rtol=1e-14)


# ---------------------------------------------------------------- bad input


BAD = [
    (dict(lat=np.array([0.0, 10.0, 5.0, 20.0])), ValueError, "lat turns back at index 1"),
    (
        dict(lat=np.array([0.0, 45.0, 90.0, 95.0])),
        ValueError,
        r"lat has 95.0 at index 3.*\[-90, 90\]",
    ),
    (
        dict(lat=np.array([0.0, 10.0, 20.0])),
        ValueError,
        "lat has 3 values but axis 0 of [fu] has 4",
    ),
    (dict(lon=np.arange(5.0)), ValueError, "lon has 5 values but axis 1 of [fu] has 6"),
    (dict(lon=np.array([0, 1, 2, 2, 3, 4.0])), ValueError, "lon repeats the value 2.0"),
    (dict(lat=np.array([[0.0, 1.0]])), ValueError, "lat must be a 1-D array"),
    (dict(lat=["a", "b", "c", "d"]), TypeError, "lat must be a 1-D array of numbers"),
    (dict(lat=da.arange(4.0)), TypeError, r"lat must be a 1-D numpy array.*\.compute\(\)"),
    (dict(lat_axis=1), ValueError, "lat_axis and lon_axis are the same axis"),
    (dict(lon_axis=2), ValueError, "lon_axis=2 is out of range"),
    (dict(lon_axis=1.0), TypeError, "lon_axis must be an integer"),
    (dict(radius=-1.0), ValueError, "radius must be a positive number of metres"),
    (dict(radius="6371 km"), ValueError, "radius must be a positive number"),
    (dict(periodic="lon"), TypeError, "periodic must be None"),
    (dict(accuracy=3), ValueError, "accuracy"),
    (dict(lat=np.array([-90.0, -89.0, -88.0, -87.0]), accuracy=6), ValueError, "too few"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input_is_refused_before_work(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"lat": np.array([0.0, 10.0, 20.0, 30.0]), "lon": np.arange(6.0)}
    args.update(kwargs)
    f = np.ones((4, 6))
    with pytest.raises(error, match=match) as info:
        bigrad.spherical_laplacian(f, **args)
    assert "\n" not in str(info.value)
    with pytest.raises(error, match=match), raise_if_dask_computes():
        bigrad.vorticity(da.from_array(f), da.from_array(f), **args)


def test_wind_shapes_must_match() -> None:
    lat, lon = np.array([0.0, 10.0, 20.0]), np.arange(4.0)
    with pytest.raises(
        ValueError, match=r"u and v must have the same shape, got \(3, 4\) and \(3, 5\)"
    ):
        bigrad.divergence(np.ones((3, 4)), np.ones((3, 5)), lat, lon)
    with pytest.raises(ValueError, match="f must have at least 2 dimensions"):
        bigrad.geospatial_gradient(np.ones(3), lat, lon)
