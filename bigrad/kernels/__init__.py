"""Block kernels: one block and the halo planes beside it -> every requested output.

:func:`block_derivatives` is the one entry point for every executor (in-memory arrays,
dask tasks, the Zarr stream).  Plain numpy blocks of float32/float64 (integers become
float64) of at least :data:`AUTO_MIN_POINTS` points go to the numba kernel
(:mod:`bigrad.kernels.numba`), everything else (small blocks, float16, complex, time
deltas, masked arrays and other subclasses, duck arrays) to the numpy reference
(:mod:`bigrad.kernels.numpy`); both give identical numbers.  ``BIGRAD_ENGINE=numpy``
(or ``numba``, whatever the block's size) forces one path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from bigrad.core.masked import MaskedRules
from bigrad.core.weights import AxisRules, StencilSpec, axis_rules
from bigrad.kernels import numpy as _reference

__all__ = [
    "AUTO_MIN_POINTS",
    "ENGINES",
    "as_computable",
    "block_derivatives",
    "check_factors",
    "computable_dtype",
    "preload",
    "resolve_engine",
    "result_dtype",
    "threads",
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


def computable_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype numpy differences data of ``dtype`` in: integers as float64, datetimes
    as time deltas."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return np.dtype(np.float64)
    if dtype.kind == "M":
        return result_dtype(dtype)
    return dtype


def as_computable(a: Any) -> Any:
    """The array numpy differences: integers as float64, datetimes as timedeltas."""
    kind = a.dtype.kind
    if kind in "iu":
        return a.astype(np.float64)
    if kind == "M":
        return a.view(result_dtype(a.dtype))
    return a


def resolve_engine(engine: str | None = None) -> Engine:
    """``engine``, or ``BIGRAD_ENGINE`` when None (default ``"auto"``), checked.

    ``"auto"`` uses the numba kernel where it applies on blocks of at least
    :data:`AUTO_MIN_POINTS` points, ``"numba"`` on blocks of any size; ``"numpy"`` the
    reference kernel always.
    """
    name = engine if engine is not None else os.environ.get("BIGRAD_ENGINE", "auto")
    for known in ENGINES:
        if name == known:
            return known
    raise ValueError(f"engine must be one of {ENGINES}, got {name!r}")


#: under ``"auto"``, blocks of fewer points take the numpy kernels: there the compiled
#: kernel's call (packing, its threads) costs more than it saves, and a first call on a
#: small array need not wait for a compile
AUTO_MIN_POINTS = 2**16


def threads(parallel: bool = True) -> int:
    """Threads the numba kernels may use on a block: 1 where not ``parallel`` (inside
    dask tasks and the Zarr stream, which run blocks side by side), else
    ``BIGRAD_THREADS``, or every CPU this process may run on."""
    if not parallel:
        return 1
    env = os.environ.get("BIGRAD_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _wants_numba(engine: str | None, points: int) -> bool:
    name = resolve_engine(engine)
    return name == "numba" or (name == "auto" and points >= AUTO_MIN_POINTS)


def _numba_applies(fs: Sequence[Any], halos: Sequence[tuple[Any, Any]],
                   rules: Sequence[AxisRules], outs: Sequence[Any]) -> bool:  # fmt: skip
    # subclasses (masked arrays, matrices) and duck arrays keep their own semantics
    arrays = [*fs, *outs, *(h for pair in halos for h in pair)]
    if not all(type(a) is np.ndarray for a in arrays):
        return False
    from bigrad.kernels import numba as _numba

    return (
        fs[0].dtype.str[1:] in _numba.SUPPORTED
        and len(fs) <= _numba.INPUTS
        and all(a.flags.c_contiguous for a in (*fs, *outs))
    )


def _c_order(fs: Sequence[Any], halos: Sequence[tuple[Any, Any]], axes: Sequence[int],
             outs: list[Any], scale: list[Any]) -> Any:  # fmt: skip
    """Fortran-ordered blocks, their outputs and factors seen transposed (C order), else
    as they are."""
    f = fs[0]
    fortran = type(f) is np.ndarray and f.ndim > 1 and not f.flags.c_contiguous
    if fortran and all(type(a) is np.ndarray and a.flags.f_contiguous for a in (*fs, *outs)):
        t = [(lo.T, hi.T) for lo, hi in halos]
        scale = [None if s is None else s.T for s in scale]
        return [x.T for x in fs], t, [f.ndim - 1 - a for a in axes], [o.T for o in outs], scale
    return fs, halos, axes, outs, scale


def check_factors(scale: Sequence[Any] | None, n: int, shape: tuple[int, ...],
                  otype: np.dtype[Any], adds: Sequence[bool]) -> list[Any]:  # fmt: skip
    """``scale`` (see :func:`block_derivatives`) checked for ``n`` components of a block
    of ``shape``, ``adds[c]`` where component ``c`` adds to another's output: per
    component None or its factor in ``otype``, with as many dimensions as the block.

    >>> check_factors([None, [[2.0]]], 2, (3, 4), np.dtype("f4"), [False, False])[1].dtype
    dtype('float32')
    """
    if scale is None:
        return [None] * n
    if len(scale) != n:
        raise ValueError(f"scale has {len(scale)} entries for {n} components; give one per axis")
    factors: list[Any] = []
    for s, add in zip(scale, adds, strict=True):
        if s is None:
            factors.append(None)
            continue
        if add:
            raise ValueError("scale= applies to a component that writes its output, not to "
                             "one added to another's (add=True after the first, accumulate=True)")  # fmt: skip
        a = np.asarray(s, dtype=otype)
        try:
            fits = np.broadcast_shapes(a.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"scale factor of shape {a.shape} does not broadcast to the "
                             f"block's shape {shape}")  # fmt: skip
        factors.append(a.reshape((1,) * (len(shape) - a.ndim) + a.shape))
    return factors


def _per_line(factor: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """One factor per line along the last axis of a C-ordered block of ``shape`` (what
    the numba kernel scales by), or None when ``factor`` varies along that axis."""
    if factor is None or factor.shape[-1] != 1:  # it broadcasts: 1 where the block has 1
        return None
    lines = np.broadcast_to(factor[..., :1], (*shape[:-1], 1))
    return np.ascontiguousarray(lines).reshape(-1)


def block_derivatives(
    f: Any,
    halos: Sequence[tuple[Any, Any]],
    rules: Sequence[AxisRules],
    axes: Sequence[int],
    *,
    add: bool = False,
    engine: str | None = None,
    parallel: bool = True,
    out: Sequence[Any] | None = None,
    accumulate: bool = False,
    scale: Sequence[Any] | None = None,
    source: Sequence[int] | None = None,
) -> list[Any]:
    """Differentiate one block along each of ``axes``.

    Parameters
    ----------
    f : array, or tuple of arrays
        The block, as stored (integers and datetimes are converted here); or blocks of
        one shape and dtype, component ``c`` differentiating ``f[source[c]]``.
    halos : sequence of (lo, hi)
        For each axis, the planes just before and just after the block along it.
    rules : sequence of AxisRules
        For each axis, its rules restricted to this block's points.
    axes : sequence of int
        The axes to differentiate along (an axis may repeat with other rules).
    add : bool, optional
        Return the sum of the components (added in ``axes`` order) instead of each.
    engine : {"auto", "numba", "numpy"}, optional
        Which kernel to use (see :func:`resolve_engine`); ``BIGRAD_ENGINE`` by default.
    parallel : bool, optional
        Let the numba kernel use all of numba's threads.  Off inside dask tasks.
    out : sequence of arrays, optional
        Arrays shaped like ``f`` and of dtype :func:`result_dtype` to write into.
    accumulate : bool, optional
        Add the results to ``out``'s values instead of overwriting them: each value
        is computed as without, added in the rules' dtype, and rounded once.
    scale : sequence of arrays or None, optional
        Per axis, None or a factor broadcastable to the block (a metric along another
        axis): the component's output is multiplied by it in the output's dtype once
        written, as ``np.multiply(out, factor.astype(dtype), out=out)`` would, while the
        numba kernel still has it in cache.  Only for components that write their output
        (not those added to another's, nor with ``accumulate``).
    source : sequence of int, optional
        With a tuple ``f``, per axis the index of the block it differentiates.  A
        component added to another's output reads it while it is in cache (the numba
        kernel takes every component a few rows at a time): a divergence of ``(u, v)``
        in one pass.

    Returns
    -------
    list of arrays
        One array shaped like ``f`` per axis (one in all with ``add``), of dtype
        :func:`result_dtype`.
    """
    fs = f if isinstance(f, tuple) else (f,)
    f = fs[0]
    source = [0] * len(axes) if source is None else list(source)
    if len(source) != len(axes) or not all(0 <= k < len(fs) for k in source):
        raise ValueError(f"source must give, per axis, the index of one of the {len(fs)} blocks")
    if any(x.shape != f.shape or x.dtype != f.dtype for x in fs):
        raise ValueError("blocks differentiated together must have one shape and dtype")
    otype = result_dtype(f.dtype)
    n_out = 1 if add else len(axes)
    if accumulate and (out is None or any(isinstance(r, MaskedRules) for r in rules)):
        raise ValueError("accumulate=True needs out= (the arrays to add to) and is not "
                         "available with nan='one-sided' rules")  # fmt: skip
    if out is not None:
        _check_out(f, n_out, otype, out)
        outs = list(out)
    else:
        outs = [np.empty_like(f, dtype=otype) for _ in range(n_out)]
    index = [0] * len(axes) if add else list(range(len(axes)))
    adds = [accumulate or (add and c > 0) for c in range(len(axes))]
    factors = check_factors(scale, len(axes), f.shape, otype, adds)
    if any(isinstance(r, MaskedRules) for r in rules):
        # nan="one-sided": each axis plainly, then its points next to missing values
        from bigrad.kernels.masked import masked_block

        def derive(b: Any, h: Any, r: Any, a: Any, o: Any) -> list[Any]:
            return block_derivatives(b, h, r, a, engine=engine, parallel=parallel, out=o)

        if (add and any(s is not None for s in factors)) or len(fs) > 1:
            raise ValueError("scale= with add=True, and several blocks, are not available "
                             "with nan='one-sided' rules")  # fmt: skip
        compiled = _wants_numba(engine, f.size)
        masked_block(f, halos, rules, axes, add=add, outs=outs, derive=derive,
                     compiled=compiled, parallel=parallel)  # fmt: skip
        for c, s in enumerate(factors):
            if s is not None:
                np.multiply(outs[c], s, out=outs[c])
        return outs
    if f.size == 0:
        return outs
    _unmasked(fs, halos, rules, axes, outs, index, adds, factors, source, engine, parallel)
    return outs


def _unmasked(fs: Sequence[Any], halos: Sequence[tuple[Any, Any]], rules: Sequence[AxisRules],
              axes: Sequence[int], outs: list[Any], index: list[int], adds: list[bool],
              factors: list[Any], source: list[int], engine: str | None,
              parallel: bool) -> None:  # fmt: skip
    """:func:`block_derivatives` of plain rules: the numba kernel where it applies, the
    numpy reference where not."""
    xs = [as_computable(x) for x in fs]
    # a strided view: one copy, then one fast pass
    xs = [np.ascontiguousarray(x) if type(x) is np.ndarray
          and not (x.flags.c_contiguous or x.flags.f_contiguous) else x for x in xs]  # fmt: skip
    halos = [(as_computable(lo), as_computable(hi)) for lo, hi in halos]
    xc, hc, ac, oc, fc = _c_order(xs, halos, axes, outs, factors)
    compiled = _wants_numba(engine, xc[0].size) and _numba_applies(xc, hc, rules, oc)
    wait = resolve_engine(engine) == "numba"
    lines = [_per_line(s, xc[0].shape) for s in fc] if compiled else [None] * len(axes)
    # the kernel takes one compute dtype: a call per run of components sharing one (runs
    # in order, so that summed components are added in the same order); under "auto", a
    # run whose kernel is still compiling takes numpy's kernels
    for a, b in _runs(rules, fc, lines) if compiled else [(0, len(axes))]:
        done = False
        if compiled:
            from bigrad.kernels import numba as _numba

            done = _numba.apply_block(xc, hc[a:b], rules[a:b], ac[a:b], oc, index[a:b],
                                      adds[a:b], parallel, wait, lines[a:b], source[a:b])  # fmt: skip
        for c in range(a, b):
            if not done:
                lo, hi = hc[c]
                _reference.apply_axis(xc[source[c]], lo, hi, ac[c], rules[c], oc[index[c]],
                                      adds[c])  # fmt: skip
            if fc[c] is not None and not (done and lines[c] is not None):
                np.multiply(oc[index[c]], fc[c], out=oc[index[c]])


def _runs(rules: Sequence[AxisRules], factors: Sequence[Any],
          lines: Sequence[Any]) -> list[tuple[int, int]]:  # fmt: skip
    """``[a, b)`` ranges of consecutive rules of one compute dtype, a run ending at a
    component whose factor the kernel cannot take (multiplied after the run, before a
    later component adds to its output)."""
    runs: list[tuple[int, int]] = []
    for i, r in enumerate(rules):
        ends = i > 0 and factors[i - 1] is not None and lines[i - 1] is None
        if runs and rules[runs[-1][0]].dtype == r.dtype and not ends:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _check_out(f: Any, n_out: int, otype: np.dtype[Any], out: Sequence[Any]) -> None:
    if len(out) != n_out:
        raise ValueError(f"out has {len(out)} arrays for {n_out} outputs; give one per output")
    for o in out:
        if o.shape != f.shape or o.dtype != otype:
            raise ValueError(
                f"out arrays must have the block's shape {f.shape} and dtype {otype}, "
                f"got {o.shape} {o.dtype}"
            )


def preload(dtype: Any, ndim: int) -> None:
    """Load (or compile) the kernel that blocks of ``dtype`` and ``ndim`` will use one
    axis at a time (as the Zarr stream does), with coordinate-derived rules.

    Run in a thread of its own, loading overlaps with a job's set-up and first reads
    instead of stalling the first block.
    """
    if resolve_engine() == "numpy":
        return
    f = np.zeros((4,) * ndim, dtype=dtype)
    rules = axis_rules(4, np.float64(1.0), StencilSpec(), computable_dtype(f.dtype))
    for axis in range(ndim):
        empty = f[(slice(None),) * axis + (slice(0, 0),)]
        block_derivatives(f, [(empty, empty)], [rules], [axis], engine="numba", parallel=False)
