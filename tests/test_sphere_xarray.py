"""The accessor on the sphere: latitude/longitude from CF attributes or names, geometry,
units and names of the outputs, laziness; the numbers are bigrad.sphere's (tested
against oracles in test_sphere.py) or, on Cartesian grids, numpy's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

import bigrad
from tests.helpers import raise_if_dask_computes
from tests.test_sphere import rossby_haurwitz

LAT = np.linspace(-90.0, 90.0, 13)
LON = np.arange(0.0, 360.0, 15.0)


def winds(lat_attrs: dict[str, Any] | None = None, lon_attrs: dict[str, Any] | None = None,
          names: tuple[str, str] = ("lat", "lon")) -> xr.Dataset:  # fmt: skip
    lat_attrs = {"units": "degrees_north"} if lat_attrs is None else lat_attrs
    lon_attrs = {"units": "degrees_east"} if lon_attrs is None else lon_attrs
    u, v, _ = rossby_haurwitz(LAT, LON)
    coords = {names[0]: (names[0], LAT, lat_attrs), names[1]: (names[1], LON, lon_attrs),
              "time": [0, 1]}  # fmt: skip
    dims = ("time", *names)
    ms = {"units": "m s-1"}
    return xr.Dataset(
        {"u": (dims, np.stack([u, 2 * u]), ms), "v": (dims, np.stack([v, 2 * v]), ms),
         "T": (dims, np.stack([u, v]) / 10, {"units": "K", "standard_name": "air_temperature"})},
        coords=coords,
    )  # fmt: skip


FIND = [
    ({}, {}),  # CF units
    ({"standard_name": "latitude"}, {"standard_name": "longitude"}),  # CF standard_name
]


@pytest.mark.parametrize(("lat_attrs", "lon_attrs"), FIND)
def test_geospatial_gradient(lat_attrs: dict[str, Any], lon_attrs: dict[str, Any]) -> None:
    ds = winds(lat_attrs or None, lon_attrs or None)
    for obj in (ds, ds.chunk({"time": 1, "lat": 2, "lon": 5})):
        with raise_if_dask_computes():
            g = obj["T"].bigrad.geospatial_gradient(accuracy=4)
        dx, dy = bigrad.geospatial_gradient(ds["T"].values, LAT, LON, accuracy=4)
        np.testing.assert_array_equal(g["dT_dx"].values, dx)
        np.testing.assert_array_equal(g["dT_dy"].values, dy)
        assert g["dT_dx"].attrs["units"] == "K m-1"
        assert g["dT_dy"].attrs["long_name"] == "northward gradient of air_temperature"
        assert g["dT_dx"].dims == ds["T"].dims


def test_named_coordinates_without_attributes() -> None:
    ds = winds({}, {}, names=("y_deg", "x_deg"))
    for c in ("y_deg", "x_deg"):
        ds[c].attrs.clear()
    zeta = ds.bigrad.vorticity("u", "v", lat="y_deg", lon="x_deg")
    np.testing.assert_array_equal(zeta.values, bigrad.vorticity(ds.u.values, ds.v.values, LAT, LON))
    with pytest.raises(ValueError, match=r"geometry='sphere' needs a latitude coordinate.*lat="):
        ds.bigrad.vorticity("u", "v", geometry="sphere")


@pytest.mark.parametrize("what", ["vorticity", "divergence"])
def test_vorticity_divergence(what: str) -> None:
    ds = winds()
    func = getattr(bigrad, what)
    expect = func(ds.u.values, ds.v.values, LAT, LON)
    lazy = ds.chunk({"lat": 1, "lon": 7})
    # v stored with its dims in another order
    lazy["v"] = lazy["v"].transpose("lon", "time", "lat")
    with raise_if_dask_computes():
        out = getattr(lazy.bigrad, what)("u", "v")
    assert out.chunks == lazy["u"].chunks
    out.data.dask.validate()
    np.testing.assert_array_equal(out.values, expect)
    assert out.name == what
    assert out.attrs["units"] == "s-1"
    assert (
        out.attrs["long_name"]
        == {"vorticity": "relative vorticity", "divergence": "divergence"}[what]
    )
    assert np.isnan(out.sel(lat=90.0)).all()


def test_laplacian_geometry() -> None:
    ds = winds()
    T = ds["T"].isel(time=0)
    expect = bigrad.spherical_laplacian(T.values, LAT, LON)
    for geometry in ("sphere", "auto"):
        lap = T.chunk({"lat": 2}).bigrad.laplacian(geometry=geometry)
        np.testing.assert_array_equal(lap.values, expect)
        assert lap.attrs["units"] == "K m-2"
        assert lap.name == "T"
    # explicit Cartesian: second derivatives along degrees
    flat = T.bigrad.laplacian(geometry="cartesian")
    np.testing.assert_array_equal(flat.values, bigrad.laplacian(T.values, LAT, LON))
    # auto with a time dim summed over too: not latitude/longitude only, so Cartesian
    longer = xr.concat([ds["T"]] * 2, "time").assign_coords(time=np.arange(4.0))
    both = longer.bigrad.laplacian()
    np.testing.assert_array_equal(both.values, bigrad.laplacian(longer.values, 1.0, LAT, LON))


def test_cartesian_grid() -> None:
    # dims x, y in metres: geometry "auto" is Cartesian, numbers are np.gradient's
    x, y = np.linspace(0.0, 9e5, 10), np.array([0.0, 1e5, 3e5, 4e5, 6e5, 7e5])
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((6, 10)), rng.standard_normal((6, 10))
    ms = {"units": "m s-1"}
    ds = xr.Dataset({"u": (("y", "x"), u, ms), "v": (("y", "x"), v, ms)},
                    coords={"x": ("x", x, {"units": "m"}), "y": ("y", y, {"units": "m"})})  # fmt: skip
    grad = lambda f, c, a: np.gradient(f, c, axis=a, edge_order=2)  # noqa: E731
    zeta = ds.bigrad.vorticity("u", "v")
    np.testing.assert_allclose(zeta.values, grad(v, x, 1) - grad(u, y, 0), rtol=1e-13)
    delta = ds.chunk({"x": 3}).bigrad.divergence("u", "v")
    np.testing.assert_allclose(delta.values, grad(u, x, 1) + grad(v, y, 0), rtol=1e-13)
    g = ds["u"].bigrad.geospatial_gradient()
    np.testing.assert_allclose(g["du_dx"].values, grad(u, x, 1), rtol=1e-13)
    assert zeta.attrs["units"] == "s-1" and g["du_dy"].attrs["units"] == "s-1"


BAD = [
    (dict(geometry="flat"), ValueError, "geometry must be one of"),
    (dict(u="w"), ValueError, "u='w' is not a data variable"),
    (dict(lat="nope"), ValueError, "lat='nope' is neither a dimension nor a 1-D coordinate"),
    (
        dict(geometry="cartesian"),
        ValueError,
        "no dimension 'x' for a Cartesian grid; name the dimension with lon=",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"u": "u", "v": "v", **kwargs}
    with pytest.raises(error, match=match):
        winds().bigrad.vorticity(**args)


def test_several_latitudes_must_be_named() -> None:
    ds = winds().assign_coords(lat2=("lat", LAT, {"units": "degrees_north"}))
    with pytest.raises(
        ValueError, match=r"several latitude coordinates \['lat', 'lat2'\]; name one with lat="
    ):
        ds.bigrad.vorticity("u", "v", geometry="sphere")
    np.testing.assert_array_equal(ds.bigrad.vorticity("u", "v", lat="lat2").values,
                                  ds.bigrad.vorticity("u", "v", lat="lat").values)  # fmt: skip


def test_pint_quantities_keep_their_units() -> None:
    import pint  # installed with metpy (the test extra)

    ureg = pint.UnitRegistry()
    ds = winds()
    plain_zeta = ds.bigrad.vorticity("u", "v")
    plain_grad = ds["T"].bigrad.geospatial_gradient()
    plain_lap = ds["T"].bigrad.laplacian(["lat", "lon"])
    q = ds.copy()
    q["u"] = q["u"].copy(data=ureg.Quantity(ds["u"].values, "m/s"))
    # v in km/h: converted to u's units first
    q["v"] = q["v"].copy(data=ureg.Quantity(ds["v"].values * 3.6, "km/h"))
    q["T"] = q["T"].copy(data=ureg.Quantity(ds["T"].values, "K"))
    zeta = q.bigrad.vorticity("u", "v")
    assert isinstance(zeta.data, ureg.Quantity)
    assert zeta.data.units == ureg.Unit("1/s")
    np.testing.assert_allclose(zeta.data.magnitude, plain_zeta.values, rtol=1e-12)
    grad = q["T"].bigrad.geospatial_gradient()
    assert grad["dT_dx"].data.units == ureg.Unit("K/m")
    np.testing.assert_array_equal(grad["dT_dy"].data.magnitude, plain_grad["dT_dy"].values)
    lap = q["T"].bigrad.laplacian(["lat", "lon"])
    assert lap.data.units == ureg.Unit("K/m**2")
    np.testing.assert_array_equal(lap.data.magnitude, plain_lap.values)


def test_arguments_reach_the_array_functions() -> None:
    ds = winds()
    u, v, T = ds.u.values, ds.v.values, ds["T"].values
    kw: dict[str, Any] = {"radius": 1000.0, "accuracy": 4, "periodic": False}
    np.testing.assert_array_equal(
        ds.bigrad.divergence("u", "v", **kw).values, bigrad.divergence(u, v, LAT, LON, **kw)
    )
    g = ds["T"].bigrad.geospatial_gradient(**kw)
    np.testing.assert_array_equal(
        g["dT_dx"].values, bigrad.geospatial_gradient(T, LAT, LON, **kw)[0]
    )
    # laplacian's periodic by name: "lon" wraps, as periodic=True
    lap = ds["T"].bigrad.laplacian(["lat", "lon"], periodic="lon", radius=1000.0)
    expect = bigrad.spherical_laplacian(T, LAT, LON, radius=1000.0, periodic=True)
    np.testing.assert_array_equal(lap.values, expect)
    flat = ds["T"].bigrad.laplacian(["lat", "lon"], periodic=False)
    np.testing.assert_array_equal(
        flat.values, bigrad.spherical_laplacian(T, LAT, LON, periodic=False)
    )
