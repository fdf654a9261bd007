"""Stream a gradient from a Zarr array into Zarr arrays, block by block, in bounded memory.

Why not a dask graph handed to ``to_zarr``: a block's gradient needs faces of the
blocks after it, so whatever runs it must read ahead, and dask's scheduler decides on
its own how far (measured: 4-7x the memory of a plain copy).  Here the read-ahead is
explicit and capped:

- blocks are read in C order by ``threads`` workers; each read keeps the block and
  copies out the thin faces its neighbours need;
- a block is computed as soon as the faces it needs are in, its outputs are encoded
  and written straight into their own Zarr chunks (blocks are the store's write units,
  so no two writers ever touch one chunk), then it is recorded as done;
- blocks read ahead are held until computed, up to ``budget`` bytes; when the budget
  is full and the next block still waits on a neighbour, that neighbour is read for its
  faces only (and read again, in full, in its turn), so memory stays capped at the
  price of reading some blocks twice;
- faces are dropped when the last block needing them is done.

Peak memory is therefore about ``budget + threads x block x (1 + outputs)`` plus the
encoded chunks in flight, whatever the size of the array.

Where the tasks run is a :class:`TaskRunner`: local threads by default, or a cluster's
workers (:mod:`bigrad.io.cluster`), which keep what they read and compute and hand this
process references instead.  A block read ahead then stays on the worker that read it,
its faces are split off there, and its compute task runs there too, so that
only faces move between workers and no array data comes through here::

    local threads     read(b) -> (block, faces), here     compute(block, [faces...])
    cluster workers   read(b) -> block, faces on worker W  compute on W(block, [faces...]),
                                                            neighbours' faces sent to W
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import itertools
import math
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bigrad.core.blocks import Piece, extract_faces, halos_from_faces
from bigrad.core.plan import GradientPlan
from bigrad.core.weights import AxisRules
from bigrad.kernels import block_derivatives, result_dtype

__all__ = [
    "BlockSpec",
    "TaskRunner",
    "ThreadRunner",
    "block_spec",
    "block_specs",
    "stream_engine",
    "stream_gradient",
    "write_blocks",
]

Block = tuple[int, ...]


class TaskRunner(Protocol):
    """Where the stream's tasks run: submit, wait, and a handle on each result.

    A handle is the result itself (local threads) or a reference to it where it was
    made (a cluster), which later :meth:`submit` calls accept in place of the value,
    inside lists too.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, near: Any = None) -> Any:
        """Start ``fn(*args)``, where the handle ``near`` lies if it matters; returns a
        future that :meth:`wait` takes."""
        ...

    def wait(self, futures: Iterable[Any]) -> set[Any]:
        """Block until at least one of ``futures`` is finished; returns those that are."""
        ...

    def handle(self, future: Any) -> Any:
        """A finished future's value, or a reference to it; raises the task's error."""
        ...

    def split(self, future: Any) -> tuple[Any, Any]:
        """Handles on the block and the faces of a finished :func:`_read`."""
        ...

    def cancel(self, futures: Iterable[Any]) -> None:
        """Cancel what has not started (after an error)."""
        ...


class ThreadRunner:
    """Local threads: results come back here."""

    def __init__(self, pool: cf.Executor) -> None:
        self._pool = pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, near: Any = None) -> cf.Future[Any]:
        return self._pool.submit(fn, *args)

    def wait(self, futures: Iterable[Any]) -> set[Any]:
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return set(done)

    def handle(self, future: Any) -> Any:
        return future.result()

    def split(self, future: Any) -> tuple[Any, Any]:
        data, bundle = future.result()
        return data, bundle

    def cancel(self, futures: Iterable[Any]) -> None:
        for fut in futures:
            fut.cancel()


@dataclass(frozen=True)
class BlockSpec:
    """What one block needs: its region, its neighbours' faces, its rules."""

    region: tuple[slice, ...]
    axes: tuple[int, ...]
    neighbours: tuple[Block, ...]
    lo: tuple[tuple[Piece, ...], ...]
    hi: tuple[tuple[Piece, ...], ...]
    rules: tuple[AxisRules, ...]


def block_specs(plan: GradientPlan, rules: Sequence[AxisRules]) -> dict[Block, BlockSpec]:
    """Every block's :class:`BlockSpec`, in C order."""
    starts = [(0, *itertools.accumulate(cs)) for cs in plan.chunks]
    return {idx: _block_spec(plan, rules, starts, idx) for idx in plan.blocks()}


