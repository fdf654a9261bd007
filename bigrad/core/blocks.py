"""Blocks and their halos: the faces a block hands out, the halo a block receives.

Pure numpy (duck arrays that implement numpy's slicing work too).  A block along axis
``k`` is extended by ``lo`` planes before it and ``hi`` planes after it, taken from its
neighbours' faces (or from the other end of a periodic axis)::

        lo halo        block (m planes)          hi halo
      [ -L .. -1 ] [ 0 1 2 ........ m-2 m-1 ] [ m .. m+H-1 ]

The planes are never concatenated with the block: the kernels read each from where it
lies.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Piece",
    "assemble_halo",
    "extract_faces",
    "halos_by_source",
    "halos_from_faces",
    "index",
]

#: a halo piece as blocks see it: (index of the neighbour's face bundle, first, count)
Piece = tuple[int, bool, int]


def index(axis: int, i: int | slice) -> tuple[slice | int, ...]:
    """The index that takes ``i`` along ``axis`` and everything along the others."""
    return (slice(None),) * axis + (i,)


def extract_faces(block: Any, faces: Sequence[tuple[int, int, int]],
                  along: Collection[int] | None = None) -> dict[tuple[int, bool], Any]:  # fmt: skip
    """The planes ``block`` hands its neighbours: ``{(axis, first): copy}``.

    ``faces`` holds ``(axis, n_first, n_last)``; with ``along``, only those along its
    axes are taken (an input that other inputs' components differentiate along the
    rest).  The faces are copies so that a neighbour holding one does not keep this
    whole block alive.

    >>> faces = extract_faces(np.arange(6).reshape(3, 2), [(0, 1, 2)])
    >>> faces[(0, True)], faces[(0, False)]
    (array([[0, 1]]), array([[2, 3],
           [4, 5]]))
    """
    out = {}
    for axis, n_first, n_last in faces:
        if along is not None and axis not in along:
            continue
        m = block.shape[axis]
        if n_first:
            out[(axis, True)] = block[index(axis, slice(0, n_first))].copy()
        if n_last:
            out[(axis, False)] = block[index(axis, slice(m - n_last, m))].copy()
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
        parts.append(face[index(axis, slice(0, count) if first else slice(k - count, k))])
    if not parts:
        return f[index(axis, slice(0, 0))]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, axis=axis)


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


def halos_by_source(
    blocks: Sequence[Any],
    source: Sequence[int],
    axes: Sequence[int],
    lo: Sequence[Sequence[Piece]],
    hi: Sequence[Sequence[Piece]],
    bundles: Sequence[Sequence[dict[tuple[int, bool], Any]]],
) -> list[tuple[Any, Any]]:
    """Per axis ``i``, the halo of ``blocks[source[i]]``, the block it differentiates,
    from that block's neighbours' face bundles ``bundles[source[i]]``."""
    return [
        halos_from_faces(blocks[k], [axis], [lo[i]], [hi[i]], bundles[k])[0]
        for i, (axis, k) in enumerate(zip(axes, source, strict=True))
    ]
