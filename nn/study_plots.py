"""The figures of the study's scripts under their file names (PNG), drawn by hzx: training
curve, weight distribution, predicted-mass histograms with a true/pred ratio, scatter and
residual plots of the regression; loss curve, weights, scores, S/√B scan and ROC curves of the
classifier; the regression-output overlay; the class breakdown, signal-vs-background feature
histograms, truth-mass plot and summary PDF of the feature plotter."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.nn.plots import _pyplot, _save


def _weights(model) -> np.ndarray:
    return np.abs(np.concatenate([p.detach().cpu().numpy().ravel() for p in model.parameters()]))


def loss_curve(train_losses, val_losses, path: Path, title: str = "model loss",
               labels=("Train", "Validation")) -> Path:
    """Training and validation loss per epoch."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 8))
    epochs = np.arange(1, len(train_losses) + 1)
    ax.plot(epochs, train_losses, label=labels[0])
    ax.plot(epochs, val_losses, label=labels[1])
    ax.set_title(title, fontsize=14)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(loc="upper right")
    return _save(fig, path)


def weight_distribution(model, path: Path, log_bins: bool = True) -> Path:
    """|weight| of every parameter: log-spaced bins from 1e-12 to 1e3 (regression) or 100
    linear bins (classifier), log y axis."""
    plt = _pyplot()
    values = _weights(model)
    fig, ax = plt.subplots(figsize=(8, 8))
    if log_bins:
        ax.hist(np.clip(values, 1e-12, 1e3), bins=10 ** (np.arange(-24, 7) / 2.0),
                histtype="step", color="black")
        ax.set_xscale("log")
        ax.set_xlim(1e-12, 1e3)
    else:
        ax.hist(values, bins=100)
    ax.set_yscale("log")
    ax.set_xlabel("|weight|")
    ax.set_ylabel("weights")
    return _save(fig, path)


def _range(*arrays) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    low, high = np.percentile(values, [0.5, 99.5])
    span = high - low if high > low else max(abs(low), 1.0)
    return float(low - 0.05 * span), float(high + 0.05 * span)


def prediction_histogram(true: np.ndarray, pred: np.ndarray, path: Path, title: str,
                         bins: int = 100) -> Path:
    """Regressed mass (line) and true mass (points) in GeV, with a true/pred ratio panel."""
    plt = _pyplot()
    true = np.asarray(true, dtype=float)
    true = true[np.isfinite(true)]
    low, high = _range(true, pred)
    edges = np.linspace(low, high, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    n_pred, _ = np.histogram(pred, edges)
    n_true, _ = np.histogram(true, edges)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 10), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.stairs(n_pred, edges, color="black", lw=2, label=f"regressed ({len(pred)} jets)")
    if len(true):
        top.errorbar(centres, n_true, yerr=np.sqrt(n_true), fmt="o", color="black", ms=4,
                     label=f"true ({len(true)} jets)")
    top.set_ylabel("jets")
    top.set_title(title, fontsize=14)
    top.set_ylim(0, 1.3 * max(n_pred.max(initial=0), n_true.max(initial=0), 1))
    top.legend()
    ok = n_pred > 0
    ratio = np.where(ok, n_true / np.where(ok, n_pred, 1), np.nan)
    error = np.where(ok, np.sqrt(n_true) / np.where(ok, n_pred, 1), np.nan)
    if len(true):
        bottom.errorbar(centres, ratio, yerr=error, fmt="o", color="black", ms=4)
    bottom.axhline(1.0, color="black", lw=1)
    bottom.set_ylim(0.5, 1.5)
    bottom.set_xlabel("regressed mass [GeV]")
    bottom.set_ylabel("true / regressed")
    bottom.set_xlim(low, high)
    return _save(fig, path)


def prediction_scatter(true: np.ndarray, pred: np.ndarray, path: Path, title: str) -> Path:
    """Regressed against true mass (GeV), one point per jet, with the diagonal."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(true, pred, s=5, alpha=0.5)
    if len(true):
        low = float(min(np.min(true), np.min(pred)))
        high = float(max(np.max(true), np.max(pred)))
        ax.plot([low, high], [low, high], "k--", lw=2, label="perfect prediction")
        ax.legend()
    ax.set_xlabel("true mass [GeV]")
    ax.set_ylabel("regressed mass [GeV]")
    ax.set_title(title, fontsize=14)
    return _save(fig, path)


def residual_histogram(true: np.ndarray, pred: np.ndarray, path: Path, title: str) -> Path:
    """Regressed − true mass (GeV), 80 bins."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.hist(np.asarray(pred) - np.asarray(true), bins=80, edgecolor="black", lw=0.5, alpha=0.7)
    ax.axvline(0, color="red", ls="--", lw=2)
    ax.set_xlabel("regressed − true mass [GeV]")
    ax.set_ylabel("jets")
    ax.set_title(title, fontsize=14)
    return _save(fig, path)


def score_histograms(is_signal: np.ndarray, score: np.ndarray, path: Path) -> Path:
    """Classifier score of background and signal jets, normalised."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    edges = np.linspace(0, 1, 51)
    for mask, label in ((~is_signal, "background"), (is_signal, "signal")):
        if mask.any():
            ax.hist(score[mask], bins=edges, alpha=0.5, density=True,
                    label=f"{label} ({int(mask.sum())} jets)")
    ax.set_xlabel("classifier score")
    ax.set_ylabel("normalised jets")
    ax.legend()
    return _save(fig, path)


def significance(scan: dict, path: Path) -> Path:
    """S/√B against the score threshold, maximum marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(scan["thresholds"], scan["significance"])
    ax.scatter([scan["best_threshold"]], [scan["best_significance"]], color="red",
               label=f"best threshold {scan['best_threshold']:.2f}")
    ax.set_xlabel("score threshold")
    ax.set_ylabel("S/√B (jets)")
    ax.legend()
    return _save(fig, path)


