"""The full statistics study of the notebook (exercises 1–6) and its JSON report.

:func:`model_from_output` builds the (s_s, s_b) model and the data from a processor output;
:func:`run_study` runs the 1-D scans, the 2-D fit and grid, profiles, pre-/post-fit goodness of fit
and the coverage study; :func:`study_report` turns the result into the REPORT.json dictionary and
:func:`make_plots` draws every picture. The defaults reproduce the notebook's settings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.fitting.coverage import CoverageConfig, CoverageResult, coverage
from hzx.fitting.fits import (
    ProfileResult,
    Scan1DResult,
    Scan2DResult,
    profile,
    scan_1d,
    scan_2d,
)
from hzx.fitting.model import (
    BACKGROUND_PARAMETER,
    SIGNAL_PARAMETER,
    Template,
    TemplateModel,
    drop_empty_bins,
    histogram_arrays,
)
from hzx.fitting.statistics import check_statistic
from hzx.fitting.toys import GofConfig, GofResult, goodness_of_fit

ROLES = ("signal", "background", "data")


@dataclasses.dataclass(frozen=True)
class ScanConfig:
    """Scan ranges and points of the notebook (exercises 2–4).

    Attributes
    ----------
    s_s_range, s_b_range : tuple[float, float]
        1-D scans: s_s over 1.0–3.0 (s_b = 1), s_b over 1.15–1.4 (s_s = 1).
    points_1d : int
        Points of each 1-D scan (100).
    grid_s_s, grid_s_b : tuple[float, float]
        2-D grid ranges: s_s 0.1–2.7, s_b 1.1–1.5.
    grid_points : tuple[int, int]
        (s_s, s_b) points of the 2-D grid (100 × 100).
    """

    s_s_range: tuple[float, float] = (1.0, 3.0)
    s_b_range: tuple[float, float] = (1.15, 1.4)
    points_1d: int = 100
    grid_s_s: tuple[float, float] = (0.1, 2.7)
    grid_s_b: tuple[float, float] = (1.1, 1.5)
    grid_points: tuple[int, int] = (100, 100)


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Options of the full study; defaults reproduce the notebook (Pearson χ², its ranges).

    Attributes
    ----------
    statistic : str
        ``pearson`` (default), ``neyman`` or ``poisson``.
    neyman_empty : str
        Neyman rule for empty bins (``floor`` or ``skip``).
    mc_stat : bool
        Barlow–Beeston-lite MC statistical uncertainty (off, as in the notebook).
    scans : ScanConfig
    gof : GofConfig
    coverage : CoverageConfig
    coverage_truth : tuple[float, float] or None
        (s_s, s_b) the coverage toys are generated at; None: the 2-D best fit to the data.
    seed : int
        Master seed; the pre-fit, post-fit and coverage toys use independent streams from it.
    """

    statistic: str = "pearson"
    neyman_empty: str = "floor"
    mc_stat: bool = False
    scans: ScanConfig = dataclasses.field(default_factory=ScanConfig)
    gof: GofConfig = dataclasses.field(default_factory=GofConfig)
    coverage: CoverageConfig = dataclasses.field(default_factory=CoverageConfig)
    coverage_truth: tuple[float, float] | None = None
    seed: int = 20120704


@dataclasses.dataclass(frozen=True)
class StudyResult:
    """Everything the study computed (see :func:`study_report` for the JSON form)."""

    config: StudyConfig
    model: TemplateModel
    data: np.ndarray
    scans: dict[str, Scan1DResult]
    scan2d: Scan2DResult
    profiles: dict[str, ProfileResult]
    contour_extents: dict[str, dict[str, tuple[float, float]]]
    gof: dict[str, GofResult]
    coverage: CoverageResult


