"""The study's HDF5 training file (``jet_data.h5``) from track-processor outputs, and its summary.

:func:`write_h5` takes one or more outputs of ``hzx run tracks`` (``.coffea`` files or loaded
mappings) and writes the layout of the study's ``convert_to_h5.py``
(``../shared/spec/ghost-track-observables.md``):

=========================  ================  ===============================================
dataset                    shape / dtype     content
=========================  ================  ===============================================
``ghost_track_vars``       (N, 7) float32    the seven observables (sentinel −999999)
``jet_features``           (N, 6) float32    pt, eta, phi, mass, btag, tau_tag
``track_features``         (N, T, 8) float32 pt, eta, phi, charge, pid, d0, dz, mass
``track_mask``             (N, T) bool       real track (True) or padding
``constituent_features``   (N, C, 6) float32 pt, eta, phi, energy, charge, is_track
``constituent_mask``       (N, C) bool
``labels``                 (N,) int32        36, 25, 443, 441, else jet Flavor or 0
``targets``                (N,) float32      truth mass (GeV) of the matched particle, NaN
``is_signal``              (N,) int8         1: signal jet (the study's rule, below)
``signal_class``           (N,) int64        sha1-derived class id, −1 background
``signal_mass``            (N,) float32      the class's mass (GeV), NaN for background
``signal_class_ids``       (K,) int64        the classes present, sorted by id, with
``signal_class_names``     (K,) S80          readable name, ``signal_class_keys`` (S120),
``signal_class_truth_pid`` (K,) int32        ``signal_class_mass_GeV`` (float32) and
``signal_class_source_file`` (K,) S128       the file of the class's first jet
``sample_index``, ``file_index``, ``entry``, ``jet_index``   hzx's extras: where each row comes from
=========================  ================  ===============================================

Signal jets and classes follow the study (:mod:`hzx.samples.identity`): a jet is signal when its
label is in ``signal_pids`` (default: 36 only) and its truth mass is finite; its class key is
``<sample key>_PID<label>_m<mass:.3f>`` with the sample key and mass from the file name (else the
dataset name, else the fileset's mass metadata, else the jet's truth mass), its id the key's
SHA-1-derived integer. A dataset whose fileset role is ``background`` or ``data`` has no signal
jets; a dataset without a role gets one inferred from its file names (reported, never silent).

Rows are ordered by (sample, file, entry, jet index) whatever order the chunks were processed in
(or by a given file order), so the file does not depend on the executor. Rows are written chunk
by chunk into resizable datasets: the writer's own memory is bounded by one processing chunk.
A chunk is either in the output itself (in-memory columns) or a reference to the chunk file that
a worker wrote (``hzx run tracks --out OUT`` → ``OUT.columns/``, :mod:`hzx.processors.columns`):
such a file is found beside the loaded ``OUT.coffea`` (``OUT.coffea.columns/…``, so the pair can
be moved together) or at its recorded path, and checked (size, SHA-256) before its rows are
written; a missing or corrupt one stops the merge with an error naming it, and no partial file
is left. Both kinds give the same file, byte for byte in every dataset.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.samples.identity import (
    FAMILY_PIDS,
    NON_SIGNAL_ROLES,
    STUDY_SIGNAL_PIDS,
    RoleDecision,
    SampleInfo,
    deterministic_class_id,
    infer_sample_info,
    resolve_role,
    sample_info_of,
    signal_class_key,
    signal_class_name,
)

#: Truth labels of a signal particle (a, h, J/ψ, η_c): the labels the truth matching gives.
SIGNAL_LABELS = (36, 25, 443, 441)
OBSERVABLE_NAMES = ("nTracks", "deltaRLeadTrack", "leadTrackPtRatio", "angularity_2", "U1_0p7",
                    "M2_0p3", "tau2")
SIGNAL_JETS = ("matched", "all")
#: Mass metadata keys accepted in a fileset entry, in order of preference (GeV).
MASS_KEYS = ("signal_mass_GeV", "signal_mass", "mass_a", "mass")
#: The study's per-jet datasets (the merged file's ``required_datasets``), in its order.
STUDY_DATASETS = ("jet_features", "constituent_features", "constituent_mask", "track_features",
                  "track_mask", "ghost_track_vars", "labels", "targets", "is_signal",
                  "signal_class", "signal_mass")
#: The study's per-class datasets and their fixed-length string sizes.
CLASS_DATASETS = ("signal_class_ids", "signal_class_names", "signal_class_keys",
                  "signal_class_truth_pid", "signal_class_mass_GeV", "signal_class_source_file")
SENTINEL = -999999.0


@dataclasses.dataclass(frozen=True)
class SignalClass:
    """One signal class of the training file (the study's ``signal_class_*`` entry)."""

    class_id: int
    name: str
    key: str
    truth_pid: int
    mass_GeV: float
    source_file: str


def _chunks_of(output: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(dataset, chunk) of an output: in-memory chunks (arrays) and references to chunk files
    (:mod:`hzx.processors.columns`; given ``_columns_dir``, the folder beside a loaded output)."""
    path = getattr(output, "path", None)
    base = f"{path}.columns" if path else None
    for dataset in [k for k in output if not str(k).startswith("_")]:
        acc = output[dataset]
        columns = acc.get("columns") if isinstance(acc, Mapping) else None
        if columns is None:
            continue
        for chunk in columns.get("chunks", []):
            yield dataset, chunk
        for ref in columns.get("files", []):
            yield dataset, {**ref, "_columns_dir": base}


def _chunk_arrays(chunk: Mapping[str, Any]) -> Mapping[str, Any]:
    """The arrays of a chunk: itself, or its chunk file's (size and SHA-256 checked)."""
    from hzx.processors.columns import is_reference, read_chunk

    return read_chunk(chunk, chunk.get("_columns_dir")) if is_reference(chunk) else chunk


def _row_shape(chunk: Mapping[str, Any], name: str) -> tuple[int, ...]:
    from hzx.processors.columns import is_reference

    if is_reference(chunk):
        return tuple(chunk["shapes"][name])
    return tuple(np.shape(chunk[name])[1:])


def _load(item: Any) -> Mapping[str, Any]:
    if isinstance(item, (str, Path)):
        from hzx.io import load_output

        return load_output(item)
    return item


def collect_chunks(outputs: Sequence[Any]) -> list[tuple[tuple, str, dict[str, Any], dict]]:
    """All column chunks of ``outputs``, sorted by (dataset, file, first entry): [(key, ds, chunk, meta)].

    A chunk is the arrays themselves or a reference to its chunk file; the same chunk twice in
    one output (same dataset, file and entry range) counts once.
    """
    found = []
    for output in outputs:
        output = _load(output)
        seen = set()
        for dataset, chunk in _chunks_of(output):
            ident = (dataset, str(chunk["file"]), int(chunk["entry_start"]),
                     chunk.get("entry_stop"))
            if ident in seen:
                continue
            seen.add(ident)
            meta = output[dataset].get("metadata", {})
            found.append(((dataset, str(chunk["file"]), int(chunk["entry_start"])), dataset,
                          chunk, meta))
    if not found:
        raise InputFileError(
            ", ".join(str(o) for o in outputs if isinstance(o, (str, Path))) or "<outputs>",
            "no per-jet columns: run the tracks processor with store_columns=True first "
            "(`hzx run tracks`)",
        )
    found.sort(key=lambda item: item[0])
    return found


def dataset_roles(chunks: list[tuple[tuple, str, dict[str, Any], dict]],
                  require_roles: bool = False) -> dict[str, RoleDecision]:
    """Each dataset's role: the fileset's, else inferred by the study's file-name rule.

    ``require_roles``: a dataset without a role is an error instead of an inference.
    """
    files: dict[str, list[str]] = {}
    roles: dict[str, Any] = {}
    for _, dataset, chunk, meta in chunks:
        files.setdefault(dataset, [])
        if str(chunk["file"]) not in files[dataset]:
            files[dataset].append(str(chunk["file"]))
        role = chunk.get("role") or meta.get("role")
        if role is not None:
            roles[dataset] = role
    out = {}
    for dataset in sorted(files):
        decision = resolve_role(dataset, {"role": roles.get(dataset)}, files[dataset])
        if decision.inferred and require_roles:
            raise ConfigurationError(
                f"dataset {dataset!r} has no role in its fileset (add \"role\": \"signal\" or "
                f"\"background\" to its metadata, or drop the requirement (require_roles) to infer it from the "
                f"file name: here {decision.role!r})")
        out[dataset] = decision
    return out


def _sample_mass(info: SampleInfo, chunk: Mapping[str, Any], meta: Mapping[str, Any]
                 ) -> float | None:
    """The file name's mass, else the fileset's (carried by the chunk), else none."""
    if info.signal_mass is not None:
        return float(info.signal_mass)
    value = chunk.get("sample_mass_GeV")
    if value is not None and math.isfinite(float(value)):
        return float(value)
    for key in MASS_KEYS:
        if meta.get(key) is not None:
            return float(meta[key])
    return None


def signal_columns(labels: np.ndarray, targets: np.ndarray, info: SampleInfo, role: str,
                   sample_mass: float | None, source_file: str, *,
                   signal_pids: Sequence[int] = STUDY_SIGNAL_PIDS, signal_jets: str = "matched",
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, SignalClass]]]:
    """``is_signal`` (int8), ``signal_class`` (int64), ``signal_mass`` (float32) of one file's
    jets and the classes they use as ``[(first row, SignalClass)]`` (the study's rule).

    ``matched``: signal = label in ``signal_pids`` and finite target, unless ``role`` is
    background/data. ``all``: every jet of a ``signal``-role sample, keyed by its family's PID
    (or its label) and the sample mass (else its truth mass).
    """
    labels = np.asarray(labels).astype(np.int64)
    targets = np.asarray(targets, dtype=np.float64)
    n = len(labels)
    if role in NON_SIGNAL_ROLES:
        is_signal = np.zeros(n, dtype=bool)
        pid = labels
    elif signal_jets == "all":
        is_signal = np.full(n, role == "signal", dtype=bool)
        family_pid = FAMILY_PIDS.get(info.signal_family or "")
        pid = np.full(n, family_pid, dtype=np.int64) if family_pid else labels
    else:
        is_signal = np.isin(labels, list(signal_pids)) & np.isfinite(targets)
        pid = labels
    mass = targets.copy() if sample_mass is None else np.full(n, float(sample_mass))
    class_id = np.full(n, -1, dtype=np.int64)
    classes: list[tuple[int, SignalClass]] = []
    rows = np.flatnonzero(is_signal)
    if len(rows):
        # one key per distinct (pid, mass); mass written as in the key (.3f), NaN: no mass part
        mass_text = np.array([f"{m:.3f}" if math.isfinite(m) else "" for m in mass[rows]])
        combos, first, inverse = np.unique(
            np.char.add(np.char.add(pid[rows].astype(str), "|"), mass_text),
            return_index=True, return_inverse=True)
        ids = np.empty(len(combos), dtype=np.int64)
        for k, i in enumerate(first):
            row = rows[i]
            m = float(mass[row]) if math.isfinite(mass[row]) else None
            key = signal_class_key(info.class_key, int(pid[row]), m)
            ids[k] = deterministic_class_id(key)
            classes.append((int(row), SignalClass(
                int(ids[k]), signal_class_name(info, int(pid[row]), m), key, int(labels[row]),
                float(m) if m is not None else float("nan"), source_file)))
        class_id[rows] = ids[np.ravel(inverse)]
        classes.sort(key=lambda item: item[0])
    signal_mass = np.where(is_signal, mass, np.nan).astype(np.float32)
    return is_signal.astype(np.int8), class_id, signal_mass, classes


