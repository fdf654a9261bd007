"""Array functions: ``gradient``, ``derivative`` and ``laplacian`` of numpy and dask arrays.

This module takes and returns arrays only, never xarray objects (the accessor in
:mod:`bigrad.xarray.accessor` does the name and coordinate bookkeeping).  Every operator is
a :class:`~bigrad.core.args.GradientArgs` (axes, spacings, stencil, periodic axes) and
whether its components are summed (:func:`apply`); :func:`prepare` turns that into a halo plan and
per-axis rules, which every executor (in memory here, :mod:`bigrad.dask`, the Zarr
stream) runs the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from bigrad.core.args import GradientArgs, check_spec, is_dask, parse_args
from bigrad.core.blocks import extract_faces, halos_by_source
from bigrad.core.masked import nan_stencil
from bigrad.core.plan import GradientPlan, plan_gradient
from bigrad.core.weights import AxisRules, Stencil
from bigrad.kernels import block_derivatives, check_factors, computable_dtype, result_dtype

__all__ = ["apply", "derivative", "gradient", "laplacian", "prepare"]


def prepare(
    args: GradientArgs, shape: tuple[int, ...], chunks: Sequence[Sequence[int]],
    dtype: np.dtype[Any], eager: bool = True,
) -> tuple[GradientPlan, list[Any]]:  # fmt: skip
    """The halo plan and, per axis, its :class:`AxisRules` (or, for a lazy coordinate
    when not ``eager``, the coordinate and the function that makes its rules)."""
    layouts = {
        a: args.stencils[i].layouts(shape[a], a in args.periodic, args.uniform(i))
        for i, a in enumerate(args.axes)
    }
    plan = plan_gradient(shape, chunks, layouts)
    rules: list[Any] = []
    for axis, spacing, stencil in zip(args.axes, args.spacings, args.stencils, strict=True):
        build = functools.partial(
            stencil.rules,
            shape[axis],
            data=computable_dtype(dtype),
            periodic=axis in args.periodic,
            period=args.periods.get(axis),
            label=f"coordinate for axis {axis}",
        )
        if is_dask(spacing) and not eager:
            rules.append((spacing, build))
        else:
            rules.append(build(np.asarray(spacing) if is_dask(spacing) else spacing))
    return plan, rules


def _in_memory(fs: tuple[np.ndarray, ...], plan: GradientPlan, rules: list[AxisRules],
               add: bool, out: Sequence[np.ndarray] | None, accumulate: bool,
               scale: Sequence[Any] | None, source: Sequence[int] | None) -> list[Any]:  # fmt: skip
    # the whole array is one block; only periodic axes have a halo, taken from its ends
    whole = (0,) * fs[0].ndim
    lo = [[(0, p.first, p.count) for p in ap.lo[0]] for ap in plan.axes]
    hi = [[(0, p.first, p.count) for p in ap.hi[0]] for ap in plan.axes]
    axes = [ap.axis for ap in plan.axes]
    which = [0] * len(axes) if source is None else source
    along = [{a for a, i in zip(axes, which, strict=True) if i == k} for k in range(len(fs))]
    bundles = [[extract_faces(f, plan.faces(whole), along[k])] for k, f in enumerate(fs)]
    halos = halos_by_source(fs, which, axes, lo, hi, bundles)
    return block_derivatives(fs if len(fs) > 1 else fs[0], halos, rules, axes, add=add, out=out,
                             accumulate=accumulate, scale=scale, source=source)  # fmt: skip


def apply(
    f: Any,
    varargs: Sequence[Any],
    axis: Any,
    spec: Stencil | Sequence[Stencil],
    periodic: Any = False,
    period: Any = None,
    add: bool = False,
    out: Sequence[np.ndarray] | None = None,
    accumulate: bool = False,
    scale: Sequence[Any] | None = None,
    source: Sequence[int] | None = None,
) -> list[Any]:
    """The one entry every front end calls: check the arguments, plan, and execute.

    ``spec`` is the :class:`~bigrad.core.weights.Stencil` applied along every axis of
    ``axis``, or one per axis: a new operator along an axis is a new stencil.

    Returns one array per axis of ``axis`` (one in all, their sum, with ``add``), of
    ``f``'s kind: numpy in memory, or dask (lazy, the input's chunks).  For numpy
    input, ``out`` gives the arrays to write them into (of ``f``'s shape and the
    result dtype) and ``accumulate`` adds them to ``out``'s values instead.  ``scale``
    multiplies each axis's component by a factor that broadcasts against ``f`` (or
    None), as :func:`~bigrad.kernels.block_derivatives` does; with ``source``, ``f`` is
    a tuple of arrays of one shape and dtype (numpy, or dask, chunked as the first dask
    one), and axis ``i`` differentiates ``f[source[i]]`` (components added together read
    one another's output in cache).
    """
    fs = tuple(f) if source is not None else (f,)
    lazy = any(is_dask(x) for x in fs)
    if lazy and (out is not None or accumulate):
        raise ValueError("out= and accumulate= are for numpy input; a dask result is lazy")
    fs = tuple(x if is_dask(x) else np.asanyarray(x) for x in fs)
    if any(x.shape != fs[0].shape or x.dtype != fs[0].dtype for x in fs):
        raise ValueError("the arrays differentiated together must have one shape and dtype, "
                         f"got {[(x.shape, str(x.dtype)) for x in fs]}")  # fmt: skip
    if lazy:
        import dask.array as da

        # one chunking for every input: the first dask input's
        chunking = next(x.chunks for x in fs if is_dask(x))
        fs = tuple(x if is_dask(x) and x.chunks == chunking
                   else da.asarray(x).rechunk(chunking) for x in fs)  # type: ignore[no-untyped-call]  # fmt: skip
    f = fs[0]
    args = parse_args(f.shape, f.dtype, varargs, axis, spec, periodic, period)
    chunks = f.chunks if lazy else tuple((n,) for n in f.shape)
    if not args.axes:
        return []
    plan, rules = prepare(args, f.shape, chunks, f.dtype, eager=not lazy)
    if lazy:
        from bigrad.dask import derivatives_graph

        # the blocks check their factors when computed: bad ones are refused here first
        adds = [add and c > 0 for c in range(len(args.axes))]
        check_factors(scale, len(args.axes), f.shape, result_dtype(f.dtype), adds)
        return derivatives_graph(f, plan, rules, add, others=fs[1:], source=source,
                                 scale=scale)  # fmt: skip
    return _in_memory(fs, plan, rules, add, out, accumulate, scale, source)


def gradient(
    f: Any,
    *varargs: Any,
    axis: int | tuple[int, ...] | None = None,
    edge_order: int = 1,
    periodic: bool | int | tuple[int, ...] = False,
    period: float | dict[int, float] | None = None,
    nan: str = "propagate",
) -> Any:
    """Return the gradient of an N-dimensional array, as ``np.gradient`` does.

    Second-order central differences in the interior, first- or second-order one-sided
    differences at the ends, or wrap-around central differences on periodic axes.  The
    numbers are numpy's, bit for bit.  A dask array is differentiated lazily, chunk by
    chunk, each chunk reading only thin faces of its neighbours; the result has the
    input's chunks.

    Parameters
    ----------
    f : array_like or dask.array.Array
        Samples of a function.  Integers give float64; float16/32/64, complex,
        datetime64 (giving timedelta64) and timedelta64 keep numpy's result dtype.
    *varargs : scalar or 1-D array, optional
        Spacing: none (unit spacing), one scalar for all axes, or one scalar or
        coordinate array (numpy or dask, possibly non-uniform) per axis in ``axis``.
    axis : None, int or tuple of int, optional
        Axes to differentiate along (negative counts from the end); all by default.
    edge_order : {1, 2}, optional
        Accuracy of the one-sided differences at the ends of non-periodic axes.
    periodic : bool, int or tuple of int, optional
        Axes that wrap round (``True``: all of ``axis``), such as longitude.  A periodic
        axis uses central differences at both ends; ``edge_order`` does not apply.
    period : float or dict of {int: float}, optional
        Length of the period of periodic axes that have a coordinate array, e.g.
        ``360.0`` for longitude in degrees; one number for all, or per axis.  With a
        scalar spacing the period is implied and may be left out.
    nan : {"propagate", "one-sided"}, optional
        ``"propagate"`` (numpy's behaviour) lets a NaN spoil its neighbours;
        ``"one-sided"`` differentiates every run of finite values along an axis as
        ``np.gradient`` differentiates that run alone (one-sided at a missing value,
        ``edge_order`` 1 for a run of 2 points, NaN for a run of 1 and at missing
        values; on an uneven coordinate a run always takes its uneven formulas, which
        numpy would replace by its step's on a run that happens to be evenly spaced:
        the same to rounding; see :mod:`bigrad.core.masked`).  Round a periodic axis
        a run may cross its ends (its coordinate continued by ``period``); a line
        without a missing value is then one run round the circle: the plain result.

    Returns
    -------
    ndarray or dask.array.Array, or tuple of them
        One array per axis (a tuple when there are several), of the input's kind.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, before any work starts.  Values of a lazy (dask)
        coordinate are checked when its rules are computed.

    See Also
    --------
    numpy.gradient, dask.array.gradient, derivative

    Examples
    --------
    >>> import numpy as np
    >>> import bigrad
    >>> f = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    >>> bigrad.gradient(f)
    array([1. , 1.5, 2.5, 3.5, 4. ])
    >>> bigrad.gradient(f, periodic=True)
    array([-4.5,  1.5,  2.5,  3.5, -3. ])

    A dask array keeps its chunks, even chunks of one element:

    >>> import dask.array as da
    >>> d = bigrad.gradient(da.from_array(f, chunks=(1, 3, 1)), edge_order=2)
    >>> d.chunks, d.compute()
    (((1, 3, 1),), array([0.5, 1.5, 2.5, 3.5, 4.5]))
    """
    spec = nan_stencil(check_spec(edge_order=edge_order), nan)
    outs = apply(f, varargs, axis, spec, periodic, period)
    return outs[0] if len(outs) == 1 else tuple(outs)


def derivative(
    f: Any,
    spacing: Any = None,
    *,
    axis: int = -1,
    order: int = 1,
    accuracy: int = 2,
    periodic: bool = False,
    period: float | None = None,
    nan: str = "propagate",
) -> Any:
    """Return the derivative of ``order`` along one axis, to ``accuracy``.

    Central differences inside, one-sided differences of the same accuracy at the ends
    (findiff's stencils on uniform grids), or wrap-around central differences on a
    periodic axis.  On a non-uniform coordinate every point uses ``order + accuracy``
    points, so it is exact for polynomials of degree ``order + accuracy - 1``.
    ``order=1, accuracy=2`` is ``np.gradient(f, spacing, axis=axis, edge_order=2)``,
    bit for bit.

    Parameters
    ----------
    f : array_like or dask.array.Array
        Samples of a function.
    spacing : scalar or 1-D array, optional
        The step (default 1) or the coordinate of every point along ``axis``.
    axis : int, optional
        The axis to differentiate along.
    order : {1, 2}, optional
        The derivative's order.
    accuracy : {2, 4, 6}, optional
        The order of accuracy of every stencil.
    periodic : bool, optional
        Whether the axis wraps round.
    period : float, optional
        The period, needed for a periodic axis with a coordinate array.
    nan : {"propagate", "one-sided"}, optional
        ``"one-sided"``: every run of finite values is differentiated as this function
        differentiates the run alone, ``accuracy`` lowered (to 4, then 2) only where
        the run is too short for it; a first derivative of a run of 2 points is their
        difference, runs too short for any stencil give NaN.  On an uneven coordinate
        a run takes its uneven stencils even where it happens to be evenly spaced (see
        :mod:`bigrad.core.masked`); round a periodic axis a run may cross its ends.

    Returns
    -------
    ndarray or dask.array.Array
        Of the input's kind, shape (and chunks).

    See Also
    --------
    gradient, laplacian

    Examples
    --------
    >>> import numpy as np
    >>> import bigrad
    >>> x = np.linspace(0.0, 1.0, 11)
    >>> bigrad.derivative(x**3, 0.1, order=2, accuracy=4).round(12) + 0.0
    array([0. , 0.6, 1.2, 1.8, 2.4, 3. , 3.6, 4.2, 4.8, 5.4, 6. ])
    """
    spec = nan_stencil(check_spec(order, accuracy), nan)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(
            f"axis must be one integer, got {axis!r}; use laplacian or gradient for several"
        )
    varargs = () if spacing is None else (spacing,)
    (out,) = apply(f, varargs, axis, spec, periodic, period)
    return out


def laplacian(
    f: Any,
    *varargs: Any,
    axis: int | tuple[int, ...] | None = None,
    accuracy: int = 2,
    periodic: bool | int | tuple[int, ...] = False,
    period: float | dict[int, float] | None = None,
    nan: str = "propagate",
) -> Any:
    """Return the Laplacian: the sum of the second derivatives along ``axis``.

    All second derivatives are computed and summed in one pass over the data (in the
    order of ``axis``), each with the stencils of :func:`derivative`.

    Parameters
    ----------
    f : array_like or dask.array.Array
        Samples of a function.
    *varargs : scalar or 1-D array, optional
        Spacing, as for :func:`gradient`.
    axis : None, int or tuple of int, optional
        Axes to sum over; all by default.
    accuracy : {2, 4, 6}, optional
        The order of accuracy of every stencil.
    periodic, period : optional
        Axes that wrap round and their periods, as for :func:`gradient`.
    nan : {"propagate", "one-sided"}, optional
        As for :func:`derivative`, along each axis before summing.

    Returns
    -------
    ndarray or dask.array.Array
        One array of the input's kind, shape (and chunks).

    Examples
    --------
    >>> import numpy as np
    >>> import bigrad
    >>> y, x = np.meshgrid(np.arange(5.0), np.arange(6.0), indexing="ij")
    >>> bigrad.laplacian(x**2 + 3 * y**2).round(12)[0]
    array([8., 8., 8., 8., 8., 8.])
    """
    spec = nan_stencil(check_spec(2, accuracy), nan)
    outs = apply(f, varargs, axis, spec, periodic, period, add=True)
    if not outs:
        raise ValueError("axis is empty; give at least one axis to sum over")
    return outs[0]
