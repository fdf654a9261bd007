"""The README's code runs as written, so none of it can rot.

Its fenced blocks are run in document order in one empty directory: ``python`` blocks in
one namespace, as a user pasting them one after another would, and in ``bash`` blocks
each line that starts with ``bigrad`` as a command of the installed CLI (lines naming a
``tcp://`` scheduler need a cluster that is not there, and the set-up commands install
packages, so those are left out). ``BIGRAD_README_STEPS`` keeps the data small.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bigrad

README = Path(__file__).parents[1] / "README.md"
#: time steps of the README's stand-in data: a few MB instead of about 1 GB
STEPS = "4"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: the two set-up commands; .ci/run runs the second verbatim
SETUP = (
    "python -m pip install -e . && bigrad demo",
    'python -m pip install -e ".[test]" && python -m pytest',
)


def blocks(language: str | None = None) -> list[tuple[str, str]]:
    """The README's fenced blocks as (language, code), in order."""
    found = [(m.group(1), m.group(2)) for m in FENCE.finditer(README.read_text())]
    return [b for b in found if language is None or b[0] == language]


def cli_commands(code: str) -> list[list[str]]:
    """The ``bigrad ...`` lines of a bash block that can run here, as argument lists."""
    out = []
    for line in code.splitlines():
        if line.startswith("bigrad ") and "tcp://" not in line:
            out.append(shlex.split(line, comments=True))
    return out


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    script = shutil.which("bigrad")
    command = [script] if script else [sys.executable, "-m", "bigrad"]
    return subprocess.run([*command, *args[1:]], capture_output=True, text=True, timeout=240)


def test_readme_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BIGRAD_README_STEPS", STEPS)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    ran = {"python": 0, "bigrad": 0}
    try:
        for i, (language, code) in enumerate(blocks()):
            if language == "python":
                exec(compile(code, f"README.md, block {i + 1}", "exec"), namespace)
                ran["python"] += 1
            elif language == "bash":
                for args in cli_commands(code):
                    result = run_cli(args)
                    assert result.returncode == 0, (args, result.stderr)
                    ran["bigrad"] += 1
    finally:  # a cluster left open by a failing block must not outlive the test
        for name in ("client", "cluster"):
            if hasattr(namespace.get(name), "close"):
                namespace[name].close()
    assert ran["python"] >= 4 and ran["bigrad"] >= 3, ran
    # what the README says its code shows
    assert float(namespace["inside"]) == 0.0
    assert list(namespace["out"].data_vars) == ["dt2m_dlat", "dt2m_dlon", "dt2m_dtime"]
    for store in ("era5.zarr", "grads.zarr", "grads-py.zarr", "grads-cluster.zarr"):
        assert (tmp_path / store).is_dir(), store


def test_readme_setup_commands_are_the_two() -> None:
    """The set-up section keeps exactly these two commands (CI runs the second)."""
    assert [code.strip() for _, code in blocks("bash")[:2]] == list(SETUP)
    ci = (README.parent / ".ci" / "run").read_text()
    assert SETUP[1] in ci


def test_readme_links_every_example_and_names_the_api() -> None:
    text = README.read_text()
    for example in sorted((README.parent / "examples").glob("*.py")):
        if example.name.startswith("_"):  # a helper of the examples, not one
            continue
        assert f"(examples/{example.name})" in text, example.name
    for name in bigrad.__all__:
        assert f"bigrad.{name}" in text, name
    assert (README.parent / "benchmarks" / "README.md").is_file()
    assert "(benchmarks/README.md)" in text


def test_readme_stays_short() -> None:
    assert len(README.read_text().splitlines()) <= 250
