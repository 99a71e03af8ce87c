"""Reading jets from the study's HDF5 training files, undefined values, splits.

A :class:`JetTable` concatenates the jets of one or more files. Every problem with an input is
raised as :class:`hzx.errors.InputFileError` naming the file and the dataset key.

Signal classes are matched across files by name (``signal_class_names``). A class keeps the id
its file gives it (e.g. the study's sha1-derived ids) unless another file already uses that id
for a different name; then it gets the smallest free id ≥ 0, so two files that both call their
class 0 but hold different signal masses stay distinct. Files without class metadata keep their
raw ids (named ``class_<id>``). Background is always −1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.nn.config import GHOST_TRACK_FEATURES, REGRESSED_FEATURE, SENTINEL, SENTINEL_THRESHOLD

BACKGROUND = -1


@dataclass
class JetTable:
    """Jets of one or more HDF5 files.

    Attributes
    ----------
    features : ndarray (N, F) float32
        Raw features (sentinels and NaN untouched).
    targets : ndarray (N,) float32
        Truth mass in GeV (NaN for unmatched jets, or all NaN when the key was not requested).
    signal_class : ndarray (N,) int64
        Global class id: −1 background, ≥ 0 signal class.
    source : ndarray (N,) int32
        Index into ``files`` of the file each jet comes from.
    files : list of str
    feature_names : list of str
    class_names : dict int → str
        Global class id → name (−1 → "background").
    class_mass_GeV : dict int → float
        Global class id → nominal signal mass in GeV, where the file provides it.
    class_meta : dict int → dict
        Global class id → the file's ``key`` and ``truth_pid`` (``signal_class_keys``,
        ``signal_class_truth_pid``) where present.
    signal_label : ndarray (N,) bool or None
        Signal truth read from a label dataset (``is_signal``); None: ``signal_class`` ≥ 0.
    label_rule : str
        How ``is_signal`` was decided (for metrics.json).
    """

    features: np.ndarray
    targets: np.ndarray
    signal_class: np.ndarray
    source: np.ndarray
    files: list[str]
    feature_names: list[str]
    class_names: dict[int, str] = field(default_factory=dict)
    class_mass_GeV: dict[int, float] = field(default_factory=dict)
    class_meta: dict[int, dict] = field(default_factory=dict)
    signal_label: np.ndarray | None = None
    label_rule: str = "signal_class >= 0"

    def __len__(self) -> int:
        return len(self.signal_class)

    def subset(self, mask_or_index: np.ndarray) -> JetTable:
        """The jets selected by a boolean mask or an index array (metadata shared)."""
        label = None if self.signal_label is None else self.signal_label[mask_or_index]
        return JetTable(
            self.features[mask_or_index], self.targets[mask_or_index],
            self.signal_class[mask_or_index], self.source[mask_or_index], self.files,
            self.feature_names, self.class_names, self.class_mass_GeV, self.class_meta,
            label, self.label_rule,
        )

    @property
    def is_signal(self) -> np.ndarray:
        """Boolean (N,): a signal jet (label dataset, else a signal class ≥ 0)."""
        if self.signal_label is not None:
            return self.signal_label
        return self.signal_class >= 0

    def class_lookup(self, class_id: int) -> dict:
        """The study's per-class metadata entry: class_id, name, key, mass_GeV, truth_pid."""
        entry: dict = {"class_id": int(class_id)}
        if int(class_id) in self.class_names:
            entry["name"] = self.class_names[int(class_id)]
        entry.update(self.class_meta.get(int(class_id), {}))
        if int(class_id) in self.class_mass_GeV:
            entry["mass_GeV"] = self.class_mass_GeV[int(class_id)]
        return entry

    def class_label(self, class_id: int) -> str:
        """Human-readable name of a global class id, with its mass when known."""
        name = self.class_names.get(int(class_id), f"class_{class_id}")
        mass = self.class_mass_GeV.get(int(class_id))
        return f"{name} (m = {mass:g} GeV)" if mass is not None and np.isfinite(mass) else name


