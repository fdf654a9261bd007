"""The compiled ``nan="one-sided"`` redo (bigrad.kernels.masked_numba) against the numpy
reference, number for number, and against the run-by-run oracle."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bigrad
from bigrad.core.masked import nan_stencil, run_rules
from bigrad.core.weights import StencilSpec, coordinate_step, evenly_spaced
from tests.strategies import chunkings
from tests.test_masked import oracle

#: an uneven coordinate round a circle of 400 (its ends 4 apart)
LON = np.cumsum(np.random.default_rng(3).uniform(2.0, 8.0, 70))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "chunks", [None, pytest.param((8, 1, 35), marks=pytest.mark.slow), (16, 13, 70)]
)
def test_compiled_redo_is_the_reference(monkeypatch: pytest.MonkeyPatch, dtype: Any,
                                        chunks: Any) -> None:  # fmt: skip
    # fields large enough for the compiled redo's word-at-a-time skips, 3-D for its
    # middle-axis sweep; runs of every length, NaN and inf, and a NaN plane
    rng = np.random.default_rng(5)
    f = rng.standard_normal((16, 13, 70)).astype(dtype)
    f[rng.random(f.shape) < 0.08] = np.nan
    f[3:9, 2:7, 20:45] = np.nan
    f[:, :, 60] = np.inf
    f[5] = np.nan
    x = f if chunks is None else da.from_array(f, chunks=chunks)
    calls = {
        "gradient": lambda: bigrad.gradient(x, 0.5, nan="one-sided"),
        "derivative": lambda: [bigrad.derivative(x, 2.0, axis=a, order=2, accuracy=4,
                                                 nan="one-sided") for a in range(3)],
        "laplacian": lambda: [bigrad.laplacian(x, nan="one-sided")],
        # float32: short runs take numpy's gradient in float32, long ones weights in float64
        "accuracy 4": lambda: [bigrad.derivative(x, 0.5, axis=a, accuracy=4, nan="one-sided")
                               for a in range(3)],
        "periodic": lambda: [*bigrad.gradient(x, 0.5, periodic=True, nan="one-sided"),
                             bigrad.derivative(x, 2.0, axis=1, order=2, accuracy=4,
                                               periodic=True, nan="one-sided")],
        "periodic coordinate": lambda: [bigrad.gradient(x, lon, axis=a, periodic=True,
                                                        period=400.0, nan="one-sided")
                                        for a, lon in ((0, LON[:16]), (2, LON))],
    }  # fmt: skip
    for name, call in calls.items():
        results = {}
        for engine in ("numpy", "numba"):
            monkeypatch.setenv("BIGRAD_ENGINE", engine)
            results[engine] = [np.asarray(r) for r in call()]
        for a, b in zip(results["numpy"], results["numba"], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    want = oracle(np.asarray(f), 0.5, 1)
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    np.testing.assert_array_equal(
        np.asarray(bigrad.gradient(x, 0.5, axis=1, nan="one-sided")), want
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slab_rows", [1, 3, 7])
def test_slabs_are_the_reference(monkeypatch: pytest.MonkeyPatch, dtype: Any,
                                 slab_rows: int) -> None:  # fmt: skip
    # the compiled redo cuts a block into slabs along axis 0 (their halo rows from the
    # block): slabs of the stencil's depth and more, NaN on and next to slab faces, runs
    # crossing them, a remainder joined to the last slab, 2-D and 3-D, numpy and dask
    from bigrad.kernels import masked_numba

    rng = np.random.default_rng(11)
    f = rng.standard_normal((47, 6, 33)).astype(dtype)
    f[rng.random(f.shape) < 0.1] = np.nan
    f[8:12, :, 5:20] = np.nan  # a short stretch along axis 0 across a slab face
    f[16, :, :] = np.nan
    f[20:31, 2, :] = np.inf
    monkeypatch.setattr(masked_numba, "SLAB_BYTES", slab_rows * f[0].nbytes)
    cases = {
        "3-D gradient": lambda x: bigrad.gradient(x, 0.5, nan="one-sided"),
        "2-D gradient": lambda x: bigrad.gradient(x[:, 3], nan="one-sided", edge_order=2),
        "derivative": lambda x: [bigrad.derivative(x, 2.0, axis=0, order=2, accuracy=4,
                                                   nan="one-sided")],
        "laplacian": lambda x: [bigrad.laplacian(x[:, 1], nan="one-sided")],
    }  # fmt: skip
    for name, call in cases.items():
        for x in (f, da.from_array(f, chunks=(20, 6, 17))):
            results = {}
            for engine in ("numpy", "numba"):
                monkeypatch.setenv("BIGRAD_ENGINE", engine)
                results[engine] = [np.asarray(r) for r in call(x)]
            for a, b in zip(results["numpy"], results["numba"], strict=True):
                np.testing.assert_array_equal(a, b, err_msg=name)
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    np.testing.assert_array_equal(
        np.asarray(bigrad.gradient(f, 0.5, axis=0, nan="one-sided")), oracle(f, 0.5, 0)
    )
    # 1-D: slabs of points
    line = f[:, 2, 7]
    monkeypatch.setattr(masked_numba, "SLAB_BYTES", slab_rows * line.itemsize)
    np.testing.assert_array_equal(np.asarray(bigrad.gradient(line, nan="one-sided")),
                                  oracle(line, 1.0, 0))  # fmt: skip


@st.composite
def _missing_field(draw: Any) -> tuple[np.ndarray, Any]:
    """A float32 or float64 field of 1-3 dimensions with NaN and inf at random points
    (none to most of them: runs of every length, some on chunk faces), and a chunking."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    f = rng.standard_normal(shape).astype(draw(st.sampled_from([np.float32, np.float64])))
    f[rng.random(shape) < draw(st.sampled_from([0.0, 0.1, 0.4, 0.8]))] = np.nan
    f[rng.random(shape) < draw(st.sampled_from([0.0, 0.05]))] = draw(
        st.sampled_from([np.inf, -np.inf])
    )
    return f, draw(chunkings(shape))


