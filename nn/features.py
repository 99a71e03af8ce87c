"""Inspect the features of a training HDF5 file and plot them per class (the study's
``plot_features``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError

logger = logging.getLogger(__name__)


def feature_summary(path: str | Path, features_key: str = "ghost_track_vars",
                    class_key: str = "signal_class") -> dict:
    """Per class and feature of a training file (any features key, unlike the file-level
    :func:`hzx.nn.h5.inspect_h5`): datasets, classes, and per class and feature the fraction of
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
    """A text table of :func:`feature_summary`."""
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


#: The study's feature plotter leaves out the 8 GeV mass point (unreliable sample).
EXCLUDED_MASSES_GEV = (8.0,)


def parse_masses(values, name: str = "masses_GeV") -> list[float] | None:
    """Masses in GeV from strings with comma- or space-separated numbers (the study's
    ``--include-signal-masses "0.5,1.5"``) or from numbers; None when empty. ``name`` is the
    parameter an error names."""
    if values is None:
        return None
    if isinstance(values, (str, float, int)):
        values = [values]
    out = []
    for value in values:
        if isinstance(value, str):
            for token in value.replace(",", " ").split():
                try:
                    out.append(float(token))
                except ValueError as err:
                    raise ConfigurationError(f"{name}: not a mass in GeV: {token!r}") from err
        else:
            out.append(float(value))
    return out or None


def feature_edges(values: list[np.ndarray], feature: str, bins: int = 60) -> np.ndarray | None:
    """The study's binning: nTracks 0–20 (20 bins), angularity_2 0–50 (25 bins), otherwise
    the 0.5–99.5 % range of the defined values (sentinel and −1 left out) widened by 5 %."""
    if feature == "nTracks":
        return np.linspace(0.0, 20.0, 21)
    if feature == "angularity_2":
        return np.linspace(0.0, 50.0, 26)
    pool = [v[np.isfinite(v) & (v > -999998.0) & ~np.isclose(v, -1.0)] for v in values]
    pool = [v for v in pool if len(v)]
    if not pool:
        return None
    low, high = np.percentile(np.concatenate(pool), [0.5, 99.5])
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        return None
    span = high - low
    return np.linspace(low - 0.05 * span, high + 0.05 * span, bins + 1)


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name).strip("_")


