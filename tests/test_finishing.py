"""A SIGKILL at any step of a run, finishing included, then resume: the same bytes as a
run never interrupted; until the end, plain xarray sees the target as unfinished."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import xarray as xr

import bigrad
from bigrad.io.zarr import STATUS_ATTR
from tests.zarr_helpers import ROOT, contents, run_cli, sample_dataset, write_store

#: the steps bigrad.io.zarr._checkpoint names, in the order a run reaches them
STEPS = [
    "metadata",
    "finishing",
    "variable-attrs",
    "root-attrs",
    "consolidated",
    "marks-cleared",
    "job-removed",
]
#: steps before which the root attrs still say the run is unfinished
UNFINISHED_ROOT = {"metadata", "finishing", "variable-attrs"}
ARGS = ["--periodic", "lon", "--threads", "1"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("finishing")
    src = write_store(sample_dataset(), d / "in.zarr", {"time": 2, "lat": 5, "lon": 5})
    fresh = d / "fresh.zarr"
    bigrad.gradient_zarr(src, fresh, periodic="lon")
    return src, fresh


def _plain_attrs(target: Path) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(xr.open_zarr(target, consolidated=False).attrs)


@pytest.mark.parametrize(
    "step",
    [s if s in ("metadata", "variable-attrs", "marks-cleared") else
     pytest.param(s, marks=pytest.mark.slow) for s in STEPS],
)  # fmt: skip
def test_kill_at_step_then_resume(stores: tuple[Path, Path], tmp_path: Path, step: str) -> None:
    src, fresh = stores
    target = tmp_path / "out.zarr"
    killed = run_cli("gradient", str(src), str(target), *ARGS, env={"BIGRAD_KILL_AT": step})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if step in UNFINISHED_ROOT:
        assert "incomplete" in str(_plain_attrs(target)[STATUS_ATTR])
    if step != "job-removed":
        with pytest.raises(bigrad.IncompleteStoreError):
            bigrad.open_gradient(target)
    result = run_cli("gradient", str(src), str(target), *ARGS, "--mode", "resume")
    assert result.returncode == 0, result.stderr
    if step == "job-removed":
        assert "already complete" in result.stderr
    assert contents(target) == contents(fresh)
    assert STATUS_ATTR not in _plain_attrs(target)
    assert STATUS_ATTR not in bigrad.open_gradient(target).dT_dlat.attrs


def test_unfinished_outputs_say_so_to_plain_xarray(
    stores: tuple[Path, Path], tmp_path: Path
) -> None:
    src, _ = stores
    target = tmp_path / "out.zarr"
    killed = run_cli("gradient", str(src), str(target), *ARGS, env={"BIGRAD_KILL_AT": "finishing"})
    assert killed.returncode == -signal.SIGKILL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(target, consolidated=False)
    for name in ("dT_dlat", "dq_dlon"):
        assert "--mode resume" in ds[name].attrs[STATUS_ATTR]


def test_resume_of_finished_target_is_a_no_op(stores: tuple[Path, Path], tmp_path: Path) -> None:
    src, fresh = stores
    target = tmp_path / "out.zarr"
    assert run_cli("gradient", str(src), str(target), *ARGS, "-q").returncode == 0
    result = run_cli("gradient", str(src), str(target), *ARGS, "--mode", "resume")
    assert result.returncode == 0, result.stderr
    assert (
        result.stderr.strip() == f"bigrad: target {target} is already complete; nothing to resume"
    )
    assert result.stdout == ""
    assert contents(target) == contents(fresh)


@pytest.mark.slow
def test_chaos_twenty_kills_at_random_moments(stores: tuple[Path, Path], tmp_path: Path) -> None:
    src, fresh = stores
    target = tmp_path / "out.zarr"
    rng = random.Random(19)
    cmd = [sys.executable, "-m", "bigrad", "gradient", str(src), str(target), *ARGS]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    assert run_cli("gradient", str(src), str(tmp_path / "timed.zarr"), *ARGS).returncode == 0
    full = time.perf_counter() - started
    kills = 0
    for i in range(20):
        # half the kills at a random moment, half at a named step of a run
        extra = {} if i % 2 == 0 else {"BIGRAD_KILL_AT": rng.choice(STEPS)}
        run = subprocess.Popen(
            [*cmd, "--mode", "resume"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, **extra},
        )
        try:
            run.wait(timeout=rng.uniform(0.3, 1.2) * full)
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
        _, err = run.communicate(timeout=60)
        assert run.returncode in (0, -signal.SIGKILL), err
        kills += run.returncode == -signal.SIGKILL
        if run.returncode == 0:
            # finished between two kills: check it, then start over to kill it again
            assert contents(target) == contents(fresh)
            shutil.rmtree(target)
    assert kills >= 10
    result = run_cli("gradient", str(src), str(target), *ARGS, "--mode", "resume")
    assert result.returncode == 0, result.stderr
    assert contents(target) == contents(fresh)
