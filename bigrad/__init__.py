"""bigrad: derivatives of N-D arrays far too large for memory.

Chunks exchange thin halos with their neighbours, every stencil is computed locally,
and ``gradient``'s numbers equal numpy's bit for bit.

Public names (each documented, with examples, by ``help(bigrad.NAME)``):

Arrays (numpy or dask in, the same out)
    gradient             ``np.gradient``, chunk by chunk, periodic axes too
    derivative           a derivative of order 1 or 2 and accuracy 2, 4 or 6 along one axis
    laplacian            the sum of the second derivatives, in one pass
    (each with ``nan="one-sided"``: differences within the runs of finite values)
On the sphere (latitude, longitude in degrees; per metre out)
    geospatial_gradient  eastward and northward derivatives
    vorticity, divergence of a wind (u, v); spherical_laplacian; EARTH_RADIUS
Smoothed derivatives of noisy data
    savgol_derivative    ``scipy.signal.savgol_filter(deriv=...)``, any chunking
    gaussian_derivative, gaussian_gradient_magnitude   as ``scipy.ndimage``'s
xarray (registered by ``import bigrad``)
    da.bigrad.differentiate, da.bigrad.gradient, da.bigrad.derivative,
    da.bigrad.laplacian, ds.bigrad.gradient: the same by dimension name, spacing
    from the coordinates, units and names in the attributes;
    da.bigrad.geospatial_gradient, ds.bigrad.vorticity, ds.bigrad.divergence,
    da.bigrad.savgol_derivative, da.bigrad.gaussian_derivative
Zarr or NetCDF to Zarr, in bounded memory, resumable
    gradient_zarr        a store's (or file's) gradients into a new Zarr store
    kinematics_zarr      a store's wind vorticity and divergence on the sphere, likewise
    open_gradient        open a finished target, refusing an unfinished one
    IncompleteStoreError what ``open_gradient`` raises for an unfinished target
Command line
    ``bigrad gradient|vorticity|divergence SOURCE TARGET ...``, ``bigrad demo``
    (``bigrad --help``)

>>> import numpy as np, bigrad
>>> bigrad.gradient(np.array([1.0, 2.0, 4.0, 7.0]))
array([1. , 1.5, 2.5, 3. ])
"""

from __future__ import annotations

from bigrad.io.zarr import IncompleteStoreError, gradient_zarr, kinematics_zarr, open_gradient
from bigrad.operators import derivative, gradient, laplacian
from bigrad.smoothing import gaussian_derivative, gaussian_gradient_magnitude, savgol_derivative
from bigrad.sphere import (
    EARTH_RADIUS,
    divergence,
    geospatial_gradient,
    spherical_laplacian,
    vorticity,
)

# imported for its side effect: registers the ``.bigrad`` accessor on xarray objects
from bigrad.xarray import accessor as _accessor  # noqa: F401

__all__ = [
    "EARTH_RADIUS",
    "IncompleteStoreError",
    "derivative",
    "divergence",
    "gaussian_derivative",
    "gaussian_gradient_magnitude",
    "geospatial_gradient",
    "gradient",
    "gradient_zarr",
    "kinematics_zarr",
    "laplacian",
    "open_gradient",
    "savgol_derivative",
    "spherical_laplacian",
    "vorticity",
]
__version__ = "0.1.0"
