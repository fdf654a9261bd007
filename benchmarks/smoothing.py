"""Speed of the smoothing derivatives and of nan="one-sided", on numpy input.

    python benchmarks/smoothing.py --size-mib 256 --repeat 5

On a 2-D float64 field (C order, the derivative along the last axis and along the
first):

* Savitzky-Golay (windows 5 and 11, quadratic fits, ``interp`` ends) and Gaussian
  derivatives (sigma 0.5 and 1.25: windows 5 and 11 with ``truncate=4``) by bigrad and
  by scipy (``savgol_filter``, ``gaussian_filter1d``) on the same array;
* the gradient along both axes with ``nan="propagate"`` and ``nan="one-sided"`` on a
  field that is 30% land (NaN in smooth blobs), as an array with steps, as a
  DataArray through the accessor (a quarter-degree longitude, an uneven latitude), as
  a persisted dask array (square chunks, a quarter of each axis), with both axes
  periodic (runs cross the ends), and along the three axes of a float32 field of the
  same bytes, 8 time steps of half the side, land the same at every step.

The floor is one read and one write per component: a ``np.copyto`` of the input into a
preallocated array, timed in the same round (best of three).  Each of ``--repeat``
rounds runs every method once, in an order rotating from round to round; the table
shows the median over rounds of each method's time divided by its round's floor (times
the number of components), and for the NaN-aware gradient its median ratio to the
plain one.  dask-image is not compared (not installed here).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import dask
import dask.array as dsk
import numpy as np
import scipy.ndimage as ndi
import scipy.signal as sig
import xarray as xr

import bigrad

#: the NaN-aware gradient as an array, through the xarray accessor, on dask and round
#: periodic axes: ``(label of the ratio, plain method, one-sided method)``
PAIRS = [
    (label, f"gradient 30% land, {how}propagate", f"gradient 30% land, {how}one-sided")
    for label, how in (("nan='one-sided' / plain gradient", ""),
                       ("the same through the accessor", "accessor, "),
                       ("the same on dask", "dask, "),
                       ("the same, periodic axes", "periodic, "),
                       ("the same, 3-D float32 (time, lat, lon)", "3-D float32, "))
]  # fmt: skip
ACCESSOR, DASK = PAIRS[1][1:], PAIRS[2][1:]

try:  # optional: a comparison for the Gaussian derivative
    import dask.array as da
    import dask_image.ndfilters as dndi
except ImportError:  # pragma: no cover - the script runs without it
    dndi = None


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _land(shape: tuple[int, int], fraction: float = 0.3) -> np.ndarray:
    """A mask of smooth blobs covering ``fraction`` of the field."""
    rng = np.random.default_rng(0)
    coarse = rng.standard_normal((max(2, shape[0] // 64), max(2, shape[1] // 64)))
    y = np.linspace(0, coarse.shape[0] - 1, shape[0])
    x = np.linspace(0, coarse.shape[1] - 1, shape[1])
    smooth = ndi.map_coordinates(coarse, np.meshgrid(y, x, indexing="ij"), order=1)
    return np.asarray(smooth > np.quantile(smooth, 1.0 - fraction))


def _dask_image(f: np.ndarray, sigma: float, axis: int) -> Callable[[], Any]:
    """dask-image's Gaussian derivative along ``axis`` only (sigma 0 elsewhere)."""
    chunks = (max(1, 32 * 2**20 // (f.shape[1] * f.itemsize)), f.shape[1])
    sig_, order = [0.0] * f.ndim, [0] * f.ndim
    sig_[axis], order[axis] = sigma, 1
    return lambda: dndi.gaussian_filter(da.from_array(f, chunks=chunks), sig_, order).compute()


def methods(f: np.ndarray, sea: np.ndarray) -> dict[str, tuple[int, Callable[[], Any]]]:
    """name -> (components, call)."""
    out: dict[str, tuple[int, Callable[[], Any]]] = {}
    for axis in (-1, 0):
        for w in (5, 11):
            out[f"savgol w={w} axis={axis} bigrad"] = (
                1,
                lambda w=w, a=axis: bigrad.savgol_derivative(f, w, 2, axis=a),
            )
            out[f"savgol w={w} axis={axis} scipy"] = (
                1,
                lambda w=w, a=axis: sig.savgol_filter(f, w, 2, deriv=1, axis=a),
            )
        for s, w in ((0.5, 5), (1.25, 11)):
            out[f"gaussian w={w} axis={axis} bigrad"] = (
                1,
                lambda s=s, a=axis: bigrad.gaussian_derivative(f, s, axis=a),
            )
            out[f"gaussian w={w} axis={axis} scipy"] = (
                1,
                lambda s=s, a=axis: ndi.gaussian_filter1d(f, s, axis=a, order=1),
            )
            if dndi is not None:
                out[f"gaussian w={w} axis={axis} dask-image"] = (1, _dask_image(f, s, axis))
    out["gradient 30% land, propagate"] = (2, lambda: bigrad.gradient(sea))
    out["gradient 30% land, one-sided"] = (2, lambda: bigrad.gradient(sea, nan="one-sided"))
    # the same through the accessor: a quarter-degree longitude (its step) and an uneven
    # latitude (every point its own weights, as on a Gaussian grid)
    lat = np.cumsum(0.25 + 0.01 * np.sin(np.arange(sea.shape[0])))
    grid = xr.DataArray(sea, dims=("lat", "lon"), coords={
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", np.arange(sea.shape[1]) * 0.25, {"units": "degrees_east"}),
    })  # fmt: skip
    out[ACCESSOR[0]] = (2, lambda: grid.bigrad.gradient())
    out[ACCESSOR[1]] = (2, lambda: grid.bigrad.gradient(nan="one-sided"))
    # and on dask: square chunks of a quarter of each axis, persisted (views of ``sea``)
    chunked = dsk.from_array(sea, chunks=tuple(max(1, n // 4) for n in sea.shape)).persist()
    out[DASK[0]] = (2, lambda: dask.compute(*bigrad.gradient(chunked)))
    out[DASK[1]] = (2, lambda: dask.compute(*bigrad.gradient(chunked, nan="one-sided")))
    plain, one_sided = PAIRS[3][1:]
    out[plain] = (2, lambda: bigrad.gradient(sea, periodic=True))
    out[one_sided] = (2, lambda: bigrad.gradient(sea, periodic=True, nan="one-sided"))
    # an ocean through time: (8, n/2, n/2) float32, the bytes of ``sea``
    half = sea[::2, ::2]
    ocean = np.repeat(half[None], 8, axis=0).astype(np.float32)
    ocean += np.random.default_rng(2).standard_normal(ocean.shape, dtype=np.float32)
    plain, one_sided = PAIRS[4][1:]
    out[plain] = (3, lambda: bigrad.gradient(ocean))
    out[one_sided] = (3, lambda: bigrad.gradient(ocean, nan="one-sided"))
    return out  # fmt: skip


def main(size_mib: float = 256.0, repeat: int = 5) -> dict[str, Any]:
    """Run the rounds, print the table, return ``{name: [ratio per round]}`` and the
    NaN-aware/plain ratios under ``"nan/plain"`` (array), ``"accessor nan/plain"``,
    ``"dask nan/plain"``, ``"periodic nan/plain"`` and ``"3-D nan/plain"``."""
    n = max(16, int(np.sqrt(size_mib * 2**20 / 8)))
    f = np.random.default_rng(1).standard_normal((n, n))
    sea = f.copy()
    sea[_land(f.shape)] = np.nan
    table = methods(f, sea)
    dst = np.empty_like(f)
    ratios: dict[str, list[float]] = {name: [] for name in table}
    pair_ratios: list[list[float]] = [[] for _ in PAIRS]
    for _, call in table.values():  # warm-up (numba compilation)
        call()
    names = list(table)
    for r in range(repeat):
        floor = min(_time(lambda: np.copyto(dst, f)) for _ in range(3))
        times = {}
        for name in names[r % len(names) :] + names[: r % len(names)]:
            comps, call = table[name]
            times[name] = _time(call)
            ratios[name].append(times[name] / (comps * floor))
        for (_, plain, one_sided), out in zip(PAIRS, pair_ratios, strict=True):
            out.append(times[one_sided] / times[plain])
    print(f"float64 ({n}, {n}) = {f.nbytes / 2**20:.0f} MiB, {repeat} rounds; x floor:")
    for name in names:
        print(f"  {name:<36} {np.median(ratios[name]):7.2f}")
    for (label, _, _), out in zip(PAIRS, pair_ratios, strict=True):
        print(f"  {label:<36} {np.median(out):7.2f}")
    keys = ("nan/plain", "accessor nan/plain", "dask nan/plain", "periodic nan/plain",
            "3-D nan/plain")  # fmt: skip
    return {**ratios, **dict(zip(keys, pair_ratios, strict=True))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=256.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    main(args.size_mib, args.repeat)
