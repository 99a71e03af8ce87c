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


def plot_m4l(output: Any, outdir: str | Path, *, lumi_fb: float = 10.0,
             ymax: float | None = None, name: str = "m4l_stack") -> list[Path]:
    """Stacked m4ℓ: background, Higgs (H125) and data with Poisson (Garwood) error bars."""
    import mplhep

    plt = setup("ATLAS")
    sums = sum_by_role(output, "m4l")
    fig, ax = plt.subplots(figsize=(8, 6))
    stack, labels = [], []
    if "background" in sums:
        stack.append(sums["background"])
        labels.append("Backgrounds")
    if "signal" in sums:
        stack.append(sums["signal"])
        labels.append(r"Higgs ($m_H$ = 125 GeV)")
    if stack:
        mplhep.histplot(stack, stack=True, histtype="fill", label=labels, ax=ax,
                        color=[COLOURS[r] for r in ("background", "signal") if r in sums])
    pseudo = is_pseudo_data(output)
    if "data" in sums:
        data = sums["data"]
        mplhep.histplot(data.values(), data.axes[0].edges, histtype="errorbar", yerr=True,
                        color="black", label="Pseudo-data" if pseudo else "Data", ax=ax)
    edges = next(iter(sums.values())).axes[0].edges
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(r"$m_{4\ell}$ [GeV]")
    ax.set_ylabel(f"Events / {edges[1] - edges[0]:g} GeV")
    tops = [np.max(h.values()) for h in sums.values()]
    ax.set_ylim(0, ymax if ymax else 1.35 * max([*tops, 1.0]))
    ax.legend(loc="upper right")
    # data=False makes mplhep write "Simulation" itself
    mplhep.atlas.label(ax=ax, data="data" in sums and not pseudo,
                       text="" if pseudo or "data" not in sums else "Open Data",
                       lumi=lumi_fb, com=13, loc=0)
    return save(fig, outdir, name)


def plot_channels(output: Any, outdir: str | Path, name: str = "m4l_channels") -> list[Path]:
    """m4ℓ per channel (4e, 2e2μ, 4μ), one panel each, same stacking as :func:`plot_m4l`."""
    import mplhep

    plt = setup("ATLAS")
    sums = sum_by_role(output, "m4l_channel")
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
                            color="black", label="Pseudo-data" if is_pseudo_data(output)
                            else "Data", ax=ax)
        edges = next(iter(sums.values())).axes["m4l"].edges
        ax.set_xlim(edges[0], edges[-1])
        ax.set_title(channel.replace("mu", r"$\mu$"))
        ax.set_xlabel(r"$m_{4\ell}$ [GeV]")
        ax.legend(fontsize=10)
    np.atleast_1d(axes)[0].set_ylabel("Events / 5 GeV")
    return save(fig, outdir, name)


def plot_output(output: Any, outdir: str | Path, **kwargs: Any) -> list[Path]:
    """All 4-lepton figures of an output: the stacked m4ℓ and the per-channel split."""
    lumi = float(kwargs.get("lumi_fb", 10.0))
    ymax = kwargs.get("ymax")
    paths = plot_m4l(output, outdir, lumi_fb=lumi, ymax=float(ymax) if ymax else None)
    paths += plot_channels(output, outdir)
    return paths