def _create(h5, name: str, row_shape: tuple[int, ...], dtype: Any, chunk_rows: int = 1024):
    return h5.create_dataset(name, shape=(0, *row_shape), maxshape=(None, *row_shape),
                             dtype=dtype, chunks=(chunk_rows, *row_shape), compression="gzip",
                             compression_opts=4, shuffle=True)


def _append(dataset, values: np.ndarray) -> None:
    start = dataset.shape[0]
    dataset.resize(start + len(values), axis=0)
    dataset[start:] = values


def _fixed(texts: list[str], size: int) -> np.ndarray:
    return np.array([t.encode("utf-8", "ignore")[:size] for t in texts], dtype=f"S{size}")


def write_class_datasets(h5, classes: Iterable[SignalClass]) -> None:
    """The study's ``signal_class_*`` datasets (sorted by id; fixed-length byte strings)."""
    ordered = sorted(classes, key=lambda c: c.class_id)
    h5.create_dataset("signal_class_ids", data=np.array([c.class_id for c in ordered], np.int64))
    h5.create_dataset("signal_class_names", data=_fixed([c.name for c in ordered], 80))
    h5.create_dataset("signal_class_keys", data=_fixed([c.key for c in ordered], 120))
    h5.create_dataset("signal_class_truth_pid",
                      data=np.array([c.truth_pid for c in ordered], np.int32))
    h5.create_dataset("signal_class_mass_GeV",
                      data=np.array([c.mass_GeV for c in ordered], np.float32))
    h5.create_dataset("signal_class_source_file",
                      data=_fixed([c.source_file for c in ordered], 128))


