"""The ``.bigrad`` accessor on xarray objects, registered by ``import bigrad``.

Gradients by dimension name, the spacing taken from the coordinates, for data of any
size and chunking::

    import bigrad  # registers .bigrad
    dT_dlon = ds["T"].bigrad.differentiate("lon", periodic=True)
    grads = ds.bigrad.gradient(["lat", "lon"], periodic="lon")  # dT_dlat, dT_dlon, ...

Pint quantities (as pint-xarray makes them) come back as quantities, in the data's units
per coordinate unit to the derivative's order (:mod:`bigrad.xarray.units`); CF ``units``
attrs of plain data become the outputs' ``units`` attrs ("K m-1", "K m-2").

The accessors only translate names and rewrap; the bookkeeping lives in
:mod:`bigrad.xarray.coords`, the attributes in :mod:`bigrad.xarray.attrs`, and the numbers come
from :func:`bigrad.gradient`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import xarray as xr

from bigrad.core.args import check_spec
from bigrad.core.masked import nan_stencil
from bigrad.core.weights import Stencil
from bigrad.xarray import smoothing as _smoothing
from bigrad.xarray import sphere
from bigrad.xarray.coords import (
    UNNAMED,
    resolve,
    select_variables,
    variable_derivatives,
    variable_gradients,
)

__all__ = ["DataArrayAccessor", "DatasetAccessor"]

Names = Hashable | Sequence[Hashable] | None
Period = float | Mapping[Hashable, float] | None


@xr.register_dataarray_accessor("bigrad")
class DataArrayAccessor:
    """``da.bigrad``: chunked gradients of a DataArray by dimension name.

    Methods: :meth:`differentiate`, :meth:`gradient`, :meth:`derivative`,
    :meth:`laplacian`.

    >>> import numpy as np, xarray as xr, bigrad
    >>> xr.DataArray(np.arange(4.0) ** 2, dims="x").bigrad.differentiate("x").values
    array([1., 2., 4., 5.])
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def differentiate(
        self,
        dim: Hashable,
        edge_order: int = 1,
        datetime_unit: str | None = None,
        periodic: bool | Names = False,
        period: Period = None,
        nan: str = "propagate",
    ) -> xr.DataArray:
        """Differentiate along one dimension, as ``DataArray.differentiate`` does.

        Same values, dims, coords and name as ``da.differentiate(dim, edge_order,
        datetime_unit)``, for numpy- or dask-backed data of any chunking (chunks of
        one element included); dask data stays lazy and keeps its chunks.

        Parameters
        ----------
        dim : hashable
            A dimension, or a 1-D coordinate along one (its values are the spacing).
            A dimension without a coordinate has unit spacing.
        edge_order : {1, 2}, optional
            Accuracy of the one-sided differences at the ends of the dimension.
        datetime_unit : {"W", "D", "h", "m", "s", "ms", "us", "ns", ...}, optional
            Unit of a datetime64/timedelta64/cftime coordinate's spacing; by default
            the coordinate's own unit (seconds for cftime), as in xarray.
        periodic : bool, hashable or list of hashable, optional
            ``True`` (or ``dim``'s name) when the dimension wraps round, like longitude.
        period : float or mapping of {hashable: float}, optional
            Period of a periodic coordinate.  Inferred as 360 for a CF longitude
            (units ``degrees_east`` or standard_name ``longitude``); required for other
            periodic coordinates.  Not needed without a coordinate.
        nan : {"propagate", "one-sided"}, optional
            ``"one-sided"``: each run of finite values is differentiated alone, as
            :func:`bigrad.gradient` with ``nan="one-sided"`` (round a periodic dimension a
            run may cross its ends).

        Returns
        -------
        xarray.DataArray
            The derivative, with attributes as described in
            :func:`bigrad.xarray.attrs.derivative_attrs` (``units`` such as "K m-1", and
            ``long_name`` "gradient of ... along ...").

        Raises
        ------
        ValueError, TypeError
            At call time, for an unknown ``dim`` (naming those available), a 2-D
            coordinate, a coordinate with repeated or non-finite values, or a periodic
            coordinate whose period is unknown.

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> lon = xr.DataArray(np.arange(0.0, 360.0, 90.0), dims="lon",
        ...                    attrs={"units": "degrees_east"})
        >>> T = xr.DataArray([1.0, 2.0, 4.0, 2.0], coords={"lon": lon}, name="T",
        ...                  attrs={"units": "K"}).chunk(1)
        >>> dT = T.bigrad.differentiate("lon", periodic=True)  # lazy; 360 inferred
        >>> dT.values, dT.attrs["units"]
        (array([ 0.        ,  0.01666667,  0.        , -0.01666667]), 'K degrees_east-1')
        """
        spec = nan_stencil(check_spec(edge_order=edge_order), nan)
        return self._along(dim, spec, datetime_unit, periodic, period)

    def _along(
        self, dim: Hashable, spec: Stencil, datetime_unit: str | None, periodic: bool | Names,
        period: Period,
    ) -> xr.DataArray:  # fmt: skip
        if periodic is True:
            periodic = dim
        spacings = resolve(self._obj, [dim], datetime_unit, periodic, period)
        da = self._obj
        (value,) = variable_derivatives(da.variable, da.name, spacings, spec).values()
        return xr.DataArray(value, coords=da.coords, name=da.name)

    def gradient(
        self,
        dims: Names = None,
        edge_order: int = 1,
        datetime_unit: str | None = None,
        periodic: bool | Names = None,
        period: Period = None,
        nan: str = "propagate",
    ) -> xr.Dataset:
        """Differentiate along several dimensions at once (all by default).

        Parameters
        ----------
        dims : hashable or list of hashable, optional
            Dimensions (or 1-D coordinates) to differentiate along; all by default.
        edge_order, datetime_unit, period, nan
            As in :meth:`differentiate`.
        periodic : bool, hashable or list of hashable, optional
            Names of the dimensions that wrap round; ``True`` for all of ``dims``.

        Returns
        -------
        xarray.Dataset
            One variable per dimension, named ``d{name}_d{dim}`` (``dT_dlon`` for a
            DataArray named ``T``; ``df_dlon`` for an unnamed one), each equal to
            ``differentiate(dim)``, with the DataArray's coords.  One graph computes
            them all, reading the input once.

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> f = xr.DataArray(np.arange(12.0).reshape(3, 4), dims=("y", "x"), name="f")
        >>> g = f.bigrad.gradient()
        >>> list(g.data_vars), float(g.df_dy[0, 0]), float(g.df_dx[0, 0])
        (['df_dy', 'df_dx'], 4.0, 1.0)
        """
        da = self._obj
        spacings = resolve(da, dims, datetime_unit, periodic, period)
        grads = variable_gradients(da.variable, da.name, spacings, edge_order, nan)
        return xr.Dataset(grads, coords=da.coords)

    def derivative(
        self,
        dim: Hashable,
        order: int = 1,
        accuracy: int = 2,
        datetime_unit: str | None = None,
        periodic: bool | Names = False,
        period: Period = None,
        nan: str = "propagate",
    ) -> xr.DataArray:
        """The derivative of ``order`` along one dimension, to ``accuracy``.

        The stencils of :func:`bigrad.derivative`, the coordinate as spacing; same
        dims, coords and name as ``da.differentiate(dim)``, for numpy- or dask-backed
        data of any chunking.  ``order=1, accuracy=2`` equals
        ``da.differentiate(dim, edge_order=2)``.

        Parameters
        ----------
        dim : hashable
            A dimension, or a 1-D coordinate along one.
        order : {1, 2}, optional
            The derivative's order.
        accuracy : {2, 4, 6}, optional
            The order of accuracy of every stencil, the ends included.
        datetime_unit, periodic, period
            As in :meth:`differentiate`.
        nan : {"propagate", "one-sided"}, optional
            As :func:`bigrad.derivative`'s: run by run, accuracy lowered only where a
            run is too short.

        Returns
        -------
        xarray.DataArray
            With ``units`` such as "K m-2" for a second derivative and a ``long_name``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> x = xr.DataArray(np.arange(6.0), dims="x", attrs={"units": "m"})
        >>> T = xr.DataArray(x.values**2, coords={"x": x}, name="T", attrs={"units": "K"})
        >>> d2 = T.bigrad.derivative("x", order=2)
        >>> d2.values, d2.attrs["units"]
        (array([2., 2., 2., 2., 2., 2.]), 'K m-2')
        """
        spec = nan_stencil(check_spec(order, accuracy), nan)
        return self._along(dim, spec, datetime_unit, periodic, period)

    def laplacian(
        self,
        dims: Names = None,
        accuracy: int = 2,
        periodic: bool | Names = None,
        period: Period = None,
        geometry: str = "auto",
        lat: Hashable | None = None,
        lon: Hashable | None = None,
        radius: float | None = None,
        nan: str = "propagate",
    ) -> xr.DataArray:
        """The Laplacian: the sum of the second derivatives along ``dims`` (all by
        default), computed in one pass, each as :meth:`derivative` with ``order=2``;
        or, on the sphere, :func:`bigrad.spherical_laplacian` (units such as "K m-2").

        Parameters
        ----------
        dims : hashable or list of hashable, optional
            Dimensions (or 1-D coordinates) to sum over; all by default.
        accuracy : {2, 4, 6}, optional
            The order of accuracy of every stencil.
        periodic, period
            As in :meth:`gradient` (on the sphere: longitude wraps by default when it
            covers the circle; ``periodic`` True/False or the longitude's name).
        geometry : {"auto", "sphere", "cartesian"}, optional
            ``"auto"``: the sphere when ``dims`` are a latitude and a longitude (CF
            attributes, or named by ``lat=`` and ``lon=``), else Cartesian.
        lat, lon, radius
            As in :meth:`geospatial_gradient`.
        nan : {"propagate", "one-sided"}, optional
            As in :meth:`derivative`, along each dimension before summing (on the
            sphere: as :func:`bigrad.spherical_laplacian`'s).

        Returns
        -------
        xarray.DataArray
            Same dims, coords and name; ``units`` such as "K m-2" when every dim has
            the same units, ``long_name`` "laplacian of ...".

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> y, x = np.meshgrid(np.arange(5.0), np.arange(6.0), indexing="ij")
        >>> f = xr.DataArray(x**2 + y**2, dims=("y", "x"))
        >>> float(f.bigrad.laplacian()[2, 2])
        4.0
        """
        da = self._obj
        g = sphere.sphere_laplacian_geometry(da, dims, geometry, lat, lon)
        if g is not None:
            wrap = periodic if periodic is None or isinstance(periodic, bool) else (
                g.x_key in sphere.as_names(periodic) or g.x_dim in sphere.as_names(periodic))  # fmt: skip
            return sphere.laplacian(da, g, radius, accuracy, wrap, nan)
        spacings = resolve(da, dims, None, periodic, period)
        spec = nan_stencil(check_spec(2, accuracy), nan)
        out = variable_derivatives(da.variable, da.name, spacings, spec, add=True)
        (value,) = out.values()
        return xr.DataArray(value, coords=da.coords, name=da.name)

    def geospatial_gradient(
        self,
        lat: Hashable | None = None,
        lon: Hashable | None = None,
        radius: float | None = None,
        accuracy: int = 2,
        periodic: bool | None = None,
        geometry: str = "auto",
        nan: str = "propagate",
    ) -> xr.Dataset:
        """The gradient in metres: eastward ``d{name}_dx`` and northward ``d{name}_dy``.

        On the sphere (:func:`bigrad.geospatial_gradient`) ``1 / (a cos phi) df/dlambda``
        and ``1 / a df/dphi``, NaN in ``d_dx`` at the poles; on a Cartesian grid the
        derivatives along ``x`` and ``y`` (in metres).

        Parameters
        ----------
        lat, lon : hashable, optional
            Latitude and longitude (1-D coordinates or dims, in degrees); found from CF
            attributes (units degrees_north/degrees_east or standard_name
            latitude/longitude) by default.
        radius : float, optional
            Radius of the sphere in metres; :data:`bigrad.EARTH_RADIUS` by default.
        accuracy : {2, 4, 6}, optional
            Order of accuracy of the stencils.
        periodic : bool, optional
            Whether longitude wraps round; by default when it covers the full circle.
        geometry : {"auto", "sphere", "cartesian"}, optional
            ``"auto"``: the sphere when latitude and longitude are found, else
            Cartesian on dims ``x`` and ``y`` (or those named by ``lon=`` and ``lat=``).
        nan : {"propagate", "one-sided"}, optional
            ``"one-sided"``: each run of finite values differentiated alone, as in
            :meth:`gradient` (on the sphere with a non-periodic longitude).

        Returns
        -------
        xarray.Dataset
            ``d{name}_dx`` and ``d{name}_dy`` with units "<units> m-1".

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> lat = xr.DataArray(np.linspace(-60, 60, 5), dims="lat", attrs={"units": "degrees_north"})
        >>> lon = xr.DataArray(np.arange(0.0, 360, 30), dims="lon", attrs={"units": "degrees_east"})
        >>> T = xr.DataArray(np.ones((5, 12)), coords={"lat": lat, "lon": lon}, name="T",
        ...                  attrs={"units": "K"})
        >>> g = T.bigrad.geospatial_gradient()
        >>> list(g.data_vars), g["dT_dx"].attrs["units"], bool(abs(g["dT_dy"]).max() < 1e-20)
        (['dT_dx', 'dT_dy'], 'K m-1', True)
        """
        return sphere.geospatial_gradient(
            self._obj, lat, lon, radius, accuracy, periodic, geometry, nan
        )

    def savgol_derivative(
        self, dim: Hashable, window_length: int, polyorder: int, order: int = 1,
        mode: str = "interp", cval: float = 0.0,
    ) -> xr.DataArray:  # fmt: skip
        """The Savitzky-Golay derivative along ``dim``: :func:`bigrad.savgol_derivative`
        with the step of ``dim``'s evenly spaced coordinate (unit step without one).

        Parameters
        ----------
        dim : hashable
            The dimension to differentiate along; its coordinate must be evenly spaced.
        window_length, polyorder : int
            Points in the window (odd) and degree of the fitted polynomial.
        order : int, optional
            The derivative's order.
        mode : {"interp", "mirror", "nearest", "wrap", "constant"}, optional
            How the ends are treated, as in ``scipy.signal.savgol_filter``.
        cval : float, optional
            The value past the ends with ``mode="constant"``.

        Returns
        -------
        xarray.DataArray
            Same dims, coords and name, with ``units`` and ``long_name``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> t = xr.DataArray(np.arange(9) * 0.5, dims="t", attrs={"units": "s"})
        >>> x = xr.DataArray(t.values**2, coords={"t": t}, attrs={"units": "m"})
        >>> v = x.bigrad.savgol_derivative("t", 5, 2)
        >>> v.values.round(10) + 0.0, v.attrs["units"]
        (array([0., 1., 2., 3., 4., 5., 6., 7., 8.]), 'm s-1')
        """
        return _smoothing.savgol_along(self._obj, dim, window_length, polyorder, order, mode, cval)

    def gaussian_derivative(
        self, dim: Hashable, sigma: float, order: int = 1, mode: str = "reflect",
        cval: float = 0.0, truncate: float = 4.0,
    ) -> xr.DataArray:  # fmt: skip
        """The Gaussian derivative along ``dim``: :func:`bigrad.gaussian_derivative`
        with ``sigma`` in units of ``dim``'s evenly spaced coordinate (points without
        one), and its step as the spacing.

        Parameters
        ----------
        dim : hashable
            The dimension to differentiate along; its coordinate must be evenly spaced.
        sigma : float
            The Gaussian's standard deviation, in units of ``dim``'s coordinate.
        order : int, optional
            The derivative's order.
        mode : {"reflect", "constant", "nearest", "mirror", "wrap"}, optional
            How the ends are treated, as in ``scipy.ndimage.gaussian_filter1d``.
        cval : float, optional
            The value past the ends with ``mode="constant"``.
        truncate : float, optional
            The kernel reaches ``truncate * sigma`` each side.

        Returns
        -------
        xarray.DataArray
            Same dims, coords and name, with ``units`` and ``long_name``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> t = xr.DataArray(np.arange(20.0), dims="t", attrs={"units": "s"})
        >>> x = xr.DataArray(3.0 * t.values, coords={"t": t}, attrs={"units": "m"})
        >>> v = x.bigrad.gaussian_derivative("t", 1.5)
        >>> round(float(v[10]), 2), v.attrs["units"]  # a sampled Gaussian: close to 3
        (3.0, 'm s-1')
        """
        return _smoothing.gaussian_along(self._obj, dim, sigma, order, mode, cval, truncate)


