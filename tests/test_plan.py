"""The halo plan, without data: every block gets exactly the planes its stencils read."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
import pytest
from hypothesis import given

from bigrad.core.plan import AxisPlan, HaloPiece, halo_range, plan_axis, plan_gradient
from bigrad.core.weights import Layout, StencilSpec
from tests.strategies import chunking


def layouts(n: int, edge_order: int, periodic: bool, order: int = 1, accuracy: int = 2,
            uniform: bool | None = True) -> tuple[Layout, ...]:  # fmt: skip
    return StencilSpec(order, accuracy, edge_order).layouts(n, periodic, uniform)


def covered(ap: AxisPlan, pieces: tuple[HaloPiece, ...]) -> list[int]:
    """Global indices a run of pieces delivers, in order."""
    out: list[int] = []
    for p in pieces:
        s, e = ap.bounds(p.block)
        out += list(range(s, s + p.count)) if p.first else list(range(e - p.count, e))
    return out


def check_invariants(ap: AxisPlan, lays: tuple[Layout, ...]) -> None:
    n = ap.n
    for b in range(len(ap.chunks)):
        s, e = ap.bounds(b)
        lo, hi = halo_range(s, e, lays)
        # the halo covers every point every stencil of the block reads
        for g in range(s, e):
            for lay in lays:
                off, width = lay.reads(g)
                assert lo <= g + off and g + off + width <= hi
        assert covered(ap, ap.lo[b]) == [g % n for g in range(lo, s)]
        assert covered(ap, ap.hi[b]) == [g % n for g in range(e, hi)]
        assert ap.depths(b) == (s - lo, hi - e)
        for p in ap.lo[b] + ap.hi[b]:
            assert 0 < p.count <= ap.chunks[p.block]  # never from an empty block
            depth = ap.first_depth if p.first else ap.last_depth
            assert p.count <= depth[p.block]
    # every face handed out is read by someone
    for b in range(len(ap.chunks)):
        used = [p for ps in ap.lo + ap.hi for p in ps if p.block == b]
        assert ap.first_depth[b] == max((p.count for p in used if p.first), default=0)
        assert ap.last_depth[b] == max((p.count for p in used if not p.first), default=0)


@pytest.mark.parametrize(
    "chunks, edge_order, periodic, depths",
    [
        ((4, 4), 1, False, [(0, 1), (1, 0)]),  # one plane each way across the seam
        ((1, 1, 1), 2, False, [(0, 2), (1, 1), (2, 0)]),  # ends reach two blocks away
        ((1, 3), 2, False, [(0, 2), (1, 0)]),  # a first chunk of one reads two planes
        ((3, 1), 2, False, [(0, 1), (2, 0)]),  # a last chunk of one too
        ((5,), 2, False, [(0, 0)]),  # one chunk: nothing to exchange
        ((5,), 1, True, [(1, 1)]),  # one periodic chunk wraps onto itself
        ((2, 0, 3), 1, True, [(1, 1), (0, 0), (1, 1)]),  # an empty chunk needs and gives nothing
        ((1, 1), 2, True, [(1, 1), (1, 1)]),  # two points, periodic: each reads the other twice
        ((2, 2, 2), 2, False, [(0, 1), (1, 1), (1, 0)]),  # order 2 needs no more when chunks >= 2
    ],
)
def test_halo_depths(
    chunks: tuple[int, ...], edge_order: int, periodic: bool, depths: list[tuple[int, int]]
) -> None:
    lays = layouts(sum(chunks), edge_order, periodic)
    ap = plan_axis(0, chunks, lays)
    assert [ap.depths(b) for b in range(len(chunks))] == depths
    check_invariants(ap, lays)


@pytest.mark.parametrize(
    "chunks, order, accuracy, uniform, periodic, depths",
    [
        ((6, 6), 1, 6, True, False, [(0, 3), (3, 0)]),  # accuracy 6: three planes
        ((5, 5), 1, 6, True, False, [(0, 4), (4, 0)]),  # one-sided stencils reach further
        ((1,) * 9, 1, 6, True, False,  # points 0-2 read 7 points forwards, 6-8 backwards
         [(0, 6)] * 3 + [(3, 3)] * 3 + [(6, 0)] * 3),
        ((5, 5), 2, 2, False, False, [(0, 2), (1, 0)]),  # non-uniform order 2 leans forward
        ((5, 5), 2, 2, None, False, [(0, 2), (1, 0)]),  # unknown coordinate: both layouts
        ((5, 5), 2, 4, True, True, [(2, 2), (2, 2)]),
    ],
)  # fmt: skip
def test_halo_depths_follow_the_stencil(
    chunks: tuple[int, ...], order: int, accuracy: int, uniform: bool | None, periodic: bool,
    depths: list[tuple[int, int]],
) -> None:  # fmt: skip
    lays = layouts(sum(chunks), 2, periodic, order, accuracy, uniform)
    ap = plan_axis(0, chunks, lays)
    assert [ap.depths(b) for b in range(len(chunks))] == depths
    check_invariants(ap, lays)


@given(
    st.integers(2, 30).flatmap(lambda n: chunking(n)),
    st.sampled_from([(1, 2, 1), (1, 2, 2), (1, 4, 2), (1, 6, 2), (2, 2, 2), (2, 4, 2), (2, 6, 2)]),
    st.booleans(),
    st.sampled_from([True, False, None]),
)
def test_invariants_any_chunking(
    chunks: tuple[int, ...], spec: tuple[int, int, int], periodic: bool, uniform: bool | None
) -> None:
    order, accuracy, edge_order = spec
    lays = layouts(sum(chunks), edge_order, periodic, order, accuracy, uniform)
    if sum(chunks) < max(lay.min_points for lay in lays):
        return
    check_invariants(plan_axis(0, chunks, lays), lays)


def test_faces_only_along_gradient_axes() -> None:
    lays = layouts(4, 1, False)
    plan = plan_gradient((4, 4, 4), ((2, 2),) * 3, {0: lays, 2: lays})
    assert plan.faces((0, 0, 0)) == ((0, 0, 1), (2, 0, 1))
    assert plan.faces((1, 1, 1)) == ((0, 1, 0), (2, 1, 0))
    assert len(list(plan.blocks())) == 8
    assert "blocks=(2, 2, 2)" in repr(plan)


def test_plan_is_cheap_for_many_chunks() -> None:
    ap = plan_axis(0, (1,) * 10_000, layouts(10_000, 2, False))
    assert ap.depths(0) == (0, 2) and ap.depths(9_999) == (2, 0)
    assert set(itertools.islice((ap.depths(b) for b in range(1, 9_999)), 100)) == {(1, 1)}