def write_h5(outputs: Sequence[Any], path: str | Path, *, signal_jets: str = "matched",
             datasets: Sequence[str] | None = None, files: Sequence[str] | None = None,
             signal_pids: Sequence[int] = STUDY_SIGNAL_PIDS, require_roles: bool = False,
             roles: Mapping[str, RoleDecision] | None = None) -> dict[str, Any]:
    """Write ``jet_data.h5`` from track-processor outputs; returns a short summary.

    Parameters
    ----------
    outputs : sequence of ``.coffea`` paths or loaded outputs (merged in (sample, file, entry)
        order; the same sample in two outputs is written twice).
    signal_jets : {"matched", "all"}
        Which jets are signal: those truth-matched to a PID in ``signal_pids`` with a finite
        truth mass (the study's rule; default), or every jet of a signal-role sample.
    datasets : only these samples (default: all).
    files : only these input files, rows in this file order (default: all, sorted).
    signal_pids : labels that make a matched jet signal (the study: 36 only).
    require_roles : a dataset without a fileset role is an error (default: inferred, reported in
        the summary's ``roles``).
    roles : already decided roles (skip the inference).
    """
    import h5py

    if signal_jets not in SIGNAL_JETS:
        raise ConfigurationError(f"signal_jets must be one of {', '.join(SIGNAL_JETS)}")
    chunks = collect_chunks(outputs)
    if datasets is not None:
        chunks = [c for c in chunks if c[1] in set(datasets)]
        if not chunks:
            raise ConfigurationError(f"none of the samples {', '.join(datasets)} has columns")
    decisions = dict(roles) if roles is not None else dataset_roles(chunks, require_roles)
    all_files = sorted({str(c[2]["file"]) for c in chunks})
    if files is not None:
        order = {str(f): i for i, f in enumerate(files)}
        chunks = [c for c in chunks if str(c[2]["file"]) in order]
        if not chunks:
            raise ConfigurationError(f"no columns of the file(s) {', '.join(map(str, files))}")
        chunks.sort(key=lambda c: (order[str(c[2]["file"])], c[0][2]))
    from hzx.processors.columns import check_present, is_reference

    for _, _, chunk, _ in chunks:  # every chunk file there, with its size, before any writing
        if is_reference(chunk):
            check_present(chunk, chunk.get("_columns_dir"))
    samples = sorted({c[1] for c in chunks})
    file_names = [f for f in (files or all_files) if f in {str(c[2]["file"]) for c in chunks}]
    first = chunks[0][2]
    n_tracks = _row_shape(first, "track_features")
    n_cons = _row_shape(first, "constituent_features")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # written under a temporary name, renamed when complete: a failed merge leaves no file
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        summary = _write_rows(h5py, tmp, chunks, decisions, samples, file_names, n_tracks,
                              n_cons, signal_jets, signal_pids)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"path": str(path), **summary}