def roc_curve(fpr: np.ndarray, tpr: np.ndarray, auc: float, path: Path, title: str) -> Path:
    """True-positive against false-positive rate, with the diagonal."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(fpr, tpr, label=f"AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], "k--")
    ax.set_xlabel("false positive rate (background efficiency)")
    ax.set_ylabel("true positive rate (signal efficiency)")
    ax.set_title(title, fontsize=14)
    ax.legend(loc="lower right")
    return _save(fig, path)


def output_overlay(background: np.ndarray, signals: dict[str, np.ndarray], edges: np.ndarray,
                   path: Path, density: bool, logy: bool) -> Path:
    """Regression output of background (solid black) and each signal class (dashed)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 7))
    if len(background):
        ax.hist(background, bins=edges, histtype="step", lw=2, color="black", density=density,
                label=f"background (n={len(background)})")
    for i, (label, values) in enumerate(signals.items()):
        if len(values):
            ax.hist(values, bins=edges, histtype="step", ls="--", lw=2, color=f"C{i % 10}",
                    density=density, label=f"{label} (n={len(values)})")
    ax.set_xlabel("regressed mass [GeV]")
    ax.set_ylabel("normalised jets" if density else "jets")
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=9)
    return _save(fig, path)


def class_breakdown(n_background: int, counts: dict[str, int], path: Path) -> Path:
    """Jets per class: background and each signal class (with its fraction of signal +
    background)."""
    plt = _pyplot()
    labels = ["background", *counts]
    values = [n_background, *counts.values()]
    fig, ax = plt.subplots(figsize=(max(8, 1.5 * len(labels)), 6))
    bars = ax.bar(np.arange(len(labels)), values, color=["#4c72b0"] + [
        f"C{i % 10}" for i in range(1, len(labels))], edgecolor="black")
    for i, (bar, value) in enumerate(zip(bars, values, strict=True)):
        text = f"{value:,}" if i == 0 else (
            f"{value:,}\n({value / max(value + n_background, 1):.2%})")
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), text, ha="center",
                va="bottom", fontsize=9)
    ax.set_xticks(np.arange(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel("jets")
    ax.set_title("Jet counts by class", fontsize=14)
    ax.set_ylim(0, 1.2 * max([*values, 1]))
    return _save(fig, path)


def signal_background_feature(background: np.ndarray, signals: dict[str, np.ndarray],
                              edges: np.ndarray, feature: str, path: Path) -> Path:
    """One feature: background filled, every signal class as a line, each normalised to 1."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 7))
    counts, _ = np.histogram(background, edges)
    if counts.sum():
        ax.stairs(counts / counts.sum(), edges, fill=True, alpha=0.5, color="#4c72b0",
                  label=f"background (n={len(background):,})")
    for i, (label, values) in enumerate(signals.items()):
        counts, _ = np.histogram(values, edges)
        if counts.sum():
            ax.stairs(counts / counts.sum(), edges, lw=2, color=f"C{(i + 1) % 10}",
                      label=f"{label} (n={len(values):,})")
    ax.set_xlabel(feature)
    ax.set_ylabel("normalised jets")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_title(f"{feature}: signal vs background", fontsize=14)
    ax.legend(fontsize=10)
    return _save(fig, path)


def truth_mass_by_class(masses: dict[str, np.ndarray], path: Path) -> Path:
    """Truth mass (GeV) of the jets of each signal class, 40 bins over its own range."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 7))
    for i, (label, values) in enumerate(masses.items()):
        values = values[np.isfinite(values)]
        if len(values) < 5:
            continue
        low, high = float(values.min()), float(values.max())
        if high <= low:
            width = max(abs(low) * 0.05, 0.1)
            low, high = max(0.0, low - width / 2), max(0.0, low - width / 2) + width
        counts, edges = np.histogram(values, np.linspace(low, high, 41))
        ax.stairs(counts, edges, lw=2, color=f"C{(i + 1) % 10}",
                  label=f"{label} (n={len(values):,})")
    ax.set_xlabel("truth mass [GeV]")
    ax.set_ylabel("jets")
    ax.set_title("Signal truth mass per class", fontsize=14)
    ax.legend()
    return _save(fig, path)


def summary_pdf(directory: Path, name: str = "feature_plots_summary.pdf") -> Path | None:
    """Every PNG of ``directory`` (sorted by name), one per page, in one PDF."""
    from matplotlib.backends.backend_pdf import PdfPages

    plt = _pyplot()
    pngs = sorted(p for p in Path(directory).iterdir() if p.suffix.lower() == ".png")
    if not pngs:
        return None
    path = Path(directory) / name
    with PdfPages(path) as pdf:
        for png in pngs:
            fig = plt.figure(figsize=(11, 8.5))
            ax = fig.add_subplot(111)
            ax.imshow(plt.imread(png))
            ax.axis("off")
            pdf.savefig(fig)
            plt.close(fig)
    return path
