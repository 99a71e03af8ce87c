"""Template model: the prediction is a sum of templates, each times a scale factor.

pred_b(θ) = Σ_t θ_{p(t)} · T_{t,b}, where T_{t,b} are expected events per bin of template t at scale
1 and p(t) the scale-factor parameter of template t (several templates may share one parameter,
e.g. all background samples share ``s_b``). A parameter is either free (fitted) or fixed at a value.
The model is linear in its free parameters: pred = fixed + θ_free @ A, with A (n_free, n_bins).

The notebook's model is :func:`notebook_model`: pred = s_s · H_sig + s_b · H_bkg.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.histograms import histogram_arrays

SIGNAL_PARAMETER = "s_s"
BACKGROUND_PARAMETER = "s_b"


def _same_edges(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is None or b is None or (a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-9))


@dataclasses.dataclass(frozen=True)
class Template:
    """One template: expected events per bin at scale 1, and the parameter that scales it.

    Attributes
    ----------
    name : str
        Label of the process (legend of the post-fit stack).
    values : np.ndarray
        Expected events per bin at scale factor 1.
    parameter : str
        Name of the scale factor multiplying this template.
    variances : np.ndarray or None
        MC statistical variance per bin (events², sum of squared weights); used only with
        ``mc_stat``.
    edges : np.ndarray or None
        Bin edges (for checks and plots); None for plain arrays.
    """

    name: str
    values: np.ndarray
    parameter: str
    variances: np.ndarray | None = None
    edges: np.ndarray | None = None

    @classmethod
    def from_histogram(cls, name: str, histogram: Any, parameter: str) -> Template:
        """A template from a 1-D ``hist.Hist`` (Weight storage gives variances) or an array."""
        values, variances, edges = histogram_arrays(histogram)
        return cls(name=name, values=values, parameter=parameter, variances=variances, edges=edges)


@dataclasses.dataclass(frozen=True, eq=False)
class DroppedBins:
    """What :func:`drop_empty_bins` left out, so that figures keep the observable's axis.

    Attributes
    ----------
    edges : np.ndarray
        The full bin edges before the drop (GeV for m4ℓ); None when the templates had none.
    indices : np.ndarray
        Indices (on the full binning) of the dropped bins, ascending.
    data : np.ndarray
        Observed events in each dropped bin (same order as ``indices``).
    n_full : int
        Number of bins of the full binning.
    """

    edges: np.ndarray | None
    indices: np.ndarray
    data: np.ndarray
    n_full: int

    @property
    def kept(self) -> np.ndarray:
        """Boolean mask over the full binning: True where the bin is in the model."""
        mask = np.ones(self.n_full, dtype=bool)
        mask[self.indices] = False
        return mask


@dataclasses.dataclass(frozen=True)
class TemplateModel:
    """Linear template model with free and fixed scale factors.

    Attributes
    ----------
    templates : tuple[Template, ...]
        The templates, all with the same binning.
    fixed : Mapping[str, float]
        Parameters held fixed, with their values; all others are free.
    initial : Mapping[str, float]
        Starting (nominal) values of the parameters; 1 when absent. Scans hold the non-scanned
        parameters at these values, as the notebook does (s_b = 1 while scanning s_s).
    mc_stat : bool
        Include the templates' MC statistical uncertainty (Barlow–Beeston-lite); off by default,
        as in the notebook.
    dropped : DroppedBins or None
        Set by :func:`drop_empty_bins`: the full binning and the bins left out (figures draw
        on the full m4ℓ axis with those bins marked); None when no bin was dropped.
    """

    templates: tuple[Template, ...]
    fixed: Mapping[str, float] = dataclasses.field(default_factory=dict)
    initial: Mapping[str, float] = dataclasses.field(default_factory=dict)
    mc_stat: bool = False
    dropped: DroppedBins | None = None

    def __post_init__(self) -> None:
        templates = tuple(self.templates)
        object.__setattr__(self, "templates", templates)
        object.__setattr__(self, "fixed", {k: float(v) for k, v in dict(self.fixed).items()})
        object.__setattr__(self, "initial", {k: float(v) for k, v in dict(self.initial).items()})
        if not templates:
            raise ConfigurationError("empty model: give at least one template")
        n_bins = templates[0].values.shape[0]
        if n_bins == 0:
            raise ConfigurationError(f"template {templates[0].name!r} has no bins")
        for t in templates:
            if t.values.ndim != 1 or t.values.shape[0] != n_bins:
                raise ConfigurationError(
                    f"mismatched binning: template {t.name!r} has {t.values.shape} bins, "
                    f"{templates[0].name!r} has {n_bins}"
                )
            if not _same_edges(t.edges, templates[0].edges):
                raise ConfigurationError(
                    f"mismatched binning: template {t.name!r} has different bin edges from "
                    f"{templates[0].name!r}"
                )
            if not np.all(np.isfinite(t.values)):
                raise ConfigurationError(f"template {t.name!r} contains NaN or infinity")
            if self.mc_stat and t.variances is None:
                raise ConfigurationError(
                    f"mc_stat needs MC variances but template {t.name!r} has none "
                    "(use hist.Hist with Weight storage, or switch mc_stat off)"
                )
        unknown = set(self.fixed) - set(self.parameters)
        if unknown:
            raise ConfigurationError(
                f"cannot fix unknown parameter(s) {sorted(unknown)}; the model has "
                f"{', '.join(self.parameters)}"
            )
        for name in self.free_parameters:
            if not np.any(self.free_matrix[self.free_parameters.index(name)] != 0):
                raise ConfigurationError(
                    f"parameter {name!r} scales only empty templates: it cannot be fitted"
                )

    # --- structure -------------------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        """Number of bins."""
        return int(self.templates[0].values.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """Bin edges (from the first template that has them; 0, 1, … otherwise)."""
        for t in self.templates:
            if t.edges is not None:
                return t.edges
        return np.arange(self.n_bins + 1, dtype=float)

    @property
    def full_edges(self) -> np.ndarray:
        """Bin edges of the full binning: before :func:`drop_empty_bins`, else :attr:`edges`."""
        if self.dropped is not None:
            if self.dropped.edges is not None:
                return self.dropped.edges
            return np.arange(self.dropped.n_full + 1, dtype=float)
        return self.edges

    def on_full_binning(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Per-bin ``values`` of the model's bins placed on the full binning (``fill`` in the
        dropped bins); unchanged when nothing was dropped."""
        values = np.asarray(values, dtype=float)
        if self.dropped is None:
            return values
        out = np.full(self.dropped.n_full, fill, dtype=float)
        out[self.dropped.kept] = values
        return out

    def full_data(self, data: Any) -> np.ndarray:
        """Observed counts on the full binning: ``data`` (the model's bins) and the events of
        the dropped bins recorded by :func:`drop_empty_bins`."""
        obs = self.on_full_binning(self.check_data(data))
        if self.dropped is not None:
            obs[self.dropped.indices] = self.dropped.data
        return obs

    @property
    def parameters(self) -> tuple[str, ...]:
        """All scale-factor names, in order of first appearance."""
        return tuple(dict.fromkeys(t.parameter for t in self.templates))

    @property
    def free_parameters(self) -> tuple[str, ...]:
        """Names of the fitted parameters (those not in ``fixed``)."""
        return tuple(p for p in self.parameters if p not in self.fixed)

    @property
    def n_free(self) -> int:
        return len(self.free_parameters)

    def value_of(self, parameter: str) -> float:
        """Fixed value, else initial value (1 by default) of ``parameter``."""
        return self.fixed.get(parameter, self.initial.get(parameter, 1.0))

    @property
    def initial_free(self) -> np.ndarray:
        """Starting values of the free parameters, shape (n_free,)."""
        return np.array([self.value_of(p) for p in self.free_parameters], dtype=float)

    def _sum_for(self, parameter: str, attribute: str) -> np.ndarray:
        total = np.zeros(self.n_bins)
        for t in self.templates:
            if t.parameter == parameter:
                arr = getattr(t, attribute)
                if arr is not None:
                    total = total + arr
        return total

    @property
    def free_matrix(self) -> np.ndarray:
        """A (n_free, n_bins): events per bin per unit of each free scale factor."""
        rows = [self._sum_for(p, "values") for p in self.free_parameters]
        return np.array(rows).reshape(len(rows), self.n_bins)

    @property
    def free_mc_variance(self) -> np.ndarray:
        """Q (n_free, n_bins): MC variance per bin at unit scale (zeros unless ``mc_stat``)."""
        if not self.mc_stat:
            return np.zeros((self.n_free, self.n_bins))
        rows = [self._sum_for(p, "variances") for p in self.free_parameters]
        return np.array(rows).reshape(len(rows), self.n_bins)

    @property
    def fixed_prediction(self) -> np.ndarray:
        """Events per bin from the fixed parameters' templates at their fixed values."""
        total = np.zeros(self.n_bins)
        for p, value in self.fixed.items():
            total = total + value * self._sum_for(p, "values")
        return total

    @property
    def fixed_mc_variance(self) -> np.ndarray:
        """MC variance per bin of the fixed part (zeros unless ``mc_stat``)."""
        total = np.zeros(self.n_bins)
        if self.mc_stat:
            for p, value in self.fixed.items():
                total = total + value**2 * self._sum_for(p, "variances")
        return total

    # --- predictions -------------------------------------------------------------------------
    def free_values(self, values: Mapping[str, float] | np.ndarray | Sequence[float] | None) -> np.ndarray:
        if values is None:
            return self.initial_free
        if isinstance(values, Mapping):
            unknown = set(values) - set(self.parameters)
            if unknown:
                raise ConfigurationError(
                    f"unknown parameter(s) {sorted(unknown)}; the model has {', '.join(self.parameters)}"
                )
            return np.array([values.get(p, self.value_of(p)) for p in self.free_parameters])
        arr = np.asarray(values, dtype=float)
        if arr.shape[-1] != self.n_free:
            raise ConfigurationError(
                f"expected {self.n_free} free parameter values ({', '.join(self.free_parameters)}), "
                f"got shape {arr.shape}"
            )
        return arr

    def expected(self, values: Mapping[str, float] | np.ndarray | Sequence[float] | None = None) -> np.ndarray:
        """Predicted events per bin for free-parameter ``values`` (mapping or array (..., n_free)).

        Array input broadcasts: shape (..., n_free) → (..., n_bins).
        """
        theta = self.free_values(values)
        return self.fixed_prediction + theta @ self.free_matrix

    def mc_variance(self, values: Mapping[str, float] | np.ndarray | Sequence[float] | None = None) -> np.ndarray | None:
        """MC variance of the prediction (events²) at ``values``, or None without ``mc_stat``."""
        if not self.mc_stat:
            return None
        theta = self.free_values(values)
        return self.fixed_mc_variance + (theta**2) @ self.free_mc_variance

    def components(self, values: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
        """Scaled prediction of each template (events per bin), for stacks."""
        theta = dict(zip(self.free_parameters, self.free_values(values), strict=True))
        return {
            t.name: t.values * (self.fixed[t.parameter] if t.parameter in self.fixed else theta[t.parameter])
            for t in self.templates
        }

    # --- variants ----------------------------------------------------------------------------
    def with_fixed(self, **values: float) -> TemplateModel:
        """A copy with the given parameters fixed at the given values."""
        return dataclasses.replace(self, fixed={**self.fixed, **values})

    def with_free(self, *names: str) -> TemplateModel:
        """A copy with the given parameters released (their fixed value becomes the initial one)."""
        fixed = dict(self.fixed)
        initial = dict(self.initial)
        for name in names:
            if name in fixed:
                initial[name] = fixed.pop(name)
        return dataclasses.replace(self, fixed=fixed, initial=initial)

    def only_free(self, name: str) -> TemplateModel:
        """A copy in which only ``name`` is free; all others are fixed at their current values."""
        if name not in self.parameters:
            raise ConfigurationError(
                f"unknown parameter {name!r}; the model has {', '.join(self.parameters)}"
            )
        others = {p: self.value_of(p) for p in self.parameters if p != name}
        return dataclasses.replace(self, fixed=others).with_free(name)

    def check_data(self, data: Any) -> np.ndarray:
        """Observed counts as an array, checked against the model's binning."""
        values, _, edges = histogram_arrays(data)
        if values.shape != (self.n_bins,):
            raise ConfigurationError(
                f"mismatched binning: data has {values.shape[0] if values.ndim else 0} bins, "
                f"the model {self.n_bins}"
            )
        if not _same_edges(edges, next((t.edges for t in self.templates if t.edges is not None), None)):
            raise ConfigurationError("mismatched binning: data and templates have different bin edges")
        return values


def drop_empty_bins(model: TemplateModel, data: Any) -> tuple[TemplateModel, np.ndarray, np.ndarray]:
    """Remove the bins where every template is empty (prediction 0 for any scale factors).

    The empty-bin policy of every hzx fit (χ² and likelihood): the statistic is undefined in a
    bin without simulation, so by default such bins are an error; this explicit opt-in
    (``--drop-empty-bins``) leaves them out — data events in them included, since no scale
    factor can describe them (the callers report each dropped bin and its data events).
    Returns (model, data, indices of the dropped bins). The reduced templates lose their bin
    edges, which are no longer contiguous; the reduced model keeps the full edges, the dropped
    indices and their data events in :attr:`TemplateModel.dropped`, so that figures stay on
    the observable's axis (:meth:`TemplateModel.on_full_binning`, :meth:`~TemplateModel.full_data`).
    """
    if model.dropped is not None:
        raise ConfigurationError("drop_empty_bins was already applied to this model")
    obs = model.check_data(data)
    empty = np.all(np.array([t.values for t in model.templates]) == 0, axis=0)
    if not np.any(empty):
        return model, obs, np.array([], dtype=int)
    keep = ~empty
    edges = next((t.edges for t in model.templates if t.edges is not None), None)
    templates = tuple(
        dataclasses.replace(
            t, values=t.values[keep], edges=None,
            variances=None if t.variances is None else t.variances[keep],
        )
        for t in model.templates
    )
    indices = np.flatnonzero(empty)
    record = DroppedBins(edges=None if edges is None else np.asarray(edges, dtype=float),
                         indices=indices, data=obs[empty].copy(), n_full=len(obs))
    return dataclasses.replace(model, templates=templates, dropped=record), obs[keep], indices


def template_model(
    groups: Mapping[str, Mapping[str, Any] | Sequence[Any] | Any],
    *,
    fixed: Mapping[str, float] | None = None,
    initial: Mapping[str, float] | None = None,
    mc_stat: bool = False,
) -> TemplateModel:
    """A model from ``{parameter: histograms}``; each value is one histogram/array, a list of them,
    or a ``{name: histogram}`` mapping (names label the stack)."""
    templates: list[Template] = []
    for parameter, group in groups.items():
        if isinstance(group, Mapping):
            items = list(group.items())
        elif isinstance(group, (list, tuple)):
            items = [(f"{parameter}[{i}]", h) for i, h in enumerate(group)]
        else:
            items = [(parameter, group)]
        if not items:
            raise ConfigurationError(f"parameter {parameter!r} has no templates")
        templates.extend(Template.from_histogram(name, h, parameter) for name, h in items)
    return TemplateModel(tuple(templates), fixed=fixed or {}, initial=initial or {}, mc_stat=mc_stat)


def notebook_model(signal: Any, background: Any, *, mc_stat: bool = False) -> TemplateModel:
    """The notebook's model pred = s_s · H_sig + s_b · H_bkg (both free, starting at 1).

    ``signal`` and ``background`` are each a histogram/array, a list, or a ``{name: histogram}``.
    """
    return template_model(
        {SIGNAL_PARAMETER: signal, BACKGROUND_PARAMETER: background}, mc_stat=mc_stat
    )
