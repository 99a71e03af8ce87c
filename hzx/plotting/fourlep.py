"""The notebook's stacked m4ℓ figure: backgrounds and Higgs stacked, data with Poisson errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.plotting.style import save, setup

#: fill colours of the stacked components
COLOURS = {"background": "#6baed6", "signal": "#fb6a4a"}


def sum_by_role(output: Any, histogram: str = "m4l") -> dict[str, Any]:
    """Sum a histogram over the datasets of each role: ``{"signal": H, "background": H, "data": H}``.

    Roles without datasets are absent. Histograms with different binnings are an error.
    """
    sums: dict[str, Any] = {}
    for dataset in output.datasets:
        acc = output[dataset]
        if histogram not in acc:
            raise ConfigurationError(f"dataset {dataset!r} has no histogram {histogram!r}; it has "
                                     f"{', '.join(k for k in acc if k not in ('metadata', 'cutflow')) or '(none)'}")
        role = acc.get("metadata", {}).get("role", "background")
        h = acc[histogram]
        if role in sums and sums[role].axes != h.axes:
            raise ConfigurationError(f"dataset {dataset!r}: binning of {histogram!r} differs from "
                                     f"the other {role} datasets")
        sums[role] = h.copy() if role not in sums else sums[role] + h
    return sums


def is_pseudo_data(output: Any) -> bool:
    """True when the output's data are pseudo-data drawn from simulation (``hzx demo``)."""
    return any(output[d].get("metadata", {}).get("pseudo_data") for d in output.datasets
               if output[d].get("metadata", {}).get("role") == "data")


def describe_output(output: Any) -> dict[str, Any]:
    """What the output's figures must say: ``status`` (``Open Data`` for real data with the
    release's simulation, ``hzx simulation`` whenever hzx-generated events are drawn), the data
    label, the simulation label and the luminosity (fb⁻¹) the simulation is normalised to."""
    from hzx.samples.catalogue import LUMI_FB, PERIOD_LUMI_FB

    pseudo = is_pseudo_data(output)
    metas = {d: output[d].get("metadata", {}) for d in output.datasets}
    generated = any(m.get("generator") == "hzx-pythia8" or m.get("hzx_generated")
                    for d, m in metas.items() if m.get("role") != "data")
    data_sets = [d for d, m in metas.items() if m.get("role") == "data"]
    lumi = next((m["lumi_fb"] for m in metas.values() if m.get("lumi_fb")), None)
    if lumi is None and data_sets and all(d in PERIOD_LUMI_FB for d in data_sets):
        lumi = sum(PERIOD_LUMI_FB[d] for d in data_sets)
    if pseudo:
        status, data_label = "hzx simulation", "Pseudo-data (hzx simulation)"
    elif generated:
        status, data_label = "Open Data, hzx simulation", "Data"
    else:
        status, data_label = "Open Data", "Data"
    return {"status": status, "data_label": data_label,
            "mc_label": "hzx simulation" if generated else "ATLAS simulation",
            "lumi_fb": float(lumi if lumi is not None else LUMI_FB), "pseudo_data": pseudo,
            "real_data": bool(data_sets) and not pseudo, "hzx_generated": generated}


def experiment_label(ax: Any, status: str, lumi_fb: float | None) -> None:
    """Top-left label: "ATLAS Open Data" only for real data with the release's simulation;
    otherwise the words of ``status`` (e.g. "hzx simulation"), never the ATLAS name."""
    import inspect

    import mplhep

    if status == "Open Data":
        # mplhep 1.x takes the words after "ATLAS" as ``text`` (``label`` is deprecated there)
        # and older releases as ``label``
        key = "text" if "text" in inspect.signature(mplhep.atlas.label).parameters else "label"
        mplhep.atlas.label(ax=ax, data=True, lumi=lumi_fb, com=13, loc=0, **{key: "Open Data"})
        return
    text = rf"$\bf{{{status.split(',')[0].replace(' ', '~')}}}$"
    rest = ", ".join(p.strip() for p in status.split(",")[1:])
    if rest:
        text += f" ({rest})"
    ax.text(0.03, 0.95, text, transform=ax.transAxes, va="top", fontsize=14)
    energy = r"$\sqrt{s}$ = 13 TeV" + (f", {lumi_fb:g} fb$^{{-1}}$" if lumi_fb else "")
    ax.text(0.03, 0.88, energy, transform=ax.transAxes, va="top", fontsize=12)


