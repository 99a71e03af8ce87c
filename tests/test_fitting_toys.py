"""Toys and goodness of fit: reproducibility, distributions, p-values from toys vs χ² pdf."""

import numpy as np
import pytest

from hzx.errors import ConfigurationError
from hzx.fitting import GofConfig, generate_toys, goodness_of_fit, notebook_model

CENTRES = 0.5 * (np.linspace(80, 250, 35)[1:] + np.linspace(80, 250, 35)[:-1])
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01


def test_toys_reproducible_from_seed():
    mean = np.array([0.5, 5.0, 50.0])
    a = generate_toys(mean, 1000, seed=42)
    b = generate_toys(mean, 1000, seed=42)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, generate_toys(mean, 1000, seed=43))
    assert a.shape == (1000, 3) and np.all(a == np.round(a))
    g = generate_toys(mean, 200_000, seed=1, kind="gaussian")
    assert np.all(np.abs(g.mean(axis=0) - mean) < 5 * np.sqrt(mean / 200_000))
    np.testing.assert_allclose(g.var(axis=0), mean, rtol=0.02)
    assert np.any(g[:, 0] < 0)  # the notebook's Gaussian toys can be negative in small bins


def test_toy_errors():
    with pytest.raises(ConfigurationError, match="unknown toy kind"):
        generate_toys(np.ones(3), 10, kind="uniform")
    with pytest.raises(ConfigurationError, match="expected counts > 0"):
        generate_toys(np.array([1.0, 0.0]), 10)
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(0).poisson(model.expected()).astype(float)
    with pytest.raises(ConfigurationError, match="Poisson likelihood ratio needs obs ≥ 0"):
        goodness_of_fit(model, data, "poisson", config=GofConfig(200, kind="gaussian"), seed=1)


@pytest.mark.parametrize("stage", ["prefit", "postfit"])
def test_large_counts_p_values_agree(stage):
    model = notebook_model(SIG * 200, BKG * 200)
    data = np.random.default_rng(11).poisson(model.expected([1.02, 0.99])).astype(float)
    gof = goodness_of_fit(model, data, stage=stage, config=GofConfig(n_toys=4000), seed=5)
    assert gof.ndf == (34 if stage == "prefit" else 32)
    # toys follow χ²(ndf): mean ndf, variance 2 ndf
    assert gof.toys_chi2.mean() == pytest.approx(gof.toys_ndf, abs=4 * np.sqrt(2 * gof.toys_ndf / 4000))
    assert gof.p_toys == pytest.approx(gof.p_asymptotic, abs=3 * gof.p_toys_err + 0.01)
    again = goodness_of_fit(model, data, stage=stage, config=GofConfig(n_toys=4000), seed=5)
    assert again.p_toys == gof.p_toys


def test_notebook_counts_postfit_refit_matters():
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(3).poisson(model.expected([1.5, 1.3])).astype(float)
    refit = goodness_of_fit(model, data, config=GofConfig(n_toys=3000), seed=2)
    literal = goodness_of_fit(model, data, config=GofConfig(n_toys=3000, refit_toys=False), seed=2)
    assert refit.chi2 == literal.chi2
    # refitting each toy lowers its χ² (by ≈ 2 fitted parameters for large counts, more here)
    assert literal.toys_chi2.mean() - refit.toys_chi2.mean() > 1.5
    assert np.all(refit.toys_chi2 <= literal.toys_chi2 + 1e-9)  # the refit minimum is never above
    assert refit.p_toys < literal.p_toys


def test_notebook_gaussian_toys_without_refit_follow_chi2_of_all_bins():
    """The notebook's literal procedure: Gaussian toys (σ = √pred) against the fixed fitted model."""
    model = notebook_model(SIG * 100, BKG * 100)
    data = np.random.default_rng(12).poisson(model.expected()).astype(float)
    config = GofConfig(n_toys=4000, kind="gaussian", refit_toys=False)
    gof = goodness_of_fit(model, data, config=config, seed=3)
    assert gof.toys_ndf == 34 and gof.ndf == 32 and not gof.refit_toys
    # Pearson χ² of Gaussian toys with variance = pred is exactly χ²(34)-distributed
    assert gof.toys_chi2.mean() == pytest.approx(34, abs=4 * np.sqrt(2 * 34 / 4000))
    assert gof.toys_chi2.var() == pytest.approx(68, rel=0.1)
