"""Inspect the features of a training HDF5 file and plot them per class (the study's
``plot_features``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError


def inspect_h5(path: str | Path, features_key: str = "ghost_track_vars",
               class_key: str = "signal_class") -> dict:
    """Summary of a training file: datasets, classes, and per class and feature the fraction of
    undefined values (sentinel/NaN) and the mean, standard deviation and 1/50/99 % quantiles of
    the defined ones (in the feature's units)."""
    import h5py

    from hzx.nn.datasets import load_jets, undefined_mask

    path = Path(path)
    table = load_jets([path], features_key, None, class_key)
    with h5py.File(path, "r") as h5:
        datasets = {}
        h5.visititems(lambda name, obj: datasets.__setitem__(
            name, {"shape": list(obj.shape), "dtype": str(obj.dtype)})
            if isinstance(obj, h5py.Dataset) else None)
    undefined = undefined_mask(table.features)
    classes = {}
    for cid in np.unique(table.signal_class):
        sel = table.signal_class == cid
        per_feature = {}
        for j, name in enumerate(table.feature_names):
            ok = sel & ~undefined[:, j]
            values = table.features[ok, j].astype(np.float64)
            entry = {"undefined_fraction": float(undefined[sel, j].mean())}
            if len(values):
                q01, q50, q99 = np.percentile(values, [1, 50, 99])
                entry.update(mean=float(values.mean()), std=float(values.std()),
                             q01=float(q01), median=float(q50), q99=float(q99))
            per_feature[name] = entry
        classes[table.class_names.get(int(cid), f"class_{cid}")] = {
            "class_id": int(cid), "mass_GeV": table.class_mass_GeV.get(int(cid)),
            "n_jets": int(sel.sum()), "features": per_feature}
    return {"file": str(path), "features_key": features_key, "class_key": class_key,
            "n_jets": len(table), "feature_names": table.feature_names,
            "datasets": datasets, "classes": classes}


def format_inspection(summary: dict) -> str:
    """A text table of :func:`inspect_h5`."""
    lines = [f"{summary['file']}: {summary['n_jets']} jets, features '{summary['features_key']}'",
             "datasets:"]
    lines += [f"  {k:32s} {v['dtype']:10s} {tuple(v['shape'])}" for k, v in summary["datasets"].items()]
    for name, cls in summary["classes"].items():
        mass = f", m = {cls['mass_GeV']:g} GeV" if cls["mass_GeV"] is not None else ""
        lines.append(f"class {cls['class_id']} {name}{mass}: {cls['n_jets']} jets")
        lines.append(f"  {'feature':18s} {'undef %':>8s} {'mean':>11s} {'std':>11s} "
                     f"{'q01':>11s} {'median':>11s} {'q99':>11s}")
        for feature, e in cls["features"].items():
            nums = " ".join(f"{e[k]:11.4g}" if k in e else f"{'-':>11s}"
                            for k in ("mean", "std", "q01", "median", "q99"))
            lines.append(f"  {feature:18s} {100 * e['undefined_fraction']:8.2f} {nums}")
    return "\n".join(lines)


def plot_features(input_h5, output_dir: str | Path, *, features_key: str = "ghost_track_vars",
                  class_key: str = "signal_class", masses_GeV=None, bins: int = 50,
                  log: bool = False, include_background: bool = True,
                  mass_tolerance_GeV: float = 0.01) -> list[Path]:
    """One PNG per feature with its normalised distribution per class (defined values only).

    ``masses_GeV`` chooses the signal classes overlaid (nominal masses from
    ``signal_class_mass_GeV``, matched within ``mass_tolerance_GeV``); default all classes.
    Background (class −1) is drawn too unless ``include_background`` is False.
    """
    from hzx.nn import plots
    from hzx.nn.datasets import load_jets, undefined_mask

    paths = [input_h5] if isinstance(input_h5, (str, Path)) else list(input_h5)
    table = load_jets(paths, features_key, None, class_key)
    chosen = [int(c) for c in np.unique(table.signal_class) if c >= 0]
    if masses_GeV:
        wanted = []
        for mass in masses_GeV:
            match = [c for c in chosen
                     if abs(table.class_mass_GeV.get(c, np.nan) - mass) <= mass_tolerance_GeV]
            if not match:
                known = sorted(table.class_mass_GeV.get(c, float("nan")) for c in chosen)
                raise InputFileError(", ".join(map(str, paths)), f"no signal class with mass "
                                     f"{mass:g} GeV in 'signal_class_mass_GeV' (present: {known})")
            wanted += match
        chosen = wanted
    if include_background and (table.signal_class < 0).any():
        chosen = [-1, *chosen]
    if not chosen:
        raise ConfigurationError("no class to plot")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    undefined = undefined_mask(table.features)
    written = []
    for j, feature in enumerate(table.feature_names):
        values, fractions = {}, {}
        for cid in chosen:
            sel = table.signal_class == cid
            label = table.class_label(cid)
            values[label] = table.features[sel & ~undefined[:, j], j]
            fractions[label] = float(undefined[sel, j].mean()) if sel.any() else 0.0
        written.append(plots.feature_distributions(values, output_dir / f"feature_{feature}.png",
                                                   feature, fractions, bins, log))
    return written
