"""Event generation (Pythia 8) and a CMS-like fast detector simulation, run in blocks on the
hzx executors. See :func:`generate`, :data:`PROCESSES` and :func:`fileset_from_manifest`; the
pheno study's generator-level histograms: :func:`generator_histograms`; branch-name layouts of
the Delphes files: :data:`DELPHES_LAYOUTS`.

Heavy libraries (pythia8mc, fastjet, uproot) are imported inside functions.
"""

from hzx.generation.genhist import generator_histograms
from hzx.generation.jobs import Manifest, fileset_from_manifest, generate, make_config, run_block
from hzx.generation.processes import (
    MA_POINTS_GEV,
    PROCESSES,
    GenerationConfig,
    describe_processes,
    pythia_settings,
    validate,
)
from hzx.generation.writers import DELPHES_LAYOUTS

__all__ = [
    "DELPHES_LAYOUTS",
    "MA_POINTS_GEV",
    "PROCESSES",
    "GenerationConfig",
    "Manifest",
    "describe_processes",
    "fileset_from_manifest",
    "generate",
    "generator_histograms",
    "make_config",
    "pythia_settings",
    "run_block",
    "validate",
]