def block_spec(plan: GradientPlan, rules: Sequence[AxisRules], idx: Block) -> BlockSpec:
    """One block's :class:`BlockSpec`."""
    return _block_spec(plan, rules, [(0, *itertools.accumulate(cs)) for cs in plan.chunks], idx)


def _block_spec(plan: GradientPlan, rules: Sequence[AxisRules], starts: Sequence[Sequence[int]],
                idx: Block) -> BlockSpec:  # fmt: skip
    region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx, strict=True))
    halo = plan.halo_sources(idx)
    local = [r.restrict(*ap.bounds(idx[ap.axis])) for ap, r in zip(plan.axes, rules, strict=True)]
    axes = tuple(ap.axis for ap in plan.axes)
    return BlockSpec(region, axes, halo.neighbours, halo.lo, halo.hi, tuple(local))


def write_blocks(targets: Sequence[Any], region: tuple[slice, ...], values: Iterable[Any]) -> None:
    """Write one block into each target array, one after the other.

    ``values`` may be a generator: each output is then made just before it is written
    and dropped just after, so a worker holds one output (and its encoded copy) at a
    time instead of all of them.
    """
    produced = iter(values)
    for target in targets:
        value = next(produced)
        target[region] = value
        del value


def stream_gradient(
    source: Any,
    targets: Sequence[Any],
    plan: GradientPlan,
    rules: Sequence[AxisRules],
    *,
    skip: set[Block] | frozenset[Block] = frozenset(),
    on_done: Callable[[Block], None] = lambda block: None,
    threads: int = 2,
    budget: int = 512 * 2**20,
    compute: Callable[[Any, list[dict[tuple[int, bool], Any]], BlockSpec], Iterable[Any]]
    | None = None,
    runner: TaskRunner | None = None,
) -> int:
    """Differentiate ``source`` into ``targets`` (one per gradient axis), block by block.

    Parameters
    ----------
    source, targets : zarr.Array
        The input and one output per axis of ``plan``, all chunked as ``plan``'s blocks.
    plan, rules
        The halo exchange and the per-axis rules of the derivatives.
    skip : set of block indices
        Blocks already written (a resumed run); only their faces are read, if needed.
    on_done : callable
        Called in the calling thread with each block once all its outputs are written.
    threads : int
        Worker threads reading, computing and writing.
    budget : int
        Bytes of blocks read ahead and held until computed, beyond the ``threads``
        blocks the workers can take at once.
    compute : callable, optional
        ``(block, neighbour faces, spec) -> outputs`` (an iterable, made lazily if it
        is a generator); the gradient by default (the benchmarks swap in copies).
    runner : TaskRunner, optional
        Where tasks run instead of a local pool of ``threads`` threads (e.g. a
        dask.distributed cluster, ``threads`` then being the tasks kept in flight, and
        ``budget`` the bytes of blocks held on its workers).

    Returns
    -------
    int
        Number of block reads done (more than the blocks when the budget forced
        faces-only reads).
    """
    specs = block_specs(plan, rules)
    own: cf.Executor | None = None
    if runner is None:
        own = cf.ThreadPoolExecutor(max(1, threads), thread_name_prefix="bigrad")
        runner = ThreadRunner(own)
    # a compressor always encodes into new bytes; without one a store may keep a view of
    # the very array written (zarr's MemoryStore does), so buffers must not be reused
    kernel = compute or _Gradient(reuse=all(getattr(t, "compressors", ()) for t in targets))
    stream = _Stream(source, targets, plan, specs, skip, runner, kernel, threads, budget)
    with own or contextlib.nullcontext():
        try:
            while stream.pending or stream.inflight:
                stream.start_computes()
                stream.start_reads()
                if not stream.inflight:
                    raise RuntimeError("bigrad: streaming stalled (a bug; please report)")
                for idx in stream.collect():
                    on_done(idx)
        except BaseException:
            runner.cancel(stream.inflight)
            raise
    return stream.n_reads


