"""On a cluster: gradients computed by dask.distributed workers, Zarr to Zarr and in memory.

    python examples/cluster.py                           # a LocalCluster of 2 worker processes
    python examples/cluster.py tcp://head:8786 --dir /shared/scratch   # an existing cluster

Writes a synthetic global temperature T(time, lat, lon) to DIR/t.zarr (a temporary
directory by default; with a cluster of other machines give a DIR that all workers see
at the same path), then on the cluster's workers:

1. ``bigrad.gradient_zarr(..., scheduler=client)``: Zarr to Zarr, block by block;
2. ``ds.bigrad.gradient(...)``, lazy, computed with ``client.compute``: the dask path.

Prints the largest difference of each from xarray's ``differentiate`` and the bytes the
workers exchanged (faces only), and exits with an error if they disagree.  With
matplotlib (``--figures DIR``), saves a map of dT/dlon computed by the workers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from distributed import Client, LocalCluster

import bigrad

sys.path.insert(0, str(Path(__file__).parent))
import _figures


def synthetic(size: int) -> xr.Dataset:
    """T(time, lat, lon) float32 on a global grid."""
    lat = np.linspace(-89.0, 89.0, size)
    lon = np.arange(2 * size) * (360.0 / (2 * size))
    t = np.arange(size // 2)
    field = 280 + 20 * np.cos(np.deg2rad(lat))[None, :, None] * np.sin(
        np.deg2rad(lon)[None, None, :] + 0.1 * t[:, None, None]
    )
    return xr.Dataset(
        {"T": (("time", "lat", "lon"), field.astype("f4"), {"units": "K"})},
        coords={
            "time": t,
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )


def main(
    size: int = 64,
    address: str | None = None,
    directory: str | None = None,
    figures: str | None = None,
) -> float:
    """Run both paths on the cluster; returns the largest difference from xarray."""
    work = Path(directory or tempfile.mkdtemp(prefix="bigrad-cluster-"))
    ds = synthetic(size)
    chunks = {"time": max(1, size // 8), "lat": size // 2, "lon": size // 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not in the Zarr 3 spec
        ds.chunk(chunks).to_zarr(work / "t.zarr", mode="w", consolidated=True)
    expected = {dim: ds.T.differentiate(dim) for dim in ("lat", "lon")}

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        address = cluster.scheduler_address
    try:
        with Client(address) as client:
            print(f"cluster: {len(client.nthreads())} workers at {address}")
            # 1. Zarr to Zarr: the workers read and write the stores themselves
            out = bigrad.gradient_zarr(
                work / "t.zarr", work / "grads.zarr", dims=["lat", "lon"], mode="w",
                scheduler=client,
            )  # fmt: skip
            # 2. in memory: the accessor's lazy result, computed by the same workers
            lazy = xr.open_zarr(work / "t.zarr").bigrad.gradient(["lat", "lon"])
            computed = client.compute(lazy).result()
            moved = client.run(
                lambda dask_worker: sum(e["total"] for e in dask_worker.transfer_incoming_log)
            )
    finally:
        if cluster is not None:
            cluster.close()

    worst = 0.0
    for dim, ref in expected.items():
        for label, got in (("gradient_zarr", out), ("accessor", computed)):
            diff = float(np.abs(got[f"dT_d{dim}"].values - ref.values).max())
            worst = max(worst, diff)
            print(f"  dT_d{dim} ({label}): max difference from xarray {diff:.1e} K/degree")
    print(f"bytes exchanged between workers: {sum(moved.values())} ({ds.T.nbytes} in the input)")
    plt = _figures.pyplot()
    if plt is None:
        print("(no figure: matplotlib is not installed)")
    else:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        out["dT_dlon"].isel(time=0).plot(ax=ax, cmap="RdBu_r")
        ax.set_title("dT/dlon written by the cluster's workers")
        _figures.save(fig, "cluster", figures)
    return worst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", nargs="?", help="scheduler address (default: a LocalCluster)")
    parser.add_argument("--size", type=int, default=64, help="latitudes (default 64)")
    parser.add_argument("--dir", help="working directory the workers see (default: a temp dir)")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    a = parser.parse_args()
    if main(a.size, a.address, a.dir, a.figures) > 1e-4:
        raise SystemExit("bigrad on the cluster disagrees with xarray")
