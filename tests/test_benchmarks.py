"""Each benchmark runs once at a tiny size (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import bigrad

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_short_axes() -> None:
    module = load("short_axes")
    rows = module.main(size_mib=0.05, repeat=1)
    assert set(rows) == {case[0] for case in module.CASES}
    assert all(r["bigrad"] > 0 and r["speed-up"] > 0 for r in rows.values())


def test_graph_size() -> None:
    rows = load("graph_size").main((16, 16, 16), 4)
    assert rows["bigrad.gradient"] <= 8 < rows["dask.array.gradient"]


# over ten seconds: with -m slow
@pytest.mark.slow
def test_zarr_io(tmp_path: Path) -> None:
    rows = load("zarr_io").main((8, 16, 16), (3, 8, 8), threads=2, repeat=1, workdir=tmp_path)
    assert set(rows) == {"copy3", "bigrad", "bigrad-lowmem", "dask", "xarray"}
    assert all(r["seconds"] > 0 and r["rss_mib"] > 0 for r in rows.values())
    assert rows["copy3"]["x_copy3"] == 1.0
    assert all(r["x_copy3_min"] <= r["x_copy3"] <= r["x_copy3_max"] for r in rows.values())


def test_speed() -> None:
    speed = load("speed")
    results = speed.main(size_mib=0.2, repeat=1, chunk_mib=0.05, latency=False)
    for name, case in speed.CASES.items():
        res = results[name]
        methods = speed.METHODS if case.op == "gradient" else speed.BIGRAD
        for method in methods:
            assert len(res["times"][method]) == 1
            assert res["ratios"][method][0] > 0
            assert f"{name}|{method}" in results["memory"]
        tasks = res["tasks"]
        if case.op == "gradient":
            assert tasks[speed.BIGRAD[1]] < tasks["dask.array.gradient (persisted)"]
        else:
            assert tasks[speed.BIGRAD[1]] <= 4
    assert results["latency"] == {}


def test_speed_reference_loop_is_the_gradients_interior() -> None:
    speed = load("speed")
    rng = np.random.default_rng(0)
    for dtype in ("f4", "f8"):
        x = rng.random((5, 6, 7)).astype(dtype)
        spacings = (0.5, np.cumsum(0.5 + rng.random(6)), 2.0)
        inner = (slice(1, -1),) * 3
        ours_all, refs = speed.reference_gradient(x, *spacings), np.gradient(x, *spacings)
        for ours, ref in zip(ours_all, refs, strict=True):
            assert ours.dtype == x.dtype
            np.testing.assert_allclose(ours[inner], ref[inner], rtol=1e-5)


def test_speed_reference_loops_are_the_operators_interior() -> None:
    speed = load("speed")
    rng = np.random.default_rng(1)
    coordinate = np.cumsum(0.5 + rng.random(20))
    for dtype in ("f4", "f8"):
        x = rng.random((3, 4, 20)).astype(dtype)
        for spacing in (0.5, coordinate):
            for accuracy in (4, 6):
                r = accuracy // 2
                ours = speed.reference_derivative(x, spacing, accuracy)
                ref = bigrad.derivative(x, spacing, axis=-1, accuracy=accuracy)
                assert ours.dtype == x.dtype
                np.testing.assert_allclose(ours[..., r:-r], ref[..., r:-r], rtol=1e-5)
    x = rng.random((5, 6, 7))
    inner = (slice(1, -1),) * 3
    ours, ref = speed.reference_laplacian(x, 0.5, 0.25, 2.0), bigrad.laplacian(x, 0.5, 0.25, 2.0)
    np.testing.assert_allclose(ours[inner], ref[inner], rtol=1e-12)


# a process compiling with an empty numba cache: with -m slow
@pytest.mark.slow
def test_speed_first_calls() -> None:
    latency = load("speed").first_call_latency()
    assert len(latency) == 8 and all(v >= 0 for v in latency.values())


# over ten seconds: with -m slow
@pytest.mark.slow
def test_cluster(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("distributed")
    rows = load("cluster").main((8, 16, 16), (3, 8, 8), memory_limit="1GiB", repeat=1,
                                workdir=tmp_path)  # fmt: skip
    assert set(rows) == {"copy3", "bigrad", "bigrad graph", "dask"}
    for row in rows.values():
        assert row["seconds"] > 0 and row["client_pct"] >= 0
        assert row["events"] == []  # no worker paused or lost at this size
        assert row["largest_task"] or row["workers_pct"] == 0  # what moved, if anything


def test_sphere() -> None:
    rows = load("sphere").main(steps=2, repeat=1, nlat=19, nlon=36)
    assert set(rows) == {"floor", "bigrad", "bigrad (dask)", "MetPy"}
    assert rows["floor"]["x_floor"] == 1.0
    assert all(r["seconds"] > 0 and r["x_floor"] > 0 for r in rows.values())
    rows = load("sphere").main(steps=2, repeat=1, nlat=19, nlon=36, operator="laplacian")
    assert set(rows) == {"floor", "bigrad", "bigrad (dask)"}  # no MetPy counterpart


# over ten seconds: with -m slow
@pytest.mark.slow
def test_sphere_zarr(tmp_path: Path) -> None:
    rows = load("sphere_zarr").main(steps=3, nlat=19, nlon=36, chunks=(2, 19, 36), repeat=1,
                                    workdir=tmp_path, warmup=False)  # fmt: skip
    assert set(rows) == {"copy2", "vorticity"}
    assert rows["copy2"]["x_copy2"] == 1.0
    assert all(r["seconds"] > 0 and r["rss_mib"] > 0 for r in rows.values())


# over ten seconds: with -m slow
@pytest.mark.slow
def test_netcdf_io(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("h5netcdf", reason="the NetCDF benchmark writes NetCDF-4 (test extra)")
    rows = load("netcdf_io").main((8, 16, 16), (3, 8, 8), threads=2, repeat=1, workdir=tmp_path,
                                  methods=("bigrad",))  # fmt: skip
    assert set(rows) == {"copy", "bigrad", "kernels"}
    assert all(r["rss_mib"] > 0 for r in rows.values())
    assert all(r["seconds"] > 0 for m, r in rows.items() if m != "kernels")
    assert rows["copy"]["x_copy_rss"] == 1.0


# over ten seconds: with -m slow
@pytest.mark.slow
def test_smoothing() -> None:
    results = load("smoothing").main(size_mib=0.05, repeat=1)
    assert all(len(v) == 1 and v[0] > 0 for v in results.values())
    assert "gradient 30% land, one-sided" in results and "3-D nan/plain" in results


# over ten seconds under load: with -m slow
@pytest.mark.slow
def test_kernel_paired() -> None:
    import pytest

    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=BENCHMARKS, capture_output=True).returncode:
        pytest.skip("kernel_paired.py reads the old kernel from git: not a git checkout")
    # one case: each kernel compiles once per dtype and one-pass width
    results = load("kernel_paired").main(size_mib=0.02, repeat=1, old="HEAD", only="f8 uniform lap")
    assert list(results) == ["f8 uniform laplacian acc 2", "f8 uniform laplacian acc 4"]
    for res in results.values():
        assert len(res["ratio"]) == len(res["cpu ratio"]) == 1
        assert res["old"][0] > 0 and res["new"][0] > 0