class _Stream:
    """The state of one :func:`stream_gradient`: which blocks are read, held, computed.

    Blocks are computed in C order as soon as their data and their neighbours' faces
    are in; blocks are read in C order no further than the next few computes need, and
    held within ``budget`` bytes; a neighbour's faces are dropped once every block that
    needs them is computed.
    """

    def __init__(self, source: Any, targets: Sequence[Any], plan: GradientPlan,
                 specs: dict[Block, BlockSpec], skip: set[Block] | frozenset[Block],
                 pool: TaskRunner, kernel: Any, threads: int, budget: int) -> None:  # fmt: skip
        self.source, self.targets, self.plan, self.specs = source, targets, plan, specs
        self.pool, self.kernel, self.threads, self.budget = pool, kernel, threads, budget
        todo = [i for i in specs if i not in skip]
        self.todo_set = set(todo)
        self.consumers: Counter[Block] = Counter(n for i in todo for n in specs[i].neighbours)
        self.face_users: Counter[tuple[Block, tuple[int, bool]]] = Counter(
            face for i in todo for face in _faces_used(specs[i])
        )
        self.reads = [i for i in specs if i in self.todo_set or i in self.consumers]
        itemsize = np.dtype(source.dtype).itemsize
        self.nbytes = {i: itemsize * _size(specs[i].region) for i in self.reads}
        self.pos = {i: k for k, i in enumerate(self.reads)}
        self.needs = {i: (i, *specs[i].neighbours) for i in todo}
        self.faces: dict[Block, Any] = {}  # bundles, or references to them (a remote runner)
        self.raw: dict[Block, Any] = {}
        self.held = 0  # bytes of blocks held or being read to be held
        self.reading: set[Block] = set()
        self.pending = deque(todo)  # computes not yet submitted, in C order
        self.inflight: dict[Any, tuple[str, Block]] = {}
        self.next_read = 0
        self.n_reads = 0

    def _count(self, compute: bool) -> int:
        return sum((kind == "compute") == compute for kind, _ in self.inflight.values())

    def _read(self, idx: Block, keep: bool) -> None:
        fn = _read if keep else _read_faces
        fut = self.pool.submit(fn, self.source, self.specs[idx].region, self.plan.faces(idx))
        self.inflight[fut] = ("read" if keep else "faces", idx)
        self.reading.add(idx)

    def start_computes(self) -> None:
        """Submit every pending block whose data and neighbour faces are in."""
        n_running = self._count(compute=True)
        for idx in list(self.pending):
            if n_running >= self.threads:
                break
            spec = self.specs[idx]
            if idx in self.raw and all(n in self.faces for n in spec.neighbours):
                self.pending.remove(idx)
                block = self.raw.pop(idx)
                self.held -= self.nbytes[idx]
                bundles = [self.faces[n] for n in spec.neighbours]
                # near the block: a cluster then moves the faces, not the block
                fut = self.pool.submit(_run, self.targets, self.kernel, spec, block, bundles,
                                       near=block)  # fmt: skip
                self.inflight[fut] = ("compute", idx)
                n_running += 1

    def start_reads(self) -> None:
        """Submit reads in C order while the budget allows (one block always may be)."""
        n_reading = self._count(compute=False)
        # read no further than the next few computes need: reading faster than blocks
        # are written would only fill memory
        frontier = max(
            (self.pos.get(n, -1) for i in itertools.islice(self.pending, self.threads)
             for n in self.needs[i]),
            default=-1,
        )  # fmt: skip
        while self.next_read <= frontier and n_reading < self.threads:
            idx = self.reads[self.next_read]
            keep = idx in self.todo_set
            # the blocks the workers can take at once are always allowed
            full = self.held + self.nbytes[idx] > self.budget
            if keep and len(self.raw) + n_reading >= self.threads and full:
                break
            self.next_read += 1
            if not keep and (idx in self.faces or idx in self.reading):
                continue
            self._read(idx, keep)
            self.held += self.nbytes[idx] if keep else 0
            n_reading += 1
        # budget full: read the faces the next block waits for, faces only
        if self.pending and self.next_read < len(self.reads) and n_reading < self.threads:
            for n in self.specs[self.pending[0]].neighbours:
                if n not in self.faces and n not in self.reading:
                    self._read(n, False)
                    n_reading += 1

    def _drop_unused(self, idx: Block) -> None:
        """Drop the faces of ``idx`` that no block left to compute reads.

        A block's faces are used at different times: the leading one along the first
        axis by the block just before it in C order, the trailing one by a block a
        whole slab of blocks later; holding the bundle until its last user is done
        would keep every leading face a slab longer.  Only local bundles (dicts) are
        trimmed; a cluster's stay whole on their worker until their last user.
        """
        bundle = self.faces.get(idx)
        if isinstance(bundle, dict):
            for key in [k for k in bundle if self.face_users[(idx, k)] <= 0]:
                del bundle[key]

    def collect(self) -> list[Block]:
        """Wait for some tasks; keep what reads brought; return the blocks written."""
        done = []
        for fut in self.pool.wait(self.inflight):
            kind, idx = self.inflight.pop(fut)
            if kind == "compute":
                self.pool.handle(fut)
                for n in self.specs[idx].neighbours:
                    self.consumers[n] -= 1
                    if self.consumers[n] == 0:
                        self.faces.pop(n, None)
                for face in _faces_used(self.specs[idx]):
                    self.face_users[face] -= 1
                    self._drop_unused(face[0])
                done.append(idx)
                continue
            self.n_reads += 1
            self.reading.discard(idx)
            data, bundle = self.pool.split(fut) if kind == "read" else (None, self.pool.handle(fut))
            if self.consumers[idx] > 0:
                self.faces[idx] = bundle
                self._drop_unused(idx)
            if data is not None:
                self.raw[idx] = data
        return done