def _write_rows(h5py, path: Path, chunks, decisions, samples, file_names, n_tracks, n_cons,
                signal_jets, signal_pids) -> dict[str, Any]:
    total = 0
    classes: dict[int, SignalClass] = {}
    info_cache: dict[tuple[str, str], SampleInfo] = {}
    with h5py.File(path, "w") as h5:
        d = {
            "jet_features": _create(h5, "jet_features", (6,), np.float32),
            "constituent_features": _create(h5, "constituent_features", n_cons, np.float32),
            "constituent_mask": _create(h5, "constituent_mask", n_cons[:1], bool),
            "track_features": _create(h5, "track_features", n_tracks, np.float32),
            "track_mask": _create(h5, "track_mask", n_tracks[:1], bool),
            "ghost_track_vars": _create(h5, "ghost_track_vars", (7,), np.float32),
            "labels": _create(h5, "labels", (), np.int32),
            "targets": _create(h5, "targets", (), np.float32),
            "is_signal": _create(h5, "is_signal", (), np.int8),
            "signal_class": _create(h5, "signal_class", (), np.int64),
            "signal_mass": _create(h5, "signal_mass", (), np.float32),
            "sample_index": _create(h5, "sample_index", (), np.int32),
            "file_index": _create(h5, "file_index", (), np.int32),
            "entry": _create(h5, "entry", (), np.int64),
            "jet_index": _create(h5, "jet_index", (), np.int32),
        }
        for _, dataset, ref, meta in chunks:
            chunk = _chunk_arrays(ref)
            # Rows inside a chunk come ordered by (entry, jet index); sort to be sure.
            order = np.lexsort((chunk["jet_index"], chunk["entry"]))
            n = len(order)
            labels = np.asarray(chunk["labels"])[order]
            targets = np.asarray(chunk["targets"])[order]
            file = str(chunk["file"])
            info = info_cache.get((dataset, file))
            if info is None:
                info = infer_sample_info(file)
                if not info.is_signal_sample:
                    info = sample_info_of(dataset, [file])
                info_cache[(dataset, file)] = info
            decision = decisions.get(dataset)
            role = decision.role if decision else "signal"
            is_signal, class_id, mass, found = signal_columns(
                labels, targets, info, role, _sample_mass(info, chunk, meta),
                Path(file).name, signal_pids=signal_pids, signal_jets=signal_jets)
            for _, cls in found:
                classes.setdefault(cls.class_id, cls)
            _append(d["ghost_track_vars"], np.asarray(chunk["ghost_track_vars"])[order])
            _append(d["jet_features"], chunk["jet_features"][order])
            _append(d["track_features"], chunk["track_features"][order])
            _append(d["track_mask"], chunk["track_mask"][order])
            _append(d["constituent_features"], chunk["constituent_features"][order])
            _append(d["constituent_mask"], chunk["constituent_mask"][order])
            _append(d["labels"], labels)
            _append(d["targets"], targets)
            _append(d["is_signal"], is_signal)
            _append(d["signal_class"], class_id)
            _append(d["signal_mass"], mass)
            _append(d["sample_index"], np.full(n, samples.index(dataset), dtype=np.int32))
            _append(d["file_index"], np.full(n, file_names.index(file), dtype=np.int32))
            _append(d["entry"], np.asarray(chunk["entry"])[order])
            _append(d["jet_index"], np.asarray(chunk["jet_index"])[order])
            total += n
        write_class_datasets(h5, classes.values())
        h5.attrs["observable_names"] = list(OBSERVABLE_NAMES)
        h5.attrs["sample_names"] = samples
        h5.attrs["sample_roles"] = [decisions[s].role if s in decisions else "" for s in samples]
        h5.attrs["sample_role_sources"] = [decisions[s].source if s in decisions else ""
                                           for s in samples]
        h5.attrs["file_names"] = file_names
        h5.attrs["signal_jets"] = signal_jets
        h5.attrs["signal_pids"] = [int(p) for p in signal_pids]
        h5.attrs["sentinel"] = SENTINEL
        h5.attrs["layout"] = "hzx jet_data.h5 v2 (convert_to_h5.py; ghost-track-observables.md)"
    ordered = sorted(classes.values(), key=lambda c: c.class_id)
    return {"jets": total, "samples": samples, "files": file_names,
            "classes": [dataclasses.asdict(c) for c in ordered],
            "roles": [dataclasses.asdict(decisions[s]) | {"inferred": decisions[s].inferred,
                                                          "message": decisions[s].describe()}
                      for s in samples if s in decisions]}


