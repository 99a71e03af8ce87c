"""Coverage of Δχ² regions: Wilks for large counts, the deviation at the notebook's small counts."""

import numpy as np
import pytest

from hzx.fitting import (
    CoverageConfig,
    coverage,
    coverage_statistic,
    fit,
    generate_toys,
    notebook_model,
)

CENTRES = 0.5 * (np.linspace(80, 250, 35)[1:] + np.linspace(80, 250, 35)[:-1])
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01


@pytest.mark.parametrize("statistic", ["pearson", "poisson"])
def test_large_counts_coverage_is_wilks(statistic):
    model = notebook_model(SIG * 300, BKG * 300)
    cov = coverage(model, [1.0, 1.0], statistic, config=CoverageConfig(n_toys=6000), seed=3)
    assert cov.n_failed == 0
    f, err = cov.coverage_at(2.30)
    assert f == pytest.approx(0.683, abs=3 * err)
    assert cov.d_target == pytest.approx(2.30, abs=3 * cov.d_target_err)
    assert cov.d_asymptotic == pytest.approx(-2 * np.log(1 - cov.confidence), rel=1e-9)  # χ²(2) quantile
    # f(d) is the χ²(2) cdf 1 − exp(−d/2) within its binomial errors
    expected = 1 - np.exp(-cov.d_values / 2)
    assert np.all(np.abs(cov.f - expected) <= 4 * np.maximum(cov.f_err, 1e-3))


def test_small_counts_pearson_deviates_from_2_30():
    model = notebook_model(SIG, BKG)
    cov = coverage(model, [1.5, 1.3], config=CoverageConfig(n_toys=6000), seed=4)
    # Pearson χ² with a handful of events per bin: Δχ² ≤ 2.30 undercovers
    assert cov.d_target - 2.30 > 5 * cov.d_target_err
    f, err = cov.coverage_at(2.30)
    assert 0.683 - f > 5 * err
    same = coverage(model, [1.5, 1.3], config=CoverageConfig(n_toys=6000), seed=4)
    np.testing.assert_array_equal(same.q, cov.q)


def test_vectorised_coverage_statistic_matches_iminuit_refits():
    model = notebook_model(SIG, BKG)
    truth = np.array([1.5, 1.3])
    toys = generate_toys(model.expected(truth), 8, seed=9)
    q, ok = coverage_statistic(model, toys, truth)
    assert ok.all()
    for row in range(8):
        minuit = fit(model, toys[row], method="minuit")
        from hzx.fitting import chi2_at

        q_minuit = chi2_at(model, toys[row], truth)[0] - minuit.chi2
        assert q[row] == pytest.approx(q_minuit, abs=1e-6)
