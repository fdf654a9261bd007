"""Kill a real run with SIGKILL halfway, then resume it: the result is byte-identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xarray as xr

import bigrad
from bigrad.io.zarr import STATUS_ATTR
from tests.zarr_helpers import ROOT, contents, run_cli, sample_dataset, snapshot, write_store

# The child reports each block written; once half are, it blocks in the callback (the
# worker threads keep writing meanwhile) until the parent kills it.
CHILD = textwrap.dedent(
    """
    import sys, threading, bigrad

    def progress(done, total):
        if done >= total // 2:
            print("half", flush=True)
            threading.Event().wait()

    bigrad.gradient_zarr(sys.argv[1], sys.argv[2], periodic="lon", progress=progress)
    """
)


# Zarr 2 over ten seconds: with -m slow (the kill and resume code is the same for both)
@pytest.mark.parametrize("zarr_format", [pytest.param(2, marks=pytest.mark.slow), 3])
def test_sigkill_then_resume_is_byte_identical(tmp_path: Path, zarr_format: int) -> None:
    ds = sample_dataset((16, 9, 12))
    src = write_store(ds, tmp_path / "in.zarr", {"time": 2, "lat": 5, "lon": 5}, zarr_format)
    source_before = snapshot(src)
    target = tmp_path / "out.zarr"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(src), str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "half", child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    # the target says it is incomplete, through bigrad and through plain xarray
    with pytest.raises(bigrad.IncompleteStoreError, match="incomplete"):
        bigrad.open_gradient(target)
    assert "incomplete" in xr.open_zarr(target, consolidated=False).attrs[STATUS_ATTR]
    result = run_cli("gradient", str(src), str(target), "--periodic", "lon")
    assert result.returncode == 1 and "already exists" in result.stderr

    # resume through the command; it skips what was written
    result = run_cli("gradient", str(src), str(target), "--periodic", "lon", "--mode", "resume")
    assert result.returncode == 0, result.stderr
    fresh = tmp_path / "fresh.zarr"
    bigrad.gradient_zarr(src, fresh, periodic="lon")
    assert contents(target) == contents(fresh)
    assert snapshot(src) == source_before
    out = bigrad.open_gradient(target)
    assert STATUS_ATTR not in out.attrs
