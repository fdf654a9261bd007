"""The ``bigrad`` command: parses arguments and calls the API, nothing more.

Exit codes: 0 success, 1 failure (a one-line message, no traceback, for mistakes a
user can fix and for failures of the environment: a missing store, an existing or
locked target, an unknown variable, a full or read-only disk, a damaged source chunk,
an unreachable cluster...), 2 usage errors (argparse's own), 130 interrupted.
``--debug`` (or ``BIGRAD_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from bigrad.core.errors import Arg, names_arguments, spell

__all__ = ["main", "parse_size", "positive_int"]

_GRADIENT_EXAMPLES = """\
examples:
  bigrad gradient era5.zarr grads.zarr
  bigrad gradient era5.nc grads.zarr --periodic lon   # NetCDF in, Zarr out
  bigrad gradient era5.zarr grads.zarr --var t2m --dim lat --dim lon --periodic lon
  bigrad gradient s3://bucket/in.zarr grads.zarr --edge-order 2 --mode w
  bigrad gradient era5.zarr d2.zarr --order 2 --accuracy 4 --periodic lon
  bigrad gradient ocean.zarr grads.zarr --periodic x --period x=4000 --datetime-unit h
  bigrad gradient era5.zarr grads.zarr --var t2m --geometry sphere   # K m-1, east and north
  bigrad gradient era5.zarr grads.zarr --mode resume     # after a crash or a kill
  bigrad gradient era5.zarr grads.zarr --scheduler local:4          # 4 worker processes
  bigrad gradient era5.zarr grads.zarr --scheduler tcp://head:8786  # an existing cluster
"""

_WIND_EXAMPLES = """\
examples:
  bigrad {0} era5.zarr {0}.zarr --u u --v v
  bigrad {0} era5.nc {0}.zarr --u u10 --v v10 --accuracy 4
  bigrad {0} winds.zarr {0}.zarr --lat latitude --lon longitude --mode resume
"""

_DEMO_EXAMPLES = """\
examples:
  bigrad demo                      # ./bigrad-demo, about 300 MB
  bigrad demo /scratch/demo --size 2GB
