"""``bigrad demo``: a synthetic climate-like store, its gradients, and how well they came out.

The field is analytic, so its derivatives are known exactly::

    T(t, lat, lon) = 280 + 20 cos(lat) + 5 cos(lat) sin(2 lon) + 10 sin(2 pi t / 365 d)

with lat and lon in degrees (derivatives are per degree, as the coordinates are) and
t in days (the time coordinate is datetime64[ns], so the stored derivative is per ns).
The demo differentiates with ``edge_order=2``: with first-order one-sided differences the
first and last day would err by up to half a step of a 365-day cycle (about 1% of the
largest dT/dtime), far more than anything else in the summary.
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import dask.array as da
import numpy as np
import xarray as xr

from bigrad.io.store import is_zarr_store, locate
from bigrad.io.zarr import gradient_zarr

__all__ = ["DemoSummary", "analytic", "demo_dataset", "run_demo"]

#: grid of 0.5 degrees: 361 x 720 points, about 1 MB of float32 per day
N_LAT, N_LON = 361, 720
DAY_NS = 86400e9
#: one-sided differences at the first and last day of second order (see the docstring)
EDGE_ORDER: Final = 2
#: read-ahead of the gradient, bytes (gradient_zarr's default)
MEMORY = 512 * 2**20
#: how each component is differenced, printed after its error
_WHY = {
    "dT_dtime": "step 1 day; second-order one-sided on the first and last day",
    "dT_dlat": "step 0.5 degree; second-order one-sided at the poles",
    "dT_dlon": "step 0.5 degree; periodic: central across the 0/360 seam too",
}


def _field(t_days: Any, lat: Any, lon: Any) -> dict[str, Any]:
    """The field and its exact derivatives (per degree, per day)."""
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    deg = np.pi / 180
    w = 2 * np.pi / 365
    return {
        "T": 280 + 20 * np.cos(la) + 5 * np.cos(la) * np.sin(2 * lo) + 10 * np.sin(w * t_days),
        "lat": (-20 * np.sin(la) - 5 * np.sin(la) * np.sin(2 * lo)) * deg,
        "lon": 10 * np.cos(la) * np.cos(2 * lo) * deg,
        "time": 10 * w * np.cos(w * t_days),
    }


def analytic(component: str, t_days: Any, lat: Any, lon: Any) -> Any:
    """An exact value: ``"T"`` or its derivative along ``"time"`` (per day), ``"lat"``,
    ``"lon"`` (per degree)."""
    return _field(t_days, lat, lon)[component]


def demo_dataset(n_bytes: int, chunk_days: int = 16) -> xr.Dataset:
    """The synthetic dataset of about ``n_bytes`` of float32, lazily (dask)."""
    n_time = max(3, round(n_bytes / (4 * N_LAT * N_LON)))
    lat = np.linspace(-90, 90, N_LAT)
    lon = np.arange(N_LON) * (360 / N_LON)
    time_ = np.datetime64("2000-01-01", "ns") + np.arange(n_time) * np.timedelta64(1, "D")

    def block(block_info: Any = None) -> np.ndarray:
        (t0, t1), (a0, a1), (o0, o1) = block_info[None]["array-location"]
        t = np.arange(t0, t1, dtype=np.float64)[:, None, None]
        f = analytic("T", t, lat[None, a0:a1, None], lon[None, None, o0:o1])
        return np.asarray(f, dtype=np.float32)

    time_chunks = (chunk_days,) * (n_time // chunk_days)
    if n_time % chunk_days:
        time_chunks += (n_time % chunk_days,)
    data = da.map_blocks(block, chunks=(time_chunks, (N_LAT,), (N_LON,)), dtype=np.float32)
    coords = {
        "time": ("time", time_),
        "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }
    attrs = {"units": "K", "long_name": "air temperature", "standard_name": "air_temperature"}
    return xr.Dataset(
        {"T": (("time", "lat", "lon"), data, attrs)},
        coords=coords,
        attrs={"title": "bigrad demo: synthetic climate-like field with known derivatives"},
    )


@dataclass(frozen=True)
class DemoSummary:
    """What ``bigrad demo`` measured."""

    source: Path
    target: Path
    shape: dict[str, int]
    data_bytes: int
    source_disk_bytes: int
    target_disk_bytes: int
    seconds: float
    #: peak resident memory while the gradient ran (the whole process if that is unknown)
    peak_rss_bytes: int
    peak_is_gradient_only: bool
    #: per component: the largest error against the analytic derivative on the sampled
    #: days, relative to the component's largest value there
    max_rel_error: dict[str, float]
    #: per component: the largest difference from np.gradient of the stored data
    vs_numpy: dict[str, float]
    days_checked: int
    png: Path | None

    def lines(self) -> list[str]:
        mb = 1e6
        dims = ", ".join(f"{d} {n}" for d, n in self.shape.items())
        peak = "while the gradient ran" if self.peak_is_gradient_only else "whole process"
        out = [
            f"source   {self.source}: T({dims}), {self.data_bytes / mb:.0f} MB of float32, "
            f"{self.source_disk_bytes / mb:.0f} MB on disk",
            f"target   {self.target}: {', '.join(self.max_rel_error)}, "
            f"{self.target_disk_bytes / mb:.0f} MB on disk",
            f"gradient {self.seconds:.1f} s, {self.data_bytes / mb / self.seconds:.0f} MB/s "
            "of input",
            f"peak memory {self.peak_rss_bytes / 2**20:.0f} MiB {peak}; blocks read ahead are "
            f"capped at {MEMORY // 2**20} MiB whatever the store's size",
            f"error against the exact derivatives on {self.days_checked} days (first and last "
            "included), relative to each component's largest value;",
            "most of it is float32's rounding of T (about 1.5e-5 K) divided by the step:",
        ]
        for name, err in self.max_rel_error.items():
            out.append(f"  max error of {name} vs analytic: {err:.1e}  ({_WHY.get(name, '')})")
        worst = max(self.vs_numpy.values(), default=0.0)
        out.append(
            f"difference from np.gradient of the stored data on those days: {worst:.1e} "
            "(bigrad's numbers are numpy's)"
        )
        if self.png:
            out.append(f"quick-look {self.png}")
        return out


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _reset_peak() -> bool:
    """Reset the peak resident memory of this process (Linux); whether it could."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _days(n: int) -> list[int]:
    """About nine days spread over ``n``, the first and last included."""
    return sorted({*range(0, n, max(1, n // 8)), n - 1})


def _numpy_reference(src: xr.Dataset, i: int) -> dict[str, np.ndarray]:
    """np.gradient of the stored T at day ``i``, per component, as gradient_zarr spaces it."""
    n = src.sizes["time"]
    a = min(max(i - 1, 0), n - 3)  # three days around i: enough for either edge order
    window = src["T"].isel(time=slice(a, a + 3)).values
    t_ns = (src.time.values[a : a + 3] - src.time.values[0]) / np.timedelta64(1, "ns")
    lon = src.lon.values
    lon_ext = np.concatenate([[lon[-1] - 360], lon, [lon[0] + 360]])
    day = window[i - a]
    wrapped = np.pad(day, ((0, 0), (1, 1)), mode="wrap")
    return {
        "dT_dtime": np.gradient(window, t_ns.astype(np.float64), axis=0, edge_order=EDGE_ORDER)[
            i - a
        ],
        "dT_dlat": np.gradient(day, src.lat.values, axis=0, edge_order=EDGE_ORDER),
        "dT_dlon": np.gradient(wrapped, lon_ext, axis=1)[:, 1:-1],
    }


def _errors(out: xr.Dataset, src: xr.Dataset) -> tuple[dict[str, float], dict[str, float], int]:
    # one day at a time, to keep memory flat
    t_days = (src.time.values - src.time.values[0]) / np.timedelta64(1, "D")
    lat, lon = src.lat.values[:, None], src.lon.values[None, :]
    scale = {"time": 1 / DAY_NS, "lat": 1.0, "lon": 1.0}
    err: dict[str, float] = {}
    top: dict[str, float] = {}
    vs_numpy: dict[str, float] = {}
    days = _days(len(t_days))
    for i in days:
        reference = _numpy_reference(src, i)
        for dim in ("time", "lat", "lon"):
            name = f"dT_d{dim}"
            got = out[name].isel(time=i).values.astype(np.float64)
            exact = np.broadcast_to(analytic(dim, t_days[i], lat, lon) * scale[dim], got.shape)
            err[name] = max(err.get(name, 0.0), float(np.max(np.abs(got - exact))))
            top[name] = max(top.get(name, 0.0), float(np.max(np.abs(exact))))
            diff = float(np.max(np.abs(got - reference[name])))
            vs_numpy[name] = max(vs_numpy.get(name, 0.0), diff)
    rel = {name: err[name] / (top[name] or 1.0) for name in err}
    rel_numpy = {name: vs_numpy[name] / (top[name] or 1.0) for name in vs_numpy}
    return rel, rel_numpy, len(days)


def _quicklook(src: xr.Dataset, out: xr.Dataset, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    field = src["T"].isel(time=0).values
    mag = np.hypot(out["dT_dlat"].isel(time=0).values, out["dT_dlon"].isel(time=0).values)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), constrained_layout=True)
    extent = (0.0, 360.0, -90.0, 90.0)
    for ax, data, title in (
        (axes[0], field, "T (K), first day"),
        (axes[1], mag, "|grad T| (K per degree)"),
    ):
        im = ax.imshow(data, origin="lower", extent=extent, aspect="auto")
        ax.set_title(title)
        ax.set_xlabel("lon")
        ax.set_ylabel("lat")
        fig.colorbar(im, ax=ax)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _replace_store(path: Path) -> None:
    if path.exists():
        if not is_zarr_store(locate(path).store(read_only=True)):
            raise FileExistsError(f"{path} exists and is not a Zarr store; not replacing it")
        shutil.rmtree(path)


def run_demo(directory: str | Path, size: int, progress: bool = False) -> DemoSummary:
    """Write the demo dataset to ``directory/climate.zarr``, its gradients to
    ``directory/gradients.zarr``, and measure.

    Parameters
    ----------
    directory : str or Path
        Created if missing; the two stores in it are replaced if present.
    size : int
        Approximate bytes of the field (float32).
    progress : bool
        Draw a progress bar on stderr.

    Returns
    -------
    DemoSummary
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    source, target = root / "climate.zarr", root / "gradients.zarr"
    _replace_store(source)
    ds = demo_dataset(size)
    ds.to_zarr(source, zarr_format=3, consolidated=True, mode="w-")
    reset = _reset_peak()
    start = time.perf_counter()
    out = gradient_zarr(
        source, target, periodic="lon", edge_order=EDGE_ORDER, mode="w", progress=progress,
        memory=MEMORY,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    peak = _peak_rss()
    src = xr.open_zarr(source)
    rel, rel_numpy, n_days = _errors(out, src)
    return DemoSummary(
        source=source,
        target=target,
        shape={str(d): int(n) for d, n in src["T"].sizes.items()},
        data_bytes=int(src["T"].nbytes),
        source_disk_bytes=_disk(source),
        target_disk_bytes=_disk(target),
        seconds=seconds,
        peak_rss_bytes=peak,
        peak_is_gradient_only=reset,
        max_rel_error=rel,
        vs_numpy=rel_numpy,
        days_checked=n_days,
        png=_quicklook(src, out, root / "quicklook.png"),
    )
