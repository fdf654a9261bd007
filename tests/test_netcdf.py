"""NetCDF-4 sources for gradient_zarr and `bigrad gradient`: real files written by xarray
(h5netcdf), streamed block by block, resumed after a SIGKILL, never modified."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import bigrad
from bigrad.io.manifest import SourceChangedError
from tests.zarr_helpers import (
    contents,
    kill,
    run_cli,
    sample_dataset,
    snapshot,
    start_blocked_run,
    write_store,
)

pytest.importorskip("h5netcdf", reason="NetCDF-4 files need h5netcdf (the test extra has it)")


def _dataset(shape: tuple[int, int, int] = (16, 9, 12)) -> xr.Dataset:
    # strings are not a NetCDF-4 variable h5netcdf writes portably; the rest is kept
    return sample_dataset(shape).drop_vars("name")


def write_nc(ds: xr.Dataset, path: Path, encoding: dict[str, Any]) -> Path:
    """``ds`` as a NetCDF-4 file with per-variable ``encoding`` (chunksizes, contiguous)."""
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path


# one row per layout of the file's variables: (T's storage, q's storage)
LAYOUTS = [
    # T in irregular chunks with size-1 chunks along lat; q contiguous
    ({"chunksizes": (3, 1, 5)}, {"contiguous": True}),
    # T contiguous; q in size-2 chunks (the last chunk of each dim short)
    ({"contiguous": True}, {"chunksizes": (2, 2)}),
    # one chunk per variable, q size-1 along lon
    ({"chunksizes": (16, 9, 12)}, {"chunksizes": (9, 1)}),
    # size-1 chunks along time, compressed
    ({"chunksizes": (1, 9, 12), "zlib": True, "complevel": 4}, {"chunksizes": (4, 7)}),
]


@pytest.mark.parametrize(("t_enc", "q_enc"), LAYOUTS)
def test_netcdf_equals_zarr_source_and_numpy(
    tmp_path: Path, t_enc: dict[str, Any], q_enc: dict[str, Any]
) -> None:
    ds = _dataset()
    nc = write_nc(ds, tmp_path / "in.nc", {"T": t_enc, "q": q_enc})
    zs = write_store(ds, tmp_path / "in.zarr", {"time": 5, "lat": 2, "lon": 7})
    before = snapshot(tmp_path)
    got = bigrad.gradient_zarr(nc, tmp_path / "nc.zarr", periodic="lon", threads=2)
    want = bigrad.gradient_zarr(zs, tmp_path / "z.zarr", periodic="lon", threads=2)
    assert set(got.data_vars) == set(want.data_vars) == {
        "dT_dtime", "dT_dlat", "dT_dlon", "dq_dlat", "dq_dlon",
    }  # fmt: skip
    for name in want.data_vars:
        np.testing.assert_array_equal(got[name].values, want[name].values)
        assert got[name].dtype == want[name].dtype
        assert got[name].attrs == want[name].attrs
    # along a non-uniform latitude, no wrap: np.gradient's numbers exactly
    lat = ds.lat.values
    np.testing.assert_array_equal(got.dT_dlat.values, np.gradient(ds.T.values, lat, axis=1))
    np.testing.assert_array_equal(got.dq_dlat.values, np.gradient(ds.q.values, lat, axis=0))
    # the blocks are the file's chunks, or rows of a contiguous variable
    expect = t_enc.get("chunksizes") or (16, 9, 12)
    assert got.dT_dlat.encoding["chunks"] == expect
    # the source directory's files (the NetCDF file among them) are untouched
    now = snapshot(tmp_path)
    assert {k: now[k] for k in before} == before


def test_float32_packed_and_masked(tmp_path: Path) -> None:
    # int16 with scale_factor/add_offset and a fill value: blocks decoded as xarray does
    ds = _dataset((6, 9, 12))
    t = ds.T.values.copy()
    t[2, 3, 4] = np.nan
    ds["T"] = ds.T.copy(data=t)
    enc = {"T": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 280.0,
                 "_FillValue": -32768, "chunksizes": (2, 3, 5)}}  # fmt: skip
    nc = write_nc(ds, tmp_path / "packed.nc", enc)
    out = bigrad.gradient_zarr(nc, tmp_path / "out.zarr", variables="T", dims="lon")
    decoded = xr.open_dataset(nc, engine="h5netcdf").T.load()
    want = decoded.differentiate("lon")
    np.testing.assert_array_equal(out.dT_dlon.values, want.values)
    assert np.isnan(out.dT_dlon.values[2, 3, 3])


def test_sigkill_then_resume(tmp_path: Path) -> None:
    ds = _dataset((16, 9, 12))
    nc = write_nc(ds, tmp_path / "in.nc", {"T": {"chunksizes": (2, 5, 5)}, "q": {}})
    before = nc.read_bytes(), nc.stat().st_mtime_ns
    target = tmp_path / "out.zarr"
    kill(start_blocked_run(nc, target))
    with pytest.raises(bigrad.IncompleteStoreError):
        bigrad.open_gradient(target)
    result = run_cli("gradient", str(nc), str(target), "--periodic", "lon", "--mode", "resume")
    assert result.returncode == 0, result.stderr
    fresh = tmp_path / "fresh.zarr"
    bigrad.gradient_zarr(nc, fresh, periodic="lon")
    assert contents(target) == contents(fresh)
    assert (nc.read_bytes(), nc.stat().st_mtime_ns) == before


def test_resume_refuses_a_changed_file(tmp_path: Path) -> None:
    nc = write_nc(_dataset(), tmp_path / "in.nc", {"T": {"chunksizes": (2, 5, 5)}})
    target = tmp_path / "out.zarr"
    kill(start_blocked_run(nc, target))
    st = nc.stat()
    os.utime(nc, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(SourceChangedError, match=r"in\.nc was .* bytes modified"):
        bigrad.gradient_zarr(nc, target, periodic="lon", mode="resume")


def test_cli_from_netcdf(tmp_path: Path) -> None:
    ds = _dataset()
    nc = write_nc(ds, tmp_path / "in.nc", {"T": {"chunksizes": (4, 3, 12)}})
    result = run_cli("gradient", str(nc), str(tmp_path / "g.zarr"), "--var", "T", "--dim", "lat")
    assert result.returncode == 0, result.stderr
    assert "wrote dT_dlat" in result.stdout
    out = bigrad.open_gradient(tmp_path / "g.zarr")
    np.testing.assert_array_equal(out.dT_dlat.values, ds.T.differentiate("lat").values)


def test_unreadable_source_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "junk.nc"
    bad.write_bytes(b"not a netcdf file" * 10)
    target = tmp_path / "out.zarr"
    with pytest.raises(ValueError, match=r"junk\.nc .*tried .*pip install 'bigrad\[netcdf\]'"):
        bigrad.gradient_zarr(bad, target)
    result = run_cli("gradient", str(bad), str(target))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "junk.nc" in lines[0] and "bigrad[netcdf]" in lines[0], lines
    assert "Traceback" not in result.stderr
    assert not target.exists()


def test_reading_a_file_loads_no_plugin_nor_distributed(tmp_path: Path) -> None:
    # xarray's engine guess would load every installed backend plugin's package for the
    # whole run (the test extra's MetPy registers one, and brings pint, pyproj and
    # matplotlib), and dask's rechunk would import distributed to look for a client
    nc = write_nc(_dataset(), tmp_path / "in.nc", {"T": {"chunksizes": (4, 3, 12)}})
    code = (
        "import sys, bigrad\n"
        "from importlib.metadata import entry_points\n"
        f"bigrad.gradient_zarr({str(nc)!r}, {str(tmp_path / 'g.zarr')!r})\n"
        "plugins = {e.value.split('.')[0] for e in entry_points(group='xarray.backends')}\n"
        "print(sorted(m for m in plugins | {'distributed'} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=Path(__file__).parents[1])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
