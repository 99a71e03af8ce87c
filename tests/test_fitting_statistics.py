"""Test statistics: values by hand, empty-bin rules, ndf, Barlow–Beeston-lite, clear errors."""

import numpy as np
import pytest
from scipy import optimize

from hzx.errors import ConfigurationError
from hzx.fitting.statistics import (
    bins_used,
    chi2,
    degrees_of_freedom,
    poisson_nuisance,
)

OBS = np.array([4.0, 0.0, 9.0])
PRED = np.array([2.0, 1.0, 9.0])


def test_pearson_neyman_poisson_values_by_hand():
    assert chi2(OBS, PRED, "pearson") == pytest.approx((2**2) / 2 + 1 / 1 + 0)
    # Neyman: obs = 0 bin uses variance 1 ("floor")
    assert chi2(OBS, PRED, "neyman") == pytest.approx(4 / 4 + 1 / 1 + 0)
    assert chi2(OBS, PRED, "neyman", neyman_empty="skip") == pytest.approx(1.0)
    expected = 2 * ((2 - 4 + 4 * np.log(4 / 2)) + (1 - 0) + 0)
    assert chi2(OBS, PRED, "poisson") == pytest.approx(expected)


def test_statistics_agree_for_large_counts():
    rng = np.random.default_rng(3)
    pred = np.full(20, 1e6)
    obs = rng.poisson(pred).astype(float)
    values = [chi2(obs, pred, s) for s in ("pearson", "neyman", "poisson")]
    assert values[1] == pytest.approx(values[0], rel=2e-3)
    assert values[2] == pytest.approx(values[0], rel=2e-3)


def test_broadcasts_over_toys():
    toys = np.stack([OBS, PRED, OBS * 2])
    out = chi2(toys, PRED, "pearson")
    assert out.shape == (3,)
    assert out[1] == 0.0
    assert out[0] == pytest.approx(chi2(OBS, PRED))


def test_bins_used_and_ndf():
    assert bins_used(OBS, "pearson") == 3
    assert bins_used(OBS, "neyman", "skip") == 2
    assert list(bins_used(np.stack([OBS, PRED]), "neyman", "skip")) == [2, 3]
    assert degrees_of_freedom(34, 2) == 32
    with pytest.raises(ConfigurationError, match="ndf"):
        degrees_of_freedom(2, 2)


@pytest.mark.parametrize("statistic", ["pearson", "neyman", "poisson"])
def test_prediction_not_positive_is_an_error(statistic):
    with pytest.raises(ConfigurationError, match=r"prediction ≤ 0 in bin\(s\) 1"):
        chi2(OBS, np.array([1.0, 0.0, 2.0]), statistic)


def test_mismatched_empty_and_unknown_inputs():
    with pytest.raises(ConfigurationError, match="mismatched binning: 3 observed bins but 2"):
        chi2(OBS, PRED[:2])
    with pytest.raises(ConfigurationError, match="empty input"):
        chi2(np.array([]), np.array([]))
    with pytest.raises(ConfigurationError, match="unknown test statistic 'chi'"):
        chi2(OBS, PRED, "chi")
    with pytest.raises(ConfigurationError, match="Poisson likelihood ratio needs obs ≥ 0"):
        chi2(np.array([-1.0, 2.0, 3.0]), PRED, "poisson")


def test_mc_variance_adds_to_the_gaussian_variance():
    var = np.array([1.0, 0.5, 2.0])
    assert chi2(OBS, PRED, "pearson", mc_variance=var) == pytest.approx(4 / 3 + 1 / 1.5)
    assert chi2(OBS, PRED, "neyman", mc_variance=var) == pytest.approx(4 / 5 + 1 / 1.5)


def test_poisson_nuisance_is_the_profiled_minimum():
    obs, pred, var = np.array([7.0, 0.0, 30.0]), np.array([4.0, 2.0, 25.0]), np.array([1.0, 3.0, 4.0])
    gamma = poisson_nuisance(obs, pred, var)
    for n, p, v, g in zip(obs, pred, var, gamma, strict=True):
        sigma2 = v / p**2

        def nll(x, n=n, p=p, sigma2=sigma2):
            return 2 * (x * p - n * np.log(x * p) if n > 0 else x * p) + (x - 1) ** 2 / sigma2

        best = optimize.minimize_scalar(nll, bounds=(1e-9, 5), method="bounded", options={"xatol": 1e-10})
        assert g == pytest.approx(best.x, abs=1e-6)
    # the profiled statistic is below the unconstrained-template one (extra freedom)
    assert chi2(obs, pred, "poisson", mc_variance=var) < chi2(obs, pred, "poisson")
