"""Truth figures of the study: ``plot_truth`` (one sample), ``plot_truth_overlay`` (many), and
``compare_signal_bkg`` (leading-jet pT and mass, signal vs background).

Input: outputs of ``hzx run truth`` (one or several). Every dataset that has entries in a truth
histogram is drawn. Normalisation (``norm``):

- ``auto`` (default), as the study's scripts: a histogram filled by one sample only is drawn in
  entries (``plot_truth.py``); overlays of several samples and the signal-vs-background figures
  are normalised to unit sum (``compare_signal_bkg.py`` documents unit-area histograms;
  ``plot_truth_overlay.py`` draws entries — ``norm=entries`` reproduces it);
- ``unit``, ``entries``, or ``xsec`` (σ·L at ``lumi_fb``, every dataset needs ``xsec_pb``) for
  every figure.

Samples are labelled as in :mod:`hzx.plotting.conventions`; x ranges are clipped to the populated
bins (``xrange=full`` keeps the whole axis; η axes always are whole).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.plotting.compare import as_bool, outputs_list, save_figure, setup_matplotlib
from hzx.plotting.conventions import (
    STUDY_LUMI_FB,
    XRANGES,
    as_float,
    dataset_metadata,
    display_range,
    lumi_text,
    resolve_norm,
    sample_labels,
    scaled,
    simulation_text,
    sum_of_weights_read,
    xsec_scale,
    y_label,
)

TRUTH_HISTOGRAMS = ("z_mass", "etac_mass", "etac_pt", "etac_eta", "jpsi_mass", "jpsi_pt",
                    "jpsi_eta", "a_mass", "a_pt", "a_eta")
SIGNAL_BKG_HISTOGRAMS = ("leading_jet_pt", "leading_jet_mass")
#: histograms with one entry per event (the others count particles)
PER_EVENT = ("leading_jet_pt", "leading_jet_mass", "leading_muon_pt")


def _datasets(outputs: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for out in outputs:
        for name in [k for k in out if not str(k).startswith("_")]:
            found.append((str(name), out[name]))
    return found


def truth_series(output: Any, name: str, datasets: list[str] | None = None, *,
                 norm: str | None = "auto", lumi_fb: Any = None, xrange: str = "auto",
                 auto: str | None = None) -> dict[str, Any] | None:
    """What a truth figure of histogram ``name`` draws (pure), for the datasets (default: every
    one) that filled it: ``{"series": [{dataset, label, role, values, scale}], "edges",
    "xlabel", "ylabel", "xlim", "norm", "lumi_fb", "simulation"}``; None if none filled it.
    ``auto``: what ``norm=auto`` means here (default: entries for one sample, unit for several)."""
    if xrange not in XRANGES:
        raise ConfigurationError(f"xrange must be one of {', '.join(XRANGES)}, got {xrange!r}")
    outputs = outputs_list(output)
    filled = [(ds, acc) for ds, acc in _datasets(outputs)
              if name in acc and acc[name].sum() > 0 and (datasets is None or ds in datasets)]
    if not filled:
        return None
    meta_all = dataset_metadata(outputs)
    metas = {ds: meta_all.get(ds, {"_dataset": ds}) for ds, _ in filled}
    norm = resolve_norm(norm, metas.values(),
                        auto=auto or ("entries" if len(filled) == 1 else "unit"))
    lumi = STUDY_LUMI_FB if lumi_fb is None else as_float(lumi_fb, "lumi_fb")
    labels = sample_labels(metas)
    h0 = filled[0][1][name]
    edges = np.asarray(h0.axes[0].edges, dtype=float)
    series = []
    for ds, acc in filled:
        scale = None
        if norm == "xsec":
            scale = xsec_scale(metas[ds]["xsec_pb"], sum_of_weights_read(acc), lumi)
        series.append({"dataset": ds, "label": labels[ds], "role": metas[ds].get("role"),
                       "values": scaled(acc[name].values(), norm, scale), "scale": scale})
    if xrange == "full" or name.endswith("_eta"):
        xlim = (float(edges[0]), float(edges[-1]))
    else:
        xlim = display_range(edges, [s["values"] for s in series])
    counted = "Events" if name in PER_EVENT else "Particles"
    return {"series": series, "edges": edges, "xlabel": h0.axes[0].label, "norm": norm,
            "lumi_fb": lumi if norm == "xsec" else None, "xlim": xlim,
            "ylabel": y_label(norm, edges, h0.axes[0].label, counted=counted, lumi_fb=lumi),
            "simulation": simulation_text(metas.values())}


def _figure(plt: Any, spec: dict[str, Any], outdir: str | Path, stem: str,
            styles: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    fig, ax = plt.subplots(figsize=(9, 7))
    for s in spec["series"]:
        ax.stairs(s["values"], spec["edges"], label=s["label"], linewidth=2,
                  **(styles or {}).get(s["dataset"], {}))
    ax.set_xlabel(spec["xlabel"])
    ax.set_ylabel(spec["ylabel"])
    ax.set_xlim(*spec["xlim"])
    top = max(float(np.max(s["values"], initial=0.0)) for s in spec["series"])
    if top > 0:
        ax.set_ylim(0, top * 1.45)
    ax.set_title(spec["simulation"], loc="left", fontweight="bold", fontsize="medium")
    if spec["lumi_fb"] is not None:
        ax.set_title(lumi_text(spec["lumi_fb"]), loc="right", fontsize="medium")
    ax.legend(fontsize="small", loc="upper right", frameon=False)
    return save_figure(fig, outdir, stem)


def plot_output(output: Any, outdir: str | Path, *, density: Any = None,
                histograms: str | None = None, norm: str | None = "auto", lumi_fb: Any = None,
                xrange: str = "auto", **_: Any) -> list[Path]:
    """Truth figures of one or several outputs; returns the PNG and PDF paths.

    ``density=false`` (the former option) is ``norm=entries``."""
    plt = setup_matplotlib()
    if density is not None and not as_bool(density) and norm in (None, "auto"):
        norm = "entries"
    names = histograms.split(",") if histograms else list(TRUTH_HISTOGRAMS)
    paths: list[Path] = []
    for name in names:
        spec = truth_series(output, name, norm=norm, lumi_fb=lumi_fb, xrange=xrange)
        if spec is None:
            continue  # e.g. no J/ψ in an a sample: the study draws only what is present
        single = len(spec["series"]) == 1
        stem = f"truth_{spec['series'][0]['dataset']}_{name}" if single else f"truth_{name}"
        paths += _figure(plt, spec, outdir, stem)
    paths += compare_signal_background(output, outdir, plt, norm=norm, lumi_fb=lumi_fb,
                                       xrange=xrange)
    return paths


def compare_signal_background(output: Any, outdir: str | Path, plt: Any = None, *,
                              norm: str | None = "auto", lumi_fb: Any = None,
                              xrange: str = "auto") -> list[Path]:
    """Leading-jet pT and mass: each signal dataset (solid) vs each background (dashed),
    normalised to unit sum by default (``compare_signal_bkg.py``).

    Roles come from the fileset metadata (``role``); without any signal/background pair nothing
    is drawn.
    """
    outputs = outputs_list(output)
    metas = dataset_metadata(outputs)
    roles = {ds: m.get("role") for ds, m in metas.items()}
    if not ({"signal", "background"} <= set(roles.values())):
        return []
    plt = plt or setup_matplotlib()
    chosen = [ds for ds, role in roles.items() if role in ("signal", "background")]
    styles = {ds: {"linestyle": "-" if roles[ds] == "signal" else "--"} for ds in chosen}
    paths: list[Path] = []
    for name in SIGNAL_BKG_HISTOGRAMS:
        spec = truth_series(outputs, name, chosen, norm=norm, lumi_fb=lumi_fb, xrange=xrange,
                            auto="unit")
        if spec is None:
            continue
        paths += _figure(plt, spec, outdir, f"signal_vs_background_{name}", styles)
    return paths
