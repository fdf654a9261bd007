"""Savitzky-Golay and Gaussian derivatives against scipy, numpy and dask input of any
chunking (chunks smaller than the window included), every padding mode."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sig
from hypothesis import given, settings
from hypothesis import strategies as st

import bigrad
from bigrad.core.windows import GAUSSIAN_MODES, SAVGOL_MODES, gaussian_stencil, savgol_stencil
from tests.helpers import raise_if_dask_computes
from tests.strategies import chunking

pytestmark = pytest.mark.usefixtures("engine")

#: (relative tolerance, tolerance relative to max|f| * sum|weights|) by dtype: float64 is
#: scipy's to rounding; float32 is computed in float32 here, in float64 by scipy
TOL = {np.float64: (1e-10, 1e-12), np.float32: (1e-4, 2e-6)}


def _close(got: Any, want: np.ndarray, f: np.ndarray, kernel: tuple[float, ...],
           spacing: float, order: int) -> None:  # fmt: skip
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    rtol, scaled = TOL[want.dtype.type]
    scale = float(np.abs(f).max(initial=0.0)) * float(np.abs(kernel).sum()) / abs(spacing) ** order
    np.testing.assert_allclose(got, want, rtol=rtol, atol=scaled * max(scale, 1e-300))


def _inputs(f: np.ndarray, chunks: Any) -> list[Any]:
    return [f, da.from_array(f, chunks=chunks)]


# every mode, orders 1 and 2, both dtypes, on a 2-D field chunked down to single points
@pytest.mark.parametrize("mode", SAVGOL_MODES)
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_savgol_every_mode(mode: str, order: int, dtype: type) -> None:
    f = np.random.default_rng(1).standard_normal((5, 23)).astype(dtype)
    want = sig.savgol_filter(f, 7, 3, deriv=order, delta=0.25, axis=1, mode=mode, cval=1.5)
    kernel = savgol_stencil(7, 3, order, mode).kernel
    for x in _inputs(f, ((2, 3), (1, 2, 1, 7, 1, 1, 10))):
        got = bigrad.savgol_derivative(
            x, 7, 3, axis=1, order=order, spacing=0.25, mode=mode, cval=1.5
        )
        _close(got, want, f, kernel, 0.25, order)


@pytest.mark.parametrize("mode", GAUSSIAN_MODES)
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_every_mode(mode: str, order: int, dtype: type) -> None:
    f = np.random.default_rng(2).standard_normal((19, 4)).astype(dtype)
    want = ndi.gaussian_filter1d(f, 1.3, axis=0, order=order, mode=mode, cval=-0.5) / 0.5**order
    kernel = gaussian_stencil(1.3, order, mode).kernel
    for x in _inputs(f, ((1, 1, 5, 2, 10), (3, 1))):
        got = bigrad.gaussian_derivative(
            x, 1.3, axis=0, order=order, spacing=0.5, mode=mode, cval=-0.5
        )
        _close(got, want, f, kernel, 0.5, order)


@settings(max_examples=40)
@given(data=st.data())
def test_savgol_any_chunking(data: Any) -> None:
    mode = data.draw(st.sampled_from(SAVGOL_MODES))
    w = data.draw(st.sampled_from([3, 5, 7, 9, 11]))
    # above degree 6 scipy's own np.polyfit (interp edges) drifts past 1e-10: the
    # exact-arithmetic test below covers those degrees
    p = data.draw(st.integers(0, min(w - 1, 6)))
    order = data.draw(st.integers(0, 3))
    least = w if mode == "interp" else 1
    n = data.draw(st.integers(least, 24))
    f = np.random.default_rng(n).standard_normal((2, n))
    chunks = ((1, 1), data.draw(chunking(n)))
    want = sig.savgol_filter(f, w, p, deriv=order, delta=2.0, mode=mode, cval=0.7)
    got = bigrad.savgol_derivative(
        da.from_array(f, chunks=chunks), w, p, order=order, spacing=2.0, mode=mode, cval=0.7
    )
    assert got.chunks == chunks
    _close(got.compute(), want, f, savgol_stencil(w, p, order, mode).kernel, 2.0, order)


@settings(max_examples=40)
@given(data=st.data())
def test_gaussian_any_chunking(data: Any) -> None:
    mode = data.draw(st.sampled_from(GAUSSIAN_MODES))
    sigma = data.draw(st.sampled_from([0.4, 1.0, 1.7, 3.0]))
    order = data.draw(st.integers(0, 3))
    n = data.draw(st.integers(1, 24))  # axes shorter than the kernel's reach included
    f = np.random.default_rng(n).standard_normal(n)
    chunks = (data.draw(chunking(n)),)
    want = ndi.gaussian_filter1d(f, sigma, order=order, mode=mode, cval=0.7)
    got = bigrad.gaussian_derivative(
        da.from_array(f, chunks=chunks), sigma, order=order, mode=mode, cval=0.7
    )
    assert got.chunks == chunks
    _close(got.compute(), want, f, gaussian_stencil(sigma, order, mode).kernel, 1.0, order)


@pytest.mark.parametrize("mode", GAUSSIAN_MODES)
def test_gradient_magnitude(mode: str) -> None:
    f = np.random.default_rng(3).standard_normal((9, 6, 7))
    want = ndi.gaussian_gradient_magnitude(f, (1.0, 0.7, 2.0), mode=mode, cval=0.2)
    scale = 4 * float(np.abs(f).max())
    for x in _inputs(f, ((1, 2, 6), (4, 2), (1, 1, 5))):
        got = bigrad.gaussian_gradient_magnitude(x, (1.0, 0.7, 2.0), mode=mode, cval=0.2)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12 * scale)
    # a step per axis divides each component by its own step (after its filters: the
    # values ``cval`` stands for beyond the edges are the input's, at every pass)
    for cval in (0.0, 1.5):
        orders = [[int(a == k) for a in range(3)] for k in range(3)]
        d = [ndi.gaussian_filter(f, 1.0, order=o, mode=mode, cval=cval) for o in orders]
        want = np.sqrt(sum((c / s) ** 2 for c, s in zip(d, (0.5, 2.0, 3.0), strict=True)))
        for x in _inputs(f, ((4, 5), (1, 2, 3), (7,))):
            got = bigrad.gaussian_gradient_magnitude(x, 1.0, spacing=(0.5, 2.0, 3.0), mode=mode,
                                                     cval=cval)  # fmt: skip
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12 * scale)


def test_lazy_and_valid() -> None:
    f = da.from_array(np.random.default_rng(4).standard_normal((8, 30)), chunks=(3, 2))
    with raise_if_dask_computes():
        outs = [
            bigrad.savgol_derivative(f, 11, 3, mode="constant", cval=2.0),
            bigrad.gaussian_derivative(f, 2.0, axis=0, order=2),
            bigrad.gaussian_gradient_magnitude(f, 1.5),
        ]
    for out in outs:
        out.dask.validate()
        assert out.chunks == f.chunks


def test_exact_on_polynomials() -> None:
    # a fit of degree 3 differentiates a cubic exactly, edges included (interp)
    x = np.linspace(-1.0, 2.0, 31)
    got = bigrad.savgol_derivative(da.from_array(x**3 - x, chunks=4), 9, 3, spacing=0.1, order=2)
    np.testing.assert_allclose(got.compute(), 6 * x, atol=1e-9)


@pytest.mark.parametrize(("w", "p", "order"), [(9, 8, 0), (11, 9, 1), (7, 4, 2), (5, 2, 3)])
def test_fit_weights_exact(w: int, p: int, order: int) -> None:
    # every edge and interior weight against the least-squares fit in exact rationals
    import sympy

    v = sympy.Matrix([[sympy.Integer(j) ** q for q in range(p + 1)] for j in range(w)])
    pinv = (v.T * v).inv() * v.T
    stencil = savgol_stencil(w, p, order, "interp")
    rows = [*stencil.lo_fit, stencil.kernel, *stencil.hi_fit]  # the points of one window
    for i, row in enumerate(rows):
        basis = [
            sympy.factorial(q) / sympy.factorial(q - order) * sympy.Integer(i) ** (q - order)
            if q >= order else 0
            for q in range(p + 1)
        ]  # fmt: skip
        exact = np.array((sympy.Matrix([basis]) * pinv).evalf(30).tolist(), dtype=float)[0]
        np.testing.assert_allclose(np.array(row), exact, rtol=0, atol=1e-11)


def test_uniform_coordinate_spacing() -> None:
    f = np.random.default_rng(5).standard_normal(12)
    coord = np.arange(12) * 0.5
    want = bigrad.savgol_derivative(f, 5, 2, spacing=0.5)
    np.testing.assert_allclose(bigrad.savgol_derivative(f, 5, 2, spacing=coord), want, rtol=1e-12)
    with pytest.raises(ValueError, match="not evenly spaced"):
        bigrad.savgol_derivative(f, 5, 2, spacing=coord**2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f: bigrad.savgol_derivative(f, 4, 2), "window_length must be odd"),
        (lambda f: bigrad.savgol_derivative(f, 5, 5), "polyorder must be less than"),
        (lambda f: bigrad.savgol_derivative(f, 5, 2.0), "polyorder must be an integer"),
        (lambda f: bigrad.savgol_derivative(f, 5, 2, mode="reflect"), "mode must be one of"),
        (lambda f: bigrad.savgol_derivative(f, 11, 2), "fewer than window_length=11"),
        (lambda f: bigrad.savgol_derivative(f, 5, 2, order=-1), "order must be at least 0"),
        (lambda f: bigrad.savgol_derivative(f, 5, 2, axis=2), "axis 2 is out of bounds"),
        (lambda f: bigrad.gaussian_derivative(f, 0.0), "sigma must be a finite number > 0"),
        (lambda f: bigrad.gaussian_derivative(f, 1.0, mode="interp"), "mode must be one of"),
        (lambda f: bigrad.gaussian_derivative(f, 1.0, truncate=-1), "truncate must be"),
        (lambda f: bigrad.gaussian_derivative(f, 1.0, spacing=0.0), "spacing for axis 1"),
        (lambda f: bigrad.gaussian_gradient_magnitude(f, (1.0,)), "sigma has 1 values for 2"),
    ],
)
def test_errors(call: Any, match: str) -> None:
    f = da.from_array(np.zeros((3, 7)), chunks=2)
    with raise_if_dask_computes(), pytest.raises((ValueError, TypeError), match=match):
        call(f)