def undefined_mask(features: np.ndarray) -> np.ndarray:
    """Boolean array, True where a feature is NaN, infinite or the sentinel −999999."""
    return ~np.isfinite(features) | (features <= SENTINEL_THRESHOLD)


def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def default_feature_names(key: str, n_features: int, attrs=None) -> list[str]:
    """Names of the columns of a feature dataset: its ``feature_names`` attribute, the study's
    ghost-track names (plus ``regressed_mass``), or ``f0``, ``f1``, …"""
    if attrs is not None and "feature_names" in attrs:
        names = [_decode(v) for v in np.atleast_1d(attrs["feature_names"])]
        if len(names) == n_features:
            return names
    if n_features == len(GHOST_TRACK_FEATURES):
        return list(GHOST_TRACK_FEATURES)
    if n_features == len(GHOST_TRACK_FEATURES) + 1 and key.endswith("with_reg"):
        return [*GHOST_TRACK_FEATURES, REGRESSED_FEATURE]
    return [f"f{i}" for i in range(n_features)]


def _require(h5file, path: str, key: str, reason: str = ""):
    if key not in h5file:
        available = ", ".join(sorted(h5file.keys())) or "none"
        raise InputFileError(path, f"no dataset '{key}'{reason} (datasets present: {available})")
    return h5file[key]


def read_class_extra(h5file) -> dict[int, dict]:
    """Per-file class id → {"key", "truth_pid"} from ``signal_class_keys`` / ``_truth_pid``."""
    out: dict[int, dict] = {}
    if "signal_class_ids" not in h5file:
        return out
    ids = np.asarray(h5file["signal_class_ids"][()]).astype(np.int64).ravel()
    keys = (np.atleast_1d(h5file["signal_class_keys"][()])
            if "signal_class_keys" in h5file else None)
    pids = (np.atleast_1d(h5file["signal_class_truth_pid"][()])
            if "signal_class_truth_pid" in h5file else None)
    for i, cid in enumerate(ids):
        entry = {}
        if keys is not None and i < len(keys):
            entry["key"] = _decode(keys[i])
        if pids is not None and i < len(pids):
            entry["truth_pid"] = int(pids[i])
        out[int(cid)] = entry
    return out


def read_signal_label(h5file, label_key: str, n_jets: int) -> tuple[np.ndarray | None, str]:
    """The study's signal truth: ``label_key`` > 0.5, else ``labels`` == 36 (its fallback);
    ``(None, rule)`` when the file has neither (then ``signal_class`` ≥ 0 decides)."""
    if label_key in h5file:
        values = np.asarray(h5file[label_key][()], dtype=np.float64).ravel()
        rule = f"{label_key} > 0.5"
    elif "labels" in h5file:
        raw = np.asarray(h5file["labels"][()])
        if raw.ndim > 1:
            raw = np.argmax(raw, axis=1)
        values = (raw.ravel() == 36).astype(np.float64)
        rule = f"labels == 36 (no '{label_key}' dataset)"
    else:
        return None, f"signal_class >= 0 (no '{label_key}' or 'labels' dataset)"
    if len(values) != n_jets:
        return values, rule  # length checked by the caller
    return values > 0.5, rule


def read_class_metadata(h5file) -> tuple[dict[int, str], dict[int, float]]:
    """Per-file class id → name and id → mass (GeV) from the ``signal_class_*`` datasets."""
    names: dict[int, str] = {}
    masses: dict[int, float] = {}
    if "signal_class_ids" not in h5file:
        return names, masses
    ids = np.asarray(h5file["signal_class_ids"][()]).astype(np.int64).ravel()
    raw_names = h5file["signal_class_names"][()] if "signal_class_names" in h5file else None
    raw_mass = h5file["signal_class_mass_GeV"][()] if "signal_class_mass_GeV" in h5file else None
    for i, cid in enumerate(ids):
        names[int(cid)] = _decode(np.atleast_1d(raw_names)[i]) if raw_names is not None else f"class_{cid}"
        if raw_mass is not None:
            masses[int(cid)] = float(np.atleast_1d(raw_mass)[i])
    return names, masses


