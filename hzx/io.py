"""Saving and loading processor outputs (``.coffea`` files: lz4-compressed cloudpickle).

The file holds a plain ``dict``: ``{dataset: {...accumulator...}, "_provenance": {...}}``.
Keys starting with an underscore are reserved for hzx; dataset names may not start with one.

.. warning::
   A ``.coffea`` file is a pickle: loading it can run arbitrary code. Load only outputs that you
   or a trusted colleague produced. ``hzx inspect`` reads one without running anything else of yours,
   but it still unpickles it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hzx.errors import InputFileError, UnknownSampleError

PROVENANCE_KEY = "_provenance"


class AnalysisOutput(Mapping):
    """Read-only view of a saved output: ``out[dataset]``, ``out.datasets``, ``out.provenance``.

    Iterating yields dataset names only (reserved ``_`` keys are skipped).
    """

    def __init__(self, raw: Mapping[str, Any], path: str | None = None):
        self.raw = dict(raw)
        self.path = path

    @property
    def datasets(self) -> list[str]:
        return [k for k in self.raw if not str(k).startswith("_")]

    @property
    def provenance(self) -> dict[str, Any]:
        return self.raw.get(PROVENANCE_KEY, {})

    def __getitem__(self, dataset: str) -> Any:
        if str(dataset).startswith("_") or dataset not in self.raw:
            raise UnknownSampleError(
                f"dataset {dataset!r} is not in {self.path or 'this output'}; "
                f"it has: {', '.join(self.datasets) or '(none)'}"
            )
        return self.raw[dataset]

    def __iter__(self) -> Iterator[str]:
        return iter(self.datasets)

    def __len__(self) -> int:
        return len(self.datasets)

    def __repr__(self) -> str:
        step = self.provenance.get("processor", self.provenance.get("step", "?"))
        return f"<AnalysisOutput {step}: {len(self)} datasets from {self.path or 'memory'}>"


def save_output(output: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``output`` (with its ``_provenance``) to ``path`` with :func:`coffea.util.save`."""
    from coffea.util import save

    raw = output.raw if isinstance(output, AnalysisOutput) else dict(output)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(raw, str(path))
    return path


def load_output(path: str | Path) -> AnalysisOutput:
    """Load a ``.coffea`` output written by hzx (trusted files only: it is a pickle)."""
    from coffea.util import load

    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), "no such output file")
    try:
        raw = load(str(path))
    except Exception as err:  # lz4 / pickle errors: say which file
        raise InputFileError(str(path), f"not a readable .coffea output ({err})") from err
    if not isinstance(raw, Mapping):
        raise InputFileError(str(path), f"expected a dict of datasets, found {type(raw).__name__}")
    return AnalysisOutput(raw, str(path))