def _sum_histograms(output: Any, names: Sequence[str], histogram: str, role: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    values = variances = edges = None
    for name in names:
        entry = output[name]  # UnknownSampleError lists the datasets that exist
        if not isinstance(entry, dict) or histogram not in entry:
            available = [k for k, v in entry.items() if hasattr(v, "axes")] if isinstance(entry, dict) else []
            raise ConfigurationError(
                f"dataset {name!r} has no histogram {histogram!r}; it has: {', '.join(available) or '(none)'}"
            )
        v, var, e = histogram_arrays(entry[histogram])
        if values is None:
            values, variances, edges = v.copy(), (None if var is None else var.copy()), e
            continue
        if v.shape != values.shape or (e is not None and edges is not None and not np.allclose(e, edges)):
            raise ConfigurationError(
                f"mismatched binning: {role} dataset {name!r} histogram {histogram!r} differs from "
                f"{names[0]!r}"
            )
        values += v
        variances = None if (variances is None or var is None) else variances + var
    assert values is not None
    return values, variances, edges


def datasets_by_role(output: Any) -> dict[str, list[str]]:
    """Dataset names grouped by ``metadata["role"]``."""
    groups: dict[str, list[str]] = {role: [] for role in ROLES}
    for name in output.datasets if hasattr(output, "datasets") else output:
        role = (output[name].get("metadata") or {}).get("role") if isinstance(output[name], dict) else None
        if role in groups:
            groups[role].append(name)
    return groups


def select_datasets(output: Any, *, signal: Sequence[str] | None = None,
                    background: Sequence[str] | None = None,
                    data: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Datasets per role: the given lists, else those whose ``metadata["role"]`` is the role;
    a role without datasets is an error."""
    by_role = datasets_by_role(output)
    chosen = {
        "signal": list(signal) if signal else by_role["signal"],
        "background": list(background) if background else by_role["background"],
        "data": list(data) if data else by_role["data"],
    }
    for role, names in chosen.items():
        if not names:
            names_all = output.datasets if hasattr(output, "datasets") else output
            raise ConfigurationError(
                f"no {role} datasets: none has metadata role {role!r} and none was given "
                f"(--{role}); datasets: {', '.join(names_all)}"
            )
    return chosen


def model_from_output(
    output: Any,
    *,
    signal: Sequence[str] | None = None,
    background: Sequence[str] | None = None,
    data: Sequence[str] | None = None,
    histogram: str = "m4l",
    mc_stat: bool = False,
    drop_empty: bool = False,
) -> tuple[TemplateModel, np.ndarray, dict[str, list[str]]]:
    """The notebook's model and the observed counts from an :class:`~hzx.AnalysisOutput`.

    Dataset lists default to the datasets whose ``metadata["role"]`` is signal/background/data.
    With ``drop_empty`` the bins where all simulation is empty are removed (see
    :func:`~hzx.fitting.model.drop_empty_bins`). Returns (model, data counts, datasets per role).
    """
    chosen = select_datasets(output, signal=signal, background=background, data=data)
    sig = _sum_histograms(output, chosen["signal"], histogram, "signal")
    bkg = _sum_histograms(output, chosen["background"], histogram, "background")
    obs, _, obs_edges = _sum_histograms(output, chosen["data"], histogram, "data")
    model = TemplateModel(
        (
            Template("Higgs", sig[0], SIGNAL_PARAMETER, sig[1], sig[2]),
            Template("Backgrounds", bkg[0], BACKGROUND_PARAMETER, bkg[1], bkg[2]),
        ),
        mc_stat=mc_stat,
    )
    if obs.shape != (model.n_bins,) or (obs_edges is not None and not np.allclose(obs_edges, model.edges)):
        raise ConfigurationError("mismatched binning: data and simulation histograms differ")
    if drop_empty:
        model, obs, _ = drop_empty_bins(model, obs)
    return model, obs, chosen


def run_study(model: TemplateModel, data: Any, config: StudyConfig | None = None) -> StudyResult:
    """Exercises 1–6 on ``model`` (with parameters s_s and s_b) and ``data``."""
    config = config or StudyConfig()
    check_statistic(config.statistic, config.neyman_empty)
    missing = {SIGNAL_PARAMETER, BACKGROUND_PARAMETER} - set(model.free_parameters)
    if missing:
        raise ConfigurationError(
            f"the study needs free parameters s_s and s_b; missing {sorted(missing)}"
        )
    obs = model.check_data(data)
    st, rule = config.statistic, config.neyman_empty
    sc = config.scans
    scans = {
        SIGNAL_PARAMETER: scan_1d(model, obs, SIGNAL_PARAMETER, np.linspace(*sc.s_s_range, sc.points_1d), st, neyman_empty=rule),
        BACKGROUND_PARAMETER: scan_1d(model, obs, BACKGROUND_PARAMETER, np.linspace(*sc.s_b_range, sc.points_1d), st, neyman_empty=rule),
    }
    grid = scan_2d(
        model, obs,
        np.linspace(*sc.grid_s_s, sc.grid_points[0]),
        np.linspace(*sc.grid_s_b, sc.grid_points[1]),
        st, parameters=(SIGNAL_PARAMETER, BACKGROUND_PARAMETER), neyman_empty=rule,
    )
    two = model.with_free(SIGNAL_PARAMETER, BACKGROUND_PARAMETER)
    profiles = {
        name: profile(two, obs, name, values, st, neyman_empty=rule, best_fit=grid.fit)
        for name, values in ((SIGNAL_PARAMETER, grid.x), (BACKGROUND_PARAMETER, grid.y))
    }
    # the extent of the 2-D contour Δχ² = c along one axis is where that axis's profile reaches c
    contours = {
        f"{level:.2f}": {
            name: profile(two, obs, name, values[:2], st, neyman_empty=rule, level=level,
                          best_fit=grid.fit).interval
            for name, values in ((SIGNAL_PARAMETER, grid.x), (BACKGROUND_PARAMETER, grid.y))
        }
        for level in grid.levels
    }
    streams = np.random.SeedSequence(config.seed).spawn(3)
    gof = {
        stage: goodness_of_fit(
            two, obs, st, stage=stage, config=config.gof,
            seed=np.random.default_rng(stream), neyman_empty=rule,
        )
        for stage, stream in zip(("prefit", "postfit"), streams[:2], strict=True)
    }
    truth = config.coverage_truth or (grid.fit[SIGNAL_PARAMETER], grid.fit[BACKGROUND_PARAMETER])
    cov = coverage(
        two, {SIGNAL_PARAMETER: truth[0], BACKGROUND_PARAMETER: truth[1]}, st,
        config=config.coverage, seed=np.random.default_rng(streams[2]), neyman_empty=rule,
    )
    return StudyResult(config, model, obs, scans, grid, profiles, contours, gof, cov)


def study_report(result: StudyResult, *, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """REPORT.json content: statistic, ndf, 1-D intervals (exact crossings), 2-D fit, GoF, coverage."""
    fit2d = result.scan2d.fit
    report: dict[str, Any] = {
        "statistic": result.config.statistic,
        "ndf": fit2d.ndf,
        "n_bins": result.model.n_bins,
        "data_events": float(result.data.sum()),
        "expected_events": {t.name: float(t.values.sum()) for t in result.model.templates},
        SIGNAL_PARAMETER: result.scans[SIGNAL_PARAMETER].as_dict(),
        BACKGROUND_PARAMETER: result.scans[BACKGROUND_PARAMETER].as_dict(),
        "fit2d": {
            **fit2d.as_dict(),
            "grid_best": {SIGNAL_PARAMETER: result.scan2d.grid_best[0], BACKGROUND_PARAMETER: result.scan2d.grid_best[1]},
            "profiles": {k: v.as_dict() for k, v in result.profiles.items()},
            "contour_levels": list(result.scan2d.levels),
            "contour_extents": {
                level: {name: list(bounds) for name, bounds in extent.items()}
                for level, extent in result.contour_extents.items()
            },
        },
        "gof": {stage: g.as_dict() for stage, g in result.gof.items()},
        "coverage": result.coverage.as_dict(),
        "config": dataclasses.asdict(result.config),
    }
    if provenance is not None:
        report["provenance"] = provenance
    return _finite(report)


def _finite(value: Any) -> Any:
    """Replace NaN/inf by None so the JSON is standard."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report as indented JSON (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def make_plots(
    result: StudyResult, directory: str | Path, formats: tuple[str, ...] = ("png", "pdf"),
    *, labels: dict[str, Any] | None = None,
) -> list[Path]:
    """All pictures of the study into ``directory``, one file per picture and format.

    ``labels`` say what the stacks draw (``status``, ``data_label``, ``mc_label``,
    ``lumi_fb``): :func:`hzx.plotting.fourlep.describe_output` of the output fitted, when it
    is known; without them the stacks carry no experiment's name and no luminosity.
    """
    from hzx.fitting import plots

    paths: list[Path] = []
    for scan in result.scans.values():
        paths += plots.plot_scan_1d(scan, directory, formats=formats)
    paths += plots.plot_contour_2d(result.scan2d, directory, formats=formats)
    paths += plots.plot_surface_3d(result.scan2d, directory, formats=formats)
    paths += plots.plot_stack(result.model, result.data, result.model.initial_free, directory,
                              "prefit_stack", title="pre-fit", labels=labels, formats=formats)
    paths += plots.plot_stack(result.model, result.data, result.scan2d.fit.values, directory,
                              "postfit_stack", title="best fit", labels=labels, formats=formats)
    for g in result.gof.values():
        paths += plots.plot_gof(g, directory, formats=formats)
    paths += plots.plot_coverage(result.coverage, directory, formats=formats)
    return paths


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Readable terminal summary of a report."""
    def f(x: Any, fmt: str = ".3f") -> str:
        return "n/a" if x is None else format(x, fmt)

    lines = [f"statistic: {report['statistic']}   bins: {report['n_bins']}   ndf (2-D): {report['ndf']}"]
    for p in (SIGNAL_PARAMETER, BACKGROUND_PARAMETER):
        r = report[p]
        lines.append(
            f"{p} alone: best {f(r['best'])}  Δχ²=1 [{f(r['lo'])}, {f(r['hi'])}]  "
            f"(notebook parabola [{f(r['parabola_lo'])}, {f(r['parabola_hi'])}], grid best {f(r['grid_best'])})"
        )
        if r.get("grid_best_at_edge"):
            lines.append(f"  warning: the {p} grid minimum is at the scan's edge; widen the scan range")
    fit2d = report["fit2d"]
    lines.append(
        f"2-D fit: s_s = {f(fit2d['s_s'])} ± {f(fit2d['errors']['s_s'])}, s_b = {f(fit2d['s_b'])} ± "
        f"{f(fit2d['errors']['s_b'])}, χ²_min = {f(fit2d['chi2'], '.2f')}, correlation {f(fit2d['correlation'])}"
    )
    for stage, g in report["gof"].items():
        lines.append(
            f"GoF {stage}: χ² = {f(g['chi2'], '.2f')} / ndf {g['ndf']}   p(toys) = {f(g['p_toys'], '.4f')} ± "
            f"{f(g['p_toys_err'], '.4f')}   p(χ² pdf) = {f(g['p_asymptotic'], '.4f')}"
        )
    c = report["coverage"]
    lines.append(
        f"coverage: d(68.3%) = {f(c['d68'])} ± {f(c['d68_err'])} (asymptotic {f(c['d_asymptotic'], '.2f')}); "
        f"f(2.30) = {f(c['f_at_2.30'])} ± {f(c['f_at_2.30_err'])} from {c['n_toys']} toys"
    )
    return lines
