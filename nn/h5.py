"""The study's HDF5 training file (``jet_data.h5``) from track-processor outputs, and its summary.

:func:`write_h5` takes one or more outputs of ``hzx run tracks`` (``.coffea`` files or loaded
mappings) and writes the layout of ``../shared/spec/ghost-track-observables.md``:

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
``is_signal``              (N,) bool         jet counts as signal (see ``signal_jets``)
``signal_class``           (N,) int64        class id of its signal sample, −1 background
``signal_mass``            (N,) float32      the class's mass (GeV), NaN for background
``sample_index``, ``entry``, ``jet_index``   where each row comes from (``sample_names`` attr)
``signal_class_*``         (K,)              per-class ids, names, keys, truth PID, mass, files
=========================  ================  ===============================================

Rows are ordered by (sample, file, entry, jet index) whatever order the chunks were processed in,
so the file does not depend on the executor. Class ids are deterministic: signal samples (fileset
role ``signal``) sorted by name get 0, 1, …. Rows are written chunk by chunk into resizable
datasets: the writer's own memory is bounded by one processing chunk, not the number of events.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError, InputFileError

#: Truth labels that count as a signal particle (a, h, J/ψ, η_c).
SIGNAL_LABELS = (36, 25, 443, 441)
OBSERVABLE_NAMES = ("nTracks", "deltaRLeadTrack", "leadTrackPtRatio", "angularity_2", "U1_0p7",
                    "M2_0p3", "tau2")
SIGNAL_JETS = ("matched", "all")
#: Mass metadata keys accepted in a fileset entry, in order of preference (GeV).
MASS_KEYS = ("signal_mass_GeV", "signal_mass", "mass_a", "mass")


@dataclasses.dataclass(frozen=True)
class SignalClass:
    """One signal class of the training file."""

    class_id: int
    name: str
    key: str
    truth_pid: int
    mass_GeV: float
    source_file: str


def _chunks_of(output: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for dataset in [k for k in output if not str(k).startswith("_")]:
        acc = output[dataset]
        columns = acc.get("columns") if isinstance(acc, Mapping) else None
        if columns is None:
            continue
        for chunk in columns.get("chunks", []):
            yield dataset, chunk


def _load(item: Any) -> Mapping[str, Any]:
    if isinstance(item, (str, Path)):
        from hzx.io import load_output

        return load_output(item)
    return item


def collect_chunks(outputs: Sequence[Any]) -> list[tuple[tuple, str, dict[str, Any], dict]]:
    """All column chunks of ``outputs``, sorted by (dataset, file, first entry): [(key, ds, chunk, meta)]."""
    found = []
    for output in outputs:
        output = _load(output)
        for dataset, chunk in _chunks_of(output):
            meta = output[dataset].get("metadata", {})
            found.append(((dataset, str(chunk["file"]), int(chunk["entry_start"])), dataset,
                          chunk, meta))
    if not found:
        raise InputFileError(
            ", ".join(str(o) for o in outputs if isinstance(o, (str, Path))) or "<outputs>",
            "no per-jet columns: run `hzx run tracks` (with store_columns=true) first",
        )
    found.sort(key=lambda item: item[0])
    return found


def signal_classes(chunks: list[tuple[tuple, str, dict[str, Any], dict]]) -> dict[str, SignalClass]:
    """Deterministic signal classes: signal datasets sorted by name → ids 0, 1, ….

    Truth PID: the most common signal label among the dataset's matched jets (ties: the smaller
    PID). Mass: the fileset metadata (``signal_mass_GeV``, ``signal_mass``, ``mass_a``, ``mass``)
    when present, else the median truth mass of jets with that label (GeV).
    """
    by_dataset: dict[str, dict[str, Any]] = {}
    for _, dataset, chunk, meta in chunks:
        role = chunk.get("role") or meta.get("role")
        if role != "signal":
            continue
        info = by_dataset.setdefault(dataset, {"labels": Counter(), "targets": {}, "files": set(),
                                               "meta": meta})
        labels = np.asarray(chunk["labels"])
        targets = np.asarray(chunk["targets"])
        for label in SIGNAL_LABELS:
            sel = labels == label
            if sel.any():
                info["labels"][label] += int(sel.sum())
                info["targets"].setdefault(label, []).append(targets[sel])
        info["files"].add(str(chunk["file"]))
    classes = {}
    for class_id, dataset in enumerate(sorted(by_dataset)):
        info = by_dataset[dataset]
        counts = info["labels"]
        pid = min(counts, key=lambda p: (-counts[p], p)) if counts else 0
        mass = next((float(info["meta"][k]) for k in MASS_KEYS if k in info["meta"]), None)
        if mass is None:
            values = np.concatenate(info["targets"][pid]) if pid else np.array([])
            values = values[~np.isnan(values)]
            mass = float(np.median(values)) if len(values) else float("nan")
        classes[dataset] = SignalClass(class_id, dataset, str(info["meta"].get("sample", dataset)),
                                       int(pid), mass, ";".join(sorted(info["files"])))
    return classes


def _create(h5, name: str, row_shape: tuple[int, ...], dtype: Any, chunk_rows: int = 1024):
    return h5.create_dataset(name, shape=(0, *row_shape), maxshape=(None, *row_shape),
                             dtype=dtype, chunks=(chunk_rows, *row_shape), compression="gzip",
                             compression_opts=4, shuffle=True)


def _append(dataset, values: np.ndarray) -> None:
    start = dataset.shape[0]
    dataset.resize(start + len(values), axis=0)
    dataset[start:] = values


def write_h5(outputs: Sequence[Any], path: str | Path, *, signal_jets: str = "matched",
             datasets: Sequence[str] | None = None) -> dict[str, Any]:
    """Write ``jet_data.h5`` from track-processor outputs; returns a short summary.

    Parameters
    ----------
    outputs : sequence of ``.coffea`` paths or loaded outputs (merged in (sample, file, entry)
        order; the same sample in two outputs is written twice).
    signal_jets : {"matched", "all"}
        Which jets of a signal sample are signal (``is_signal``, ``signal_class``): those
        truth-matched to a signal particle (labels 36, 25, 443, 441; default), or every jet.
    datasets : only these samples (default: all).
    """
    import h5py

    if signal_jets not in SIGNAL_JETS:
        raise ConfigurationError(f"signal_jets must be one of {', '.join(SIGNAL_JETS)}")
    chunks = collect_chunks(outputs)
    if datasets is not None:
        chunks = [c for c in chunks if c[1] in set(datasets)]
        if not chunks:
            raise ConfigurationError(f"none of the samples {', '.join(datasets)} has columns")
    classes = signal_classes(chunks)
    samples = sorted({c[1] for c in chunks})
    files = sorted({str(c[2]["file"]) for c in chunks})
    first = chunks[0][2]
    n_tracks = first["track_features"].shape[1:]
    n_cons = first["constituent_features"].shape[1:]

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with h5py.File(path, "w") as h5:
        d = {
            "ghost_track_vars": _create(h5, "ghost_track_vars", (7,), np.float32),
            "jet_features": _create(h5, "jet_features", (6,), np.float32),
            "track_features": _create(h5, "track_features", n_tracks, np.float32),
            "track_mask": _create(h5, "track_mask", n_tracks[:1], bool),
            "constituent_features": _create(h5, "constituent_features", n_cons, np.float32),
            "constituent_mask": _create(h5, "constituent_mask", n_cons[:1], bool),
            "labels": _create(h5, "labels", (), np.int32),
            "targets": _create(h5, "targets", (), np.float32),
            "is_signal": _create(h5, "is_signal", (), bool),
            "signal_class": _create(h5, "signal_class", (), np.int64),
            "signal_mass": _create(h5, "signal_mass", (), np.float32),
            "sample_index": _create(h5, "sample_index", (), np.int32),
            "file_index": _create(h5, "file_index", (), np.int32),
            "entry": _create(h5, "entry", (), np.int64),
            "jet_index": _create(h5, "jet_index", (), np.int32),
        }
        for _, dataset, chunk, _meta in chunks:
            # Rows inside a chunk come ordered by (entry, jet index); sort to be sure.
            order = np.lexsort((chunk["jet_index"], chunk["entry"]))
            n = len(order)
            labels = np.asarray(chunk["labels"])[order]
            cls = classes.get(dataset)
            if cls is None:
                is_signal = np.zeros(n, dtype=bool)
            elif signal_jets == "all":
                is_signal = np.ones(n, dtype=bool)
            else:
                is_signal = np.isin(labels, SIGNAL_LABELS)
            class_id = np.where(is_signal, cls.class_id if cls else -1, -1).astype(np.int64)
            mass = np.where(is_signal, cls.mass_GeV if cls else np.nan, np.nan)
            _append(d["ghost_track_vars"], np.asarray(chunk["ghost_track_vars"])[order])
            _append(d["jet_features"], chunk["jet_features"][order])
            _append(d["track_features"], chunk["track_features"][order])
            _append(d["track_mask"], chunk["track_mask"][order])
            _append(d["constituent_features"], chunk["constituent_features"][order])
            _append(d["constituent_mask"], chunk["constituent_mask"][order])
            _append(d["labels"], labels)
            _append(d["targets"], np.asarray(chunk["targets"])[order])
            _append(d["is_signal"], is_signal)
            _append(d["signal_class"], class_id)
            _append(d["signal_mass"], mass)
            _append(d["sample_index"], np.full(n, samples.index(dataset), dtype=np.int32))
            _append(d["file_index"], np.full(n, files.index(str(chunk["file"])), dtype=np.int32))
            _append(d["entry"], np.asarray(chunk["entry"])[order])
            _append(d["jet_index"], np.asarray(chunk["jet_index"])[order])
            total += n
        ordered = sorted(classes.values(), key=lambda c: c.class_id)
        text = h5py.string_dtype()
        h5.create_dataset("signal_class_ids", data=np.array([c.class_id for c in ordered], np.int64))
        h5.create_dataset("signal_class_names", data=[c.name for c in ordered], dtype=text)
        h5.create_dataset("signal_class_keys", data=[c.key for c in ordered], dtype=text)
        h5.create_dataset("signal_class_truth_pid",
                          data=np.array([c.truth_pid for c in ordered], np.int32))
        h5.create_dataset("signal_class_mass_GeV",
                          data=np.array([c.mass_GeV for c in ordered], np.float32))
        h5.create_dataset("signal_class_source_file", data=[c.source_file for c in ordered],
                          dtype=text)
        h5.attrs["observable_names"] = list(OBSERVABLE_NAMES)
        h5.attrs["sample_names"] = samples
        h5.attrs["file_names"] = files
        h5.attrs["signal_jets"] = signal_jets
        h5.attrs["sentinel"] = -999999.0
        h5.attrs["layout"] = "hzx jet_data.h5 v1 (ghost-track-observables.md)"
    return {"path": str(path), "jets": total, "samples": samples,
            "classes": [dataclasses.asdict(c) for c in ordered]}


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
            sentinel += (h5["ghost_track_vars"][start:stop] == -999999.0).sum(axis=0)
            targets_matched += int((~np.isnan(h5["targets"][start:stop])).sum())
        names = [s.decode() if isinstance(s, bytes) else str(s)
                 for s in h5["signal_class_names"][:]] if "signal_class_names" in h5 else []
        masses = h5["signal_class_mass_GeV"][:].tolist() if "signal_class_mass_GeV" in h5 else []
    return {
        "path": str(path),
        "jets": n,
        "datasets": shapes,
        "labels": dict(sorted(labels.items())),
        "signal_class_counts": dict(sorted(classes.items())),
        "signal_classes": [{"id": i, "name": nm, "mass_GeV": m}
                           for i, (nm, m) in enumerate(zip(names, masses, strict=False))],
        "matched_targets": targets_matched,
        "sentinel_fraction": {name: (float(sentinel[k]) / n if n else 0.0)
                              for k, name in enumerate(OBSERVABLE_NAMES)},
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable text of :func:`inspect_h5`."""
    lines = [f"{summary['path']}: {summary['jets']} jets"]
    for name, (shape, dtype) in summary["datasets"].items():
        lines.append(f"  {name:24s} {shape!s:18s} {dtype}")
    lines.append(f"  labels: {summary['labels']}")
    lines.append(f"  signal_class counts: {summary['signal_class_counts']}")
    for c in summary["signal_classes"]:
        lines.append(f"  class {c['id']}: {c['name']} (mass {c['mass_GeV']:.4g} GeV)")
    lines.append(f"  jets with a truth target: {summary['matched_targets']}")
    share = ", ".join(f"{k} {v:.1%}" for k, v in summary["sentinel_fraction"].items())
    lines.append(f"  undefined (sentinel) share: {share}")
    return "\n".join(lines)
