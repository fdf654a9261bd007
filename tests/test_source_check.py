"""A resume, and every run before it finishes, refuses a source whose data changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

import bigrad
from bigrad.io.manifest import SourceChangedError
from tests.zarr_helpers import (
    kill,
    run_cli,
    sample_dataset,
    snapshot,
    start_blocked_run,
    write_store,
)


def _overwrite_first_chunk(src: Path) -> None:
    # as another program would: the chunk's values rewritten through zarr
    arr = zarr.open_array(src / "T", mode="r+")
    arr[0:2, 0:5, 0:5] = np.asarray(arr[0:2, 0:5, 0:5]) + 1


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_resume_refuses_a_changed_source_naming_the_chunk(tmp_path: Path, zarr_format: int) -> None:
    src = write_store(
        sample_dataset(), tmp_path / "in.zarr", {"time": 2, "lat": 5, "lon": 5}, zarr_format
    )
    target = tmp_path / "out.zarr"
    kill(start_blocked_run(src, target))
    _overwrite_first_chunk(src)
    before = snapshot(target)
    result = run_cli("gradient", str(src), str(target), "--periodic", "lon", "--mode", "resume")
    assert result.returncode == 1, result.stderr
    # the note that the dead run's lock was taken over, then the error, in one line
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("bigrad: error:") and "changed since this run began" in line
    key = "T/c/0/0/0" if zarr_format == 3 else "T/0.0.0"
    assert f": {key} was " in line, line
    # the refusal wrote nothing (the dead run's lock aside, taken over and released)
    after = snapshot(target)
    assert {k: v for k, v in after.items() if "lock" not in k} == {
        k: v for k, v in before.items() if "lock" not in k
    }


def test_change_during_a_run_stops_it_before_it_finishes(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", {"time": 2, "lat": 5, "lon": 5})
    target = tmp_path / "out.zarr"

    def change_halfway(done: int, total: int) -> None:
        if done == total // 2:
            _overwrite_first_chunk(src)

    with pytest.raises(SourceChangedError, match="T/c/0/0/0"):
        bigrad.gradient_zarr(src, target, progress=change_halfway, threads=1)
    with pytest.raises(bigrad.IncompleteStoreError):
        bigrad.open_gradient(target)
