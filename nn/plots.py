"""PNG plots of the trainers (mplhep ATLAS style). The backend is the caller's: the CLI selects
Agg, library code never switches it (notebook users keep theirs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.plotting import style


def _pyplot():
    return style.setup("ATLAS")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    return style.save_file(fig, path, dpi=80, tight=False)


def training_curves(history: dict, path: Path, best_epoch: int, ylabel: str = "loss") -> Path:
    """Training and validation loss per epoch, best epoch marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax.plot(epochs, history["train_loss"], label="training")
    ax.plot(epochs, history["val_loss"], label="validation")
    if best_epoch:
        ax.axvline(best_epoch, color="grey", ls="--", label=f"best epoch {best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if min(min(history["train_loss"]), min(history["val_loss"])) > 0:
        ax.set_yscale("log")
    ax.legend()
    return _save(fig, path)


def _mass_range(*arrays) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays if len(a)])
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    low, high = np.percentile(values, [0.5, 99.5])
    pad = 0.05 * max(high - low, 1e-3)
    return float(low - pad), float(high + pad)


def prediction_histograms(groups: dict[str, np.ndarray], path: Path, title: str,
                          truth_lines: dict[str, float] | None = None, bins: int = 60) -> Path:
    """Normalised histograms of the predicted mass per class; dashed lines at the true masses."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    low, high = _mass_range(*groups.values())
    edges = np.linspace(low, high, bins + 1)
    for i, (label, pred) in enumerate(groups.items()):
        if not len(pred):
            continue
        color = f"C{i % 10}"
        ax.hist(pred, bins=edges, histtype="step", density=True, lw=1.8, color=color,
                label=f"{label} ({len(pred)})")
        if truth_lines and label in truth_lines and np.isfinite(truth_lines[label]):
            ax.axvline(truth_lines[label], color=color, ls="--", lw=1)
    ax.set_xlabel("regressed mass [GeV]")
    ax.set_ylabel("normalised jets")
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=10)
    return _save(fig, path)


def scatter(true: np.ndarray, pred: np.ndarray, path: Path, title: str) -> Path:
    """2-D histogram of regressed against true mass, with the diagonal."""
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 7))
    low, high = _mass_range(true, pred)
    *_, image = ax.hist2d(true, pred, bins=60, range=[[low, high], [low, high]],
                             norm=LogNorm(), cmap="viridis")
    fig.colorbar(image, ax=ax, label="jets")
    ax.plot([low, high], [low, high], color="red", lw=1)
    ax.set_xlabel("true mass [GeV]")
    ax.set_ylabel("regressed mass [GeV]")
    ax.set_title(title, fontsize=12)
    return _save(fig, path)


def residuals(groups: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> Path:
    """Relative residual (pred − true)/true per class."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    edges = np.linspace(-1.0, 1.0, 81)
    for label, (true, pred) in groups.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = (pred - true) / true
        rel = rel[np.isfinite(rel)]
        if len(rel):
            ax.hist(np.clip(rel, -1, 1), bins=edges, histtype="step", density=True, lw=1.8,
                    label=f"{label} ({len(rel)})")
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel("(regressed − true) / true mass")
    ax.set_ylabel("normalised jets")
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=10)
    return _save(fig, path)


def roc(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path) -> Path:
    """Background rejection 1/ε_B against signal efficiency ε_S, one curve per label."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    for label, (fpr, tpr, auc) in curves.items():
        ok = fpr > 0
        ax.plot(tpr[ok], 1.0 / fpr[ok], label=f"{label} (AUC = {auc:.4f})")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection 1/ε_B")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=10)
    return _save(fig, path)


def scores(groups: dict[str, np.ndarray], path: Path, title: str, bins: int = 50) -> Path:
    """Classifier score (signal probability) per class, log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    edges = np.linspace(0, 1, bins + 1)
    for label, values in groups.items():
        if len(values):
            ax.hist(values, bins=edges, histtype="step", density=True, lw=1.8,
                    label=f"{label} ({len(values)})")
    ax.set_yscale("log")
    ax.set_xlabel("classifier score")
    ax.set_ylabel("normalised jets")
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=10)
    return _save(fig, path)


def feature_distributions(values: dict[str, np.ndarray], path: Path, feature: str,
                          undefined_fraction: dict[str, float], bins: int = 50,
                          log: bool = False) -> Path:
    """Normalised distribution of one feature per class (defined values only); the legend
    gives the fraction of jets where the feature is undefined (sentinel/NaN)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    present = [v for v in values.values() if len(v)]
    low, high = _mass_range(*present) if present else (0.0, 1.0)
    if feature == "nTracks" and present:
        edges = np.arange(np.floor(low), np.ceil(high) + 2) - 0.5
    else:
        edges = np.linspace(low, high, bins + 1)
    for label, v in values.items():
        if len(v):
            ax.hist(np.clip(v, edges[0], edges[-1]), bins=edges, histtype="step", density=True,
                    lw=1.8, label=f"{label} (undefined {100 * undefined_fraction[label]:.1f} %)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(feature)
    ax.set_ylabel("normalised jets")
    ax.legend(fontsize=9)
    return _save(fig, path)
