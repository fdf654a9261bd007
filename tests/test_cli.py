"""The ``bigrad`` command as a user runs it: a subprocess, exit codes, messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bigrad
from tests.zarr_helpers import contents, run_cli, sample_dataset, write_store


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_store(sample_dataset(), tmp_path / "in.zarr", {"time": 2, "lat": 5, "lon": 5})


def test_gradient_command(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    result = run_cli(
        "gradient", str(source), str(target), "--var", "T", "--dim", "lat", "--dim", "lon",
        "--periodic", "lon", "--edge-order", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dT_dlat, dT_dlon" in result.stdout
    assert result.stderr == ""  # not a terminal: no progress bar
    out = bigrad.open_gradient(target)
    expected = sample_dataset().T.differentiate("lat", edge_order=2)
    np.testing.assert_allclose(out.dT_dlat.values, expected.values, rtol=2e-6, atol=1e-6)


def test_local_cluster_scheduler(source: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    result = run_cli("gradient", str(source), str(tmp_path / "out.zarr"), "--scheduler", "local:2")
    assert result.returncode == 0, result.stderr
    bigrad.gradient_zarr(source, tmp_path / "local.zarr")
    assert contents(tmp_path / "out.zarr") == contents(tmp_path / "local.zarr")


def test_help_has_examples() -> None:
    for args in (["--help"], ["gradient", "--help"], ["demo", "--help"]):
        result = run_cli(*args)
        assert result.returncode == 0
        assert "usage: bigrad" in result.stdout
    assert "examples:" in run_cli("gradient", "--help").stdout
    assert "--mode resume" in run_cli("gradient", "--help").stdout


@pytest.mark.parametrize(
    "args",
    [[], ["gradient"], ["gradient", "a.zarr", "b.zarr", "--edge-order", "3"],
     ["gradient", "a.zarr", "b.zarr", "--mode", "x"], ["frobnicate"],
     ["gradient", "a.zarr", "b.zarr", "--memory", "lots"], ["demo", "--size=-3MB"]],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_user_mistakes_exit_1_in_one_line(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    assert run_cli("gradient", str(source), str(target), "-q").returncode == 0
    cases = [
        (["gradient", str(source), str(target)], "already exists"),
        (["gradient", str(source), str(source), "--mode", "w"], "same store"),
        (["gradient", str(tmp_path / "nope.zarr"), str(tmp_path / "o2")], "does not exist"),
        (["gradient", str(source), str(tmp_path / "o3"), "--var", "salt"], "salt"),
        (["gradient", str(source), str(tmp_path / "o4"), "--dim", "depth"], "depth"),
        (["gradient", str(source), str(tmp_path / "o5"), "--scheduler", "local:x"], "local:N"),
    ]
    for args, needle in cases:
        result = run_cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("bigrad: error:"), result.stderr
        assert needle in lines[0], (needle, lines[0])


def test_demo(tmp_path: Path) -> None:
    result = run_cli("demo", str(tmp_path / "demo"), "--size", "4MB")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in ("MB/s", "peak memory", "max error of dT_dlon vs analytic", "MB on disk"):
        assert needle in out
    errors = [
        float(line.split(": ")[1].split()[0]) for line in out.splitlines() if "max error" in line
    ]
    assert len(errors) == 3 and max(errors) < 1e-2
    assert bigrad.open_gradient(tmp_path / "demo" / "gradients.zarr").dT_dtime.size > 0
    # the quick-look is drawn when the optional matplotlib is importable by the command
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "quick-look" not in out
    else:
        assert (tmp_path / "demo" / "quicklook.png").stat().st_size > 0


def test_progress_bar_draws_on_a_terminal_only() -> None:
    import io

    from bigrad.io.progress import ProgressBar

    pipe = io.StringIO()
    ProgressBar(4, stream=pipe).update(2)
    assert pipe.getvalue() == ""  # not a terminal
    term = io.StringIO()
    bar = ProgressBar(4, stream=term, force=True)
    bar.update(0)
    bar.update(4, final=True)
    assert "4/4 blocks" in term.getvalue() and term.getvalue().endswith("\n")


def test_console_script(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    script = shutil.which("bigrad")
    if script is None:
        pytest.skip("the bigrad console script is not installed (pip install -e .)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    result = subprocess.run([script, "--help"], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and "demo" in result.stdout