# ---------------------------------------------------------------------------------------------
# Inspection: hzx's summary and the study's inspect_hdf5.py record
# ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="ignore")
    return str(value)


def inspect_h5(path: str | Path) -> dict[str, Any]:
    """Summary of a training file: datasets (shape, dtype), jets, classes, labels, sentinel shares."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), "no such HDF5 file")
    with h5py.File(path, "r") as h5:
        shapes = {name: (tuple(obj.shape), str(obj.dtype)) for name, obj in h5.items()
                  if isinstance(obj, h5py.Dataset)}
        if "ghost_track_vars" not in h5:
            raise InputFileError(str(path), "not a jet_data.h5 file (no ghost_track_vars)")
        n = h5["ghost_track_vars"].shape[0]
        labels = Counter()
        classes = Counter()
        sentinel = np.zeros(7, dtype=np.int64)
        targets_matched = 0
        step = 65536  # read in slices: constant memory whatever the file size
        for start in range(0, n, step):
            stop = min(n, start + step)
            labels.update(h5["labels"][start:stop].tolist())
            classes.update(h5["signal_class"][start:stop].tolist())
            sentinel += (h5["ghost_track_vars"][start:stop] == SENTINEL).sum(axis=0)
            targets_matched += int((~np.isnan(h5["targets"][start:stop])).sum())
        ids = h5["signal_class_ids"][:].tolist() if "signal_class_ids" in h5 else []
        names = [_text(s) for s in h5["signal_class_names"][:]] if "signal_class_names" in h5 \
            else []
        masses = h5["signal_class_mass_GeV"][:].tolist() if "signal_class_mass_GeV" in h5 else []
    return {
        "path": str(path),
        "jets": n,
        "datasets": shapes,
        "labels": dict(sorted(labels.items())),
        "signal_class_counts": dict(sorted(classes.items())),
        "signal_classes": [{"id": int(i), "name": nm, "mass_GeV": m}
                           for i, nm, m in zip(ids, names, masses, strict=False)],
        "matched_targets": targets_matched,
        "sentinel_fraction": {name: (float(sentinel[k]) / n if n else 0.0)
                              for k, name in enumerate(OBSERVABLE_NAMES)},
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable text of :func:`inspect_h5`: the counts the study's block
    (:func:`study_details`, printed before it) does not show; datasets and classes are there."""
    lines = [f"{summary['path']}: {summary['jets']} jets"]
    lines.append(f"  labels: {summary['labels']}")
    lines.append(f"  signal_class counts: {summary['signal_class_counts']}")
    lines.append(f"  jets with a truth target: {summary['matched_targets']}")
    share = ", ".join(f"{k} {v:.1%}" for k, v in summary["sentinel_fraction"].items())
    lines.append(f"  undefined (sentinel) share: {share}")
    return "\n".join(lines)


