"""Speed of 3-D derivatives against the memory-bandwidth floor: all-axes gradients,
derivatives of accuracy 4 and 6 along the last axis, and Laplacians.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \\
    MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1,oversize_threshold:0 \\
        python benchmarks/speed.py --size-mib 512 --repeat 5

The allocator settings are optional (``apt-get install libjemalloc2``).  They keep freed
pages in the process, so that a method is not charged for faulting in fresh output
pages that the host reclaimed while other methods ran (on the development machine,
memory left freed for ~2 s costs ~3 s/GiB to touch again).  ``oversize_threshold:0``
matters: by default jemalloc gives blocks over 8 MiB back at once, whatever the decay.

One process times every method on every case: bigrad on numpy input, bigrad on a dask
array persisted in memory (results persisted, i.e. left in memory chunk by chunk),
``np.gradient``, ``dask.array.gradient`` (same input, same persisting) and xarray's
``differentiate`` (one call per axis), and a plain numba loop over the interior
(:func:`reference_gradient`, fused over the three axes: what a naive kernel with
ordinary stores reaches on the machine, the yardstick the issue sets beside bigrad's;
:func:`reference_derivative` and, on steps, :func:`reference_laplacian` likewise).
After one warm-up round, each of ``--repeat`` rounds runs a copy and then every method
once (the order rotating from round to round); a method's ratio to the floor is taken
within its round and the table shows the median of those ratios.

* floor: (input bytes + output bytes) / copy bandwidth, the bandwidth measured by
  ``np.copyto`` of an array of the input's size into a preallocated one in the same
  round, just after an untimed copy (read + write bytes / time); the best of three
  copies for each of four source/destination pairs (the input or a second array,
  into two destinations).
* extra memory: peak resident memory while the method runs minus resident memory
  before it (the input already there), outputs included; measured in a child process
  per case with the system allocator (which unmaps large blocks as soon as they are
  freed), resetting the peak through ``/proc/self/clear_refs`` before each method.
* tasks/chunk: tasks in the graph of all components (input included) per input chunk.
* first call: a fresh process importing bigrad and differentiating a small float64
  array (8^3: numpy's kernels) and then a larger one (64^3: the numba kernel, or with an
  empty numba cache numpy's kernels while it compiles in the background), and the whole
  process (which waits at exit for the compile); once with the cache empty, once filled.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr
from dask.highlevelgraph import HighLevelGraph
from numba import prange

import bigrad
from bigrad.core.weights import coordinate_weights, fornberg
from bigrad.kernels import AUTO_MIN_POINTS, result_dtype


@dataclass(frozen=True)
class Case:
    dtype: str
    uniform: bool
    edge_order: int
    #: "gradient" (all three axes), "derivative" (first derivative along the last
    #: axis, to ``accuracy``) or "laplacian" (to ``accuracy``)
    op: str = "gradient"
    accuracy: int = 2

    @property
    def label(self) -> str:
        kind = "uniform" if self.uniform else "non-uniform"
        name = np.dtype(self.dtype).name
        if self.op == "gradient":
            return f"{name} {kind}, edge_order={self.edge_order}"
        return f"{name} {kind}, {self.op} acc {self.accuracy}"

    @property
    def outputs(self) -> int:
        return 3 if self.op == "gradient" else 1


CASES = {
    "f8-uniform-1": Case("f8", True, 1),
    "f8-nonuniform-1": Case("f8", False, 1),
    "f4-nonuniform-1": Case("f4", False, 1),
    "f4-uniform-2": Case("f4", True, 2),
    "f8-nonuniform-2": Case("f8", False, 2),
    "f8-uniform-derivative-4": Case("f8", True, 2, "derivative", 4),
    "f4-nonuniform-derivative-6": Case("f4", False, 2, "derivative", 6),
    "f8-uniform-laplacian-2": Case("f8", True, 2, "laplacian", 2),
}

BIGRAD = ("bigrad, numpy input", "bigrad, dask input (persisted)")
METHODS = (
    *BIGRAD,
    "np.gradient",
    "dask.array.gradient (persisted)",
    "xarray differentiate x3",
)
#: the plain numba loop beside bigrad's kernel (the Laplacian: accuracy 2 on steps)
REFERENCE = "plain fused loop, interior only"


@dataclass
class Inputs:
    x: np.ndarray
    xd: da.Array
    spacings: list[Any]
    case: Case


def _make_inputs(case: Case, size_mib: float, chunk_mib: float, seed: int = 0) -> Inputs:
    itemsize = np.dtype(case.dtype).itemsize
    n = max(4, round((size_mib * 2**20 / itemsize) ** (1 / 3)))
    rng = np.random.default_rng(seed)
    x = np.empty((n, n, n), dtype=case.dtype)
    for i in range(n):  # plane by plane: no temporary of the array's size
        x[i] = rng.random((n, n), dtype=np.dtype(case.dtype).type)
    if case.uniform:
        spacings: list[Any] = [0.5, 0.25, 2.0]
    else:
        spacings = [np.cumsum(0.5 + rng.random(n)) for _ in range(3)]
    per_axis = max(1, round((size_mib / chunk_mib) ** (1 / 3)))
    chunk = -(-n // per_axis)
    # own contiguous blocks, as a persisted computation would hold them
    xd = da.from_array(x, chunks=chunk).map_blocks(np.array).persist()
    return Inputs(x, xd, spacings, case)


def _coords(inp: Inputs) -> dict[str, np.ndarray]:
    n = inp.x.shape[0]
    out = {}
    for dim, s in zip("zyx", inp.spacings, strict=True):
        out[dim] = np.arange(n) * s if np.ndim(s) == 0 else s
    return out


@numba.njit(parallel=True, cache=True)
def _reference_fused(x, o0, o1, o2, w0, w1, w2):  # type: ignore[no-untyped-def]
    n0, n1, n2 = x.shape
    for i in prange(1, n0 - 1):
        a0, b0, c0 = w0[0, i], w0[1, i], w0[2, i]
        for j in range(1, n1 - 1):
            a1, b1, c1 = w1[0, j], w1[1, j], w1[2, j]
            for k in range(1, n2 - 1):
                o0[i, j, k] = a0 * x[i - 1, j, k] + b0 * x[i, j, k] + c0 * x[i + 1, j, k]
                o1[i, j, k] = a1 * x[i, j - 1, k] + b1 * x[i, j, k] + c1 * x[i, j + 1, k]
                a2, b2, c2 = w2[0, k], w2[1, k], w2[2, k]
                o2[i, j, k] = a2 * x[i, j, k - 1] + b2 * x[i, j, k] + c2 * x[i, j, k + 1]


def _weights(spacing: Any, n: int, dtype: np.dtype[Any]) -> np.ndarray:
    """numpy's interior weights ``(3, n)`` for a step or coordinates, in ``dtype``
    (columns 0 and ``n - 1`` unused)."""
    w = np.zeros((3, n))
    if np.ndim(spacing) == 0:
        w[0], w[2] = -0.5 / float(spacing), 0.5 / float(spacing)
    else:
        d = np.diff(np.asarray(spacing, dtype=np.float64))
        d1, d2 = d[:-1], d[1:]
        w[0, 1:-1] = -d2 / (d1 * (d1 + d2))
        w[1, 1:-1] = (d2 - d1) / (d1 * d2)
        w[2, 1:-1] = d1 / (d2 * (d1 + d2))
    return w.astype(dtype, copy=False)


def reference_gradient(x: np.ndarray, *spacings: Any) -> list[np.ndarray]:
    """The yardstick the issue sets beside bigrad's kernel: a plain fused numba loop,
    the interior of ``np.gradient(x, *spacings)`` for a 3-D ``x`` and nothing else (no
    one-sided ends, no divisions where numpy divides, no halos or chunks).  Every
    point's three central differences from numpy's non-uniform weights, in the weights'
    dtype, stored once each, one ``prange`` over the first axis; outputs allocated on
    every call, as a library's are.

    >>> x = np.arange(4.0 * 5 * 6).reshape(4, 5, 6) ** 2
    >>> out = reference_gradient(x, 1.0, 0.5, [0, 1, 3, 4, 6, 7])
    >>> ref = np.gradient(x, 1.0, 0.5, [0, 1, 3, 4, 6, 7])
    >>> all(np.allclose(o[1:-1, 1:-1, 1:-1], r[1:-1, 1:-1, 1:-1]) for o, r in zip(out, ref))
    True
    """
    # a step keeps float32 data in float32 (a Python float is weak); coordinates do not
    ctype = x.dtype if all(np.ndim(s) == 0 for s in spacings) else np.dtype(np.float64)
    ws = [_weights(s, n, ctype) for s, n in zip(spacings, x.shape, strict=True)]
    outs = [np.empty_like(x) for _ in range(3)]
    _reference_fused(x, *outs, *ws)
    return outs


@numba.njit(parallel=True, cache=True)
def _reference_line(x, w, out):  # type: ignore[no-untyped-def]
    n0, n1, n2 = x.shape
    r = w.shape[0] // 2
    for i in prange(n0):
        for j in range(n1):
            for k in range(r, n2 - r):
                v = w[0, k] * x[i, j, k - r]
                for t in range(1, w.shape[0]):
                    v = v + w[t, k] * x[i, j, k - r + t]
                out[i, j, k] = v


def reference_derivative(x: np.ndarray, spacing: Any, accuracy: int) -> np.ndarray:
    """A plain loop beside bigrad's derivative along the last axis: each interior
    point's central stencil of ``accuracy + 1`` points, its weights (one column per
    point, float64, as bigrad computes) read from a table, one ``prange`` over the first
    axis, the output allocated on every call; the ends left unset.

    >>> x = np.random.default_rng(0).random((3, 4, 40)).astype(np.float32)
    >>> c = np.cumsum(np.linspace(0.5, 1.5, 40))
    >>> ref = bigrad.derivative(x, c, axis=-1, accuracy=6)
    >>> bool(np.allclose(reference_derivative(x, c, 6)[..., 3:-3], ref[..., 3:-3], rtol=1e-5))
    True
    """
    n, r = x.shape[-1], accuracy // 2
    w = np.zeros((2 * r + 1, n))
    if np.ndim(spacing) == 0:
        w[:, r : n - r] = fornberg(np.arange(-r, r + 1.0), 1)[:, None] / float(spacing)
    else:
        coord = np.asarray(spacing, dtype=np.float64)
        w[:, r : n - r] = coordinate_weights(coord, np.arange(r, n - r), -r, 2 * r + 1, 1)
    out = np.empty_like(x)
    _reference_line(x, w, out)
    return out


@numba.njit(parallel=True, cache=True)
def _reference_laplacian(x, a, b, c, out):  # type: ignore[no-untyped-def]
    n0, n1, n2 = x.shape
    for i in prange(1, n0 - 1):
        for j in range(1, n1 - 1):
            for k in range(1, n2 - 1):
                out[i, j, k] = (
                    (a * x[i - 1, j, k] - 2 * a * x[i, j, k] + a * x[i + 1, j, k])
                    + (b * x[i, j - 1, k] - 2 * b * x[i, j, k] + b * x[i, j + 1, k])
                    + (c * x[i, j, k - 1] - 2 * c * x[i, j, k] + c * x[i, j, k + 1])
                )


def reference_laplacian(x: np.ndarray, *steps: float) -> np.ndarray:
    """A plain loop beside bigrad's Laplacian of accuracy 2 on steps: the three central
    second differences of every interior point, written out with their weights as
    constants (each stencil's two outer weights one value, the middle point read once),
    one ``prange`` over the first axis, the output allocated on every call.

    >>> x = np.random.default_rng(0).random((5, 6, 7))
    >>> ref = bigrad.laplacian(x, 0.5, 0.25, 2.0)
    >>> bool(np.allclose(reference_laplacian(x, 0.5, 0.25, 2.0)[1:-1, 1:-1, 1:-1],
    ...                  ref[1:-1, 1:-1, 1:-1]))
    True
    """
    a, b, c = (1.0 / float(h) ** 2 for h in steps)
    out = np.empty_like(x)
    _reference_laplacian(x, a, b, c, out)
    return out


def _runners(inp: Inputs) -> dict[str, Callable[[], Any]]:
    x, xd, sp, case = inp.x, inp.xd, inp.spacings, inp.case
    eo = case.edge_order
    if case.op != "gradient":
        return _operator_runners(inp)
    xa = xr.DataArray(x, dims=("z", "y", "x"), coords=_coords(inp))
    out = {
        METHODS[0]: lambda: bigrad.gradient(x, *sp, edge_order=eo),
        METHODS[1]: lambda: dask.persist(*bigrad.gradient(xd, *sp, edge_order=eo)),
        METHODS[2]: lambda: np.gradient(x, *sp, edge_order=eo),
        METHODS[3]: lambda: dask.persist(*da.gradient(xd, *sp, edge_order=eo)),
        METHODS[4]: lambda: [xa.differentiate(d, edge_order=eo) for d in "zyx"],
    }
    if x.size >= AUTO_MIN_POINTS:  # a tiny run (the tests') compiles nothing for it
        out[REFERENCE] = lambda: reference_gradient(x, *sp)
    return out


def _operator_runners(inp: Inputs) -> dict[str, Callable[[], Any]]:
    """bigrad's derivative or laplacian, and the libraries that compute the same."""
    x, xd, sp, case = inp.x, inp.xd, inp.spacings, inp.case
    acc = case.accuracy
    if case.op == "derivative":

        def ours(v: Any) -> Any:
            return bigrad.derivative(v, sp[2], axis=-1, accuracy=acc)

    else:

        def ours(v: Any) -> Any:
            return bigrad.laplacian(v, *sp, accuracy=acc)

    out: dict[str, Callable[[], Any]] = {
        BIGRAD[0]: lambda: ours(x),
        BIGRAD[1]: lambda: dask.persist(ours(xd)),
    }
    if x.size >= AUTO_MIN_POINTS and case.op == "derivative":
        out[REFERENCE] = lambda: reference_derivative(x, sp[2], acc)
    elif x.size >= AUTO_MIN_POINTS and case.uniform and acc == 2:
        out[REFERENCE] = lambda: reference_laplacian(x, *sp)
    try:
        import findiff
    except ImportError:
        return out
    if case.op == "derivative":
        step = sp[2] if case.uniform else None
        if step is not None:
            op = findiff.Diff(2, step, acc=acc)
            out["findiff"] = lambda: op(x)
    elif case.uniform:
        lap = findiff.Laplacian(h=list(sp), acc=acc)
        out["findiff"] = lambda: lap(x)
        if acc == 2:
            from scipy import ndimage

            # scipy's Laplacian has unit spacing: the same work, other numbers
            out["scipy.ndimage.laplace (unit spacing)"] = lambda: ndimage.laplace(x)
    return out


def _tasks_per_chunk(inp: Inputs) -> dict[str, float]:
    sp, eo, xd = inp.spacings, inp.case.edge_order, inp.xd
    if inp.case.op == "gradient":
        graphs = {
            METHODS[1]: bigrad.gradient(xd, *sp, edge_order=eo),
            METHODS[3]: tuple(da.gradient(xd, *sp, edge_order=eo)),
        }
    else:
        graphs = {BIGRAD[1]: (_lazy_operator(inp),)}
    return {
        k: len(HighLevelGraph.merge(*[a.dask for a in arrs])) / xd.npartitions
        for k, arrs in graphs.items()
    }


def _lazy_operator(inp: Inputs) -> da.Array:
    sp, case = inp.spacings, inp.case
    if case.op == "derivative":
        return bigrad.derivative(inp.xd, sp[2], axis=-1, accuracy=case.accuracy)
    return bigrad.laplacian(inp.xd, *sp, accuracy=case.accuracy)


def _timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t
    del out
    return elapsed


def _compiled(calls: list[Callable[[], Any]]) -> None:
    """Run ``calls`` once with the kernels compiled first: under engine "auto" a call
    takes numpy's kernels while its kernel compiles in the background, and a compile
    may outlast the warm-up round."""
    before = os.environ.get("BIGRAD_ENGINE")
    os.environ["BIGRAD_ENGINE"] = "numba"
    try:
        for call in calls:
            call()
    finally:
        if before is None:
            del os.environ["BIGRAD_ENGINE"]
        else:
            os.environ["BIGRAD_ENGINE"] = before


def time_case(inp: Inputs, repeat: int) -> dict[str, Any]:
    """Per-round times of the copy and of every method, and per-round floor ratios."""
    x = inp.x
    # copies from the input and from a second source, into two destinations: on the
    # development machine an array now and then copies at a third of the usual speed
    # for as long as it lives (its pages' placement), while the methods run at full
    # speed on it; the best pair gives the bandwidth
    other = np.ones_like(x)
    pairs = [(d, src) for src in (x, other) for d in (np.empty_like(x), np.empty_like(x))]
    out_bytes = inp.case.outputs * result_dtype(x.dtype).itemsize * x.size
    traffic = x.nbytes + out_bytes
    runners = _runners(inp)
    times: dict[str, list[float]] = {m: [] for m in ("copy", *runners)}
    ratios: dict[str, list[float]] = {m: [] for m in runners}
    names = list(runners)
    if x.size >= AUTO_MIN_POINTS:  # smaller arrays take numpy's kernels
        _compiled([runners[m] for m in names if m.startswith("bigrad")])
    for r in range(repeat + 1):  # round 0 warms up: page faults, numba caches
        # the first copy pages an idle destination back in; the best of the next three
        # is timed (a single timed copy still caught the machine's idle-memory charge)
        t_copy = np.inf
        for dst, src in pairs:
            np.copyto(dst, src)
            t_copy = min([t_copy] + [_timed(partial(np.copyto, dst, src)) for _ in range(3)])
        floor = traffic / (2 * x.nbytes / t_copy)
        # a different method goes first each round, so none always inherits cold pages
        order = names[r % len(names) :] + names[: r % len(names)]
        round_times = {m: _timed(runners[m]) for m in order}
        if r == 0:
            continue
        times["copy"].append(t_copy)
        for m, t in round_times.items():
            times[m].append(t)
            ratios[m].append(t / floor)
    floors = [traffic / (2 * x.nbytes / t) for t in times["copy"]]
    return {"times": times, "ratios": ratios, "floors": floors, "traffic": traffic}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(cases: list[str], size_mib: float, chunk_mib: float) -> dict[str, Any]:
    """Peak extra resident MiB of each method (run in a child process)."""
    result: dict[str, Any] = {}
    for name in cases:
        inp = _make_inputs(CASES[name], size_mib, chunk_mib)
        runners = _runners(inp)
        # load numba's caches and lazily imported modules before measuring, with the
        # kernels compiled (a call whose kernel compiles takes numpy's kernels and their
        # temporaries) on blocks large enough to take the same kernels as the case
        _compiled(list(_runners(_make_inputs(CASES[name], 1, 0.25, seed=1)).values()))
        for method, fn in runners.items():
            if method == REFERENCE:  # its first call compiles: not a library's memory
                continue
            gc.collect()
            before = _rss_kib("VmRSS")
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")  # reset the peak (VmHWM) to the current RSS
            out = fn()
            peak = _rss_kib("VmHWM")
            del out
            result[f"{name}|{method}"] = (peak - before) / 1024
        del inp, runners
        gc.collect()
    return result


def first_call_latency() -> dict[str, float]:
    """Seconds to import bigrad and to run its first gradients, in fresh processes: a
    small array (numpy's kernels), then one large enough for the compiled kernel (with
    an empty cache, numpy's kernels serve it while the kernel compiles in the
    background), then the whole process (it waits at exit for a compile under way)."""
    code = (
        "import time; t = time.perf_counter(); import numpy as np, bigrad; "
        "t1 = time.perf_counter(); bigrad.gradient(np.ones((8, 8, 8))); "
        "t2 = time.perf_counter(); bigrad.gradient(np.ones((64, 64, 64))); "
        "print(t1 - t, t2 - t1, time.perf_counter() - t2)"
    )
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("empty numba cache (compiles)", "filled numba cache"):
            start = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            whole = time.perf_counter() - start
            imp, small, large = (float(v) for v in run.stdout.split())
            out[f"import bigrad, {label}"] = imp
            out[f"first gradient call 8^3 (numpy's kernels), {label}"] = small
            out[f"first gradient call 64^3, {label}"] = large
            out[f"the whole process, {label}"] = whole
    return out


def _fmt_range(values: list[float], fmt: str) -> str:
    return f"{format(min(values), fmt)}-{format(max(values), fmt)}"


def main(
    size_mib: float = 512,
    repeat: int = 5,
    chunk_mib: float = 64,
    cases: list[str] | None = None,
    threads: int | None = None,
    memory: bool = True,
    latency: bool = True,
) -> dict[str, Any]:
    """Run the benchmark, print its table and return the numbers."""
    cases = cases or list(CASES)
    threads = threads or os.cpu_count() or 1
    os.environ["BIGRAD_THREADS"] = str(threads)
    mem: dict[str, float] = {}
    if memory:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
        args = [sys.executable, __file__, "--memory-child", "--size-mib", str(size_mib)]
        args += ["--chunk-mib", str(chunk_mib), "--cases", *cases]
        run = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
        mem = json.loads(run.stdout.splitlines()[-1])
    first_calls = first_call_latency() if latency else {}

    results: dict[str, Any] = {}
    allocator = os.environ.get("LD_PRELOAD", "") or "system malloc"
    print(
        f"derivatives of a 3-D array of ~{size_mib:g} MiB; dask chunks ~{chunk_mib:g} MiB; "
        f"{threads} threads (numba and dask); {repeat} rounds after a warm-up; allocator: "
        f"{os.path.basename(allocator)} {os.environ.get('MALLOC_CONF', '')}".rstrip()
    )
    header = (
        f"{'case':<34} {'method':<32} {'median s':>9} {'min-max s':>13} "
        f"{'x floor':>8} {'min-max':>11} {'extra MiB':>10} {'tasks/chunk':>11}"
    )
    print(header)
    print("-" * len(header))
    with dask.config.set(scheduler="threads", num_workers=threads):
        for name in cases:
            case = CASES[name]
            inp = _make_inputs(case, size_mib, chunk_mib)
            res = time_case(inp, repeat)
            tasks = _tasks_per_chunk(inp)
            shape = "x".join(map(str, inp.x.shape))
            label = f"{case.label}"
            bw = 2 * inp.x.nbytes / np.median(res["times"]["copy"]) / 1e9
            floor_row = f"floor: copy {bw:.1f} GB/s"
            print(
                f"{label:<34} {floor_row:<32} {np.median(res['floors']):>9.4f} "
                f"{_fmt_range(res['floors'], '.4f'):>13} {1.0:>8.2f}"
            )
            for method in res["ratios"]:
                ts, rs = res["times"][method], res["ratios"][method]
                extra = mem.get(f"{name}|{method}")
                extra_s = "" if extra is None else f"{extra:.0f}"
                tpc = tasks.get(method)
                tpc_s = "" if tpc is None else f"{tpc:.2f}"
                print(
                    f"{shape + ' ' + case.dtype:<34} {method:<32} {np.median(ts):>9.4f} "
                    f"{_fmt_range(ts, '.4f'):>13} {np.median(rs):>8.2f} "
                    f"{_fmt_range(rs, '.2f'):>11} {extra_s:>10} {tpc_s:>11}"
                )
            results[name] = {**res, "tasks": tasks, "input_mib": inp.x.nbytes / 2**20}
            del inp
            gc.collect()
    print("(extra MiB: peak resident memory above the input while the method runs, outputs")
    print(" included; the outputs alone are 3x the input for a gradient, 1x otherwise)")
    for label, seconds in first_calls.items():
        print(f"{label}: {seconds:.2f} s")
    results["memory"] = mem
    results["latency"] = first_calls
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=512, help="input size per case")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (after a warm-up)")
    parser.add_argument("--chunk-mib", type=float, default=64, help="dask chunk size")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory child")
    parser.add_argument(
        "--no-latency",
        action="store_true",
        help="skip the first-call processes (one compiles with an empty cache)",
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.memory_child:
        print(json.dumps(memory_child(a.cases, a.size_mib, a.chunk_mib)))
    else:
        main(
            a.size_mib, a.repeat, a.chunk_mib, a.cases, a.threads, not a.no_memory, not a.no_latency
        )
