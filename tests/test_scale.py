"""The engine's ``scale`` and ``source``: a component's output multiplied by a factor that
varies along other axes (the sphere's metric terms) as the kernel writes it, and
components of one call differentiating different blocks (the two winds of a
vorticity), added together a few rows at a time.  Bit for bit the numpy reference
kernel run component by component, each output written, then multiplied in its dtype,
then added to; with both kernels, on whole arrays and on blocks with halos, in C and
Fortran order."""

from __future__ import annotations

from typing import Any

import dask.array as da
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from bigrad.core.weights import AxisRules, StencilSpec, axis_rules
from bigrad.kernels import block_derivatives, result_dtype
from bigrad.operators import apply
from tests.helpers import raise_if_dask_computes
from tests.strategies import coordinate

HALO = 4  # planes beside a block along each axis, where the array has them


def _blocks(fs: list[np.ndarray], region: tuple[slice, ...], axes: list[int],
            spacings: list[Any], spec: StencilSpec,
            source: list[int]) -> tuple[tuple[np.ndarray, ...], list[Any], list[AxisRules]]:  # fmt: skip
    """Blocks ``f[region]`` of each array, with up to :data:`HALO` planes of component
    ``c``'s array ``fs[source[c]]`` on each side along its axis, and the rules of the
    whole axis restricted to the block."""
    blocks = tuple(np.ascontiguousarray(f[region]) for f in fs)
    halos, rules = [], []
    for axis, spacing, k in zip(axes, spacings, source, strict=True):
        f = fs[k]
        start, stop = region[axis].start, region[axis].stop
        lo, hi = list(region), list(region)
        lo[axis] = slice(max(0, start - HALO), start)
        hi[axis] = slice(stop, min(f.shape[axis], stop + HALO))
        halos.append((f[tuple(lo)], f[tuple(hi)]))
        whole = axis_rules(f.shape[axis], spacing, spec, f.dtype)
        rules.append(whole.restrict(start, stop))
    return blocks, halos, rules


def _oracle(blocks: tuple[np.ndarray, ...], halos: list[Any], rules: list[AxisRules],
            axes: list[int], add: bool, scale: list[Any], source: list[int]) -> list[np.ndarray]:  # fmt: skip
    """The numpy reference kernel, one component at a time: written (or added to the
    first), each scaled output multiplied right after it is written."""
    otype = result_dtype(blocks[0].dtype)
    outs: list[np.ndarray] = []
    for c, axis in enumerate(axes):
        first = not add or c == 0
        if first:
            outs.append(np.empty(blocks[0].shape, otype))
        block_derivatives(blocks[source[c]], [halos[c]], [rules[c]], [axis], engine="numpy",
                          out=[outs[-1]], accumulate=not first)  # fmt: skip
        if scale[c] is not None:
            np.multiply(outs[-1], np.asarray(scale[c], dtype=otype), out=outs[-1])
    return outs


