"""derivative and laplacian against independent oracles: SymPy's exact weights and
derivatives, findiff, np.gradient, polynomials; on numpy and dask input of many
chunkings, with both kernels."""

from __future__ import annotations

from typing import Any

import dask.array as da
import findiff
import hypothesis.strategies as st
import numpy as np
import pytest
import sympy
from hypothesis import given, settings

import bigrad
from bigrad.core.weights import fornberg
from tests.helpers import raise_if_dask_computes
from tests.strategies import chunking, chunkings, coordinate

pytestmark = pytest.mark.usefixtures("engine")

SPECS = [(order, acc) for order in (1, 2) for acc in (2, 4, 6)]
RNG = np.random.default_rng(11)


def both(f: np.ndarray, chunks: Any, fn: Any) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` on numpy input and on dask input of ``chunks``; the two are bit-identical."""
    eager = fn(f)
    lazy = fn(da.from_array(f, chunks=chunks))
    assert lazy.chunks == da.from_array(f, chunks=chunks).chunks
    lazy = lazy.compute()
    np.testing.assert_array_equal(lazy, eager)
    return eager, lazy


@pytest.mark.parametrize("order", [1, 2])
@given(offsets=st.lists(st.integers(-4, 4), min_size=4, max_size=7, unique=True))
def test_fornberg_equals_sympy(order: int, offsets: list[int]) -> None:
    exact = sympy.finite_diff_weights(order, offsets, 0)[order][-1]
    got = fornberg(np.array(offsets, dtype=float), order)
    np.testing.assert_allclose(got, np.array(exact, dtype=float), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("order", "accuracy"), SPECS)
@pytest.mark.parametrize("periodic", [False, True])
@settings(max_examples=15)
@given(data=st.data())
def test_uniform_equals_findiff(order: int, accuracy: int, periodic: bool, data: Any) -> None:
    shape = (data.draw(st.integers(10, 15)), data.draw(st.integers(1, 4)))
    f = RNG.standard_normal(shape)
    axis, h = data.draw(st.sampled_from([0, -2])), data.draw(st.sampled_from([0.37, 2.0, -0.5]))
    # findiff takes positive steps only: a negative step flips odd derivatives
    op = findiff.Diff(axis % 2, abs(h), acc=accuracy, periodic=periodic) ** order
    expected = op(f) * np.sign(h) ** order

    def fn(x: Any) -> Any:
        return bigrad.derivative(x, h, axis=axis, order=order, accuracy=accuracy, periodic=periodic)

    got, _ = both(f, data.draw(chunkings(shape)), fn)
    # findiff multiplies by 1/h**order and solves for its weights; both differ in rounding
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * scale)


@pytest.mark.parametrize("dtype", ["f8", "f4"])
@settings(max_examples=15)
@given(data=st.data())
def test_first_order_accuracy_two_is_numpys_edge_order_two(dtype: str, data: Any) -> None:
    n = data.draw(st.integers(3, 12))
    f = (10 * RNG.standard_normal((n, 3))).astype(dtype)
    spacing: Any = data.draw(st.sampled_from([1.0, 0.3, np.float64(0.7), "coordinate"]))
    if isinstance(spacing, str):
        spacing = data.draw(coordinate(n))
    expected = np.gradient(f, spacing, axis=0, edge_order=2)
    got, _ = both(f, data.draw(chunkings(f.shape)),
                  lambda x: bigrad.derivative(x, spacing, axis=0))  # fmt: skip
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("accuracy", [4, 6])
def test_long_coordinate_exact_for_polynomials(accuracy: int) -> None:
    # a coordinate longer than the blocks of stencils whose weights are computed at a
    # time (40,000 points): every point, the blocks' edges among them, its own weights
    # (first derivatives: a second's rounding grows as the square of points per unit)
    x = np.cumsum(0.5 + np.random.default_rng(3).random(40_000)) / 40_000
    p = np.polynomial.Polynomial(np.random.default_rng(accuracy).standard_normal(1 + accuracy))
    got = bigrad.derivative(p(x), x, accuracy=accuracy)
    exact = p.deriv()(x)
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-8 * np.max(np.abs(exact)))


@pytest.mark.parametrize(("order", "accuracy"), SPECS)
@settings(max_examples=15)
@given(data=st.data())
def test_nonuniform_exact_for_polynomials(order: int, accuracy: int, data: Any) -> None:
    # degree order + accuracy - 1 at every point, the edges included
    n = data.draw(st.integers(order + accuracy + accuracy // 2 + 2, 16))
    x = data.draw(coordinate(n)) / 10.0
    p = np.polynomial.Polynomial(RNG.standard_normal(order + accuracy))
    f = np.stack([p(x), 2 * p(x)], axis=1)
    exact = np.stack([p.deriv(order)(x), 2 * p.deriv(order)(x)], axis=1)

    def fn(v: Any) -> Any:
        return bigrad.derivative(v, x, axis=0, order=order, accuracy=accuracy)

    got, _ = both(f, data.draw(chunkings(f.shape)), fn)
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-7 * np.max(np.abs(exact)) + 1e-9)


@pytest.mark.parametrize(("order", "accuracy"), SPECS)
def test_convergence_order_on_a_graded_grid(order: int, accuracy: int) -> None:
    # exact derivative from SymPy; the observed order of the largest error, edges included
    s = sympy.Symbol("s")
    expr = sympy.sin(3 * s) * sympy.exp(s / 2)
    f_of, d_of = sympy.lambdify(s, expr), sympy.lambdify(s, sympy.diff(expr, s, order))
    errors, steps = [], []
    # coarser grids for higher accuracy: the errors stay above rounding
    for n in {2: (80, 160, 320), 4: (40, 80, 160), 6: (30, 60, 120)}[accuracy]:
        u = np.linspace(0.0, 1.0, n)
        x = u + 0.3 * u**2  # steps grow by 60% along the axis
        got = bigrad.derivative(f_of(x), x, order=order, accuracy=accuracy)
        errors.append(np.max(np.abs(got - d_of(x))))
        steps.append(1.0 / n)
    observed = np.log(errors[-2] / errors[-1]) / np.log(steps[-2] / steps[-1])
    assert observed >= accuracy - 0.3, (errors, observed)


@settings(max_examples=15)
@given(data=st.data())
def test_periodic_nonuniform_matches_extended_reference(data: Any) -> None:
    # a periodic coordinate: the same as the derivative of the wrapped data's middle
    n = data.draw(st.integers(8, 14))
    x = np.sort(RNG.uniform(0.0, 360.0, n))
    x = np.unique(x)
    n = x.size
    f = np.cos(np.deg2rad(x))[:, None] * np.ones((1, 2))
    got, _ = both(
        f, data.draw(chunkings(f.shape)),
        lambda v: bigrad.derivative(v, x, axis=0, accuracy=4, periodic=True, period=360.0),
    )  # fmt: skip
    r = 3
    xe = np.concatenate([x[-r:] - 360.0, x, x[:r] + 360.0])
    fe = np.concatenate([f[-r:], f, f[:r]])
    ref = bigrad.derivative(fe, xe, axis=0, accuracy=4)[r:-r]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("accuracy", [2, 4, 6])
# six parameter sets (with both engines) of dask graphs with chunks down to 1: an eighth
# of the profile's examples each (8 by default, 125 with the thorough profile)
@settings(max_examples=max(8, settings.default.max_examples // 8))
@given(data=st.data())
def test_laplacian_is_the_sum_of_second_derivatives(accuracy: int, data: Any) -> None:
    shape = tuple(data.draw(st.integers(10, 12)) for _ in range(3))
    f = RNG.standard_normal(shape)
    h = (0.5, 2.0, 1.5)
    periodic = data.draw(st.sampled_from([False, (1,), True]))
    wrap = set(range(3)) if periodic is True else set(periodic or ())
    terms = [bigrad.derivative(f, h[a], axis=a, order=2, accuracy=accuracy, periodic=a in wrap)
             for a in range(3)]  # fmt: skip
    got, _ = both(
        f, data.draw(chunkings(shape)),
        lambda v: bigrad.laplacian(v, *h, accuracy=accuracy, periodic=periodic),
    )  # fmt: skip
    np.testing.assert_array_equal(got, (terms[0] + terms[1]) + terms[2])


def test_laplacian_equals_findiff() -> None:
    f = RNG.standard_normal((12, 13))
    expected = findiff.Laplacian(h=[0.3, 0.7], acc=4)(f)
    got = bigrad.laplacian(f, 0.3, 0.7, accuracy=4)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.max(np.abs(expected)))


def test_laplacian_of_a_quadratic_on_a_nonuniform_grid() -> None:
    x = np.cumsum(RNG.uniform(0.5, 1.5, 9))
    y = np.cumsum(RNG.uniform(0.5, 1.5, 10))
    xx, yy = np.meshgrid(x, y, indexing="ij")
    f = 3 * xx**2 - yy**2 + xx * yy
    got = bigrad.laplacian(da.from_array(f, chunks=(2, 3)), x, y).compute()
    np.testing.assert_allclose(got, np.full_like(f, 4.0), rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"order": 3}, ValueError, "order must be 1 or 2, got 3"),
        ({"order": 1.0}, TypeError, "order must be 1 or 2"),
        ({"accuracy": 3}, ValueError, "accuracy must be 2, 4 or 6, got 3"),
        ({"accuracy": 6, "order": 2}, ValueError, "axis 1 has 6 point.*need 10; lower accuracy"),
        ({"axis": (0, 1)}, TypeError, "axis must be one integer"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        bigrad.derivative(np.zeros((4, 6)), **kwargs)


def test_turning_coordinate_refused_for_wide_stencils() -> None:
    x = np.array([0.0, 1.0, 3.0, 2.5, 4.0, 5.0, 6.0])
    with pytest.raises(ValueError, match=r"turns back at index 2 \(value 3.0\)"):
        bigrad.derivative(np.zeros(7), x, accuracy=4)


@pytest.mark.parametrize("fn", ["derivative", "laplacian", "gradient"])
def test_lazy_and_valid_graphs(fn: str) -> None:
    f = da.from_array(RNG.standard_normal((9, 10)), chunks=((1, 2, 6), (10,)))
    x = da.from_array(np.cumsum(RNG.uniform(0.5, 1.5, 9)), chunks=4)
    with raise_if_dask_computes():
        if fn == "derivative":
            outs = [bigrad.derivative(f, x, axis=0, order=2, accuracy=4)]
        elif fn == "laplacian":
            outs = [bigrad.laplacian(f, x, 1.0)]
        else:
            outs = list(bigrad.gradient(f, x, 1.0))
            outs.append(bigrad.gradient(f, axis=1))  # one chunk along the axis: no faces
    for out in outs:
        out.dask.validate()
        assert out.chunks == f.chunks
    from dask.array.utils import assert_eq

    assert_eq(
        outs[-1], np.gradient(f.compute(), axis=1) if fn == "gradient" else outs[-1].compute()
    )


@given(n=st.integers(10, 40).flatmap(lambda n: st.tuples(st.just(n), chunking(n))))
def test_accuracy_six_any_chunking_equals_in_memory(n: tuple[int, tuple[int, ...]]) -> None:
    size, chunks = n
    f = RNG.standard_normal(size)
    for order in (1, 2):
        both(f, (chunks,), lambda v, o=order: bigrad.derivative(v, 0.5, order=o, accuracy=6))
