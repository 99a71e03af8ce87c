"""Fits of the scale factors: best fit, 1-D scans, 2-D grid scans, profiles.

- :func:`fit` — best fit of all free parameters (vectorised Newton, or iminuit with
  ``method="minuit"``), with the covariance 2·H⁻¹ (H: Hessian of χ²) and correlations.
- :func:`fit_many` — the same for many observations (toys) at once.
- :func:`scan_1d` — the notebook's exercises 2 and 3: χ² over a grid of one parameter with the
  others held at their nominal values; grid best fit, the parabola roots at Δχ² = 1 as in the
  notebook, and the exact Δχ² = 1 crossings of the curve itself.
- :func:`scan_2d` — exercise 4: χ² on a grid of two parameters, best fit from the minimiser.
- :func:`profile` — χ² minimised over the other free parameters as a function of one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.fitting.minimize import Objective, newton_minimize
from hzx.fitting.model import TemplateModel
from hzx.fitting.statistics import (
    bins_used,
    check_statistic,
    degrees_of_freedom,
    validate_inputs,
)

#: Δχ² of the 68.3 % and 95 % regions for two parameters (χ² quantiles with 2 dof).
CONTOUR_LEVELS_2D: tuple[float, float] = (2.30, 5.99)


def objective_for(
    model: TemplateModel,
    obs: np.ndarray,
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
    offset: np.ndarray | None = None,
    mc_offset: np.ndarray | None = None,
) -> Objective:
    """The statistic of ``obs`` ((n_bins,) or (R, n_bins)) as a function of the free parameters."""
    check_statistic(statistic, neyman_empty)
    obs = np.atleast_2d(np.asarray(obs, dtype=float))
    if obs.shape[-1] != model.n_bins:
        raise ConfigurationError(
            f"mismatched binning: data has {obs.shape[-1]} bins, the model {model.n_bins}"
        )
    if statistic == "poisson" and np.any(obs < 0):
        raise ConfigurationError(
            "negative observed counts: the Poisson likelihood ratio needs obs ≥ 0 "
            "(use Poisson toys, or the pearson statistic with Gaussian toys)"
        )
    base = model.fixed_prediction[None, :] if offset is None else np.atleast_2d(offset)
    return Objective(
        obs=obs,
        matrix=model.free_matrix,
        offset=base,
        statistic=statistic,
        mc_matrix=model.free_mc_variance if model.mc_stat else None,
        mc_offset=(
            (model.fixed_mc_variance[None, :] if mc_offset is None else np.atleast_2d(mc_offset))
            if model.mc_stat
            else None
        ),
        neyman_empty=neyman_empty,
    )


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Best fit of the free scale factors to one observation.

    Attributes
    ----------
    parameters : tuple[str, ...]
        Free parameter names.
    values : np.ndarray
        Best-fit scale factors (dimensionless), shape (k,).
    covariance : np.ndarray
        2·H⁻¹ at the minimum (the Δχ² = 1 parabolic errors squared on the diagonal).
    chi2 : float
        Minimum of the statistic.
    ndf : int
        Bins used − free parameters.
    statistic : str
    converged : bool
    method : str
        ``newton`` or ``minuit``.
    """

    parameters: tuple[str, ...]
    values: np.ndarray
    covariance: np.ndarray
    chi2: float
    ndf: int
    statistic: str
    converged: bool
    method: str = "newton"

    @property
    def errors(self) -> np.ndarray:
        """Parabolic (Hessian) 1σ errors."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of the free parameters."""
        err = self.errors
        return self.covariance / np.outer(err, err)

    def __getitem__(self, name: str) -> float:
        try:
            return float(self.values[self.parameters.index(name)])
        except ValueError:
            raise ConfigurationError(
                f"no free parameter {name!r}; the fit has {', '.join(self.parameters)}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        out: dict[str, Any] = {p: float(v) for p, v in zip(self.parameters, self.values, strict=True)}
        out.update(
            chi2=float(self.chi2),
            ndf=int(self.ndf),
            errors={p: float(e) for p, e in zip(self.parameters, self.errors, strict=True)},
            correlation=float(self.correlation[0, 1]) if len(self.parameters) == 2 else None,
            correlation_matrix=self.correlation.tolist(),
            converged=bool(self.converged),
            method=self.method,
        )
        return out


@dataclasses.dataclass(frozen=True)
class BatchFitResult:
    """Best fits of many observations: values (R, k), chi2 (R,), converged (R,)."""

    parameters: tuple[str, ...]
    values: np.ndarray
    chi2: np.ndarray
    converged: np.ndarray
    iterations: int


def _covariance(hessian: np.ndarray) -> np.ndarray:
    try:
        return 2.0 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full_like(hessian, np.nan)


def fit(
    model: TemplateModel,
    data: Any,
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
    method: str = "newton",
) -> FitResult:
    """Best fit of the free scale factors of ``model`` to ``data`` (hist.Hist or counts per bin).

    ``method="newton"`` uses the vectorised Newton minimiser; ``"minuit"`` uses iminuit (MIGRAD +
    HESSE) on the same statistic, as a cross-check.
    """
    obs = model.check_data(data)
    validate_inputs(obs, model.expected(), statistic, neyman_empty)
    ndf = degrees_of_freedom(bins_used(obs, statistic, neyman_empty), model.n_free)
    objective = objective_for(model, obs, statistic, neyman_empty=neyman_empty)
    if method == "newton":
        res = newton_minimize(objective, model.initial_free)
        return FitResult(
            parameters=model.free_parameters,
            values=res.theta[0].copy(),
            covariance=_covariance(res.hessian[0]),
            chi2=float(res.chi2[0]),
            ndf=int(ndf),
            statistic=statistic,
            converged=bool(res.converged[0]),
        )
    if method == "minuit":
        return _fit_minuit(model, objective, statistic, int(ndf))
    raise ConfigurationError(f"unknown fit method {method!r}; choose newton or minuit")


def _fit_minuit(model: TemplateModel, objective: Objective, statistic: str, ndf: int) -> FitResult:
    from iminuit import Minuit

    def cost(*theta: float) -> float:
        value = float(objective.value(np.asarray(theta, dtype=float)[None, :])[0])
        return value if np.isfinite(value) else 1e300  # outside pred > 0: a wall

    minuit = Minuit(cost, *model.initial_free, name=model.free_parameters)
    minuit.errordef = Minuit.LEAST_SQUARES
    minuit.strategy = 2
    minuit.tol = 1e-6
    minuit.migrad()
    minuit.hesse()
    return FitResult(
        parameters=model.free_parameters,
        values=np.array(minuit.values),
        covariance=np.array(minuit.covariance),
        chi2=float(minuit.fval),
        ndf=ndf,
        statistic=statistic,
        converged=bool(minuit.valid),
        method="minuit",
    )


def fit_many(
    model: TemplateModel,
    observations: np.ndarray,
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
    start: np.ndarray | None = None,
) -> BatchFitResult:
    """Best fits of ``observations`` (R, n_bins) all at once (array operations over the rows)."""
    objective = objective_for(model, observations, statistic, neyman_empty=neyman_empty)
    res = newton_minimize(objective, model.initial_free if start is None else start)
    return BatchFitResult(
        parameters=model.free_parameters,
        values=res.theta,
        chi2=res.chi2,
        converged=res.converged,
        iterations=res.iterations,
    )


def chi2_at(
    model: TemplateModel,
    observations: np.ndarray,
    values: np.ndarray | Sequence[float],
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
) -> np.ndarray:
    """Statistic of ``observations`` (R, n_bins) at free-parameter ``values`` ((k,) or (R, k))."""
    obs = np.atleast_2d(np.asarray(observations, dtype=float))
    theta = np.atleast_2d(np.asarray(values, dtype=float))
    rows = max(obs.shape[0], theta.shape[0])
    obs = np.broadcast_to(obs, (rows, obs.shape[-1]))
    objective = objective_for(model, obs, statistic, neyman_empty=neyman_empty)
    return objective.value(np.array(np.broadcast_to(theta, (rows, model.n_free))))


# --- 1-D scans --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scan1DResult:
    """χ² scan of one parameter (others held at their nominal values), as in the notebook.

    Attributes
    ----------
    parameter : str
    grid : np.ndarray
        Scanned values.
    chi2 : np.ndarray
        Statistic at each grid value.
    delta_chi2 : np.ndarray
        χ² − (grid minimum), the notebook's curve.
    grid_best : float
        Grid point with the smallest χ² (the notebook's best fit).
    best : float
        Exact minimiser of the continuous curve.
    chi2_min : float
        χ² at ``best``.
    parabola : np.ndarray
        Coefficients (highest power first) of the quadratic fitted to ``delta_chi2``.
    parabola_interval : tuple[float, float]
        Roots of parabola − level (the notebook's interval); NaN if it has no real roots.
    interval : tuple[float, float]
        Exact crossings of χ² = χ²_min + level around ``best``.
    level : float
        Δχ² defining the interval (1 for 68.3 % in one parameter).
    ndf : int
    """

    parameter: str
    grid: np.ndarray
    chi2: np.ndarray
    delta_chi2: np.ndarray
    grid_best: float
    best: float
    chi2_min: float
    parabola: np.ndarray
    parabola_interval: tuple[float, float]
    interval: tuple[float, float]
    level: float
    ndf: int

    @property
    def notebook_error(self) -> float:
        """The notebook's printed uncertainty |upper parabola root − grid best fit|."""
        return float(abs(self.parabola_interval[1] - self.grid_best))

    def as_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "lo": self.interval[0],
            "hi": self.interval[1],
            "chi2_min": self.chi2_min,
            "ndf": self.ndf,
            "grid_best": self.grid_best,
            "grid_best_at_edge": bool(self.grid_best in (self.grid[0], self.grid[-1])),
            "parabola_lo": self.parabola_interval[0],
            "parabola_hi": self.parabola_interval[1],
            "notebook_error": self.notebook_error,
            "level": self.level,
        }


