"""Zarr to Zarr vorticity on a 0.25-degree global grid vs the I/O floor: time and peak RSS.

    python benchmarks/sphere_zarr.py --steps 16 --repeat 3

float32 ``u`` and ``v`` of ``steps x 721 x 1440`` (pole to pole, a full circle of
longitude) are written once to a Zarr v3 store (zarr's default zstd), chunked
``--chunks`` (default one time step per chunk).  Each method then runs in its own
subprocess (so peak RSS, ``ru_maxrss``, is per method), with the same threads:

- ``copy2``: read each block of ``u`` and of ``v`` once and write one output block
  (their sum) through bigrad's own streaming, the winds stacked as vorticity reads them
  (the floor: read 2, write 1);
- ``vorticity``: ``bigrad.kinematics_zarr(..., "vorticity")``.

Time is the median over ``--repeat`` rounds of both methods in turn (after one warm-up
copy2; before each run the previous output is deleted and ``sync`` waits for the disk);
"x copy2" is the median of the per-round ratios to that round's copy2, peak RSS the
largest.
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
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).parents[1]
METHODS = ("copy2", "vorticity")


def make_store(
    path: Path | str, steps: int, nlat: int, nlon: int, chunks: tuple[int, int, int]
) -> None:
    """A smooth float32 wind with a little noise (so zstd has work) on a global grid."""
    import xarray as xr

    lat = np.linspace(-90.0, 90.0, nlat)
    lon = np.arange(nlon) * (360.0 / nlon)
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    t = np.arange(steps)[:, None, None]
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, (2, steps, nlat, nlon)).astype(np.float32)
    u = (20 * np.cos(phi) + 5 * np.cos(phi) ** 3 * np.cos(4 * lam + t)).astype(np.float32)
    v = (-5 * np.cos(phi) ** 3 * np.sin(phi) * np.sin(4 * lam + t)).astype(np.float32)
    dims = ("time", "lat", "lon")
    ds = xr.Dataset(
        {"u": (dims, u + noise[0], {"units": "m s-1"}), "v": (dims, v + noise[1], {"units": "m s-1"})},
        coords={"time": np.arange(steps), "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
    )  # fmt: skip
    enc = {k: {"chunks": chunks} for k in ("u", "v")}
    ds.to_zarr(path, mode="w", zarr_format=3, encoding=enc, consolidated=False)


def _copy2(source: str, target: str, threads: int) -> None:
    # bigrad's own streaming, the winds read stacked as kinematics_zarr reads them, and
    # their sum written: no derivative axes, so no neighbours and no read-ahead
    import xarray as xr
    import zarr

    from bigrad.core.plan import plan_gradient
    from bigrad.io.stream import stream_gradient
    from bigrad.io.zarr import _Reader, _Stacked, _Unstacked

    reader = xr.open_dataset(source, engine="zarr", chunks=None, cache=False, consolidated=False)
    src = zarr.open_array(os.path.join(source, "u"), mode="r")
    chunks = tuple(
        tuple(min(c, n - s) for s in range(0, n, c))
        for n, c in zip(src.shape, src.chunks, strict=True)
    )
    plan = plan_gradient((2, *src.shape), ((2,), *chunks), {})
    group = zarr.open_group(target, mode="w")
    out = group.create_array("sum", shape=src.shape, chunks=src.chunks, dtype=src.dtype,
                             compressors=src.compressors)  # fmt: skip
    stacked = _Stacked([_Reader(reader.u.variable), _Reader(reader.v.variable)])
    stream_gradient(
        stacked, [_Unstacked(out)], plan, (), threads=threads,
        compute=lambda block, bundles, spec: (np.add(block[0], block[1]),),
    )  # fmt: skip


def run_method(method: str, source: str, target: str, threads: int) -> float:
    import contextlib
    import warnings

    warnings.simplefilter("ignore")
    # imported and loaded before the clock starts, for both methods alike: one-offs per
    # process (as in benchmarks/zarr_io.py), not costs per block
    import dask.array  # noqa: F401  (the outputs' template is a lazy dask array)

    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401

    import xarray as xr

    import bigrad

    # xarray imports the duck-array libraries it checks against (pint) on the first index
    # it builds: a one-off of a process that both methods paid in their timed part
    xr.Dataset(coords={"x": np.arange(2.0)})
    bigrad.kernels.preload(np.dtype("f4"), 3)
    start = time.perf_counter()
    if method == "copy2":
        _copy2(source, target, threads)
    elif method == "vorticity":
        bigrad.kinematics_zarr(source, target, "vorticity", threads=threads)
    else:
        raise ValueError(method)
    return time.perf_counter() - start


def _child(argv: list[str]) -> None:
    method, source, target, threads = argv
    seconds = run_method(method, source, target, int(threads))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "rss": rss}))


def measure(method: str, source: Path, target: Path, threads: int) -> dict[str, Any]:
    """Run one method in a fresh subprocess; returns its seconds and peak RSS (bytes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_ARENA_MAX": "4"}
    cmd = [sys.executable, __file__, "--child", method, str(source), str(target), str(threads)]
    if target.exists():
        shutil.rmtree(target)
    os.sync()  # each run starts with no other run's writes still in flight (not timed)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main(steps: int = 16, nlat: int = 721, nlon: int = 1440, chunks: tuple[int, ...] | None = None,
         threads: int = 2, repeat: int = 3, workdir: Path | None = None,
         warmup: bool = True) -> dict[str, dict[str, float]]:  # fmt: skip
    """Write the store, run both methods, print the table; returns ``{method: row}``."""
    chunks3 = tuple(chunks or (1, nlat, nlon))
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bigrad-sphere-"))
    source, target = tmp / "winds.zarr", tmp / "out.zarr"
    # in a child: a child's peak RSS starts from this process's RSS when it is forked
    args = f"{str(source)!r}, {steps}, {nlat}, {nlon}, {chunks3}"
    make = f"from sphere_zarr import make_store; make_store({args})"
    path = f"{ROOT}{os.pathsep}{ROOT / 'benchmarks'}"
    subprocess.run([sys.executable, "-c", make], check=True, env={**os.environ, "PYTHONPATH": path})
    if warmup:
        measure("copy2", source, target, threads)  # page cache, disk, imports
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    for _ in range(repeat):
        for method in METHODS:
            runs[method].append(measure(method, source, target, threads))
    rows = {}
    for method, rs in runs.items():
        ratios = [r["seconds"] / f["seconds"] for r, f in zip(rs, runs["copy2"], strict=True)]
        rows[method] = {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "x_copy2": statistics.median(ratios),
            "x_copy2_min": min(ratios),
            "x_copy2_max": max(ratios),
            "rss_mib": max(r["rss"] for r in rs) / 2**20,
        }
    mib = 4 * steps * nlat * nlon / 2**20
    print(f"u, v: float32 ({steps}, {nlat}, {nlon}), {mib:.0f} MiB each, chunks {chunks3}, "
          f"Zarr v3 zstd; {threads} threads, median of {repeat}")  # fmt: skip
    print(f"{'method':<10} {'seconds':>8} {'x copy2':>8} {'min-max':>10} {'peak RSS MiB':>13} "
          f"{'x copy2':>8}")  # fmt: skip
    for method, row in rows.items():
        spread = f"{row['x_copy2_min']:.2f}-{row['x_copy2_max']:.2f}"
        print(f"{method:<10} {row['seconds']:8.2f} {row['x_copy2']:8.2f} {spread:>10} "
              f"{row['rss_mib']:13.0f} {row['rss_mib'] / rows['copy2']['rss_mib']:8.2f}")  # fmt: skip
    if workdir is None:
        shutil.rmtree(tmp)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=16, help="time steps of 721 x 1440")
    p.add_argument("--chunks", type=int, nargs=3, default=None, metavar=("T", "LAT", "LON"),
                   help="store chunks (default: 1 x 721 x 1440)")  # fmt: skip
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    main(a.steps, chunks=a.chunks, threads=a.threads, repeat=a.repeat)
