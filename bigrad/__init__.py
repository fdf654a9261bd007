"""bigrad: derivatives of N-D arrays far too large for memory.

Chunks exchange thin halos with their neighbours, every stencil is computed locally,
and ``gradient``'s numbers equal numpy's bit for bit.
"""

from __future__ import annotations

from bigrad.io.zarr import IncompleteStoreError, gradient_zarr, open_gradient
from bigrad.operators import derivative, gradient, laplacian
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
    "geospatial_gradient",
    "gradient",
    "gradient_zarr",
    "laplacian",
    "open_gradient",
    "spherical_laplacian",
    "vorticity",
]
__version__ = "0.1.0"
