"""Periodic axes: wrap-around central differences, scalar spacing or coordinate + period."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import bigrad
from tests.helpers import assert_matches_numpy, periodic_reference

# every numeric case runs with the numpy kernels and with the fused numba kernels
pytestmark = pytest.mark.usefixtures("engine")

RNG = np.random.default_rng(7)
LON = np.arange(0.0, 360.0, 36.0)  # 10 points, uniform: the wrap step is 36 too
LON_UNEVEN = np.array([0.0, 20.0, 45.0, 90.0, 100.0, 170.0, 200.0, 260.0, 300.0, 345.0])


@pytest.mark.parametrize("chunks", [1, 2, 5, (3, 1, 4, 2), -1])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_scalar_spacing_equals_padded_numpy(chunks: object, edge_order: int) -> None:
    f = RNG.random(10)
    expected = periodic_reference(f, (0.5,), (0,), periodic=(0,))
    assert_matches_numpy(bigrad.gradient(f, 0.5, periodic=True, edge_order=edge_order), expected)
    d = da.from_array(f, chunks=chunks)
    got = bigrad.gradient(d, 0.5, periodic=True, edge_order=edge_order)
    assert got.chunks == d.chunks
    assert_matches_numpy(got, expected)


@pytest.mark.parametrize("chunks", [1, 3, (2, 1, 7), -1])
@pytest.mark.parametrize(
    "x", [LON, LON_UNEVEN, LON_UNEVEN[::-1].copy()], ids=["even", "uneven", "decreasing"]
)
def test_coordinate_with_period(chunks: object, x: np.ndarray) -> None:
    f = RNG.random((4, x.size))
    expected = periodic_reference(f, (x,), (1,), periodic=(1,), periods={1: 360.0})
    got = bigrad.gradient(f, x, axis=1, periodic=1, period=360.0)
    assert_matches_numpy(got, expected)
    d = da.from_array(f, chunks=(2, chunks))
    assert_matches_numpy(bigrad.gradient(d, x, axis=1, periodic=-1, period={-1: 360.0}), expected)
    lazy_x = da.from_array(x, chunks=4)
    assert_matches_numpy(bigrad.gradient(d, lazy_x, axis=1, periodic=(1,), period=360.0), expected)


def test_wrap_is_exact_on_a_sine() -> None:
    # a sine sampled on a whole period has no edge: the periodic derivative is as
    # accurate at the ends as in the middle
    x = np.linspace(0.0, 360.0, 72, endpoint=False)
    f = np.sin(np.deg2rad(x))
    exact = np.deg2rad(1.0) * np.cos(np.deg2rad(x))
    g = bigrad.gradient(da.from_array(f, chunks=7), x, periodic=True, period=360.0).compute()
    err = np.abs(g - exact)
    assert err.max() < 2e-3 * np.abs(exact).max()
    assert err[0] == pytest.approx(err[36], rel=1e-6)


def test_mixed_periodic_and_bounded_axes() -> None:
    lat = np.linspace(-80.0, 80.0, 9)
    f = RNG.random((3, 9, LON_UNEVEN.size))
    spacings = (3600.0, lat, LON_UNEVEN)
    for order in (1, 2):
        expected = periodic_reference(
            f, spacings, (0, 1, 2), order, periodic=(2,), periods={2: 360.0}
        )
        d = da.from_array(f, chunks=(1, 2, 3))
        got = bigrad.gradient(d, *spacings, edge_order=order, periodic=2, period=360.0)
        assert_matches_numpy(got, expected)


def test_two_point_periodic_axis() -> None:
    f = np.array([[1.0, 5.0], [2.0, 3.0]])
    expected = periodic_reference(f, (1.0, 1.0), (0, 1), periodic=(0, 1))
    assert_matches_numpy(bigrad.gradient(f, periodic=True, edge_order=2), expected)
    assert_matches_numpy(bigrad.gradient(da.from_array(f, chunks=1), periodic=True), expected)


def test_edge_order_has_no_effect_on_periodic_axis() -> None:
    f = da.from_array(RNG.random(9), chunks=2)
    a = bigrad.gradient(f, LON_UNEVEN[:9], periodic=True, period=360.0, edge_order=1)
    b = bigrad.gradient(f, LON_UNEVEN[:9], periodic=True, period=360.0, edge_order=2)
    np.testing.assert_array_equal(a.compute(), b.compute())


def test_period_implied_by_scalar_spacing() -> None:
    f = RNG.random(12)
    a = bigrad.gradient(f, 30.0, periodic=True)
    b = bigrad.gradient(f, 30.0, periodic=True, period=360.0)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", [4, 5, 8])
def test_coordinate_uneven_only_round_the_ends(n: int) -> None:
    # evenly spaced inside, not across the ends: the rules are the uneven stencils (a
    # second derivative's: 4 points) on the coordinate continued by the period, and the
    # halos as deep (they were planned for 3 points: the last point read past its halo,
    # and the numpy engine raised IndexError); 3 points are too few, as for any uneven
    # periodic coordinate
    with pytest.raises(ValueError, match="has 3 point"):
        bigrad.derivative(np.zeros(3), np.arange(3.0), order=2, periodic=True, period=3.5)
    from bigrad.core.weights import StencilSpec, fornberg

    x, period = np.arange(float(n)), n + 0.5
    f = np.random.default_rng(n).standard_normal(n)
    off, width = StencilSpec(order=2).layout(n, True, False).center
    xe, fe = np.concatenate([x - period, x, x + period]), np.tile(f, 3)
    want = [fornberg(xe[i + n + off + np.arange(width)] - x[i], 2)
            @ fe[i + n + off + np.arange(width)] for i in range(n)]  # fmt: skip
    for v in (f, da.from_array(f, chunks=1)):
        got = bigrad.derivative(v, x, order=2, periodic=True, period=period)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