def _step(kind: Any, n: int, data: Any) -> Any:
    """A step, or a coordinate of ``n`` points: evenly spaced (numpy takes its step) or
    uneven, with or without an evenly spaced stretch."""
    if not isinstance(kind, str):
        return kind
    if kind == "int":
        return np.arange(n) * 3 - 7
    if kind in ("f8", "f4"):
        return (np.arange(n) * 0.25 - 10.0).astype(kind)
    steps = np.array(data.draw(st.lists(st.floats(0.1, 3.0), min_size=n, max_size=n)))
    if kind == "stretch":
        steps[n // 3 : 2 * n // 3] = 0.5
    x = np.cumsum(steps) - 4.0
    return x.astype(np.float32) if kind == "uneven f4" else x


@settings(max_examples=60, deadline=None)
@given(data=st.data(), edge_order=st.sampled_from([1, 2]))
def test_one_pass_is_the_reference(monkeypatch: pytest.MonkeyPatch, data: Any,
                                   edge_order: int) -> None:  # fmt: skip
    # numpy's gradient on a step or a coordinate (evenly spaced: numpy reduces it to its
    # step) takes the compiled one-pass kernel (the plain kernel and the redo are not
    # called for it): number for number the numpy reference's
    from bigrad.kernels import masked, masked_numba

    f, chunks = data.draw(_missing_field())
    long = [a for a in range(f.ndim) if f.shape[a] > edge_order]
    if not long:
        return  # too short for np.gradient along every axis: refused as numpy does
    # any subset of the axes, each its own type of step (the last axis's lines go with
    # another axis's rows where their compute dtypes agree, else alone)
    axes = tuple(sorted(data.draw(st.sets(st.sampled_from(long), min_size=1))))
    kinds = [1.0, 0.3, np.float32(0.7), np.float64(2.5), "f8", "f4", "int", "uneven",
             "uneven f4", "stretch"]  # fmt: skip
    steps = [_step(data.draw(st.sampled_from(kinds)), f.shape[a], data) for a in axes]
    calls: list[Any] = []
    monkeypatch.setattr(masked_numba, "fix_block", lambda *a, **k: calls.append(a))
    reference = masked.fix_axis
    for x in (f, da.from_array(f, chunks=chunks)):
        results = {}
        for engine in ("numpy", "numba"):
            monkeypatch.setenv("BIGRAD_ENGINE", engine)
            if engine == "numba":  # nor the numpy redo of a coordinate's runs

                def redo(*a: Any) -> None:
                    calls.extend([a] if a[4].coord is not None else [])
                    reference(*a)

                monkeypatch.setattr(masked, "fix_axis", redo)
            got = bigrad.gradient(x, *steps, axis=axes, edge_order=edge_order, nan="one-sided")
            results[engine] = [np.asarray(g) for g in (got if len(axes) > 1 else [got])]
            monkeypatch.setattr(masked, "fix_axis", reference)
        for a, b in zip(results["numpy"], results["numba"], strict=True):
            np.testing.assert_array_equal(a, b)
    assert not calls
    for axis, step, got in zip(axes, steps, results["numba"], strict=True):
        want = oracle(f, step, axis, edge_order=edge_order)
        if np.ndim(step) and coordinate_step(step) is None:
            # alone, a run that happens to be evenly spaced takes numpy's step formulas
            # (a float32 coordinate's weights are float32's: rounded as such)
            tol = 1e-6 if np.float32 in (f.dtype, np.asarray(step).dtype) else 1e-12
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_pass_long_rows(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    # long rows along axis 0 (8500 columns: a plane of 5 x 1700), slabs of one row, NaN
    # and inf in runs across the rows' middle, a step and an uneven coordinate
    rng = np.random.default_rng(4)
    f = rng.standard_normal((7, 5, 1700)).astype(dtype)
    f[rng.random(f.shape) < 0.1] = np.nan
    flat = f.reshape(7, -1)
    flat[2:4, 4094:4099] = np.nan
    flat[5, 8190:8194] = np.inf
    lat = np.cumsum(rng.random(7) + 0.2)
    results = {}
    for engine in ("numpy", "numba"):
        monkeypatch.setenv("BIGRAD_ENGINE", engine)
        results[engine] = [bigrad.gradient(f, step, axis=0, edge_order=e, nan="one-sided")
                           for step in (0.5, lat) for e in (1, 2)]  # fmt: skip
    for a, b in zip(results["numpy"], results["numba"], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cut", [1, 3])
@pytest.mark.parametrize("uneven", [False, True])
@pytest.mark.parametrize("unit", ["plane", "row"])
def test_one_pass_slabs_and_pieces(monkeypatch: pytest.MonkeyPatch, dtype: Any, cut: int,
                                   uneven: bool, unit: str) -> None:  # fmt: skip
    # the one pass cuts a block into slabs of rows along axis 0 (a 1-D block into pieces
    # of a line, their halos the points beside them): cuts of 1 and 3 rows (pieces of 2
    # and 6 points), or slabs smaller than a row (one row each), NaN and inf on and next
    # to every cut, runs across them; a step, or uneven coordinates (each point its own
    # rules); numpy input and dask's blocks with halos
    from bigrad.kernels import masked_numba

    rng = np.random.default_rng(3)
    f = rng.standard_normal((23, 5, 19)).astype(dtype)
    f[rng.random(f.shape) < 0.15] = np.nan
    f[7:9, 1:4, :] = np.nan
    f[12, :, 3] = np.inf
    line = f[:, 2, 4].copy()
    line[[5, 6, 11]] = [np.nan, np.inf, np.nan]
    monkeypatch.setattr(masked_numba, "SELECT_SLAB_BYTES",
                        cut * (f[0].nbytes if unit == "plane" else f[0, 0].nbytes))  # fmt: skip
    monkeypatch.setattr(masked_numba, "_PIECE", 2 * cut)
    for x in (f, f[:, 1], line, da.from_array(f, chunks=((9, 14), (2, 3), (19,)))):
        for edge_order in (1, 2):
            results = {}
            for engine in ("numpy", "numba"):
                monkeypatch.setenv("BIGRAD_ENGINE", engine)
                spacing = [np.cumsum(np.random.default_rng(n).random(n) + 0.1) if uneven
                           else 0.25 for n in x.shape]  # fmt: skip
                got = bigrad.gradient(x, *spacing, edge_order=edge_order, nan="one-sided")
                results[engine] = [np.asarray(g) for g in (got if x.ndim > 1 else [got])]
            for a, b in zip(results["numpy"], results["numba"], strict=True):
                np.testing.assert_array_equal(a, b)


def test_one_pass_beside_the_redo(monkeypatch: pytest.MonkeyPatch) -> None:
    # numpy's gradient takes the one pass (a step or a coordinate), a derivative of
    # accuracy 4 the redo, in one call: every component the numpy reference's
    rng = np.random.default_rng(0)
    f = rng.standard_normal((30, 40, 25))
    f[rng.random(f.shape) < 0.2] = np.nan
    f[3] = np.inf
    c = np.cumsum(rng.random(40) + 0.1)
    results = {}
    for engine in ("numpy", "numba"):
        monkeypatch.setenv("BIGRAD_ENGINE", engine)
        for x in (f, da.from_array(f, chunks=(11, 17, 9))):
            got = [*bigrad.gradient(x, 0.5, c, 2.0, nan="one-sided", edge_order=2),
                   bigrad.derivative(x, 0.5, axis=0, accuracy=4, nan="one-sided")]  # fmt: skip
            results.setdefault(engine, []).extend(np.asarray(g) for g in got)
    for a, b in zip(results["numpy"], results["numba"], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(results["numba"][1], oracle(f, c, 1, edge_order=2),
                               rtol=1e-11, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize(
    "spec",
    [
        StencilSpec(edge_order=1),
        StencilSpec(edge_order=2),
        StencilSpec(1, 4),
        StencilSpec(1, 6),
        StencilSpec(2, 2),
        StencilSpec(2, 4),
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    ("coord", "data"),
    [
        (np.float64, np.float64),
        (np.float64, np.float32),
        (np.float32, np.float32),
        (np.int64, np.float32),
    ],
)
def test_run_points_are_each_runs_own_rules(spec: Any, coord: Any, data: Any) -> None:
    # on an uneven coordinate the redo builds a group's rules for all its runs at once:
    # bit for bit the rules of each run built alone from its own coordinates (where
    # those are uneven: an evenly spaced run alone takes its step's, see core.masked)
    x = np.cumsum(np.random.default_rng(7).integers(1, 1000, 40)).astype(coord)
    rules = nan_stencil(spec, "one-sided").rules(40, x, np.dtype(data))
    for length in range(1, rules.stencil.shortest + 1):
        firsts = np.arange(0, 40 - length + 1, 5)
        for loc in range(length):
            got = rules.run_points(firsts, length, loc)
            for j, f0 in enumerate(firsts):
                window = x[f0 : f0 + length]
                if length > 2 and evenly_spaced(np.diff(window.astype(np.float64))):
                    continue
                alone = run_rules(spec, length, window, np.dtype(data))
                if alone is None or got is None:
                    assert alone is None and got is None
                    continue
                form, off, width, weights, divisor = alone.point(loc)
                assert got[:3] == (form, off, width)
                np.testing.assert_array_equal(got[3][:, j], weights)
                assert got[3].dtype == weights.dtype and got[4][j] == divisor
