"""The dask graph of chunked derivatives: the only module that builds dask graphs.

Per input block three layers of tasks, whatever the number of axes::

    faces   block -> the thin planes it hands its neighbours (copies)
    block   block + its neighbours' faces -> every requested output, in one pass
    d{i}    one getitem per output, so that each output is a dask array whose
            chunks are the input's

so an all-axes gradient of a 3-D array has 1 (input) + 1 + 1 + 3 = 6 tasks per chunk.
A lazy coordinate adds one task per axis that turns it into rules.  Several inputs of
one shape (a vorticity's two winds) add their own faces; each block task takes every
input's block, and each component reads the one it names, scaled by its factor's
slice as the engine writes it (:func:`bigrad.kernels.block_derivatives`).  A layer's
declared dependencies are exactly the layers its tasks read, so graphs pass dask's
``validate``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
from dask.array.utils import meta_from_array
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from bigrad.core.blocks import extract_faces, halos_by_source
from bigrad.core.plan import GradientPlan
from bigrad.core.weights import AxisRules
from bigrad.kernels import block_derivatives, result_dtype

__all__ = ["RulesBuilder", "derivatives_graph"]

#: How a lazy coordinate becomes rules: called on the computed coordinate.
RulesBuilder = Callable[[np.ndarray], AxisRules]


@dataclass(frozen=True)
class _BlockSpec:
    """Static payload of one block task (an object, so dask never looks inside it)."""

    axes: tuple[int, ...]
    add: bool
    bounds: tuple[tuple[int, int], ...]
    #: per axis, the lo and hi pieces as (index into the face bundles, first, count)
    lo: tuple[tuple[tuple[int, bool, int], ...], ...]
    hi: tuple[tuple[tuple[int, bool, int], ...], ...]
    #: per axis, the input it differentiates, and its factor's slice (or None)
    source: tuple[int, ...]
    scale: tuple[Any, ...]


def _block_task(blocks: list[Any], bundles: list[list[dict[tuple[int, bool], Any]]],
                rules: list[Any], spec: _BlockSpec) -> tuple[Any, ...]:  # fmt: skip
    halos = halos_by_source(blocks, spec.source, spec.axes, spec.lo, spec.hi, bundles)
    restricted = [r.restrict(*b) for r, b in zip(rules, spec.bounds, strict=True)]
    several = len(blocks) > 1
    # one thread per task: dask runs blocks side by side, and numba's default
    # threading layer must not be entered from several threads at once
    outs = block_derivatives(tuple(blocks) if several else blocks[0], halos, restricted,
                             spec.axes, add=spec.add, parallel=False, scale=spec.scale,
                             source=spec.source if several else None)  # fmt: skip
    return tuple(outs)


def _rules_task(chunks: list[np.ndarray], build: RulesBuilder) -> AxisRules:
    return build(np.concatenate(chunks))


def _factor_slices(
    factors: tuple[Any, ...],
    chunks: tuple[tuple[int, ...], ...],
    idx: tuple[int, ...],
    starts: list[np.ndarray],
) -> tuple[Any, ...]:
    """The factors (each None or broadcasting against the array) cut to block ``idx``."""
    region = tuple(slice(int(st[i]), int(st[i]) + c[i])
                   for st, c, i in zip(starts, chunks, idx, strict=True))  # fmt: skip
    cut: list[Any] = []
    for factor in factors:
        if factor is None:
            cut.append(None)
            continue
        a = np.asarray(factor)
        a = a.reshape((1,) * (len(region) - a.ndim) + a.shape)
        cut.append(a[tuple(sl if n > 1 else slice(None)
                           for sl, n in zip(region, a.shape, strict=True))])  # fmt: skip
    return tuple(cut)


def derivatives_graph(
    x: da.Array,
    plan: GradientPlan,
    rules: Sequence[AxisRules | tuple[da.Array, RulesBuilder]],
    add: bool = False,
    *,
    others: Sequence[da.Array] = (),
    source: Sequence[int] | None = None,
    scale: Sequence[Any] | None = None,
) -> list[da.Array]:
    """Build the lazy derivatives of ``x`` along the axes of ``plan`` (their sum, one
    array, with ``add``).

    ``rules`` holds, per axis, ready rules or a lazy coordinate with the function that
    turns its values into rules.  ``others`` are inputs of ``x``'s shape and chunks,
    axis ``i`` differentiating input ``source[i]`` (0 is ``x``); ``scale`` per axis
    None or a numpy factor that broadcasts against ``x``, applied as
    :func:`bigrad.kernels.block_derivatives` applies it.
    """
    inputs = (x, *others)
    axes = tuple(ap.axis for ap in plan.axes)
    which = tuple(source) if source is not None else (0,) * len(axes)
    factors = tuple(scale) if scale is not None else (None,) * len(axes)
    token = tokenize([a.name for a in inputs], plan, rules, add, which, factors)
    block_name = f"bigrad-block-{token}"
    x_layers = {name for a in inputs for name in a.__dask_layers__()}
    layers: dict[str, Any] = {}
    deps: dict[str, set[str]] = {}
    for a in inputs:
        layers.update(a.dask.layers)
        deps.update({k: set(v) for k, v in a.dask.dependencies.items()})

    rule_refs: list[Any] = []
    rule_layers: set[str] = set()
    for i, r in enumerate(rules):
        if isinstance(r, AxisRules):
            rule_refs.append(r)
            continue
        coord, build = r
        name = f"bigrad-rules-{i}-{token}"
        layers.update(coord.dask.layers)
        deps.update({k: set(v) for k, v in coord.dask.dependencies.items()})
        layers[name] = {(name,): (_rules_task, list(coord.__dask_keys__()), build)}
        deps[name] = set(coord.__dask_layers__())
        rule_layers.add(name)
        rule_refs.append((name,))

    faces_names = [f"bigrad-faces-{k}-{token}" for k in range(len(inputs))]
    block_deps = {*x_layers, *rule_layers}
    wanted = [(idx, plan.faces(idx)) for idx in plan.blocks()]
    for k, (a, faces_name) in enumerate(zip(inputs, faces_names, strict=True)):
        # every block that hands out faces has a task per input (its neighbours' keys
        # are the same for every input), each copying the planes along its own axes
        along = {axis for axis, i in zip(axes, which, strict=True) if i == k}
        faces = {(faces_name, *idx): (extract_faces, (a.name, *idx), spec, along)
                 for idx, spec in wanted if spec}  # fmt: skip
        if faces:
            # a plan without halos (every axis one chunk, none periodic) has no faces layer
            layers[faces_name] = faces
            deps[faces_name] = set(a.__dask_layers__())
            block_deps.add(faces_name)

    starts = [np.cumsum((0, *c)) for c in x.chunks]
    blocks: dict[Any, Any] = {}
    for idx in plan.blocks():
        halo = plan.halo_sources(idx)
        bundle_keys = [[(name, *n) for n in halo.neighbours] for name in faces_names]
        bounds = [ap.bounds(idx[ap.axis]) for ap in plan.axes]
        cut = _factor_slices(factors, x.chunks, idx, starts) if scale is not None else factors
        spec_b = _BlockSpec(axes, add, tuple(bounds), halo.lo, halo.hi, which, cut)
        local = [
            r.restrict(*bd) if isinstance(r, AxisRules) else r
            for r, bd in zip(rule_refs, bounds, strict=True)
        ]
        keys = [(a.name, *idx) for a in inputs]
        blocks[(block_name, *idx)] = (_block_task, keys, bundle_keys, local, spec_b)
    layers[block_name] = blocks
    deps[block_name] = block_deps

    otype = result_dtype(x.dtype)
    meta = meta_from_array(x._meta, ndim=x.ndim, dtype=otype)
    outs = []
    for i in range(1 if add else len(axes)):
        name = f"bigrad-d{i}-{token}"
        layer: dict[Any, Any] = {
            (name, *idx): (operator.getitem, (block_name, *idx), i) for idx in plan.blocks()
        }
        graph = HighLevelGraph({**layers, name: layer}, {**deps, name: {block_name}})
        outs.append(da.Array(graph, name, chunks=x.chunks, meta=meta))
    return outs
