"""Quick start: the chunked gradient of a synthetic 3-D field against its exact derivative.

    python examples/quickstart.py [--size N] [--figures DIR]

f(z, y, x) = sin(x) * cos(y) * exp(-z / 2) on a non-uniform z grid and uniform x, y grids,
held as a dask array with irregular chunks (including a leftover chunk of one plane that
dask.array.gradient would refuse).  Prints the maximum error of each component against the
analytic derivative and against np.gradient on the same data.  With matplotlib, saves
a figure of a plane of f, its x derivative and the error against the analytic one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np

import bigrad

sys.path.insert(0, str(Path(__file__).parent))
import _figures


def main(size: int = 64, figures: str | None = None) -> float:
    nz, ny, nx = size, size + 8, size + 16
    z = np.linspace(0.0, 1.0, nz) ** 1.5 * 4.0  # denser near the surface
    y = np.linspace(0.0, np.pi, ny)
    x = np.linspace(0.0, 2 * np.pi, nx)
    Z, Y, X = np.meshgrid(z, y, x, indexing="ij")
    f = np.sin(X) * np.cos(Y) * np.exp(-Z / 2)
    exact = (
        -0.5 * f,
        -np.sin(X) * np.sin(Y) * np.exp(-Z / 2),
        np.cos(X) * np.cos(Y) * np.exp(-Z / 2),
    )

    chunks = (
        (nz // 2, nz - nz // 2 - 1, 1),
        (ny // 3, ny - ny // 3),
        (nx // 4,) * 3 + (nx - 3 * (nx // 4),),
    )
    field = da.from_array(f, chunks=chunks)
    t0 = time.perf_counter()
    grads = bigrad.gradient(field, z, y[1] - y[0], x[1] - x[0], edge_order=2)
    computed = da.compute(*grads)
    seconds = time.perf_counter() - t0
    reference = np.gradient(f, z, y[1] - y[0], x[1] - x[0], edge_order=2)

    print(f"field {f.shape} float64 in {field.npartitions} chunks, gradient in {seconds:.3f} s")
    worst = 0.0
    for name, got, ref, ex in zip("zyx", computed, reference, exact, strict=True):
        vs_exact = float(np.max(np.abs(got - ex)))
        vs_numpy = float(np.max(np.abs(got - ref)))
        worst = max(worst, vs_exact)
        print(f"  d/d{name}: max error vs analytic {vs_exact:.2e}, vs np.gradient {vs_numpy:.1e}")
    _figure(f[0], computed[2][0], computed[2][0] - exact[2][0], figures)
    return worst


def _figure(plane: np.ndarray, dfdx: np.ndarray, error: np.ndarray, figures: str | None) -> None:
    plt = _figures.pyplot()
    if plt is None:
        print("(no figure: matplotlib is not installed)")
        return
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, data, title in zip(
        axes, (plane, dfdx, error), ("f at z = 0", "df/dx (bigrad)", "df/dx - exact"),
        strict=True,
    ):  # fmt: skip
        im = ax.imshow(data, cmap="RdBu_r", origin="lower", aspect="auto")
        ax.set_title(title)
        fig.colorbar(im, ax=ax)
    _figures.save(fig, "quickstart", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="points along z (default 64)")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    a = parser.parse_args()
    main(a.size, a.figures)
