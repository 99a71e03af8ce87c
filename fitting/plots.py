"""Pictures of the fits (matplotlib + mplhep ATLAS style, Agg backend; PNG and PDF).

Every function draws one figure, saves ``DIR/NAME.png`` and ``DIR/NAME.pdf`` (``formats``) and
returns the paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hzx.fitting.coverage import CoverageResult
from hzx.fitting.fits import Scan1DResult, Scan2DResult
from hzx.fitting.model import TemplateModel
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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.{fmt}" for fmt in formats]
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def plot_scan_1d(scan: Scan1DResult, directory: str | Path, name: str | None = None, *, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Δχ² curve with the notebook's parabola interval shaded and the exact crossings marked."""
    plt = _pyplot()
    fig, ax = plt.subplots()
    ax.plot(scan.grid, scan.delta_chi2, "k", lw=2, label="Δχ² scan")
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
    bar.set_label("Δχ²")
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
    ax.set_xlabel(scan.y_parameter)
    ax.set_ylabel(scan.x_parameter)
    ax.set_zlabel("Δχ²")
    return _save(fig, directory, name, formats)


def plot_stack(
    model: TemplateModel,
    data: np.ndarray,
    values: Any,
    directory: str | Path,
    name: str = "postfit_stack",
    *,
    title: str = "post-fit",
    xlabel: str = "$m_{4\\ell}$ [GeV]",
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Stacked scaled templates with the data as points (√N error bars)."""
    plt = _pyplot()
    import mplhep

    fig, ax = plt.subplots()
    parts = model.components(values)
    labels = [f"{label} ({title})" for label in parts]
    mplhep.histplot(list(parts.values()), bins=model.edges, stack=True, histtype="fill",
                    label=labels, ax=ax)
    mplhep.histplot(np.asarray(data, dtype=float), bins=model.edges, yerr=True, histtype="errorbar",
                    color="black", label="data", ax=ax)
    has_edges = any(t.edges is not None for t in model.templates)
    # without edges (e.g. after drop_empty_bins) the axis is a bin index, not the observable
    ax.set_xlabel(xlabel if has_edges else "bin index (bins without simulation dropped)")
    ax.set_ylabel("events")
    ax.legend(fontsize=10)
    return _save(fig, directory, name, formats)


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
            label=f"χ² pdf (ndf = {gof.toys_ndf})")
    ax.axvline(gof.chi2, color="goldenrod", lw=2,
               label=f"data χ² = {gof.chi2:.1f}\np(toys) = {gof.p_toys:.3g}, p(χ²) = {gof.p_asymptotic:.3g}")
    ax.set_xlabel("χ²")
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
            label=f"χ² cdf, {k} dof (Wilks)")
    ax.axhline(cov.confidence, color="grey", ls=":")
    ax.axvline(cov.d_asymptotic, color="tab:red", ls="--", label=f"χ² quantile {cov.d_asymptotic:.2f}")
    ax.axvline(cov.d_target, color="black", ls="-",
               label=f"d(68.3%) = {cov.d_target:.2f} ± {cov.d_target_err:.2f}")
    ax.set_xlabel("critical value d")
    ax.set_ylabel("coverage f(d)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=11, loc="lower right")
    return _save(fig, directory, name, formats)