def plot_features(input_h5, output_dir: str | Path, *, features_key: str = "ghost_track_vars",
                  class_key: str = "signal_class", targets_key: str = "targets",
                  label_key: str = "is_signal", masses_GeV=None, bins: int = 50,
                  log: bool = False, include_background: bool = True,
                  mass_tolerance_GeV: float = 0.01, exclude_masses_GeV=EXCLUDED_MASSES_GEV,
                  skip_signal_background: bool = False, skip_per_class: bool = False,
                  skip_mass: bool = False, create_pdf: bool = False) -> list[Path]:
    """The study's feature plots (``plot_features.py``) and hzx's per-class distributions.

    Written to ``output_dir``:

    - ``class_breakdown.png``: jets per class;
    - ``feature_sb_<ii>_<name>.png`` (unless ``skip_signal_background``): every feature for
      background (filled) and each signal class (line), normalised, in the study's binning;
    - ``signal_mass_by_class.png`` (unless ``skip_mass``; needs ``targets_key`` in the files):
      truth mass per signal class;
    - ``feature_<name>.png`` (unless ``skip_per_class``): hzx's normalised distribution per
      class of the defined values, the undefined fraction in the legend;
    - ``feature_plots_summary.pdf`` (``create_pdf``): all PNGs of the directory, one a page.

    ``masses_GeV`` chooses the signal classes drawn (nominal masses from
    ``signal_class_mass_GeV``, matched within ``mass_tolerance_GeV``; default all). Classes at
    ``exclude_masses_GeV`` (the study leaves out 8 GeV) are dropped unless named in
    ``masses_GeV``. Signal/background follows ``label_key`` (``is_signal``; fallbacks as
    :func:`hzx.nn.datasets.read_signal_label`). Background (class −1) is drawn unless
    ``include_background`` is False.
    """
    import h5py

    from hzx.nn import plots
    from hzx.nn import study_plots as sp
    from hzx.nn.datasets import load_jets, undefined_mask

    paths = [input_h5] if isinstance(input_h5, (str, Path)) else list(input_h5)
    has_targets = True
    for p in paths:
        if Path(p).is_file():
            with h5py.File(p, "r") as h5:
                has_targets &= targets_key in h5
    want_mass = not skip_mass and has_targets
    table = load_jets(paths, features_key, targets_key if want_mass else None, class_key,
                      label_key=label_key)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ConfigurationError(f"bins must be an integer ≥ 1, got {bins!r}")
    masses_GeV = parse_masses(masses_GeV)
    chosen = [int(c) for c in np.unique(table.signal_class) if c >= 0]

    def near(cid: int, masses) -> bool:
        mass = table.class_mass_GeV.get(cid, np.nan)
        return any(abs(mass - m) <= mass_tolerance_GeV for m in masses)

    if masses_GeV:
        wanted = []
        known = sorted(table.class_mass_GeV.get(c, float("nan")) for c in chosen)
        for mass in masses_GeV:
            match = [c for c in chosen if near(c, [mass])]
            if not match:  # the study warns and plots the masses it has
                logger.warning("%s: no signal class with mass %g GeV (present: %s); left out",
                               ", ".join(map(str, paths)), mass, known)
            wanted += match
        if not wanted:
            raise InputFileError(", ".join(map(str, paths)), "no signal class with any of the "
                                 f"masses {', '.join(f'{m:g}' for m in sorted(masses_GeV))} GeV "
                                 f"(present: {known})")
        chosen = wanted
    elif exclude_masses_GeV:
        chosen = [c for c in chosen if not near(c, exclude_masses_GeV)]
    signal_ids = list(chosen)
    if include_background and (table.signal_class < 0).any():
        chosen = [-1, *chosen]
    if not chosen:
        raise ConfigurationError("no class to plot")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    undefined = undefined_mask(table.features)
    background = ~table.is_signal
    written = []

    counts = {table.class_names.get(c, f"signal {c}"): int((table.signal_class == c).sum())
              for c in signal_ids}
    written.append(sp.class_breakdown(int(background.sum()), counts,
                                      output_dir / "class_breakdown.png"))
    if not skip_signal_background and background.any() and signal_ids:
        for j, feature in enumerate(table.feature_names):
            ok = ~undefined[:, j]
            bkg = table.features[background & ok, j]
            sig = {table.class_names.get(c, f"class {c}"):
                   table.features[(table.signal_class == c) & ok, j] for c in signal_ids}
            edges = feature_edges([bkg, *sig.values()], feature)
            if edges is None:
                continue
            written.append(sp.signal_background_feature(
                bkg, sig, edges, feature, output_dir / f"feature_sb_{j:02d}_{_safe_name(feature)}.png"))
    if want_mass and signal_ids:
        written.append(sp.truth_mass_by_class(
            {table.class_names.get(c, f"class {c}"): table.targets[table.signal_class == c]
             for c in signal_ids}, output_dir / "signal_mass_by_class.png"))
    if not skip_per_class:
        for j, feature in enumerate(table.feature_names):
            values, fractions = {}, {}
            for cid in chosen:
                sel = table.signal_class == cid
                label = table.class_label(cid)
                values[label] = table.features[sel & ~undefined[:, j], j]
                fractions[label] = float(undefined[sel, j].mean()) if sel.any() else 0.0
            written.append(plots.feature_distributions(
                values, output_dir / f"feature_{feature}.png", feature, fractions, bins, log))
    if create_pdf:
        pdf = sp.summary_pdf(output_dir)
        if pdf is not None:
            written.append(pdf)
    return written