@xr.register_dataset_accessor("bigrad")
class DatasetAccessor:
    """``ds.bigrad``: chunked gradients of a Dataset's data variables by dimension name.

    >>> import numpy as np, xarray as xr, bigrad
    >>> ds = xr.Dataset({"T": ("x", np.arange(4.0) ** 2)})
    >>> ds.bigrad.gradient().dT_dx.values
    array([1., 2., 4., 5.])
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    def gradient(
        self,
        dims: Names = None,
        variables: Names = None,
        edge_order: int = 1,
        datetime_unit: str | None = None,
        periodic: bool | Names = None,
        period: Period = None,
        nan: str = "propagate",
    ) -> xr.Dataset:
        """Differentiate data variables along several dimensions at once.

        Parameters
        ----------
        dims : hashable or list of hashable, optional
            Dimensions (or 1-D coordinates) to differentiate along; all of the
            Dataset's by default.
        variables : hashable or list of hashable, optional
            Data variables to differentiate.  By default every data variable of
            numbers, datetimes or cftime dates that has at least one of ``dims``;
            other data variables (strings, booleans, ones with none of ``dims``) are
            left out of the result.
        edge_order, datetime_unit, periodic, period, nan
            As in :meth:`DataArrayAccessor.gradient`.

        Returns
        -------
        xarray.Dataset
            For each variable ``v`` and each of ``dims`` that ``v`` has, a variable
            ``d{v}_d{dim}`` (e.g. ``dT_dlon``) equal to ``ds[v].differentiate(dim)``,
            with ``v``'s dims.  A variable lacking a requested dimension simply has no
            component along it (nothing is filled in).  The result has all of the
            Dataset's coordinates and attributes; each variable is computed in one
            graph, reading its data once for all of its components.

        Raises
        ------
        ValueError, TypeError
            As :meth:`DataArrayAccessor.differentiate`; also for a name in
            ``variables`` that is not a data variable, has none of ``dims``, or does
            not hold numbers.

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> x = np.array([0.0, 1.0, 3.0])
        >>> ds = xr.Dataset({"T": ("x", x**2), "name": ("x", ["a", "b", "c"])},
        ...                 coords={"x": x})
        >>> out = ds.bigrad.gradient("x")  # strings are left out
        >>> list(out.data_vars), out.dT_dx.values
        (['dT_dx'], array([1., 2., 4.]))
        """
        ds = self._obj
        spacings = resolve(ds, dims, datetime_unit, periodic, period)
        names = select_variables(ds, variables, {sp.dim for sp in spacings})
        grads: dict[Hashable, Any] = {}
        for name in names:
            label = UNNAMED if name is None else name
            grads.update(variable_gradients(ds[name].variable, label, spacings, edge_order, nan))
        return xr.Dataset(grads, coords=ds.coords, attrs=dict(ds.attrs))

    def vorticity(
        self,
        u: Hashable,
        v: Hashable,
        lat: Hashable | None = None,
        lon: Hashable | None = None,
        radius: float | None = None,
        accuracy: int = 2,
        periodic: bool | None = None,
        geometry: str = "auto",
        nan: str = "propagate",
    ) -> xr.DataArray:
        """Relative vorticity of the wind ``(ds[u], ds[v])``, in one graph.

        On the sphere :func:`bigrad.vorticity` (NaN at the poles), else
        ``dv/dx - du/dy``.

        Parameters
        ----------
        u, v : hashable
            Names of the eastward and northward wind components (same dims).
        lat, lon : hashable, optional
            Latitude and longitude, found from CF attributes by default.
        radius : float, optional
            Radius of the sphere in metres; :data:`bigrad.EARTH_RADIUS` by default.
        accuracy : {2, 4, 6}, optional
            Order of accuracy of the stencils.
        periodic : bool, optional
            Whether longitude wraps round; by default when it covers the full circle.
        geometry : {"auto", "sphere", "cartesian"}, optional
            As for :meth:`DataArrayAccessor.geospatial_gradient`.
        nan : {"propagate", "one-sided"}, optional
            ``"one-sided"``: each run of finite values differentiated alone, as in
            :meth:`gradient` (on the sphere with a non-periodic longitude).

        Returns
        -------
        xarray.DataArray
            Named "vorticity", long_name "relative vorticity", units "s-1" for winds
            in "m s-1".

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> lat = xr.DataArray(np.linspace(-60, 60, 5), dims="lat", attrs={"units": "degrees_north"})
        >>> lon = xr.DataArray(np.arange(0.0, 360, 30), dims="lon", attrs={"units": "degrees_east"})
        >>> wind = xr.DataArray(np.ones((5, 12)), coords={"lat": lat, "lon": lon},
        ...                     attrs={"units": "m s-1"})
        >>> zeta = xr.Dataset({"u": wind, "v": wind}).bigrad.vorticity("u", "v")
        >>> zeta.name, zeta.attrs["units"], zeta.attrs["long_name"]
        ('vorticity', 's-1', 'relative vorticity')
        """
        return sphere.vorticity(self._obj, u, v, lat=lat, lon=lon, radius=radius,
                                 accuracy=accuracy, periodic=periodic, geometry=geometry,
                                 nan=nan)  # fmt: skip

    def divergence(
        self,
        u: Hashable,
        v: Hashable,
        lat: Hashable | None = None,
        lon: Hashable | None = None,
        radius: float | None = None,
        accuracy: int = 2,
        periodic: bool | None = None,
        geometry: str = "auto",
        nan: str = "propagate",
    ) -> xr.DataArray:
        """Divergence of the wind ``(ds[u], ds[v])``, in one graph.

        On the sphere :func:`bigrad.divergence` (NaN at the poles), else
        ``du/dx + dv/dy``.

        Parameters
        ----------
        u, v : hashable
            Names of the eastward and northward wind components (same dims).
        lat, lon : hashable, optional
            Latitude and longitude, found from CF attributes by default.
        radius : float, optional
            Radius of the sphere in metres; :data:`bigrad.EARTH_RADIUS` by default.
        accuracy : {2, 4, 6}, optional
            Order of accuracy of the stencils.
        periodic : bool, optional
            Whether longitude wraps round; by default when it covers the full circle.
        geometry : {"auto", "sphere", "cartesian"}, optional
            As for :meth:`DataArrayAccessor.geospatial_gradient`.
        nan : {"propagate", "one-sided"}, optional
            ``"one-sided"``: each run of finite values differentiated alone, as in
            :meth:`gradient` (on the sphere with a non-periodic longitude).

        Returns
        -------
        xarray.DataArray
            Named "divergence", long_name "divergence", units "s-1" for winds in
            "m s-1".

        Examples
        --------
        >>> import numpy as np, xarray as xr, bigrad
        >>> x = xr.DataArray(np.arange(4.0), dims="x", attrs={"units": "m"})
        >>> y = xr.DataArray(np.arange(3.0), dims="y", attrs={"units": "m"})
        >>> u = xr.DataArray(np.ones((3, 1)) * x.values, coords={"y": y, "x": x},
        ...                  attrs={"units": "m s-1"})
        >>> delta = xr.Dataset({"u": u, "v": 0 * u}).bigrad.divergence("u", "v")
        >>> delta.values.max(), delta.attrs["units"]
        (np.float64(1.0), 's-1')
        """
        return sphere.divergence(self._obj, u, v, lat=lat, lon=lon, radius=radius,
                                  accuracy=accuracy, periodic=periodic, geometry=geometry,
                                  nan=nan)  # fmt: skip
