"""The docstrings are the API reference: every public name has one, in numpydoc form,
with an example that the default test run executes as a doctest."""

from __future__ import annotations

import inspect
import pydoc
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bigrad
import bigrad.cli.main
from bigrad.xarray.accessor import DataArrayAccessor, DatasetAccessor

ROOT = Path(__file__).parents[1]


def _public() -> list[tuple[str, Any]]:
    """Every public function, class and accessor method a user calls."""
    # constants (EARTH_RADIUS) are documented where they are defined and in help(bigrad)
    names = [(f"bigrad.{n}", getattr(bigrad, n)) for n in bigrad.__all__
             if callable(getattr(bigrad, n))]  # fmt: skip
    names += [
        (f"bigrad.cli.main.{n}", getattr(bigrad.cli.main, n)) for n in bigrad.cli.main.__all__
    ]
    for cls, prefix in ((DataArrayAccessor, "da.bigrad"), (DatasetAccessor, "ds.bigrad")):
        names.append((prefix, cls))
        names += [(f"{prefix}.{k}", v) for k, v in vars(cls).items()
                  if inspect.isfunction(v) and not k.startswith("_")]  # fmt: skip
    return names


PUBLIC = _public()


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_numpydoc_with_example(name: str, obj: Callable[..., Any]) -> None:
    doc = inspect.getdoc(obj) or ""
    assert ">>> " in doc, f"{name} has no example"
    if not inspect.isfunction(obj):
        return  # a class: its methods are checked on their own
    params = [p for p in inspect.signature(obj).parameters if p != "self"]
    # functions with arguments document them and what they return, numpydoc's way
    # (the small CLI helpers parse_size/positive_int say it in their one line)
    if params and obj.__name__ not in ("parse_size", "positive_int"):
        for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------"):
            assert section in doc, f"{name} lacks {section.splitlines()[0]}"
        for p in params:
            assert p.lstrip("*") in doc, f"{name} does not document {p}"


def test_help_lists_the_public_names() -> None:
    text = pydoc.render_doc(bigrad, renderer=pydoc.plaintext)
    for name in bigrad.__all__:
        assert name in text, name
    for method in ("differentiate", "gradient", "derivative", "laplacian"):
        assert f"da.bigrad.{method}" in text, method
    assert "ds.bigrad.gradient" in text


def test_doctests_run_by_default() -> None:
    # the default `python -m pytest` collects the package's docstrings as doctests
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"]
    assert "bigrad" in options["testpaths"]
