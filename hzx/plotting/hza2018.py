"""HZa2018 figures: each histogram of the selection per dataset (overlaid), and the cutflow.

Input: output(s) of ``hzx run hza2018``. Histograms are stacked by role (background stacked,
signal as lines) when roles are known, else overlaid; ``log=true`` for a log y axis. The cutflow
is written as a figure and as a plain-text table (``hza2018_cutflow.txt``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hzx.plotting.compare import as_bool, outputs_list, save_figure, setup_matplotlib

HISTOGRAMS = ("hist_muon_pt", "hist_electron_pt", "hist_z_mass", "hist_jet1pt", "hist_jet2pt",
              "hist_jet3pt", "hist_jet4pt", "hist_mllj", "hist_jet1mass")


def plot_output(output: Any, outdir: str | Path, *, log: Any = False, **_: Any) -> list[Path]:
    """Figures of one or several HZa2018 outputs; returns the written paths."""
    plt = setup_matplotlib()
    datasets = []
    for out in outputs_list(output):
        datasets += [(k, out[k]) for k in out if not str(k).startswith("_")]
    paths: list[Path] = []
    for name in HISTOGRAMS:
        present = [(ds, acc[name]) for ds, acc in datasets if name in acc]
        if not present:
            continue
        fig, ax = plt.subplots(figsize=(9, 7))
        background = [(ds, h) for ds, h in present
                      if (dict(datasets)[ds].get("metadata") or {}).get("role") == "background"]
        background_names = {ds for ds, _ in background}
        others = [(ds, h) for ds, h in present if ds not in background_names]
        edges = present[0][1].axes[0].edges
        if background:
            ax.hist([0.5 * (edges[1:] + edges[:-1])] * len(background), bins=edges,
                    weights=[h.values() for _, h in background], stacked=True,
                    label=[ds for ds, _ in background], histtype="stepfilled", alpha=0.6)
        for ds, h in others:
            ax.stairs(h.values(), edges, label=ds)
        if as_bool(log):
            ax.set_yscale("log")
        ax.set_xlabel(present[0][1].axes[0].label)
        ax.set_ylabel("events")
        ax.legend(fontsize="small")
        paths += save_figure(fig, outdir, f"hza2018_{name}")
    paths += _cutflow(datasets, outdir, plt)
    return paths


def cutflow_table(datasets: list[tuple[str, dict[str, Any]]]) -> str:
    """Plain-text cutflow: one row per cut, raw and weighted counts per dataset."""
    cuts: list[str] = []
    for _, acc in datasets:
        cuts += [c for c in acc.get("cutflow", {}) if c not in cuts]
    header = ["cut"] + [f"{ds} (raw / weighted)" for ds, _ in datasets]
    rows = [header]
    for cut in cuts:
        row = [cut]
        for _, acc in datasets:
            entry = acc.get("cutflow", {}).get(cut, {"raw": 0, "weighted": 0.0})
            row.append(f"{entry['raw']} / {entry['weighted']:.6g}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _cutflow(datasets: list[tuple[str, dict[str, Any]]], outdir: str | Path, plt: Any) -> list[Path]:
    if not datasets:
        return []
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    text_path = outdir / "hza2018_cutflow.txt"
    text_path.write_text(cutflow_table(datasets) + "\n")
    cuts = list(datasets[0][1].get("cutflow", {}))
    fig, ax = plt.subplots(figsize=(10, 7))
    x = np.arange(len(cuts))
    for ds, acc in datasets:
        raw = [acc["cutflow"].get(c, {"raw": 0})["raw"] for c in cuts]
        ax.step(x, raw, where="mid", label=ds)
    ax.set_xticks(x, cuts, rotation=40, ha="right", fontsize="small")
    ax.set_ylabel("events (raw)")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    return [text_path, *save_figure(fig, outdir, "hza2018_cutflow")]
