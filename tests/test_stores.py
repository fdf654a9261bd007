"""Streaming stores in the fused kernels: the span of whole cache lines they write, when
they are used, their numbers (the same as with ordinary stores, and numpy's), and that
they are vector stores where the machine has them."""

from __future__ import annotations

import re
from typing import Any

import hypothesis.strategies as st
import numba
import numpy as np
import pytest
from hypothesis import given

import bigrad
from bigrad import _fused, _kernels, _numba
from bigrad._placement import LINE_BYTES, PAGE
from bigrad._stencil import axis_stencil
from bigrad._stores import X86_64, line_span
from tests.helpers import assert_matches_numpy


@given(
    line=st.integers(0, 1000),
    offset=st.integers(0, 63),
    itemsize=st.sampled_from([4, 8]),
    lo=st.integers(0, 5),
    length=st.integers(0, 80),
)
def test_line_span_is_every_whole_line_of_the_row(
    line: int, offset: int, itemsize: int, lo: int, length: int
) -> None:
    address = line * LINE_BYTES + offset // itemsize * itemsize
    hi = lo + length
    ka, kb = line_span(address, itemsize, lo, hi)

    def at(k: int) -> int:
        return address + (k - lo) * itemsize

    whole = [
        k for k in range(lo, hi) if at(k) % LINE_BYTES == 0 and k + LINE_BYTES // itemsize <= hi
    ]
    if not whole:
        assert ka == kb
        return
    # from the first whole line to the end of the last: nothing more, nothing less
    assert (ka, kb) == (whole[0], whole[-1] + LINE_BYTES // itemsize)
    assert at(ka) % LINE_BYTES == 0 and at(kb) % LINE_BYTES == 0


def _aligned(shape: tuple[int, ...], dtype: str, offset: int = 0, slot: int = 0) -> np.ndarray:
    """An empty array whose data starts ``offset`` bytes past a cache line, and
    ``slot`` KiB past a page (arrays in different slots are spread apart)."""
    itemsize = np.dtype(dtype).itemsize
    size = int(np.prod(shape)) * itemsize
    raw = np.empty(size + 2 * PAGE, dtype=np.uint8)
    start = (-raw.ctypes.data) % PAGE + slot * 1024 + offset
    return raw[start : start + size].view(dtype).reshape(shape)


def test_streaming_is_chosen_for_large_aligned_real_outputs(monkeypatch: Any) -> None:
    monkeypatch.setattr(_numba, "_STREAM_MIN_BYTES", 3 * 8192)
    outs = [_aligned((16, 64), "f8", slot=j) for j in range(3)]
    assert _numba._streams(outs) == X86_64
    # float32 as large as `outs` too
    assert _numba._streams([_aligned((16, 128), "f4", slot=j) for j in range(3)]) == X86_64
    # too small together, complex, not sharing their offset in a line, or at one
    # offset modulo a page
    assert not _numba._streams(outs[:2])
    assert not _numba._streams([_aligned((16, 32), "c16", slot=j) for j in range(3)])
    assert not _numba._streams([*outs[:2], _aligned((16, 64), "f8", offset=16, slot=2)])
    assert not _numba._streams([_aligned((16, 64), "f8") for _ in range(3)])
    # shifted alike is fine: one span of whole lines serves all
    shifted = [_aligned((16, 64), "f8", offset=8, slot=j) for j in range(3)]
    assert _numba._streams(shifted) == X86_64


#: spacings: Python numbers (float32 data is divided in float32, like numpy does),
#: float64 scalars (divided in float64) and coordinates
SPACINGS = ("float", "float64", "coordinates")


def _problem(dtype: str, shape: tuple[int, int, int], spacing: str, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(shape).astype(dtype)
    if spacing == "float":
        return f, [0.3, 2.0, 0.7]
    if spacing == "float64":
        return f, [np.float64(0.3), np.float64(2.0), np.float64(0.7)]
    return f, [np.cumsum(0.5 + rng.random(n)) for n in shape]


@given(
    dtype=st.sampled_from(["f4", "f8"]),
    shape=st.tuples(st.integers(3, 6), st.integers(3, 6), st.integers(3, 70)),
    spacing=st.sampled_from(SPACINGS),
    edge_order=st.sampled_from([1, 2]),
    offset=st.sampled_from([0, 8, 24, 56]),
    chunk_points=st.sampled_from([1, 100, 16384]),
    seed=st.integers(0, 2**16),
)
def test_streamed_rows_equal_plain_rows_and_numpy(
    dtype: str,
    shape: tuple[int, int, int],
    spacing: str,
    edge_order: int,
    offset: int,
    chunk_points: int,
    seed: int,
    monkeypatch: Any,
) -> None:
    # every row length against every start within a line: spans of whole lines of
    # every size, with their plain head and tail, next to rows by a face or an edge.
    # Chunks of one row to the whole array: a chunk's rows on the first or last plane
    # go component by component, the rest through the fused loops.
    monkeypatch.setattr(_numba, "_CHUNK_POINTS", chunk_points)
    f, spacings = _problem(dtype, shape, spacing, seed)
    expected = np.gradient(f, *spacings, edge_order=edge_order)
    sts = [axis_stencil(n, h, edge_order) for n, h in zip(shape, spacings, strict=True)]
    empty = [(f[(slice(None),) * a + (slice(0, 0),)],) * 2 for a in range(3)]
    results = {}
    for threshold in (0, 1 << 62):
        monkeypatch.setattr(_numba, "_STREAM_MIN_BYTES", threshold)
        outs = [_aligned(shape, dtype, offset, slot=j) for j in range(3)]
        assert _numba._streams(outs) == (X86_64 and threshold == 0)
        got = _kernels.gradient_block(f, empty, sts, [0, 1, 2], engine="numba", out=outs)
        assert all(g is o for g, o in zip(got, outs, strict=True))
        results[threshold] = tuple(got)
    streamed, plain = results.values()
    for s, p in zip(streamed, plain, strict=True):
        np.testing.assert_array_equal(s, p)
    assert_matches_numpy(streamed, expected)


def _streamed_and_plain(
    f: np.ndarray, spacings: Any, edge_order: int, g: int, m: int, monkeypatch: Any
) -> list[Any]:
    """The components of the block ``f[:, :, g : g + m]`` (float32), whose row axis
    reads the rest of ``f`` as its halo, written by streaming stores and by ordinary
    ones into aligned outputs."""
    sts = [axis_stencil(n, h, edge_order) for n, h in zip(f.shape, spacings, strict=True)]
    sts[2] = sts[2].restrict(g, g + m)
    block = np.ascontiguousarray(f[:, :, g : g + m])
    halos = [(block[:0], block[:0]), (block[:, :0], block[:, :0])]
    halos.append((f[:, :, :g].copy(), f[:, :, g + m :].copy()))
    results = []
    for threshold in (0, 1 << 62):
        monkeypatch.setattr(_numba, "_STREAM_MIN_BYTES", threshold)
        outs = [_aligned(block.shape, "f4", slot=j) for j in range(3)]
        got = _kernels.gradient_block(block, halos, sts, [0, 1, 2], engine="numba", out=outs)
        assert all(r is o for r, o in zip(got, outs, strict=True))
        results.append(got)
    return results


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("halo", [False, True])
def test_float32_row_ends_streamed_with_their_lines(
    spacing: str, edge_order: int, halo: bool, monkeypatch: Any
) -> None:
    # float32 rows whose first or last 64-byte line is whole stream it with the row
    # axis's end point put in by a select: rows of 48 points (every row's both lines
    # whole), 40 (every other row's first or last) and 36, against ordinary stores
    # and numpy; with `halo` the end points read the halo along the row axis, as in a
    # dask block, rather than being the axis's edges
    monkeypatch.setattr(_numba, "_CHUNK_POINTS", 100)
    for m in (48, 40, 36):
        g = 1 if halo else 0  # the block is f[:, :, g : g + m]
        f, spacings = _problem("f4", (5, 6, m + 2 * g), spacing, m)
        results = _streamed_and_plain(f, spacings, edge_order, g, m, monkeypatch)
        for streamed, plain in zip(*results, strict=True):
            np.testing.assert_array_equal(streamed, plain)
        expected = np.gradient(f, *spacings, edge_order=edge_order)
        assert_matches_numpy(tuple(results[0]), [e[:, :, g : g + m] for e in expected])


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("halo", [False, True])
@pytest.mark.parametrize("decreasing", [False, True])
def test_float32_row_ends_folded_exactly(
    edge_order: int, halo: bool, decreasing: bool, monkeypatch: Any
) -> None:
    # non-uniform float32 rows of whole lines stream their end points folded into the
    # row's loop (1 x end + 0 x neighbours), which is exact only where the neighbours
    # are finite and the end point is not zero: rows with an infinity or a nan next to
    # an end, and rows whose end points are +0 or -0 (-0 from decreasing coordinates),
    # must match ordinary stores and numpy to the bit, signs of zero included
    monkeypatch.setattr(_numba, "_CHUNK_POINTS", 100)
    for m in (48, 64):
        g = 1 if halo else 0  # the block is f[:, :, g : g + m]
        f, spacings = _problem("f4", (5, 8, m + 2 * g), "coordinates", m)
        if decreasing:
            spacings = [-s for s in spacings]
        # zero end points next to positive points (0 x a positive point is +0)
        f[1, 1, g : g + 2] = 3.0
        f[1, 2, g + m - 2 : g + m] = 2.0
        # infinities and nans at and next to the ends
        f[2, 1, g] = np.inf
        f[2, 2, g + 1] = -np.inf
        f[2, 3, g + m - 1] = np.nan
        f[2, 4, g + m - 2] = np.inf
        f[2, 5, g + m - 1] = -np.inf
        f[3] = 0.0
        f[3, 2] = -0.0
        results = _streamed_and_plain(f, spacings, edge_order, g, m, monkeypatch)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.gradient(f, *spacings, edge_order=edge_order)
        for streamed, plain, e in zip(*results, expected, strict=True):
            e = e[:, :, g : g + m]
            for other in (plain, e):
                nan = np.isnan(other)
                np.testing.assert_array_equal(np.isnan(streamed), nan)
                np.testing.assert_array_equal(np.signbit(streamed[~nan]), np.signbit(other[~nan]))
            np.testing.assert_array_equal(streamed, plain)
            finite = np.isfinite(e)
            assert_matches_numpy(np.where(finite, streamed, 0), np.where(finite, e, 0))


@pytest.mark.parametrize("chunks", [None, (3, 20, 70)])
def test_streaming_through_dask_blocks_and_threads(
    chunks: tuple[int, ...] | None, monkeypatch: Any
) -> None:
    import dask.array as da

    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    monkeypatch.setattr(_numba, "_STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(_numba, "_CHUNK_POINTS", 70)
    for dtype, spacing in (("f8", "coordinates"), ("f4", "coordinates"), ("f4", "float")):
        f, spacings = _problem(dtype, (9, 41, 70), spacing, 3)
        source = f if chunks is None else da.from_array(f, chunks=chunks)
        got = bigrad.gradient(source, *spacings)
        assert_matches_numpy(got, np.gradient(f, *spacings))


@pytest.mark.skipif(not X86_64, reason="vector streaming stores are checked on x86-64")
def test_streaming_stores_are_vector_stores() -> None:
    # a scalar streaming store fills a line in 8 or 16 pieces and runs at about half
    # the speed of an ordinary store: the loops must be vectorized
    kernel = numba.njit(nogil=True)(_fused.rows_serial.py_func)
    n = 32
    f = np.ones((n, n, n))
    empty = f[:0]
    halos = [(empty.reshape(0, n, n), empty.reshape(0, n, n))]
    halos += [(f[:, :0], f[:, :0]), (f[:, :, :0], f[:, :, :0])]
    for dtype in ("f8", "f4"):
        for uniform in (True, False):
            g = f.astype(dtype)
            sts = [axis_stencil(n, 0.5 if uniform else np.arange(n) ** 1.5, 1) for _ in range(3)]
            tables = [_numba._axis_table(st_, n, g.dtype) for st_ in sts]
            # the kernels stream only to outputs sharing their offset in a line
            outs = tuple(_aligned(g.shape, dtype, slot=j) for j in range(3))
            los = tuple(h[0].astype(dtype) for h in halos)
            his = tuple(h[1].astype(dtype) for h in halos)
            divs = np.ones(3 if dtype == "f4" and uniform else 0, dtype=dtype)
            kernel(g, los, his, *_numba._pack(tables), outs, 64, True, divs)
    stores = re.compile(r"\bv?movntp[sd]\s+%[xy]mm")
    for signature, asm in kernel.inspect_asm().items():
        # float64: a loop for all three components and one for two, each uniform and
        # non-uniform, streaming 10 components; float32: a loop per component, 3
        # components each divided, multiplied and non-uniform
        least = 9 if signature[0].dtype == numba.float32 else 10
        found = len(stores.findall(asm))
        assert found >= least, (signature[0], found, "vector streaming stores")
