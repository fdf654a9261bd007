"""The numba kernel's points next to a block's halo (a line's ends inside a dask array)
give the numpy reference kernel's numbers bit for bit, for every stencil width."""

from __future__ import annotations

from functools import partial
from typing import Any

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bigrad
from tests.strategies import chunking, coordinate

SPECS = [(order, acc) for order in (1, 2) for acc in (2, 4, 6)]


def _engines(fn: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    out = {}
    for engine in ("numpy", "numba"):
        monkeypatch.setenv("BIGRAD_ENGINE", engine)
        out[engine] = np.asarray(fn().compute(scheduler="sync"))
    return out


@pytest.mark.parametrize(("order", "accuracy"), SPECS)
@pytest.mark.parametrize("dtype", ["f4", "f8"])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_derivative_along_chunked_last_axis(
    order: int, accuracy: int, dtype: str, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 14
    f = np.random.default_rng(3).standard_normal((3, 4, n)).astype(dtype)
    chunks = ((2, 1), (4,), data.draw(chunking(n)))
    spacing = data.draw(st.one_of(st.just(0.7), coordinate(n)))
    periodic = data.draw(st.booleans())
    period = None if np.ndim(spacing) == 0 or not periodic else float(np.ptp(spacing) + 1.0)
    x = da.from_array(f, chunks=chunks)

    def run() -> Any:
        return bigrad.derivative(
            x, spacing, order=order, accuracy=accuracy, periodic=periodic, period=period
        )

    got = _engines(run, monkeypatch)
    np.testing.assert_array_equal(got["numba"], got["numpy"])


@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_laplacian_with_one_point_chunks(accuracy: int, monkeypatch: pytest.MonkeyPatch) -> None:
    f = np.random.default_rng(4).standard_normal((13, 12, 14))
    x = da.from_array(f, chunks=((1, 2, 10), (5, 1, 6), (2, 1, 1, 3, 7)))
    got = _engines(lambda: bigrad.laplacian(x, 0.5, 2.0, 0.25, accuracy=accuracy), monkeypatch)
    np.testing.assert_array_equal(got["numba"], got["numpy"])


@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_runs_of_every_length_along_whole_lines(
    dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numpy input, one block: the runs of a line (one-sided ones at its ends, the central
    one between) take every length from one point to past the length below which the
    kernel computes them point by point instead of in vector loops."""
    rng = np.random.default_rng(5)
    compared = 0
    for n in range(2, 40):
        f = rng.standard_normal((3, n)).astype(dtype)
        coords = np.cumsum(0.5 + rng.random(n))
        calls = [partial(bigrad.gradient, f, coords, axis=1, edge_order=e) for e in (1, 2)]
        for (order, acc), spacing, periodic in [
            (s, sp, p) for s in SPECS for sp in (0.7, coords) for p in (False, True)
        ]:
            period = float(np.ptp(coords) + 1.0) if periodic and np.ndim(spacing) else None
            calls.append(
                partial(
                    bigrad.derivative,
                    f,
                    spacing,
                    order=order,
                    accuracy=acc,
                    periodic=periodic,
                    period=period,
                )
            )
        for call in calls:
            got = {}
            for engine in ("numpy", "numba"):
                monkeypatch.setenv("BIGRAD_ENGINE", engine)
                try:
                    got[engine] = np.asarray(call())
                except ValueError:  # the line is shorter than this stencil needs
                    break
            else:
                np.testing.assert_array_equal(got["numba"], got["numpy"])
                compared += 1
    assert compared > 0.8 * 38 * 26
