"""Pint quantities through the accessor: the results come back as quantities in the
data's units per coordinate unit (to the derivative's order), with the numbers and
attrs of the same call on the plain values.

The first two tests are xarray's own ``test_units`` cases for ``differentiate``
(``TestDataArray.test_differentiate_integrate`` with a unit on a non-dimension
coordinate, and the computation case with a unitless dimension coordinate), with the
accessor in place of ``differentiate``; the others cover what pint-xarray adds (units on
dimension coordinates) and the Dataset, dask and Laplacian paths.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pint
import pytest
import xarray as xr

import bigrad  # noqa: F401  (registers the accessor)

UREG = pint.UnitRegistry(force_ndarray_like=True)


def _plain(obj: Any) -> Any:
    """``obj`` with every quantity (data and coordinates) replaced by its magnitude."""

    def strip(v: Any) -> Any:
        return v.copy(data=v.data.magnitude) if isinstance(v.data, UREG.Quantity) else v

    if isinstance(obj, xr.DataArray):
        out = strip(obj)
        return out.assign_coords({k: strip(c.variable) for k, c in obj.coords.items()})
    return obj.map(strip).assign_coords({k: strip(c.variable) for k, c in obj.coords.items()})


def _same(actual: xr.DataArray, plain: xr.DataArray, units: Any) -> None:
    assert isinstance(actual.data, UREG.Quantity), type(actual.data)
    assert actual.data.units == units, (actual.data.units, units)
    np.testing.assert_array_equal(actual.data.magnitude, plain.values)
    assert actual.attrs == plain.attrs and actual.dims == plain.dims and actual.name == plain.name


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@pytest.mark.parametrize("order", [1, 2])
def test_xarray_units_case_unit_on_a_coordinate(dtype: Any, order: int) -> None:
    array = np.linspace(0, 10, 5 * 10).reshape(5, 10).astype(dtype) * UREG.m
    u = np.linspace(0, 1, array.shape[0]) ** 2 * UREG.s  # uneven
    obj = xr.DataArray(array, coords={"x": np.arange(5), "y": np.arange(10), "u": ("x", u)},
                       dims=("x", "y"))  # fmt: skip
    actual = obj.bigrad.derivative("u", order=order)
    _same(actual, _plain(obj).bigrad.derivative("u", order=order), UREG.m / UREG.s**order)
    grads = obj.bigrad.gradient("u")
    _same(grads["df_du"], _plain(obj).bigrad.gradient("u")["df_du"], UREG.m / UREG.s)


def test_xarray_units_case_unitless_coordinates() -> None:
    array = np.linspace(0, 10, 2 * 5 * 10).reshape(2, 5, 10) * UREG.m
    obj = xr.DataArray(array, name="data", dims=("x", "y", "z"),
                       coords={"x": np.arange(2), "y": np.arange(5), "z": np.arange(10),
                               "x2": ("x", np.linspace(0, 1, 2)[::-1])})  # fmt: skip
    # two points along x: the gradient (edge_order 1, as differentiate)
    _same(obj.bigrad.gradient("x")["ddata_dx"], _plain(obj).bigrad.gradient("x")["ddata_dx"],
          UREG.m)  # fmt: skip
    _same(obj.bigrad.derivative("z"), _plain(obj).bigrad.derivative("z"), UREG.m)


def test_pint_xarray_dimension_coordinates() -> None:
    pytest.importorskip("pint_xarray", reason="pint-xarray (test extra) gives units to indexes")
    plain = xr.DataArray(np.arange(30.0).reshape(5, 6) ** 2, dims=("y", "x"), name="T",
                         coords={"x": np.arange(6) * 2.0, "y": [0.0, 1.0, 3.0, 4.0, 6.0]},
                         attrs={"units": "K"})  # fmt: skip
    plain.x.attrs["units"], plain.y.attrs["units"] = "km", "km"
    q = plain.pint.quantify()
    dequantified = q.pint.dequantify()
    per_km = q.pint.registry.kelvin / q.pint.registry.kilometer
    got = q.bigrad.derivative("x")
    assert got.pint.units == per_km
    np.testing.assert_array_equal(got.pint.magnitude, dequantified.bigrad.derivative("x").values)
    lap = q.bigrad.laplacian(accuracy=2)
    assert lap.pint.units == per_km / q.pint.registry.kilometer
    np.testing.assert_array_equal(lap.pint.magnitude, dequantified.bigrad.laplacian().values)


def test_dataset_dask_and_laplacian_keep_units() -> None:
    f = np.random.default_rng(0).standard_normal((6, 7))
    ds = xr.Dataset(
        {"T": (("y", "x"), UREG.Quantity(da.from_array(f, chunks=(2, 3)), "K")),
         "q": (("y", "x"), UREG.Quantity(f * 2, "g/kg"))},
        coords={"x": np.arange(7.0), "y": np.arange(6.0), "xs": ("x", np.arange(7.0) * UREG.m)},
    )  # fmt: skip
    grads = ds.bigrad.gradient("xs")
    assert isinstance(grads["dT_dxs"].data.magnitude, da.Array)  # still lazy
    plain = _plain(ds).bigrad.gradient("xs")
    _same(grads["dT_dxs"].compute(), plain["dT_dxs"], UREG.K / UREG.m)
    _same(grads["dq_dxs"], plain["dq_dxs"], UREG.g / UREG.kg / UREG.m)
    # unitless dimension coordinates: the data's units per 1 (as np.gradient gives)
    _same(ds["T"].bigrad.laplacian(), _plain(ds)["T"].bigrad.laplacian(), UREG.K)


def test_coordinates_in_different_units_refused_for_a_sum() -> None:
    obj = xr.DataArray(np.ones((4, 5)) * UREG.K, dims=("y", "x"),
                       coords={"a": ("x", np.arange(5.0) * UREG.m),
                               "b": ("y", np.arange(4.0) * UREG.s)})  # fmt: skip
    with pytest.raises(ValueError, match="different units"):
        obj.bigrad.laplacian(["a", "b"])
