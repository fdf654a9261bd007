"""Speed of vorticity on a 0.25-degree global grid: bigrad vs the floor vs MetPy.

    python benchmarks/sphere.py --steps 4 --repeat 5
    python benchmarks/sphere.py --operator laplacian   # or divergence, gradient

float32 ``u`` and ``v`` of ``steps x 721 x 1440`` (pole to pole, a full circle of
longitude) in memory.  Each round times, in an order rotating from round to round:

* floor: read the inputs once and write the outputs once, each output fresh as every
  method allocates one: ``np.add(u, v)`` for vorticity and divergence (read 2, write
  1), ``np.negative(u)`` for the Laplacian (read 1, write 1), ``np.negative(u)`` into
  two outputs for the gradient (read 1, write 2; the second read from cache);
* bigrad: ``bigrad.vorticity`` (or ``--operator``'s function) on the numpy arrays;
* bigrad (dask): the same on dask arrays of one time step per chunk, computed;
* MetPy (vorticity and divergence only): ``metpy.calc.vorticity`` (``divergence``)
  with spherical ``dx``, ``dy`` (metres per grid step at the equator) and
  ``parallel_scale = 1 / cos(lat)``, ``meridional_scale = 1``.

A method's time is divided by the floor's of the same round; the table shows the median
of those ratios and of the times (after one untimed warm-up round).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

import bigrad


def inputs(steps: int, nlat: int = 721, nlon: int = 1440) -> dict[str, Any]:
    """A smooth float32 wind on a global grid, and MetPy's grid arguments."""
    lat = np.linspace(-90.0, 90.0, nlat)
    lon = np.arange(nlon) * (360.0 / nlon)
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    t = np.arange(steps)[:, None, None]
    u = (20 * np.cos(phi) + 5 * np.cos(phi) ** 3 * np.cos(4 * lam + t)).astype(np.float32)
    v = (-5 * np.cos(phi) ** 3 * np.sin(phi) * np.sin(4 * lam + t)).astype(np.float32)
    return {"u": u, "v": v, "lat": lat, "lon": lon}


#: per operator: bigrad's function of (u, v, lat, lon) and the floor of (u, v)
OPERATORS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "vorticity": (bigrad.vorticity, np.add),
    "divergence": (bigrad.divergence, np.add),
    "laplacian": (
        lambda u, v, lat, lon: bigrad.spherical_laplacian(u, lat, lon),
        lambda u, v: np.negative(u),
    ),
    "gradient": (
        lambda u, v, lat, lon: bigrad.geospatial_gradient(u, lat, lon),
        lambda u, v: (np.negative(u), np.negative(u)),
    ),
}


def _metpy(inp: dict[str, Any], operator: str = "vorticity") -> Callable[[], Any]:
    import metpy.calc as mpcalc
    from metpy.units import units

    lat, lon, u = inp["lat"], inp["lon"], inp["u"]
    a = bigrad.EARTH_RADIUS
    shape = u.shape[-2:]
    # MetPy wants the deltas and scales with the data's number of dimensions
    dx = np.broadcast_to(a * np.deg2rad(np.diff(lon))[None, :], (1, shape[0], shape[1] - 1))
    dy = np.broadcast_to(a * np.deg2rad(np.diff(lat))[:, None], (1, shape[0] - 1, shape[1]))
    with np.errstate(divide="ignore"):
        scale = np.broadcast_to(1 / np.cos(np.deg2rad(lat))[:, None], (1, *shape))
    uq, vq = units.Quantity(u, "m/s"), units.Quantity(inp["v"], "m/s")
    kw = {"dx": units.Quantity(dx, "m"), "dy": units.Quantity(dy, "m"),
          "parallel_scale": scale, "meridional_scale": np.ones((1, *shape))}  # fmt: skip

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(mpcalc, operator)(uq, vq, **kw)

    return run


def methods(inp: dict[str, Any], metpy: bool = True,
            operator: str = "vorticity") -> dict[str, Callable[[], Any]]:  # fmt: skip
    u, v, lat, lon = inp["u"], inp["v"], inp["lat"], inp["lon"]
    chunks = (1, *u.shape[1:])
    du, dv = da.from_array(u, chunks=chunks), da.from_array(v, chunks=chunks)
    op, floor = OPERATORS[operator]
    out = {
        "floor": lambda: floor(u, v),
        "bigrad": lambda: op(u, v, lat, lon),
        "bigrad (dask)": lambda: dask.compute(op(du, dv, lat, lon)),
    }
    if metpy and operator in ("vorticity", "divergence"):
        out["MetPy"] = _metpy(inp, operator)
    return out


def _timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(steps: int = 4, repeat: int = 5, nlat: int = 721, nlon: int = 1440,
         metpy: bool = True, threads: int | None = None,
         operator: str = "vorticity") -> dict[str, dict[str, float]]:  # fmt: skip
    """Print the table; return per method the median seconds and ratio to the floor."""
    inp = inputs(steps, nlat, nlon)
    runs = methods(inp, metpy, operator)
    names = list(runs)
    times: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    with dask.config.set(scheduler="threads", num_workers=threads):
        for fn in runs.values():
            fn()  # warm-up: compilation, first touch of pages
        for r in range(repeat):
            order = names[r % len(names) :] + names[: r % len(names)]
            got = {n: _timed(runs[n]) for n in order}
            for n in names:
                times[n].append(got[n])
                ratios[n].append(got[n] / got["floor"])
    rows = {n: {"seconds": float(np.median(times[n])), "x_floor": float(np.median(ratios[n]))}
            for n in names}  # fmt: skip
    mb = (2 if operator == "laplacian" else 3) * inp["u"].nbytes / 2**20
    print(f"{operator}, float32 u, v {inp['u'].shape}, {mb:.0f} MiB moved by the floor, "
          f"medians of {repeat} rounds")  # fmt: skip
    print(f"{'method':<16} {'seconds':>9} {'x floor':>8} {'x MetPy':>8}")
    for n, row in rows.items():
        vs = rows["MetPy"]["seconds"] / row["seconds"] if "MetPy" in rows else float("nan")
        print(f"{n:<16} {row['seconds']:>9.4f} {row['x_floor']:>8.2f} {vs:>8.1f}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="time steps of 721 x 1440")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds")
    parser.add_argument("--threads", type=int, default=None, help="dask threads")
    parser.add_argument("--no-metpy", action="store_true", help="leave MetPy out")
    parser.add_argument("--operator", choices=list(OPERATORS), default="vorticity")
    a = parser.parse_args()
    main(a.steps, a.repeat, metpy=not a.no_metpy, threads=a.threads, operator=a.operator)
