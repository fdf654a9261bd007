"""The numba kernel: a block, its halo planes and per-axis rule tables -> every output,
in one pass over the block.

One design for every stencil: the block is seen as 2-D ``(n0, R)``, C-contiguous, and
taken one plane ``i0`` of its first axis at a time (runs of planes on a pool of threads
for in-memory arrays; the kernel releases the GIL), or several consecutive planes as
one where planes are small (a short trailing axis: ``(n, 3)`` positions).  For each
plane every component is computed while the plane is in cache: along the first axis
from whole neighbouring planes, along any other axis ``a`` with the plane seen as ``(P,
n_a, Q)``.  Rows of ``Q`` points (or, along the last axis, runs of points) are combined
with the rules' weights in plain loops that LLVM vectorises; points whose stencil
reaches past the block read the halo planes instead.

A call may take two inputs of one shape (each component reads one: a vorticity's two
winds) and scale a component's output by a factor per line along the last axis (a
metric along latitude) as it writes it.  Where an output is scaled, or written by one
component and added to by another, each plane is taken a group of rows at a time by
every component in turn, so that the output is still in cache for the next.

The arithmetic is :mod:`bigrad.core.weights`' (a ``DIFF`` in the data's dtype divided
in the compute dtype, a ``SUM`` of products in the compute dtype, left to right), the
same as the numpy reference kernel's, so the two give identical numbers.

Compilation is lazy, per dtype and number of outputs, and cached on disk.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
from numba.cpython.unsafe.tuple import tuple_setitem

from bigrad.core.weights import DIFF, AxisRules
from bigrad.kernels import threads as kernel_threads
from bigrad.kernels.notice import announce

__all__ = ["INPUTS", "SUPPORTED", "apply_block"]

#: data dtypes (after integers become float64) the kernel compiles for; others go to numpy
#: (complex among them: numba's complex arithmetic is not numpy's to the last bit)
SUPPORTED = frozenset({"f4", "f8"})

# comp columns: what each component is and where its pieces lie in the packed arrays
_AXIS0, _P, _N, _Q, _LO, _L, _HI, _H, _OUT, _ADD, _SEG0, _SEG1, _VAR, _SC, _NLAST, _SRC = range(16)


_njit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True, nogil=True, inline="always")
#: values combined at a time: the accumulator stays in the first-level cache
_BLOCK = 1024
#: runs along a line shorter than this are computed point by point
_SHORT = 8
#: outputs a kernel call takes (more compile a kernel of their own); spare ones unused
_OUTS = 4
#: inputs a kernel call takes, likewise
INPUTS = 2
#: blocks of fewer points than this sum every stencil in passes
_WIDE_MIN = 2**14
#: stencils of 3 to this many points may be summed in one pass, unrolled for their width
_WIDE = 11
#: points of a plane every component takes in turn where one output is scaled or
#: added to, so that it is still in cache for the next
_GROUP = 16384
#: points at least that a step of the kernel takes: planes smaller than this (a short
#: trailing axis) are taken several at a time, as one, instead of a few calls each
_SPAN = 16384


@_inline
def _plane(xs, hbuf, comp, seg, weights, divisor, outs, sc, group, i0, i1, wide, acc):  # type: ignore[no-untyped-def]
    """Planes ``[i0, i1)``, ``group`` points at a time, each group by every component."""
    r = xs[0].shape[1] * (i1 - i0)
    for f0 in range(0, r, group):
        f1 = min(r, f0 + group)
        for c in range(comp.shape[0]):
            cm = comp[c]
            _component(xs[cm[_SRC]], hbuf, cm, seg, weights[c], divisor[c], outs[cm[_OUT]],
                       sc, i0, i1, f0, f1, acc, wide)  # fmt: skip


@_njit
def _planes(  # type: ignore[no-untyped-def]
    xs, hbuf, comp, seg, weights, divisor, outs, sc, group, span, i_first, i_stop, wide, fused
):
    """Planes ``[i_first, i_stop)`` of every component: the kernel's entry point.

    Component ``c`` reads input ``xs[comp[c, _SRC]]``.  The planes are taken ``span``
    at a time (1 with ``fused``), each span ``group`` points at a time (a whole number
    of every component's rows), each group by every component in turn.  ``wide`` is
    None, or a tuple as long as the stencils that take
    :func:`_sum_line`'s one pass: one width per call (its widest run's), since numba
    compiles the kernel once per width (and drops the sums for None: a gradient
    compiles faster).  ``fused`` is None, or what :func:`_fused_plane` takes for the
    planes inside its box.  ``sc`` holds the scaled components' factors, one per line
    along the last axis (see :func:`_scale`)."""
    # once per call, not per plane: many small planes (short trailing axes) are common
    acc = np.empty(_BLOCK, dtype=weights.dtype)
    for i0 in range(i_first, i_stop, span):
        inside = False
        if fused is not None:  # noqa: SIM102 (alone, so that numba prunes it)
            if fused[0][0, 0] <= i0 < fused[0][0, 1]:
                _fused_plane(xs[0], hbuf, comp, seg, weights, divisor, outs, i0, fused, wide)
                inside = True
        if not inside:
            i1 = min(i_stop, i0 + span)
            _plane(xs, hbuf, comp, seg, weights, divisor, outs, sc, group, i0, i1, wide, acc)


@_njit
def _fused_plane(x, hbuf, comp, seg, weights, divisor, outs, i0, fused, wide):  # type: ignore[no-untyped-def]
    """Plane ``i0`` of components summed into one output, their sums in one pass.

    ``fused`` is ``(box, n1, ws, offs, ctok, su)``: the block seen as ``(n0, n1, n2)``
    (``n1`` is 1 for a 2-D block), ``box[a]`` the points along axis ``a`` where every
    component's central stencil lies inside the block, ``ws`` and ``offs`` the central
    stencils' weights and flat offsets, component after component (``len(ctok)`` of
    them).  Inside the box each point's components are summed in registers, in the
    output's dtype (the separate passes' numbers), and stored once; the lines outside
    it take every component's pass, line by line, and the columns beside it every
    component, column by column."""
    box, n1 = fused[0], fused[1]
    r_ = x.shape[1]
    n2 = r_ // n1
    o = outs[comp[0, _OUT]]
    xf, of = x.reshape(-1), o.reshape(-1)
    acc = np.empty(_BLOCK, dtype=weights.dtype)
    jlo, jhi = box[2, 0], box[2, 1]
    for ia in range(n1):
        if box[1, 0] <= ia < box[1, 1]:
            g = i0 * r_ + ia * n2 + jlo
            _fused_line(xf, of, g, jhi - jlo, fused[2], fused[3], fused[4], fused[5])
        else:
            _frame_line(x, hbuf, comp, seg, weights, divisor, o, i0, ia, n2, acc, wide)
    for rg in (range(jlo), range(jhi, n2)):
        for j in rg:
            _fused_columns(x, xf, hbuf, comp, seg, weights, divisor, of, i0, j, fused)


@_njit
def _frame_line(x, hbuf, comp, seg, weights, divisor, o, i0, ia, n2, acc, wide):  # type: ignore[no-untyped-def]
    """Line ``ia`` of plane ``i0`` (outside the box): every component's pass over it."""
    xl = x[i0, ia * n2 : (ia + 1) * n2].reshape((1, n2))
    ol = o[i0, ia * n2 : (ia + 1) * n2].reshape((1, n2))
    for c in range(comp.shape[0]):
        cm = comp[c]
        add, var, s0 = cm[_ADD] != 0, cm[_VAR] != 0, cm[_SEG0]
        if cm[_Q] == 1 and not cm[_AXIS0]:  # along the line: its halo, its segments
            nl, nh = cm[_L], cm[_H]
            lo = cm[_LO] + (i0 * cm[_P] + ia) * nl
            hi = cm[_HI] + (i0 * cm[_P] + ia) * nh
            lol, hil = hbuf[lo : lo + nl].reshape((1, nl)), hbuf[hi : hi + nh].reshape((1, nh))
            for s in range(s0, cm[_SEG1]):
                _lines(xl, lol, hil, seg[s], s - s0, var, weights[c], divisor[c], acc, ol,
                       add, wide)  # fmt: skip
            continue
        for q0 in range(0, n2, _BLOCK):
            q1 = min(n2, q0 + _BLOCK)
            _across(x, hbuf, cm, seg, weights[c], divisor[c], i0, ia * n2 + q0, q1 - q0,
                    acc[: q1 - q0])  # fmt: skip
            _put(ol[0, q0:q1], acc[: q1 - q0], add)


