"""Temperature gradients on a lat/lon grid with the xarray accessor, longitude periodic.

    python examples/temperature.py [--size N] [--figures DIR]

A synthetic air temperature T(time, lat, lon) on a global grid (N latitudes, 2N
longitudes, 4 days), held by dask in chunks of one time step and a few latitudes.
``ds.bigrad.gradient`` differentiates it along lat, lon (periodic: the period of 360
degrees is inferred from the CF units ``degrees_east``) and time; the summary compares
the zonal gradient with its analytic value, at the dateline seam too.  With matplotlib,
saves a map of T and of dT/dlon on the first day.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

import bigrad  # noqa: F401  (registers .bigrad)

sys.path.insert(0, str(Path(__file__).parent))
import _figures


def temperature(size: int) -> xr.Dataset:
    """Synthetic ``T`` in K: colder poles, a zonal wave 3, warming 0.5 K a day."""
    lat = np.linspace(-89.0, 89.0, size)
    lon = np.arange(2 * size) * (360.0 / (2 * size))
    time = np.datetime64("2000-01-01", "ns") + np.arange(4) * np.timedelta64(1, "D")
    days = np.arange(4.0)[:, None, None]
    phi, lam = np.deg2rad(lat)[None, :, None], np.deg2rad(lon)[None, None, :]
    T = 300.0 - 50.0 * np.sin(phi) ** 2 + 5.0 * np.cos(phi) * np.cos(3 * lam) + 0.5 * days
    return xr.Dataset(
        {"T": (("time", "lat", "lon"), T, {"units": "K", "standard_name": "air_temperature"})},
        coords={
            "time": time,
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
    ).chunk({"time": 1, "lat": max(1, size // 3), "lon": -1})


def main(size: int = 90, figures: str | None = None) -> float:
    """Print a summary; return the worst error of dT/dlon against its analytic value."""
    ds = temperature(size)
    grads = ds.bigrad.gradient(periodic="lon", datetime_unit="D").compute()
    phi = np.deg2rad(ds["lat"])
    lam = np.deg2rad(ds["lon"])
    # d/dlon in K per degree: -15 cos(lat) sin(3 lon) * (pi / 180)
    exact = -15.0 * np.cos(phi) * np.sin(3 * lam) * (np.pi / 180.0)
    error = float(abs(grads["dT_dlon"] - exact).max())
    seam = float(abs(grads["dT_dlon"] - exact).isel(lon=[0, -1]).max())
    print(f"T {dict(ds.sizes)} in {ds['T'].data.npartitions} chunks -> {list(grads.data_vars)}")
    for name in grads.data_vars:
        g = grads[name]
        print(f"  {name}: [{g.attrs['units']}] {float(g.min()):+.4f} .. {float(g.max()):+.4f}")
    print(f"dT_dlon max error {error:.2e} K/degree (at the 0/360 seam: {seam:.2e})")
    print(f"dT_dtime mean {float(grads['dT_dtime'].mean()):.3f} K/day (exact 0.5)")
    _figure(ds["T"].isel(time=0), grads["dT_dlon"].isel(time=0), figures)
    return error


def _figure(T: xr.DataArray, dT_dlon: xr.DataArray, figures: str | None) -> None:
    plt = _figures.pyplot()
    if plt is None:
        print("(no figure: matplotlib is not installed)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    T.plot(ax=axes[0], cmap="inferno")
    dT_dlon.plot(ax=axes[1], cmap="RdBu_r")
    axes[1].set_title("dT/dlon, periodic in longitude")
    _figures.save(fig, "temperature", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=90, help="latitudes (longitudes: 2x)")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    a = parser.parse_args()
    main(a.size, a.figures)