def _factor(rng: np.random.Generator, shape: tuple[int, ...], along: tuple[int, ...]) -> Any:
    """A factor varying along the axes ``along`` (a scalar when none), with NaN and
    zero among its values, as a metric at the poles has."""
    if not along:
        return rng.uniform(0.5, 2.0)
    fshape = tuple(n if k in along else 1 for k, n in enumerate(shape))
    values = rng.uniform(-3.0, 3.0, fshape)
    values.flat[0] = np.nan
    values.flat[-1] = 0.0
    # fewer dimensions than the block at times: it broadcasts from the right
    return values[(0,) * min(along)] if rng.random() < 0.5 else values


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    ndim = draw(st.integers(1, 4))
    accuracy = draw(st.sampled_from([2, 4]))
    least = 3 if accuracy == 2 else 7
    shape = tuple(draw(st.integers(least, 10)) for _ in range(ndim))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=3, unique=True))
    region = []
    for n in shape:
        start = draw(st.integers(0, n - 1))
        region.append(slice(start, draw(st.integers(start + 1, n))))
    spacings = [draw(st.one_of(st.just(0.5), coordinate(shape[a]))) for a in axes]
    add = draw(st.booleans())
    scaled = [draw(st.booleans()) and (c == 0 or not add) for c in range(len(axes))]
    along = [tuple(draw(st.sets(st.integers(0, ndim - 1), max_size=2))) for _ in axes]
    two = draw(st.booleans())
    source = [draw(st.integers(0, 1)) if two else 0 for _ in axes]
    return {"shape": shape, "axes": axes, "region": tuple(region), "spacings": spacings,
            "two": two, "source": source,
            "accuracy": accuracy, "add": add, "scaled": scaled, "along": along,
            "dtype": draw(st.sampled_from(["f4", "f8"])), "seed": draw(st.integers(0, 99)),
            "fortran": draw(st.booleans())}  # fmt: skip


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_scale_is_the_written_output_multiplied(engine: str, case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    fs = [rng.standard_normal(case["shape"]).astype(case["dtype"]) for _ in range(2)]
    spec, source = StencilSpec(1, case["accuracy"]), case["source"]
    blocks, halos, rules = _blocks(fs, case["region"], case["axes"], case["spacings"], spec,
                                   source)  # fmt: skip
    scale = [_factor(rng, blocks[0].shape, along) if on else None
             for on, along in zip(case["scaled"], case["along"], strict=True)]  # fmt: skip
    expected = _oracle(blocks, halos, rules, case["axes"], case["add"], scale, source)
    if case["fortran"]:
        blocks = tuple(np.asfortranarray(b) for b in blocks)
        halos = [(np.asfortranarray(lo), np.asfortranarray(hi)) for lo, hi in halos]
    f = blocks if case["two"] else blocks[0]
    got = block_derivatives(f, halos, rules, case["axes"], add=case["add"], engine=engine,
                            scale=scale, source=source if case["two"] else None)  # fmt: skip
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize(
    ("shape", "axes", "along"),
    [
        ((3, 40, 1000), [1, 2], [(1,), (0, 1)]),  # rows and lines in groups, 3-D
        ((2, 50, 700), [2, 1], [(1,), ()]),  # the sphere's layout: lon, lat
        ((300, 500), [0, 1], [(0,), (0,)]),  # along the first axis: plane by plane
        ((3, 4, 30, 400), [3, 2], [(2,), (0, 2)]),  # leading axes merged
        ((60_000,), [0], [()]),  # one line
        ((50, 600), [1, 0], [(1,), ()]),  # varies along the line: multiplied after
    ],
)
@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_scale_on_whole_arrays_with_threads(shape: tuple[int, ...], axes: list[int],
                                            along: list[Any], dtype: str) -> None:  # fmt: skip
    rng = np.random.default_rng(len(shape))
    fs = [rng.standard_normal(shape).astype(dtype) for _ in range(2)]
    fs[0][tuple(n // 3 for n in shape)] = np.nan
    spacings = [0.25 if k % 2 else np.cumsum(rng.uniform(0.5, 1.5, shape[a]))
                for k, a in enumerate(axes)]  # fmt: skip
    whole = tuple(slice(0, n) for n in shape)
    scale = [_factor(rng, shape, a) for a in along]
    for add in (False, True):
        # one block, and each component on a block of its own, as a vorticity's
        for source in ([0] * len(axes), [k % 2 for k in range(1, len(axes) + 1)]):
            blocks, halos, rules = _blocks(fs, whole, axes, spacings, StencilSpec(), source)
            factors = scale if not add else [scale[0]] + [None] * (len(axes) - 1)
            expected = _oracle(blocks, halos, rules, axes, add, factors, source)
            # outputs holding other numbers: a point the kernel missed shows
            outs = [np.full(shape, 1e30, e.dtype) for e in expected]
            got = block_derivatives(blocks, halos, rules, axes, add=add, engine="numba",
                                    scale=factors, source=source, out=outs)  # fmt: skip
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_array_equal(g, e)


def test_scale_is_refused_where_it_has_no_meaning() -> None:
    f = np.ones((5, 6))
    halos = [(f[:0], f[:0]), (f[:, :0], f[:, :0])]
    rules = [axis_rules(n, 1.0, StencilSpec(), f.dtype) for n in f.shape]
    with pytest.raises(ValueError, match="scale= applies to a component that writes"):
        block_derivatives(f, halos, rules, [0, 1], add=True, scale=[None, np.ones((5, 1))])
    with pytest.raises(ValueError, match="scale has 1 entries for 2 components"):
        block_derivatives(f, halos, rules, [0, 1], scale=[None])
    with pytest.raises(ValueError, match=r"does not broadcast to the block's shape \(5, 6\)"):
        block_derivatives(f, halos, rules, [0, 1], scale=[np.ones((6, 1)), None])
    with pytest.raises(ValueError, match="source must give, per axis, the index of one of"):
        block_derivatives((f, f), halos, rules, [0, 1], source=[0, 2])
    with pytest.raises(ValueError, match="must have one shape and dtype"):
        block_derivatives((f, f.astype("f4")), halos, rules, [0, 1], source=[0, 1])
    for bad, match in ([np.ones((6, 1))], "does not broadcast"), ([None, None], "2 entries"):
        # dask input: refused when the graph is asked for, not when it is computed
        with pytest.raises(ValueError, match=match), raise_if_dask_computes():
            apply(da.ones((5, 6), chunks=2), (1.0,), 0, StencilSpec(), scale=bad)
    with pytest.raises(ValueError, match="scale= applies to a component that writes"):
        apply(da.ones((5, 6)), (1.0, 1.0), (0, 1), StencilSpec(), add=True,
              scale=[None, np.ones((5, 1))])  # fmt: skip
    with pytest.raises(ValueError, match="must have one shape and dtype, got"):
        apply((da.ones((5, 6)), np.ones((5, 7))), (1.0,), 0, StencilSpec(), source=[1])
