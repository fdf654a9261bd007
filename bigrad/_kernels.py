"""Block kernels: one block and the halo planes beside it -> every requested component.

Pure numpy (duck arrays that implement numpy's protocols work too); no dask, no xarray.
A block along axis ``k`` is extended by ``lo`` planes before it and ``hi`` planes after
it, taken from its neighbours (or from the other end of a periodic axis)::

        lo halo        block (m planes)          hi halo
      [ -L .. -1 ] [ 0 1 2 ........ m-2 m-1 ] [ m .. m+H-1 ]
                     \\_ edge  \\_ bulk _/   edge _/

The bulk ``1 .. m-2`` only reads the block, so it is computed with whole-array slices
and no copy of block + halo is ever made; the (at most two) edge planes read the halo
plane by plane.

:func:`gradient_block` hands supported cases (plain numpy blocks of real or complex
floats and integers, 1-D to 4-D) to the fused numba kernels of :mod:`bigrad._numba`,
which give the same numbers to float rounding in one pass; the numpy code here is the
fallback and the reference.  ``BIGRAD_ENGINE=numpy`` (or ``numba``) forces one path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from bigrad._stencil import AxisStencil, axis_stencil

__all__ = [
    "ENGINES",
    "as_computable",
    "gradient_block",
    "preload",
    "resolve_engine",
    "result_dtype",
]

Engine = Literal["auto", "numba", "numpy"]
#: accepted values of ``engine`` and of the ``BIGRAD_ENGINE`` environment variable
ENGINES: tuple[Engine, ...] = ("auto", "numba", "numpy")


def result_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype ``np.gradient`` returns for input of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "M":
        return np.dtype(dtype.str.replace("M8", "m8"))
    if dtype.kind in "mfc":
        return dtype
    return np.dtype(np.float64)


def as_computable(a: Any) -> Any:
    """The array numpy differences: integers as float64, datetimes as timedeltas."""
    kind = a.dtype.kind
    if kind in "iu":
        return a.astype(np.float64)
    if kind == "M":
        return a.view(result_dtype(a.dtype))
    return a


def _index(axis: int, i: int | slice) -> tuple[slice | int, ...]:
    return (slice(None),) * axis + (i,)


def _point(plane: Callable[[int], Any], i: int, g: int, st: AxisStencil) -> Any:
    """Derivative at local plane ``i`` (global index ``g``), numpy's formula for it."""
    if st.periodic or 0 < g < st.n - 1:
        if st.coef is None:
            return (plane(i + 1) - plane(i - 1)) / (2.0 * st.dx)
        a, b, c = st.coef[i]
        return a * plane(i - 1) + b * plane(i) + c * plane(i + 1)
    first = g == 0
    if st.edge_order == 1:
        if first:
            return (plane(i + 1) - plane(i)) / st.edge_dx[0]
        return (plane(i) - plane(i - 1)) / st.edge_dx[1]
    assert st.edge_coef is not None
    if first:
        a, b, c = st.edge_coef[0]
        return a * plane(i) + b * plane(i + 1) + c * plane(i + 2)
    a, b, c = st.edge_coef[1]
    return a * plane(i - 2) + b * plane(i - 1) + c * plane(i)


def _axis_derivative(f: Any, lo: Any, hi: Any, axis: int, st: AxisStencil, out: Any) -> None:
    m = f.shape[axis]
    if m == 0:
        return
    n_lo = lo.shape[axis]

    def plane(j: int) -> Any:
        if j < 0:
            return lo[_index(axis, n_lo + j)]
        if j >= m:
            return hi[_index(axis, j - m)]
        return f[_index(axis, j)]

    if m > 2:
        below, mid, above = (f[_index(axis, slice(k, m - 2 + k))] for k in range(3))
        if st.coef is None:
            out[_index(axis, slice(1, m - 1))] = (above - below) / (2.0 * st.dx)
        else:
            shape = [1] * f.ndim
            shape[axis] = m - 2
            a, b, c = (st.coef[1 : m - 1, k].reshape(shape) for k in range(3))
            out[_index(axis, slice(1, m - 1))] = a * below + b * mid + c * above
    for i in sorted({0, m - 1}):
        out[_index(axis, i)] = _point(plane, i, st.start + i, st)


def resolve_engine(engine: str | None = None) -> Engine:
    """``engine``, or ``BIGRAD_ENGINE`` when None (default ``"auto"``), checked.

    ``"auto"`` means numba when it can be imported; ``"numba"`` insists on it (raising
    ``ImportError`` without it) but still leaves unsupported cases to numpy.
    """
    name = engine if engine is not None else os.environ.get("BIGRAD_ENGINE", "auto")
    for known in ENGINES:
        if name == known:
            return known
    raise ValueError(f"engine must be one of {ENGINES}, got {name!r}")


def _fused(
    f: Any,
    halos: Sequence[tuple[Any, Any]],
    stencils: Sequence[AxisStencil],
    axes: Sequence[int],
    engine: Engine,
    parallel: bool,
    out: Sequence[Any] | None,
) -> list[Any] | None:
    """The numba kernels' result, or None where they do not apply."""
    if engine == "numpy":
        return None
    # subclasses (masked arrays, matrices) and duck arrays keep their own semantics
    plain = (
        type(f) is np.ndarray
        and all(type(h) is np.ndarray for pair in halos for h in pair)
        and (out is None or all(type(o) is np.ndarray for o in out))
    )
    if not plain:
        return None
    try:
        from bigrad import _numba
    except ImportError:
        if engine == "numba":
            raise
        return None
    otype = result_dtype(f.dtype)
    if as_computable(f[(slice(0, 0),) * f.ndim]).dtype.str[1:] not in _numba.SUPPORTED_KINDS:
        return None
    f = as_computable(f)
    halos = [(as_computable(lo), as_computable(hi)) for lo, hi in halos]
    return _numba.fused_gradient(f, halos, stencils, axes, otype, parallel, out)


