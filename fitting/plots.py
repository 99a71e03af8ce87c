"""Pictures of the fits (matplotlib + mplhep ATLAS style, the caller's backend; PNG and PDF).

Every function draws one figure, saves ``DIR/NAME.png`` and ``DIR/NAME.pdf`` (``formats``) and
returns the paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hzx.fitting.coverage import CoverageResult
from hzx.fitting.fits import Scan1DResult, Scan2DResult
from hzx.fitting.model import SIGNAL_PARAMETER, TemplateModel
from hzx.fitting.toys import GofResult


def _pyplot():
    # the backend is the caller's choice (the CLI selects Agg); library code never sets it
    from hzx.plotting.style import setup

    return setup("ATLAS")


def _math(name: str) -> str:
    """Mathtext of a parameter name: ``s_s`` → $s_s$, ``s_b`` → $s_b$."""
    return {"s_s": "$s_s$", "s_b": "$s_b$", "mu": r"$\mu$"}.get(name, name)


#: File formats written by default (one file per format and picture).
FORMATS: tuple[str, ...] = ("png", "pdf")


def _save(fig: Any, directory: str | Path, name: str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    from hzx.plotting.style import save  # the one figure writer of hzx

    return save(fig, directory, name, formats)


def plot_scan_1d(scan: Scan1DResult, directory: str | Path, name: str | None = None, *, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Δχ² curve with the notebook's parabola interval shaded and the exact crossings marked."""
    plt = _pyplot()
    fig, ax = plt.subplots()
    ax.plot(scan.grid, scan.delta_chi2, "k", lw=2, label=r"$\Delta\chi^2$ scan")
    lo, hi = scan.parabola_interval
    if np.isfinite(lo) and np.isfinite(hi):
        x = np.linspace(lo, hi, 200)
        ax.fill_between(x, np.polyval(scan.parabola, x), alpha=0.5, color="g",
                        label=f"parabola: [{lo:.3f}, {hi:.3f}]")
    for edge in scan.interval:
        if np.isfinite(edge):
            ax.axvline(edge, color="tab:red", ls="--", lw=1)
    ax.axhline(scan.level, color="grey", ls=":", lw=1)
    ax.plot([], [], color="tab:red", ls="--",
            label=f"exact: {scan.best:.3f} [{scan.interval[0]:.3f}, {scan.interval[1]:.3f}]")
    ax.set_xlabel(_math(scan.parameter))
    ax.set_ylabel(r"$\Delta\chi^2$")
    # ranged to show the interval: up to a few units above the Δχ² = 1 level
    ax.set_ylim(0, min(max(4.0, 4.0 * scan.level), float(np.nanmax(scan.delta_chi2)) * 1.05 + 1))
    ax.legend(fontsize=11)
    return _save(fig, directory, name or f"scan_{scan.parameter}", formats)


