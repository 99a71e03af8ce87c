"""Library errors speak the Python API (``events must be ≥ 1, got 0``); the command line speaks
flags (``--events must be ≥ 1, got 0``).

A verb lists the parameter names its flags set (:func:`flag_names`), and :func:`as_flags`
rewrites those names in the message of an :class:`~hzx.errors.HzxError` raised by the library,
so that the user reads the flag they typed. Only the names the verb lists are rewritten, only as
whole identifiers (not parts of paths, dotted names or longer identifiers) and only where the
message uses them as parameters (:func:`rewrite`): the same word in prose stays as it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from hzx.errors import HzxError, InputFileError


def flag_names(*names: str, **renamed: str) -> dict[str, str]:
    """``{parameter: flag}``: each name in ``names`` is set by the flag of the same spelling
    (``block_size`` → ``--block-size``); ``renamed`` maps a library name to a flag that spells
    it differently (``mlm_qcut="--qcut"``)."""
    return {**{n: "--" + n.replace("_", "-") for n in names}, **renamed}


#: What may follow a parameter name where a message uses it as one: a verb of a constraint
#: ("events must …"), a value ("matching 'mlm'", "ma = 40", "bins ≥ 1"), a colon or a bracket.
_AS_PARAMETER = (r"(?=\s+(?:must|needs?|is|are|applies|requested)\b|\s*[:=)≥≤<>+]|\s+['\"(])")


def rewrite(message: str, flags: Mapping[str, str]) -> str:
    """``message`` with each parameter name of ``flags`` replaced by its flag where the message
    uses it as a parameter: followed by a constraint or a value (see ``_AS_PARAMETER``) or
    inside brackets. ``NAME=True`` becomes the (boolean) flag alone. Other words stay: "the
    file has no events" keeps its "events"; paths, dotted and longer names are never touched."""
    if not flags:
        return message
    names = "|".join(map(re.escape, sorted(flags, key=len, reverse=True)))
    before = r"(?<![\w.\-/'\"])"
    after = r"(?![\w\-/]|\.\w|\(\))"
    message = re.sub(before + "(" + names + r")=True\b", lambda m: flags[m.group(1)], message)
    pattern = re.compile(before + r"(?:(?<=\()(" + names + ")" + after + "|(" + names + ")" +
                         after + _AS_PARAMETER + ")")
    return pattern.sub(lambda m: flags[m.group(1) or m.group(2)], message)


def one_line(text: str) -> str:
    """A message over several lines (e.g. a library's own error quoted inside) as one line."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def translated(err: HzxError, flags: Mapping[str, str]) -> HzxError | None:
    """The same error with flag names, on one line; None when there is nothing to change."""
    if isinstance(err, InputFileError):
        reason = one_line(rewrite(err.reason, flags))
        return None if reason == err.reason else type(err)(err.path, reason)
    text = str(err)
    new = one_line(rewrite(text, flags))
    if new == text:
        return None
    try:
        return type(err)(new)
    except TypeError:  # a subclass with another constructor: keep its type's base
        return HzxError(new)


def as_flags(flags: Mapping[str, str]) -> Callable:
    """Decorator of a verb's ``main(args)``: library errors re-raised with flag names."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except HzxError as err:
                new = translated(err, flags)
                if new is None:
                    raise
                raise new from err

        return wrapper

    return decorate
