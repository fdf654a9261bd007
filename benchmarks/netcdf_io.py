"""NetCDF-4 to Zarr: ``bigrad gradient`` vs copying the same variables to Zarr, time and
peak RSS.

    python benchmarks/netcdf_io.py                 # 1 GiB file, 2 threads, 2 repeats
    python benchmarks/netcdf_io.py --gib 4 --repeat 3

A NetCDF-4 file (h5netcdf) holding two float32 (time, y, x) variables, ``T`` and ``q``,
in HDF5 chunks of 8x256x256 (2 MiB), uncompressed, is written once; each method then
runs in its own subprocess (so peak RSS, ``VmHWM``, is per method), with the same
number of threads:

- ``copy``: the same variables copied to a Zarr store, as a user would before any Zarr
  tool: ``xr.open_dataset(file, chunks={})`` (dask chunks = the file's chunks), then
  ``Dataset.to_zarr`` (dask's threaded scheduler);
- ``bigrad``: the command ``bigrad gradient FILE TARGET -q --threads N`` (its ``main``
  called in the child process), the gradient of both variables along all three axes;
- ``bigrad-numba``: the same with ``BIGRAD_ENGINE=numba`` (the compiled kernel, which
  a stream's gradient does not take by default: numba's runtime in the process);
- ``bigrad-lowmem``: the same with ``--memory 64MiB`` (less read ahead).

"start" is the process's peak RSS once its imports are done, before the clock starts;
numba's runtime and the compiled kernels, loaded by ``bigrad-numba``'s run, are a fixed
cost whatever the file's size (the last line measures them alone).

Time is the median over ``--repeat`` rounds of both methods in turn (after one warm-up
copy run and a load of the kernels, which compiles them into numba's cache if it is
empty; before each run the previous output is deleted and ``sync`` waits for the
disk); peak RSS is the largest.  The issue's target: bigrad's peak RSS at most 1.5x the
copy's.
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
#: peak RSS once a child's imports are done (bytes)
_START_RSS = 0
METHODS = ("copy", "bigrad", "bigrad-numba", "bigrad-lowmem")
VARIABLES = ("T", "q")


def make_file(path: Path, shape: tuple[int, int, int], chunks: tuple[int, int, int]) -> None:
    """Two smooth float32 fields plus noise in a NetCDF-4 file, written chunk by chunk."""
    import dask.array as da
    import numpy as np
    import xarray as xr

    def block(seed: int, block_info: Any = None) -> Any:
        (t0, t1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        t, y, x = np.ogrid[t0:t1, y0:y1, x0:x1]
        rng = np.random.default_rng(seed + t0 * 7 + y0 * 3 + x0)
        f = np.sin(t / 17.0) + np.cos(y / 29.0) * np.sin(x / (31.0 + seed))
        return (f + 0.01 * rng.standard_normal((t1 - t0, y1 - y0, x1 - x0))).astype("f4")

    dchunks = da.core.normalize_chunks(chunks, shape)
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {
            v: (dims, da.map_blocks(block, i, chunks=dchunks, dtype="f4"), {"units": "K"})
            for i, v in enumerate(VARIABLES)
        },
        coords={d: np.arange(n, dtype="f8") for d, n in zip(dims, shape, strict=True)},
    )
    encoding = {v: {"chunksizes": chunks} for v in VARIABLES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)


def run_method(method: str, source: str, target: str, threads: int) -> float:
    """Run ``method`` from ``source`` into ``target``; returns seconds."""
    warnings.simplefilter("ignore")
    # imported before the clock starts, for both methods alike
    import dask
    import dask.array
    import xarray as xr

    from bigrad.cli.main import main as bigrad_main

    global _START_RSS
    _START_RSS = peak_rss()

    if os.path.exists(target):
        shutil.rmtree(target)
    start = time.perf_counter()
    if method.startswith("bigrad"):
        argv = ["gradient", source, target, "-q", "--threads", str(threads)]
        if method == "bigrad-lowmem":
            argv += ["--memory", "64MiB"]
        code = bigrad_main(argv)
        if code != 0:
            raise RuntimeError(f"bigrad gradient exited with {code}")
    elif method == "copy":
        ds = xr.open_dataset(source, engine="h5netcdf", chunks={})[list(VARIABLES)]
        for v in ds.variables.values():
            v.encoding = {}
        with dask.config.set(scheduler="threads", num_workers=threads):
            ds.to_zarr(target, mode="w", zarr_format=3)
    else:
        raise ValueError(method)
    return time.perf_counter() - start


def peak_rss() -> int:
    """This process's peak resident memory in bytes: ``VmHWM`` on Linux, which starts
    afresh at ``exec`` (``ru_maxrss`` starts from the parent's peak at the fork)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(argv: list[str]) -> None:
    method, source, target, threads = argv
    if method == "kernels":  # numba's runtime and bigrad's kernels alone, no data
        import dask.array  # noqa: F401  (the imports every method makes)
        import numpy as np
        import xarray  # noqa: F401

        import bigrad  # noqa: F401
        from bigrad import kernels

        before = peak_rss()
        kernels.preload(np.dtype("f4"), 3)
        rss = peak_rss()
        print(json.dumps({"seconds": 0.0, "rss": rss - before, "start": before}))
        return
    if method == "bigrad-numba":
        os.environ["BIGRAD_ENGINE"] = "numba"
    seconds = run_method(method, source, target, int(threads))
    rss = peak_rss()
    print(json.dumps({"seconds": seconds, "rss": rss, "start": _START_RSS}))


def measure(method: str, source: Path, target: Path, threads: int) -> dict[str, Any]:
    """Run one method in a fresh subprocess; returns its seconds and peak RSS (bytes)."""
    # no allocator settings: each method's process as a user's would be (the bigrad
    # command keeps one glibc malloc arena of its own accord, the copy glibc's default)
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, __file__, "--child", method, str(source), str(target), str(threads)]
    if target.exists():
        shutil.rmtree(target)
    os.sync()  # each run starts with no other run's writes still in flight (not timed)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main(
    shape: tuple[int, int, int] = (128, 1024, 1024),
    chunks: tuple[int, int, int] = (8, 256, 256),
    threads: int = 2,
    repeat: int = 2,
    workdir: Path | None = None,
    methods: tuple[str, ...] = METHODS,
) -> dict[str, dict[str, float]]:
    """Write the file, run both methods, print the table; returns ``{method: row}``."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bigrad-bench-nc-"))
    source, target = tmp / "in.nc", tmp / "out.zarr"
    make_file(source, shape, chunks)
    measure("copy", source, target, threads)  # warm-up: page cache, disk, imports
    # and numba's cache: a first bigrad run would otherwise compile, and its peak (the
    # largest of the rounds is reported) be the compiler's
    measure("kernels", source, target, threads)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in ("copy", *methods) if m in METHODS}
    for _ in range(repeat):
        for method in runs:
            runs[method].append(measure(method, source, target, threads))
    rows = {
        m: {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "rss_mib": max(r["rss"] for r in rs) / 2**20,
            "start_mib": max(r["start"] for r in rs) / 2**20,
        }
        for m, rs in runs.items()
    }
    base = rows["copy"]
    for row in rows.values():
        row["x_copy_seconds"] = row["seconds"] / base["seconds"]
        row["x_copy_rss"] = row["rss_mib"] / base["rss_mib"]
    gib = source.stat().st_size / 2**30
    print(f"file: {gib:.2f} GiB NetCDF-4, {len(VARIABLES)} float32 variables {shape}, HDF5 "
          f"chunks {chunks}, uncompressed; {threads} threads, median of {repeat}")  # fmt: skip
    print(f"{'method':<14} {'seconds':>8} {'x copy':>7} {'peak RSS MiB':>13} {'x copy':>7} "
          f"{'start MiB':>10}")  # fmt: skip
    for method, row in rows.items():
        print(
            f"{method:<14} {row['seconds']:8.1f} {row['x_copy_seconds']:7.2f} "
            f"{row['rss_mib']:13.0f} {row['x_copy_rss']:7.2f} {row['start_mib']:10.0f}"
        )
    kern = measure("kernels", source, target, threads)
    rows["kernels"] = {"rss_mib": kern["rss"] / 2**20}
    print(f"numba's runtime and the float32 3-D kernels alone: {kern['rss'] / 2**20:.0f} MiB")
    if workdir is None:
        shutil.rmtree(tmp)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gib", type=float, default=1.0, help="file size (default 1 GiB)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    # two float32 variables of 1024x1024 planes, time rounded to whole chunks of 8
    n_time = max(8, round(a.gib * 2**30 / (len(VARIABLES) * 4 * 1024 * 1024) / 8) * 8)
    main((n_time, 1024, 1024), threads=a.threads, repeat=a.repeat)
