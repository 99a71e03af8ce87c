"""Test statistics comparing observed bin counts with a prediction.

All functions take counts per bin (events) in the last axis and broadcast over any leading axes
(e.g. ``(n_toys, n_bins)``), so thousands of toys are evaluated in one call.

- **Pearson** (default): χ² = Σ (obs − pred)² / pred. The variance of a Poisson bin is its
  expectation; this is the statistic the notebook's toys use.
- **Neyman**: χ² = Σ (obs − pred)² / obs. Rule for bins with obs ≤ 0 (``neyman_empty``):
  ``"floor"`` (default) uses a variance of 1 event — the Poisson variance of a single count — so the
  bin still counts; ``"skip"`` drops the bin, which then does not count in ndf either.
- **Poisson** likelihood ratio (Baker–Cousins): χ²_λ = 2 Σ [pred − obs + obs · ln(obs / pred)],
  with obs · ln(obs / pred) = 0 for obs = 0. Needs obs ≥ 0 (not Gaussian toys, which can be negative).

With ``mc_variance`` (the variance of the prediction from the limited size of the simulated
templates, events²) the Barlow–Beeston-lite treatment is applied: for Pearson and Neyman the
per-bin variance becomes (pred or obs) + mc_variance — which is what profiling one Gaussian
nuisance per bin gives exactly; for Poisson one multiplicative nuisance γ_b per bin with a Gaussian
constraint of relative width √mc_variance / pred is profiled in closed form (positive root of
γ² + γ(pred σ² − 1) − obs σ² = 0, σ² = mc_variance / pred²).
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from hzx.errors import ConfigurationError

Statistic = Literal["pearson", "neyman", "poisson"]
NeymanEmptyRule = Literal["floor", "skip"]
STATISTICS: tuple[str, ...] = get_args(Statistic)
NEYMAN_EMPTY_RULES: tuple[str, ...] = get_args(NeymanEmptyRule)


def check_statistic(statistic: str, neyman_empty: str = "floor") -> None:
    """Raise :class:`ConfigurationError` for an unknown statistic or Neyman empty-bin rule."""
    if statistic not in STATISTICS:
        raise ConfigurationError(
            f"unknown test statistic {statistic!r}; choose one of {', '.join(STATISTICS)}"
        )
    if neyman_empty not in NEYMAN_EMPTY_RULES:
        raise ConfigurationError(
            f"unknown Neyman empty-bin rule {neyman_empty!r}; choose one of "
            f"{', '.join(NEYMAN_EMPTY_RULES)}"
        )


def _describe_bins(mask: np.ndarray, limit: int = 8) -> str:
    """Indices (along the bin axis) of the bins flagged in ``mask``, for error messages."""
    flagged = np.flatnonzero(np.any(mask.reshape(-1, mask.shape[-1]), axis=0))
    text = ", ".join(str(i) for i in flagged[:limit])
    return text + (f" … ({flagged.size} bins)" if flagged.size > limit else "")


def validate_inputs(
    obs: np.ndarray, pred: np.ndarray, statistic: str = "pearson", neyman_empty: str = "floor"
) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert ``obs`` and ``pred`` (events per bin) for a test statistic.

    Raises :class:`ConfigurationError` for empty inputs, mismatched numbers of bins, non-finite
    values, predictions ≤ 0 (the statistic is undefined there; it is never silently NaN) and
    negative observations with the Poisson statistic.
    """
    check_statistic(statistic, neyman_empty)
    obs = np.asarray(obs, dtype=float)
    pred = np.asarray(pred, dtype=float)
    if obs.ndim == 0 or pred.ndim == 0 or obs.shape[-1] == 0 or pred.shape[-1] == 0:
        raise ConfigurationError("empty input: observed and predicted counts need at least one bin")
    if obs.shape[-1] != pred.shape[-1]:
        raise ConfigurationError(
            f"mismatched binning: {obs.shape[-1]} observed bins but {pred.shape[-1]} predicted bins"
        )
    if not (np.all(np.isfinite(obs)) and np.all(np.isfinite(pred))):
        raise ConfigurationError("observed or predicted counts contain NaN or infinity")
    if np.any(pred <= 0):
        raise ConfigurationError(
            f"prediction ≤ 0 in bin(s) {_describe_bins(pred <= 0)}: the {statistic} statistic is "
            "undefined there; merge or drop those bins (hzx.fitting.drop_empty_bins, or "
            "drop_empty_bins=True in the fit), or give the templates a non-zero content"
        )
    if statistic == "poisson" and np.any(obs < 0):
        raise ConfigurationError(
            f"negative observed count in bin(s) {_describe_bins(obs < 0)}: the Poisson likelihood "
            "ratio needs obs ≥ 0 (use Poisson toys, or the pearson statistic with Gaussian toys)"
        )
    return obs, pred