@_njit
def _fused_line(xf, of, g, m, ws, offs, ctok, su):  # type: ignore[no-untyped-def]
    """``of[g + j]`` for ``j`` in ``[0, m)``: every component's central stencil, summed
    in registers.  The starts are unsigned: numba wraps signed indices, a test per load
    that keeps LLVM from vectorising the loop."""
    nc = len(ctok)
    w_ = len(ws) // nc
    for t in range(len(ws)):
        su = tuple_setitem(su, t, np.uint64(g + offs[t]))  # type: ignore[call-arg]
    gu = np.uint64(g)
    for j in range(np.uint64(m)):
        v = ws[0] * xf[su[0] + j]
        for k in range(1, w_):
            v = v + ws[k] * xf[su[k] + j]
        for c in range(1, nc):
            u = ws[c * w_] * xf[su[c * w_] + j]
            for k in range(1, w_):
                u = u + ws[c * w_ + k] * xf[su[c * w_ + k] + j]
            v = v + u
        of[gu + j] = v


@_njit
def _fused_columns(x, xf, hbuf, comp, seg, weights, divisor, of, i0, j, fused):  # type: ignore[no-untyped-def]
    """Column ``j`` of plane ``i0``'s lines inside the box, a column outside it along the
    last axis only: every component in order, the others' central stencils and the last
    axis's own (one segment for the whole column)."""
    box, ws, offs = fused[0], fused[2], fused[3]
    w_ = len(ws) // len(fused[4])
    r_ = x.shape[1]
    n2 = r_ // fused[1]
    for c in range(comp.shape[0]):
        cm = comp[c]
        add = cm[_ADD] != 0
        if not (cm[_Q] == 1 and not cm[_AXIS0]):
            for ia in range(box[1, 0], box[1, 1]):
                g = i0 * r_ + ia * n2 + j
                v = ws[c * w_] * xf[g + offs[c * w_]]
                for k in range(1, w_):
                    v = v + ws[c * w_ + k] * xf[g + offs[c * w_ + k]]
                of[g] = of[g] + v if add else v
            continue
        s = cm[_SEG0]
        while seg[s, 1] <= j:
            s += 1
        form, off, width = seg[s, 2], seg[s, 3], seg[s, 4]
        col = j if cm[_VAR] != 0 else s - cm[_SEG0]
        nl, nh, w, d = cm[_L], cm[_H], weights[c], divisor[c]
        for ia in range(box[1, 0], box[1, 1]):
            g = i0 * r_ + ia * n2
            lo = cm[_LO] + (i0 * cm[_P] + ia) * nl + nl
            hi = cm[_HI] + (i0 * cm[_P] + ia) * nh - n2
            k = j + off
            x0 = xf[g + k] if 0 <= k < n2 else (hbuf[lo + k] if k < 0 else hbuf[hi + k])
            if form == DIFF:
                k += width - 1
                x1 = xf[g + k] if 0 <= k < n2 else (hbuf[lo + k] if k < 0 else hbuf[hi + k])
                v = (x1 - x0) / d[col]
            else:
                v = w[0, col] * x0
                for t in range(1, width):
                    k = j + off + t
                    xk = xf[g + k] if 0 <= k < n2 else (hbuf[lo + k] if k < 0 else hbuf[hi + k])
                    v = v + w[t, col] * xk
            of[g + j] = of[g + j] + v if add else v


