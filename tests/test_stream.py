"""The block stream's memory bounds, on numpy arrays (no store): what it holds at once."""

from __future__ import annotations

import concurrent.futures as cf
import itertools
from typing import Any

import numpy as np
import pytest

from bigrad.core.args import parse_args
from bigrad.core.weights import StencilSpec
from bigrad.io.stream import (
    ThreadRunner,
    _Gradient,
    _Stream,
    block_spec,
    block_specs,
    stream_gradient,
)
from bigrad.operators import prepare


def _plan(shape: tuple[int, ...], chunk: tuple[int, ...], periodic: Any = None) -> Any:
    f = np.random.default_rng(0).standard_normal(shape)
    args = parse_args(f.shape, f.dtype, [], None, StencilSpec(edge_order=1), periodic, None)
    chunks = [
        tuple(min(c, n - s) for s in range(0, n, c)) for n, c in zip(shape, chunk, strict=True)
    ]
    plan, rules = prepare(args, f.shape, chunks, f.dtype)
    return f, plan, rules


def _drive(stream: _Stream) -> list[dict[Any, Any]]:
    """Run ``stream`` as :func:`stream_gradient` does; the faces it holds after each step."""
    held = []
    while stream.pending or stream.inflight:
        stream.start_computes()
        stream.start_reads()
        stream.collect()
        held.append({b: set(bundle) for b, bundle in stream.faces.items()})
    return held


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("periodic", [None, 2])
def test_leading_faces_are_dropped_once_used(threads: int, periodic: Any) -> None:
    # 5 slabs of 4 x 3 blocks: a trailing face along axis 0 is used by the block a slab
    # later (while a slab is computed, its trailing faces wait, and so do those of the
    # next slab, read ahead), a leading one by the block just before it in C order,
    # computed a few blocks later; before, each stayed as long as its bundle's
    # trailing face
    f, plan, rules = _plan((10, 8, 9), (2, 2, 3), periodic)
    outs = [np.full(f.shape, np.nan) for _ in plan.axes]
    with cf.ThreadPoolExecutor(threads) as pool:
        stream = _Stream(f, outs, plan, block_specs(plan, rules), frozenset(), ThreadRunner(pool),
                         _Gradient(reuse=False), threads, 2**30)  # fmt: skip
        held = _drive(stream)
    for got, expected in zip(outs, np.gradient(f), strict=True):
        assert np.array_equal(got, expected) if periodic is None else np.isfinite(got).all()
    slab = plan.numblocks[1] * plan.numblocks[2]
    leading = max(sum((0, True) in keys for keys in step.values()) for step in held)
    trailing = max(sum((0, False) in keys for keys in step.values()) for step in held)
    assert slab <= trailing <= 2 * slab + 2 * threads - 1
    assert leading <= 2 * threads - 1 < slab
    # nothing held is unused by the blocks still to compute
    assert not any(keys == set() for step in held for keys in step.values())


def test_remote_bundles_are_left_whole() -> None:
    # a cluster's bundle is a reference, not a dict: only dropped with its last user
    f, plan, rules = _plan((6, 4), (2, 2))
    outs = [np.empty(f.shape) for _ in plan.axes]
    assert stream_gradient(f, outs, plan, rules, threads=2) == int(np.prod(plan.numblocks))
    for got, expected in zip(outs, np.gradient(f), strict=True):
        np.testing.assert_array_equal(got, expected)
    with cf.ThreadPoolExecutor(1) as pool:
        stream = _Stream(f, outs, plan, block_specs(plan, rules), frozenset(), ThreadRunner(pool),
                         _Gradient(reuse=False), 1, 2**30)  # fmt: skip
        block = next(itertools.islice(plan.blocks(), 0, None))
        stream.faces[block] = ("a reference",)
        stream._drop_unused(block)
        assert stream.faces[block] == ("a reference",)


def test_three_point_streams_take_the_numpy_kernels(tmp_path: Any, monkeypatch: Any) -> None:
    # a gradient's stream waits on I/O, not on its stencil: it runs numpy's kernels and
    # never loads the numba runtime (its fixed memory, its first-run compile)
    import os
    import subprocess
    import sys

    from bigrad.io.stream import stream_engine
    from tests.zarr_helpers import ROOT

    code = (
        "import sys, numpy as np, xarray as xr, bigrad\n"
        "f = np.random.default_rng(0).standard_normal((6, 7, 8)).astype('f4')\n"
        f"src, dst = {str(tmp_path / 'in.zarr')!r}, {str(tmp_path / 'out.zarr')!r}\n"
        "xr.Dataset({'t': (('z', 'y', 'x'), f)}).chunk(3).to_zarr(src)\n"
        "out = bigrad.gradient_zarr(src, dst, progress=False)\n"
        "same = all(np.array_equal(out[f'dt_d{d}'].values, g)\n"
        "           for d, g in zip('zyx', np.gradient(f)))\n"
        "print(same, 'numba' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BIGRAD_ENGINE"}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=240)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "False"], run.stdout
    _, _, rules = _plan((6, 7), (3, 3))
    assert [stream_engine(r) for r in rules] == ["numpy", "numpy"]
    wide = parse_args((9,), np.float64, [], None, StencilSpec(accuracy=4), None, None)
    _, wide_rules = prepare(wide, (9,), [(9,)], np.float64)
    assert stream_engine(wide_rules[0]) is None  # one-pass sums: the numba kernel
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    assert stream_engine(rules[0]) is None  # the user's choice stands


def test_one_block_spec_equals_the_whole_table() -> None:
    # irregular chunks with sizes 1 and 2 and a periodic axis: neighbours wrap round
    _, plan, rules = _plan((7, 5, 6), (3, 2, 1), periodic=2)
    table = block_specs(plan, rules)
    for idx, spec in table.items():
        one = block_spec(plan, rules, idx)
        assert (one.region, one.axes, one.neighbours, one.lo, one.hi) == (
            spec.region, spec.axes, spec.neighbours, spec.lo, spec.hi
        )  # fmt: skip
        for a, b in zip(one.rules, spec.rules, strict=True):
            assert np.array_equal(a.segs, b.segs) and np.array_equal(a.weights, b.weights)
