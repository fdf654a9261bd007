"""One writer per target: real concurrent processes on one target."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bigrad
from bigrad.io.lock import LOCK_NAME
from tests.zarr_helpers import (
    ROOT,
    contents,
    kill,
    run_cli,
    sample_dataset,
    start_blocked_run,
    without_compile_notice,
    write_store,
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_store(sample_dataset(), tmp_path / "in.zarr", {"time": 2, "lat": 5, "lon": 5})


def _one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bigrad: error:"), result.stderr
    assert needle in lines[0], lines[0]


def test_second_run_refused_then_stale_lock_taken_over(
    source: Path, tmp_path: Path, capsys: Any
) -> None:
    from bigrad.cli.main import main

    target = tmp_path / "out.zarr"
    holder = start_blocked_run(source, target)
    try:
        for mode in ("w", "resume", "w-"):
            args = ["gradient", str(source), str(target), "--periodic", "lon", "--mode", mode]
            if mode == "w":  # the installed command once, its main() here for the others
                result = run_cli(*args)
            else:
                code = main(args)
                result = subprocess.CompletedProcess(args, code, "", capsys.readouterr().err)
            _one_line_error(result, f"in use by another bigrad run: pid {holder.pid}")
        # --mode w deleted nothing of the live run
        assert (target / ".bigrad" / "job.json").exists()
        assert (target / "dT_dlat").is_dir()
    finally:
        kill(holder)
    # the holder is dead: its lock is stale; --mode w- still refuses, resume takes over
    result = run_cli("gradient", str(source), str(target), "--periodic", "lon")
    _one_line_error(result, "already exists")
    result = run_cli("gradient", str(source), str(target), "--periodic", "lon", "--mode", "resume")
    assert result.returncode == 0, result.stderr
    assert f"took over the stale lock of a dead run (pid {holder.pid}" in result.stderr
    assert not (target / LOCK_NAME).exists()
    bigrad.gradient_zarr(source, tmp_path / "fresh.zarr", periodic="lon")
    assert contents(target) == contents(tmp_path / "fresh.zarr")


def test_lock_of_another_host_is_never_taken(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    target.mkdir()
    info = {"host": f"not-{socket.gethostname()}", "pid": 1, "mode": "w-", "started": 0}
    (target / LOCK_NAME).write_text(json.dumps(info))
    for mode in ("resume", "w"):
        with pytest.raises(FileExistsError, match=f"pid 1 on host not-{socket.gethostname()}"):
            bigrad.gradient_zarr(source, target, mode=mode)  # type: ignore[arg-type]
    assert [p.name for p in target.iterdir()] == [LOCK_NAME]


def test_two_runs_started_at_once_one_wins(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    code = (
        "import sys, bigrad\n"
        "try:\n"
        "    bigrad.gradient_zarr(sys.argv[1], sys.argv[2], threads=1)\n"
        "except FileExistsError as e:\n"
        "    sys.exit(f'refused: {e}')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(source), str(target)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    errors = [without_compile_notice(run.communicate(timeout=120)[1]) for run in runs]
    codes = sorted(run.returncode for run in runs)
    assert codes == [0, 1], errors
    refusal = next(e for e in errors if e)
    assert "refused:" in refusal and ("in use by another" in refusal or "already exists" in refusal)
    bigrad.gradient_zarr(source, tmp_path / "fresh.zarr")
    assert contents(target) == contents(tmp_path / "fresh.zarr")
