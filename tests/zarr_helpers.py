"""Real Zarr stores on disk for the Zarr tests, and byte-level snapshots of them."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

ROOT = Path(__file__).parents[1]


def sample_dataset(shape: tuple[int, int, int] = (7, 9, 12), seed: int = 0) -> xr.Dataset:
    """A small climate-like dataset: T(time, lat, lon) float32 with units, q(lat, lon)
    float64, a non-uniform latitude, a CF longitude, a datetime time, a 2-D coordinate."""
    rng = np.random.default_rng(seed)
    nt, ny, nx = shape
    lat = np.sort(rng.uniform(-80, 80, ny))
    lon = np.arange(nx) * (360 / nx)
    time = np.datetime64("2001-01-01", "ns") + np.arange(nt) * np.timedelta64(6, "h")
    return xr.Dataset(
        {
            "T": (("time", "lat", "lon"), rng.normal(280, 5, shape).astype("f4"), {"units": "K"}),
            "q": (("lat", "lon"), rng.random((ny, nx)), {"units": "kg kg-1", "long_name": "q"}),
            "name": ("lat", np.array([f"s{i}" for i in range(ny)])),
        },
        coords={
            "time": time,
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
            "area": (("lat", "lon"), rng.random((ny, nx))),
        },
        attrs={"title": "sample"},
    )


def write_store(
    ds: xr.Dataset,
    path: Path,
    chunks: dict[str, int] | None,
    zarr_format: int = 3,
    encoding: dict[str, Any] | None = None,
) -> Path:
    """``ds`` as a Zarr store at ``path``, rechunked (dask) or with ``encoding``'s chunks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (ds if chunks is None else ds.chunk(chunks)).to_zarr(
            path, zarr_format=zarr_format, consolidated=True, encoding=encoding
        )
    return path


def snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``path``: its bytes and modification time (ns)."""
    return {
        str(p.relative_to(path)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def contents(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` and its bytes."""
    return {k: v for k, (v, _) in snapshot(path).items()}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **(extra or {}),
    }


def without_compile_notice(stderr: str) -> str:
    """``stderr`` less numba's one-line notice of a first compile, which a subprocess
    prints when it finds the kernel cache cold (as in a fresh clone); the notice's own
    test is in tests/test_engines.py."""
    lines = stderr.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("bigrad: compiling kernels"))


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bigrad ARGS`` in a subprocess that imports this tree's bigrad, with
    ``env`` added to the environment; stderr without the compile notice."""
    result = subprocess.run(
        [sys.executable, "-m", "bigrad", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=_env(env),
    )
    result.stderr = without_compile_notice(result.stderr)
    return result


# A run that reports each block written; once half are, it blocks in the callback until
# it is killed (one thread, so little is written after "half").
_BLOCKED = textwrap.dedent(
    """
    import sys, threading, bigrad

    def progress(done, total):
        if done >= total // 2:
            print("half", flush=True)
            threading.Event().wait()

    bigrad.gradient_zarr(sys.argv[1], sys.argv[2], mode=sys.argv[3], periodic="lon",
                         progress=progress, threads=1)
    """
)


def start_blocked_run(
    source: Path, target: Path, mode: str = "w-", timeout: float = 60
) -> subprocess.Popen[str]:
    """A real run in a subprocess, returned once it has written half its blocks and is
    holding the target (kill it with SIGKILL, and wait for it)."""
    child = subprocess.Popen(
        [sys.executable, "-c", _BLOCKED, str(source), str(target), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], timeout)
    line = child.stdout.readline() if ready else ""
    if line.strip() != "half":
        child.kill()
        _, err = child.communicate(timeout=30)
        raise AssertionError(f"the run did not reach half its blocks: {err}")
    return child


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL ``child`` and reap it."""
    child.kill()
    child.communicate(timeout=30)
