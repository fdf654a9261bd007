"""Sea-surface temperature gradients next to the coast: nan="propagate" vs "one-sided".

    python examples/coast.py [--size N] [--figures DIR]

A synthetic SST over a regional ocean (N latitudes by 2N longitudes) with NaN over two
continents and an island, held by dask in small chunks.  numpy's differences (and
xarray's, dask's, MetPy's) spread each NaN one cell into the sea along every axis, so
the gradient next to every coast is lost; ``nan="one-sided"`` differentiates each
stretch of sea alone, one-sided at the coast, and keeps every sea cell.  With
matplotlib installed it draws both (``coast.png`` in ``--figures DIR``, by default
``./bigrad-examples/``).
"""

from __future__ import annotations

import argparse

import _figures
import numpy as np
import xarray as xr

import bigrad  # noqa: F401  (registers .bigrad)


def sst(size: int) -> xr.DataArray:
    """SST in degC: warm equator, a zonal wave, NaN over land."""
    lat = np.linspace(-50.0, 50.0, size)
    lon = np.linspace(120.0, 280.0, 2 * size)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    t = 28.0 - 0.004 * la**2 + 1.5 * np.sin(np.deg2rad(3.0 * lo))
    land = (la - 20.0) ** 2 / 400.0 + (lo - 140.0) ** 2 / 200.0 < 1.0  # a continent
    land |= (la + 15.0) ** 2 / 300.0 + (lo - 250.0) ** 2 / 150.0 < 1.0  # another
    land |= (la - 5.0) ** 2 + (lo - 200.0) ** 2 < 30.0  # an island
    t[land] = np.nan
    return xr.DataArray(
        t, dims=("lat", "lon"), name="sst",
        coords={"lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
        attrs={"units": "degC", "long_name": "sea surface temperature"},
    ).chunk({"lat": max(1, size // 5), "lon": max(1, size // 3)})  # fmt: skip


def main(size: int = 120, figures: str | None = None) -> dict[str, float]:
    """Print and return the sea cells lost next to the coast, and the worst error of
    the one-sided dT/dlon against the analytic value."""
    t = sst(size)
    sea = np.isfinite(t.values)
    plain = t.bigrad.differentiate("lon").compute()
    coast = t.bigrad.differentiate("lon", nan="one-sided").compute()
    exact = 1.5 * np.deg2rad(3.0) * np.cos(np.deg2rad(3.0 * t["lon"])).broadcast_like(t)
    lost_plain = int((sea & np.isnan(plain.values)).sum())
    lost_coast = int((sea & np.isnan(coast.values)).sum())
    next_to_land = sea & np.isnan(plain.values)
    err = np.abs(coast.values - exact.values)[next_to_land]
    worst = float(err.max()) if err.size else 0.0
    print(f"sst {dict(t.sizes)}: {int(sea.sum())} sea cells, {int((~sea).sum())} land")
    print(f"  d/dlon, nan='propagate': {lost_plain} sea cells lost next to the coast")
    print(f"  d/dlon, nan='one-sided': {lost_coast} lost; worst error there "
          f"{worst:.2e} {coast.attrs['units']} (one-sided differences)")  # fmt: skip
    _draw(t, plain, coast, figures)
    return {"lost_propagate": lost_plain, "lost_one_sided": lost_coast, "coast_error": worst}


def _draw(t: xr.DataArray, plain: xr.DataArray, coast: xr.DataArray, figures: str | None) -> None:
    plt = _figures.pyplot()
    if plt is None:
        print("  (no figure: matplotlib is not installed)")
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6), sharey=True)
    t.plot(ax=axes[0], cmap="RdYlBu_r")
    for ax, d, title in ((axes[1], plain, "propagate"), (axes[2], coast, "one-sided")):
        d.plot(ax=ax, cmap="coolwarm", vmin=-0.08, vmax=0.08)
        ax.set_title(f"d sst / d lon, nan='{title}'")
    fig.tight_layout()
    _figures.save(fig, "coast", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=120, help="latitudes (longitudes: 2x)")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    args = parser.parse_args()
    main(args.size, args.figures)
