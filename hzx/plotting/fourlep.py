"""The notebook's stacked m4ℓ figure: backgrounds and Higgs stacked, data with Poisson errors."""

from __future__ import annotations

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
                                     f"{', '.join(k for k in acc if k not in ('metadata', 'cutflow'))}")
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
    import mplhep

    if status == "Open Data":
        mplhep.atlas.label(ax=ax, data=True, label="Open Data", lumi=lumi_fb, com=13, loc=0)
        return
    text = rf"$\bf{{{status.split(',')[0].replace(' ', '~')}}}$"
    rest = ", ".join(p.strip() for p in status.split(",")[1:])
    if rest:
        text += f" ({rest})"
    ax.text(0.03, 0.95, text, transform=ax.transAxes, va="top", fontsize=14)
    energy = r"$\sqrt{s}$ = 13 TeV" + (f", {lumi_fb:g} fb$^{{-1}}$" if lumi_fb else "")
    ax.text(0.03, 0.88, energy, transform=ax.transAxes, va="top", fontsize=12)


def stack_with_ratio(edges: np.ndarray, components: dict[str, np.ndarray],
                     data: np.ndarray | None, band: np.ndarray | None, outdir: str | Path,
                     name: str, *, data_label: str = "Data", status: str = "Open Data",
                     lumi_fb: float | None = None, band_label: str = "MC stat. unc.",
                     note: str | None = None, colours: dict[str, str] | None = None,
                     xlabel: str = r"$m_{4\ell}$ [GeV]", ymax: float | None = None,
                     formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """A data/simulation stack on m4ℓ with its uncertainty band (±``band`` events around the
    total) and a data/prediction ratio panel; returns the written paths."""
    import mplhep

    plt = setup("ATLAS")
    edges = np.asarray(edges, dtype=float)
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(8, 7.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
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
    ax.set_ylim(0, ymax if ymax else 1.45 * max(top, 1.0))
    ax.legend(loc="upper right", fontsize=11)
    experiment_label(ax, status, lumi_fb)
    if note:
        ax.text(0.03, 0.81, note, transform=ax.transAxes, va="top", fontsize=12)
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
    """m4ℓ per channel (4e, 2e2μ, 4μ), one panel each, same stacking as :func:`plot_m4l`."""
    import mplhep

    plt = setup("ATLAS")
    sums = sum_by_role(output, "m4l_channel")
    info = describe_output(output)
    channels = list(next(iter(sums.values())).axes["channel"])
    fig, axes = plt.subplots(1, len(channels), figsize=(6 * len(channels), 5), sharey=True)
    for ax, channel in zip(np.atleast_1d(axes), channels, strict=True):
        parts = [(sums[r][channel, :], lab, colour) for r, lab, colour in (
            ("background", "Backgrounds", COLOURS["background"]),
            ("signal", "Higgs", COLOURS["signal"])) if r in sums]
        if parts:
            mplhep.histplot([p for p, _, _ in parts], stack=True, histtype="fill",
                            label=[lab for _, lab, _ in parts], color=[c for _, _, c in parts],
                            ax=ax)
        if "data" in sums:
            d = sums["data"][channel, :]
            mplhep.histplot(d.values(), d.axes[0].edges, histtype="errorbar", yerr=True,
                            color="black", label=info["data_label"], ax=ax)
        edges = next(iter(sums.values())).axes["m4l"].edges
        ax.set_xlim(edges[0], edges[-1])
        ax.set_title(channel.replace("mu", r"$\mu$"))
        ax.set_xlabel(r"$m_{4\ell}$ [GeV]")
        ax.legend(fontsize=10)
    first = np.atleast_1d(axes)[0]
    widths = np.diff(edges)
    first.set_ylabel(f"Events / {widths[0]:g} GeV")
    experiment_label(first, info["status"], info["lumi_fb"])
    top = max(ax.get_ylim()[1] for ax in np.atleast_1d(axes))
    first.set_ylim(0, 1.3 * top)
    return save(fig, outdir, name)


def plot_output(output: Any, outdir: str | Path, **kwargs: Any) -> list[Path]:
    """All 4-lepton figures of an output: the stacked m4ℓ and the per-channel split."""
    lumi = kwargs.get("lumi_fb")
    ymax = kwargs.get("ymax")
    paths = plot_m4l(output, outdir, lumi_fb=float(lumi) if lumi else None,
                     ymax=float(ymax) if ymax else None)
    paths += plot_channels(output, outdir)
    return paths
