"""Out of core: the gradient of a Zarr store larger than the memory the run may use.

    python examples/out_of_core.py [--size-mb MB] [--budget-mb MB] [--figures DIR]

Writes a float32 field T(time, y, x) of about MB megabytes (default 256) to a Zarr store
in a temporary directory (removed at the end), one chunk at a time, then streams its
gradient into a second store with ``bigrad.gradient_zarr(..., memory=BUDGET)``: at most
BUDGET bytes of input (default an eighth of the store) are read ahead and held.  Prints
the peak resident memory the run added (beyond the compiled kernels, loaded first)
against the store's size, and checks a few
planes of each output against ``np.gradient`` of the same planes (bit for bit).  With
matplotlib, saves a figure of one plane of T and of its x derivative.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import zarr

import bigrad
import bigrad.kernels

sys.path.insert(0, str(Path(__file__).parent))
import _figures

NY, NX = 512, 512


def _plane(t: int) -> np.ndarray:
    """The field at time ``t``: a moving wave plus a little noise, float32."""
    y, x = np.ogrid[0:NY, 0:NX]
    noise = np.random.default_rng(t).standard_normal((NY, NX))
    return (np.sin(x / 40.0 + 0.1 * t) * np.cos(y / 60.0) + 0.01 * noise).astype("f4")


def write_store(path: Path, nt: int) -> None:
    """T(time, y, x) written plane by plane, so writing it never needs much memory."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not in the Zarr 3 spec
        group = zarr.open_group(path, mode="w")
        arr = group.create_array("T", shape=(nt, NY, NX), chunks=(8, 256, 256), dtype="f4",
                                 dimension_names=("time", "y", "x"))  # fmt: skip
        arr.attrs["units"] = "K"
        for t in range(nt):
            arr[t] = _plane(t)
        zarr.consolidate_metadata(path)


def _peak_mb() -> float:
    """Peak resident memory of this process, in MB (Linux: VmHWM; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _reset_peak() -> None:
    """Start the peak afresh where Linux allows it, so that what came before (writing
    the store, or a test run's earlier work) does not hide the run's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def main(size_mb: int = 256, budget_mb: int | None = None, figures: str | None = None) -> dict:
    """Run the example; returns the sizes and the worst difference from np.gradient."""
    nt = max(3, size_mb * 2**20 // (NY * NX * 4))
    store_mb = nt * NY * NX * 4 / 2**20
    budget = (budget_mb or max(1, size_mb // 8)) * 2**20
    with tempfile.TemporaryDirectory(prefix="bigrad-ooc-") as tmp:
        source, target = Path(tmp) / "t.zarr", Path(tmp) / "grads.zarr"
        write_store(source, nt)
        # the compiled kernels are a fixed cost, whatever the store's size: load them
        # first, so that what the run adds is what streaming the data costs
        _reset_peak()
        start = _peak_mb()
        bigrad.kernels.preload(np.dtype("f4"), 3)
        _reset_peak()
        before = _peak_mb()
        print(f"compiled kernels loaded: {before - start:.0f} MB, once per process")
        out = bigrad.gradient_zarr(source, target, memory=budget, threads=2)
        added = _peak_mb() - before
        print(f"store {store_mb:.0f} MB ({nt} x {NY} x {NX} float32), read-ahead budget "
              f"{budget / 2**20:.0f} MB; outputs {list(out.data_vars)}")  # fmt: skip
        print(f"peak resident memory added by the run: {added:.0f} MB "
              f"({added / store_mb:.2f} x the store)")  # fmt: skip
        worst = 0.0
        for t in (0, nt // 2, nt - 1):  # first, middle and last planes
            lo, hi = max(0, t - 1), min(nt, t + 2)
            planes = np.stack([_plane(i) for i in range(lo, hi)])
            want = np.gradient(planes)
            for name, ref in zip(("dT_dtime", "dT_dy", "dT_dx"), want, strict=True):
                got = out[name][t].values
                worst = max(worst, float(np.abs(got - ref[t - lo]).max()))
        print(f"planes 0, {nt // 2}, {nt - 1} vs np.gradient: max difference {worst:.1e}")
        _figure(out, nt // 2, figures)
    return {"store_mb": store_mb, "added_mb": added, "worst": worst}


def _figure(out: object, t: int, figures: str | None) -> None:
    plt = _figures.pyplot()
    if plt is None:
        print("(no figure: matplotlib is not installed)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    axes[0].imshow(_plane(t), cmap="RdBu_r", origin="lower")
    axes[0].set_title(f"T at time {t}")
    axes[1].imshow(out["dT_dx"][t].values, cmap="RdBu_r", origin="lower")  # type: ignore[index]
    axes[1].set_title("dT/dx, streamed from the store")
    _figures.save(fig, "out_of_core", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256, help="store size (default 256)")
    parser.add_argument("--budget-mb", type=int, help="read-ahead memory (default size/8)")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    a = parser.parse_args()
    result = main(a.size_mb, a.budget_mb, a.figures)
    if result["worst"] != 0.0:
        raise SystemExit("the streamed gradient differs from np.gradient")
