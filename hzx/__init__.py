"""hzx: columnar Higgs analyses with coffea and Dask.

Subpackages (the users' design card):

- :mod:`hzx.samples` — sample catalogues, coffea filesets, normalisation
- :mod:`hzx.processors` — coffea ``ProcessorABC`` classes, schemas, selections
- :mod:`hzx.fitting` — statistics on the processors' histograms
- :mod:`hzx.generation` — Pythia 8 event generation and a CMS-like fast simulation
- :mod:`hzx.nn` — HDF5 datasets, PyTorch trainers, Optuna
- :mod:`hzx.scripts` — the ``hzx`` command line

Outputs of processors are plain dictionaries saved with :func:`coffea.util.save`; load them with
:func:`hzx.load_output`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from hzx.errors import (
    ConfigurationError,
    HzxError,
    InputFileError,
    UnknownSampleError,
)
from hzx.io import AnalysisOutput, load_output, save_output

__all__ = [
    "AnalysisOutput",
    "ConfigurationError",
    "HzxError",
    "InputFileError",
    "UnknownSampleError",
    "__version__",
    "load_output",
    "save_output",
]
