"""Fits: Asimov closure, Fisher widths, notebook parabola vs exact crossings, iminuit cross-checks."""

import numpy as np
import pytest

from hzx.fitting import (
    chi2_at,
    fit,
    fit_many,
    notebook_model,
    profile,
    scan_1d,
    scan_2d,
)

CENTRES = 0.5 * (np.linspace(80, 250, 35)[1:] + np.linspace(80, 250, 35)[:-1])
# notebook-like m4l templates: Z → 4l peak plus a falling continuum, and a narrow H(125) peak
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01


@pytest.mark.parametrize("statistic", ["pearson", "neyman", "poisson"])
def test_asimov_closure(statistic):
    model = notebook_model(SIG, BKG)
    asimov = model.expected([1.7, 1.25])
    result = fit(model, asimov, statistic)
    assert result.converged
    np.testing.assert_allclose(result.values, [1.7, 1.25], atol=1e-6)
    assert result.chi2 == pytest.approx(0.0, abs=1e-9)
    assert result.ndf == 32


@pytest.mark.parametrize("statistic", ["pearson", "neyman", "poisson"])
def test_newton_agrees_with_iminuit(statistic):
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(7).poisson(model.expected([1.5, 1.3])).astype(float)
    ours = fit(model, data, statistic)
    minuit = fit(model, data, statistic, method="minuit")
    assert minuit.converged
    np.testing.assert_allclose(ours.values, minuit.values, atol=2e-5)
    assert ours.chi2 == pytest.approx(minuit.chi2, abs=1e-8)
    np.testing.assert_allclose(ours.errors, minuit.errors, rtol=2e-3)
    assert ours.chi2 <= minuit.chi2 + 1e-10  # never worse than MIGRAD


def test_large_counts_intervals_match_fisher_widths():
    model = notebook_model(SIG * 1000, BKG * 1000)
    asimov = model.expected([1.0, 1.0])
    # Fisher information of a Poisson bin: (∂pred/∂θ)² / pred
    fisher = np.array([[np.sum(a * b / asimov) for b in (SIG * 1000, BKG * 1000)] for a in (SIG * 1000, BKG * 1000)])
    for name, index in (("s_s", 0), ("s_b", 1)):
        scan = scan_1d(model, asimov, name, np.linspace(0.9, 1.1, 101))
        width = 1 / np.sqrt(fisher[index, index])  # the other parameter fixed, as in the notebook
        assert scan.best == pytest.approx(1.0, abs=1e-6)
        assert 1 - scan.interval[0] == pytest.approx(width, rel=0.01)
        assert scan.interval[1] - 1 == pytest.approx(width, rel=0.01)
    result = fit(model, asimov)
    np.testing.assert_allclose(result.covariance, np.linalg.inv(fisher), rtol=0.01)


def test_neyman_is_quadratic_so_parabola_equals_exact_crossings():
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(1).poisson(model.expected([1.5, 1.3])).astype(float)
    scan = scan_1d(model, data, "s_s", np.linspace(0.0, 2.0, 100), "neyman")
    a, b, _ = scan.parabola
    assert -b / (2 * a) == pytest.approx(scan.best, abs=1e-8)  # vertex = exact minimiser
    assert scan.interval[1] - scan.best == pytest.approx(1 / np.sqrt(a), rel=1e-8)
    assert scan.best - scan.interval[0] == pytest.approx(1 / np.sqrt(a), rel=1e-8)
    # the notebook's roots are relative to the grid minimum: off by less than a grid step
    np.testing.assert_allclose(scan.parabola_interval, scan.interval, atol=2.0 / 99)
    # a grid that misses the minimum is flagged, and its parabola roots are then biased
    edge = scan_1d(model, data, "s_s", np.linspace(1.0, 3.0, 100), "neyman")
    assert edge.grid_best == 1.0 and edge.as_dict()["grid_best_at_edge"]
    assert not scan.as_dict()["grid_best_at_edge"]
    # profile of the 2-D quadratic: Δχ² = 1 crossings at best ± √cov
    best = fit(model, data, "neyman")
    prof = profile(model, data, "s_s", np.linspace(0.5, 2.5, 21), "neyman", best_fit=best)
    np.testing.assert_allclose(np.array(prof.interval) - best["s_s"], [-best.errors[0], best.errors[0]], rtol=1e-6)


def test_pearson_scan_reports_notebook_quantities():
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(1).poisson(model.expected([1.5, 1.3])).astype(float)
    grid = np.linspace(1.3, 1.6, 100)
    scan = scan_1d(model, data, "s_b", grid)
    # grid best fit is the grid point next to the exact minimiser
    assert abs(scan.grid_best - scan.best) <= 0.3 / 99 / 2 + 1e-12
    assert scan.delta_chi2.min() == 0.0
    # exact crossings lie at χ²_min + 1 of the continuous curve
    at = chi2_at(model.only_free("s_b"), data, np.array(scan.interval)[:, None])
    np.testing.assert_allclose(at, scan.chi2_min + 1, atol=1e-8)
    assert scan.interval[0] < scan.best < scan.interval[1]


def test_scan_2d_and_batched_fits():
    model = notebook_model(SIG, BKG)
    rng = np.random.default_rng(2)
    data = rng.poisson(model.expected([1.5, 1.3])).astype(float)
    grid = scan_2d(model, data, np.linspace(0.1, 2.7, 100), np.linspace(1.1, 1.5, 100))
    assert grid.chi2.shape == (100, 100)
    assert grid.delta_chi2.min() >= -1e-12
    assert abs(grid.grid_best[0] - grid.fit["s_s"]) <= 2.6 / 99
    assert abs(grid.grid_best[1] - grid.fit["s_b"]) <= 0.4 / 99
    assert -1 < grid.fit.correlation[0, 1] < 0  # signal and background compete for the same events
    toys = rng.poisson(model.expected([1.5, 1.3]), size=(20, 34)).astype(float)
    batch = fit_many(model, toys)
    assert batch.converged.all()
    for row in (0, 7, 19):
        single = fit(model, toys[row], method="minuit")
        np.testing.assert_allclose(batch.values[row], single.values, atol=2e-5)


def test_mc_stat_widens_errors_and_matches_minuit():
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(4).poisson(model.expected([1.5, 1.3])).astype(float)
    from hzx.fitting import Template, TemplateModel

    with_mc = TemplateModel(
        (Template("sig", SIG, "s_s", SIG * 0.3), Template("bkg", BKG, "s_b", BKG * 0.2)), mc_stat=True
    )
    for statistic in ("pearson", "neyman", "poisson"):
        ours = fit(with_mc, data, statistic)
        minuit = fit(with_mc, data, statistic, method="minuit")
        np.testing.assert_allclose(ours.values, minuit.values, atol=5e-5)
        assert ours.chi2 == pytest.approx(minuit.chi2, abs=1e-7)
        plain = fit(model, data, statistic)
        assert np.all(ours.errors > plain.errors)
        # profile with per-value MC variance: crossings near best ± Hessian error
        prof = profile(with_mc, data, "s_b", np.linspace(1.0, 1.6, 7), statistic, best_fit=ours)
        widths = np.array([ours["s_b"] - prof.interval[0], prof.interval[1] - ours["s_b"]])
        np.testing.assert_allclose(widths, ours.errors[1], rtol=0.15)
