"""The numba kernel against np.gradient, bit for bit, on layouts and dtypes the shared
numeric tests do not reach, and the choice between the numba and numpy kernels."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest

import bigrad
from bigrad import kernels
from bigrad.core.weights import StencilSpec, axis_rules
from tests.helpers import assert_matches_numpy

RNG = np.random.default_rng(7)


def cube(shape: tuple[int, ...], dtype: str = "f8") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def coordinate(n: int) -> np.ndarray:
    return np.cumsum(0.5 + RNG.random(n))


@pytest.mark.parametrize(
    "f",
    [
        cube((5, 6, 7)),
        np.asfortranarray(cube((5, 6, 7))),  # transposed internally
        cube((10, 6, 14))[::2, :, 1::2],  # copied to C order
        cube((3, 4, 5, 6)),
        cube((3, 4, 5, 6, 3)),  # five dimensions: numpy kernels
        cube((40,), "f4"),
        (cube((6, 7)) + 1j * cube((6, 7))).astype("c8"),
        (RNG.integers(-1000, 1000, (6, 7))).astype("i2"),
        cube((6, 7), "f2"),  # numpy kernels
    ],
    ids=["C", "F", "strided", "4d", "5d", "f4-1d", "c8", "i2", "f2"],
)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_layouts_and_dtypes(f: np.ndarray, edge_order: int, monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    spacing = [coordinate(n) if k % 2 else 0.5 for k, n in enumerate(f.shape)]
    expected = np.gradient(f, *spacing, edge_order=edge_order)
    got = bigrad.gradient(f, *spacing, edge_order=edge_order)
    assert_matches_numpy(got, expected)
    if f.flags.f_contiguous and not f.flags.c_contiguous:
        assert all(g.flags.f_contiguous for g in got)


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("shape", [(100003, 3), (40001, 3, 5), (7, 30011, 3)])
def test_short_trailing_axes(shape: tuple[int, ...], threads: str, monkeypatch: Any) -> None:
    # planes of a few points are taken many at a time: spans, a shorter last one, on one
    # thread or handed out in runs; components written alone, summed, and scaled
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    monkeypatch.setenv("BIGRAD_THREADS", threads)
    f = cube(shape)
    spacing = [coordinate(n) if k == 1 else 0.5 for k, n in enumerate(shape)]
    assert_matches_numpy(bigrad.gradient(f, *spacing, edge_order=2), np.gradient(f, *spacing,
                                                                                edge_order=2))  # fmt: skip
    long = tuple(a for a, n in enumerate(shape) if n >= 7)  # summed: (7, 30011, 3)
    lap = bigrad.laplacian(f, axis=long, accuracy=4)
    monkeypatch.setenv("BIGRAD_ENGINE", "numpy")
    np.testing.assert_array_equal(lap, bigrad.laplacian(f, axis=long, accuracy=4))
    if len(shape) == 3:  # a metric per latitude (axis 1), written as the output is
        lat, lon = np.linspace(-60.0, 60.0, shape[1]), np.arange(shape[2]) * 7.5
        want = bigrad.geospatial_gradient(f, lat, lon, periodic=False)
        monkeypatch.setenv("BIGRAD_ENGINE", "numba")
        got = bigrad.geospatial_gradient(f, lat, lon, periodic=False)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_read_only_input_and_periodic_axis(monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = cube((6, 7, 8))
    f.flags.writeable = False
    got = bigrad.gradient(f, 1.0, 2.0, 3.0, periodic=1)
    padded = np.gradient(np.pad(f, [(0, 0), (1, 1), (0, 0)], mode="wrap"), 1.0, 2.0, 3.0)
    assert_matches_numpy(got, tuple(p[:, 1:-1] for p in padded))


def test_float32_stays_float32_and_is_accurate(monkeypatch: Any) -> None:
    # a large offset makes the three-point sum cancel: float64 products keep numpy's
    # accuracy where float32 products would lose it
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = (1000.0 + cube((9, 10, 11))).astype("f4")
    x = [coordinate(n) for n in f.shape]
    got = bigrad.gradient(f, *x, edge_order=2)
    assert all(g.dtype == np.float32 for g in got)
    assert_matches_numpy(got, np.gradient(f, *x, edge_order=2))


def rules(n: int, spacing: Any, edge_order: int = 1, dtype: str = "f8") -> Any:
    return axis_rules(n, spacing, StencilSpec(edge_order=edge_order), np.dtype(dtype))


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("dx", [0.3, np.float32(0.7), 3])
def test_float32_uniform_spacing_is_numpys_float32_division(
    engine: str, dx: Any, monkeypatch: Any
) -> None:
    # numpy divides float32 differences by float32(2 dx) (and by float32(dx) at
    # edge_order=1 edges): the kernels divide as numpy does
    monkeypatch.setenv("BIGRAD_ENGINE", engine)
    f = (100.0 * cube((7, 9, 83))).astype("f4")
    for chunks in (None, (3, 4, 40)):
        source = f if chunks is None else da.from_array(f, chunks=chunks)
        got = bigrad.gradient(source, dx, dx, dx)
        for g, e in zip(got, np.gradient(f, dx, dx, dx), strict=True):
            np.testing.assert_array_equal(np.asarray(g), e)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_issue_reproducers_are_bitwise(engine: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", engine)
    # multiplying by reciprocals where numpy divides gave 0.033333333333333326 here
    f = np.array([0.1, 0.1, 0.3])
    assert bigrad.gradient(f, 3.0).tolist() == np.gradient(f, 3.0).tolist()
    x = np.arange(10.0) ** 2
    c = np.array([0, 1, 3, 6, 7, 9, 12, 13, 15, 20.0])
    assert bigrad.gradient(x, c)[9] == np.gradient(x, c)[9] == 3.4


def test_float32_with_float64_spacing_is_numpys_float64_division(monkeypatch: Any) -> None:
    # a float64 spacing makes numpy divide in float64 and round to float32
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = cube((6, 8, 40), "f4")
    dx = np.float64(0.3)
    got = bigrad.gradient(f, dx, dx, dx)
    assert all(g.dtype == np.float32 for g in got)
    assert_matches_numpy(got, np.gradient(f, dx, dx, dx))


def test_dask_blocks_use_the_same_kernels(monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = cube((9, 10, 11), "f4")
    x = coordinate(10)
    got = bigrad.gradient(da.from_array(f, chunks=(2, 3, 4)), 1.0, x, 2.0, edge_order=2)
    assert_matches_numpy(got, np.gradient(f, 1.0, x, 2.0, edge_order=2))


def test_masked_arrays_keep_numpy_semantics(monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = np.ma.array(cube((5, 6)), mask=np.zeros((5, 6), bool))
    f.mask[2, 3] = True
    got = bigrad.gradient(f)
    assert all(isinstance(g, np.ma.MaskedArray) for g in got)


@pytest.mark.parametrize(
    ("engine", "n", "compiled"),
    [("numpy", 5, False), ("numba", 5, True), ("auto", 5, False),
     ("numpy", 16385, False), ("auto", 16385, True)],
)  # fmt: skip
def test_engine_argument_selects_the_kernels(
    engine: str, n: int, compiled: bool, monkeypatch: Any
) -> None:
    # "auto" leaves blocks under AUTO_MIN_POINTS to numpy: (5, 6) under, (16385, 6) over
    assert 5 * 6 < kernels.AUTO_MIN_POINTS <= 16385 * 6
    calls: list[bool] = []
    from bigrad.kernels import numba as numba_kernel

    real = numba_kernel.apply_block

    def spy(*args: Any) -> Any:
        calls.append(True)
        return real(*args)

    monkeypatch.setattr(numba_kernel, "apply_block", spy)
    f = cube((n, 6))
    out = kernels.block_derivatives(f, [(f[:0], f[:0])], [rules(n, 1.0)], [0], engine=engine)
    assert_matches_numpy(out[0], np.gradient(f, axis=0))
    assert calls == ([True] if compiled else [])


def test_unknown_engine_refused(monkeypatch: Any) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "cuda")
    with pytest.raises(ValueError, match="engine must be one of"):
        bigrad.gradient(np.arange(5.0))


def test_numpy_input_from_several_threads(monkeypatch: Any) -> None:
    # e.g. bigrad.gradient inside dask's map_blocks: numba's default threading layer
    # must not be entered by two parallel kernels at once
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    blocks = [cube((20, 30, 40)) for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(bigrad.gradient, blocks))
    for f, got in zip(blocks, results, strict=True):
        assert_matches_numpy(got, np.gradient(f))


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("layout", ["C", "F", "strided-out"])
def test_out_receives_the_results(engine: str, layout: str) -> None:
    f = cube((5, 6, 7))
    if layout == "F":
        f = np.asfortranarray(f)
    sts = [rules(n, coordinate(n), 2) for n in f.shape]
    empty = [(f[(slice(None),) * a + (slice(0, 0),)],) * 2 for a in range(3)]
    out = [np.full_like(f, np.nan, order="C") for _ in range(3)]
    if layout == "strided-out":  # not C-contiguous: the kernel writes a copy into it
        out = [np.full((5, 6, 14), np.nan)[:, :, ::2] for _ in range(3)]
    got = kernels.block_derivatives(f, empty, sts, [0, 1, 2], engine=engine, out=out)
    assert all(g is o for g, o in zip(got, out, strict=True))
    fresh = kernels.block_derivatives(f, empty, sts, [0, 1, 2], engine=engine)
    for g, e in zip(got, fresh, strict=True):
        np.testing.assert_array_equal(g, e)


def test_out_of_the_wrong_shape_or_dtype_is_refused() -> None:
    f = cube((4, 5))
    st = rules(4, 1.0)
    empty = (f[:0], f[:0])
    with pytest.raises(ValueError, match="out arrays must have"):
        kernels.block_derivatives(f, [empty], [st], [0], out=[np.empty((4, 5), "f4")])
    with pytest.raises(ValueError, match="one per output"):
        kernels.block_derivatives(f, [empty], [st], [0], out=[])


@pytest.mark.parametrize("dtype", ["f8", "f4"])
@pytest.mark.parametrize("uniform", [True, False])
def test_nan_and_inf_land_where_numpy_puts_them(
    dtype: str, uniform: bool, monkeypatch: Any
) -> None:
    # masked land in a climate field arrives as NaN: a NaN must spoil exactly the
    # points whose stencil reads it, in every kernel path (fused rows, rows next to a
    # block face, edges), and infinities must give numpy's inf or NaN
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = cube((9, 10, 11), dtype)
    f[RNG.random(f.shape) < 0.05] = np.nan
    f[4, 5, 6], f[0, 0, 0], f[8, 9, 10] = np.inf, -np.inf, np.inf
    spacing = [0.5, 2.0, 0.25] if uniform else [coordinate(n) for n in f.shape]
    for edge_order in (1, 2):
        expected = np.gradient(f, *spacing, edge_order=edge_order)
        for source in (f, da.from_array(f, chunks=(2, 3, 5))):
            got = bigrad.gradient(source, *spacing, edge_order=edge_order)
            for g, e in zip(got, expected, strict=True):
                g = np.asarray(g)
                np.testing.assert_array_equal(np.isnan(g), np.isnan(e))
                np.testing.assert_array_equal(np.isinf(g) * np.sign(g), np.isinf(e) * np.sign(e))
                finite = np.isfinite(e)
                scale = float(np.max(np.abs(e[finite])))
                rtol = 2e-6 if dtype == "f4" else 1e-12
                np.testing.assert_allclose(g[finite], e[finite], rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize(
    ("shape", "chunks", "axes"),
    [
        ((6, 7, 40), (1, 7, 40), (0, 1, 2)),  # one plane per block: every row by a face
        ((6, 7, 40), (6, 2, 13), (0, 1, 2)),
        ((6, 7, 40), (4, 3, 40), (1, 2)),  # two components fused
        ((60, 4, 5), (60, 4, 5), (1, 2)),  # axis 0 longer than the others, not asked
        ((6, 7, 40), (4, 3, 40), (0, 2)),  # component by component
        ((6, 7, 3), (3, 3, 2), (0, 1, 2)),  # rows too short to fuse
        ((7, 40), (3, 40), (0, 1)),
        ((3, 4, 5, 30), (2, 3, 2, 30), (0, 1, 2, 3)),  # 4-D: slabs, then axis 0
    ],
)
def test_kernel_paths_on_blocks(
    shape: tuple[int, ...], chunks: tuple[int, ...], axes: tuple[int, ...], monkeypatch: Any
) -> None:
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    f = cube(shape)
    # uniform and non-uniform axes side by side: the fused loop needs one kind
    for mixed in (False, True):
        spacing = [
            coordinate(shape[a]) if (mixed and k % 2) or not mixed else 0.5
            for k, a in enumerate(axes)
        ]
        for edge_order in (1, 2):
            expected = np.gradient(f, *spacing, axis=axes, edge_order=edge_order)
            got = bigrad.gradient(
                da.from_array(f, chunks=chunks), *spacing, axis=axes, edge_order=edge_order
            )
            assert_matches_numpy(got, expected)
            assert_matches_numpy(
                bigrad.gradient(f, *spacing, axis=axes, edge_order=edge_order), expected
            )


@pytest.mark.parametrize(
    ("dtype", "ndim"), [("f4", 3), ("f8", 1), ("i2", 2), ("c8", 4), ("M8[s]", 2), ("f2", 5)]
)
def test_preload_accepts_what_a_store_holds(dtype: str, ndim: int) -> None:
    kernels.preload(np.dtype(dtype), ndim)


_LONG_LINE = """
import resource, sys
import numpy as np
import bigrad

