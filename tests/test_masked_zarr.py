"""``nan="one-sided"`` through gradient_zarr and ``bigrad gradient --nan one-sided``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
