"""``nan="one-sided"`` and ``smooth=`` through gradient_zarr and the CLI (``--nan``,
``--smooth``), real Zarr stores and the command as a subprocess."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as sig

import bigrad
from tests.zarr_helpers import run_cli, sample_dataset, write_store


def _with_land(tmp_path: Path) -> tuple[Path, np.ndarray]:
    ds = sample_dataset()
    t = ds.T.values.copy()
    t[:, 3:6, 4:8] = np.nan  # an island, crossing chunk faces
    t[:, :, 0] = np.nan  # a coast on the first column
    ds["T"] = ds.T.copy(data=t)
    return write_store(ds, tmp_path / "in.zarr", {"time": 2, "lat": 2, "lon": 5}), t


def test_gradient_zarr_one_sided(tmp_path: Path) -> None:
    source, t = _with_land(tmp_path)
    out = bigrad.gradient_zarr(source, tmp_path / "out.zarr", variables="T",
                               dims=["lat", "lon"], nan="one-sided")  # fmt: skip
    ds = sample_dataset()
    for dim in ("lat", "lon"):
        axis = ds.T.get_axis_num(dim)
        want = bigrad.gradient(t, ds[dim].values, axis=axis, nan="one-sided")
        np.testing.assert_array_equal(out[f"dT_d{dim}"].values, want)
        # exactly the land is NaN
        np.testing.assert_array_equal(np.isnan(out[f"dT_d{dim}"].values), np.isnan(t))


def test_gradient_zarr_one_sided_periodic(tmp_path: Path) -> None:
    ds = sample_dataset()
    t = ds.T.values.copy()
    t[:, 3:6, 4:8] = np.nan
    t[:, 1, -1] = np.nan  # land on the last longitude: runs round the ends of lon
    ds["T"] = ds.T.copy(data=t)
    source = write_store(ds, tmp_path / "in.zarr", {"time": 2, "lat": 2, "lon": 5})
    out = bigrad.gradient_zarr(source, tmp_path / "out.zarr", variables="T", dims="lon",
                               periodic="lon", nan="one-sided")  # fmt: skip
    lon = ds.lon.values
    want = bigrad.gradient(t, lon, axis=2, periodic=True, period=360.0, nan="one-sided")
    np.testing.assert_array_equal(out.dT_dlon.values, want)
    np.testing.assert_array_equal(np.isnan(want), np.isnan(t))
    ends = bigrad.gradient(t, lon, axis=2, nan="one-sided")  # one-sided at the ends
    assert not np.array_equal(want[..., [0, -1]], ends[..., [0, -1]], equal_nan=True)


def test_cli_nan_one_sided(tmp_path: Path) -> None:
    source, t = _with_land(tmp_path)
    target = tmp_path / "cli.zarr"
    result = run_cli("gradient", str(source), str(target), "--var", "T", "--dim", "lon",
                     "--nan", "one-sided")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lon = sample_dataset().lon.values
    want = bigrad.gradient(t, lon, axis=2, nan="one-sided")
    np.testing.assert_array_equal(bigrad.open_gradient(target).dT_dlon.values, want)
    bad = run_cli("gradient", str(source), str(tmp_path / "x.zarr"), "--nan", "drop")
    assert bad.returncode != 0 and "--nan" in bad.stderr and "Traceback" not in bad.stderr


def test_gradient_zarr_smooth(tmp_path: Path) -> None:
    ds = sample_dataset()
    source = write_store(ds, tmp_path / "in.zarr", {"lat": 2, "lon": 5})
    q = ds.q.values
    out = bigrad.gradient_zarr(source, tmp_path / "sg.zarr", variables="q", dims="lon",
                               smooth="savgol:5:2")  # fmt: skip
    want = sig.savgol_filter(q, 5, 2, deriv=1, delta=30.0, axis=1)
    np.testing.assert_allclose(out.dq_dlon.values, want, rtol=1e-10, atol=1e-13)
    assert out.dq_dlon.attrs["units"] == "kg kg-1 degrees_east-1"
    # sigma in degrees: 60 degrees of longitude are 2 points
    out = bigrad.gradient_zarr(source, tmp_path / "g.zarr", variables="q", dims="lon",
                               smooth="gaussian:60", order=2)  # fmt: skip
    want = ndi.gaussian_filter1d(q, 2.0, axis=1, order=2) / 30.0**2
    np.testing.assert_allclose(out.d2q_dlon2.values, want, rtol=1e-10, atol=1e-13)


def test_cli_smooth(tmp_path: Path) -> None:
    ds = sample_dataset()
    source = write_store(ds, tmp_path / "in.zarr", {"time": 2, "lat": 2, "lon": 5})
    target = tmp_path / "cli.zarr"
    result = run_cli("gradient", str(source), str(target), "--var", "q", "--dim", "lon",
                     "--smooth", "gaussian:45")  # fmt: skip
    assert result.returncode == 0, result.stderr
    want = ndi.gaussian_filter1d(ds.q.values, 1.5, axis=1, order=1) / 30.0
    np.testing.assert_allclose(bigrad.open_gradient(target).dq_dlon.values, want, rtol=1e-10)
    for args, message in [
        (["--dim", "lat", "--smooth", "savgol:5:2"], "coordinate 'lat' is not evenly spaced"),
        (["--dim", "lon", "--smooth", "savgol:4:2"], "window_length must be odd"),
        (["--dim", "lon", "--smooth", "box:3"], "must be savgol:WINDOW:POLYORDER"),
        (["--dim", "lon", "--smooth", "savgol:5:2", "--periodic", "lon"], "--periodic"),
    ]:
        bad_target = tmp_path / "bad.zarr"
        bad = run_cli("gradient", str(source), str(bad_target), "--var", "q", *args)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr and not bad_target.exists()
