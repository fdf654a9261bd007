"""A cluster that fails the run: one line, no traceback, the target left resumable."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import bigrad
from bigrad.io.errors import ClusterError
from tests.zarr_helpers import sample_dataset, write_store

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")


def test_workers_that_die_fail_the_run_in_one_error(tmp_path: Path) -> None:
    src = write_store(sample_dataset((48, 9, 12)), tmp_path / "in.zarr", {"time": 2, "lat": 5})
    target = tmp_path / "out.zarr"
    # no second chance for a task whose worker dies (the default allows 3 deaths): one
    # round of real kills is then "again and again"
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        killed: list[int] = []

        def progress(done: int, total: int) -> None:
            # tasks are in flight on both workers while this runs: kill them all
            if not killed and done >= total // 3:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                killed.append(done)

        with pytest.raises(ClusterError, match="workers died again and again"):
            bigrad.gradient_zarr(src, target, progress=progress, scheduler=client)
    assert killed
    with pytest.raises(bigrad.IncompleteStoreError):
        bigrad.open_gradient(target)
    out = bigrad.gradient_zarr(src, target, mode="resume")
    assert "dT_dlat" in out