def _crossing(func: Callable[[float], float], best: float, guess: float, direction: float) -> float:
    """Point where ``func`` (negative at ``best``) turns positive, moving from ``best``.

    Brackets the crossing by doubling steps, then solves with :func:`scipy.optimize.brentq`
    (x tolerance 1e-12). Non-finite values (prediction ≤ 0 beyond a physical boundary) count as
    positive: the bracket is first halved until its outer end is defined, so the root is never
    sought where the statistic is not.
    """
    from scipy.optimize import brentq

    step = max(abs(guess), 1e-6)
    inner = best
    for _ in range(60):
        outer = best + direction * step
        value = func(outer)
        if not value < 0:  # above the level, or undefined
            break
        inner = outer
        step *= 2.0
    else:
        return float("nan")
    for _ in range(200):  # outer end undefined: move it inwards until the statistic is defined
        if np.isfinite(value):
            break
        middle = 0.5 * (inner + outer)
        if abs(outer - inner) <= 1e-12 * max(1.0, abs(middle)):
            return float(middle)  # the level is crossed at the boundary itself
        middle_value = func(middle)
        if middle_value < 0:
            inner = middle
        else:
            outer, value = middle, middle_value
    if value == 0:
        return float(outer)
    return float(brentq(func, min(inner, outer), max(inner, outer), xtol=1e-12, rtol=1e-15,
                        maxiter=200))


