"""Coffea filesets built from the catalogue and a location.

A location is a local directory, an ``https://`` or ``root://`` prefix, or one of the names
``public-https`` / ``public-xrootd`` for the release's public locations. Under a prefix the files
lie in ``MC/`` and ``Data/``; a local directory may hold them flat or in those sub-folders.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hzx.errors import InputFileError
from hzx.samples.catalogue import (
    HTTPS_PREFIX,
    LUMI_FB,
    SAMPLES,
    TREENAME,
    XROOTD_PREFIX,
    Sample,
    get_sample,
)

PUBLIC_LOCATIONS = {"public-https": HTTPS_PREFIX, "public-xrootd": XROOTD_PREFIX}


def is_remote(location: str) -> bool:
    return location in PUBLIC_LOCATIONS or "://" in location


def _local_path(directory: Path, sample: Sample) -> Path | None:
    for candidate in (directory / sample.filename,
                      directory / sample.subdirectory / sample.filename):
        if candidate.is_file():
            return candidate.resolve()
    return None


def build_fileset(
    location: str | Path,
    samples: Iterable[str] | None = None,
    *,
    lumi_fb: float = LUMI_FB,
    merge_data: bool = False,
) -> dict[str, dict[str, Any]]:
    """A coffea fileset ``{dataset: {"files": {path: "mini"}, "metadata": {...}}}``.

    Parameters
    ----------
    location
        Local directory, URL prefix (``https://…``, ``root://…``) or ``public-https`` /
        ``public-xrootd``.
    samples
        Catalogue names; ``None`` takes every sample — for a local directory, every sample whose
        file is there. A named sample whose file is missing is an error listing what exists.
    lumi_fb
        Luminosity the simulated samples are normalised to, in fb⁻¹.
    merge_data
        Put all data periods in one dataset ``data`` (the notebook reads one merged file).
    """
    chosen = [get_sample(name) for name in samples] if samples is not None else None
    location = str(location)
    files: dict[str, str] = {}
    if is_remote(location):
        prefix = PUBLIC_LOCATIONS.get(location, location).rstrip("/")
        for sample in chosen if chosen is not None else SAMPLES.values():
            files[sample.name] = f"{prefix}/{sample.subdirectory}/{sample.filename}"
    else:
        directory = Path(location).expanduser()
        if not directory.is_dir():
            raise InputFileError(str(directory), "no such directory (give a folder of .4lep.root "
                                 "files, an https:// or root:// prefix, public-https or public-xrootd)")
        present = {s.name: p for s in SAMPLES.values() if (p := _local_path(directory, s))}
        if chosen is None:
            if not present:
                found = sorted(p.name for p in directory.glob("**/*.root"))[:20]
                raise InputFileError(str(directory), "no file of the catalogue is there; found: "
                                     + (", ".join(found) or "no .root files"))
            files = {name: str(path) for name, path in present.items()}
        else:
            for sample in chosen:
                if sample.name not in present:
                    raise InputFileError(
                        str(directory / sample.filename),
                        f"file of sample {sample.name!r} not found; samples present in "
                        f"{directory}: {', '.join(present) or '(none)'}",
                    )
                files[sample.name] = str(present[sample.name])

    fileset: dict[str, dict[str, Any]] = {}
    for name, path in files.items():
        sample = SAMPLES[name]
        if merge_data and sample.is_data:
            entry = fileset.setdefault("data", {"files": {}, "metadata": {
                "sample": "data", "role": "data", "periods": []}})
            entry["files"][path] = TREENAME
            entry["metadata"]["periods"].append(name)
        else:
            fileset[name] = {"files": {path: TREENAME},
                             "metadata": sample.fileset_metadata(lumi_fb)}
    return fileset


def write_fileset(fileset: dict[str, Any], path: str | Path) -> Path:
    """Write a fileset as coffea's JSON format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fileset, indent=2) + "\n")
    return path


def read_fileset(path: str | Path) -> dict[str, Any]:
    """Read a coffea fileset JSON file (clear error when missing or malformed)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), "no such fileset file")
    try:
        fileset = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputFileError(str(path), f"not valid JSON ({err})") from err
    if not isinstance(fileset, dict) or not fileset:
        raise InputFileError(str(path), "a fileset is a non-empty JSON object of datasets")
    return fileset