def _describe_1d(name: str, values: np.ndarray) -> dict[str, Any]:
    finite = np.isfinite(values)
    info: dict[str, Any] = {"name": name, "dtype": str(values.dtype), "shape": values.shape,
                            "kind": "1d", "finite": int(finite.sum()), "total": int(values.size)}
    if info["finite"]:
        good = values[finite]
        info.update(min=float(np.min(good)), max=float(np.max(good)), mean=float(np.mean(good)),
                    std=float(np.std(good)))
    return info


def _describe_2d(name: str, values: np.ndarray) -> dict[str, Any]:
    finite = np.isfinite(values)
    return {"name": name, "dtype": str(values.dtype), "shape": values.shape, "kind": "2d",
            "finite_elements": int(finite.sum()), "total_elements": int(values.size),
            "rows_with_sentinel": int(np.any(values == SENTINEL, axis=1).sum()),
            "fully_valid_rows": int(np.all(finite, axis=1).sum())}


def inspect_study(path: str | Path) -> dict[str, Any]:
    """The record of the study's ``inspect_hdf5.py`` for one file: ``file``, ``datasets``
    (``keys`` and per numeric 1-D/2-D dataset its statistics), ``signal_classes`` (id, name, key,
    mass, pid, source) and ``signal_counts``; ``error`` instead when the file cannot be read."""
    import h5py

    result: dict[str, Any] = {"file": str(path), "datasets": {}, "signal_classes": []}
    try:
        with h5py.File(path, "r") as h5:
            keys = list(h5.keys())
            result["datasets"]["keys"] = keys
            for name in keys:
                obj = h5[name]
                if isinstance(obj, h5py.Dataset) and np.issubdtype(obj.dtype, np.number):
                    if obj.ndim == 1:
                        result["datasets"][name] = _describe_1d(name, obj[:])
                    elif obj.ndim == 2:
                        result["datasets"][name] = _describe_2d(name, obj[:])
            if "is_signal" in h5:
                flags = h5["is_signal"][:].astype(np.int8)
                result["signal_counts"] = {"signal": int((flags > 0.5).sum()),
                                           "background": int((flags <= 0.5).sum())}
            if "signal_class_ids" in h5:
                def texts(name: str) -> list[str]:
                    return [_text(v) for v in h5[name][:]] if name in h5 else []

                names, keys_, sources = (texts("signal_class_names"), texts("signal_class_keys"),
                                         texts("signal_class_source_file"))
                masses = h5.get("signal_class_mass_GeV")
                pids = h5.get("signal_class_truth_pid")
                for i, cid in enumerate(h5["signal_class_ids"][:]):
                    entry: dict[str, Any] = {"id": int(cid)}
                    if i < len(names):
                        entry["name"] = names[i]
                    if i < len(keys_):
                        entry["key"] = keys_[i]
                    if masses is not None:
                        entry["mass"] = float(masses[i])
                    if pids is not None:
                        entry["pid"] = int(pids[i])
                    if i < len(sources):
                        entry["source"] = sources[i]
                    result["signal_classes"].append(entry)
    except Exception as err:  # the study records any failure in the manifest
        result["error"] = str(err)
    return result


