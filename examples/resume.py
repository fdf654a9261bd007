"""Resume: a Zarr-to-Zarr run stopped half way is finished by ``mode="resume"``.

    python examples/resume.py [--size N] [--figures DIR]

Writes a synthetic temperature T(time, lat, lon) to a Zarr store in a temporary
directory (removed at the end), starts ``bigrad.gradient_zarr`` and stops it after half of its blocks (the
progress callback raises, as a crash or Ctrl-C would), then shows that:

1. the unfinished target is refused by ``bigrad.open_gradient``
   (``IncompleteStoreError``), so it cannot be mistaken for a result;
2. ``mode="resume"`` (``bigrad gradient ... --mode resume``) finishes it, writing only
   the blocks that were missing;
3. the finished target holds the same values as an uninterrupted run.

With matplotlib, saves a figure of which blocks each run wrote.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

import bigrad

sys.path.insert(0, str(Path(__file__).parent))
import _figures


class Stop(Exception):
    """Raised from the progress callback to stop the run part way."""


def temperature(size: int) -> xr.Dataset:
    """T in K on a global grid, chunked so that the run has several blocks."""
    lat = np.linspace(-89.0, 89.0, size)
    lon = np.arange(2 * size) * (360.0 / (2 * size))
    days = np.arange(16.0)
    T = (
        280.0
        + 20.0 * np.cos(np.deg2rad(lat))[None, :, None]
        + 0.3 * days[:, None, None] * np.sin(np.deg2rad(lon))[None, None, :]
    )
    return xr.Dataset(
        {"T": (("time", "lat", "lon"), T.astype("f4"), {"units": "K"})},
        coords={
            "time": days,
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    ).chunk({"time": 2, "lat": max(1, size // 2), "lon": -1})


def main(size: int = 32, figures: str | None = None) -> bool:
    """Run the three steps; return whether the resumed result equals an uninterrupted one."""
    with tempfile.TemporaryDirectory(prefix="bigrad-resume-") as tmp:
        return _steps(Path(tmp), size, figures)


def _steps(work: Path, size: int, figures: str | None) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not in the Zarr 3 spec
        temperature(size).to_zarr(work / "t.zarr", mode="w", consolidated=True)
    source, target = work / "t.zarr", work / "grads.zarr"

    def stop_half_way(done: int, total: int) -> None:
        if done >= total // 2:
            raise Stop(f"stopped after {done} of {total} blocks")

    try:
        bigrad.gradient_zarr(source, target, periodic="lon", progress=stop_half_way, threads=1)
    except Stop as e:
        print(f"first run: {e}")
    # the first run's blocks, as the chunks of one output it wrote (time x lat blocks)
    first = _written(target / "dT_dlat")
    try:
        bigrad.open_gradient(target)
    except bigrad.IncompleteStoreError as e:
        print(f"open_gradient refuses the unfinished target: {e}")
    else:
        raise SystemExit("the unfinished target was opened as if it were finished")

    seen: list[int] = []  # blocks done, as reported after each block (from the start)
    out = bigrad.gradient_zarr(
        source, target, periodic="lon", mode="resume", progress=lambda d, t: seen.append(d)
    )
    print(
        f"resumed: {seen[-1] - seen[0]} blocks written, {seen[0]} kept from the first run "
        f"-> {list(out.data_vars)}"
    )

    whole = bigrad.gradient_zarr(source, work / "whole.zarr", periodic="lon")
    same = all(bool((out[v] == whole[v]).all()) for v in whole.data_vars)
    print(f"equal to an uninterrupted run: {same}")
    _figure(first, _written(target / "dT_dlat"), figures)
    return same


def _written(array_dir: Path) -> np.ndarray:
    """Which (time, lat) chunks of a Zarr v3 array exist: True where written."""
    keys = [p.relative_to(array_dir / "c").parts for p in (array_dir / "c").rglob("*")
            if p.is_file()]  # fmt: skip
    shape = np.array([[int(k[0]), int(k[1])] for k in keys]).max(axis=0) + 1 if keys else (1, 1)
    grid = np.zeros(tuple(shape), dtype=bool)
    for k in keys:
        grid[int(k[0]), int(k[1])] = True
    return grid


def _figure(first: np.ndarray, final: np.ndarray, figures: str | None) -> None:
    plt = _figures.pyplot()
    if plt is None:
        print("(no figure: matplotlib is not installed)")
        return
    who = np.where(final, 2, 0)
    who[: first.shape[0], : first.shape[1]][first] = 1
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.imshow(who.T, cmap="viridis", vmin=0, vmax=2, origin="lower", aspect="auto")
    ax.set_xlabel("time block")
    ax.set_ylabel("lat block")
    ax.set_title("blocks of dT_dlat: first run (dark), resume (light)")
    _figures.save(fig, "resume", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="latitudes (longitudes: 2x)")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    a = parser.parse_args()
    if not main(a.size, a.figures):
        raise SystemExit("the resumed result differs from an uninterrupted run")
