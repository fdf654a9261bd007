"""Property tests: for any shape, chunking, axes, spacing, edge order and periodic axes,
bigrad equals np.gradient (on wrapped data for periodic axes)."""

from __future__ import annotations

from typing import Any

import dask.array as da
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import bigrad
from tests.helpers import assert_matches_numpy, periodic_reference
from tests.strategies import chunking, chunkings, spacing

# every numeric case runs with the numpy kernels and with the fused numba kernels
pytestmark = pytest.mark.usefixtures("engine")

DTYPES = ["f8", "f8", "f4", "f4", "c16", "f2", "i2", "u1"]


@st.composite
def problems(draw: Any) -> dict[str, Any]:
    ndim = draw(st.integers(1, 4))
    edge_order = draw(st.sampled_from([1, 2]))
    axes = tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1))))
    if draw(st.booleans()):
        axes = axes[::-1]  # spacings follow the order of axis=
    periodic = tuple(a for a in axes if draw(st.integers(0, 3)) == 0)
    shape = tuple(
        draw(st.integers(2 if a in periodic else edge_order + 1 if a in axes else 1, 7))
        for a in range(ndim)
    )
    spacings = tuple(draw(spacing(shape[a])) for a in axes)
    periods = {a: 10.0 * shape[a] * 11.0 for a in periodic if np.ndim(spacings[axes.index(a)])}
    return {
        "shape": shape,
        "chunks": draw(chunkings(shape)),
        "axes": axes,
        "edge_order": edge_order,
        "periodic": periodic,
        "spacings": spacings,
        "periods": periods,
        "dtype": draw(st.sampled_from(DTYPES)),
        "lazy_coordinates": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@given(problems())
def test_matches_numpy(p: dict[str, Any]) -> None:
    rng = np.random.default_rng(p["seed"])
    f = (rng.standard_normal(p["shape"]) * 50).astype(p["dtype"])
    expected = periodic_reference(
        f, p["spacings"], p["axes"], p["edge_order"], p["periodic"], p["periods"]
    )
    kwargs = {
        "axis": p["axes"],
        "edge_order": p["edge_order"],
        "periodic": p["periodic"],
        "period": p["periods"] or None,
    }
    assert_matches_numpy(bigrad.gradient(f, *p["spacings"], **kwargs), expected)
    d = da.from_array(f, chunks=p["chunks"])
    spacings = p["spacings"]
    if p["lazy_coordinates"]:
        spacings = tuple(da.from_array(s, chunks=2) if np.ndim(s) else s for s in spacings)
    got = bigrad.gradient(d, *spacings, **kwargs)
    for g in got if isinstance(got, tuple) else (got,):
        assert g.chunks == d.chunks
    assert_matches_numpy(got, expected)


@given(
    st.integers(3, 40).flatmap(lambda n: st.tuples(st.just(n), chunking(n))),
    st.sampled_from([1, 2]),
)
def test_one_dimensional_chunkings(case: tuple[int, tuple[int, ...]], edge_order: int) -> None:
    n, chunks = case
    f = np.cumsum(np.random.default_rng(n).standard_normal(n))
    d = da.from_array(f, chunks=(chunks,))
    assert_matches_numpy(
        bigrad.gradient(d, edge_order=edge_order), np.gradient(f, edge_order=edge_order)
    )
