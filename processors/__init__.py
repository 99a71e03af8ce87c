"""Coffea processors, NanoEvents schemas and selections.

>>> from hzx.processors import FourLeptonProcessor, FourLeptonOptions, AtlasOpenDataSchema

Names are imported on first use, so that the command line starts without importing coffea.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FourLeptonOptions": "hzx.processors.fourlep",
    "FourLeptonProcessor": "hzx.processors.fourlep",
    "AtlasOpenDataSchema": "hzx.processors.schemas",
    "PROCESSORS": "hzx.processors.registry",
    "build": "hzx.processors.registry",
    "get_spec": "hzx.processors.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hzx.processors' has no attribute {name!r}")