def draw_stack(ax: Any, rax: Any, edges: np.ndarray, components: dict[str, np.ndarray],
               data: np.ndarray | None, band: np.ndarray | None, *, data_label: str = "Data",
               band_label: str = "MC stat. unc.", colours: dict[str, str] | None = None,
               masked: np.ndarray | Sequence[int] | None = None,
               masked_label: str = "no simulation", xlabel: str = r"$m_{4\ell}$ [GeV]",
               legend: bool = True) -> float:
    """The one data/simulation stack of hzx, drawn into a main panel ``ax`` and a ratio panel
    ``rax`` (sharing x): the stacked ``components`` (events per bin on ``edges``), the
    uncertainty band (±``band`` events around the total, hatched; relative, grey, in the
    ratio), the data with Garwood error bars and data/prediction. ``masked`` bin indices have
    no prediction (e.g. dropped by ``drop_empty_bins``): shaded and labelled ``masked_label``,
    their data still drawn. Returns the highest point drawn (events), for the y range."""
    import mplhep

    edges = np.asarray(edges, dtype=float)
    names = list(components)
    values = [np.asarray(components[n], dtype=float) for n in names]
    palette = colours or {}
    default = ["#6baed6", "#9ecae1", "#fdae6b", "#74c476", "#bcbddc"]
    cols = [palette.get(n, COLOURS["signal"] if n.startswith("Higgs") else
                        default[i % len(default)]) for i, n in enumerate(names)]
    if values:
        mplhep.histplot(values, edges, stack=True, histtype="fill", label=names, color=cols,
                        ax=ax)
    total = np.sum(values, axis=0) if values else np.zeros(len(edges) - 1)
    if band is not None:
        band = np.asarray(band, dtype=float)
        ax.stairs(total + band, edges, baseline=total - band, fill=True, color="none",
                  hatch="////", edgecolor="grey", lw=0, label=band_label)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(total > 0, band / total, 0.0)
        rax.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color="lightgrey",
                   label=band_label)
    for k, index in enumerate(np.asarray(masked if masked is not None else [], dtype=int)):
        for panel in (ax, rax):
            panel.axvspan(edges[index], edges[index + 1], facecolor="#e0e0e0",
                          edgecolor="#909090", hatch="xx", lw=0, zorder=0,
                          label=masked_label if (k == 0 and panel is ax) else None)
    centres = 0.5 * (edges[1:] + edges[:-1])
    top = float(np.max(total + (band if band is not None else 0.0), initial=0.0))
    if data is not None:
        data = np.asarray(data, dtype=float)
        lo, hi = _garwood(data)
        ax.errorbar(centres, data, yerr=[lo, hi], fmt="ko", ms=5, label=data_label)
        top = max(top, float(np.max(data + hi, initial=0.0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = total > 0
            ratio = np.where(ok, data / total, np.nan)
            rax.errorbar(centres[ok], ratio[ok], yerr=[lo[ok] / total[ok], hi[ok] / total[ok]],
                         fmt="ko", ms=4)
    rax.axhline(1.0, color="black", lw=1, ls="--")
    rax.set_ylim(0, 2.5)
    rax.set_ylabel("Data / Pred." if data is not None else "Rel. unc.")
    rax.set_xlabel(xlabel)
    ax.set_xlim(edges[0], edges[-1])
    widths = np.diff(edges)
    ax.set_ylabel(f"Events / {widths[0]:g} GeV" if np.allclose(widths, widths[0]) else "Events")
    if legend:
        ax.legend(loc="upper right", fontsize=11)
    return top


def stack_figure(edges: np.ndarray, components: dict[str, np.ndarray],
                 data: np.ndarray | None, band: np.ndarray | None, *, data_label: str = "Data",
                 status: str = "Open Data", lumi_fb: float | None = None,
                 band_label: str = "MC stat. unc.", note: str | None = None,
                 colours: dict[str, str] | None = None,
                 masked: np.ndarray | Sequence[int] | None = None,
                 masked_label: str = "no simulation", xlabel: str = r"$m_{4\ell}$ [GeV]",
                 ymax: float | None = None) -> Any:
    """:func:`draw_stack` on a new figure (main and ratio panel) with the experiment label;
    returns the figure (its axes: main, ratio) unsaved."""
    plt = setup("ATLAS")
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(8, 7.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    top = draw_stack(ax, rax, edges, components, data, band, data_label=data_label,
                     band_label=band_label, colours=colours, masked=masked,
                     masked_label=masked_label, xlabel=xlabel)
    ax.set_ylim(0, ymax if ymax else 1.45 * max(top, 1.0))
    experiment_label(ax, status, lumi_fb)
    if note:
        ax.text(0.03, 0.81, note, transform=ax.transAxes, va="top", fontsize=12)
    return fig


def stack_with_ratio(edges: np.ndarray, components: dict[str, np.ndarray],
                     data: np.ndarray | None, band: np.ndarray | None, outdir: str | Path,
                     name: str, *, formats: tuple[str, ...] = ("png", "pdf"),
                     **options: Any) -> list[Path]:
    """A data/simulation stack on m4ℓ with its uncertainty band and a data/prediction ratio
    panel (:func:`stack_figure`, ``options`` as there), saved; returns the written paths."""
    fig = stack_figure(edges, components, data, band, **options)
    return save(fig, outdir, name, formats)


def _garwood(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper 68 % Poisson (Garwood) error bars of integer-like counts."""
    from scipy import stats

    n = np.asarray(counts, dtype=float)
    lower = np.where(n > 0, stats.chi2.ppf(0.15865, 2 * n) / 2, 0.0)
    upper = stats.chi2.ppf(0.84135, 2 * (n + 1)) / 2
    return n - lower, upper - n


def plot_m4l(output: Any, outdir: str | Path, *, lumi_fb: float | None = None,
             ymax: float | None = None, name: str = "m4l_stack") -> list[Path]:
    """Stacked m4ℓ: backgrounds, Higgs (H125) and data with Poisson (Garwood) error bars, the
    simulation's statistical uncertainty band and a data/simulation ratio panel."""
    info = describe_output(output)
    sums = sum_by_role(output, "m4l")
    components: dict[str, np.ndarray] = {}
    variance = None
    for role, label in (("background", "Backgrounds"), ("signal", r"Higgs ($m_H$ = 125 GeV)")):
        if role in sums:
            components[label] = sums[role].values()
            v = sums[role].variances()
            if v is not None:
                variance = v if variance is None else variance + v
    edges = next(iter(sums.values())).axes[0].edges
    data = sums["data"].values() if "data" in sums else None
    band = np.sqrt(variance) if variance is not None else None
    paths = stack_with_ratio(edges, components, data, band, outdir, name,
                             data_label=info["data_label"], status=info["status"],
                             lumi_fb=lumi_fb or info["lumi_fb"],
                             band_label=f"{info['mc_label']}: stat. unc.",
                             colours={"Backgrounds": COLOURS["background"],
                                      r"Higgs ($m_H$ = 125 GeV)": COLOURS["signal"]},
                             ymax=ymax)
    return paths


def plot_channels(output: Any, outdir: str | Path, name: str = "m4l_channels") -> list[Path]:
    """m4ℓ per channel (4e, 2e2μ, 4μ), one column each, the same stack, band and ratio
    panel as :func:`plot_m4l` (:func:`draw_stack`)."""
    plt = setup("ATLAS")
    sums = sum_by_role(output, "m4l_channel")
    info = describe_output(output)
    channels = list(next(iter(sums.values())).axes["channel"])
    fig, axes = plt.subplots(2, len(channels), figsize=(6 * len(channels), 6.5), sharex="col",
                             sharey="row", squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    tops = []
    for column, channel in enumerate(channels):
        ax, rax = axes[0, column], axes[1, column]
        components: dict[str, np.ndarray] = {}
        variance = None
        for role, label in (("background", "Backgrounds"), ("signal", "Higgs")):
            if role in sums:
                h = sums[role][channel, :]
                components[label] = h.values()
                v = h.variances()
                if v is not None:
                    variance = v if variance is None else variance + v
        edges = next(iter(sums.values())).axes["m4l"].edges
        data = sums["data"][channel, :].values() if "data" in sums else None
        tops.append(draw_stack(ax, rax, edges, components, data,
                               None if variance is None else np.sqrt(variance),
                               data_label=info["data_label"],
                               band_label=f"{info['mc_label']}: stat. unc.",
                               colours={"Backgrounds": COLOURS["background"],
                                        "Higgs": COLOURS["signal"]}, legend=column == 0))
        # inside the panel, below the experiment label (the room above holds the luminosity)
        ax.text(0.04, 0.80, channel.replace("mu", r"$\mu$"),
                transform=ax.transAxes, va="top", fontsize=16, fontweight="bold")
        if column:
            ax.set_ylabel("")
            rax.set_ylabel("")
    first = axes[0, 0]
    first.set_ylim(0, 1.45 * max(max(tops), 1.0))
    experiment_label(first, info["status"], info["lumi_fb"])
    return save(fig, outdir, name)


def plot_output(output: Any, outdir: str | Path, **kwargs: Any) -> list[Path]:
    """All 4-lepton figures of an output: the stacked m4ℓ and the per-channel split."""
    lumi = kwargs.get("lumi_fb")
    ymax = kwargs.get("ymax")
    paths = plot_m4l(output, outdir, lumi_fb=float(lumi) if lumi else None,
                     ymax=float(ymax) if ymax else None)
    paths += plot_channels(output, outdir)
    return paths
