"""Pseudo-experiments (toys) and goodness of fit (exercise 5).

Toys are drawn for all experiments at once from :class:`numpy.random.Generator` seeded by the
caller, so a seed reproduces them exactly. ``kind="poisson"`` (default) draws Poisson counts;
``kind="gaussian"`` is the notebook's choice, Normal(mean = pred, σ = √pred) per bin (counts may be
non-integer or negative).

Goodness of fit: the data's statistic against the model is compared with the distribution of the
toys' statistic (p-value from toys: fraction of toys with χ² ≥ χ²_data) and with the χ² pdf
(asymptotic p-value). Pre-fit: the nominal model, nothing fitted, ndf = bins. Post-fit: the
best-fit model; by default each toy is refit exactly as the data were (``refit_toys=True``), and
ndf = bins − free parameters. ``refit_toys=False`` is the notebook's literal procedure (toys
compared with the fixed fitted model), whose distribution has ndf = bins.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
from scipy import stats

from hzx.errors import ConfigurationError
from hzx.fitting.fits import chi2_at, fit, fit_many
from hzx.fitting.model import TemplateModel
from hzx.fitting.statistics import bins_used, validate_inputs

ToyKind = Literal["poisson", "gaussian"]


def generate_toys(
    expected: np.ndarray,
    n_toys: int,
    *,
    seed: int | np.random.Generator | None = None,
    kind: ToyKind = "poisson",
) -> np.ndarray:
    """Toy counts, shape (n_toys, n_bins), around ``expected`` events per bin.

    ``seed`` may be an int (reproducible) or a Generator (continue a stream).
    """
    expected = np.asarray(expected, dtype=float)
    if n_toys < 1:
        raise ConfigurationError(f"number of toys must be ≥ 1, got {n_toys}")
    if expected.ndim != 1 or expected.size == 0:
        raise ConfigurationError("toys need a non-empty 1-D array of expected counts")
    if np.any(expected <= 0):
        raise ConfigurationError("toys need expected counts > 0 in every bin")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if kind == "poisson":
        return rng.poisson(expected, size=(n_toys, expected.size)).astype(float)
    if kind == "gaussian":
        return rng.normal(expected, np.sqrt(expected), size=(n_toys, expected.size))
    raise ConfigurationError(f"unknown toy kind {kind!r}; choose poisson or gaussian")


@dataclasses.dataclass(frozen=True)
class GofConfig:
    """Goodness-of-fit options; the defaults follow the notebook's 10 000 toys.

    Attributes
    ----------
    n_toys : int
    kind : str
        ``poisson`` (default, honest) or ``gaussian`` (the notebook's toys).
    refit_toys : bool
        Post-fit: refit each toy like the data (default). False: the notebook's procedure.
    """

    n_toys: int = 10_000
    kind: ToyKind = "poisson"
    refit_toys: bool = True


@dataclasses.dataclass(frozen=True)
class GofResult:
    """p-values of the data from toys and from the χ² distribution.

    Attributes
    ----------
    stage : str
        ``prefit`` or ``postfit``.
    chi2 : float
        The data's statistic against the model.
    ndf : int
        Degrees of freedom of the data's statistic (asymptotic p-value uses this).
    toys_ndf : int
        Degrees of freedom expected for the toys' distribution.
    p_toys : float
        Fraction of toys with χ² ≥ the data's; ``p_toys_err`` its binomial uncertainty.
    p_asymptotic : float
        Survival function of χ²(ndf) at the data's value.
    toys_chi2 : np.ndarray
        Statistic of every toy (for the histogram).
    expected : np.ndarray
        Model the toys were drawn from (events per bin).
    """

    stage: str
    chi2: float
    ndf: int
    toys_ndf: int
    p_toys: float
    p_toys_err: float
    p_asymptotic: float
    toys_chi2: np.ndarray
    expected: np.ndarray
    n_toys: int
    kind: str
    refit_toys: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "chi2": self.chi2,
            "ndf": self.ndf,
            "toys_ndf": self.toys_ndf,
            "p_toys": self.p_toys,
            "p_toys_err": self.p_toys_err,
            "p_asymptotic": self.p_asymptotic,
            "n_toys": self.n_toys,
            "kind": self.kind,
            "refit_toys": self.refit_toys,
            "toys_chi2_mean": float(np.mean(self.toys_chi2)),
        }


def _p_from_toys(toys_chi2: np.ndarray, value: float) -> tuple[float, float]:
    n = toys_chi2.size
    p = float(np.mean(toys_chi2 >= value))
    return p, float(np.sqrt(max(p * (1 - p), 1.0 / n) / n))


def goodness_of_fit(
    model: TemplateModel,
    data: Any,
    statistic: str = "pearson",
    *,
    stage: Literal["prefit", "postfit"] = "postfit",
    config: GofConfig = GofConfig(),
    seed: int | np.random.Generator | None = None,
    neyman_empty: str = "floor",
) -> GofResult:
    """Goodness of fit of ``model`` to ``data`` before (``prefit``) or after (``postfit``) fitting."""
    obs = model.check_data(data)
    n_bins = int(bins_used(obs, statistic, neyman_empty))
    if stage == "prefit":
        values = model.initial_free
        n_fitted = 0
    elif stage == "postfit":
        result = fit(model, obs, statistic, neyman_empty=neyman_empty)
        values = result.values
        n_fitted = model.n_free
    else:
        raise ConfigurationError(f"unknown goodness-of-fit stage {stage!r}; choose prefit or postfit")
    expected = model.expected(values)
    validate_inputs(obs, expected, statistic, neyman_empty)
    chi2_data = float(chi2_at(model, obs, values, statistic, neyman_empty=neyman_empty)[0])
    toys = generate_toys(expected, config.n_toys, seed=seed, kind=config.kind)
    refit = stage == "postfit" and config.refit_toys
    if refit:
        batch = fit_many(model, toys, statistic, neyman_empty=neyman_empty, start=values)
        toys_chi2 = batch.chi2
        toys_ndf = n_bins - model.n_free
    else:
        toys_chi2 = chi2_at(model, toys, values, statistic, neyman_empty=neyman_empty)
        toys_ndf = n_bins
    ndf = n_bins - n_fitted
    p_toys, p_err = _p_from_toys(toys_chi2, chi2_data)
    return GofResult(
        stage=stage,
        chi2=chi2_data,
        ndf=ndf,
        toys_ndf=toys_ndf,
        p_toys=p_toys,
        p_toys_err=p_err,
        p_asymptotic=float(stats.chi2.sf(chi2_data, ndf)),
        toys_chi2=toys_chi2,
        expected=expected,
        n_toys=config.n_toys,
        kind=config.kind,
        refit_toys=refit,
    )
