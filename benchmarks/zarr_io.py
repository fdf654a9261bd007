"""Zarr to Zarr: bigrad vs the I/O floor (copy3) vs dask and xarray, time and peak RSS.

    python benchmarks/zarr_io.py                       # 2 GiB store, 2 threads, 2 repeats
    python benchmarks/zarr_io.py --gib 4 --repeat 3
    python benchmarks/zarr_io.py --out-of-core --gib 8 --limit-gib 2

A float32 (time, y, x) store (Zarr v3, zstd, 64x512x512 chunks) is written once; each
method then differentiates it along all three axes into a new store, in its own
subprocess (so peak RSS, ``ru_maxrss``, is per method), with the same number of
threads:

- ``copy3``: read every block once and write it three times, through bigrad's own
  streaming (the I/O floor: the gradient replaced by copies);
- ``bigrad``: ``bigrad.gradient_zarr`` (default read-ahead, ``memory=512 MiB``);
- ``bigrad-lowmem``: the same with ``memory=`` one block (neighbours re-read for faces);
- ``dask``: ``dask.array.gradient`` of ``da.from_zarr``, stored with ``da.to_zarr``;
- ``xarray``: ``differentiate`` per dim, ``Dataset.to_zarr``.

Time is the median over ``--repeat`` rounds of all methods in turn (after one warm-up
copy3 run; before each run the previous output is deleted and ``sync`` waits for the
disk); "x copy3" is the median of the per-round ratios to that round's copy3 (with their
range), peak RSS the largest.  ``--methods`` runs a subset.  ``--out-of-core`` runs bigrad alone on a store larger than an address-space
limit (``RLIMIT_AS``, set in the child before it imports anything).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
METHODS = ("copy3", "bigrad", "bigrad-lowmem", "dask", "xarray")


def make_store(path: Path, shape: tuple[int, int, int], chunks: tuple[int, int, int]) -> None:
    """A smooth field plus noise, float32, Zarr v3 with zstd."""
    import dask.array as da
    import numpy as np
    import xarray as xr
    from zarr.codecs import ZstdCodec

    def block(block_info: Any = None) -> Any:
        (t0, t1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        t, y, x = np.ogrid[t0:t1, y0:y1, x0:x1]
        rng = np.random.default_rng(t0 * 7 + y0 * 3 + x0)
        f = np.sin(t / 17.0) + np.cos(y / 29.0) * np.sin(x / 31.0)
        return (f + 0.01 * rng.standard_normal((t1 - t0, y1 - y0, x1 - x0))).astype("f4")

    data = da.map_blocks(block, chunks=da.core.normalize_chunks(chunks, shape), dtype="f4")
    ds = xr.Dataset({"T": (("time", "y", "x"), data, {"units": "K"})})
    encoding = {"T": {"compressors": [ZstdCodec(level=1)], "chunks": chunks}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(path, zarr_format=3, mode="w", encoding=encoding, consolidated=True)


def run_method(method: str, source: str, target: str, threads: int) -> float:
    """Differentiate ``source`` into ``target`` with ``method``; returns seconds."""
    import warnings

    warnings.simplefilter("ignore")
    # imported before the clock starts, for every method alike: a one-off per process,
    # not a cost per GiB (dask.array alone takes ~0.7 s here)
    import contextlib

    import dask
    import dask.array
    import numpy as np

    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401  (dask's rechunk, under xarray's chunking, imports it)
    import xarray as xr
    import zarr

    import bigrad

    if os.path.exists(target):
        shutil.rmtree(target)
    src = zarr.open_array(os.path.join(source, "T"), mode="r")
    start = time.perf_counter()
    if method == "bigrad":
        bigrad.gradient_zarr(source, target, mode="w", threads=threads)
    elif method == "bigrad-lowmem":
        # read-ahead capped at one block: neighbours are re-read for their faces
        block = src.dtype.itemsize * int(np.prod(src.chunks))
        bigrad.gradient_zarr(source, target, mode="w", threads=threads, memory=block)
    elif method == "copy3":
        _copy3(source, target, threads)
    elif method == "dask":
        import dask.array as da

        x = da.from_zarr(src)
        grads = da.gradient(x, axis=(0, 1, 2))
        stores = [
            da.to_zarr(g, target, component=f"d{i}", compute=False, compressors=src.compressors)
            for i, g in enumerate(grads)
        ]
        dask.compute(*stores, scheduler="threads", num_workers=threads)
    elif method == "xarray":
        ds = xr.open_zarr(source)
        out = xr.Dataset({f"dT_d{d}": ds.T.differentiate(d) for d in ds.T.dims})
        enc = {v: {"compressors": src.compressors} for v in out.data_vars}
        with dask.config.set(scheduler="threads", num_workers=threads):
            out.to_zarr(target, mode="w", encoding=enc, zarr_format=3)
    else:
        raise ValueError(method)
    return time.perf_counter() - start


def _copy3(source: str, target: str, threads: int, runner: Any = None) -> None:
    # bigrad's own streaming with the gradient replaced by three copies of each block:
    # no gradient axes, so no neighbours and no read-ahead beyond the blocks in work
    # (``runner``: on a cluster's workers, see benchmarks/cluster.py)
    import xarray as xr
    import zarr

    from bigrad.core.plan import plan_gradient
    from bigrad.io.stream import stream_gradient
    from bigrad.io.zarr import _Reader

    reader = xr.open_dataset(source, engine="zarr", chunks=None, cache=False)
    src = zarr.open_array(os.path.join(source, "T"), mode="r")
    chunks = tuple(
        tuple(min(c, n - s) for s in range(0, n, c))
        for n, c in zip(src.shape, src.chunks, strict=True)
    )
    plan = plan_gradient(src.shape, chunks, {})
    group = zarr.open_group(target, mode="w")
    outs = [
        group.create_array(
            f"copy{i}",
            shape=src.shape,
            chunks=src.chunks,
            dtype=src.dtype,
            compressors=src.compressors,
        )
        for i in range(3)
    ]
    stream_gradient(
        _Reader(reader.T.variable), outs, plan, (), threads=threads, runner=runner,
        compute=lambda block, bundles, spec: (block for _ in range(3)),
    )  # fmt: skip


def _child(argv: list[str]) -> None:
    method, source, target, threads, limit = argv
    if int(limit):
        resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
    seconds = run_method(method, source, target, int(threads))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "rss": rss}))


def measure(
    method: str, source: Path, target: Path, threads: int, limit: int = 0
) -> dict[str, Any]:
    """Run one method in a fresh subprocess; returns its seconds and peak RSS (bytes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_ARENA_MAX": "4"}
    cmd = [sys.executable, __file__, "--child", method, str(source), str(target), str(threads),
           str(limit)]  # fmt: skip
    if target.exists():
        shutil.rmtree(target)
    os.sync()  # each run starts with no other run's writes still in flight (not timed)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main(
    shape: tuple[int, int, int] = (512, 1024, 1024),
    chunks: tuple[int, int, int] = (64, 512, 512),
    threads: int = 2,
    repeat: int = 2,
    workdir: Path | None = None,
    methods: tuple[str, ...] = METHODS,
) -> dict[str, dict[str, float]]:
    """Write the store, run every method, print the table; returns ``{method: row}``."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bigrad-bench-"))
    source, target = tmp / "in.zarr", tmp / "out.zarr"
    make_store(source, shape, chunks)
    gib = 4 * shape[0] * shape[1] * shape[2] / 2**30
    measure("copy3", source, target, threads)  # warm-up: page cache, disk, imports
    # methods interleaved, so that the machine's drift spreads over all of them
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for _ in range(repeat):
        for method in methods:
            runs[method].append(measure(method, source, target, threads))
    # the ratio to copy3 is taken within each round (copy3 runs first in it) and its
    # median shown: the machine's drift between rounds then cancels
    floor_runs = runs.get("copy3")
    rows = {}
    for method, rs in runs.items():
        ratios = [r["seconds"] / f["seconds"] for r, f in zip(rs, floor_runs or rs, strict=True)]
        rows[method] = {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "x_copy3": statistics.median(ratios) if floor_runs else float("nan"),
            "x_copy3_min": min(ratios) if floor_runs else float("nan"),
            "x_copy3_max": max(ratios) if floor_runs else float("nan"),
            "rss_mib": max(r["rss"] for r in rs) / 2**20,
        }
    floor_rss = rows["copy3"]["rss_mib"] if floor_runs else float("nan")
    print(f"store: {gib:.2f} GiB float32 {shape}, chunks {chunks}, Zarr v3 zstd; "
          f"gradient along 3 axes, {threads} threads, median of {repeat}")  # fmt: skip
    print(
        f"{'method':<14} {'seconds':>8} {'x copy3':>8} {'min-max':>10} {'peak RSS MiB':>13} "
        f"{'x copy3':>8}"
    )
    for method, row in rows.items():
        spread = f"{row['x_copy3_min']:.2f}-{row['x_copy3_max']:.2f}"
        print(
            f"{method:<14} {row['seconds']:8.1f} {row['x_copy3']:8.2f} {spread:>10} "
            f"{row['rss_mib']:13.0f} {row['rss_mib'] / floor_rss:8.2f}"
        )
    if workdir is None:
        shutil.rmtree(tmp)
    return rows


def out_of_core(
    shape: tuple[int, int, int], chunks: tuple[int, int, int], limit: int, threads: int = 2
) -> dict[str, Any]:
    """bigrad alone on a store larger than the address-space limit of its process."""
    tmp = Path(tempfile.mkdtemp(prefix="bigrad-ooc-"))
    try:
        source, target = tmp / "in.zarr", tmp / "out.zarr"
        make_store(source, shape, chunks)
        row = measure("bigrad", source, target, threads, limit=limit)
        gib = 4 * shape[0] * shape[1] * shape[2] / 2**30
        print(
            f"out of core: {gib:.1f} GiB float32 store {shape}, chunks {chunks}; RLIMIT_AS "
            f"{limit / 2**30:.1f} GiB; bigrad {row['seconds']:.1f} s, peak RSS "
            f"{row['rss'] / 2**20:.0f} MiB, output {3 * gib:.1f} GiB"
        )
        return row
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gib", type=float, default=2.0, help="store size (default 2 GiB)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--out-of-core", action="store_true", help="bigrad under a memory limit")
    p.add_argument("--limit-gib", type=float, default=2.0)
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    a = p.parse_args()
    n_time = max(64, round(a.gib * 2**30 / (4 * 1024 * 1024) / 64) * 64)
    if a.out_of_core:
        out_of_core((n_time, 1024, 1024), (64, 512, 512), int(a.limit_gib * 2**30), a.threads)
    else:
        methods = tuple(m for m in METHODS if m in a.methods)  # copy3 first in a round
        main((n_time, 1024, 1024), threads=a.threads, repeat=a.repeat, methods=methods)
