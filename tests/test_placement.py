"""Output placement: offsets spread apart from the input's streams and each other,
arrays allocated at them, and the fused kernels' results at those offsets equal to
numpy's."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import bigrad
from bigrad import _numba
from bigrad._placement import (
    LINE_BYTES,
    MIN_GAP,
    PAGE,
    SPAN,
    _gap,
    empty_at,
    output_offsets,
    spread,
)
from tests.helpers import assert_matches_numpy


@given(
    shape=st.lists(st.integers(1, 5000), min_size=0, max_size=2),
    itemsize=st.sampled_from([4, 8, 16]),
    count=st.integers(1, 3),
)
def test_offsets_keep_clear_of_the_input_and_each_other(
    shape: list[int], itemsize: int, count: int
) -> None:
    # strides of the axes rows are read across, for a block with rows of any length
    row = shape[-1] * itemsize if shape else itemsize
    strides = tuple(row * int(np.prod(shape[:i])) for i in range(len(shape), 0, -1))
    offsets = output_offsets(strides, count)
    assert len(offsets) == count
    streams = [0, *strides, *(-s for s in strides)]
    for i, x in enumerate(offsets):
        assert 0 <= x < SPAN and x % LINE_BYTES == 0
        # up to eight streams in a page leave a gap of at least 512 bytes to split
        assert all(_gap(x - s, PAGE) >= MIN_GAP for s in streams + list(offsets[:i]))
    assert len({x % PAGE for x in offsets}) == count


def test_offsets_for_a_cube_of_float32_sit_between_its_rows() -> None:
    # rows 2 KiB apart and planes whole pages apart: streams at 0 and 2048 in a page
    offsets = output_offsets((512 * 512 * 4, 512 * 4), 3)
    assert sorted(x % PAGE for x in offsets) == [512, 1024, 3072]
    # and apart within the L2 window too
    assert len({x // PAGE for x in offsets}) == 3


@given(
    offset=st.integers(0, SPAN - 1).map(lambda x: x // 8 * 8),
    dtype=st.sampled_from(["f4", "f8", "c16"]),
)
def test_empty_at_starts_at_the_offset(offset: int, dtype: str) -> None:
    like = np.zeros((3, 5, 7))
    a = empty_at(like, offset, dtype)
    assert a.shape == like.shape and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.writeable
    assert (a.ctypes.data - like.ctypes.data) % SPAN == offset
    assert not np.shares_memory(a, like)
    a[...] = 1  # the whole array is usable
    assert (a == 1).all()


def test_spread() -> None:
    raw = np.empty(3 * PAGE, dtype=np.uint8)
    base = (-raw.ctypes.data) % PAGE

    def at(byte: int) -> np.ndarray:
        return raw[base + byte : base + byte + 64]

    assert spread([at(0), at(MIN_GAP), at(PAGE - MIN_GAP)])
    assert spread([at(0), at(PAGE + 1024)])
    assert not spread([at(0), at(MIN_GAP - 64)])
    assert not spread([at(0), at(PAGE)])  # a page apart: the same offset
    assert spread([at(0)])


@pytest.mark.parametrize(
    "shape, dtype, order",
    [
        ((40, 33, 70), "f8", "C"),  # 3-D, rows of no round length
        ((16, 16, 512), "f4", "C"),  # rows half a page: streams at 0 and 2 KiB
        ((7, 5, 9, 11), "f8", "C"),  # 4-D: slab by slab
        ((300, 270), "f4", "C"),  # 2-D
        ((5000,), "f8", "C"),  # 1-D
        ((20, 30, 40), "c16", "C"),  # complex
        ((20, 30, 40), "f4", "F"),  # Fortran order: placed from the transposed view
    ],
)
@pytest.mark.parametrize("uniform", [True, False])
def test_placed_results_equal_numpy(
    shape: tuple[int, ...], dtype: str, order: str, uniform: bool, monkeypatch: Any
) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    monkeypatch.setattr(_numba, "_PLACE_MIN_BYTES", 0)
    monkeypatch.setattr(_numba, "_STREAM_MIN_BYTES", 0)  # and streamed where float64
    rng = np.random.default_rng(len(shape))
    f = np.asarray(rng.standard_normal(shape).astype(dtype), order=order)
    spacing = [0.5] * len(shape) if uniform else [np.cumsum(0.5 + rng.random(n)) for n in shape]
    got = bigrad.gradient(f, *spacing, edge_order=2)
    parts = got if isinstance(got, tuple) else (got,)
    c = f if order == "C" else f.T
    view = [g if order == "C" else g.T for g in parts]
    expected = output_offsets(c.strides[-3:-1], len(parts))
    assert [(g.ctypes.data - c.ctypes.data) % SPAN for g in view] == list(expected)
    assert_matches_numpy(got, np.gradient(f, *spacing, edge_order=2))


def test_small_outputs_are_numpys_own(monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = np.ones((10, 10, 10))
    assert all(g.flags.owndata for g in bigrad.gradient(f))
