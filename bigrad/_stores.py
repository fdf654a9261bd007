"""Streaming (non-temporal) stores for the jitted loops of :mod:`bigrad._fused`.

An ordinary store first reads the cache line it writes (read for ownership), so a
kernel writing three outputs moves each output byte twice; a streaming store writes the
line without reading it.  numba has no such store, so :func:`stream_store` emits one in
LLVM IR: a scalar store marked ``!nontemporal``, which LLVM's loop vectorizer turns into
vector streaming stores (``vmovntpd``/``vmovntps`` on x86-64).

Two conditions make them pay, and :func:`line_span` and the caller keep both:

* every cache line is written whole by streaming stores or whole by ordinary ones: a
  line written partly each way costs a round trip to memory (measured: 1.4x slower
  than ordinary stores throughout);
* the vector stores are aligned.  The vectorizer only emits them for stores it is told
  are aligned to the vector's size, so :func:`stream_store` claims 32 bytes; it must
  only be used in a loop over whole 64-byte lines (:func:`line_span`), where every
  vector store is aligned (the scalar stores of a remainder need no alignment).

Streaming stores are weakly ordered: :func:`store_fence` orders them before the
kernel returns and another thread reads the results.
"""

from __future__ import annotations

import platform
from typing import Any

import numba
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from bigrad._placement import LINE_BYTES

__all__ = ["X86_64", "line_span", "store_fence", "stream_store"]

#: whether this is x86-64, where LLVM vectorizes the streaming stores (SSE2 and later)
X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def _stream_store(typingctx: Any, arr: Any, i0: Any, i1: Any, k: Any, value: Any) -> Any:
    if not isinstance(arr, types.Array) or arr.ndim != 3:
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        indices = [
            context.cast(builder, v, t, types.intp)
            for v, t in zip(args[1:4], sig.args[1:4], strict=True)
        ]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, indices, wraparound=False)
        v = context.cast(builder, args[4], sig.args[4], aryty.dtype)
        if isinstance(aryty.dtype, types.Float):
            store = builder.store(v, ptr, align=32)
            flag = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
            store.set_metadata("nontemporal", flag)
        else:  # complex values: an ordinary store (never used on them by the kernels)
            builder.store(v, ptr)
        return context.get_dummy_value()

    return types.void(arr, i0, i1, k, value), codegen


#: ``stream_store(arr, i0, i1, k, value)``: ``arr[i0, i1, k] = value`` as a streaming
#: store (``arr`` 3-D, indices in range); an ordinary store for complex ``arr``
stream_store: Any = intrinsic(_stream_store)


def _store_fence(typingctx: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        if X86_64:
            # LLVM makes a seq_cst fence a locked instruction on x86, which need not
            # drain the write-combining buffers of streaming stores; sfence does
            fnty = ir.FunctionType(ir.VoidType(), [])
            builder.call(
                cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.sfence"), []
            )
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


#: ``store_fence()``: streaming stores before it are visible to other threads after it
store_fence: Any = intrinsic(_store_fence)


@numba.njit(cache=True, nogil=True)
def line_span(address: int, itemsize: int, lo: int, hi: int) -> tuple[int, int]:
    """The indices ``ka .. kb`` within ``lo .. hi`` of a row whose element ``lo`` is at
    ``address`` that cover whole cache lines (``ka == kb`` when there are none)."""
    per_line = LINE_BYTES // itemsize
    ka = lo + ((LINE_BYTES - address % LINE_BYTES) % LINE_BYTES) // itemsize
    if ka >= hi:
        return lo, lo
    kb = ka + (hi - ka) // per_line * per_line
    return ka, kb