"""

#: mistakes a user can fix, reported in one line; anything else keeps its traceback
_USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    FileExistsError,
    FileNotFoundError,
    OSError,  # the file system's (full, read-only, name too long) and the network's
    TimeoutError,
)


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20}
_UNITS |= {"GIB": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_size(text: str) -> int:
    """Bytes in ``"300MB"``, ``"1GB"``, ``"1.5GiB"``, ``"500000"``.

    >>> parse_size("300MB"), parse_size("1GiB")
    (300000000, 1073741824)
    """
    s = text.strip().upper().replace(" ", "")
    number = s.rstrip("KMGIB")
    unit = s[len(number) :]
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            f"size {text!r} is not understood; write e.g. 300MB, 1GB or 2GiB"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size {text!r} must be positive")
    return int(value)


_DEBUG = "show the traceback of an error (also: BIGRAD_DEBUG=1)"


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--threads``).

    >>> positive_int("4")
    4
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


class _Commands(argparse.HelpFormatter):
    """argparse's help, each command and its help on one line: argparse sizes the name
    column without the commands' extra indent, so longer names wrap."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            for sub in self._iter_indented_subactions(action):
                length = len(self._format_action_invocation(sub)) + self._current_indent
                self._action_max_length = max(self._action_max_length, length)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bigrad",
        description="np.gradient of arrays far larger than memory, Zarr store to Zarr store.",
        epilog="Run `bigrad COMMAND --help` for a command's options and examples.",
        formatter_class=_Commands,
    )
    from bigrad import __version__

    parser.add_argument("--version", action="version", version=f"bigrad {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser(
        "gradient",
        help="gradients of a store's (or NetCDF file's) variables, to Zarr",
        description=(
            "Read SOURCE (a Zarr store written by xarray, format 2 or 3, a path or an "
            "fsspec URL; or a local NetCDF/HDF5 file xarray opens, with "
            "pip install 'bigrad[netcdf]') block by block, in bounded memory, and write to TARGET one "
            "variable d{var}_d{dim} per variable and dimension, equal to xarray's "
            "differentiate.  SOURCE is only read.  A killed run leaves TARGET marked "
            "incomplete; --mode resume finishes it."
        ),
        epilog=_GRADIENT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _stencil_options(g)
    _sphere_options(g)
    g.add_argument(
        "--geometry", choices=("cartesian", "sphere", "auto"), default="cartesian",
        help="sphere: d{var}_dx and d{var}_dy in <units> m-1 on a latitude/longitude grid; "
        "auto: the sphere when the --dim are a CF latitude and longitude (default: "
        "cartesian, along each --dim)",
    )  # fmt: skip
    _run_options(g)
    for what, label in (("vorticity", "relative vorticity"), ("divergence", "divergence")):
        w = sub.add_parser(
            what,
            help=f"{label} of a store's winds on the sphere, to Zarr",
            description=(
                f"Read the winds U and V of SOURCE (as for `bigrad gradient`) block by "
                f"block, each once, and write their {label} on the sphere (s-1 for winds in "
                f"m s-1) to TARGET as the variable {what!r}, equal to xarray's "
                f"ds.bigrad.{what}(U, V).  Latitude and longitude come from CF attributes "
                "or --lat/--lon.  SOURCE is only read; --mode resume finishes a killed run."
            ),
            epilog=_WIND_EXAMPLES.format(what),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        w.add_argument(
            "source", metavar="SOURCE", help="input Zarr store (path or URL) or NetCDF file"
        )
        w.add_argument("target", metavar="TARGET", help="output Zarr store (path or URL)")
        w.add_argument("--u", default="u", metavar="U", help="eastward wind variable (default: u)")
        w.add_argument("--v", default="v", metavar="V", help="northward wind variable (default: v)")
        w.add_argument(
            "--accuracy", type=int, choices=(2, 4, 6), default=2,
            help="order of accuracy of the stencils (default: 2, MetPy's)",
        )  # fmt: skip
        w.add_argument(
            "--periodic", choices=("auto", "yes", "no"), default="auto",
            help="whether longitude wraps round (default: auto, when it covers the circle)",
        )  # fmt: skip
        _nan_option(w)
        _sphere_options(w)
        _run_options(w)
    _demo_parser(sub)
    return parser


def _nan_option(g: argparse.ArgumentParser) -> None:
    g.add_argument(
        "--nan", choices=("propagate", "one-sided"), default="propagate",
        help="one-sided: differentiate each run of finite values alone, one-sided next "
        "to missing values such as land (default: propagate, numpy's)",
    )  # fmt: skip


def _sphere_options(g: argparse.ArgumentParser) -> None:
    """The grid on the sphere: which coordinates, which radius."""
    g.add_argument(
        "--lat", metavar="NAME", help="latitude coordinate (default: from CF attributes)"
    )
    g.add_argument(
        "--lon", metavar="NAME", help="longitude coordinate (default: from CF attributes)"
    )
    g.add_argument(
        "--radius", type=float, metavar="METRES",
        help="the sphere's radius (default: the mean Earth radius, 6371008.8)",
    )  # fmt: skip


def _stencil_options(g: argparse.ArgumentParser) -> None:
    """``bigrad gradient``'s arguments: what is read and what is computed."""
    g.add_argument("source", metavar="SOURCE", help="input Zarr store (path or URL) or NetCDF file")
    g.add_argument("target", metavar="TARGET", help="output Zarr store (path or URL)")
    g.add_argument(
        "--var", action="append", dest="variables", metavar="V",
        help="data variable to differentiate (repeatable; default: all numeric ones)",
    )  # fmt: skip
    g.add_argument(
        "--dim", action="append", dest="dims", metavar="D",
        help="dimension to differentiate along (repeatable; default: all)",
    )  # fmt: skip
    g.add_argument(
        "--edge-order", type=int, choices=(1, 2), default=1,
        help="accuracy of numpy's one-sided differences at the ends (default: 1)",
    )  # fmt: skip
    g.add_argument(
        "--order", type=int, choices=(1, 2), default=1,
        help="derivative order: 2 writes d2{var}_d{dim}2 (default: 1)",
    )  # fmt: skip
    g.add_argument(
        "--accuracy", type=int, choices=(2, 4, 6), default=2,
        help="order of accuracy of the stencils, the ends included (default: 2, numpy's)",
    )  # fmt: skip
    _nan_option(g)
    g.add_argument(
        "--smooth", metavar="SPEC",
        help="a smoothing derivative instead of differences: savgol:WINDOW:POLYORDER "
        "(Savitzky-Golay) or gaussian:SIGMA (sigma in the coordinate's units); evenly "
        "spaced coordinates only",
    )  # fmt: skip
    g.add_argument(
        "--period", action="append", type=_period, metavar="DIM=VALUE",
        help="period of a periodic dimension other than a CF longitude, e.g. x=100 "
        "(repeatable)",
    )  # fmt: skip
    g.add_argument(
        "--datetime-unit",
        metavar="UNIT",
        help="unit of a time coordinate's spacing, e.g. h or D (default: the coordinate's)",
    )
    g.add_argument(
        "--periodic", action="append", metavar="D",
        help="dimension that wraps round, e.g. lon (repeatable; period 360 for a CF longitude)",
    )  # fmt: skip


def _run_options(g: argparse.ArgumentParser) -> None:
    """``bigrad gradient``'s arguments: how the run goes."""
    g.add_argument(
        "--mode", choices=("w-", "w", "resume"), default="w-",
        help="w-: refuse an existing TARGET (default); w: replace it; resume: finish an "
        "interrupted run",
    )  # fmt: skip
    g.add_argument(
        "--threads", type=positive_int, default=None, metavar="N",
        help="worker threads, at least 1 (default: CPUs)",
    )  # fmt: skip
    g.add_argument(
        "--memory", default="512MiB", type=parse_size, metavar="SIZE",
        help="input held read ahead, e.g. 256MB (default 512MiB; less caps memory, "
        "at the cost of re-reading some blocks)",
    )  # fmt: skip
    g.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run on a dask.distributed cluster: the address of its scheduler "
        "(tcp://host:8786), whose workers must see SOURCE and TARGET at the same paths, "
        "or local:N to start N local worker processes for this run",
    )  # fmt: skip
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG)


