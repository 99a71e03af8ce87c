"""Sample catalogues, coffea filesets and normalisation.

>>> from hzx.samples import build_fileset, get_sample, xsec_weight
>>> fileset = build_fileset("../shared/data/atlas-opendata-2020-4lep")  # doctest: +SKIP
"""

from hzx.samples.catalogue import (
    HTTPS_PREFIX,
    LUMI_FB,
    SAMPLES,
    TREENAME,
    XROOTD_PREFIX,
    Sample,
    get_sample,
    samples_with_role,
)
from hzx.samples.filesets import (
    build_fileset,
    fileset_from_generation,
    read_fileset,
    write_fileset,
)
from hzx.samples.normalisation import weight_from_metadata, xsec_weight

__all__ = [
    "HTTPS_PREFIX",
    "LUMI_FB",
    "SAMPLES",
    "TREENAME",
    "XROOTD_PREFIX",
    "Sample",
    "build_fileset",
    "fileset_from_generation",
    "get_sample",
    "read_fileset",
    "samples_with_role",
    "weight_from_metadata",
    "write_fileset",
    "xsec_weight",
]
