"""In-memory execution slab by slab: an operator made of several derivatives and the
arithmetic that combines them, run over slabs of the array's leading axes.

An operator on numpy arrays is written once as a *body*, ``body(run, arrays, out)``:
``run`` has :func:`bigrad.operators.apply`'s signature and the body combines what it
returns into ``out`` (or, called with ``apply`` itself and ``out=None``, into fresh
arrays, as dask input needs).  :func:`by_slabs` calls the body on slabs of the inputs
along their leading axes (the axes before ``lead``, which the operator does not
differentiate along), a few at a time per thread, with a ``run`` that

* plans each of the body's calls once (the ``i``-th call of every slab has the same
  arguments: the body is one function of its slabs), and
* writes the derivatives into scratch arrays of its thread, reused from slab to slab,

so that the intermediates stay in the processor's cache and only the inputs and the
outputs cross main memory once.  Without leading axes the whole array is one slab and
the engine's own threads share the work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from bigrad.core.args import parse_args
from bigrad.kernels import threads
from bigrad.operators import InMemory

__all__ = ["SLAB_BYTES", "Body", "by_slabs"]

#: the most bytes of one input a slab holds (more than one leading index per slab only
#: while under it): a slab's scratch arrays stay in the processor's last-level cache
SLAB_BYTES = 4 * 2**20

#: ``body(run, arrays, out)``: one operator on numpy arrays (see the module docstring)
Body = Callable[[Callable[..., list[Any]], list[np.ndarray], list[np.ndarray] | None], Any]

_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(n: int) -> ThreadPoolExecutor:
    with _lock:
        if n not in _pools:
            _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="bigrad-slab")
        return _pools[n]


class _Run:
    """One thread's ``run``: :func:`~bigrad.operators.apply` on a slab, each call's plan
    shared by the threads (``plans``) and its outputs in this thread's scratch."""

    def __init__(self, plans: dict[Any, InMemory], parallel: bool) -> None:
        self._plans = plans
        self._scratch: dict[Any, list[np.ndarray]] = {}
        self._parallel = parallel
        self.calls = 0

    def __call__(self, f: np.ndarray, varargs: Sequence[Any], axis: Any, spec: Any,
                 periodic: Any = False, period: Any = None, add: bool = False,
                 out: Sequence[np.ndarray] | None = None,
                 accumulate: bool = False) -> list[Any]:  # fmt: skip
        """:func:`~bigrad.operators.apply`, the results written into ``out`` if given
        (with ``accumulate``, added to its values: the engine adds each value once it
        is computed), else into this thread's scratch arrays."""
        key = (self.calls, f.shape, f.dtype.str)
        self.calls += 1
        plan = self._plans.get(key)
        if plan is None:
            args = parse_args(f.shape, f.dtype, varargs, axis, spec, periodic, period)
            plan = self._plans[key] = InMemory.make(args, f.shape, f.dtype, add)
        if out is not None:
            return plan(f, out, self._parallel, accumulate)
        scratch = self._scratch.get(key)
        if scratch is None:
            scratch = self._scratch[key] = plan.empty(f)
        return plan(f, scratch, self._parallel)


def _slab_steps(shape: tuple[int, ...], lead: int, itemsize: int, n_threads: int) -> int:
    """Leading indices per slab: as many as fit in :data:`SLAB_BYTES`, and no more than
    give every thread a slab."""
    count = int(np.prod(shape[:lead]))
    step = max(1, int(np.prod(shape[lead:])) * itemsize)
    return max(1, min(SLAB_BYTES // step, -(-count // n_threads)))


def by_slabs(body: Body, arrays: Sequence[np.ndarray], lead: int,
             dtypes: Sequence[Any]) -> list[np.ndarray]:  # fmt: skip
    """Run ``body`` over slabs of ``arrays`` (numpy ndarrays, of one shape) along their
    first ``lead`` axes; return its outputs, one new array of each of ``dtypes``.

    The body sees each slab with the leading axes merged into one (a slab of shape
    ``(k, *shape[lead:])``), or the whole arrays as they are when there is at most one
    leading index or an array is not C-contiguous.

    Twice the derivative along the last axis, by slabs and in one piece:

    >>> import numpy as np
    >>> from bigrad.core.weights import StencilSpec
    >>> from bigrad.operators import apply
    >>> def body(run, arrays, out):
    ...     (d,) = run(arrays[0], (), -1, StencilSpec())
    ...     return [np.multiply(d, 2.0, out=None if out is None else out[0])]
    >>> f = np.arange(12.0).reshape(3, 4) ** 2
    >>> by_slabs(body, [f], 1, [f.dtype])[0][0], body(apply, [f], None)[0][0]
    (array([ 0.,  4.,  8., 12.]), array([ 0.,  4.,  8., 12.]))
    """
    shape = arrays[0].shape
    # like the first input: Fortran-ordered input keeps the engine's fast path
    outs = [np.empty_like(arrays[0], dtype=d) for d in dtypes]
    count = int(np.prod(shape[:lead]))
    if count <= 1 or 0 in shape or not all(a.flags.c_contiguous for a in arrays):
        # one slab: the engine's threads share the work
        run = _Run({}, parallel=True)
        body(run, list(arrays), outs)
        return outs
    merged = (-1, *shape[lead:])
    views = [a.reshape(merged) for a in arrays]
    targets = [o.reshape(merged) for o in outs]
    n_threads = threads()
    k = _slab_steps(shape, lead, max(a.itemsize for a in arrays), n_threads)
    starts = iter(range(0, count, k))
    plans: dict[Any, InMemory] = {}

    def work(run: _Run) -> None:
        while True:
            with _lock:
                i = next(starts, None)
            if i is None:
                return
            run.calls = 0
            body(run, [v[i : i + k] for v in views], [t[i : i + k] for t in targets])

    n = min(n_threads, -(-count // k))
    if n == 1:
        work(_Run(plans, parallel=False))
    else:
        list(_pool(n).map(work, [_Run(plans, parallel=False) for _ in range(n)]))
    return outs
