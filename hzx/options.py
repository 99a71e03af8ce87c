"""``KEY=VALUE`` assignments typed by a frozen options dataclass: the one grammar of hzx.

Used for processor options (``hzx run … --set``), plot options (``hzx plot … --set``) and cluster
settings (``hzx cluster … --set``, ``[cluster.*]`` tables of ``hzx.toml``). A value is read as
TOML would read it (``4`` an integer, ``true`` a boolean, ``["a", "b"]`` a list) and must then fit
the field's annotation; a ``str`` field takes the text as it is. Also accepted: ``yes/no/on/off/
1/0`` for booleans, ``none`` for an optional field, ``a,b,c`` for a tuple.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from hzx.errors import ConfigurationError

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def split_assignments(pairs: Iterable[str] | None) -> dict[str, str]:
    """``["cores=4", "job-flavour=workday"]`` → ``{"cores": "4", "job_flavour": "workday"}``.

    Keys may be written with ``-`` or ``_``; a later assignment of the same key wins.
    """
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = str(pair).partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigurationError(f"bad assignment {pair!r}: expected KEY=VALUE")
        out[key] = value.strip()
    return out


def _toml_value(text: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _fit(hint: Any, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` (text or an already-parsed value) fits ``hint``, and the fitted value."""
    origin = typing.get_origin(hint) or hint
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str)
                                                     and value.lower() in ("none", "null", ""))):
            return True, None
        for arg in args:
            if arg is not type(None):
                ok, fitted = _fit(arg, value)
                if ok:
                    return True, fitted
        return False, value
    if origin is typing.Any:
        return True, _toml_value(value) if isinstance(value, str) else value
    if origin is typing.Literal:
        return (value in args), value
    if origin is str:
        return isinstance(value, str), value
    parsed = _toml_value(value) if isinstance(value, str) else value
    if origin is bool:
        if isinstance(parsed, str) and parsed.lower() in _TRUE + _FALSE:
            return True, parsed.lower() in _TRUE
        if isinstance(parsed, int) and not isinstance(parsed, bool) and parsed in (0, 1):
            return True, bool(parsed)
        return isinstance(parsed, bool), parsed
    if origin is int:
        return isinstance(parsed, int) and not isinstance(parsed, bool), parsed
    if origin is float:
        if isinstance(parsed, int | float) and not isinstance(parsed, bool):
            return True, float(parsed)
        return False, parsed
    if origin in (tuple, list):
        if isinstance(parsed, str):
            parsed = [part.strip() for part in parsed.split(",")] if parsed else []
        if not isinstance(parsed, list | tuple):
            parsed = [parsed]
        item = args[0] if args else Any
        fitted = []
        for element in parsed:
            ok, one = _fit(item, str(element) if item is str and not isinstance(element, str)
                           else element)
            if not ok:
                return False, parsed
            fitted.append(one)
        return True, (tuple(fitted) if origin is tuple else fitted)
    if origin in (dict, Mapping, typing.get_origin(Mapping[str, str])):
        return isinstance(parsed, Mapping), dict(parsed) if isinstance(parsed, Mapping) else parsed
    return isinstance(parsed, origin) if isinstance(origin, type) else False, parsed


def coerce_field(options_cls: type, name: str, value: Any, source: str = "the assignments") -> Any:
    """``value`` (text or parsed) as field ``name`` of ``options_cls`` wants it.

    Raises :class:`~hzx.errors.ConfigurationError` naming the field, the value, its source and
    the expected type.
    """
    hints = typing.get_type_hints(options_cls)
    if name not in hints:
        raise ConfigurationError(_unknown(options_cls, name, source))
    ok, fitted = _fit(hints[name], value)
    if not ok:
        raise ConfigurationError(f"{name} = {value!r} in {source}: expected "
                                 f"{_type_name(hints[name])}")
    return fitted


def _unknown(options_cls: type, name: str, source: str) -> str:
    known = ", ".join(f.name for f in dataclasses.fields(options_cls))
    return f"unknown key {name!r} in {source}; {options_cls.__name__} has: {known}"


def parse_assignments(options_cls: type, assignments: Iterable[str] | Mapping[str, Any] | None,
                      source: str = "the assignments") -> dict[str, Any]:
    """Keyword arguments of ``options_cls`` from ``KEY=VALUE`` texts (or a mapping of them).

    Unknown keys and values of the wrong type raise :class:`~hzx.errors.ConfigurationError`.
    """
    pairs = dict(assignments) if isinstance(assignments, Mapping) else \
        split_assignments(assignments)
    known = {f.name for f in dataclasses.fields(options_cls)}
    out: dict[str, Any] = {}
    for key, value in pairs.items():
        key = str(key).replace("-", "_")
        if key not in known:
            raise ConfigurationError(_unknown(options_cls, key, source))
        out[key] = coerce_field(options_cls, key, value, source)
    return out


def replace_options(options: Any, assignments: Iterable[str] | Mapping[str, Any] | None,
                    source: str = "the assignments") -> Any:
    """A copy of the frozen dataclass ``options`` with the assignments applied (validated by its
    ``__post_init__``)."""
    return dataclasses.replace(options, **parse_assignments(type(options), assignments, source))