def load_jets(
    paths, features_key: str = "ghost_track_vars", targets_key: str | None = "targets",
    class_key: str = "signal_class", *, expected_features: int | None = None,
    class_registry: tuple[dict[int, str], dict[int, float]] | None = None,
    label_key: str | None = None,
) -> JetTable:
    """Read and concatenate the jets of HDF5 files.

    Parameters
    ----------
    paths : sequence of path
    features_key, targets_key, class_key : str
        Dataset names; ``targets_key=None`` skips the targets (filled with NaN).
    expected_features : int, optional
        Required number of feature columns (e.g. that of a trained model).
    class_registry : (names, masses), optional
        Global class ids already assigned (extra evaluation files reuse the training ids).
    label_key : str, optional
        Read the signal truth from this dataset (see :func:`read_signal_label`).

    Raises
    ------
    InputFileError
        Missing file or dataset, wrong shape, datasets of different lengths, a feature count that
        differs between files, or a file whose features are all undefined (sentinel or NaN).
    """
    import h5py

    paths = [str(p) for p in paths]
    if not paths:
        raise ConfigurationError("no HDF5 input given")
    global_names, global_mass = ({}, {}) if class_registry is None else (
        dict(class_registry[0]), dict(class_registry[1]))
    name_to_id = {n: i for i, n in global_names.items() if i >= 0}
    features, targets, classes, sources, labels = [], [], [], [], []
    class_meta: dict[int, dict] = {}
    rules: list[str] = []
    feature_names: list[str] | None = None
    first_with_features = None
    for index, path in enumerate(paths):
        if not Path(path).is_file():
            raise InputFileError(path, "file does not exist")
        try:
            h5 = h5py.File(path, "r")
        except OSError as err:
            raise InputFileError(path, f"not a readable HDF5 file ({err})") from err
        with h5:
            feats_ds = _require(h5, path, features_key, " (features_key)")
            if feats_ds.ndim != 2:
                raise InputFileError(
                    path, f"dataset '{features_key}' must be 2-D (jets, features), has shape {feats_ds.shape}")
            n_jets, n_feat = feats_ds.shape
            reference = expected_features if expected_features is not None else (
                features[0].shape[1] if features else None)
            if reference is not None and n_feat != reference:
                origin = ("the model" if expected_features is not None
                          else f"'{features_key}' of {first_with_features}")
                raise InputFileError(
                    path, f"dataset '{features_key}' has {n_feat} features but {origin} has {reference}")
            feats = np.asarray(feats_ds[()], dtype=np.float32)
            names = default_feature_names(features_key, n_feat, feats_ds.attrs)
            cls_ds = _require(h5, path, class_key, " (class_key)")
            cls = np.asarray(cls_ds[()]).astype(np.int64).ravel()
            if targets_key is not None:
                tgt = np.asarray(_require(h5, path, targets_key, " (targets_key)")[()],
                                 dtype=np.float32).ravel()
            else:
                tgt = np.full(n_jets, np.nan, dtype=np.float32)
            for key, arr in ((class_key, cls), (targets_key, tgt)):
                if len(arr) != n_jets:
                    raise InputFileError(
                        path, f"dataset '{key}' has {len(arr)} entries but '{features_key}' has {n_jets} jets")
            if n_jets and undefined_mask(feats).all():
                raise InputFileError(
                    path, f"dataset '{features_key}': every value of all {n_jets} jets is the "
                    "sentinel −999999 or NaN; nothing to learn from")
            local_names, local_mass = read_class_metadata(h5)
            local_extra = read_class_extra(h5)
            if label_key is not None:
                label, rule = read_signal_label(h5, label_key, n_jets)
                if label is not None and len(label) != n_jets:
                    raise InputFileError(path, f"label dataset has {len(label)} entries but "
                                         f"'{features_key}' has {n_jets} jets ({rule})")
                rules.append(rule)
                labels.append(cls >= 0 if label is None else label)
        mapped = np.full(n_jets, BACKGROUND, dtype=np.int64)
        for cid in np.unique(cls[cls >= 0]):
            name = local_names.get(int(cid))
            if name is None:  # no metadata: keep the raw id
                gid, name = int(cid), f"class_{cid}"
                if gid in global_names and global_names[gid] != name:
                    raise InputFileError(
                        path, f"dataset '{class_key}': class id {gid} has no entry in "
                        "'signal_class_ids' but that id is already used by another file")
            elif name in name_to_id:
                gid = name_to_id[name]
            elif int(cid) not in global_names:
                gid = int(cid)  # the file's own id (e.g. sha1-derived) when it is free
            else:
                gid = 0
                while gid in global_names:
                    gid += 1
            name_to_id[name] = gid
            global_names[gid] = name
            if int(cid) in local_mass:
                global_mass[gid] = local_mass[int(cid)]
            if local_extra.get(int(cid)):
                class_meta[gid] = local_extra[int(cid)]
            mapped[cls == cid] = gid
        if feature_names is None:
            feature_names, first_with_features = names, path
        features.append(feats)
        targets.append(tgt)
        classes.append(mapped)
        sources.append(np.full(n_jets, index, dtype=np.int32))
    global_names[BACKGROUND] = "background"
    return JetTable(
        np.concatenate(features), np.concatenate(targets), np.concatenate(classes),
        np.concatenate(sources), paths, feature_names or [], global_names, global_mass,
        class_meta, np.concatenate(labels) if label_key is not None else None,
        "; ".join(dict.fromkeys(rules)) if rules else "signal_class >= 0",
    )


