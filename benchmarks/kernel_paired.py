"""Paired timing of two versions of the numba kernel in one process.

    BIGRAD_THREADS=1 python benchmarks/kernel_paired.py --size-mib 64 --repeat 7 --old 56ffb58

``--old`` names a git revision whose ``bigrad/kernels/numba.py`` is loaded beside the
working tree's; each round times every case once with each kernel, in alternating
order, and the table shows per case the medians over rounds of the wall time and of
the calling thread's CPU time (with ``BIGRAD_THREADS=1`` the kernel runs in that
thread), and the median of the per-round ratios new/old.  The two kernels' results
are checked to be bit-identical.  Cases: derivatives of accuracy 4 and 6 along the
last axis of a 3-D array (uniform and not), Laplacians (all three axes), and
Savitzky-Golay and Gaussian derivatives (windows 5 and 11) along both axes of a 2-D
float64 field.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import dask.array as da
import numpy as np

import bigrad
import bigrad.kernels.numba as current

ROOT = Path(__file__).parents[1]


def load_old(rev: str, workdir: str) -> ModuleType:
    """The kernel module as it was at git revision ``rev``."""
    text = subprocess.run(
        ["git", "show", f"{rev}:bigrad/kernels/numba.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = Path(workdir) / "bigrad_kernel_old.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("bigrad_kernel_old", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases(size_mib: float) -> dict[str, Callable[[], Any]]:
    """name -> call, on float arrays of about ``size_mib``."""
    rng = np.random.default_rng(0)
    out: dict[str, Callable[[], Any]] = {}
    for dt in ("f4", "f8"):
        n = max(8, round((size_mib * 2**20 / np.dtype(dt).itemsize) ** (1 / 3)))
        x = rng.random((n, n, n)).astype(dt)
        c = np.cumsum(0.5 + rng.random(n))
        out[f"{dt} uniform gradient"] = partial(bigrad.gradient, x, 0.5)
        out[f"{dt} non-uniform gradient"] = partial(bigrad.gradient, x, c, c, c)
        for acc in (4, 6):
            out[f"{dt} uniform derivative acc {acc}"] = partial(
                bigrad.derivative, x, 0.5, axis=-1, accuracy=acc
            )
            out[f"{dt} non-uniform derivative acc {acc}"] = partial(
                bigrad.derivative, x, c, axis=-1, accuracy=acc
            )
        # dask blocks with halos along the last axis: the points beside a line's halo
        xd = da.from_array(x, chunks=(n, n, (n + 1) // 2)).persist()
        out[f"{dt} non-uniform derivative acc 6, dask"] = lambda xd=xd, c=c: np.asarray(
            bigrad.derivative(xd, c, axis=-1, accuracy=6)
        )
        for acc in (2, 4):
            out[f"{dt} uniform laplacian acc {acc}"] = partial(
                bigrad.laplacian, x, 0.5, 0.25, 2.0, accuracy=acc
            )
    n = max(16, int(np.sqrt(size_mib * 2**20 / 8)))
    f = rng.standard_normal((n, n))
    for axis in (-1, 0):
        for w, s in ((5, 0.5), (11, 1.25)):
            out[f"f8 2-D savgol w={w} axis={axis}"] = partial(
                bigrad.savgol_derivative, f, w, 2, axis=axis
            )
            out[f"f8 2-D gaussian w={w} axis={axis}"] = partial(
                bigrad.gaussian_derivative, f, s, axis=axis
            )
    return out


def _timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.thread_time()
    out = call()
    return time.perf_counter() - wall, time.thread_time() - cpu, out


def main(
    size_mib: float = 64.0, repeat: int = 7, old: str = "56ffb58", only: str = ""
) -> dict[str, Any]:
    """Run the rounds, print the table, return ``{case: {"ratio": [...], ...}}``; only
    the cases whose name contains ``only``."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        kernels = {"old": load_old(old, tmp).apply_block, "new": current.apply_block}
        table = {k: v for k, v in cases(size_mib).items() if only in k}
        keep = current.apply_block
        engine = os.environ.get("BIGRAD_ENGINE")
        # the compiled kernels on every call, compiled before the first (under "auto" a
        # call takes numpy's kernels while its kernel compiles in the background)
        os.environ["BIGRAD_ENGINE"] = "numba"
        try:
            for name, call in table.items():
                res: dict[str, list[float]] = {"old": [], "new": [], "old cpu": [], "new cpu": []}
                got = {}
                for r in range(repeat + 1):  # round 0 compiles and checks
                    order = ["old", "new"] if r % 2 else ["new", "old"]
                    for k in order:
                        current.apply_block = kernels[k]
                        wall, cpu, got[k] = _timed(call)
                        if r:
                            res[k].append(wall)
                            res[f"{k} cpu"].append(cpu)
                    if not r and not np.array_equal(got["old"], got["new"], equal_nan=True):
                        raise AssertionError(f"{name}: the two kernels differ")
                res["ratio"] = [n / o for n, o in zip(res["new"], res["old"], strict=True)]
                res["cpu ratio"] = [
                    n / o for n, o in zip(res["new cpu"], res["old cpu"], strict=True)
                ]
                results[name] = res
        finally:
            current.apply_block = keep
            if engine is None:
                del os.environ["BIGRAD_ENGINE"]
            else:
                os.environ["BIGRAD_ENGINE"] = engine
    print(f"{size_mib:g} MiB per array, {repeat} paired rounds; medians (ms), new/old:")
    print(
        f"{'case':<38} {'old':>8} {'new':>8} {'ratio':>6} {'old cpu':>8} {'new cpu':>8} {'ratio':>6}"
    )
    for name, res in results.items():
        med = {k: float(np.median(v)) for k, v in res.items()}
        print(f"{name:<38} {med['old'] * 1e3:8.1f} {med['new'] * 1e3:8.1f} {med['ratio']:6.2f} "
              f"{med['old cpu'] * 1e3:8.1f} {med['new cpu'] * 1e3:8.1f} {med['cpu ratio']:6.2f}")  # fmt: skip
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=64.0)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--old", default="56ffb58", help="git revision of the old kernel")
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    args = parser.parse_args()
    main(args.size_mib, args.repeat, args.old, args.only)
