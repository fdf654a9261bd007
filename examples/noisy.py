"""Differentiating noisy data: np.gradient vs Savitzky-Golay vs a Gaussian derivative.

    python examples/noisy.py [--size N] [--figures DIR]

A sine on [0, 2 pi] sampled at N points with Gaussian noise of standard deviation
0.01.  Differences amplify the noise by about 1/dx; fitting a polynomial over a window
(Savitzky-Golay) or differentiating a Gaussian-smoothed signal averages it away.  The
data is a dask array in small chunks: both smoothing derivatives read their window
across chunk faces, and equal scipy's on the whole array.  With matplotlib installed it
plots the three estimates (``noisy.png`` in ``--figures DIR``, by default
``./bigrad-examples/``).
"""

from __future__ import annotations

import argparse

import _figures
import dask.array as da
import numpy as np

import bigrad


def main(size: int = 2001, figures: str | None = None) -> dict[str, float]:
    """Print and return the RMS error of each derivative against cos(x)."""
    x = np.linspace(0.0, 2.0 * np.pi, size)
    dx = float(x[1] - x[0])
    noisy = np.sin(x) + np.random.default_rng(0).normal(0.0, 0.01, size)
    f = da.from_array(noisy, chunks=max(1, size // 16))
    # a cubic fit over a tenth of the period; a Gaussian of a hundredth of it, which
    # averages less but bends the sine less (padding bends it near the ends: the
    # interior figure leaves out a window at each end)
    window = 2 * (size // 20) + 1
    sigma = max(1.0, size / 100.0)
    estimates = {
        "np.gradient": np.gradient(noisy, dx),
        f"savgol_derivative(window {window}, cubic)": bigrad.savgol_derivative(
            f, window, 3, spacing=dx
        ).compute(),
        f"gaussian_derivative(sigma {sigma:.0f} points)": bigrad.gaussian_derivative(
            f, sigma, spacing=dx, mode="mirror"
        ).compute(),
    }
    errors = {}
    inside = slice(window, size - window)
    print(f"sin(x) + N(0, 0.01) at {size} points, dx = {dx:.4g}; RMS error of d/dx:")
    print(f"  {'':40s} {'all':>8s} {'interior':>8s}")
    for name, d in estimates.items():
        err = d - np.cos(x)
        errors[name] = float(np.sqrt(np.mean(err**2)))
        print(f"  {name:40s} {errors[name]:8.4f} {np.sqrt(np.mean(err[inside] ** 2)):8.4f}")
    _draw(x, estimates, figures)
    return errors


def _draw(x: np.ndarray, estimates: dict[str, np.ndarray], figures: str | None) -> None:
    plt = _figures.pyplot()
    if plt is None:
        print("  (no figure: matplotlib is not installed)")
        return
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, d in estimates.items():
        ax.plot(x, d, lw=0.8, label=name)
    ax.plot(x, np.cos(x), "k--", lw=1, label="cos(x), exact")
    ax.set_ylim(-3, 3)
    ax.set_xlabel("x")
    ax.set_title("d/dx of sin(x) + noise")
    ax.legend(fontsize=8)
    _figures.save(fig, "noisy", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2001, help="number of samples")
    parser.add_argument("--figures", help="directory of the figure (default ./bigrad-examples)")
    args = parser.parse_args()
    main(args.size, args.figures)
