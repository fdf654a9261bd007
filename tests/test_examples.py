"""Every example in examples/ runs, as a user would run it, so none can rot."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES_DIR = Path(__file__).parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
#: small arguments so the default test run stays fast
ARGS = {
    "quickstart.py": ["--size", "16"],
    "temperature.py": ["--size", "12"],
    # on a LocalCluster of two worker processes started by the example
    "cluster.py": ["--size", "16"],
    "resume.py": ["--size", "8"],
    "coast.py": ["--size", "24"],
    "noisy.py": ["--size", "401"],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(path), *ARGS.get(path.name, [])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def load_example(name: str) -> ModuleType:
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


def test_coast_keeps_the_coast() -> None:
    # numpy loses the sea cells next to land; one-sided differences keep every one
    r = load_example("coast").main(24)
    assert r["lost_one_sided"] == 0 < r["lost_propagate"]
    assert r["coast_error"] < 0.02


def test_noisy_smoothing_beats_differences() -> None:
    errors = list(load_example("noisy").main(2001).values())
    assert errors[0] > 2.0  # the figure for np.gradient: 2.26
    assert max(errors[1:]) < errors[0] / 10
