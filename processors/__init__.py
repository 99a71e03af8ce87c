"""Coffea processors, NanoEvents schemas and selections.

>>> from hzx.processors import FourLeptonProcessor, FourLeptonOptions, AtlasOpenDataSchema
"""

from hzx.processors.fourlep import FourLeptonOptions, FourLeptonProcessor
from hzx.processors.registry import PROCESSORS, build, get_spec
from hzx.processors.schemas import AtlasOpenDataSchema

__all__ = [
    "PROCESSORS",
    "AtlasOpenDataSchema",
    "FourLeptonOptions",
    "FourLeptonProcessor",
    "build",
    "get_spec",
]
