"""The sphere operators (the metric factors applied by the engine as it writes;
vorticity and divergence one engine call: the negated latitude stencil of one wind
added to the scaled longitude term of the other) give, bit for bit, the numbers of
their terms computed apart and combined with numpy (the composition they stand for),
on numpy, dask (chunks of 1 and 2) and Fortran-ordered input, for 3-D and 4-D
layouts, float32/float64 and ``nan=``; the engine's ``accumulate``, the negated
stencil, and mixed compute dtypes compiled."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest

import bigrad
from bigrad.core.args import check_spec
from bigrad.core.weights import StencilSpec, axis_rules
from bigrad.kernels import block_derivatives
from bigrad.operators import apply
from bigrad.sphere import EARTH_RADIUS, CosineDerivative, LatitudeLaplacian

LAT, LON = np.linspace(-90.0, 90.0, 7), np.arange(12) * 30.0  # global, poles included
# a regional grid for nan="one-sided" (which refuses a periodic longitude)
REGION_LAT, REGION_LON = np.array([-50.0, -41.0, -30.0, -22.0, -10.0, 0.0, 12.0]), np.arange(12.0)

OPERATORS = {
    "gradient": lambda u, v, lat, lon, **kw: bigrad.geospatial_gradient(u, lat, lon, **kw),
    "vorticity": lambda u, v, lat, lon, **kw: (bigrad.vorticity(u, v, lat, lon, **kw),),
    "divergence": lambda u, v, lat, lon, **kw: (bigrad.divergence(u, v, lat, lon, **kw),),
    "laplacian": lambda u, v, lat, lon, **kw: (bigrad.spherical_laplacian(u, lat, lon, **kw),),
}

LAYOUTS = [
    ((5, 7, 12), -2, -1),  # time, lat, lon
    ((2, 3, 7, 12), -2, -1),  # time, level, lat, lon: two leading axes merged
    ((2, 7, 3, 12), 1, 3),  # time, lat, level, lon
    ((7, 12, 3), 0, 1),  # lat, lon, level
]


def _winds(shape: tuple[int, ...], dtype: str, nan: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(len(shape))
    u, v = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    if nan:
        u[rng.random(shape) < 0.1] = np.nan
        v[rng.random(shape) < 0.1] = np.nan
    return u, v


def _chunks(shape: tuple[int, ...], lat_axis: int, lon_axis: int) -> tuple[Any, ...]:
    """Chunks of one along the other axes; sizes 1 and 2 along latitude and longitude."""
    special = {lat_axis % len(shape): (2, 1, 4), lon_axis % len(shape): (5, 1, 2, 4)}
    return tuple(special.get(i, (1,) * n) for i, n in enumerate(shape))


def _matrix(names: list[str], layouts: list[Any], quick: set[Any]) -> list[Any]:
    """Every combination; those not in ``quick`` (name, dtype, layout index) marked
    slow, so that the default run keeps a few."""
    return [
        pytest.param(
            name, dtype, *layout, marks=() if (name, dtype, i) in quick else pytest.mark.slow
        )
        for name in names
        for dtype in ("f4", "f8")
        for i, layout in enumerate(layouts)
    ]


QUICK = {
    ("vorticity", "f4", 0),  # the benchmark's case
    ("vorticity", "f8", 1),
    ("divergence", "f4", 2),
    ("divergence", "f8", 3),
    ("gradient", "f8", 1),
    ("laplacian", "f4", 2),
}


def _composed(name: str, u: np.ndarray, v: np.ndarray, lat_axis: int,
              lon_axis: int) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The operator's terms computed apart by the engine (numpy's kernels) and combined
    with numpy in the output's dtype: the longitude term times the metric, plus or
    minus the latitude term."""
    dtype = u.dtype
    lon = {"periodic": lon_axis % u.ndim, "period": 360.0}  # LON is the full circle
    shape = [1] * u.ndim
    shape[lat_axis] = LAT.size
    per_metre = (180.0 / np.pi) / EARTH_RADIUS
    with np.errstate(divide="ignore"):
        inv_cos = np.where(np.abs(LAT) == 90.0, np.nan, 1.0 / np.cos(np.deg2rad(LAT)))
    metric = (inv_cos * per_metre).reshape(shape).astype(dtype)
    if name == "laplacian":
        (d2,) = apply(u, (30.0,), lon_axis, check_spec(2, 2), **lon)
        (lat_term,) = apply(u, (LAT,), lat_axis, LatitudeLaplacian(2, EARTH_RADIUS))
        metric2 = ((inv_cos * per_metre) ** 2).reshape(shape).astype(dtype)
        return (d2 * metric2 + lat_term,)
    if name == "gradient":
        (dx,) = apply(u, (30.0,), lon_axis, check_spec(), **lon)
        (dy,) = apply(u, (30.0,), lat_axis, check_spec())
        return dx * metric, dy * dtype.type(per_metre)
    x, y, sign = (v, u, -1.0) if name == "vorticity" else (u, v, 1.0)
    (dx,) = apply(x, (30.0,), lon_axis, check_spec(), **lon)
    (dy,) = apply(y, (LAT,), lat_axis, CosineDerivative(2, EARTH_RADIUS))
    return (dx * metric + dy if sign > 0 else dx * metric - dy,)


