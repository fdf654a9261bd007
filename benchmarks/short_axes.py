"""Speed of the gradient on arrays with a short trailing axis, against numpy.

    python benchmarks/short_axes.py --size-mib 256 --repeat 5

Positions over time ``(n, 3)`` along the first axis (unit steps, and uneven times: a
coordinate; on those also ``bigrad.derivative`` to accuracy 4, numpy's gradient being
of accuracy 2: every point's weights from its own times), ``(n, 500, 128)`` along an
uneven axis 1 (a regional grid's latitudes: rows of 128 points, each row with its own
weights), and arrays ``(n, 20)``, ``(n, 80)`` and ``(n, 100, 20)`` along every axis
(float64, about ``--size-mib`` each): planes of a few points, which bigrad's kernel
takes many at a time.  Each of ``--repeat`` rounds
runs ``bigrad.gradient`` and ``np.gradient`` once each, alternately; the table shows
the medians and numpy's time over bigrad's (the speed-up).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import bigrad

#: (name, trailing shape, gradient axis: None for all, an uneven coordinate along that
#: axis, bigrad's accuracy)
CASES = [
    ("(n, 3) along axis 0", (3,), 0, False, 2),
    ("(n, 3), uneven times", (3,), 0, True, 2),
    ("(n, 3), uneven, accuracy 4", (3,), 0, True, 4),
    ("(n, 500, 128), uneven y", (500, 128), 1, True, 2),
    ("(n, 20) all axes", (20,), None, False, 2),
    ("(n, 80) all axes", (80,), None, False, 2),
    ("(n, 100, 20) all axes", (100, 20), None, False, 2),
]


def _ours(args: tuple[Any, ...], axis: Any, accuracy: int) -> Any:
    if accuracy == 2:
        return bigrad.gradient(*args, axis=axis)
    return bigrad.derivative(*args, axis=axis, accuracy=accuracy)


def _time(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(size_mib: float = 256.0, repeat: int = 5) -> dict[str, dict[str, float]]:
    """Run the rounds, print the table, return per case the median seconds of bigrad
    and numpy and the speed-up."""
    rows: dict[str, dict[str, float]] = {}
    print(f"float64, about {size_mib:g} MiB each, {repeat} rounds (median seconds):")
    for name, trailing, axis, uneven, acc in CASES:
        n = max(8, int(size_mib * 2**20 / 8 / np.prod(trailing)))
        f = np.random.default_rng(0).standard_normal((n, *trailing))
        t = np.cumsum(np.random.default_rng(1).uniform(0.5, 1.5, f.shape[axis])) if uneven else 1.0
        args = (f, t) if uneven else (f,)
        ours, theirs = [], []
        _ours(args, axis, acc)  # warm-up: compiling, the first touch of memory
        np.gradient(*args, axis=axis)
        for _ in range(repeat):
            ours.append(_time(lambda a=args, x=axis, c=acc: _ours(a, x, c)))
            theirs.append(_time(lambda a=args, x=axis: np.gradient(*a, axis=x)))
        b, t = float(np.median(ours)), float(np.median(theirs))
        rows[name] = {"bigrad": b, "numpy": t, "speed-up": t / b}
        print(f"  {name:<24} bigrad {b:8.4f}  numpy {t:8.4f}  x{t / b:6.2f}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=256.0)
    parser.add_argument("--repeat", type=int, default=5)
    main(**vars(parser.parse_args()))