def _interval_1d(
    one_param: TemplateModel,
    obs: np.ndarray,
    statistic: str,
    neyman_empty: str,
    level: float,
) -> tuple[float, float, float, float]:
    """(best, chi2_min, lo, hi) of a one-free-parameter model, crossings exact to 1e-12."""
    objective = objective_for(one_param, obs, statistic, neyman_empty=neyman_empty)
    res = newton_minimize(objective, one_param.initial_free)
    best = float(res.theta[0, 0])
    chi2_min = float(res.chi2[0])
    sigma = float(np.sqrt(2.0 / res.hessian[0, 0, 0])) if res.hessian[0, 0, 0] > 0 else 1.0

    def above(x: float) -> float:
        return float(objective.value(np.array([[x]]))[0]) - chi2_min - level

    guess = sigma * np.sqrt(level)
    lo = _crossing(above, best, guess, -1.0)
    hi = _crossing(above, best, guess, +1.0)
    return best, chi2_min, lo, hi


def scan_1d(
    model: TemplateModel,
    data: Any,
    parameter: str,
    grid: np.ndarray | Sequence[float],
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
    level: float = 1.0,
) -> Scan1DResult:
    """Scan ``parameter`` over ``grid`` with all other parameters at their nominal values."""
    obs = model.check_data(data)
    one = model.only_free(parameter)
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 3:
        raise ConfigurationError("a 1-D scan needs at least 3 grid points")
    preds = one.expected(grid[:, None])
    validate_inputs(obs, preds, statistic, neyman_empty)
    chi2 = chi2_at(one, obs, grid[:, None], statistic, neyman_empty=neyman_empty)
    delta = chi2 - chi2.min()
    parabola = np.polyfit(grid, delta, 2)
    roots = np.roots(parabola - np.array([0.0, 0.0, level]))
    real = np.sort(roots.real) if np.all(np.abs(roots.imag) < 1e-12) else np.array([np.nan, np.nan])
    best, chi2_min, lo, hi = _interval_1d(one, obs, statistic, neyman_empty, level)
    ndf = degrees_of_freedom(bins_used(obs, statistic, neyman_empty), 1)
    return Scan1DResult(
        parameter=parameter,
        grid=grid,
        chi2=chi2,
        delta_chi2=delta,
        grid_best=float(grid[np.argmin(chi2)]),
        best=best,
        chi2_min=chi2_min,
        parabola=parabola,
        parabola_interval=(float(real[0]), float(real[-1])),
        interval=(lo, hi),
        level=level,
        ndf=int(ndf),
    )


