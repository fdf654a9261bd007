"""The extension point: any :class:`~bigrad.core.weights.Stencil` runs through the
engine on numpy and dask input of any chunking, alone or one per axis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigrad.core.weights import SUM, AxisRules, Layout, StencilSpec
from bigrad.operators import apply
from tests.strategies import chunkings

pytestmark = pytest.mark.usefixtures("engine")


@dataclass(frozen=True)
class Smooth3:
    """A stencil not built in: weights (1, 2, 1) / 4 inside, the nearest value
    repeated past the ends (scipy's ``mode="nearest"``), on any spacing."""

    order: int = 0

    def layouts(self, n: int, periodic: bool, uniform: bool | None) -> tuple[Layout, ...]:
        return (Layout(n, periodic, (-1, 3), 2),)

    def check_length(self, axis: int, n: int, periodic: bool, uniform: bool | None) -> None:
        if n < 2:
            raise ValueError(f"axis {axis} has {n} point(s), Smooth3 needs 2")

    def rules(self, n: int, spacing: Any, data: np.dtype[Any], periodic: bool = False,
              period: Any = None, label: str = "coordinate") -> AxisRules:  # fmt: skip
        # one column per run: first point, inside, last point
        w = np.array([[0.75, 0.25, 0.25], [0.25, 0.5, 0.75], [0.0, 0.25, 0.0]]).astype(data)
        segs = [(0, 1, SUM, 0, 2), (1, n - 1, SUM, -1, 3), (n - 1, n, SUM, -1, 2)]
        if periodic:
            segs, w = [(0, n, SUM, -1, 3)], w[:, 1:2]
        keep = [s for s in segs if s[0] < s[1]]
        cols = [i for i, s in enumerate(segs) if s[0] < s[1]]
        return AxisRules(n, np.array(keep, np.int64), w[:, cols], np.ones(len(keep), data), False)


def _reference(f: np.ndarray, axis: int, periodic: bool) -> np.ndarray:
    g = np.moveaxis(f, axis, 0)
    pad = np.concatenate([g[-1:], g, g[:1]]) if periodic else np.concatenate([g[:1], g, g[-1:]])
    return np.moveaxis(0.25 * pad[:-2] + 0.5 * pad[1:-1] + 0.25 * pad[2:], 0, axis)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), periodic=st.booleans())
def test_custom_stencil_any_chunking(data: Any, periodic: bool) -> None:
    shape = (data.draw(st.integers(2, 9)), data.draw(st.integers(2, 9)))
    f = np.random.default_rng(5).standard_normal(shape)
    chunks = data.draw(chunkings(shape))
    eager = apply(f, (), None, Smooth3(), periodic)
    lazy = apply(da.from_array(f, chunks=chunks), (), None, Smooth3(), periodic)
    for axis, (e, lz) in enumerate(zip(eager, lazy, strict=True)):
        np.testing.assert_allclose(e, _reference(f, axis, periodic), rtol=1e-12, atol=1e-15)
        assert lz.chunks == chunks
        np.testing.assert_array_equal(lz.compute(), e)


def test_one_stencil_per_axis() -> None:
    f = np.random.default_rng(6).standard_normal((7, 8))
    chunks = ((1, 2, 4), (3, 1, 4))
    spec = StencilSpec()
    for x in (f, da.from_array(f, chunks=chunks)):
        smooth, grad = apply(x, (), (0, 1), (Smooth3(), spec))
        np.testing.assert_allclose(np.asarray(smooth), _reference(f, 0, False), rtol=1e-12)
        np.testing.assert_array_equal(np.asarray(grad), np.gradient(f, axis=1, edge_order=2))
    with pytest.raises(ValueError, match="1 stencils given for 2 axes"):
        apply(f, (), (0, 1), (spec,))
