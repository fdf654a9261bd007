"""Where a kernel's outputs go in memory, relative to its input.

Pure numpy: addresses and strides in, offsets and arrays out.

The fused kernels read five rows of the input for every row they write to each of up
to three outputs: rows ``i - 1``, ``i`` and ``i + 1`` of the plane and the same row of
the planes before and after.  Those eight streams collide when their addresses agree
in their low bits:

* modulo 4 KiB (the L1 cache's set index, and the bits a load is first checked against
  the stores still in flight): loads stall behind unrelated stores, and streaming
  stores to outputs at one offset modulo 4 KiB thrash the write-combining buffers;
* modulo 64 KiB (the L2 cache's set index): streams share a few sets and evict each
  other's prefetched lines.

Large arrays usually come straight from the operating system, page-aligned plus the
allocator's header, so all of an input's outputs sit at the same offset modulo 4 KiB as
the input: measured on the development machine (one 406**3 float64 block, non-uniform
spacing) 1.4-1.6x the copy floor with ordinary stores and 5-7x with streaming ones,
against 1.2-1.3x once placed.  :func:`output_offsets` spreads the outputs over the
4 KiB and 64 KiB windows, away from the input's streams and from each other, and
:func:`empty_at` allocates an output at such an offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["LINE_BYTES", "PAGE", "SPAN", "empty_at", "output_offsets", "spread"]

#: cache line: offsets are whole lines, so outputs share the input's line alignment
#: (also the unit streaming stores must fill, :mod:`bigrad._stores`)
LINE_BYTES = 64
#: the window of the L1 sets and of store-to-load address checks
PAGE = 4096
#: the window of the L2 sets (512 KiB, 8-way, on the development machine's cores)
SPAN = 65536
#: outputs closer to each other than this modulo PAGE are not streamed to (measured:
#: 256 bytes apart as fast as 1 KiB, 128 apart 1.2x slower); output_offsets keeps at
#: least this gap between up to three outputs whatever the input's strides
MIN_GAP = 256


def _gap(a: int, window: int) -> int:
    """Circular distance of ``a`` from 0 modulo ``window``."""
    a %= window
    return min(a, window - a)


@lru_cache(maxsize=256)
def output_offsets(strides: tuple[int, ...], count: int) -> tuple[int, ...]:
    """Byte offsets modulo :data:`SPAN`, relative to the input, for ``count`` outputs.

    ``strides`` are the input's strides along the axes its rows are read across (the
    plane and row strides of a 3-D block; fewer for thinner blocks).  Each output in
    turn takes the whole-line offset farthest, modulo :data:`PAGE`, from the input's
    streams and the outputs placed before it, then of the 16 offsets modulo
    :data:`SPAN` that share it the one farthest from them modulo :data:`SPAN`.

    >>> output_offsets((512 * 512 * 4, 512 * 4), 3)  # a 512**3 float32 block
    (33792, 19456, 49664)
    >>> [x % PAGE for x in _]  # rows 2 KiB apart: the outputs go between them
    [1024, 3072, 512]
    """
    taken = [0]
    for s in strides:
        taken += [s, -s]
    chosen: list[int] = []
    for _ in range(count):
        page = max(
            range(0, PAGE, LINE_BYTES),
            key=lambda c: (min(_gap(c - t, PAGE) for t in taken), -c),
        )
        x = max(
            range(page, SPAN, PAGE),
            key=lambda c: (min(_gap(c - t, SPAN) for t in taken), -c),
        )
        chosen.append(x)
        taken.append(x)
    return tuple(chosen)


def empty_at(like: np.ndarray, offset: int, dtype: Any) -> np.ndarray:
    """An uninitialised C-ordered array shaped like ``like`` whose data starts ``offset``
    bytes past ``like``'s modulo :data:`SPAN` (a view into a slightly larger buffer)."""
    dtype = np.dtype(dtype)
    nbytes = like.size * dtype.itemsize
    raw = np.empty(nbytes + SPAN, dtype=np.uint8)
    start = (like.ctypes.data + offset - raw.ctypes.data) % SPAN
    out: np.ndarray = raw[start : start + nbytes].view(dtype).reshape(like.shape)
    return out


def spread(outs: Sequence[np.ndarray]) -> bool:
    """Whether ``outs`` lie at least :data:`MIN_GAP` bytes apart modulo :data:`PAGE`,
    as streaming stores to them need (outputs at one offset ran 2-7x slower)."""
    addresses = [o.ctypes.data for o in outs]
    return all(
        _gap(a - b, PAGE) >= MIN_GAP for i, a in enumerate(addresses) for b in addresses[i + 1 :]
    )
