"""``nan="one-sided"``: every run of finite values differentiated as that run alone, on
any chunking, against a run-by-run oracle built from np.gradient."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bigrad
from bigrad.core.weights import coordinate_step
from tests.helpers import raise_if_dask_computes
from tests.strategies import chunkings, spacing

pytestmark = pytest.mark.usefixtures("engine")


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    ok = np.isfinite(line)
    runs, a = [], None
    for i, good in enumerate([*ok, False]):
        if good and a is None:
            a = i
        elif not good and a is not None:
            runs.append((a, i))
            a = None
    return runs


def _run_derivative(run: np.ndarray, x: Any, order: int, accuracy: int, edge_order: int,
                    uneven: bool = False) -> Any:  # fmt: skip
    """The oracle for one run: np.gradient (edge_order lowered to 1 for 2 points), or
    bigrad.derivative with the highest accuracy that fits; None: NaN.  ``uneven``: the
    axis's coordinate is uneven, so a run takes uneven stencils even where its own
    points are evenly spaced (bigrad.core.masked's rule; a wider stencil may then need
    more points): its last coordinate moved by one ulp makes it uneven to bigrad."""
    if run.size < 2:
        return None
    if order == 1 and accuracy == 2:
        return np.gradient(run, x, edge_order=edge_order if run.size > 2 else 1)
    if uneven and coordinate_step(x) is not None:
        x = np.asarray(x, dtype=np.float64).copy()
        x[-1] = np.nextafter(x[-1], 2 * x[-1] - x[-2])
    for acc in range(accuracy, 1, -2):
        try:
            return bigrad.derivative(run, x, order=order, accuracy=acc)
        except ValueError:
            continue
    if order == 1 and run.size >= 2:
        return np.gradient(run, x, edge_order=1)
    return None


def oracle(f: np.ndarray, dx: Any, axis: int, order: int = 1, accuracy: int = 2,
           edge_order: int = 1, uneven: bool = False) -> np.ndarray:  # fmt: skip
    """Run by run along ``axis``: each run of finite values alone, NaN elsewhere
    (``uneven``: see :func:`_run_derivative`)."""
    g = np.moveaxis(f, axis, -1)
    out = np.full(g.shape, np.nan, dtype=f.dtype)
    for idx in np.ndindex(*g.shape[:-1]):
        for a, b in _runs(g[idx]):
            x = dx[a:b] if np.ndim(dx) else dx
            d = _run_derivative(g[idx][a:b], x, order, accuracy, edge_order, uneven)
            if d is not None:
                out[idx][a:b] = d
    return np.moveaxis(out, -1, axis)


def periodic_oracle(f: np.ndarray, dx: Any, axis: int, period: Any = None, order: int = 1,
                    accuracy: int = 2, edge_order: int = 1) -> np.ndarray:  # fmt: skip
    """Round a periodic ``axis``: a line without a missing value is the plain periodic
    derivative; any other is rotated to start at a missing value, its runs taken by
    :func:`oracle` with the coordinate continued by ``period``, and rotated back."""
    g = np.moveaxis(f, axis, -1)
    out = np.empty(g.shape, dtype=f.dtype)
    for idx in np.ndindex(*g.shape[:-1]):
        line = g[idx]
        missing = np.flatnonzero(~np.isfinite(line))
        if not missing.size:
            out[idx] = bigrad.derivative(line, dx, order=order, accuracy=accuracy, periodic=True,
                                         period=period)  # fmt: skip
            continue
        z = missing[0]
        x, uneven = dx, False
        if np.ndim(dx):
            c = dx.astype(np.float64) if dx.dtype.kind in "iu" else dx
            shift = period if c[-1] > c[0] else -period
            x = np.concatenate([c[z:], c[:z] + shift])
            # round the ends, the coordinate continued by the period: uneven unless the
            # period is its step times its length
            uneven = coordinate_step(np.append(c, c[0] + shift)) is None
        rotated = oracle(np.roll(line, -z)[None], x, 1, order, accuracy, edge_order, uneven)[0]
        out[idx] = np.roll(rotated, z)
    return np.moveaxis(out, -1, axis)


@st.composite
def masked_field(draw: Any, dtype: Any = np.float64) -> tuple[np.ndarray, Any]:
    """A 2-D field with NaN in one of several patterns, and its chunking."""
    shape = (draw(st.integers(1, 9)), draw(st.integers(1, 14)))
    chunks = draw(chunkings(shape))
    f = np.random.default_rng(shape[0] * 31 + shape[1]).standard_normal(shape).astype(dtype)
    kind = draw(st.sampled_from(["points", "island", "half", "faces", "dense", "none"]))
    mask = np.zeros(shape, bool)
    if kind == "points":
        for _ in range(draw(st.integers(1, 4))):
            mask[draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))] = True
    elif kind == "island":
        r0, c0 = draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))
        mask[r0 : r0 + draw(st.integers(1, 4)), c0 : c0 + draw(st.integers(1, 5))] = True
    elif kind == "half":
        mask[:, draw(st.integers(0, shape[1])) :] = True
    elif kind == "faces":
        # NaN exactly on the first or last point of chunks along the last axis
        faces = np.cumsum((0, *chunks[1]))[:-1] + (draw(st.booleans()) * (np.array(chunks[1]) - 1))
        mask[:, faces] = True
    elif kind == "dense":
        mask = np.random.default_rng(draw(st.integers(0, 99))).random(shape) < 0.4
    f[mask] = np.nan
    return f, chunks


@settings(max_examples=80)
@given(data=st.data(), edge_order=st.sampled_from([1, 2]))
def test_gradient_any_chunking(data: Any, edge_order: int) -> None:
    f, chunks = data.draw(masked_field())
    axis = data.draw(st.sampled_from([0, 1]))
    if f.shape[axis] < edge_order + 1:
        return  # too short for np.gradient itself: the plain checks reject it
    dx = data.draw(spacing(f.shape[axis]))
    want = oracle(f, dx, axis, edge_order=edge_order)
    for x in (f, da.from_array(f, chunks=chunks)):
        got = np.asarray(bigrad.gradient(x, dx, axis=axis, edge_order=edge_order, nan="one-sided"))
        if np.ndim(dx):
            # a coordinate: numpy's non-uniform formulas, to rounding where a run's own
            # coordinate happens to be evenly spaced (np.gradient then uses its step)
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
        else:
            np.testing.assert_array_equal(got, want)


@settings(max_examples=60)
@given(data=st.data(), order=st.sampled_from([1, 2]), accuracy=st.sampled_from([2, 4, 6]))
def test_derivative_any_chunking(data: Any, order: int, accuracy: int) -> None:
    f, chunks = data.draw(masked_field())
    f = np.concatenate([f] * 3, axis=1)  # long enough lines for the wider stencils
    chunks = (chunks[0], chunks[1] * 3)
    try:
        bigrad.derivative(np.zeros(f.shape[1]), order=order, accuracy=accuracy)
    except ValueError:
        return  # too short for the stencils themselves: the plain checks reject it
    dx = data.draw(st.sampled_from([0.5, None]))
    if dx is None:
        dx = np.cumsum(np.random.default_rng(f.shape[1]).uniform(0.2, 2.0, f.shape[1]))
    want = oracle(f, dx, 1, order, accuracy, edge_order=2)
    for x in (f, da.from_array(f, chunks=chunks)):
        got = bigrad.derivative(x, dx, axis=1, order=order, accuracy=accuracy, nan="one-sided")
        np.testing.assert_array_equal(np.asarray(got), want)


@settings(max_examples=80)
@given(data=st.data(), stencil=st.sampled_from([(1, 2, 1), (1, 2, 2), (1, 4, 2), (2, 2, 2)]),
       dtype=st.sampled_from([np.float64, np.float32]))  # fmt: skip
def test_periodic_any_chunking(data: Any, stencil: tuple[int, int, int], dtype: Any) -> None:
    # round a periodic axis a run may cross the ends: it is differentiated as that run
    # alone, with its coordinate continued by the period
    order, accuracy, edge_order = stencil
    f, chunks = data.draw(masked_field(dtype))
    axis = data.draw(st.sampled_from([0, 1]))
    n = f.shape[axis]
    dx, period = data.draw(spacing(n)), None
    if np.ndim(dx):
        period = abs(float(dx[-1] - dx[0])) + data.draw(st.floats(0.1, 10.0))
    try:  # the plain checks: too short a periodic axis for the stencil
        bigrad.derivative(np.zeros(n), dx, order=order, accuracy=accuracy, periodic=True,
                          period=period)  # fmt: skip
    except ValueError:
        return
    want = periodic_oracle(f, dx, axis, period, order, accuracy, edge_order)
    for x in (f, da.from_array(f, chunks=chunks)):
        if (order, accuracy) == (1, 2):
            got = bigrad.gradient(x, dx, axis=axis, edge_order=edge_order, periodic=True,
                                  period=period, nan="one-sided")  # fmt: skip
        else:
            got = bigrad.derivative(x, dx, axis=axis, order=order, accuracy=accuracy,
                                    periodic=True, period=period, nan="one-sided")  # fmt: skip
        if np.ndim(dx):  # to rounding, as in test_gradient_any_chunking
            rtol = 1e-4 if dtype == np.float32 else 1e-11
            np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=rtol)
        else:
            np.testing.assert_array_equal(np.asarray(got), want)


def test_periodic_run_across_the_ends() -> None:
    # a linear ramp round the circle, cut by land: exact on every run, those crossing
    # the ends included (a coordinate there takes the period), NaN on land only
    lon = np.arange(0.0, 360.0, 7.5)
    f = np.tile(2.0 * lon, (3, 1))
    f[:, 12:20] = np.nan  # land in the middle: the run round the ends is 40 points
    f[1, 3] = np.nan
    f = f - np.where(lon < 90.0, 0.0, 720.0)  # continuous across the ends
    f[:, 12:20] = np.nan
    for x in (f, da.from_array(f, chunks=(2, (1, 2, 30, 12, 3)))):
        for dx, period in ((7.5, None), (lon, 360.0)):
            d = np.asarray(bigrad.gradient(x, dx, axis=1, periodic=True, period=period,
                                           edge_order=2, nan="one-sided"))  # fmt: skip
            np.testing.assert_array_equal(np.isnan(d), np.isnan(f))
            np.testing.assert_allclose(d[np.isfinite(f)], 2.0, rtol=1e-12)


@settings(max_examples=30)
@given(data=st.data())
def test_laplacian_float32(data: Any) -> None:
    f, chunks = data.draw(masked_field(np.float32))
    if min(f.shape) < 4:
        return
    want = oracle(f, 1.0, 0, 2, 2) + oracle(f, 1.0, 1, 2, 2)
    got = bigrad.laplacian(da.from_array(f, chunks=chunks), nan="one-sided")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.compute(), want)


def test_linear_field_exact_to_the_coast() -> None:
    y, x = np.mgrid[0:20, 0:30].astype(float)
    f = 3.0 * x - 2.0 * y
    island = (abs(y - 9) < 4) & (abs(x - 14) < 6)
    f[island] = np.nan
    dy, dx = bigrad.gradient(da.from_array(f, chunks=(3, (1, 2, 13, 1, 13))), nan="one-sided")
    for d, value in ((dy.compute(), -2.0), (dx.compute(), 3.0)):
        np.testing.assert_array_equal(np.isnan(d), island)
        assert (d[~island] == value).all()
    # numpy spreads the NaN one point into the sea along each axis
    assert np.isnan(np.gradient(f)[1]).sum() > island.sum()


def test_lazy_and_valid() -> None:
    f = np.random.default_rng(1).standard_normal((12, 16))
    f[3:6, 4:9] = np.nan
    d = da.from_array(f, chunks=(1, 3))
    with raise_if_dask_computes():
        outs = [
            *bigrad.gradient(d, nan="one-sided"),
            bigrad.derivative(d, order=2, accuracy=4, nan="one-sided"),
            bigrad.laplacian(d, nan="one-sided"),
        ]
    for out in outs:
        out.dask.validate()
        assert out.chunks == d.chunks


def test_propagate_is_numpy() -> None:
    f = np.random.default_rng(2).standard_normal((5, 7))
    f[2, 3] = np.nan
    np.testing.assert_array_equal(bigrad.gradient(f, nan="propagate")[1], np.gradient(f)[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"nan": "omit"}, "nan must be one of"),
        (
            {"nan": "one-sided", "periodic": True, "axis": 1, "edge_order": 2},
            r"periodic axis 1 has 1 point\(s\), too few",
        ),
    ],
)
def test_errors(kwargs: dict[str, Any], match: str) -> None:
    with raise_if_dask_computes(), pytest.raises(ValueError, match=match):
        bigrad.gradient(da.zeros((4, 1), chunks=2), **kwargs)
