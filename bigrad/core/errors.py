"""Errors that name arguments, spelled for whichever front end reports them.

A message that tells the user which argument to change names it through a field of a
template, so that each front end spells it its own way: the Python API as
``periodic=`` or ``period={'lon': 360.0}`` (the exception's own text), the ``bigrad``
command as ``--periodic`` or ``--period lon=360`` (:mod:`bigrad.cli.main` holds that
table and calls :func:`spell`).  The exception keeps its usual class (``ValueError``,
``FileExistsError``...), so callers catch it as before.

>>> e = argument_error(ValueError, "pass {p}", p=Arg("period", {"lon": 360.0}))
>>> str(e)
"pass period={'lon': 360.0}"
>>> spell(e, lambda a: f"--{a.name} ...")
'pass --period ...'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

__all__ = ["Arg", "argument_error", "literal", "name_axes", "names_arguments", "spell"]

E = TypeVar("E", bound=BaseException)

#: the attribute of an exception holding its template and arguments
_ATTR = "_bigrad_spelling"


@dataclass(frozen=True)
class Arg:
    """An argument as a message names it.

    ``name`` is the Python argument (``"periodic"``), or ``"@axis"``/``"@dim"`` for the
    axis or dimension a message is about (``value``: its number or name); ``value`` is
    an example value, or ``None`` to name the argument alone; ``subject``: the argument
    is what the sentence is about, spelled without ``=`` in Python.

    >>> Arg("mode", "w").python(), Arg("periodic").python(), Arg("@axis", 2).python()
    ("mode='w'", 'periodic=', 'axis 2')
    >>> Arg("dims", subject=True).python()
    'dims'
    """

    name: str
    value: Any = None
    subject: bool = False

    def python(self) -> str:
        """The Python API's spelling."""
        if self.subject:
            return self.name
        if self.name == "@axis":
            return f"axis {self.value}"
        if self.name == "@dim":
            return f"dimension {self.value!r}"
        return f"{self.name}=" if self.value is None else f"{self.name}={self.value!r}"


def literal(text: str) -> str:
    """``text`` as a template keeps it: braces doubled (names and paths may hold them).

    >>> literal("{'a': 1}")
    "{{'a': 1}}"
    """
    return text.replace("{", "{{").replace("}", "}}")


def argument_error(make: Callable[[str], E], template: str, /, **args: Arg) -> E:
    """The exception ``make(text)`` (an exception class, or a function building one
    from its message), ``text`` being ``template`` with each ``{field}`` replaced by its
    argument's Python spelling; :func:`spell` renders it for another front end."""
    error = make(template.format(**{k: a.python() for k, a in args.items()}))
    setattr(error, _ATTR, (template, args))
    return error


def names_arguments(error: BaseException) -> bool:
    """Whether ``error`` was made by :func:`argument_error`.

    >>> names_arguments(ValueError("x")), names_arguments(argument_error(ValueError, "x"))
    (False, True)
    """
    return hasattr(error, _ATTR)


def spell(error: BaseException, how: Callable[[Arg], str]) -> str:
    """The text of ``error`` with its arguments spelled by ``how`` (its own text if it
    names none)."""
    spelling = getattr(error, _ATTR, None)
    if spelling is None:
        return str(error)
    template, args = spelling
    return str(template.format(**{k: how(a) for k, a in args.items()}))


def name_axes(error: E, dims: Sequence[Any], prefix: str = "") -> E | None:
    """``error`` as the xarray layer reports it, after ``prefix``: axis numbers become
    the names in ``dims``, the argument ``axis`` becomes ``dims`` and a period's axis
    keys dimension names; ``None`` if ``error`` names no argument.

    >>> e = argument_error(ValueError, "{a} is short; drop it from {arg}",
    ...                    a=Arg("@axis", 1), arg=Arg("axis"))
    >>> str(name_axes(e, ("time", "lat"), "T: "))
    "T: dimension 'lat' is short; drop it from dims="
    """
    spelling = getattr(error, _ATTR, None)
    if spelling is None:
        return None
    template, args = spelling
    renamed = {k: _named(a, dims) for k, a in args.items()}
    return argument_error(type(error), literal(prefix) + template, **renamed)


def _named(arg: Arg, dims: Sequence[Any]) -> Arg:
    if arg.name == "@axis":
        return Arg("@dim", _dim(arg.value, dims))
    if arg.name == "axis":
        return replace(arg, name="dims")
    if arg.name == "period" and isinstance(arg.value, dict):
        return replace(arg, value={_dim(k, dims): v for k, v in arg.value.items()})
    return arg


def _dim(axis: Any, dims: Sequence[Any]) -> Any:
    ok = isinstance(axis, int) and -len(dims) <= axis < len(dims)
    return dims[axis] if ok else axis
