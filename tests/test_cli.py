"""The ``bigrad`` command as a user runs it: a subprocess, exit codes, messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bigrad
from tests.zarr_helpers import (
    ROOT,
    contents,
    run_cli,
    sample_dataset,
    without_compile_notice,
    write_store,
)


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


def test_user_mistakes_exit_1_in_one_line(source: Path, tmp_path: Path, capsys: Any) -> None:
    from bigrad.cli.main import main

    target = tmp_path / "out.zarr"
    assert run_cli("gradient", str(source), str(target), "-q").returncode == 0
    # one mistake through the installed command, the others through its main() here
    # (the same parsing and reporting, without a process start each)
    result = run_cli("gradient", str(source), str(target))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("bigrad: error:") and "already exists" in lines[0], lines
    cases = [
        (["gradient", str(source), str(target)], "already exists"),
        (["gradient", str(source), str(source), "--mode", "w"], "same store"),
        (["gradient", str(tmp_path / "nope.zarr"), str(tmp_path / "o2")], "does not exist"),
        (["gradient", str(source), str(tmp_path / "o3"), "--var", "salt"], "salt"),
        (["gradient", str(source), str(tmp_path / "o4"), "--dim", "depth"], "depth"),
        (["gradient", str(source), str(tmp_path / "o5"), "--scheduler", "local:x"], "local:N"),
    ]
    for args, needle in cases:
        code = main(args)
        err = capsys.readouterr().err
        assert code == 1, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("bigrad: error:"), err
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


def test_command_keeps_one_malloc_arena(source: Path, tmp_path: Path) -> None:
    # the stream's threads free each other's blocks: one glibc arena, not one per thread
    # (glibc's malloc_info lists the arenas as <heap nr=...>); MALLOC_ARENA_MAX wins
    code = (
        "import ctypes, os, sys, tempfile\n"
        "from bigrad.cli.main import main\n"
        f"assert main(['gradient', {str(source)!r}, sys.argv[1], '-q', '--threads', '3']) == 0\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.fdopen.restype = ctypes.c_void_p\n"
        "with tempfile.TemporaryFile() as f:\n"
        "    stream = libc.fdopen(os.dup(f.fileno()), b'w')\n"
        "    libc.malloc_info(0, ctypes.c_void_p(stream)); libc.fclose(ctypes.c_void_p(stream))\n"
        "    f.seek(0); print(f.read().decode().count('<heap nr='))\n"
    )
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc arenas are glibc's")
    counts = {}
    for arenas in ("", "4"):
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        env.update({"PYTHONPATH": str(ROOT)}, **({"MALLOC_ARENA_MAX": arenas} if arenas else {}))
        target = tmp_path / f"out{arenas}.zarr"
        run = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                             text=True, env=env, timeout=240)  # fmt: skip
        assert run.returncode == 0, run.stderr
        counts[arenas] = int(run.stdout.split()[-1])
    assert counts[""] == 1 and counts["4"] > 1, counts


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


# The command speaks CLI: each bad invocation (after `gradient SOURCE TARGET`) fails with
# exit code 1, one line on stderr naming the flag to change, and no Python spelling.
# Every row runs the real `main` of the command, all in one subprocess (see _drive).
BAD = [
    # a periodic dimension that is not a CF longitude: its period as a flag
    (["--periodic", "lat"], "--period lat=360"),
    # a period without any periodic dimension
    (["--var", "T", "--period", "lat=100"], "--periodic"),
    # a period for a dimension that is not periodic
    (["--var", "T", "--periodic", "lon", "--period", "lat=100"], "--periodic"),
    (["--var", "nope"], "--var"),  # not a data variable
    (["--dim", "nope"], "--dim"),  # not a dimension
    (["--var", "T", "--dim", "lat", "--dim", "lat"], "--dim"),  # a dimension twice
    # periodic, but not differentiated
    (["--var", "T", "--periodic", "lon", "--dim", "lat"], "--periodic"),
    (["--var", "T", "--periodic", "nope"], "--periodic"),  # not a dimension
    (["--var", "T", "--periodic", "area"], "--periodic"),  # a 2-D coordinate
    (["--var", "w", "--dim", "y", "--accuracy", "6"], "--accuracy"),  # too few points
    (["--var", "one", "--dim", "y1"], "--edge-order"),  # one point: no gradient
    # a period that disagrees with a dimension without coordinate
    (["--var", "s", "--dim", "x", "--periodic", "x", "--period", "x=100"], "--period"),
    (["--var", "T", "--datetime-unit", "parsecs"], "--datetime-unit"),  # not a unit
    (["--var", "T"], "--mode w"),  # the target exists (written before the table)
    (["--var", "T", "--mode", "resume"], "--mode w"),  # exists, but is not a bigrad run
    # nothing listens there
    (["--var", "T", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler"),
    # smoothing does not wrap round (one-sided differences do: test_sphere_zarr)
    (["--var", "T", "--periodic", "lon", "--smooth", "gaussian:1"], "--periodic"),
    (["--var", "T", "--nan", "one-sided", "--smooth", "gaussian:1"], "--nan"),
]
#: the Python API's arguments, spelled as a Python call would: never in a CLI message
PYTHON_SPELLING = re.compile(
    r"(?<![-\w])(variables|dims?|axis|edge_order|order|accuracy|periodic|period|"
    r"datetime_unit|mode|threads|memory|scheduler|nan|smooth)=|edge_order|datetime_unit|"
    r"gradient_zarr"
)

_DRIVER = """
import contextlib, io, json, sys
from bigrad.cli.main import main
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""


