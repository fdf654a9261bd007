"""Where the examples save their figures, and how (not an example itself).

Each example, when matplotlib is importable, saves a PNG into the directory named by
``--figures DIR`` or the ``BIGRAD_EXAMPLES_DIR`` environment variable, by default
``./bigrad-examples/`` (which .gitignore covers).  Without matplotlib they only print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: the environment variable naming the figures' directory
ENV = "BIGRAD_EXAMPLES_DIR"


def figures_dir(given: str | None = None) -> Path:
    """``given``, else ``$BIGRAD_EXAMPLES_DIR``, else ``./bigrad-examples``."""
    return Path(given or os.environ.get(ENV) or "bigrad-examples")


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or None if not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, name: str, given: str | None = None) -> Path:
    """Save ``fig`` as ``name``.png in the figures' directory, say where, close it."""
    directory = figures_dir(given)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    fig.clf()
    print(f"figure: {path}")
    return path
