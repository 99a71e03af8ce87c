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

from hzx.errors import ConfigurationError, InputFileError
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
    check_lumi(lumi_fb)
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


def check_lumi(lumi_fb: float) -> None:
    """A luminosity in fb⁻¹ must be a finite number > 0 (else yields come out negative or NaN)."""
    import math

    if isinstance(lumi_fb, bool) or not isinstance(lumi_fb, int | float) or not (
            math.isfinite(lumi_fb) and lumi_fb > 0):
        raise ConfigurationError(f"lumi_fb must be a finite luminosity > 0 in fb⁻¹, "
                                 f"got {lumi_fb!r}")


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
    if "dataset" in fileset and "files" in fileset:
        raise InputFileError(str(path), "this is a generation manifest, not a fileset; make a "
                             "fileset of it with fileset_from_generation(DIR) (the command "
                             "line: `hzx samples fileset --manifest DIR`)")
    for name, entry in fileset.items():
        files = entry.get("files") if isinstance(entry, dict) else entry
        if not isinstance(files, dict | list | str):
            raise InputFileError(str(path), f"dataset {name!r}: files must be a list or an "
                                 f"object of paths, got {type(files).__name__}")
    return fileset


def fileset_from_generation(directory: str | Path, lumi_fb: float = 10.0) -> dict[str, Any]:
    """A fileset of ``hzx generate`` output: every ``<dataset>.manifest.json`` in ``directory``
    (or one manifest file) with its files, normalisation and role.

    Each dataset's metadata also carries its identity by the study's file-name rule
    (:mod:`hzx.samples.identity`): ``role_source`` (``manifest``: the manifest's role),
    ``signal_family``, ``class_key`` and ``signal_mass_GeV`` (m_a of an H → Z a job, else the
    family's mass) when the name names a signal family. A manifest without a role gets one
    inferred by that rule (``role_source``: ``file name``).
    """
    from hzx.generation.jobs import MANIFEST_SUFFIX, Manifest
    from hzx.samples.identity import FAMILY_MASSES_GEV, resolve_role

    check_lumi(lumi_fb)
    where = Path(directory).expanduser()
    if not where.exists():
        raise InputFileError(str(where), "no such generation directory or manifest")
    paths = [where] if where.is_file() else sorted(where.glob(f"*{MANIFEST_SUFFIX}"))
    if not paths:
        raise InputFileError(str(where), "no generation manifest (*.manifest.json) here; "
                             "generate(…, out=DIR) (`hzx generate … --out DIR`) writes them")
    fileset: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise InputFileError(str(path), f"unreadable generation manifest ({err})") from err
        if not isinstance(data, dict) or "dataset" not in data or "files" not in data:
            raise InputFileError(str(path), "not a generation manifest (no dataset/files)")
        data.setdefault("role", None)
        known = {f for f in Manifest.__dataclass_fields__}
        defaults = {"process": "", "treename": "Delphes", "events": 0, "sumw": 0.0,
                    "xsec_pb": 0.0, "xsec_err_pb": 0.0, "sigma_pythia_pb": 0.0, "k_factor": 1.0,
                    "normalisation": "", "seed": 0, "block_size": 0, "config": {},
                    "pythia_settings": [], "seconds": {}, "provenance": {}}
        entries = data["files"]
        if not isinstance(entries, list) or not all(
                isinstance(f, dict) and isinstance(f.get("file"), str) for f in entries):
            raise InputFileError(str(path), "files must be a list of {\"file\": NAME, …} "
                                 "entries, as hzx generate writes them")
        try:
            m = Manifest(**{**defaults, **{k: v for k, v in data.items() if k in known}},
                         path=str(path))
        except TypeError as err:  # a field of the wrong kind
            raise InputFileError(str(path), f"not a generation manifest ({err})") from err
        files = m.file_paths
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            raise InputFileError(missing[0], f"listed in {path} but missing")
        decision = resolve_role(m.dataset, {"role": m.role}, files)
        metadata: dict[str, Any] = {
            "role": decision.role,
            "role_source": "manifest" if not decision.inferred else decision.source,
            "xsec_pb": m.xsec_pb,
            "sumw": m.sumw, "red_eff": 1.0, "lumi_fb": lumi_fb, "process": m.process,
            "generator": "hzx-pythia8", "events": m.events,
        }
        info = decision.info
        if info.is_signal_sample:
            mass = info.signal_mass
            if m.process == "hza":
                ma = (m.config or {}).get("ma")
                mass = 1.0 if ma is None else float(ma)
            elif mass is None:
                mass = FAMILY_MASSES_GEV.get(info.signal_family or "")
            metadata.update(signal_family=info.signal_family, class_key=info.class_key)
            if mass is not None:
                metadata["signal_mass_GeV"] = mass
        if m.dataset in fileset:
            raise InputFileError(str(path), f"dataset {m.dataset!r} appears in two manifests")
        fileset[m.dataset] = {"files": {p: m.treename for p in files}, "metadata": metadata}
    return fileset