def _read(
    source: Any, region: tuple[slice, ...], faces: Any
) -> tuple[Any, dict[tuple[int, bool], Any]]:
    data = source[region]
    return data, extract_faces(data, faces)


def _read_faces(source: Any, region: tuple[slice, ...], faces: Any) -> dict[tuple[int, bool], Any]:
    # the block is dropped here: only its faces are wanted (a resumed run's written
    # blocks, or a neighbour re-read when the read-ahead budget is full)
    return extract_faces(source[region], faces)


def _run(
    targets: Sequence[Any],
    kernel: Callable[..., Iterable[Any]],
    spec: BlockSpec,
    block: Any,
    bundles: list[dict[tuple[int, bool], Any]],
) -> None:
    write_blocks(targets, spec.region, kernel(block, bundles, spec))


def _faces_used(spec: BlockSpec) -> Iterator[tuple[Block, tuple[int, bool]]]:
    """The ``(neighbour, face key)`` pairs a block's halo reads, each once."""
    seen = set()
    for axis, lo, hi in zip(spec.axes, spec.lo, spec.hi, strict=True):
        for i, first, _ in (*lo, *hi):
            face = (spec.neighbours[i], (axis, first))
            if face not in seen:
                seen.add(face)
                yield face


def _size(region: tuple[slice, ...]) -> int:
    n = 1
    for s in region:
        n *= s.stop - s.start
    return n


def stream_engine(rules: Any) -> str | None:
    """The kernel a stream's block of ``rules`` takes: numpy's for stencils of at most
    three points (a gradient), unless ``BIGRAD_ENGINE`` names one; else None (the
    default choice).

    A stream waits on reading, decoding and encoding its blocks, not on a three-point
    stencil, so the numba kernel would gain it nothing and cost its fixed memory (the
    numba runtime and the compiled code) and, on a first run, a compile; wider stencils
    keep it (its one-pass sums beat the reference's pass per weight).
    """
    if os.environ.get("BIGRAD_ENGINE"):
        return None
    segs = getattr(rules, "segs", None)
    if segs is None:  # nan="one-sided": its compiled redo
        return None
    return "numpy" if len(segs) == 0 or int(segs[:, 4].max()) <= 3 else None


class _Gradient:
    """The default ``compute``: a block's components, one at a time, each into the
    calling thread's reused output buffer.

    One component at a time: a worker holds one output, not all of them.  Reused
    buffers: a fresh block-sized array costs page faults on every block, and they
    contend with the other threads' allocations (measured: 17 ms per 64 MiB component
    alone, 60-100 ms beside a decoding thread).  No numba threads inside a task: the
    stream already runs ``threads`` tasks side by side.
    """

    def __init__(self, reuse: bool = True) -> None:
        self._reuse = reuse
        self._local = threading.local()

    def __reduce__(self) -> tuple[type[_Gradient], tuple[bool]]:
        # sent to another process (a dask.distributed worker): buffers stay behind
        return (_Gradient, (self._reuse,))

    def _buffer(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
        size = math.prod(shape)
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = self._local.buf = np.empty(size, dtype)
        return buf[:size].reshape(shape)

    def __call__(
        self, block: Any, bundles: list[dict[tuple[int, bool], Any]], spec: BlockSpec
    ) -> Iterator[Any]:
        halos = halos_from_faces(block, spec.axes, spec.lo, spec.hi, bundles)
        reuse = self._reuse and type(block) is np.ndarray
        for axis, halo, rules in zip(spec.axes, halos, spec.rules, strict=True):
            out = [self._buffer(block.shape, result_dtype(block.dtype))] if reuse else None
            (value,) = block_derivatives(block, [halo], [rules], [axis], engine=stream_engine(rules),
                                         parallel=False, out=out)  # fmt: skip
            yield value
