"""Planning: from shape, chunks, axes and each axis's stencil layout to the halo exchange.

No data and no dask here: a plan says, for every block, which planes it needs from which
neighbour along each differentiated axis, and how deep a face every block must hand out.
It is computed once, tested on its own, then executed by :mod:`bigrad.dask` (or, for an
in-memory array, directly).

Along one axis a block ``[s, e)`` needs the points its stencils read
(:meth:`bigrad.core.weights.Layout.read_range`); for ``np.gradient``::

    interior point g        g-1  g  g+1
    first point, order 1      0  1
    first point, order 2      0  1  2
    last point, order 2     n-3 n-2 n-1
    periodic                g-1  g  g+1   (mod n)

so the halo is one plane on each side (three for accuracy 6), except where a block
smaller than the stencil sits at an end: then the planes come from further neighbours.
Only faces along the differentiated axes are exchanged: no corners, nothing along other
axes.

>>> from bigrad.core.weights import Layout
>>> p = plan_axis(0, (1, 1, 3), (Layout(5, False, (-1, 3), 3),))
>>> p.hi[0]  # the first point needs f[1] and f[2]: one plane from each of blocks 1 and 2
(HaloPiece(block=1, first=True, count=1), HaloPiece(block=2, first=True, count=1))
>>> p.lo[2], p.hi[2]
((HaloPiece(block=1, first=False, count=1),), ())
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bigrad.core.weights import Layout

__all__ = [
    "AxisPlan",
    "BlockHalo",
    "GradientPlan",
    "HaloPiece",
    "halo_range",
    "plan_axis",
    "plan_gradient",
]


@dataclass(frozen=True)
class HaloPiece:
    """``count`` planes from the start (``first``) or the end of neighbour ``block``."""

    block: int
    first: bool
    count: int


def halo_range(start: int, stop: int, layouts: Sequence[Layout]) -> tuple[int, int]:
    """Global indices ``[lo, hi)`` that block ``[start, stop)`` reads under any of
    ``layouts`` (may pass the ends of a periodic axis: read them modulo ``n``).

    >>> from bigrad.core.weights import Layout
    >>> halo_range(0, 1, [Layout(10, False, (-1, 3), 3)])
    (0, 3)
    >>> halo_range(0, 4, [Layout(10, True, (-3, 7), 7)])
    (-3, 7)
    """
    if start == stop:
        return start, stop
    spans = [lay.read_range(start, stop) for lay in layouts]
    return min(lo for lo, _ in spans), max(hi for _, hi in spans)


@dataclass(frozen=True)
class AxisPlan:
    """The halo exchange along one gradient axis.

    ``lo[b]`` and ``hi[b]`` are the pieces that, concatenated in order, form the planes
    before and after block ``b``; ``first_depth[b]`` and ``last_depth[b]`` are how many
    leading and trailing planes block ``b`` hands out to its neighbours.
    """

    axis: int
    chunks: tuple[int, ...]
    periodic: bool
    lo: tuple[tuple[HaloPiece, ...], ...]
    hi: tuple[tuple[HaloPiece, ...], ...]
    first_depth: tuple[int, ...]
    last_depth: tuple[int, ...]

    @property
    def n(self) -> int:
        return sum(self.chunks)

    @functools.cached_property
    def _starts(self) -> tuple[int, ...]:
        return (0, *itertools.accumulate(self.chunks))

    def bounds(self, block: int) -> tuple[int, int]:
        """Global ``[start, stop)`` of a block."""
        return self._starts[block], self._starts[block + 1]

    def depths(self, block: int) -> tuple[int, int]:
        """Planes in the halo before and after a block."""
        return (
            sum(p.count for p in self.lo[block]),
            sum(p.count for p in self.hi[block]),
        )


def _pieces(indices: Sequence[int], starts: Sequence[int], first: bool) -> tuple[HaloPiece, ...]:
    blocks = [bisect.bisect_right(starts, g) - 1 for g in indices]
    return tuple(HaloPiece(b, first, len(list(run))) for b, run in itertools.groupby(blocks))


def plan_axis(axis: int, chunks: Sequence[int], layouts: Sequence[Layout]) -> AxisPlan:
    """Plan the halo exchange along one axis chunked as ``chunks``, for stencils laid
    out as any of ``layouts``."""
    chunks = tuple(int(c) for c in chunks)
    n = sum(chunks)
    periodic = any(lay.periodic for lay in layouts)
    starts = [0, *itertools.accumulate(chunks)][:-1]
    lo: list[tuple[HaloPiece, ...]] = []
    hi: list[tuple[HaloPiece, ...]] = []
    for s, size in zip(starts, chunks, strict=True):
        need_lo, need_hi = halo_range(s, s + size, layouts)
        lo.append(_pieces([g % n for g in range(need_lo, s)], starts, first=False))
        hi.append(_pieces([g % n for g in range(s + size, need_hi)], starts, first=True))
    first_depth = [0] * len(chunks)
    last_depth = [0] * len(chunks)
    for piece in itertools.chain.from_iterable(lo + hi):
        depth = first_depth if piece.first else last_depth
        depth[piece.block] = max(depth[piece.block], piece.count)
    return AxisPlan(
        axis, chunks, periodic, tuple(lo), tuple(hi),
        tuple(first_depth), tuple(last_depth),
    )  # fmt: skip


@dataclass(frozen=True)
class BlockHalo:
    """The halo of one block: see :meth:`GradientPlan.halo_sources`."""

    neighbours: tuple[tuple[int, ...], ...]
    lo: tuple[tuple[tuple[int, bool, int], ...], ...]
    hi: tuple[tuple[tuple[int, bool, int], ...], ...]


@dataclass(frozen=True)
class GradientPlan:
    """The halo exchange of a whole gradient: one :class:`AxisPlan` per gradient axis."""

    shape: tuple[int, ...]
    chunks: tuple[tuple[int, ...], ...]
    axes: tuple[AxisPlan, ...]

    @property
    def numblocks(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.chunks)

    def blocks(self) -> Iterator[tuple[int, ...]]:
        """Every block index, in C order."""
        return itertools.product(*(range(k) for k in self.numblocks))

    def faces(self, block: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
        """``(axis, first planes, last planes)`` that ``block`` hands out, where any."""
        out = []
        for ap in self.axes:
            b = block[ap.axis]
            if ap.first_depth[b] or ap.last_depth[b]:
                out.append((ap.axis, ap.first_depth[b], ap.last_depth[b]))
        return tuple(out)

    def halo_sources(self, block: tuple[int, ...]) -> BlockHalo:
        """Where ``block``'s halo comes from: the neighbours whose faces it reads and,
        per gradient axis, its lo and hi pieces as ``(neighbour index, first, count)``.

        >>> from bigrad.core.weights import StencilSpec
        >>> lay = StencilSpec(edge_order=1).layouts(4, False, True)
        >>> plan_gradient((4,), ((2, 2),), {0: lay}).halo_sources((1,))
        BlockHalo(neighbours=((0,),), lo=(((0, False, 1),),), hi=((),))
        """
        neighbours: list[tuple[int, ...]] = []
        lo: list[tuple[tuple[int, bool, int], ...]] = []
        hi: list[tuple[tuple[int, bool, int], ...]] = []
        for ap in self.axes:
            b = block[ap.axis]
            for pieces, out in ((ap.lo[b], lo), (ap.hi[b], hi)):
                side = []
                for p in pieces:
                    source = (*block[: ap.axis], p.block, *block[ap.axis + 1 :])
                    if source not in neighbours:
                        neighbours.append(source)
                    side.append((neighbours.index(source), p.first, p.count))
                out.append(tuple(side))
        return BlockHalo(tuple(neighbours), tuple(lo), tuple(hi))

    def __repr__(self) -> str:
        axes = ", ".join(f"{ap.axis}{' (periodic)' if ap.periodic else ''}" for ap in self.axes)
        return (
            f"GradientPlan(shape={self.shape}, blocks={self.numblocks} "
            f"({math.prod(self.numblocks)}), axes=[{axes}])"
        )


def plan_gradient(
    shape: Sequence[int],
    chunks: Sequence[Sequence[int]],
    layouts: Mapping[int, Sequence[Layout]],
) -> GradientPlan:
    """Plan the derivatives of an array of ``shape`` chunked as ``chunks``, along the
    axes of ``layouts`` (axis -> the stencil layouts used along it), in that order.

    Arguments are assumed valid (see :mod:`bigrad.core.args`).

    >>> from bigrad.core.weights import StencilSpec
    >>> spec = StencilSpec()
    >>> plan_gradient((4, 6), ((2, 2), (3, 3)), {0: spec.layouts(4, False, True),
    ...                                          1: spec.layouts(6, False, True)})
    GradientPlan(shape=(4, 6), blocks=(2, 2) (4), axes=[0, 1])
    """
    return GradientPlan(
        tuple(int(s) for s in shape),
        tuple(tuple(int(c) for c in cs) for cs in chunks),
        tuple(plan_axis(a, chunks[a], lays) for a, lays in layouts.items()),
    )
