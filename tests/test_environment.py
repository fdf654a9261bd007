"""Failures of the environment and bad names: one line on stderr, exit 1 (2 for usage),
no traceback (unless --debug), and no target made by a check that could run first.

Real conditions only: a small tmpfs that fills up, one remounted read-only, a path
component too long for the file system, truncated and garbage chunks, a port where
no scheduler listens.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import bigrad
from tests.zarr_helpers import contents, run_cli, sample_dataset, snapshot, write_store

CHUNKS = {"time": 2, "lat": 5, "lon": 5}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKS)


def one_line(result: subprocess.CompletedProcess[str], *needles: str, code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bigrad: error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs, unmounted after the test; skipped where mounting is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command: a small file system cannot be made here")
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def _remount(mnt: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mnt)], check=True, timeout=30)


def test_disk_full_then_resume(tmp_path: Path, small_fs: Path) -> None:
    # about 5 MB of outputs for a 1 MB file system
    src = write_store(sample_dataset((40, 90, 120)), tmp_path / "in.zarr", {"lat": 30, "lon": 40})
    target = small_fs / "out.zarr"
    line = one_line(run_cli("gradient", str(src), str(target)), "no space left on the device")
    assert str(target) in line and "5.4 MB uncompressed" in line and "--mode resume" in line
    _remount(small_fs, "size=64m")
    result = run_cli("gradient", str(src), str(target), "--mode", "resume")
    assert result.returncode == 0, result.stderr
    bigrad.gradient_zarr(src, tmp_path / "fresh.zarr")
    assert contents(target) == contents(tmp_path / "fresh.zarr")


def test_read_only_target(source: Path, small_fs: Path) -> None:
    done = small_fs / "done.zarr"
    assert run_cli("gradient", str(source), str(done), "-q").returncode == 0
    before = snapshot(done)
    _remount(small_fs, "ro")
    one_line(run_cli("gradient", str(source), str(small_fs / "new.zarr")), "read-only")
    assert not (small_fs / "new.zarr").exists()
    one_line(run_cli("gradient", str(source), str(done), "--mode", "w"), "read-only")
    assert snapshot(done) == before


def test_name_too_long(source: Path, tmp_path: Path) -> None:
    target = tmp_path / ("a" * 300) / "out.zarr"
    one_line(run_cli("gradient", str(source), str(target)), "too long")
    assert list(tmp_path.iterdir()) == [source]


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_source_chunk_named(tmp_path: Path, zarr_format: int, damage: str) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKS, zarr_format)
    key = "T/c/1/0/1" if zarr_format == 3 else "T/1.0.1"
    chunk = src / key
    raw = chunk.read_bytes()
    chunk.write_bytes(raw[: len(raw) // 2] if damage == "truncated" else b"\x07" * len(raw))
    one_line(
        run_cli("gradient", str(src), str(tmp_path / "out.zarr"), "--threads", "1"),
        "source variable 'T'",
        f"chunk {key} cannot be read or decoded",
    )


def test_unreachable_scheduler_before_the_target(source: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    target = tmp_path / "out.zarr"
    started = time.monotonic()
    result = run_cli("gradient", str(source), str(target), "--scheduler", "tcp://127.0.0.1:1")
    assert time.monotonic() - started < 30
    one_line(result, "scheduler tcp://127.0.0.1:1 is unreachable", "--scheduler")
    assert not target.exists()


@pytest.mark.parametrize("value", ["-3", "0", "two"])
def test_threads_must_be_positive(source: Path, tmp_path: Path, value: str) -> None:
    result = run_cli("gradient", str(source), str(tmp_path / "o.zarr"), "--threads", value)
    assert result.returncode == 2 and "usage:" in result.stderr
    assert "--threads: must be a positive integer" in result.stderr
    assert not (tmp_path / "o.zarr").exists()
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        bigrad.gradient_zarr(
            source, tmp_path / "o.zarr", threads=int(value) if value != "two" else 0
        )
    assert not (tmp_path / "o.zarr").exists()


def _dataset_with_dim(dim: str) -> xr.Dataset:
    # a dimension without a coordinate: only its name is stored, so the source is valid
    return xr.Dataset(
        {"T": (("t", dim), np.arange(12.0).reshape(3, 4))}, coords={"t": np.arange(3.0)}
    )


@pytest.mark.parametrize(
    "bad, why",
    [("x/y", "contains '/'"), ("x\\y", "contains '\\\\'"), ("..", "contains '..'"),
     ("n" * 256, "longer than 255 bytes")],
)  # fmt: skip
def test_bad_names_refused_before_any_work(tmp_path: Path, bad: str, why: str) -> None:
    src = write_store(_dataset_with_dim(bad), tmp_path / "in.zarr", None)
    target = tmp_path / "out.zarr"
    with pytest.raises(ValueError) as info:
        bigrad.gradient_zarr(src, target)
    assert str(info.value).startswith("dimension name '") and why in str(info.value)
    assert not target.exists()


def test_bad_variable_name_from_the_command(tmp_path: Path) -> None:
    ds = xr.Dataset({"T..1": ("x", np.arange(4.0))}, coords={"x": np.arange(4.0)})
    src = write_store(ds, tmp_path / "in.zarr", None)
    one_line(run_cli("gradient", str(src), str(tmp_path / "out.zarr")), "variable name 'T..1'")
    assert not (tmp_path / "out.zarr").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.zarr")
    for args, env in (
        (["gradient", missing, str(tmp_path / "o"), "--debug"], None),
        (["--debug", "gradient", missing, str(tmp_path / "o")], None),
        (["gradient", missing, str(tmp_path / "o")], {"BIGRAD_DEBUG": "1"}),
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 1
        assert "Traceback" in result.stderr and "does not exist" in result.stderr


def test_nul_and_long_names() -> None:
    from bigrad.io.errors import check_names

    with pytest.raises(ValueError, match="NUL"):
        check_names("variable", ["a\x00b"])
    with pytest.raises(ValueError, match="longer than 255 bytes"):
        check_names("variable", ["é" * 128])  # 256 bytes in UTF-8, 128 characters
    check_names("variable", ["T", "dT_dlon", "a.b"])


@pytest.mark.slow
def test_silent_scheduler_port_fails_within_30_s(source: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    import socket

    # something listens but never speaks: the port answers, the handshake never ends
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        result = run_cli("gradient", str(source), str(tmp_path / "o.zarr"), "--scheduler", address)
        assert time.monotonic() - started < 30
    one_line(result, f"cannot connect to the scheduler {address}", "--scheduler")
    assert not (tmp_path / "o.zarr").exists()
