"""Shared test helpers: comparison with numpy, a scheduler that refuses to compute."""

from __future__ import annotations

from typing import Any

import dask
import numpy as np

#: relative tolerance of a comparison with another library, by result dtype
RTOL = {"f2": 2e-3, "f4": 2e-6, "f8": 1e-12, "c8": 2e-6, "c16": 1e-12}


def assert_matches_numpy(got: Any, expected: Any) -> None:
    """``got`` equals numpy's ``expected``: same kind of container, dtype, shape and
    numbers, bit for bit (NaN where numpy has NaN)."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, tuple), type(got)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_matches_numpy(g, e)
        return
    if hasattr(got, "dask"):
        got = got.compute()
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected, equal_nan=expected.dtype.kind in "fc"), (
        f"differs from numpy at {np.argwhere(got != expected)[:5].tolist()}"
    )


class CountingScheduler:
    """A dask scheduler that raises once more than ``max_computes`` computes happen
    (after flox's ``raise_if_dask_computes``)."""

    def __init__(self, max_computes: int = 0) -> None:
        self.total_computes = 0
        self.max_computes = max_computes

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        self.total_computes += 1
        if self.total_computes > self.max_computes:
            raise RuntimeError(f"Too many dask computations were scheduled: {self.total_computes}")
        return dask.get(dsk, keys, **kwargs)


def raise_if_dask_computes(max_computes: int = 0) -> Any:
    """Context manager: any compute (beyond ``max_computes``) inside it raises."""
    return dask.config.set(scheduler=CountingScheduler(max_computes))


def tasks_per_chunk(arrays: Any, n_chunks: int) -> float:
    """Tasks in the merged graph of ``arrays`` (input included) per input chunk."""
    from dask.highlevelgraph import HighLevelGraph

    graph = HighLevelGraph.merge(*[a.dask for a in arrays])
    return len(graph) / n_chunks


def periodic_reference(
    f: np.ndarray,
    spacings: Any,
    axes: Any,
    edge_order: int = 1,
    periodic: Any = (),
    periods: Any = None,
) -> Any:
    """What a periodic gradient must equal, from np.gradient alone: on a periodic axis
    ``f`` padded by one wrapped plane at each end, with scalar spacing or with the
    coordinate extended by ``x[-1] - period`` before and ``x[0] + period`` after
    (mirrored for a decreasing coordinate), trimmed back."""
    periods = periods or {}
    outs = []
    for axis, s in zip(axes, spacings, strict=True):
        if axis not in periodic:
            outs.append(np.gradient(f, s, axis=axis, edge_order=edge_order))
            continue
        pad = [(1, 1) if i == axis else (0, 0) for i in range(f.ndim)]
        fp = np.pad(f, pad, mode="wrap")
        if np.ndim(s):
            x = np.asarray(s, dtype=float)
            p = periods[axis] if x[-1] > x[0] else -periods[axis]
            s = np.concatenate([[x[-1] - p], x, [x[0] + p]])
        g = np.gradient(fp, s, axis=axis, edge_order=edge_order)
        outs.append(np.take(g, np.arange(1, f.shape[axis] + 1), axis=axis))
    return outs[0] if len(outs) == 1 else tuple(outs)
