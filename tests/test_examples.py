"""Every example in examples/ runs, as a user would run it, so none can rot."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES_DIR = Path(__file__).parents[1] / "examples"
#: every script but the helpers (``_figures.py``)
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))
#: small arguments so the default test run stays fast
ARGS = {
    "quickstart.py": ["--size", "16"],
    "temperature.py": ["--size", "12"],
    # on a LocalCluster of two worker processes started by the example
    "cluster.py": ["--size", "16"],
    "resume.py": ["--size", "8"],
    "vorticity.py": ["--size", "16"],
    "out_of_core.py": ["--size-mb", "16"],
    "coast.py": ["--size", "24"],
    "noisy.py": ["--size", "401"],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path, tmp_path: Path) -> None:
    # figures go where BIGRAD_EXAMPLES_DIR says; the test extra has matplotlib, so each
    # example draws its figure here
    pytest.importorskip("matplotlib", reason="the figures need matplotlib (test extra)")
    figures = tmp_path / "figures"
    result = subprocess.run(
        [sys.executable, str(path), *ARGS.get(path.name, [])],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "BIGRAD_EXAMPLES_DIR": str(figures), "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    png = figures / f"{path.stem}.png"
    assert f"figure: {png}" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [figures]  # nothing else left in the working directory


def load_example(name: str) -> ModuleType:
    # as `python examples/NAME.py` runs it: its folder first on the path, for the helpers
    # it imports (_figures); not left to whichever example a process happened to load
    # first
    if str(EXAMPLES_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLES_DIR))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_is_accurate() -> None:
    assert load_example("quickstart").main(24) < 0.05


def test_temperature_is_accurate() -> None:
    # at this size a non-periodic (one-sided) seam would err by about 0.03 K/degree
    assert load_example("temperature").main(36) < 0.01


def test_resume_is_exact() -> None:
    # a run stopped half way and resumed holds the values of an uninterrupted run
    assert load_example("resume").main(8) is True


def test_vorticity_is_accurate_and_saves_a_map(tmp_path: Path) -> None:
    # accuracy 4 on 7.5-degree steps; the worst point is next to a pole
    assert load_example("vorticity").main(24, str(tmp_path)) < 5e-3
    assert (tmp_path / "vorticity.png").stat().st_size > 0


def test_out_of_core_is_exact(tmp_path: Path) -> None:
    # a store eight times the read-ahead budget, streamed: planes equal np.gradient's
    result = load_example("out_of_core").main(16, figures=str(tmp_path))
    assert result["worst"] == 0.0
    # the memory it added is printed; not asserted (earlier tests' peak may hide it where
    # the peak cannot be reset)
    assert result["store_mb"] >= 16 and result["added_mb"] >= 0


def test_coast_keeps_the_coast(tmp_path: Path) -> None:
    # numpy loses the sea cells next to land; one-sided differences keep every one
    r = load_example("coast").main(24, str(tmp_path))
    assert r["lost_one_sided"] == 0 < r["lost_propagate"]
    assert r["coast_error"] < 0.02


def test_noisy_smoothing_beats_differences(tmp_path: Path) -> None:
    errors = list(load_example("noisy").main(2001, str(tmp_path)).values())
    assert errors[0] > 2.0  # the figure for np.gradient: 2.26
    assert max(errors[1:]) < errors[0] / 10
