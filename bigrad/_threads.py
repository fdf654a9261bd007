"""Work handed to numba's threads as they ask for it, by an atomic counter.

numba's ``prange`` splits its iterations among the threads before they start, one
equal share each (and ``numba.set_parallel_chunksize`` only cuts those shares into
pieces: measured with the ``omp`` and ``workqueue`` layers, every piece still goes to the
thread whose share it is).  A kernel call then lasts as long as its slowest thread.  On
a shared machine one core now and then runs slower than the other for seconds (measured
on the development machine: one thread of a 512**3 float32 call busy for 120 ms, the
other for 90 ms), and the faster thread sits idle.  Here each thread takes the next
chunk from a counter when it is done with its last, so both work to the end.

numba has no atomic operations, so :func:`fetch_add` emits one in LLVM IR.
"""

from __future__ import annotations

from typing import Any

from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["fetch_add"]


def _fetch_add(typingctx: Any, counter: Any, value: Any) -> Any:
    if not (
        isinstance(counter, types.Array)
        and counter.ndim == 1
        and counter.dtype == types.int64
        and isinstance(value, types.Integer)
    ):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [zero], wraparound=False)
        v = context.cast(builder, args[1], sig.args[1], types.int64)
        # monotonic: the counter orders nothing else (each chunk writes its own rows, and
        # the parallel region's end orders the results before they are read)
        return builder.atomic_rmw("add", ptr, v, "monotonic")

    return types.int64(counter, value), codegen


#: ``fetch_add(counter, value)``: atomically add ``value`` to ``counter[0]`` (a 1-D int64
#: array) and return its value before
fetch_add: Any = intrinsic(_fetch_add)