@pytest.mark.usefixtures("engine")  # the compiled kernel scales as it writes
@pytest.mark.parametrize(("name", "dtype", "shape", "lat_axis", "lon_axis"),
                         _matrix(list(OPERATORS), LAYOUTS, QUICK))  # fmt: skip
def test_numpy_equals_dask_and_fortran_order(name: str, dtype: str, shape: tuple[int, ...],
                                             lat_axis: int, lon_axis: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    u, v = _winds(shape, dtype, nan=True)  # NaN spreads to neighbours the same way
    op, kw = OPERATORS[name], {"lat_axis": lat_axis, "lon_axis": lon_axis}
    eager = op(u, v, LAT, LON, **kw)
    chunks = _chunks(shape, lat_axis, lon_axis)
    lazy = op(da.from_array(u, chunks=chunks), da.from_array(v, chunks=chunks), LAT, LON, **kw)
    fortran = op(np.asfortranarray(u), np.asfortranarray(v), LAT, LON, **kw)
    monkeypatch.setenv("BIGRAD_ENGINE", "numpy")
    composed = _composed(name, u, v, lat_axis, lon_axis)
    for e, lz, f, c in zip(eager, lazy, fortran, composed, strict=True):
        assert type(e) is np.ndarray and e.dtype == np.dtype(dtype)
        assert np.isfinite(e).any() and np.isnan(e).any()
        np.testing.assert_array_equal(e, c)
        np.testing.assert_array_equal(e, lz.compute())
        np.testing.assert_array_equal(e, f)


@pytest.mark.parametrize(("name", "dtype", "shape", "lat_axis", "lon_axis"),
                         _matrix(["gradient", "vorticity", "divergence"], LAYOUTS[:3],
                                 {("vorticity", "f4", 1), ("divergence", "f8", 2)}))  # fmt: skip
def test_one_sided_numpy_equals_dask(name: str, dtype: str, shape: tuple[int, ...],
                                     lat_axis: int, lon_axis: int) -> None:  # fmt: skip
    u, v = _winds(shape, dtype, nan=True)
    op = OPERATORS[name]
    kw = {"lat_axis": lat_axis, "lon_axis": lon_axis, "periodic": False, "nan": "one-sided"}
    eager = op(u, v, REGION_LAT, REGION_LON, **kw)
    chunks = _chunks(shape, lat_axis, lon_axis)
    lazy = op(da.from_array(u, chunks=chunks), da.from_array(v, chunks=chunks), REGION_LAT,
              REGION_LON, **kw)  # fmt: skip
    for e, lz in zip(eager, lazy, strict=True):
        assert np.isfinite(e).any() and np.isnan(e).any()
        np.testing.assert_array_equal(e, lz.compute())


def test_mixed_dtypes_and_integers() -> None:
    # float32 u with float64 v: float64 out, the engine's float32 output not added to
    u, v = _winds((3, 7, 12), "f4", nan=False)
    want = bigrad.vorticity(u.astype("f8"), v.astype("f8"), LAT, LON)
    got = bigrad.vorticity(u.astype("f8"), v, LAT, LON)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    ints = (u * 10).astype("i4"), (v * 10).astype("i4")
    np.testing.assert_array_equal(bigrad.divergence(*ints, LAT, LON),
                                  bigrad.divergence(*(i.astype("f8") for i in ints), LAT, LON))  # fmt: skip


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_accumulate_adds_each_value_once(dtype: str) -> None:
    # rules in the data's dtype (as the sphere's latitude stencils are): the value as
    # computed without accumulate, added once
    rng = np.random.default_rng(5)
    f = rng.standard_normal((7, 9)).astype(dtype)
    base = rng.standard_normal((7, 9)).astype(dtype)
    empty = f[:0]
    lat = np.array([-60.0, -41.0, -30.0, -22.0, -10.0, 0.0, 12.0])
    cases = [(CosineDerivative(2, 1.0).rules(7, lat, np.dtype(dtype)), 0)]
    if dtype == "f8":
        cases.append((axis_rules(9, 0.5, StencilSpec(1, 4), np.dtype(dtype)), 1))
    for rules, axis in cases:
        halo = f[:0] if axis == 0 else f[:, :0]
        (d,) = block_derivatives(f, [(halo, halo)], [rules], [axis])
        out = base.copy()
        block_derivatives(f, [(halo, halo)], [rules], [axis], out=[out], accumulate=True)
        np.testing.assert_array_equal(out, base + d)
    with pytest.raises(ValueError, match="accumulate=True needs out="):
        block_derivatives(f, [(empty, empty)], [cases[0][0]], [0], accumulate=True)
    with pytest.raises(ValueError, match="out= and accumulate= are for numpy input"):
        apply(da.from_array(f), (0.5,), 1, StencilSpec(), out=[base], accumulate=True)


def test_negated_latitude_stencil_is_exact() -> None:
    lat = np.array([-90.0, -60.0, -35.0, 0.0, 20.0, 60.0, 90.0])
    for dtype in ("f4", "f8"):
        plain = CosineDerivative(2, 6.4e6).rules(7, lat, np.dtype(dtype))
        negated = CosineDerivative(2, 6.4e6, negate=True).rules(7, lat, np.dtype(dtype))
        np.testing.assert_array_equal(negated.weights, -plain.weights)
        np.testing.assert_array_equal(negated.segments(), plain.segments())


def test_latitude_weights_are_built_once_per_grid() -> None:
    # a call per time step reuses its grid's weights; another grid, dtype, radius or
    # sign gets its own
    lat = np.linspace(-80.0, 80.0, 17)
    first = CosineDerivative(2, 6.4e6).rules(17, lat, np.dtype("f4"))
    assert CosineDerivative(2, 6.4e6).rules(17, lat.copy(), np.dtype("f4")) is first
    moved = lat.copy()
    moved[3] += 0.5
    others = [
        CosineDerivative(2, 6.4e6).rules(17, moved, np.dtype("f4")),
        CosineDerivative(2, 6.4e6).rules(17, lat, np.dtype("f8")),
        CosineDerivative(2, 6.3e6).rules(17, lat, np.dtype("f4")),
        CosineDerivative(2, 6.4e6, negate=True).rules(17, lat, np.dtype("f4")),
        LatitudeLaplacian(2, 6.4e6).rules(17, lat, np.dtype("f4")),
    ]
    for rules in others:
        assert rules is not first
        assert not np.array_equal(rules.weights, first.weights)


@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_mixed_compute_dtypes_run_compiled_and_equal_numpy(
    dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # float32 data: the Laplacian's longitude rules compute in float64, its latitude
    # stencil in float32; the numba kernel runs each in a call of its own, in order
    u, _ = _winds((3, 7, 12), dtype, nan=False)
    got = {}
    for engine in ("numpy", "numba"):
        monkeypatch.setenv("BIGRAD_ENGINE", engine)
        got[engine] = bigrad.spherical_laplacian(u, LAT, LON)
    np.testing.assert_array_equal(got["numba"], got["numpy"])
    f = u[0]
    halos = [(f[:, :0], f[:, :0]), (f[:0], f[:0]), (f[:, :0], f[:, :0])]
    lon_rules = axis_rules(12, 30.0, StencilSpec(2, 2), np.dtype(dtype))
    lat_rules = LatitudeLaplacian(2, 1.0).rules(7, LAT, np.dtype(dtype))
    rules = [lon_rules, lat_rules, lon_rules]
    if dtype == "f4":
        assert [r.dtype for r in rules] == [np.float64, np.float32, np.float64]
    sums = {}
    for engine in ("numpy", "numba"):
        # three runs of one dtype each, summed in order
        (sums[engine],) = block_derivatives(f, halos, rules, [1, 0, 1], add=True, engine=engine)
    np.testing.assert_array_equal(sums["numba"], sums["numpy"])