def neyman_variance(obs: np.ndarray, neyman_empty: str = "floor") -> tuple[np.ndarray, np.ndarray]:
    """Neyman variance per bin and the mask of bins used (see the module docstring for the rule)."""
    obs = np.asarray(obs, dtype=float)
    if neyman_empty == "floor":
        return np.maximum(obs, 1.0), np.ones(obs.shape, dtype=bool)
    used = obs > 0
    return np.where(used, obs, 1.0), used


def poisson_nuisance(obs: np.ndarray, pred: np.ndarray, mc_variance: np.ndarray) -> np.ndarray:
    """Profiled Barlow–Beeston-lite factor γ per bin (1 where the template has no MC variance)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = np.where(mc_variance > 0, mc_variance / pred**2, 0.0)
        b = pred * sigma2 - 1.0
        gamma = 0.5 * (-b + np.sqrt(b * b + 4.0 * obs * sigma2))
    return np.where(mc_variance > 0, gamma, 1.0)


def chi2_terms(
    obs: np.ndarray,
    pred: np.ndarray,
    statistic: str = "pearson",
    *,
    mc_variance: np.ndarray | None = None,
    neyman_empty: str = "floor",
) -> np.ndarray:
    """Per-bin contributions to the statistic (no input checks; used inside the minimisers).

    Bins excluded by the Neyman ``"skip"`` rule contribute 0.
    """
    r = obs - pred
    if statistic == "pearson":
        denom = pred if mc_variance is None else pred + mc_variance
        return r * r / denom
    if statistic == "neyman":
        var, used = neyman_variance(obs, neyman_empty)
        if mc_variance is not None:
            var = var + mc_variance
        return np.where(used, r * r / var, 0.0)
    # Poisson likelihood ratio
    if mc_variance is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_term = np.where(obs > 0, obs * np.log(obs / pred), 0.0)
        return 2.0 * (pred - obs + log_term)
    gamma = poisson_nuisance(obs, pred, mc_variance)
    mu = gamma * pred
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(obs > 0, obs * np.log(obs / np.where(mu > 0, mu, 1.0)), 0.0)
        constraint = np.where(mc_variance > 0, (gamma - 1.0) ** 2 * pred**2 / mc_variance, 0.0)
    return 2.0 * (mu - obs + log_term) + constraint


def chi2(
    obs: np.ndarray,
    pred: np.ndarray,
    statistic: Statistic = "pearson",
    *,
    mc_variance: np.ndarray | None = None,
    neyman_empty: NeymanEmptyRule = "floor",
) -> np.ndarray | float:
    """The test statistic of ``obs`` against ``pred`` (both events per bin, last axis = bins).

    Returns a float for 1-D inputs and an array over the leading axes otherwise.
    """
    obs, pred = validate_inputs(obs, pred, statistic, neyman_empty)
    mcv = None if mc_variance is None else np.asarray(mc_variance, dtype=float)
    if mcv is not None and mcv.shape[-1] != pred.shape[-1]:
        raise ConfigurationError(
            f"mismatched binning: MC variance has {mcv.shape[-1]} bins, prediction {pred.shape[-1]}"
        )
    total = chi2_terms(obs, pred, statistic, mc_variance=mcv, neyman_empty=neyman_empty).sum(axis=-1)
    return float(total) if np.ndim(total) == 0 else total


def bins_used(
    obs: np.ndarray, statistic: Statistic = "pearson", neyman_empty: NeymanEmptyRule = "floor"
) -> np.ndarray | int:
    """Number of bins entering the statistic (all, except Neyman ``"skip"`` drops obs ≤ 0)."""
    check_statistic(statistic, neyman_empty)
    obs = np.asarray(obs, dtype=float)
    if statistic == "neyman" and neyman_empty == "skip":
        n = np.sum(obs > 0, axis=-1)
        return int(n) if np.ndim(n) == 0 else n
    return obs.shape[-1] if obs.ndim == 1 else np.full(obs.shape[:-1], obs.shape[-1])


def degrees_of_freedom(n_bins_used: int | np.ndarray, n_free_parameters: int) -> int | np.ndarray:
    """ndf = bins used − free parameters; raises if not positive (nothing left to test)."""
    ndf = np.asarray(n_bins_used) - int(n_free_parameters)
    if np.any(ndf <= 0):
        raise ConfigurationError(
            f"ndf = bins used − free parameters ≤ 0 ({n_bins_used} − {n_free_parameters}): "
            "the goodness of fit is undefined; use more bins or fewer free scale factors"
        )
    return int(ndf) if ndf.ndim == 0 else ndf
