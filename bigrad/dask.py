"""The dask graph of chunked derivatives: the only module that builds dask graphs.

Per input block three layers of tasks, whatever the number of axes::

    faces   block -> the thin planes it hands its neighbours (copies)
    block   block + its neighbours' faces -> every requested output, in one pass
    d{i}    one getitem per output, so that each output is a dask array whose
            chunks are the input's

so an all-axes gradient of a 3-D array has 1 (input) + 1 + 1 + 3 = 6 tasks per chunk.
A lazy coordinate adds one task per axis that turns it into rules.  A layer's declared
dependencies are exactly the layers its tasks read, so graphs pass dask's ``validate``.
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

from bigrad.core.blocks import extract_faces, halos_from_faces
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


def _block_task(
    block: Any, bundles: list[dict[tuple[int, bool], Any]], rules: list[Any], spec: _BlockSpec
) -> tuple[Any, ...]:
    halos = halos_from_faces(block, spec.axes, spec.lo, spec.hi, bundles)
    restricted = [r.restrict(*b) for r, b in zip(rules, spec.bounds, strict=True)]
    # one thread per task: dask runs blocks side by side, and numba's default
    # threading layer must not be entered from several threads at once
    outs = block_derivatives(block, halos, restricted, spec.axes, add=spec.add, parallel=False)
    return tuple(outs)


def _rules_task(chunks: list[np.ndarray], build: RulesBuilder) -> AxisRules:
    return build(np.concatenate(chunks))


def derivatives_graph(
    x: da.Array,
    plan: GradientPlan,
    rules: Sequence[AxisRules | tuple[da.Array, RulesBuilder]],
    add: bool = False,
) -> list[da.Array]:
    """Build the lazy derivatives of ``x`` along the axes of ``plan`` (their sum, one
    array, with ``add``).

    ``rules`` holds, per axis, ready rules or a lazy coordinate with the function that
    turns its values into rules.
    """
    axes = tuple(ap.axis for ap in plan.axes)
    token = tokenize(x.name, plan, rules, add)
    faces_name = f"bigrad-faces-{token}"
    block_name = f"bigrad-block-{token}"
    x_layers = set(x.__dask_layers__())
    layers: dict[str, Any] = dict(x.dask.layers)
    deps: dict[str, set[str]] = {k: set(v) for k, v in x.dask.dependencies.items()}

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

    faces: dict[Any, Any] = {}
    for idx in plan.blocks():
        spec = plan.faces(idx)
        if spec:
            faces[(faces_name, *idx)] = (extract_faces, (x.name, *idx), spec)

    blocks: dict[Any, Any] = {}
    for idx in plan.blocks():
        halo = plan.halo_sources(idx)
        bundle_keys = [(faces_name, *n) for n in halo.neighbours]
        bounds = [ap.bounds(idx[ap.axis]) for ap in plan.axes]
        spec_b = _BlockSpec(axes, add, tuple(bounds), halo.lo, halo.hi)
        local = [
            r.restrict(*bd) if isinstance(r, AxisRules) else r
            for r, bd in zip(rule_refs, bounds, strict=True)
        ]
        blocks[(block_name, *idx)] = (_block_task, (x.name, *idx), bundle_keys, local, spec_b)

    block_deps = {*x_layers, *rule_layers}
    if faces:
        # a plan without halos (every axis one chunk, none periodic) has no faces layer
        layers[faces_name] = faces
        deps[faces_name] = set(x_layers)
        block_deps.add(faces_name)
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