def _drive(argvs: list[list[str]]) -> list[tuple[int, str]]:
    """Each ``argv`` run by the command's ``main`` in one subprocess: exit code, stderr."""
    result = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(argvs)],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # a loaded machine can take over a second to load the cached kernels: the notice
    return [
        (int(c), without_compile_notice(e))
        for c, e in json.loads(result.stdout.strip().splitlines()[-1])
    ]


def _bad_source(tmp_path: Path) -> Path:
    ds = sample_dataset().drop_vars("name")
    ds["s"] = ("x", np.arange(12.0))  # a dimension without coordinate
    ds["one"] = ("y1", np.arange(1.0))  # one point
    ds = ds.assign_coords(y=("y", np.linspace(0.0, 1.0, 5)))
    ds["w"] = ("y", np.arange(5.0) ** 2)  # five points
    return write_store(ds, tmp_path / "in.zarr", None)


def test_cli_errors_name_flags(tmp_path: Path) -> None:
    src, target = _bad_source(tmp_path), tmp_path / "out.zarr"
    write_store(sample_dataset(), target, None)  # an existing Zarr store, not bigrad's
    results = _drive([["gradient", str(src), str(target), "-q", *args] for args, _ in BAD])
    for (args, flag), (code, err) in zip(BAD, results, strict=True):
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1, (args, err)
        assert lines[0].startswith("bigrad: error:") and flag in lines[0], (args, flag, lines)
        assert not PYTHON_SPELLING.search(lines[0]), (args, lines[0])


def test_python_errors_name_arguments(tmp_path: Path) -> None:
    # the same mistakes through the Python API name its arguments
    src = _bad_source(tmp_path)
    cases = [
        ({"periodic": "lat"}, r"pass period=\{'lat': 360\.0\}"),
        ({"variables": "T", "period": {"lat": 100.0}}, r"pass periodic= too"),
        ({"variables": "w", "dims": "y", "accuracy": 6}, r"dimension 'y' .*lower accuracy="),
        ({"variables": "one", "dims": "y1"}, r"with edge_order=1 "),
        ({"variables": "T", "datetime_unit": "parsecs"}, r"^datetime_unit 'parsecs'"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            bigrad.gradient_zarr(src, tmp_path / "out.zarr", **kwargs)
    bigrad.gradient_zarr(src, tmp_path / "out.zarr", variables="T")
    with pytest.raises(FileExistsError, match=r"pass mode='w' to replace it, or mode='resume'"):
        bigrad.gradient_zarr(src, tmp_path / "out.zarr", variables="T")