def _number(value: Any) -> str:
    if value is None:
        return "N/A"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def study_summary_line(data: dict[str, Any]) -> str:
    """The one line per file of ``inspect_hdf5.py --summary``."""
    if "error" in data:
        return f"✗ {data['file']}: {data['error']}"
    counts = data.get("signal_counts", {})
    shape = data["datasets"].get("jet_features", {}).get("shape", "N/A")
    return (f"{data['file']}: jets={shape} signal={counts.get('signal', 0)} "
            f"background={counts.get('background', 0)} classes={len(data['signal_classes'])}")


def study_details(data: dict[str, Any]) -> str:
    """The per-file block that ``inspect_hdf5.py`` prints without ``--summary``."""
    if "error" in data:
        return f"✗ {data['file']}: {data['error']}"
    rule = "=" * 80
    lines = [f"\n{rule}\nFile: {data['file']}\n{rule}",
             f"Datasets: {data['datasets'].get('keys', [])}"]
    for name in ("jet_features", "ghost_track_vars", "targets", "is_signal"):
        stats = data["datasets"].get(name)
        if not stats:
            continue
        if stats["kind"] == "1d":
            lines.append(f"  {name}: shape={stats['shape']} finite={stats['finite']}/"
                         f"{stats['total']} range=[{_number(stats.get('min'))}, "
                         f"{_number(stats.get('max'))}]")
        else:
            lines.append(f"  {name}: shape={stats['shape']} finite elems="
                         f"{stats['finite_elements']}/{stats['total_elements']} fully valid rows="
                         f"{stats['fully_valid_rows']} sentinel rows="
                         f"{stats['rows_with_sentinel']}")
    if "signal_counts" in data:
        sig = data["signal_counts"]
        lines.append(f"Signal jets: {sig['signal']}  background: {sig['background']}")
    if data.get("signal_classes"):
        lines.append("Signal classes:")
        for entry in data["signal_classes"]:
            mass = f", mass={_number(entry.get('mass'))} GeV" if entry.get("mass") is not None \
                else ""
            pid = f", PID {entry.get('pid')}" if entry.get("pid") is not None else ""
            lines.append(f"  id={entry['id']} {entry.get('name', '')}{pid}{mass}")
    return "\n".join(lines)
