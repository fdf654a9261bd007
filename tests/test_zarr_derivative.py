"""Second derivatives and higher accuracy from Zarr to Zarr: the function and the command
line give the accessor's numbers, names and units; the new flags are checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import bigrad
from tests.zarr_helpers import contents, run_cli, sample_dataset, write_store


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_store(sample_dataset(), tmp_path / "in.zarr", {"time": 2, "lat": 1, "lon": 5})


@pytest.mark.parametrize(("order", "accuracy"), [(2, 2), (1, 4), (2, 4)])
def test_function_equals_the_accessor(
    source: Path, tmp_path: Path, order: int, accuracy: int
) -> None:
    out = bigrad.gradient_zarr(source, tmp_path / "out.zarr", variables="T", periodic="lon",
                               order=order, accuracy=accuracy, datetime_unit="h")  # fmt: skip
    ds = xr.open_zarr(source)
    for dim in ("lat", "lon", "time"):
        expected = ds.T.bigrad.derivative(dim, order=order, accuracy=accuracy,
                                          datetime_unit="h", periodic=dim == "lon")  # fmt: skip
        name = f"dT_d{dim}" if order == 1 else f"d2T_d{dim}2"
        np.testing.assert_array_equal(out[name].values, expected.values)
        assert out[name].attrs.get("units") == expected.attrs.get("units")


def test_command_line_flags(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "cli.zarr"
    result = run_cli("gradient", str(source), str(target), "--var", "T", "--order", "2",
                     "--accuracy", "4", "--periodic", "lon", "--datetime-unit", "h")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "d2T_dlat2, d2T_dlon2, d2T_dtime2" in result.stdout
    bigrad.gradient_zarr(source, tmp_path / "fn.zarr", variables="T", periodic="lon", order=2,
                         accuracy=4, datetime_unit="h")  # fmt: skip
    assert contents(target) == contents(tmp_path / "fn.zarr")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--order", "3"], "argument --order: invalid choice"),
        (["--accuracy", "5"], "argument --accuracy: invalid choice"),
        (["--period", "lon"], "argument --period: expected DIM=VALUE"),
        (["--period", "lon=-3"], "argument --period: expected DIM=VALUE"),
    ],
)
def test_bad_flags_are_usage_errors(
    source: Path, tmp_path: Path, flags: list[str], message: str
) -> None:
    result = run_cli("gradient", str(source), str(tmp_path / "out.zarr"), *flags)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out.zarr").exists()


def test_axis_too_short_for_the_stencil_fails_before_the_target(tmp_path: Path) -> None:
    src = write_store(sample_dataset((7, 9, 12)), tmp_path / "in.zarr", None)
    result = run_cli("gradient", str(src), str(tmp_path / "out.zarr"), "--var", "T",
                     "--dim", "time", "--order", "2", "--accuracy", "6")  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "too few" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.zarr").exists()


@pytest.mark.parametrize("name", ["out.nc", "out.NC4", "grads.h5/"])
def test_target_named_like_another_format_is_refused(
    source: Path, tmp_path: Path, name: str
) -> None:
    result = run_cli("gradient", str(source), str(tmp_path / name))
    assert result.returncode == 1 and "bigrad writes a Zarr store" in result.stderr
    assert ".zarr" in result.stderr and not (tmp_path / name.rstrip("/")).exists()
    with pytest.raises(ValueError, match=r"name it e\.g\. "):
        bigrad.gradient_zarr(source, tmp_path / name)


def test_periodic_without_a_known_period_names_the_flag(tmp_path: Path) -> None:
    ds = sample_dataset().drop_vars(["name", "area"])
    ds["x"] = ("lon", np.arange(ds.sizes["lon"], dtype=float) ** 2)
    src = write_store(ds.swap_dims({"lon": "x"}).drop_vars("lon"), tmp_path / "in.zarr", None)
    result = run_cli("gradient", str(src), str(tmp_path / "out.zarr"), "--var", "T",
                     "--periodic", "x")  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "--period x=360" in result.stderr and "Traceback" not in result.stderr