# --- 2-D scans and profiles ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scan2DResult:
    """χ² on a grid of two free parameters plus the minimiser's best fit.

    ``chi2[i, j]`` is at (x[i], y[j]) — the notebook's ``chi2_ar[s_s, s_b]`` layout.
    ``delta_chi2`` is relative to the exact minimum ``fit.chi2``.
    """

    x_parameter: str
    y_parameter: str
    x: np.ndarray
    y: np.ndarray
    chi2: np.ndarray
    delta_chi2: np.ndarray
    grid_best: tuple[float, float]
    fit: FitResult
    levels: tuple[float, ...]


def scan_2d(
    model: TemplateModel,
    data: Any,
    x_grid: np.ndarray | Sequence[float],
    y_grid: np.ndarray | Sequence[float],
    statistic: str = "pearson",
    *,
    parameters: tuple[str, str] | None = None,
    neyman_empty: str = "floor",
    levels: tuple[float, ...] = CONTOUR_LEVELS_2D,
) -> Scan2DResult:
    """χ² over the grid of two parameters (others fixed at nominal) and the 2-D best fit."""
    obs = model.check_data(data)
    names = parameters or model.free_parameters[:2]
    if len(names) != 2 or len(model.parameters) < 2:
        raise ConfigurationError("a 2-D scan needs two parameters")
    keep = {p: model.value_of(p) for p in model.parameters if p not in names}
    two = model.with_free(*names).with_fixed(**keep) if keep else model.with_free(*names)
    order = [two.free_parameters.index(n) for n in names]
    x = np.asarray(x_grid, dtype=float)
    y = np.asarray(y_grid, dtype=float)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    points = np.empty((xx.size, 2))
    points[:, order[0]] = xx.ravel()
    points[:, order[1]] = yy.ravel()
    validate_inputs(obs, two.expected(points), statistic, neyman_empty)
    chi2 = chi2_at(two, obs, points, statistic, neyman_empty=neyman_empty).reshape(xx.shape)
    best = fit(two, obs, statistic, neyman_empty=neyman_empty)
    if order != [0, 1]:  # report the fit in the requested (x, y) order
        perm = np.array(order)
        best = dataclasses.replace(
            best,
            parameters=tuple(names),
            values=best.values[perm],
            covariance=best.covariance[np.ix_(perm, perm)],
        )
    i, j = np.unravel_index(np.argmin(chi2), chi2.shape)
    return Scan2DResult(
        x_parameter=names[0],
        y_parameter=names[1],
        x=x,
        y=y,
        chi2=chi2,
        delta_chi2=chi2 - best.chi2,
        grid_best=(float(x[i]), float(y[j])),
        fit=best,
        levels=tuple(levels),
    )


