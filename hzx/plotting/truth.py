"""Truth figures of the study: ``plot_truth`` (one sample), ``plot_truth_overlay`` (many), and
``compare_signal_bkg`` (normalised leading-jet pT and mass, signal vs background).

Input: outputs of ``hzx run truth`` (one or several). Every dataset that has entries in a truth
histogram is drawn; with more than one dataset the curves are overlaid, normalised to unit area
(``density=false`` draws counts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hzx.plotting.compare import as_bool, outputs_list, save_figure, setup_matplotlib

TRUTH_HISTOGRAMS = ("z_mass", "etac_mass", "etac_pt", "etac_eta", "jpsi_mass", "jpsi_pt",
                    "jpsi_eta", "a_mass", "a_pt", "a_eta")
SIGNAL_BKG_HISTOGRAMS = ("leading_jet_pt", "leading_jet_mass")


def _datasets(outputs: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for out in outputs:
        for name in [k for k in out if not str(k).startswith("_")]:
            found.append((name, out[name]))
    return found


def _draw(ax: Any, h: Any, label: str, density: bool, **style: Any) -> None:
    values = np.asarray(h.values(), dtype=float)
    edges = h.axes[0].edges
    if density and values.sum() > 0:
        values = values / values.sum() / np.diff(edges)
    ax.stairs(values, edges, label=label, **style)


def plot_output(output: Any, outdir: str | Path, *, density: Any = True,
                histograms: str | None = None, **_: Any) -> list[Path]:
    """Truth figures of one or several outputs; returns the PNG and PDF paths."""
    plt = setup_matplotlib()
    density = as_bool(density)
    datasets = _datasets(outputs_list(output))
    names = histograms.split(",") if histograms else list(TRUTH_HISTOGRAMS)
    paths: list[Path] = []
    for name in names:
        filled = [(ds, acc[name]) for ds, acc in datasets if name in acc and acc[name].sum() > 0]
        if not filled:
            continue  # e.g. no J/ψ in an a sample: the study draws only what is present
        fig, ax = plt.subplots(figsize=(9, 7))
        for ds, h in filled:
            _draw(ax, h, ds, density and len(filled) > 1)
        ax.set_xlabel(filled[0][1].axes[0].label)
        ax.set_ylabel("normalised" if density and len(filled) > 1 else "particles")
        ax.legend(fontsize="small")
        stem = f"truth_{name}" if len(filled) > 1 else f"truth_{filled[0][0]}_{name}"
        paths += save_figure(fig, outdir, stem)
    paths += compare_signal_background(datasets, outdir, plt)
    return paths


def compare_signal_background(datasets: list[tuple[str, dict[str, Any]]], outdir: str | Path,
                              plt: Any = None) -> list[Path]:
    """Normalised leading-jet pT and mass: each signal dataset (solid) vs each background (dashed).

    Roles come from the fileset metadata (``role``); without any signal/background pair nothing
    is drawn.
    """
    plt = plt or setup_matplotlib()
    roles = {ds: (acc.get("metadata", {}) or {}).get("role") for ds, acc in datasets}
    if not ({"signal", "background"} <= set(roles.values())):
        return []
    paths: list[Path] = []
    for name in SIGNAL_BKG_HISTOGRAMS:
        fig, ax = plt.subplots(figsize=(9, 7))
        drew = False
        for ds, acc in datasets:
            if name not in acc or acc[name].sum() <= 0 or roles[ds] not in ("signal", "background"):
                continue
            _draw(ax, acc[name], f"{ds} ({roles[ds]})", True,
                  linestyle="-" if roles[ds] == "signal" else "--")
            drew = True
        if not drew:
            plt.close(fig)
            continue
        ax.set_xlabel(next(acc[name] for _, acc in datasets if name in acc).axes[0].label)
        ax.set_ylabel("normalised")
        ax.legend(fontsize="small")
        paths += save_figure(fig, outdir, f"signal_vs_background_{name}")
    return paths