def plot_contour_2d(scan: Scan2DResult, directory: str | Path, name: str = "contour_2d", *, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Filled Δχ² map (notebook layout: s_b on x, s_s on y), the 2.30 and 5.99 lines, best fit."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    # the notebook draws chi2[s_s, s_b] with s_b horizontal: x ← y_parameter, y ← x_parameter
    filled = ax.contourf(scan.y, scan.x, scan.delta_chi2, levels=20, cmap="coolwarm")
    lines = ax.contour(scan.y, scan.x, scan.delta_chi2, levels=list(scan.levels),
                       colors=["white", "black"][: len(scan.levels)])
    ax.clabel(lines, inline=True, fontsize=10, fmt="%.2f")
    ax.scatter([scan.fit[scan.y_parameter]], [scan.fit[scan.x_parameter]], color="black",
               zorder=5, label="best fit")
    bar = fig.colorbar(filled)
    bar.set_label(r"$\Delta\chi^2$")
    ax.set_xlabel(_math(scan.y_parameter))
    ax.set_ylabel(_math(scan.x_parameter))
    ax.legend(loc="upper right", fontsize=11)
    return _save(fig, directory, name, formats)


def plot_surface_3d(scan: Scan2DResult, directory: str | Path, name: str = "surface_3d", *, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """The notebook's 3-D contour picture of Δχ²(s_b, s_s)."""
    plt = _pyplot()
    fig = plt.figure(figsize=(7, 6))
    ax = fig.add_subplot(projection="3d")
    yy, xx = np.meshgrid(scan.y, scan.x)
    ax.contour3D(yy, xx, scan.delta_chi2, 80, cmap="coolwarm")
    ax.set_xlabel(_math(scan.y_parameter))
    ax.set_ylabel(_math(scan.x_parameter))
    ax.set_zlabel(r"$\Delta\chi^2$")
    return _save(fig, directory, name, formats)


#: Labels of a fit's figures when the caller does not know what the output holds: no
#: experiment's name, no luminosity (see :func:`hzx.plotting.fourlep.describe_output`).
UNKNOWN_OUTPUT = {"status": "hzx fit", "data_label": "Data", "mc_label": "simulation",
                  "lumi_fb": None}


@dataclasses.dataclass(frozen=True)
class StackInputs:
    """What a fit's stack figure draws, on the model's full binning.

    Attributes
    ----------
    edges : np.ndarray
        Bin edges of the x axis (GeV for m4ℓ; 0, 1, … only for a model built from plain arrays).
    xlabel : str
        The x-axis label (the observable, or "bin" for plain arrays).
    components : dict
        Scaled template per name (events per bin; 0 in masked bins).
    data : np.ndarray
        Observed events per bin, those of dropped bins included.
    band : np.ndarray or None
        MC statistical uncertainty of the scaled total (events), None without variances.
    masked : np.ndarray
        Indices of the bins without simulation (dropped by ``drop_empty_bins``).
    """

    edges: np.ndarray
    xlabel: str
    components: dict[str, np.ndarray]
    data: np.ndarray
    band: np.ndarray | None
    masked: np.ndarray


def stack_inputs(model: TemplateModel, data: Any, values: Any = None, *,
                 xlabel: str = r"$m_{4\ell}$ [GeV]") -> StackInputs:
    """The stack of ``model`` at parameter ``values`` with ``data`` (the model's bins) on the
    full binning: bins left out by ``drop_empty_bins`` come back as masked bins with their
    data events, so the axis stays the observable's."""
    theta = dict(zip(model.free_parameters, model.free_values(values), strict=True))
    scale = {t.name: model.fixed.get(t.parameter, theta.get(t.parameter)) for t in model.templates}
    parts = model.components(values)
    # backgrounds at the bottom of the stack, the signal (s_s) on top
    order = sorted(model.templates, key=lambda t: t.parameter == SIGNAL_PARAMETER)
    components = {t.name: model.on_full_binning(parts[t.name]) for t in order}
    variances = [scale[t.name] ** 2 * t.variances for t in model.templates
                 if t.variances is not None]
    band = (model.on_full_binning(np.sqrt(np.sum(variances, axis=0)))
            if len(variances) == len(model.templates) else None)
    has_edges = (model.dropped is not None and model.dropped.edges is not None) or any(
        t.edges is not None for t in model.templates)
    masked = model.dropped.indices if model.dropped is not None else np.array([], dtype=int)
    return StackInputs(edges=np.asarray(model.full_edges, dtype=float),
                       xlabel=xlabel if has_edges else "bin", components=components,
                       data=model.full_data(data), band=band, masked=np.asarray(masked, int))


def plot_stack(
    model: TemplateModel,
    data: np.ndarray,
    values: Any,
    directory: str | Path,
    name: str = "postfit_stack",
    *,
    title: str = "post-fit",
    labels: Mapping[str, Any] | None = None,
    xlabel: str = r"$m_{4\ell}$ [GeV]",
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """The data/simulation stack of the scaled templates (the one hzx stack,
    :func:`hzx.plotting.fourlep.stack_with_ratio`): ratio panel, MC-stat band, data with
    Poisson error bars, on the full m4ℓ axis with the bins without simulation marked.

    ``labels`` (``status``, ``data_label``, ``mc_label``, ``lumi_fb``) say what is drawn, as
    :func:`hzx.plotting.fourlep.describe_output` gives them; unknown: :data:`UNKNOWN_OUTPUT`.
    ``title`` and the parameter values are written under the experiment label."""
    from hzx.plotting.fourlep import stack_with_ratio

    info = {**UNKNOWN_OUTPUT, **(labels or {})}
    stack = stack_inputs(model, data, values, xlabel=xlabel)
    theta = dict(zip(model.free_parameters, model.free_values(values), strict=True))
    note = f"{title}: " + ", ".join(f"{_math(p)} = {v:.2f}" for p, v in theta.items())
    return stack_with_ratio(stack.edges, stack.components, stack.data, stack.band, directory,
                            name, data_label=info["data_label"], status=info["status"],
                            lumi_fb=info["lumi_fb"],
                            band_label=f"{info['mc_label']}: stat. unc.", note=note,
                            masked=stack.masked, xlabel=stack.xlabel, formats=formats)


def plot_gof(gof: GofResult, directory: str | Path, name: str | None = None, *, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Toys' χ² histogram (density) with the χ²(ndf) pdf and the data's value."""
    from scipy import stats

    plt = _pyplot()
    fig, ax = plt.subplots()
    top = max(float(np.quantile(gof.toys_chi2, 0.999)), gof.chi2) * 1.1
    bins = np.linspace(0.0, top, 60)
    ax.hist(gof.toys_chi2, bins=bins, density=True, histtype="stepfilled", alpha=0.5,
            label=f"{gof.n_toys} {gof.kind} toys")
    x = np.linspace(1e-6, top, 400)
    ax.plot(x, stats.chi2.pdf(x, gof.toys_ndf), "r-", lw=3, alpha=0.6,
            label=rf"$\chi^2$ pdf (ndf = {gof.toys_ndf})")
    ax.axvline(gof.chi2, color="goldenrod", lw=2,
               label=f"data $\\chi^2$ = {gof.chi2:.1f}\np(toys) = {gof.p_toys:.3g}, "
                     f"p($\\chi^2$) = {gof.p_asymptotic:.3g}")
    ax.set_xlabel(r"$\chi^2$")
    ax.set_ylabel("probability density")
    ax.set_title(gof.stage, fontsize=12)
    ax.legend(fontsize=10)
    return _save(fig, directory, name or f"gof_{gof.stage}", formats)


def plot_coverage(cov: CoverageResult, directory: str | Path, name: str = "coverage", *, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """f(d) with binomial error band, the target coverage and the asymptotic critical value."""
    plt = _pyplot()
    fig, ax = plt.subplots()
    ax.fill_between(cov.d_values, cov.f - cov.f_err, cov.f + cov.f_err, color="tab:blue", alpha=0.3)
    ax.plot(cov.d_values, cov.f, color="tab:blue", label=f"toys ({cov.n_toys - cov.n_failed})")
    from scipy import stats

    k = len(cov.truth)
    ax.plot(cov.d_values, stats.chi2.cdf(cov.d_values, k), color="tab:red", lw=1,
            label=rf"$\chi^2$ cdf, {k} dof (Wilks)")
    ax.axhline(cov.confidence, color="grey", ls=":")
    ax.axvline(cov.d_asymptotic, color="tab:red", ls="--", label=rf"$\chi^2$ quantile {cov.d_asymptotic:.2f}")
    ax.axvline(cov.d_target, color="black", ls="-",
               label=f"d(68.3%) = {cov.d_target:.2f} ± {cov.d_target_err:.2f}")
    ax.set_xlabel("critical value d")
    ax.set_ylabel("coverage f(d)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=11, loc="lower right")
    return _save(fig, directory, name, formats)
