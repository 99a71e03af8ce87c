"""Coverage of Δχ² regions (exercise 6).

Toys are generated at a known truth θ_true and each is refit in all free parameters. The region
{θ : χ²(θ) − χ²_min ≤ d} contains the truth exactly when q = χ²(θ_true) − χ²_min ≤ d, so no grid is
needed per toy: f(d) is the empirical distribution function of q. Its binomial uncertainty is
√(f(1 − f)/N). The critical value for 68.3 % is the 68.3 % quantile of q; its uncertainty comes
from the quantiles at 0.683 ± √(0.683·0.317/N) (the binomial band mapped through f). With large
counts q follows χ²(k) (Wilks), so d68 → 2.30 for two parameters.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from hzx.errors import ConfigurationError
from hzx.fitting.fits import chi2_at, fit_many
from hzx.fitting.model import TemplateModel
from hzx.fitting.toys import ToyKind, generate_toys

#: Probability content of ±1σ of a Gaussian, erf(1/√2).
ONE_SIGMA = math.erf(1 / math.sqrt(2))


@dataclasses.dataclass(frozen=True)
class CoverageConfig:
    """Coverage-study options (defaults: 10 000 Poisson toys, d from 0.1 to 8).

    Attributes
    ----------
    n_toys : int
    kind : str
        ``poisson`` or ``gaussian`` toys.
    d_values : tuple[float, ...]
        Critical values d at which f(d) is reported.
    confidence : float
        Target coverage for the quoted critical value (0.683).
    """

    n_toys: int = 10_000
    kind: ToyKind = "poisson"
    d_values: tuple[float, ...] = tuple(np.round(np.linspace(0.1, 8.0, 80), 4).tolist())
    confidence: float = ONE_SIGMA


@dataclasses.dataclass(frozen=True)
class CoverageResult:
    """f(d) with binomial errors, and the critical value at the target coverage.

    Attributes
    ----------
    truth : dict[str, float]
        True scale factors the toys were generated at.
    q : np.ndarray
        χ²(truth) − χ²_min per converged toy.
    d_values, f, f_err : np.ndarray
        Critical values, fraction of toys covering the truth, binomial error.
    d_target, d_target_err : float
        Critical value giving ``confidence`` coverage, with its uncertainty.
    d_asymptotic : float
        χ²(k) quantile at ``confidence`` (2.30 for k = 2).
    n_toys, n_failed : int
        Toys generated; toys whose refit did not converge (excluded).
    """

    truth: dict[str, float]
    q: np.ndarray
    d_values: np.ndarray
    f: np.ndarray
    f_err: np.ndarray
    confidence: float
    d_target: float
    d_target_err: float
    d_asymptotic: float
    n_toys: int
    n_failed: int
    kind: str

    def coverage_at(self, d: float) -> tuple[float, float]:
        """(f, binomial error) at critical value ``d``."""
        f = float(np.mean(self.q <= d))
        return f, float(np.sqrt(f * (1 - f) / self.q.size))

    def as_dict(self) -> dict[str, Any]:
        f230, e230 = self.coverage_at(2.30)
        return {
            "d68": self.d_target,
            "d68_err": self.d_target_err,
            "confidence": self.confidence,
            "d_asymptotic": self.d_asymptotic,
            "f_at_2.30": f230,
            "f_at_2.30_err": e230,
            "truth": self.truth,
            "n_toys": self.n_toys,
            "n_failed": self.n_failed,
            "kind": self.kind,
            "d": self.d_values.tolist(),
            "f": self.f.tolist(),
            "f_err": self.f_err.tolist(),
        }


def coverage_statistic(
    model: TemplateModel,
    toys: np.ndarray,
    truth: np.ndarray,
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
) -> tuple[np.ndarray, np.ndarray]:
    """q = χ²(truth) − χ²_min for every toy (all refits at once) and the converged mask."""
    batch = fit_many(model, toys, statistic, neyman_empty=neyman_empty, start=truth)
    at_truth = chi2_at(model, toys, truth, statistic, neyman_empty=neyman_empty)
    # the minimum can only lie below the truth's χ²; clip rounding (−1e-12) to 0
    return np.maximum(at_truth - batch.chi2, 0.0), batch.converged


def coverage(
    model: TemplateModel,
    truth: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
    statistic: str = "pearson",
    *,
    config: CoverageConfig = CoverageConfig(),
    seed: int | np.random.Generator | None = None,
    neyman_empty: str = "floor",
) -> CoverageResult:
    """Coverage f(d) of Δχ² ≤ d regions for toys drawn at ``truth`` (default: nominal values)."""
    if not 0 < config.confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {config.confidence}")
    theta = model.free_values(truth)
    expected = model.expected(theta)
    toys = generate_toys(expected, config.n_toys, seed=seed, kind=config.kind)
    q_all, ok = coverage_statistic(model, toys, theta, statistic, neyman_empty=neyman_empty)
    q = q_all[ok]
    if q.size == 0:
        raise ConfigurationError("no toy refit converged; check the model and the truth values")
    d = np.asarray(config.d_values, dtype=float)
    q_sorted = np.sort(q)
    f = np.searchsorted(q_sorted, d, side="right") / q.size
    f_err = np.sqrt(f * (1 - f) / q.size)
    band = np.sqrt(config.confidence * (1 - config.confidence) / q.size)
    d_target = float(np.quantile(q, config.confidence))
    d_lo, d_hi = np.quantile(q, [max(config.confidence - band, 0.0), min(config.confidence + band, 1.0)])
    return CoverageResult(
        truth=dict(zip(model.free_parameters, map(float, theta), strict=True)),
        q=q,
        d_values=d,
        f=f,
        f_err=f_err,
        confidence=config.confidence,
        d_target=d_target,
        d_target_err=float(0.5 * (d_hi - d_lo)),
        d_asymptotic=float(stats.chi2.ppf(config.confidence, model.n_free)),
        n_toys=config.n_toys,
        n_failed=int(np.sum(~ok)),
        kind=config.kind,
    )
