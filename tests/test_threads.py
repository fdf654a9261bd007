"""The atomic counter that hands chunks of rows to numba's threads as they ask."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
from numba import prange

import bigrad
from bigrad import _numba
from bigrad._threads import fetch_add
from tests.helpers import assert_matches_numpy

RNG = np.random.default_rng(7)


@numba.njit(parallel=True, nogil=True)
def _take_all(taken: Any, total: int, threads: int) -> Any:
    # every thread takes values until none is left, counting its own; a value taken
    # twice (a lost update) makes the counts add up to more than `total`
    seen = np.zeros(total, dtype=np.int64)
    counts = np.zeros(threads, dtype=np.int64)
    for t in prange(threads):
        v = fetch_add(taken, 1)
        while v < total:
            seen[v] = 1
            counts[t] += 1
            v = fetch_add(taken, 1)
    return seen, counts


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_fetch_add_hands_out_every_value_once(threads: int) -> None:
    total = 400_000
    taken = np.zeros(1, dtype=np.int64)
    seen, counts = _take_all(taken, total, threads)
    assert seen.all()
    assert counts.sum() == total
    # each thread's last call found the counter past the end
    assert taken[0] == total + threads


@pytest.mark.parametrize("threads", [1, 2])
def test_chunks_shared_by_threads_match_numpy(threads: int, monkeypatch: Any) -> None:
    # 108 chunks of 5 rows (256 points a chunk, rows of 50), handed out one at a time,
    # with one thread and with two
    monkeypatch.setattr(_numba, "_CHUNK_POINTS", 64)
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        f = RNG.standard_normal((9, 60, 50)).astype(np.float32)
        sp = [np.cumsum(0.5 + RNG.random(n)) for n in f.shape]
        for eo in (1, 2):
            expected = np.gradient(f, *sp, edge_order=eo)
            assert_matches_numpy(bigrad.gradient(f, *sp, edge_order=eo), expected)
    finally:
        numba.set_num_threads(before)
