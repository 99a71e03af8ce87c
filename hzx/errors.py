"""Exceptions raised by hzx. Every message names the culprit and says what to do."""

from __future__ import annotations


class HzxError(Exception):
    """Base class of all hzx errors; the command line prints these without a traceback."""


class ConfigurationError(HzxError, ValueError):
    """An option, a binning or a configuration value is invalid."""


class UnknownSampleError(HzxError, KeyError):
    """A sample or dataset name is not in the catalogue (the message lists what exists)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class InputFileError(HzxError, OSError):
    """An input file is missing, unreadable, or lacks a tree or branch that is needed.

    Attributes
    ----------
    path : str
        The file at fault.
    reason : str
        What is wrong with it, in words.
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