def as_sentinel(features: np.ndarray) -> tuple[np.ndarray, int]:
    """NaN and ±inf replaced by the sentinel −999999 (the ``keep`` policy: every undefined
    value enters the network as the converter's own marker); returns the array and how many
    values were replaced."""
    bad = ~np.isfinite(features)
    n_bad = int(bad.sum())
    if not n_bad:
        return features, 0
    return np.where(bad, np.asarray(SENTINEL, dtype=features.dtype), features), n_bad


def select_defined(table: JetTable, missing: str) -> tuple[JetTable, dict]:
    """Apply the jet-level part of the missing-value policy.

    ``drop`` removes jets with any undefined feature; ``keep`` keeps every jet, NaN/±inf
    features set to the sentinel −999999 (see :func:`as_sentinel`); ``impute`` keeps every jet
    (values are filled later by the preprocessor). Returns the selected table and counts for
    metrics.json (``jets_dropped_for_undefined_features``; with ``keep`` also
    ``nonfinite_values_set_to_sentinel`` and ``jets_with_nonfinite_features``).
    """
    undefined = undefined_mask(table.features)
    counts = {
        "jets_read": len(table),
        "jets_with_undefined_features": int(undefined.any(axis=1).sum()),
    }
    if missing == "drop":
        keep = ~undefined.any(axis=1)
        counts["jets_dropped_for_undefined_features"] = int((~keep).sum())
        return table.subset(keep), counts
    counts["jets_dropped_for_undefined_features"] = 0
    if missing == "keep":
        counts["jets_with_nonfinite_features"] = int((~np.isfinite(table.features)).any(axis=1).sum())
        features, counts["nonfinite_values_set_to_sentinel"] = as_sentinel(table.features)
        table = dataclasses.replace(table, features=features)
    return table, counts


def stratified_split(
    classes: np.ndarray, test_split: float, val_split: float, seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/validation/test indices, stratified by class and reproducible from ``seed``.

    In every class a fraction ``test_split`` of its jets goes to the test split and a fraction
    ``val_split`` of its jets (of ALL of them, as in the study: 0.2 and 0.2 give 60/20/20) to
    validation; each split gets at least one jet of a class with ≥ 3 jets.
    """
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for cls in np.unique(classes):
        index = np.flatnonzero(classes == cls)
        index = index[rng.permutation(len(index))]
        n = len(index)
        n_test = round(n * test_split)
        n_val = round(n * val_split)
        if n >= 3:
            n_test = min(max(n_test, 1), n - 2)
            n_val = min(max(n_val, 1), n - n_test - 1)
        test.append(index[:n_test])
        val.append(index[n_test:n_test + n_val])
        train.append(index[n_test + n_val:])
    return tuple(np.sort(np.concatenate(part)) for part in (train, val, test))