bigrad.gradient(np.zeros((1, 64), np.float32), axis=1)  # load the kernel first
f = np.zeros((1, 20_000_000), np.float32)
f[0, ::7] = 1.0
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
g = bigrad.gradient(f, axis=1)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
assert np.array_equal(g, np.gradient(f, axis=1))
print((after - before) / f.nbytes)
"""


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_long_line_needs_no_more_than_its_output(engine: str) -> None:
    # a (1, 2e7) float32 line along its long axis: no per-point tables, no copies
    import os
    import subprocess
    import sys

    env = {**os.environ, "BIGRAD_ENGINE": engine}
    run = subprocess.run([sys.executable, "-c", _LONG_LINE], capture_output=True, text=True,
                         env=env, timeout=240)  # fmt: skip
    assert run.returncode == 0, run.stderr
    growth = float(run.stdout.split()[-1])
    # the output itself (1x the input) plus allocator slack; numpy's reference kernel
    # makes one temporary of the line's size
    assert growth <= (1.2 if engine == "numba" else 2.2), growth


def test_first_compile_says_so_once(tmp_path: Any) -> None:
    # a fresh numba cache, as in a new clone: the first call compiles, and says so once
    import os
    import subprocess
    import sys

    from tests.zarr_helpers import ROOT

    # (small arrays take numpy's kernels and compile nothing); the calls do not wait for
    # the compile: numpy's kernels give them the same numbers meanwhile, and the process
    # waits for it at exit, so that numba caches it
    code = (
        "import numpy as np, bigrad\nfrom bigrad.kernels import numba as k\n"
        "for n in (8, 300, 300):\n"
        "    x = np.random.default_rng(n).random((n, 301))\n"
        "    same = all(np.array_equal(a, b) for a, b in zip(bigrad.gradient(x), np.gradient(x)))\n"
        "    print(same, len(k._pending), len(k._loaded))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=240
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("bigrad: compiling kernels for float64 data (first use") == 1, (
        result.stderr
    )
    assert "numpy's kernels meanwhile" in result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "True 0 0" and lines[1] == "True 1 0", result.stdout
    # the next process loads them from the cache, and says nothing however long that takes
    again = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=240
    )
    assert again.returncode == 0 and "compiling" not in again.stderr, again.stderr


WIDE_CALLS = {
    "derivative acc 4": lambda f, h: bigrad.derivative(f, h, axis=-1, accuracy=4),
    "derivative acc 6 axis 0": lambda f, h: bigrad.derivative(f, h, axis=0, accuracy=6),
    "second derivative acc 4 axis 1": lambda f, h: bigrad.derivative(
        f, h, axis=1, order=2, accuracy=4
    ),
    "laplacian acc 2": lambda f, h: bigrad.laplacian(f, h, accuracy=2),
    "laplacian acc 4": lambda f, h: bigrad.laplacian(f, h, accuracy=4),
    "savgol 11 axis 0": lambda f, h: bigrad.savgol_derivative(f, 11, 3, axis=0, spacing=h),
    "gaussian axis -1": lambda f, h: bigrad.gaussian_derivative(f, 1.1, axis=-1, spacing=h),
}


@pytest.mark.parametrize(
    ("call", "dtype"),
    # each width compiles a kernel per dtype: every width in float64, one in float32
    [(call, "f8") for call in WIDE_CALLS] + [("laplacian acc 4", "f4")],
)
def test_one_pass_sums_match_the_reference_kernel(call: str, dtype: str, monkeypatch: Any) -> None:
    """Uniform stencils of 3 to 11 points, summed in one pass by the numba kernel (rows
    inside a block) and through the passes (rows reaching a halo): the numpy kernel's
    numbers bit for bit, with inf and NaN where they fall."""
    f = cube((40, 30, 36), dtype)
    f[3, 4, 5], f[20, 2, 17] = np.inf, np.nan
    fn = WIDE_CALLS[call]
    monkeypatch.setenv("BIGRAD_ENGINE", "numpy")
    expected = fn(f, 0.5)
    monkeypatch.setenv("BIGRAD_ENGINE", "numba")
    # blocks of 2**14 points or more take the one-pass sums, smaller ones the passes
    for x in (f, da.from_array(f, chunks=(20, 30, 36)), da.from_array(f, chunks=(7, 5, 11))):
        got = np.asarray(fn(x, 0.5))
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


FUSED_CHUNKS = {
    (40, 50, 80): [None, (40, 50, 80), (20, 50, 80), (40, 25, 80), (40, 50, 40), (20, 25, 40)],
    (200, 90): [None, (90, 90), (200, 45)],
}


@pytest.mark.parametrize("shape", list(FUSED_CHUNKS), ids=["3d", "2d"])
# each accuracy and subset of axes compiles fused kernels of its own (from an empty cache,
# 8-34 s an accuracy): accuracy 2 by default, 4 and 6 with -m slow
@pytest.mark.parametrize(
    "accuracy",
    [2, pytest.param(4, marks=pytest.mark.slow), pytest.param(6, marks=pytest.mark.slow)],
)
def test_fused_laplacian_matches_the_reference_kernel(
    shape: tuple[int, ...], accuracy: int, monkeypatch: Any
) -> None:
    """A Laplacian of uniform float64 data sums its components in one pass inside each
    block (of 2**14 points or more) and takes them one by one around it, next to the
    block's faces, its halos and a periodic axis: the numpy kernel's numbers bit for
    bit, with inf and NaN where they fall."""
    from bigrad.kernels import numba as compiled

    fused: list[bool] = []
    fusion = compiled._fusion
    monkeypatch.setattr(
        compiled, "_fusion", lambda *a: fused.append(fusion(*a) is not None) or fusion(*a)
    )
    f = cube(shape)
    f[(3,) * f.ndim], f[(17,) * f.ndim] = np.inf, np.nan
    spacing = (0.5, 0.25, 2.0)[: f.ndim]
    calls = [{}, {"periodic": f.ndim - 1}, {"axis": (0, f.ndim - 1)}]
    for kw in calls:
        h = spacing[: len(kw.get("axis", spacing))]
        monkeypatch.setenv("BIGRAD_ENGINE", "numpy")
        expected = bigrad.laplacian(f, *h, accuracy=accuracy, **kw)
        monkeypatch.setenv("BIGRAD_ENGINE", "numba")
        for chunks in FUSED_CHUNKS[shape]:
            x = f if chunks is None else da.from_array(f, chunks=chunks)
            np.testing.assert_array_equal(
                np.asarray(bigrad.laplacian(x, *h, accuracy=accuracy, **kw)), expected
            )
    assert any(fused), "no block took the fused sums"
    # float32 data is summed in float64: its components are not fused
    fused.clear()
    bigrad.laplacian(f.astype("f4"), *spacing, accuracy=accuracy)
    assert fused == [False]


def test_nan_aware_compile_says_so_once(tmp_path: Any) -> None:
    # nan="one-sided" waits for its kernels on a first call: said once per dtype, and
    # not at all when the next process loads them from numba's cache
    import os
    import subprocess
    import sys

    from tests.zarr_helpers import ROOT

    code = (
        "import numpy as np, bigrad\n"
        "f = np.random.default_rng(0).random((300, 301)); f[100:150, 40:90] = np.nan\n"
        "for _ in range(2):\n"
        "    bigrad.gradient(f, nan='one-sided')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path),
           "BIGRAD_ENGINE": "auto"}  # fmt: skip
    said = "bigrad: compiling NaN-aware kernels for float64 data (first use"
    for count in (1, 0):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=240)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert run.stderr.count(said) == count, run.stderr
