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


def test_marks_as_files_read_as_zarr_keys(tmp_path: Path) -> None:
    # a local store's marks and records are plain files (no trip through zarr's event
    # loop); zarr must see the very keys, and a kill mid-write leaves only a temporary
    # file that a resume removes
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync
    from zarr.storage import LocalStore, MemoryStore

    from bigrad.io import store as st

    local = LocalStore(tmp_path / "t.zarr")
    for s in (local, MemoryStore()):
        st.set_key(s, st.JOB_KEY, b'{"a": 1}')
        st.mark_done(s, "u", (0, 2))
        st.mark_done(s, "u", (1, 0))
        assert st.get_key(s, st.JOB_KEY) == b'{"a": 1}'
        assert st.get_key(s, "missing/key") is None
        assert st.has_key(s, st.JOB_KEY) and not st.has_key(s, st.FINISHED_KEY)
        assert st.done_blocks(s, "u") == {(0, 2), (1, 0)}
        assert sorted(sync(_listed(s, f"{st.MARK_PREFIX}/"))) == [
            st.block_key("u", (0, 2)), st.block_key("u", (1, 0)), st.JOB_KEY
        ]  # fmt: skip
        st.clear_marks(s)
        assert sync(_listed(s, "")) == []
    st.set_key(local, "k", b"x")
    got = sync(local.get("k", prototype=default_buffer_prototype()))
    assert got is not None and got.to_bytes() == b"x"
    stale = tmp_path / "t.zarr" / f"k.{'0' * 32}.partial"
    stale.write_bytes(b"half")
    assert st.remove_partial_writes(local) == 1 and not stale.exists()


async def _listed(store: object, prefix: str) -> list[str]:
    return [k async for k in store.list_prefix(prefix)]  # type: ignore[attr-defined]