def gradient_block(
    f: Any,
    halos: Sequence[tuple[Any, Any]],
    stencils: Sequence[AxisStencil],
    axes: Sequence[int],
    engine: str | None = None,
    parallel: bool = True,
    out: Sequence[Any] | None = None,
) -> list[Any]:
    """Differentiate one block along each of ``axes``.

    Parameters
    ----------
    f : array
        The block, as stored (integers and datetimes are converted here).
    halos : sequence of (lo, hi)
        For each axis, the planes just before and just after the block along it.
    stencils : sequence of AxisStencil
        For each axis, the stencil restricted to this block's points.
    axes : sequence of int
        The axes to differentiate along.
    engine : {"auto", "numba", "numpy"}, optional
        Which kernels to use (see :func:`resolve_engine`); ``BIGRAD_ENGINE`` by default.
    parallel : bool, optional
        Let the numba kernel use all of numba's threads.  Off inside dask tasks, which
        dask already runs side by side.
    out : sequence of arrays, optional
        One array per axis, shaped like ``f`` and of dtype :func:`result_dtype`, to
        write the results into (reused buffers spare the page faults of fresh memory).

    Returns
    -------
    list of arrays
        One array shaped like ``f`` per axis, of dtype :func:`result_dtype` (``out``'s
        arrays when given).
    """
    if out is not None:
        _check_out(f, axes, out)
    fused = _fused(f, halos, stencils, axes, resolve_engine(engine), parallel, out)
    if fused is not None:
        return fused
    otype = result_dtype(f.dtype)
    f = as_computable(f)
    given = list(out) if out is not None else [None] * len(axes)
    outs = []
    for axis, (lo, hi), st, target in zip(axes, halos, stencils, given, strict=True):
        result = np.empty_like(f, dtype=otype) if target is None else target
        _axis_derivative(f, as_computable(lo), as_computable(hi), axis, st, result)
        outs.append(result)
    return outs


def preload(dtype: Any, ndim: int) -> None:
    """Load (or compile) the kernels that blocks of ``dtype`` and ``ndim`` will use.

    A first call loads the numba kernels from their on-disk cache, a few tenths of a
    second; run in a thread of its own, that overlaps with a job's set-up and first
    reads instead of stalling the first block.
    """
    shape = (3,) * ndim
    f = np.zeros(shape, dtype=dtype)
    halos = [(f[_index(a, slice(0, 0))],) * 2 for a in range(ndim)]
    stencils = [axis_stencil(3, 1.0, 1) for _ in range(ndim)]
    for axis in range(ndim):
        gradient_block(f, [halos[axis]], [stencils[axis]], [axis], parallel=False)


def _check_out(f: Any, axes: Sequence[int], out: Sequence[Any]) -> None:
    otype = result_dtype(f.dtype)
    if len(out) != len(axes):
        raise ValueError(f"out has {len(out)} arrays for {len(axes)} axes; give one per axis")
    for o in out:
        if o.shape != f.shape or o.dtype != otype:
            raise ValueError(
                f"out arrays must have the block's shape {f.shape} and dtype {otype}, "
                f"got {o.shape} {o.dtype}"
            )


def extract_faces(block: Any, faces: Sequence[tuple[int, int, int]]) -> dict[tuple[int, bool], Any]:
    """The planes ``block`` hands its neighbours: ``{(axis, first): copy}``.

    ``faces`` holds ``(axis, n_first, n_last)``.  The faces are copies so that a
    neighbour holding one does not keep this whole block alive.
    """
    out = {}
    for axis, n_first, n_last in faces:
        m = block.shape[axis]
        if n_first:
            out[(axis, True)] = block[_index(axis, slice(0, n_first))].copy()
        if n_last:
            out[(axis, False)] = block[_index(axis, slice(m - n_last, m))].copy()
    return out


def assemble_halo(f: Any, axis: int, pieces: Sequence[tuple[Any, bool, int]]) -> Any:
    """Concatenate halo pieces ``(face, first, count)`` along ``axis``.

    A piece is the first ``count`` planes of a neighbour's leading face or the last
    ``count`` planes of its trailing face.  No pieces give an empty slab shaped like
    ``f`` along the other axes.
    """
    parts = []
    for face, first, count in pieces:
        k = face.shape[axis]
        parts.append(face[_index(axis, slice(0, count) if first else slice(k - count, k))])
    if not parts:
        return f[_index(axis, slice(0, 0))]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, axis=axis)


#: a halo piece as the kernels see it: (index of the neighbour's face bundle, first, count)
Piece = tuple[int, bool, int]


def halos_from_faces(
    f: Any,
    axes: Sequence[int],
    lo: Sequence[Sequence[Piece]],
    hi: Sequence[Sequence[Piece]],
    bundles: Sequence[dict[tuple[int, bool], Any]],
) -> list[tuple[Any, Any]]:
    """Per axis, the ``(lo, hi)`` halo of block ``f`` from its neighbours' face bundles."""
    return [
        tuple(
            assemble_halo(f, axis, [(bundles[i][(axis, first)], first, k) for i, first, k in side])
            for side in (lo_a, hi_a)
        )
        for axis, lo_a, hi_a in zip(axes, lo, hi, strict=True)
    ]
