"""The sphere operators out of core: ``kinematics_zarr`` (vorticity, divergence),
``gradient_zarr(geometry="sphere")`` and their commands, on real Zarr stores and NetCDF
files, equal to the accessor on the data in memory, resumable, sources never modified."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import bigrad
from bigrad.cli.main import main
from tests.test_sphere import rossby_haurwitz
from tests.zarr_helpers import ROOT, contents, run_cli, snapshot, write_store

GLOBAL = (np.linspace(-90.0, 90.0, 13), np.arange(0.0, 360.0, 30.0))  # poles, wraps
REGIONAL = (np.array([-20.0, -12.5, -3.0, 0.0, 4.0, 15.0, 31.0]), np.arange(100.0, 150.0, 5.0))


def winds(lat: np.ndarray, lon: np.ndarray, nt: int = 3, dtype: str = "f4") -> xr.Dataset:
    """A Rossby-Haurwitz wind, scaled per time step, with noise (so no symmetry hides
    a halo from the wrong side), and a temperature, on a CF grid."""
    u, v, _ = rossby_haurwitz(lat, lon)
    rng = np.random.default_rng(1)
    scale = np.arange(1, nt + 1)[:, None, None]
    noise = rng.normal(0, 0.5, (2, nt, lat.size, lon.size))
    dims = ("time", "lat", "lon")
    ms = {"units": "m s-1"}
    return xr.Dataset(
        {"u": (dims, (scale * u + noise[0]).astype(dtype), ms),
         "v": (dims, (scale * v + noise[1]).astype(dtype), ms),
         "T": (dims, (280 + scale * u / 10).astype(dtype), {"units": "K"})},
        coords={"time": np.arange(nt), "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
        attrs={"title": "winds"},
    )  # fmt: skip


# one row per layout: grid, store chunks (size-1 chunks along lat and lon, chunks that
# cut the wrap, one block), accuracy
CASES = [
    (GLOBAL, {"time": 2, "lat": 1, "lon": 1}, 2),  # size-1 chunks, wrap across blocks
    pytest.param(  # lon whole: the wrap within a block (over ten seconds: -m slow)
        GLOBAL, {"time": 3, "lat": 5, "lon": 12}, 4, marks=pytest.mark.slow
    ),
    (REGIONAL, {"time": 2, "lat": 1, "lon": 3}, 2),  # regional, uneven latitudes
    (REGIONAL, {"time": 3, "lat": 3, "lon": 1}, 4),
]


@pytest.mark.usefixtures("engine")  # the compiled kernel: scaled and two-input blocks
@pytest.mark.parametrize(("grid", "chunks", "accuracy"), CASES)
def test_kinematics_equal_the_accessor(tmp_path: Path, grid: tuple[np.ndarray, np.ndarray],
                                       chunks: dict[str, int], accuracy: int) -> None:  # fmt: skip
    ds = winds(*grid)
    src = write_store(ds, tmp_path / "in.zarr", chunks)
    before = snapshot(src)
    out = bigrad.kinematics_zarr(src, tmp_path / "out.zarr", ["vorticity", "divergence"],
                                 accuracy=accuracy, threads=2)  # fmt: skip
    for what in ("vorticity", "divergence"):
        expected = getattr(ds.bigrad, what)("u", "v", accuracy=accuracy)
        np.testing.assert_array_equal(out[what].values, expected.values)
        assert out[what].dtype == np.float32
        assert out[what].attrs["units"] == "s-1"
        assert out[what].attrs["long_name"] == expected.attrs["long_name"]
        assert out[what].encoding["chunks"] == tuple(chunks[d] for d in ("time", "lat", "lon"))
    assert out.vorticity.attrs["long_name"] == "relative vorticity"
    assert snapshot(src) == before


@pytest.mark.parametrize("dtype", ["f8", "f2"])
def test_kinematics_of_other_dtypes(tmp_path: Path, dtype: str) -> None:
    # float64 takes the blocks' in-place path as float32 does; float16 derivatives are
    # float16 and their sum float32, the path of the array function on dask
    ds = winds(*REGIONAL, nt=2, dtype=dtype)
    src = write_store(ds, tmp_path / "in.zarr", {"time": 1, "lat": 3, "lon": 4})
    out = bigrad.kinematics_zarr(src, tmp_path / "out.zarr", ["divergence", "vorticity"])
    for what in ("vorticity", "divergence"):
        expected = getattr(ds.bigrad, what)("u", "v")
        assert out[what].dtype == expected.dtype == np.result_type(dtype, np.float32)
        np.testing.assert_array_equal(out[what].values, expected.values)


@pytest.mark.parametrize(("grid", "chunks", "accuracy"), CASES[1:3])
def test_sphere_gradient_equals_the_accessor(tmp_path: Path, grid: tuple[np.ndarray, np.ndarray],
                                             chunks: dict[str, int], accuracy: int) -> None:  # fmt: skip
    ds = winds(*grid)
    src = write_store(ds, tmp_path / "in.zarr", chunks)
    out = bigrad.gradient_zarr(src, tmp_path / "out.zarr", variables=["T", "u"],
                               geometry="sphere", accuracy=accuracy)  # fmt: skip
    for name in ("T", "u"):
        expected = ds[name].bigrad.geospatial_gradient(accuracy=accuracy)
        for key, value in expected.data_vars.items():
            np.testing.assert_array_equal(out[key].values, value.values)
            assert out[key].attrs == value.attrs
    assert out.dT_dx.attrs["units"] == "K m-1"
    assert set(out.data_vars) == {"dT_dx", "dT_dy", "du_dx", "du_dy"}


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(("grid", "chunks"), [(GLOBAL, {"lat": 1, "lon": 1}),
                                              (GLOBAL, {"lat": 5, "lon": 12}),
                                              (REGIONAL, {"time": 1, "lat": 2, "lon": 3})])  # fmt: skip
def test_sphere_gradient_with_land(tmp_path: Path, grid: tuple[np.ndarray, np.ndarray],
                                   chunks: dict[str, int]) -> None:  # fmt: skip
    # nan="one-sided" out of core: land across the ends of a global longitude, on
    # chunk faces, single points; the command's --nan too
    ds = winds(*grid)
    land = np.zeros(ds["T"].shape[1:], bool)
    land[2:4, -2:] = land[2:4, :2] = land[4, 4] = land[:, 5] = True
    ds["T"] = ds["T"].where(~land)
    src = write_store(ds, tmp_path / "in.zarr", chunks)
    out = bigrad.gradient_zarr(src, tmp_path / "out.zarr", variables="T", geometry="sphere",
                               nan="one-sided")  # fmt: skip
    expected = ds["T"].bigrad.geospatial_gradient(nan="one-sided")
    for key, value in expected.data_vars.items():
        np.testing.assert_array_equal(out[key].values, value.values)
        assert out[key].attrs == value.attrs
    # NaN on land only: the coast keeps its values (no run of one point here)
    assert np.array_equal(np.isnan(out.dT_dy.values[0]), land)
    assert main(["gradient", str(src), str(tmp_path / "cli.zarr"), "--var", "T", "--geometry",
                 "sphere", "--nan", "one-sided", "-q"]) == 0  # fmt: skip
    cli = xr.open_zarr(tmp_path / "cli.zarr")
    np.testing.assert_array_equal(cli.dT_dx.values, expected.dT_dx.values)


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(("grid", "chunks"), [(GLOBAL, {"lat": 1, "lon": 1}),
                                              (GLOBAL, {"time": 2, "lat": 5, "lon": 12}),
                                              (REGIONAL, {"lat": 3, "lon": 2})])  # fmt: skip
def test_kinematics_with_land(tmp_path: Path, grid: tuple[np.ndarray, np.ndarray],
                              chunks: dict[str, int]) -> None:  # fmt: skip
    ds = winds(*grid, dtype="f8")
    land = np.zeros(ds["u"].shape[1:], bool)
    land[2:4, -2:] = land[2:4, :2] = land[4, 4] = land[:, 5] = True
    ds = ds.where(~land)
    src = write_store(ds, tmp_path / "in.zarr", chunks)
    out = bigrad.kinematics_zarr(src, tmp_path / "out.zarr", ["vorticity", "divergence"],
                                 nan="one-sided")  # fmt: skip
    for what in ("vorticity", "divergence"):
        expected = getattr(ds.bigrad, what)("u", "v", nan="one-sided")
        np.testing.assert_array_equal(out[what].values, expected.values)
        assert out[what].attrs == expected.attrs
    poles = np.abs(grid[0]) == 90.0
    assert np.array_equal(np.isnan(out.vorticity.values[0]), land | poles[:, None])
    assert main(["divergence", str(src), str(tmp_path / "cli.zarr"), "--nan", "one-sided",
                 "-q"]) == 0  # fmt: skip
    cli = xr.open_zarr(tmp_path / "cli.zarr")
    np.testing.assert_array_equal(cli.divergence.values, out.divergence.values)


@pytest.mark.parametrize("which", ["gradient", "winds"])
def test_resume_keeps_nan(tmp_path: Path, which: str) -> None:
    # a run stopped half way resumes only with the nan it started with
    ds = winds(*GLOBAL, nt=2, dtype="f8")
    ds = ds.where(ds.lat < 60.0)  # land: the northern rows
    src = write_store(ds, tmp_path / "in.zarr", {"time": 1, "lat": 3})
    target = tmp_path / "out.zarr"

    def run(**kw: Any) -> xr.Dataset:
        if which == "gradient":
            return bigrad.gradient_zarr(src, target, "T", geometry="sphere", **kw)
        return bigrad.kinematics_zarr(src, target, "divergence", **kw)

    def stop_halfway(done: int, total: int) -> None:
        if done == total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(nan="one-sided", progress=stop_halfway, threads=1)
    with pytest.raises(ValueError, match=r"different job \(differs in nan\)"):
        run(mode="resume")
    out = run(mode="resume", nan="one-sided")
    if which == "gradient":
        want = ds["T"].bigrad.geospatial_gradient(nan="one-sided")["dT_dx"]
        np.testing.assert_array_equal(out.dT_dx.values, want.values)
    else:
        want = ds.bigrad.divergence("u", "v", nan="one-sided")
        np.testing.assert_array_equal(out.divergence.values, want.values)


def test_auto_geometry_follows_the_dims(tmp_path: Path) -> None:
    ds = winds(*REGIONAL)
    src = write_store(ds, tmp_path / "in.zarr", {"lat": 2, "lon": 4})
    auto = bigrad.gradient_zarr(src, tmp_path / "a.zarr", "T", ["lat", "lon"], geometry="auto")
    assert set(auto.data_vars) == {"dT_dx", "dT_dy"}
    plain = bigrad.gradient_zarr(src, tmp_path / "p.zarr", "T", geometry="auto")
    assert set(plain.data_vars) == {"dT_dtime", "dT_dlat", "dT_dlon"}


def test_netcdf_source(tmp_path: Path) -> None:
    pytest.importorskip("h5netcdf", reason="NetCDF-4 files need h5netcdf (the test extra has it)")
    ds = winds(*GLOBAL)
    nc = tmp_path / "winds.nc"
    ds.to_netcdf(nc, engine="h5netcdf", encoding={"u": {"chunksizes": (1, 4, 5)}})
    before = snapshot(tmp_path)
    out = bigrad.kinematics_zarr(nc, tmp_path / "out.zarr", "divergence")
    np.testing.assert_array_equal(out.divergence.values, ds.bigrad.divergence("u", "v").values)
    assert snapshot(tmp_path)["winds.nc"] == before["winds.nc"]


def test_commands(tmp_path: Path) -> None:
    ds = winds(*GLOBAL).rename(u="u10", v="v10")
    src = write_store(ds, tmp_path / "in.zarr", {"time": 1, "lat": 4, "lon": 5})
    result = run_cli("vorticity", str(src), str(tmp_path / "z.zarr"), "--u", "u10", "--v", "v10")
    assert result.returncode == 0, result.stderr
    assert "wrote vorticity" in result.stdout
    out = bigrad.open_gradient(tmp_path / "z.zarr")
    expected = ds.bigrad.vorticity("u10", "v10")
    np.testing.assert_array_equal(out.vorticity.values, expected.values)
    # the other options through the entry point in this process (a subprocess costs seconds)
    args = ["--u", "u10", "--v", "v10", "--periodic", "no", "--accuracy", "4", "--radius", "1000"]
    assert main(["divergence", str(src), str(tmp_path / "d.zarr"), *args, "-q"]) == 0
    expected = ds.bigrad.divergence("u10", "v10", periodic=False, accuracy=4, radius=1000.0)
    np.testing.assert_array_equal(bigrad.open_gradient(tmp_path / "d.zarr").divergence, expected)
    result = run_cli("gradient", str(src), str(tmp_path / "g.zarr"), "--var", "T",
                     "--geometry", "sphere")  # fmt: skip
    assert result.returncode == 0, result.stderr
    g = bigrad.open_gradient(tmp_path / "g.zarr")
    np.testing.assert_array_equal(g.dT_dy, ds["T"].bigrad.geospatial_gradient().dT_dy)
    result = run_cli("vorticity", str(src), str(tmp_path / "bad.zarr"), "--u", "nope")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "--u nope is not a data variable" in result.stderr
    assert not (tmp_path / "bad.zarr").exists()
    help_lines = run_cli("--help").stdout.splitlines()
    for command in ("gradient", "vorticity", "divergence", "demo"):
        assert any(line.split()[:1] == [command] and len(line.split()) > 3 for line in help_lines)


# one row per mistake: the arguments after SOURCE TARGET, and what the one line names
BAD = [
    (["vorticity", "--u", "nope"], "--u nope"),
    (["vorticity", "--lat", "nope"], "--lat nope"),
    (["divergence", "--v", "T", "--u", "T2"], "--u T2"),
    (["gradient", "--geometry", "sphere", "--order", "2"], "--order"),
    (["gradient", "--geometry", "sphere", "--dim", "time"], "--dim"),
    (["gradient", "--geometry", "sphere", "--periodic", "lat"], "--periodic"),
]


@pytest.mark.parametrize(("args", "named"), BAD)
def test_bad_flags_one_line_no_target(tmp_path: Path, args: list[str], named: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    # the command's own entry point, in this process (test_commands runs one mistake
    # through a subprocess)
    src = write_store(winds(*REGIONAL), tmp_path / "in.zarr", {"lat": 2})
    target = tmp_path / "out.zarr"
    assert main([args[0], str(src), str(target), *args[1:]]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert named in err and err.startswith("bigrad: error: ")
    assert not target.exists()


def test_python_errors_before_any_target(tmp_path: Path) -> None:
    src = write_store(winds(*REGIONAL).drop_vars("lat").assign_coords(lat=np.arange(7.0)),
                      tmp_path / "in.zarr", None)  # fmt: skip
    with pytest.raises(ValueError, match="geometry='sphere' needs a latitude"):
        bigrad.kinematics_zarr(src, tmp_path / "out.zarr")
    with pytest.raises(ValueError, match=r"ends in '\.nc'"):
        bigrad.kinematics_zarr(src, tmp_path / "out.nc", lat="lat")
    with pytest.raises(ValueError, match=r"quantities=.*must be one or both"):
        bigrad.kinematics_zarr(src, tmp_path / "out.zarr", "curl", lat="lat")
    assert not (tmp_path / "out.zarr").exists() and not (tmp_path / "out.nc").exists()


# A run blocked after half its blocks (one thread), killed by the parent.
_CHILD = textwrap.dedent(
    """
    import sys, threading, bigrad

    def progress(done, total):
        if done >= total // 2:
            print("half", flush=True)
            threading.Event().wait()

    bigrad.kinematics_zarr(sys.argv[1], sys.argv[2], progress=progress, threads=1)
    """
)


def test_kill_then_resume_is_byte_identical(tmp_path: Path) -> None:
    src = write_store(winds(*GLOBAL, nt=4), tmp_path / "in.zarr", {"time": 1, "lat": 4, "lon": 4})
    before = snapshot(src)
    target = tmp_path / "out.zarr"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(src), str(target)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={"PYTHONPATH": str(ROOT), "PATH": ""})  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "half", child.stderr and child.stderr.read()
    finally:
        child.kill()
        child.communicate(timeout=60)
    with pytest.raises(bigrad.IncompleteStoreError):
        bigrad.open_gradient(target)
    result = run_cli("vorticity", str(src), str(target), "--mode", "resume")
    assert result.returncode == 0, result.stderr
    bigrad.kinematics_zarr(src, tmp_path / "fresh.zarr")
    assert contents(target) == contents(tmp_path / "fresh.zarr")
    assert snapshot(src) == before


def test_warm_runs_the_first_block_of_zeros() -> None:
    # kinematics_zarr loads the kernels of its blocks beside its set-up: the compute
    # hook on zeros shaped as the first block, with its neighbours' faces
    from bigrad import sphere
    from bigrad.io.zarr import _Job, _warm

    lat, lon = np.linspace(-90.0, 90.0, 181), np.arange(0.0, 360.0, 0.5)
    op = sphere.wind_blocks(["vorticity"], (2, 181, 720), "f4", ((1, 1), (100, 81), (720,)),
                            lat, lon, lat_axis=1, lon_axis=2)  # fmt: skip
    seen, outs = [], []

    def compute(block: np.ndarray, bundles: list, spec: object) -> object:
        seen.append((block.shape, block.dtype, len(bundles), np.count_nonzero(block)))
        for out in op.compute(block, bundles, spec):  # to its end: _warm hides errors
            outs.append(out.shape)
            yield out

    _warm(_Job("u", ("vorticity",), op.plan, op.rules, (1, 100, 720), ("u", "v"), compute), "f4")
    # the first block and its one neighbour below (longitude wraps within the block)
    assert seen == [((2, 1, 100, 720), np.dtype("f4"), 2, 0)]
    assert outs == [(1, 100, 720)]