@dataclasses.dataclass(frozen=True)
class ProfileResult:
    """Profile Δχ²(θ) = min over the other free parameters − global minimum.

    ``interval`` holds the exact crossings at ``level`` (Δχ² = 1: the 68.3 % interval of θ
    with the others profiled, the marginal error of the 2-D fit).
    """

    parameter: str
    grid: np.ndarray
    delta_chi2: np.ndarray
    best: float
    interval: tuple[float, float]
    level: float

    def as_dict(self) -> dict[str, Any]:
        return {"best": self.best, "lo": self.interval[0], "hi": self.interval[1], "level": self.level}


def _profile_values(
    model: TemplateModel,
    obs: np.ndarray,
    parameter: str,
    values: np.ndarray,
    statistic: str,
    neyman_empty: str,
    start: np.ndarray,
) -> np.ndarray:
    """Minimum χ² over the other free parameters, for each fixed value (vectorised over values)."""
    others = tuple(p for p in model.free_parameters if p != parameter)
    reduced = model.with_fixed(**{parameter: 0.0})
    column = model.free_matrix[model.free_parameters.index(parameter)]
    offset = reduced.fixed_prediction[None, :] + values[:, None] * column[None, :]
    mc_offset = None
    if model.mc_stat:
        mc_column = model.free_mc_variance[model.free_parameters.index(parameter)]
        mc_offset = reduced.fixed_mc_variance[None, :] + values[:, None] ** 2 * mc_column[None, :]
    obs_rows = np.broadcast_to(obs, (values.size, obs.size))
    objective = objective_for(
        reduced, obs_rows, statistic, neyman_empty=neyman_empty, offset=offset, mc_offset=mc_offset
    )
    if not others:
        return objective.value(np.zeros((values.size, 0)))
    return newton_minimize(objective, start).chi2


def profile(
    model: TemplateModel,
    data: Any,
    parameter: str,
    grid: np.ndarray | Sequence[float],
    statistic: str = "pearson",
    *,
    neyman_empty: str = "floor",
    level: float = 1.0,
    best_fit: FitResult | None = None,
) -> ProfileResult:
    """Profile of ``parameter`` over ``grid``, minimising the other free parameters."""
    obs = model.check_data(data)
    if parameter not in model.free_parameters:
        raise ConfigurationError(
            f"{parameter!r} is not a free parameter; free: {', '.join(model.free_parameters)}"
        )
    best_fit = best_fit or fit(model, obs, statistic, neyman_empty=neyman_empty)
    idx = model.free_parameters.index(parameter)
    start = np.delete(best_fit.values, idx)
    grid = np.asarray(grid, dtype=float)
    values = _profile_values(model, obs, parameter, grid, statistic, neyman_empty, start)
    delta = values - best_fit.chi2
    best = float(best_fit.values[idx])

    def above(x: float) -> float:
        return float(
            _profile_values(model, obs, parameter, np.array([x]), statistic, neyman_empty, start)[0]
        ) - best_fit.chi2 - level

    guess = float(best_fit.errors[idx]) * np.sqrt(level) if np.isfinite(best_fit.errors[idx]) else 0.1
    lo = _crossing(above, best, guess, -1.0)
    hi = _crossing(above, best, guess, +1.0)
    return ProfileResult(parameter, grid, delta, best, (lo, hi), level)