@_njit
def _across(x, hbuf, cm, seg, w, d, i0, r0, m, out):  # type: ignore[no-untyped-def]
    """A component along the first or middle axis at ``m`` points from flat point ``r0``
    of plane ``i0`` (one line's), into ``out``, as :func:`_rows` computes it."""
    n, q_ = cm[_N], cm[_Q]
    idx = i0 if cm[_AXIS0] else (r0 // q_) % n
    s = cm[_SEG0]
    while seg[s, 1] <= idx:
        s += 1
    form, off, width = seg[s, 2], seg[s, 3], seg[s, 4]
    col = idx if cm[_VAR] != 0 else s - cm[_SEG0]
    if form == DIFF:
        first = _source(x, hbuf, cm, i0, r0, idx, idx + off, m)
        last = _source(x, hbuf, cm, i0, r0, idx, idx + off + width - 1, m)
        for q in range(m):
            out[q] = (last[q] - first[q]) / d[col]
        return
    src, wk = _source(x, hbuf, cm, i0, r0, idx, idx + off, m), w[0, col]
    for q in range(m):
        out[q] = wk * src[q]
    for k in range(1, width):
        src, wk = _source(x, hbuf, cm, i0, r0, idx, idx + off + k, m), w[k, col]
        for q in range(m):
            out[q] = out[q] + wk * src[q]


@_njit
def _source(x, hbuf, cm, i0, r0, idx, j, m):  # type: ignore[no-untyped-def]
    """The ``m`` values from flat point ``r0`` of plane ``i0`` moved to index ``j``
    along the component's axis (from ``idx``): in the block or its halo."""
    n, q_, nl, nh = cm[_N], cm[_Q], cm[_L], cm[_H]
    r_ = x.shape[1]
    if cm[_AXIS0]:
        if j < 0:
            start = cm[_LO] + (nl + j) * r_ + r0
            return hbuf[start : start + m]
        if j >= n:
            start = cm[_HI] + (j - n) * r_ + r0
            return hbuf[start : start + m]
        return x[j, r0 : r0 + m]
    if 0 <= j < n:
        return x[i0, r0 + (j - idx) * q_ : r0 + (j - idx) * q_ + m]
    p, q = r0 // (n * q_), r0 % q_
    if j < 0:
        start = cm[_LO] + ((i0 * cm[_P] + p) * nl + nl + j) * q_ + q
    else:
        start = cm[_HI] + ((i0 * cm[_P] + p) * nh + j - n) * q_ + q
    return hbuf[start : start + m]


@_inline
def _component(x, hbuf, cm, seg, w, d, out, sc, i0, i1, f0, f1, acc, wide):  # type: ignore[no-untyped-def]
    """Points ``[f0, f1)`` of planes ``[i0, i1)`` seen as one (all of them along the
    first axis; else whole rows of the component's)."""
    n0, r = x.shape
    p_, n, q_, nl, nh = cm[_P], cm[_N], cm[_Q], cm[_L], cm[_H]
    add, var, s0 = cm[_ADD] != 0, cm[_VAR] != 0, cm[_SEG0]
    if cm[_AXIS0]:
        # along the first axis: points i0 .. i1 - 1, from whole planes
        xv = x.reshape((1, n0, r))
        lo = hbuf[cm[_LO] : cm[_LO] + nl * r].reshape((1, nl, r))
        hi = hbuf[cm[_HI] : cm[_HI] + nh * r].reshape((1, nh, r))
        ov = out.reshape((1, n0, r))
        # slab 0 as an int64 variable, not a literal 0: _rows then compiles once, not twice
        p0 = cm[_AXIS0] - 1
        for s in range(cm[_SEG0], cm[_SEG1]):
            a, b = max(seg[s, 0], i0), min(seg[s, 1], i1)
            if a < b:
                _rows(xv, lo, hi, p0, a, b, seg[s], s - s0, var, w, d, acc, ov[p0], add, wide)
    else:
        # the planes' lines (or rows) follow one another, in the block and in its halos
        size_lo, size_hi = p_ * nl * q_, p_ * nh * q_
        lo_flat = hbuf[cm[_LO] + i0 * size_lo : cm[_LO] + i1 * size_lo]
        hi_flat = hbuf[cm[_HI] + i0 * size_hi : cm[_HI] + i1 * size_hi]
        xg, og = x.reshape(-1)[i0 * r : i1 * r], out.reshape(-1)[i0 * r : i1 * r]
        if q_ == 1:
            g0, g1 = f0 // n, f1 // n  # lines
            xl = xg[f0:f1].reshape((g1 - g0, n))
            ol = og[f0:f1].reshape((g1 - g0, n))
            lol = lo_flat[g0 * nl : g1 * nl].reshape((g1 - g0, nl))
            hil = hi_flat[g0 * nh : g1 * nh].reshape((g1 - g0, nh))
            for s in range(cm[_SEG0], cm[_SEG1]):
                _lines(xl, lol, hil, seg[s], s - s0, var, w, d, acc, ol, add, wide)
        else:
            ps = p_ * (i1 - i0)
            xv = xg.reshape((ps, n, q_))
            lo, hi = lo_flat.reshape((ps, nl, q_)), hi_flat.reshape((ps, nh, q_))
            ov = og.reshape((ps, n, q_))
            k, k1 = f0 // q_, f1 // q_  # rows p * n + i
            while k < k1:
                p, i_a = k // n, k % n
                i_b = min(n, i_a + k1 - k)
                for s in range(cm[_SEG0], cm[_SEG1]):
                    a, b = max(seg[s, 0], i_a), min(seg[s, 1], i_b)
                    if a < b:
                        _rows(xv, lo, hi, p, a, b, seg[s], s - s0, var, w, d, acc, ov[p], add,
                              wide)  # fmt: skip
                k += i_b - i_a
    if cm[_SC] >= 0:
        _scale(out.reshape(-1)[i0 * r + f0 : i0 * r + f1], sc[cm[_SC]], (i0 * r + f0) // cm[_NLAST],
               cm[_NLAST])  # fmt: skip


@_njit
def _scale(o, factors, line0, nlast):  # type: ignore[no-untyped-def]
    """Whole lines ``o`` (along the last axis, ``nlast`` points each; the first is the
    block's line ``line0``) multiplied by their factors, in the output's dtype: the
    numbers of multiplying the written output."""
    for k in range(o.shape[0] // nlast):
        f, line = factors[line0 + k], o[k * nlast : (k + 1) * nlast]
        for j in range(nlast):
            line[j] = line[j] * f


@_njit
def _row(xv, lo, hi, p, j):  # type: ignore[no-untyped-def]
    n = xv.shape[1]
    if j < 0:
        return lo[p, lo.shape[1] + j]
    if j >= n:
        return hi[p, j - n]
    return xv[p, j]


@_njit
def _rows(xv, lo, hi, p, i_first, i_stop, sg, sl, var, w, d, acc, ov, add, wide):  # type: ignore[no-untyped-def]
    """Points ``[i_first, i_stop)`` of slab ``p`` (in run ``sl``): rows of ``Q`` values
    combined."""
    form, off, width = sg[2], sg[3], sg[4]
    q_ = ov.shape[1]
    if form == DIFF and not var and not add and i_stop - i_first > 1:  # noqa: SIM102
        if i_first + off >= 0 and i_stop + off + width - 1 <= xv.shape[1]:
            # the rows follow one another in the block: one loop over all their points
            # (short rows, a short trailing axis, would each cost more than their work)
            m, k = (i_stop - i_first) * q_, (i_first + off) * q_
            xp, op = xv[p].reshape(-1), ov.reshape(-1)
            first, last = xp[k : k + m], xp[k + (width - 1) * q_ : k + (width - 1) * q_ + m]
            ob, div = op[i_first * q_ : i_first * q_ + m], d[sl]
            for j in range(m):
                ob[j] = (last[j] - first[j]) / div
            return
    if form != DIFF and width == 3 and not add:  # noqa: SIM102
        if i_first + off >= 0 and i_stop + off + 2 <= xv.shape[1]:
            # numpy's three-point sums (a coordinate: weights per row) on rows inside the
            # block, indexed in the slab's 2-D view: a view per row costs more than the
            # points of a short row
            xs = xv[p]
            for i in range(i_first, i_stop):
                col = i if var else sl
                w0, w1, w2, r = w[0, col], w[1, col], w[2, col], i + off
                for q in range(q_):
                    ov[i, q] = w0 * xs[r, q] + w1 * xs[r + 1, q] + w2 * xs[r + 2, q]
            return
    for i in range(i_first, i_stop):
        orow = ov[i]
        col = i if var else sl
        if form == DIFF:
            first, last = _row(xv, lo, hi, p, i + off), _row(xv, lo, hi, p, i + off + width - 1)
            div = d[col]
            if not add:
                for q in range(q_):
                    orow[q] = (last[q] - first[q]) / div
                continue
            for q in range(q_):
                orow[q] = orow[q] + (last[q] - first[q]) / div
            continue
        if width == 3 and not add:
            # numpy's three-point stencils in one pass, same order of operations
            r0, r1 = _row(xv, lo, hi, p, i + off), _row(xv, lo, hi, p, i + off + 1)
            r2 = _row(xv, lo, hi, p, i + off + 2)
            w0, w1, w2 = w[0, col], w[1, col], w[2, col]
            for q in range(q_):
                orow[q] = w0 * r0[q] + w1 * r1[q] + w2 * r2[q]
            continue
        # the test of wide alone, not joined to the others: numba prunes it when compiling
        if wide is not None:  # noqa: SIM102
            if width == len(wide) and i + off >= 0 and i + off + width <= xv.shape[1]:
                rows = xv[p, i + off : i + off + width]
                _sum_rows(rows, _weights(wide, w[:, col]), orow, add)
                continue
        for q0 in range(0, q_, _BLOCK):
            q1 = min(q_, q0 + _BLOCK)
            buf = acc[: q1 - q0]
            src, wk = _row(xv, lo, hi, p, i + off)[q0:q1], w[0, col]
            for q in range(q1 - q0):
                buf[q] = wk * src[q]
            for k in range(1, width):
                src, wk = _row(xv, lo, hi, p, i + off + k)[q0:q1], w[k, col]
                for q in range(q1 - q0):
                    buf[q] = buf[q] + wk * src[q]
            _put(orow[q0:q1], buf, add)


@_njit
def _put(orow, acc, add):  # type: ignore[no-untyped-def]
    if add:
        for q in range(orow.shape[0]):
            orow[q] = orow[q] + acc[q]
    else:
        for q in range(orow.shape[0]):
            orow[q] = acc[q]


@_njit
def _lines(x2, lo2, hi2, sg, sl, var, w, d, acc, o2, add, wide):  # type: ignore[no-untyped-def]
    """One segment of every line along the last axis (contiguous points)."""
    first, stop, form, off, width = sg[0], sg[1], sg[2], sg[3], sg[4]
    n = x2.shape[1]
    # [a, b): the points whose stencil lies inside the line; loops over slices from 0,
    # indices LLVM knows are in range, so that it vectorises them
    a = min(max(first, -off), stop)
    b = max(a, min(stop, n - off - width + 1))
    if b - a < _SHORT:
        # a few (a one-sided stencil's run at a line's end): point by point, cheaper
        # than setting up the vector loops for them
        _inside(x2, a, b, sl, var, form, off, width, w, d, o2, add)
        _beside(x2, lo2, hi2, first, a, b, stop, sl, var, form, off, width, w, d, o2, add)
        return
    m = b - a
    wa = w
    if wide is not None:  # noqa: SIM102 (alone, so that numba prunes it)
        if var and form != DIFF and width == len(wide):
            # the weights of [a, b) from index 0: indices LLVM knows are not negative
            # (numba wraps negative ones), so that the one-pass sums over them vectorise
            wa = np.ascontiguousarray(w[:, a:b])
    # numpy's two stencils from the flat block at unsigned indices (numba wraps signed
    # ones, a test per load that keeps LLVM from vectorising): views of every line
    # would cost more than a short line's points
    xf, of = x2.reshape(-1), o2.reshape(-1)
    for p in range(x2.shape[0]):
        one_pass = False
        if wide is not None:  # noqa: SIM102 (alone, so that numba prunes it)
            if form != DIFF and width == len(wide):
                src, ob = x2[p, a + off : b + off + width - 1], o2[p, a:b]
                if var:
                    _sum_line_var(src, wa, wide, ob, add)
                else:
                    _sum_line(src, _weights(wide, w[:, sl]), ob, add)
                one_pass = True
        if one_pass:
            pass
        elif form == DIFF and not add and not var:
            dv, uo, u0 = d[sl], np.uint64(p * n + a), np.uint64(p * n + a + off)
            u1 = u0 + np.uint64(width - 1)
            for j in range(np.uint64(m)):
                of[uo + j] = (xf[u1 + j] - xf[u0 + j]) / dv
        elif form != DIFF and width == 3 and var and not add:
            # numpy's non-uniform three-point stencil in one pass, same order of operations
            ua, uo, u0 = np.uint64(a), np.uint64(p * n + a), np.uint64(p * n + a + off)
            u1, u2 = u0 + np.uint64(1), u0 + np.uint64(2)
            for j in range(np.uint64(m)):
                of[uo + j] = (w[0, ua + j] * xf[u0 + j] + w[1, ua + j] * xf[u1 + j]
                              + w[2, ua + j] * xf[u2 + j])  # fmt: skip
        else:
            for j0 in range(a, b, _BLOCK):
                j1 = min(b, j0 + _BLOCK)
                _fast_line(x2[p], j0, j1, sl, var, form, off, width, w, d, acc[: j1 - j0])
                _put(o2[p, j0:j1], acc[: j1 - j0], add)
    _beside(x2, lo2, hi2, first, a, b, stop, sl, var, form, off, width, w, d, o2, add)


@_njit
def _inside(x2, a, b, sl, var, form, off, width, w, d, o2, add):  # type: ignore[no-untyped-def]
    """Points ``[a, b)`` of every line, whose stencils lie inside it, one at a time (no
    views of a line: each would cost more than its few points)."""
    for p in range(x2.shape[0]):
        for i in range(a, b):
            col = i if var else sl
            j = i + off
            if form == DIFF:
                v = (x2[p, j + width - 1] - x2[p, j]) / d[col]
            else:
                v = w[0, col] * x2[p, j]
                for k in range(1, width):
                    v = v + w[k, col] * x2[p, j + k]
            o2[p, i] = o2[p, i] + v if add else v


@_njit
def _beside(x2, lo2, hi2, first, a, b, stop, sl, var, form, off, width, w, d, o2, add):  # type: ignore[no-untyped-def]
    """Points ``[first, a)`` and ``[b, stop)`` of every line, whose stencils reach into the
    halo, one at a time."""
    if first == a and b == stop:
        return
    n = x2.shape[1]
    nl = lo2.shape[1]
    for p in range(x2.shape[0]):
        xr, orow, lo, hi = x2[p], o2[p], lo2[p], hi2[p]
        for rg in (range(first, a), range(b, stop)):
            for i in rg:
                col = i if var else sl
                j = i + off
                x0 = xr[j] if 0 <= j < n else (lo[nl + j] if j < 0 else hi[j - n])
                if form == DIFF:
                    j += width - 1
                    x1 = xr[j] if 0 <= j < n else (lo[nl + j] if j < 0 else hi[j - n])
                    v = (x1 - x0) / d[col]
                else:
                    v = w[0, col] * x0
                    for k in range(1, width):
                        j = i + off + k
                        xk = xr[j] if 0 <= j < n else (lo[nl + j] if j < 0 else hi[j - n])
                        v = v + w[k, col] * xk
                orow[i] = orow[i] + v if add else v


@_inline
def _weights(tok, wcol):  # type: ignore[no-untyped-def]
    """``wcol``'s first ``len(tok)`` weights as a tuple (``tok``'s length is known when
    this compiles: the sums over it unroll)."""
    ws = tok
    for k in range(len(tok)):
        ws = tuple_setitem(ws, k, wcol[k])  # type: ignore[call-arg]
    return ws


@_njit
def _sum_line(src, ws, out, add):  # type: ignore[no-untyped-def]
    """``out[j] (+)= sum_k ws[k] * src[j + k]`` in one pass, left to right, the partial
    sum in a register instead of the accumulator's passes."""
    for j in range(out.shape[0]):
        v = ws[0] * src[j]
        for k in range(1, len(ws)):
            v = v + ws[k] * src[j + k]
        out[j] = out[j] + v if add else v


@_njit
def _sum_line_var(src, w, tok, out, add):  # type: ignore[no-untyped-def]
    """As :func:`_sum_line` with weights per point, ``w[k, j]`` (``tok``'s length is the
    stencil's width, known when this compiles)."""
    for j in range(out.shape[0]):
        v = w[0, j] * src[j]
        for k in range(1, len(tok)):
            v = v + w[k, j] * src[j + k]
        out[j] = out[j] + v if add else v


@_njit
def _sum_rows(rows, ws, out, add):  # type: ignore[no-untyped-def]
    """``out (+)= sum_k ws[k] * rows[k]`` in one pass, as :func:`_sum_line` (one loop
    over a flat line and a stride does not vectorise)."""
    for q in range(out.shape[0]):
        v = ws[0] * rows[0, q]
        for k in range(1, len(ws)):
            v = v + ws[k] * rows[k, q]
        out[q] = out[q] + v if add else v


@_inline
def _fast_line(xr, a, b, sl, var, form, off, width, w, d, out):  # type: ignore[no-untyped-def]
    """Points ``[a, b)`` of a line, whose stencils lie inside it, into ``out``."""
    m = b - a
    if form == DIFF:
        hi_, lo_ = xr[a + off + width - 1 : b + off + width - 1], xr[a + off : b + off]
        if var:
            dv = d[a:b]
            for j in range(m):
                out[j] = (hi_[j] - lo_[j]) / dv[j]
        else:
            for j in range(m):
                out[j] = (hi_[j] - lo_[j]) / d[sl]
        return
    src = xr[a + off : b + off]
    if var:
        wk = w[0, a:b]
        for j in range(m):
            out[j] = wk[j] * src[j]
    else:
        c = w[0, sl]
        for j in range(m):
            out[j] = c * src[j]
    for k in range(1, width):
        src = xr[a + off + k : b + off + k]
        if var:
            wk = w[k, a:b]
            for j in range(m):
                out[j] = out[j] + wk[j] * src[j]
        else:
            c = w[k, sl]
            for j in range(m):
                out[j] = out[j] + c * src[j]


_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    with _lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bigrad")
        return _pools[threads]


def _pack(
    x: np.ndarray,
    halos: Sequence[tuple[np.ndarray, np.ndarray]],
    rules: Sequence[AxisRules],
    axes: Sequence[int],
    out_index: Sequence[int],
    add: Sequence[bool],
    scale: Sequence[np.ndarray | None],
    source: Sequence[int],
    otype: np.dtype[Any],
) -> tuple[np.ndarray, ...]:
    """The arrays the kernel takes: halos in one buffer, rules padded to one table, the
    line factors of the scaled components stacked."""
    shape = x.shape
    ctype = rules[0].dtype
    nmax = max(max(r.weights.shape[1], 1) for r in rules)
    kmax = max(r.weights.shape[0] for r in rules)
    comp = np.zeros((len(axes), 16), dtype=np.int64)
    if len(rules) == 1:
        # one component (a long line, or the Zarr stream's one axis at a time): its
        # tables as they are, not copied
        weights = np.ascontiguousarray(rules[0].weights)[None]
        divisor = np.ascontiguousarray(rules[0].divisor)[None]
    else:
        weights = np.zeros((len(axes), kmax, nmax), dtype=ctype)
        divisor = np.ones((len(axes), nmax), dtype=ctype)
    parts: list[np.ndarray] = []
    segs: list[tuple[int, int, int, int, int]] = []
    used = 0
    for c, (axis, (lo, hi), r) in enumerate(zip(axes, halos, rules, strict=True)):
        p_ = int(np.prod(shape[1:axis])) if axis else 1
        q_ = int(np.prod(shape[axis + 1 :])) if axis else int(np.prod(shape[1:]))
        starts = []
        for h in (lo, hi):
            starts.append(used)
            flat = np.ascontiguousarray(h, dtype=x.dtype).reshape(-1)
            parts.append(flat)
            used += flat.size
        found = r.segments()
        row = -1 if scale[c] is None else sum(f is not None for f in scale[:c])
        comp[c] = (axis == 0, p_, shape[axis], q_, starts[0], lo.shape[axis], starts[1],
                   hi.shape[axis], out_index[c], add[c], len(segs), len(segs) + len(found),
                   r.varying, row, shape[-1], source[c])  # fmt: skip
        segs.extend(found)
        if len(rules) > 1:
            weights[c, : r.weights.shape[0], : r.weights.shape[1]] = r.weights
            divisor[c, : len(r.divisor)] = r.divisor
    hbuf = np.concatenate(parts) if parts else np.empty(0, x.dtype)
    seg = np.array(segs, dtype=np.int64).reshape(-1, 5)
    factors = [f for f in scale if f is not None]
    lines = int(np.prod(shape[:-1]))
    sc = np.stack(factors).astype(otype) if factors else np.empty((0, lines), otype)
    return hbuf, comp, seg, weights, divisor, sc


def apply_block(
    fs: Sequence[np.ndarray],
    halos: Sequence[tuple[np.ndarray, np.ndarray]],
    rules: Sequence[AxisRules],
    axes: Sequence[int],
    outs: Sequence[np.ndarray],
    out_index: Sequence[int],
    add: Sequence[bool],
    parallel: bool,
    wait: bool = True,
    scale: Sequence[np.ndarray | None] | None = None,
    source: Sequence[int] | None = None,
) -> bool:
    """Compute every component of C-contiguous blocks ``fs`` (at most :data:`INPUTS` of
    one shape and dtype) into ``outs`` in one pass.

    Component ``c`` (along ``axes[c]`` of ``fs[source[c]]``, by default the first, with
    ``rules[c]`` and halo ``halos[c]``) goes to ``outs[out_index[c]]``, added to it
    where ``add[c]``; all rules share one compute dtype.  Where ``scale[c]`` is not
    None (only where ``add[c]`` is False), it holds one factor per line of the blocks
    along their last axis (C order, in the outputs' dtype), and each line of the
    component's output is multiplied by its factor once written.  Returns False,
    computing nothing, if the kernel is not compiled yet and ``wait`` is False (see
    :func:`_compile`).
    """
    scale = [None] * len(axes) if scale is None else scale
    source = [0] * len(axes) if source is None else source
    if fs[0].ndim == 1:
        fs = [x.reshape(1, -1) for x in fs]
        halos = [(lo.reshape(1, -1), hi.reshape(1, -1)) for lo, hi in halos]
        axes = [a + 1 for a in axes]
    f = fs[0]
    hbuf, comp, seg, weights, divisor, sc = _pack(f, halos, rules, axes, out_index, add, scale,
                                                  source, outs[0].dtype)  # fmt: skip
    x2 = f.reshape(f.shape[0], -1)
    xs = tuple(x.reshape(x2.shape) for x in fs)
    xs += (xs[0],) * (INPUTS - len(xs))
    # small blocks keep the passes: no kernel of their own to compile for their width
    wide = _wide(seg, comp, weights.dtype) if f.size >= _WIDE_MIN else None
    o2 = tuple(o.reshape(x2.shape) for o in outs)
    if len(o2) < _OUTS:
        # the tuple's length is part of the kernel's type: one length, one compile
        o2 += (o2[0],) * (_OUTS - len(o2))
    fused = _fusion(f.shape, comp, seg, weights, f.dtype) if f.size >= _WIDE_MIN else None
    r = x2.shape[1]
    span = 1 if fused is not None else max(1, _SPAN // max(r, 1))
    args = (xs, hbuf, comp, seg, weights, divisor, o2, sc, _group(comp, r, span), span)
    if not _compile(_planes, (*args, 0, 0, wide, fused), wait):
        return False
    n0 = x2.shape[0]
    threads = kernel_threads(parallel)
    if threads == 1 or n0 == 1:
        _planes(*args, 0, n0, wide, fused)
        return True
    # planes handed to threads in many small runs as they ask for them, so that a thread
    # slowed by its neighbours on the machine does not hold the others up; the kernel
    # releases the GIL
    step = max(1, n0 // (8 * threads))
    runs = [(i, min(n0, i + step)) for i in range(0, n0, step)]
    list(_pool(threads).map(lambda run: _planes(*args, run[0], run[1], wide, fused), runs))
    return True


def _group(comp: np.ndarray, r: int, span: int) -> int:
    """Points of a span of planes each component takes in turn: about :data:`_GROUP` (a
    whole number of every component's rows) where an output is scaled or written by one
    component and added to by another, so that it is still in cache; else the span, as
    it is along the first axis."""
    shared = len(set(comp[:, _OUT].tolist())) < len(comp)
    if comp[:, _AXIS0].any() or not (shared or (comp[:, _SC] >= 0).any()):
        return max(r * span, 1)
    unit = int(max(c[_N] if c[_Q] == 1 else c[_Q] for c in comp))
    return max(unit, _GROUP // unit * unit)


def _wide(seg: np.ndarray, comp: np.ndarray, dtype: np.dtype[Any]) -> tuple[Any, ...] | None:
    """A tuple of zeros as long as the stencil of the longest run that :func:`_sum_line` or
    :func:`_sum_rows` can take, or None if none can."""
    used = np.zeros(len(seg), dtype=bool)
    width = seg[:, 4]
    for c in comp:
        run = slice(c[_SEG0], c[_SEG1])
        if c[_Q] == 1 and not c[_AXIS0]:  # along lines: weights for every point
            used[run] = (c[_VAR] == 0) | (width[run] > 3)
        else:  # rows: all but the three-point stencils _rows writes out
            used[run] = (width[run] > 3) | (c[_ADD] != 0)
    used &= (seg[:, 2] != DIFF) & (width >= 3) & (width <= _WIDE)
    if not used.any():
        return None
    length = np.where(used, seg[:, 1] - seg[:, 0], -1)
    return tuple(np.zeros(int(width[np.argmax(length)]), dtype))


def _fusion(shape: tuple[int, ...], comp: np.ndarray, seg: np.ndarray, weights: np.ndarray,
            dtype: np.dtype[Any]) -> tuple[Any, ...] | None:  # fmt: skip
    """What :func:`_fused_plane` takes, or None: for two or more components along
    different axes of a 2-D or 3-D block, summed into one output (a Laplacian), each with
    one set of weights for every point (uniform spacing) and a central stencil of one
    width summed from its weights (not a difference), in the data's dtype (float32 data
    summed in float64 ran faster in separate passes)."""
    if (len(shape) > 3 or len(comp) < 2 or comp[:, _VAR].any() or comp[0, _ADD] == 1
            or not comp[1:, _ADD].all() or (comp[:, _OUT] != comp[0, _OUT]).any()
            or weights.dtype != dtype or (comp[:, _SC] >= 0).any() or comp[:, _SRC].any()):  # fmt: skip
        return None
    n = (shape[0], 1, shape[1]) if len(shape) == 2 else shape
    box = np.array([[0, m] for m in n], dtype=np.int64)
    strides = (n[1] * n[2], n[2], 1)
    ws: list[Any] = []
    offs: list[int] = []
    for c, cm in enumerate(comp):
        axis = 0 if cm[_AXIS0] else (2 if cm[_Q] == 1 else 1)
        run = seg[cm[_SEG0] : cm[_SEG1]]
        s = int(np.argmax(run[:, 1] - run[:, 0]))
        first, stop, form, off, width = (int(v) for v in run[s])
        if form == DIFF or not 3 <= width <= _WIDE or (ws and width * c != len(ws)):
            return None
        box[axis] = (
            max(box[axis, 0], first, -off),
            min(box[axis, 1], stop, n[axis] - off - width + 1),
        )
        ws.extend(weights[c, :width, s])
        offs.extend((off + k) * strides[axis] for k in range(width))
    if (box[:, 1] - box[:, 0] <= 0).any() or box[2, 1] - box[2, 0] < _SHORT or n[2] == 1:
        return None
    su = tuple(np.uint64(0) for _ in ws)
    ctok = (0,) * len(comp)
    return box, n[1], tuple(np.array(ws, weights.dtype)), np.array(offs, np.int64), ctok, su


def _kind(a: Any) -> Any:
    """What numba's type of ``a`` depends on, cheaply: an array's dtype, dimensions,
    layout and flags; a tuple's items'; else the Python type."""
    if isinstance(a, np.ndarray):
        f = a.flags
        return (a.dtype.str, a.ndim, f.c_contiguous, f.f_contiguous, f.writeable, f.aligned)
    if isinstance(a, tuple):
        return tuple(_kind(b) for b in a)
    return type(a)


#: argument kinds whose kernel is loaded: numba.typeof on every call costs more than
#: the kernel on a small block
_loaded: set[Any] = set()


#: compiles (or loads) running in the background, by argument kind: the thread, and an
#: event set once it is known whether the kernel loads from numba's cache or compiles
_pending: dict[Any, tuple[threading.Thread, threading.Event]] = {}
_compiling = threading.Lock()
_failed: set[Any] = set()
#: seconds a call waits at most for its kernel to load from numba's cache
_WAIT_S = 5.0


def _compile(kernel: Any, args: tuple[Any, ...], wait: bool = True) -> bool:
    """Load or compile the kernel for these argument types, in a thread of its own;
    whether it is ready.  Without ``wait``, a call waits only for a load from numba's
    cache: once the kernel turns out to need compiling, the caller takes numpy's kernels
    (the same numbers) and the compile goes on, so a first use does not stall.  A
    compile is said on stderr as it starts, once per dtype and stencil width."""
    kind = (kernel.__name__, _kind(args))
    if kind in _loaded:
        return True
    if kind in _failed and not wait:
        return False
    sig = tuple(numba.typeof(a) for a in args)
    if sig in kernel.overloads:
        _loaded.add(kind)
        return True
    wide = args[-2]  # (..., wide, fused)
    name = f"{args[0][0].dtype} data" + (f", {len(wide)}-point sums" if wide is not None else "")
    with _lock:
        if kind not in _pending:
            known = threading.Event()
            thread = threading.Thread(target=_load, args=(kernel, sig, kind, name, wait, known),
                                      name="bigrad-compile", daemon=True)  # fmt: skip
            _pending[kind] = (thread, known)
            thread.start()
        thread, known = _pending[kind]
    if wait:
        thread.join()
        if kind not in _loaded:
            _load(kernel, sig, kind, name, wait, known)  # failed in the thread: fail here
    else:
        known.wait(_WAIT_S)
    return kind in _loaded


def _load(kernel: Any, sig: tuple[Any, ...], kind: Any, name: str, wait: bool,
          known: threading.Event) -> None:  # fmt: skip
    meanwhile = "" if wait else "; numpy's kernels meanwhile"
    message = f"bigrad: compiling kernels for {name} (first use, about 10 s, once{meanwhile})\n"
    try:
        with _compiling, announce(name, message, known):
            kernel.compile(sig)
        _loaded.add(kind)
    except Exception:
        if wait:
            raise
        _failed.add(kind)  # not tried again in the background: said by a call that waits
    finally:
        known.set()
        with _lock:
            _pending.pop(kind, None)


@atexit.register
def _finish() -> None:
    """Let compiles under way end (and numba cache them) before the interpreter does."""
    for thread, _ in list(_pending.values()):
        thread.join()