def _demo_parser(sub: Any) -> None:
    d = sub.add_parser(
        "demo",
        help="a synthetic climate-like store, its gradients, a summary",
        description=(
            "Write a synthetic (time, lat, lon) float32 field with known derivatives to "
            "DIR/climate.zarr, its gradients to DIR/gradients.zarr (both replaced if "
            "present), and print sizes, time, throughput, peak memory and the error "
            "against the exact derivatives.  With matplotlib installed (pip install "
            "'bigrad[plot]') also DIR/quicklook.png."
        ),
        epilog=_DEMO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("directory", nargs="?", default="bigrad-demo", metavar="DIR")
    d.add_argument(
        "--size", default="300MB", type=parse_size, help="size of the field (default 300MB)"
    )
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    d.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG)


def _period(text: str) -> tuple[str, float]:
    """``DIM=VALUE`` of ``--period``."""
    dim, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not dim or not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(
            f"expected DIM=VALUE with a positive number, e.g. lon=360, got {text!r}"
        )
    return dim, number


def _fail(message: str) -> int:
    # one line, whatever the message holds
    print(f"bigrad: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


class _Notes(logging.Handler):
    """bigrad's notices (a stale lock taken over, a target already complete) as
    ``bigrad: ...`` lines on stderr; remembers whether the target was complete."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.complete = False

    def emit(self, record: logging.LogRecord) -> None:
        self.complete = self.complete or bool(getattr(record, "bigrad_complete", False))
        print(f"bigrad: {record.getMessage()}", file=sys.stderr)


def _gradient(args: argparse.Namespace, show: bool, notes: _Notes) -> int:
    from bigrad.io.zarr import gradient_zarr

    out = gradient_zarr(
        args.source,
        args.target,
        variables=args.variables,
        dims=args.dims,
        edge_order=args.edge_order,
        periodic=args.periodic,
        order=args.order,
        accuracy=args.accuracy,
        period=dict(args.period) if args.period else None,
        datetime_unit=args.datetime_unit,
        mode=args.mode,
        progress=show,
        threads=args.threads,
        memory=args.memory,
        scheduler=args.scheduler,
        nan=args.nan,
        smooth=args.smooth,
        geometry=args.geometry,
        lat=args.lat,
        lon=args.lon,
        radius=args.radius,
    )
    if not args.quiet and not notes.complete:
        print(f"wrote {', '.join(map(str, out.data_vars))} to {args.target}")
    return 0


def _winds(args: argparse.Namespace, show: bool, notes: _Notes) -> int:
    from bigrad.io.zarr import kinematics_zarr

    out = kinematics_zarr(
        args.source,
        args.target,
        args.command,
        u=args.u,
        v=args.v,
        lat=args.lat,
        lon=args.lon,
        radius=args.radius,
        accuracy=args.accuracy,
        periodic={"auto": None, "yes": True, "no": False}[args.periodic],
        nan=args.nan,
        mode=args.mode,
        progress=show,
        threads=args.threads,
        memory=args.memory,
        scheduler=args.scheduler,
    )
    if not args.quiet and not notes.complete:
        print(f"wrote {', '.join(map(str, out.data_vars))} to {args.target}")
    return 0


#: the flag of each Python argument an error message may name (bigrad.core.errors)
_FLAGS = {
    "variables": "--var",
    "dims": "--dim",
    "dim": "--dim",
    "axis": "--dim",
    "edge_order": "--edge-order",
    "order": "--order",
    "accuracy": "--accuracy",
    "periodic": "--periodic",
    "period": "--period",
    "datetime_unit": "--datetime-unit",
    "mode": "--mode",
    "threads": "--threads",
    "memory": "--memory",
    "scheduler": "--scheduler",
    "nan": "--nan",
    "smooth": "--smooth",
    "geometry": "--geometry",
    "lat": "--lat",
    "lon": "--lon",
    "radius": "--radius",
    "u": "--u",
    "v": "--v",
}


def _flag(arg: Arg) -> str:
    """An argument as the command spells it: ``--mode w``, ``--period lon=360``.

    >>> _flag(Arg("period", {"lon": 360.0})), _flag(Arg("mode", "w")), _flag(Arg("dims"))
    ('--period lon=360', '--mode w', '--dim')
    """
    flag = _FLAGS.get(arg.name)
    if flag is None:  # not an argument: an axis or dimension named in the message
        return arg.python()
    if arg.value is None or arg.subject:
        return flag
    if isinstance(arg.value, dict):
        return " ".join(f"{flag} {k}={v:g}" for k, v in arg.value.items())
    return f"{flag} {arg.value}"


def _message(error: BaseException) -> str | None:
    """The one line for an error a user can act on, naming flags; ``None`` for a bug."""
    from bigrad.io.errors import ClusterError, environment_message
    from bigrad.io.zarr import IncompleteStoreError

    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    if names_arguments(error):
        return spell(error, _flag)
    if isinstance(error, OSError) and not isinstance(
        error, (FileExistsError, FileNotFoundError, TimeoutError)
    ):
        return environment_message(error)
    if isinstance(error, (*_USER_ERRORS, IncompleteStoreError, ClusterError)):
        return str(error)
    return None


def _one_malloc_arena() -> None:
    """One glibc malloc arena for this process, unless ``MALLOC_ARENA_MAX`` says otherwise.

    The command owns its process, and its stream's threads free the blocks other threads
    read: with an arena per thread, each keeps its own freed blocks for reuse, which adds
    tens of MiB to the peak and gains no speed (blocks are few and large).
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: leave it
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)


