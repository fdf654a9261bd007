"""The compiled ``nan="one-sided"`` redo (bigrad.kernels.masked_numba) against the numpy
reference, number for number, and against the run-by-run oracle."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest

import bigrad
from tests.test_masked import oracle


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
