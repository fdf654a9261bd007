"""Vorticity and divergence of a Rossby-Haurwitz wave on a global grid, lazily in chunks.

    python examples/vorticity.py [--size N] [--figures DIR]

The wind of Williamson et al. (1992) test case 6 (omega = K = 7.848e-6 s-1, wave number
R = 4) on N + 1 latitudes (pole to pole) and 2N longitudes, held by dask in chunks of a
few latitudes.  ``ds.bigrad.vorticity`` and ``ds.bigrad.divergence`` find latitude and
longitude from the CF units, wrap longitude round the full circle, and return s-1; the
summary compares them with the analytic vorticity
``2 omega sin(phi) - K (R+1)(R+2) cos(phi)^R sin(phi) cos(R lambda)`` and zero
divergence.  With matplotlib installed it saves a map of the vorticity (``vorticity.png``
in ``--figures DIR``, by default ``./bigrad-examples/``).
"""

from __future__ import annotations

import argparse

import _figures
import numpy as np
import xarray as xr

import bigrad

OMEGA = K = 7.848e-6
R = 4


def wind(size: int) -> xr.Dataset:
    """The Rossby-Haurwitz wind and its analytic vorticity, chunked by latitude."""
    lat = np.linspace(-90.0, 90.0, size + 1)
    lon = np.arange(2 * size) * (180.0 / size)
    phi, lam = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    a, c, s = bigrad.EARTH_RADIUS, np.cos(phi), np.sin(phi)
    u = a * OMEGA * c + a * K * c ** (R - 1) * (R * s**2 - c**2) * np.cos(R * lam)
    v = -a * K * R * c ** (R - 1) * s * np.sin(R * lam)
    zeta = 2 * OMEGA * s - K * (R + 1) * (R + 2) * c**R * s * np.cos(R * lam)
    ms = {"units": "m s-1"}
    return xr.Dataset(
        {"u": (("lat", "lon"), u, ms), "v": (("lat", "lon"), v, ms),
         "exact": (("lat", "lon"), zeta, {"units": "s-1"})},
        coords={"lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
    ).chunk({"lat": max(1, size // 4)})  # fmt: skip


def main(size: int = 90, figures: str | None = None) -> float:
    """Print the errors; return the worst vorticity error relative to its maximum,
    away from the poles (where vorticity and divergence are NaN)."""
    ds = wind(size)
    zeta = ds.bigrad.vorticity("u", "v", accuracy=4).compute()
    delta = ds.bigrad.divergence("u", "v", accuracy=4).compute()
    inner = {"lat": slice(1, -1)}
    scale = float(abs(ds["exact"]).max())
    error = float(abs(zeta - ds["exact"]).isel(inner).max()) / scale
    print(f"u, v {dict(ds.sizes)} in {ds['u'].data.npartitions} chunks each")
    print(f"{zeta.attrs['long_name']} [{zeta.attrs['units']}]: max error {error:.2e} of max")
    print(f"divergence [{delta.attrs['units']}]: max {float(abs(delta).isel(inner).max()):.2e}")
    plt = _figures.pyplot()
    if plt is None:
        print("(no figure: matplotlib is not installed)")
        return error
    fig, ax = plt.subplots(figsize=(8, 4))
    zeta.plot(ax=ax, cmap="RdBu_r")
    ax.set_title("relative vorticity of a Rossby-Haurwitz wave (bigrad)")
    _figures.save(fig, "vorticity", figures)
    return error


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=90, help="latitude intervals (longitudes: 2x)")
    parser.add_argument("--figures", help="directory of the map (default ./bigrad-examples)")
    args = parser.parse_args()
    main(args.size, args.figures)