#: glibc's mallopt parameter for the number of arenas (malloc.h)
_M_ARENA_MAX = -8


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bigrad`` command with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``bigrad``.

    Returns
    -------
    int
        The exit code: 0 success, 1 a failure reported in one line on stderr, 130
        interrupted (argparse exits with 2 on a usage error).

    Examples
    --------
    >>> main(["gradient", "no-such-store.zarr", "out.zarr"])  # one line on stderr
    1
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _one_malloc_arena()
    debug = args.debug or os.environ.get("BIGRAD_DEBUG", "") not in ("", "0")
    warnings.filterwarnings("ignore", message="Consolidated metadata")
    show = not args.quiet and sys.stderr.isatty()
    notes = _Notes()
    logger = logging.getLogger("bigrad")
    logger.addHandler(notes)
    logger.setLevel(logging.INFO)
    try:
        if args.command == "gradient":
            return _gradient(args, show, notes)
        if args.command in ("vorticity", "divergence"):
            return _winds(args, show, notes)
        from bigrad.cli.demo import run_demo

        summary = run_demo(args.directory, args.size, progress=show)
        print("\n".join(summary.lines()))
        return 0
    except KeyboardInterrupt:
        print("bigrad: interrupted; finish with --mode resume", file=sys.stderr)
        return 130
    except Exception as e:
        message = None if debug else _message(e)
        if message is None:
            raise
        return _fail(message)
    finally:
        logger.removeHandler(notes)
