"""bigrad: derivatives of N-D arrays far too large for memory.

Chunks exchange thin halos with their neighbours, every stencil is computed locally,
and ``gradient``'s numbers equal numpy's bit for bit.
"""

from __future__ import annotations

from bigrad.io.zarr import IncompleteStoreError, gradient_zarr, open_gradient
from bigrad.operators import derivative, gradient, laplacian
from bigrad.smoothing import gaussian_derivative, gaussian_gradient_magnitude, savgol_derivative

# imported for its side effect: registers the ``.bigrad`` accessor on xarray objects
from bigrad.xarray import accessor as _accessor  # noqa: F401

__all__ = [
    "IncompleteStoreError",
    "derivative",
    "gaussian_derivative",
    "gaussian_gradient_magnitude",
    "gradient",
    "gradient_zarr",
    "laplacian",
    "open_gradient",
    "savgol_derivative",
]
__version__ = "0.1.0"
