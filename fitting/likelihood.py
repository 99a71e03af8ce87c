"""Profile-likelihood fit of the signal strength μ with systematics (pyhf, HistFactory).

The chain of the IRIS-HEP AGC ATLAS Open Data H → ZZ* analysis, on hzx outputs:

1. :func:`inputs_from_output` sums the processor's ``m4l_syst`` histograms (nominal and every
   variation) into *samples* — ``Higgs`` (all signal datasets) and the backgrounds grouped as
   the notebook stacks them (``ZZ*``: llll, llvv, ZqqZll; ``Z, tt̄``: Zee, Zmumu, ttbar_lep; any
   other dataset under its own name) — and applies the empty-bin policy;
2. :func:`write_histograms_root` writes them as ``histograms.root`` with the names
   ``{region}_{sample}`` and ``{region}_{sample}_{variation}`` (and ``{region}_data``) for
   cabinetry users;
3. :func:`build_workspace` builds the pyhf model: ``mu`` (normfactor on the signal, free in
   [0, 10]), ``lumi`` (normsys on every sample), ``xsec_<sample>`` (normsys), ``lep_sf`` and
   ``lep_scale`` (histosys, correlated between samples), MC statistics (``staterror``);
4. :func:`fit_likelihood` runs the maximum-likelihood fit (MINUIT through pyhf): best fit and
   HESSE uncertainties, pulls, correlations, the profile-likelihood scan of μ, the discovery
   significance (q₀) and the CLs 95 % upper limit (q̃_μ, asymptotic), observed and expected;
5. :func:`plot_likelihood` draws the pre- and post-fit stacks with ratio panels and uncertainty
   bands, the pulls, the correlation matrix and the scan.

Empty-bin policy (the same as the χ² fits, :func:`hzx.fitting.model.drop_empty_bins`): a bin in
which no simulated sample has an event cannot be described by any parameter; it is an error
naming the bin unless ``drop_empty_bins`` is set, which leaves the bin out and lists it (m4ℓ
range and data events) in the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError

#: Background groups of the ATLAS Open Data catalogue (the notebook's stack).
BACKGROUND_GROUPS: dict[str, str] = {
    "llll": "ZZ*", "llvv": "ZZ*", "ZqqZll": "ZZ*",
    "Zee": "Z, tt̄", "Zmumu": "Z, tt̄", "ttbar_lep": "Z, tt̄",
}
SIGNAL_SAMPLE = "Higgs"
POI = "mu"
#: Variations of ``m4l_syst`` used as shape (histosys) and normalisation (normsys) modifiers.
SHAPE_MODIFIERS = ("lep_sf", "lep_scale")
NORM_MODIFIERS = ("lumi", "xsec")


def sample_group(dataset: str, role: str) -> str:
    """The likelihood sample of a dataset: ``Higgs`` for signal, a catalogue group, or itself."""
    if role == "signal":
        return SIGNAL_SAMPLE
    return BACKGROUND_GROUPS.get(dataset, dataset)


def _file_name(sample: str) -> str:
    """A sample name usable in a ROOT key (``Z, tt̄`` → ``Z_ttbar``, ``ZZ*`` → ``ZZstar``)."""
    return (sample.replace("tt̄", "ttbar").replace("*", "star").replace(", ", "_")
            .replace(" ", "_"))


@dataclasses.dataclass(frozen=True)
class LikelihoodInputs:
    """Histograms of the fit, after the empty-bin policy.

    Attributes
    ----------
    edges : np.ndarray
        The full m4ℓ bin edges (GeV).
    kept : np.ndarray
        Boolean mask of the bins used (False: no simulation, dropped).
    samples : dict
        ``{sample: {variation: (values, variances)}}`` over the kept bins; ``nominal`` always.
    signal : tuple of str
        The samples scaled by μ.
    data : np.ndarray
        Observed counts in the kept bins.
    dropped : list of dict
        Each dropped bin: index, m4ℓ range and data events.
    datasets : dict
        The datasets of each sample (and ``data``).
    """

    edges: np.ndarray
    kept: np.ndarray
    samples: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]
    signal: tuple[str, ...]
    data: np.ndarray
    dropped: list[dict[str, Any]]
    datasets: dict[str, list[str]]

    @property
    def n_bins(self) -> int:
        return int(self.kept.sum())

    def bin_labels(self) -> list[str]:
        """The m4ℓ range of each kept bin, as the fit's notes name them (``"120–125 GeV"``)."""
        return [f"{self.edges[i]:g}–{self.edges[i + 1]:g} GeV"
                for i in np.flatnonzero(self.kept)]

    def full(self, values: np.ndarray) -> np.ndarray:
        """Values over the kept bins back on the full binning (0 in dropped bins)."""
        out = np.zeros(len(self.kept))
        out[self.kept] = values
        return out

    def full_data(self, data: np.ndarray | None = None) -> np.ndarray:
        """Observed events on the full binning: ``data`` (default: the observed) in the kept
        bins and the data events of the dropped bins (which no parameter describes)."""
        out = self.full(self.data if data is None else data)
        for d in self.dropped:
            out[d["bin"]] = d["data_events"]
        return out


def _arrays(h: Any, variation: str | None) -> tuple[np.ndarray, np.ndarray]:
    if variation is not None:
        h = h[variation, :]
    values = np.asarray(h.values(), dtype=float)
    variances = h.variances()
    return values, (np.asarray(variances, dtype=float) if variances is not None
                    else np.zeros_like(values))


def inputs_from_output(output: Any, *, histogram: str = "m4l_syst",
                       signal: Sequence[str] | None = None,
                       background: Sequence[str] | None = None,
                       data: Sequence[str] | None = None,
                       drop_empty_bins: bool = False) -> LikelihoodInputs:
    """The fit's histograms from a 4-lepton output (``m4l_syst``; plain ``m4l`` gives a model
    with MC statistics and normalisations only)."""
    from hzx.fitting.report import select_datasets

    chosen = select_datasets(output, signal=signal, background=background, data=data)
    roles = {d: "signal" for d in chosen["signal"]} | {d: "background"
                                                       for d in chosen["background"]}
    samples: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    datasets: dict[str, list[str]] = {}
    edges = None
    for dataset, role in roles.items():
        acc = output[dataset]
        name = histogram if histogram in acc else "m4l"
        if name not in acc:
            raise ConfigurationError(f"dataset {dataset!r} has no histogram {histogram!r} or m4l")
        h = acc[name]
        variations = list(h.axes["syst"]) if "syst" in h.axes.name else [None]
        axis = h.axes[-1]
        if edges is None:
            edges = np.asarray(axis.edges, dtype=float)
        elif not np.allclose(edges, axis.edges):
            raise ConfigurationError(f"dataset {dataset!r}: m4l binning differs from the others")
        group = sample_group(dataset, role)
        datasets.setdefault(group, []).append(dataset)
        target = samples.setdefault(group, {})
        for variation in variations:
            key = variation or "nominal"
            values, variances = _arrays(h, variation)
            if key in target:
                values, variances = target[key][0] + values, target[key][1] + variances
            target[key] = (values, variances)
    if edges is None:
        raise ConfigurationError("no simulated datasets in the output: nothing to fit")
    observed = np.zeros(len(edges) - 1)
    for dataset in chosen["data"]:
        acc = output[dataset]
        h = acc[histogram] if histogram in acc else acc["m4l"]
        values, _ = _arrays(h, "nominal" if "syst" in h.axes.name else None)
        observed = observed + values
    datasets["data"] = list(chosen["data"])
    # samples without any expected event carry no information (and break normsys ratios)
    empty_samples = [s for s, v in samples.items() if not np.any(v["nominal"][0] != 0)]
    for s in empty_samples:
        del samples[s]
    if not samples:
        raise ConfigurationError("every simulated sample is empty in the m4l window")
    total = np.sum([v["nominal"][0] for v in samples.values()], axis=0)
    kept = total > 0
    dropped = [{"bin": int(i), "m4l_gev": [float(edges[i]), float(edges[i + 1])],
                "data_events": float(observed[i])} for i in np.flatnonzero(~kept)]
    with_data = [d for d in dropped if d["data_events"] > 0]
    if dropped and not drop_empty_bins:
        where = ", ".join(f"{d['m4l_gev'][0]:g}–{d['m4l_gev'][1]:g} GeV" for d in dropped)
        raise ConfigurationError(
            f"{len(dropped)} m4l bin(s) without simulated events ({where}; "
            f"{sum(d['data_events'] for d in with_data):g} data events there): no parameter "
            "can describe them — add simulation, or leave them out with drop_empty_bins=True")
    reduced = {s: {k: (v[0][kept], v[1][kept]) for k, v in var.items()}
               for s, var in samples.items()}
    signal_samples = tuple(s for s in reduced if s == SIGNAL_SAMPLE)
    if not signal_samples:
        raise ConfigurationError("no signal sample (role 'signal') to scale by mu")
    return LikelihoodInputs(edges=edges, kept=kept, samples=reduced, signal=signal_samples,
                            data=observed[kept], dropped=dropped, datasets=datasets)


def write_histograms_root(inputs: LikelihoodInputs, path: str | Path,
                          region: str = "m4l") -> Path:
    """``histograms.root``: ``{region}_{sample}`` (nominal), ``{region}_{sample}_{variation}``
    and ``{region}_data`` as TH1D with sum of squared weights, on the full binning (dropped
    bins empty)."""
    import hist
    import uproot

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def th1(values: np.ndarray, variances: np.ndarray) -> Any:
        h = hist.Hist(hist.axis.Variable(inputs.edges, name="m4l", label="m4l [GeV]"),
                      storage=hist.storage.Weight())
        view = h.view()
        view["value"] = inputs.full(values)
        view["variance"] = inputs.full(variances)
        return h

    with uproot.recreate(path) as out:
        for sample, variations in inputs.samples.items():
            for variation, (values, variances) in variations.items():
                key = f"{region}_{_file_name(sample)}"
                if variation != "nominal":
                    key += f"_{variation}"
                out[key] = th1(values, variances)
        out[f"{region}_data"] = th1(inputs.data, inputs.data)
    return path


@dataclasses.dataclass(frozen=True)
class LikelihoodConfig:
    """Options of the likelihood fit.

    Attributes
    ----------
    mu_bounds : tuple of float
        Range of μ (the signal strength).
    mc_stat : bool
        MC statistical uncertainty per bin (Barlow–Beeston-lite ``staterror``).
    systematics : bool
        The normalisation and shape modifiers from the variations (off: μ, MC stat only).
    scan_points : int
        Points of the μ grid from 0 (profile-likelihood scan and CLs limit).
    region : str
        Channel name of the model and prefix of the ROOT histograms.
    """

    mu_bounds: tuple[float, float] = (0.0, 10.0)
    mc_stat: bool = True
    systematics: bool = True
    scan_points: int = 17
    region: str = "m4l"


def build_workspace(inputs: LikelihoodInputs, config: LikelihoodConfig | None = None,
                    data: np.ndarray | None = None) -> dict[str, Any]:
    """The pyhf workspace (JSON-ready dict) of the inputs; ``data`` replaces the observed."""
    config = config or LikelihoodConfig()
    samples = []
    for name, variations in inputs.samples.items():
        nominal, variances = variations["nominal"]
        modifiers: list[dict[str, Any]] = []
        if name in inputs.signal:
            modifiers.append({"name": POI, "type": "normfactor", "data": None})
        if config.systematics:
            total = float(nominal.sum())
            for syst in NORM_MODIFIERS:
                if f"{syst}_up" in variations:
                    modifier = syst if syst == "lumi" else f"{syst}_{_file_name(name)}"
                    modifiers.append({"name": modifier, "type": "normsys", "data": {
                        "hi": float(variations[f"{syst}_up"][0].sum()) / total,
                        "lo": float(variations[f"{syst}_down"][0].sum()) / total}})
            for syst in SHAPE_MODIFIERS:
                if f"{syst}_up" in variations:
                    # a bin-wise change beyond a ±50 % is a fluctuation of the few
                    # simulated events (an event crossing a bin edge), not a systematic
                    # effect; capped, so that no yield turns negative within ±2σ
                    hi, lo = (np.clip(variations[f"{syst}_{d}"][0], 0.5 * nominal, 1.5 * nominal)
                              for d in ("up", "down"))
                    modifiers.append({"name": syst, "type": "histosys", "data": {
                        "hi_data": hi.tolist(), "lo_data": lo.tolist()}})
        if config.mc_stat:
            modifiers.append({"name": f"staterror_{config.region}", "type": "staterror",
                              "data": np.sqrt(np.maximum(variances, 0.0)).tolist()})
        samples.append({"name": name, "data": nominal.tolist(), "modifiers": modifiers})
    observed = inputs.data if data is None else np.asarray(data, dtype=float)
    return {
        "channels": [{"name": config.region, "samples": samples}],
        "observations": [{"name": config.region, "data": observed.tolist()}],
        "measurements": [{"name": "hzx_likelihood", "config": {
            "poi": POI,
            "parameters": [{"name": POI, "bounds": [list(config.mu_bounds)], "inits": [1.0]}]}}],
        "version": "1.0.0",
    }


@dataclasses.dataclass(frozen=True)
class LikelihoodResult:
    """Everything :func:`fit_likelihood` finds (see :meth:`as_dict` for the report keys)."""

    parameters: tuple[str, ...]
    bestfit: np.ndarray
    uncertainties: np.ndarray
    correlation: np.ndarray
    twice_nll: float
    mu: float
    mu_err: float
    pulls: dict[str, dict[str, float]]
    scan_mu: np.ndarray
    scan_q: np.ndarray
    scan_interval: tuple[float, float]
    significance: float
    significance_expected: float
    upper_limit: float
    upper_limit_expected: tuple[float, ...]
    cls_mu: np.ndarray
    cls_observed: np.ndarray
    prefit: dict[str, np.ndarray]
    postfit: dict[str, np.ndarray]
    prefit_band: np.ndarray
    postfit_band: np.ndarray
    data: np.ndarray
    asimov: bool
    #: why the observed / expected significance is not a number, when it is not (else empty)
    significance_note: str = ""
    significance_expected_note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "poi": POI, "mu": self.mu, "mu_uncertainty": self.mu_err,
            "mu_interval_scan_68": list(self.scan_interval),
            "twice_nll": self.twice_nll,
            "parameters": {p: {"value": float(v), "uncertainty": float(e)} for p, v, e in
                           zip(self.parameters, self.bestfit, self.uncertainties, strict=True)},
            "pulls": self.pulls,
            "correlation": {"parameters": list(self.parameters),
                            "matrix": np.round(self.correlation, 6).tolist()},
            "scan": {"mu": self.scan_mu.tolist(), "q_mu": self.scan_q.tolist()},
            "discovery_significance": {
                "observed": self.significance if np.isfinite(self.significance) else None,
                **({"observed_note": self.significance_note} if self.significance_note else {}),
                "expected": (self.significance_expected
                             if np.isfinite(self.significance_expected) else None),
                **({"expected_note": self.significance_expected_note}
                   if self.significance_expected_note else {})},
            "cls_upper_limit_95": {"observed": self.upper_limit,
                                   "expected_bands_ascending": list(self.upper_limit_expected)},
            "yields": {"prefit": {k: v.tolist() for k, v in self.prefit.items()},
                       "postfit": {k: v.tolist() for k, v in self.postfit.items()},
                       "data": self.data.tolist()},
            "asimov_data": self.asimov,
        }


def _pyhf():
    import pyhf

    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(verbose=0, maxiter=20_000))
    return pyhf


def _band(model: Any, pars: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """√(J C Jᵀ) of the total expected events per bin (numeric Jacobian)."""
    n_bins = model.config.channel_nbins[model.config.channels[0]]
    base = np.asarray(model.main_model.expected_data(pars))[:n_bins]
    jac = np.zeros((n_bins, len(pars)))
    for i in range(len(pars)):
        step = 1e-4 * max(1.0, abs(pars[i]))
        shifted = np.array(pars, dtype=float)
        shifted[i] += step
        jac[:, i] = (np.asarray(model.main_model.expected_data(shifted))[:n_bins] - base) / step
    return np.sqrt(np.maximum(np.einsum("bi,ij,bj->b", jac, covariance, jac), 0.0))


def _by_sample(model: Any, pars: np.ndarray) -> dict[str, np.ndarray]:
    per = np.asarray(model.main_model.expected_data(pars, return_by_sample=True))
    return {name: per[i] for i, name in enumerate(model.config.samples)}


def _crossings(grid: np.ndarray, q: np.ndarray, level: float = 1.0) -> tuple[float, float]:
    best = int(np.argmin(q))
    lo = hi = float("nan")
    for i in range(best, 0, -1):
        if q[i - 1] >= level > q[i] or q[i - 1] > level >= q[i]:
            lo = float(np.interp(level, [q[i], q[i - 1]], [grid[i], grid[i - 1]]))
            break
    for i in range(best, len(grid) - 1):
        if q[i] < level <= q[i + 1]:
            hi = float(np.interp(level, [q[i], q[i + 1]], [grid[i], grid[i + 1]]))
            break
    return lo, hi


def fit_likelihood(workspace: Mapping[str, Any], config: LikelihoodConfig | None = None, *,
                   asimov: bool = False, bin_labels: Sequence[str] | None = None
                   ) -> LikelihoodResult:
    """Fit, scan, significance and limit of a workspace (``asimov``: fit the model's own
    expectation at μ = 1 and nominal nuisance parameters instead of the observed data).

    ``bin_labels``: a name for each bin of the fit (:meth:`LikelihoodInputs.bin_labels`: their
    m4ℓ ranges), used where a note names bins; without them the notes give the bins' positions
    in the fit. pyhf's backend and optimiser are global: the caller's are restored afterwards."""
    import pyhf

    backend, optimizer = pyhf.get_backend()
    try:
        return _fit_likelihood(workspace, config, asimov=asimov, bin_labels=bin_labels)
    finally:
        pyhf.set_backend(backend, optimizer)


def _fit_likelihood(workspace: Mapping[str, Any], config: LikelihoodConfig | None, *,
                    asimov: bool, bin_labels: Sequence[str] | None) -> LikelihoodResult:
    config = config or LikelihoodConfig()
    pyhf = _pyhf()
    ws = pyhf.Workspace(dict(workspace))
    model = ws.model()
    init = np.asarray(model.config.suggested_init(), dtype=float)
    if asimov:
        data = np.asarray(model.expected_data(init), dtype=float)
    else:
        data = np.asarray(ws.data(model), dtype=float)
    n_bins = model.config.channel_nbins[config.region]
    if bin_labels is not None and len(bin_labels) != n_bins:
        raise ValueError(f"{len(bin_labels)} bin labels for the {n_bins} bins of region "
                         f"{config.region!r}")
    bestfit, errors, corr, twice_nll = _fit(pyhf, data, model)
    names = _parameter_names(model)
    poi = model.config.poi_index
    mu, mu_err = float(bestfit[poi]), float(errors[poi])
    covariance = corr * np.outer(errors, errors)
    # pulls of the constrained parameters: (θ̂ − θ₀)/σ₀ and the constraint σ̂/σ₀
    pulls: dict[str, dict[str, float]] = {}
    for name in model.config.par_order:
        pset = model.config.param_set(name)
        if not getattr(pset, "constrained", False):
            continue
        widths = np.atleast_1d(pset.width())
        sl = model.config.par_slice(name)
        for k, index in enumerate(range(sl.start, sl.stop)):
            centre = float(init[index])
            pulls[names[index]] = {"pull": float((bestfit[index] - centre) / widths[k]),
                                   "constraint": float(errors[index] / widths[k])}
    # one μ grid from 0 serves the profile scan and the CLs limit: conditional fits on the
    # observed data and on the background-only Asimov data (asymptotic formulae of
    # Cowan, Cranmer, Gross, Vitells, as pyhf's AsymptoticCalculator)
    lo_b, hi_b = config.mu_bounds
    top = min(hi_b, max(mu + 3.5 * mu_err, 4.0 * mu_err, 1.0))
    grid = np.linspace(max(lo_b, 0.0), top, config.scan_points)
    conditional = [_fixed_fit(pyhf, m, data, model, bestfit) for m in grid]
    scan = np.maximum(np.array([c[1] for c in conditional]) - twice_nll, 0.0)
    interval = _crossings(grid, scan)
    # discovery: q0 = −2 ln λ(0) (μ̂ ≥ 0), observed and for Asimov data at μ = 1
    pars0, nll0 = conditional[0] if grid[0] == 0.0 else _fixed_fit(pyhf, 0.0, data, model,
                                                                   bestfit)
    z_obs, z_obs_note = (_significance(model, init, poi, data, nll0, twice_nll, n_bins,
                                       bin_labels)
                         if mu > 0 else (0.0, ""))
    asimov_mu1 = np.asarray(model.expected_data(init), dtype=float)
    nll_a1 = float(-2.0 * model.logpdf(init, asimov_mu1)[0])
    _, nll_a0 = _fixed_fit(pyhf, 0.0, asimov_mu1, model, init)
    z_exp, z_exp_note = _significance(model, init, poi, asimov_mu1, nll_a0, nll_a1, n_bins,
                                      bin_labels)
    # CLs with q̃_μ: the Asimov data of the background-only fit to the data
    asimov_b = np.asarray(model.expected_data(pars0), dtype=float)
    nll_b = float(-2.0 * model.logpdf(pars0, asimov_b)[0])
    q_a = np.maximum(np.array([_fixed_fit(pyhf, m, asimov_b, model, pars0)[1] for m in grid])
                     - nll_b, 0.0)
    q_obs = np.where(grid >= mu, scan, 0.0)
    cls_obs = np.array([_cls(q, qa) for q, qa in zip(q_obs, q_a, strict=True)])
    cls_exp = np.array([[_cls_expected(qa, n) for n in (2, 1, 0, -1, -2)] for qa in q_a])
    limit = _first_below(grid, cls_obs)
    expected = sorted(_first_below(grid, cls_exp[:, k]) for k in range(5))
    cls_grid = grid
    prefit_cov = np.zeros((len(init), len(init)))
    for name in model.config.par_order:
        pset = model.config.param_set(name)
        if getattr(pset, "constrained", False):
            sl = model.config.par_slice(name)
            idx = np.arange(sl.start, sl.stop)
            prefit_cov[idx, idx] = np.atleast_1d(pset.width()) ** 2
    return LikelihoodResult(
        parameters=tuple(names), bestfit=bestfit, uncertainties=errors, correlation=corr,
        twice_nll=twice_nll, mu=mu, mu_err=mu_err, pulls=pulls, scan_mu=grid, scan_q=scan,
        scan_interval=interval, significance=z_obs, significance_expected=z_exp,
        significance_note=z_obs_note, significance_expected_note=z_exp_note,
        upper_limit=float(limit), upper_limit_expected=tuple(float(x) for x in expected),
        cls_mu=cls_grid, cls_observed=cls_obs,
        prefit=_by_sample(model, init), postfit=_by_sample(model, bestfit),
        prefit_band=_band(model, init, prefit_cov),
        postfit_band=_band(model, bestfit, covariance),
        data=data[:n_bins], asimov=asimov)


def _significance(model: Any, init: np.ndarray, poi: int, data: np.ndarray,
                  nll_mu0: float, nll_hat: float, n_bins: int,
                  bin_labels: Sequence[str] | None = None) -> tuple[float, str]:
    """Discovery Z0 = √q0 from −2 ln L at μ = 0 and at the best fit, and a note when it is no
    number (observed data, or the μ = 1 Asimov data for the median expectation).

    Where the data have events in a bin whose background-only prediction is exactly zero (too
    few simulated background events there), no background fluctuation can give them: q0 is
    unbounded and Z0 = ∞ — said so, naming the bins, instead of a bare nan.
    """
    if np.isfinite(nll_mu0):
        return float(np.sqrt(max(nll_mu0 - nll_hat, 0.0))), ""
    pars_b = np.array(init, dtype=float)
    pars_b[poi] = 0.0
    background = np.asarray(model.expected_data(pars_b, include_auxdata=False))[:n_bins]
    free = np.flatnonzero((background <= 0) & (np.asarray(data)[:n_bins] > 0))
    if len(free):
        where = (", ".join(bin_labels[i] for i in free) if bin_labels is not None
                 else f"at position(s) {free.tolist()} of the fit")
        return float("inf"), (f"bin(s) {where} have events but no simulated background: Z0 "
                              "is unbounded")
    return float("nan"), "the background-only fit did not converge"


def _fixed_fit(pyhf: Any, mu: float, data: np.ndarray, model: Any, start: np.ndarray
               ) -> tuple[np.ndarray, float]:
    init = np.array(start, dtype=float)
    init[model.config.poi_index] = mu
    try:
        pars, twice_nll = pyhf.infer.mle.fixed_poi_fit(mu, data, model, init_pars=init.tolist(),
                                                       return_fitted_val=True)
    except pyhf.exceptions.FailedMinimization:
        # MIGRAD gave up (EDM above goal): SLSQP from the same start, then MIGRAD again
        pyhf.set_backend("numpy", "scipy")
        try:
            pars, twice_nll = pyhf.infer.mle.fixed_poi_fit(
                mu, data, model, init_pars=init.tolist(), return_fitted_val=True)
        except pyhf.exceptions.FailedMinimization:
            # neither minimiser converged at this μ: the point is left out (nan) of the
            # scan and the limit rather than failing the whole fit
            return init, float("nan")
        finally:
            _pyhf()
    return np.asarray(pars, dtype=float), float(twice_nll)


def _cls(q: float, q_a: float) -> float:
    """CLs = CLs+b / CLb of the q̃_μ statistic (asymptotic), from q̃_μ and its Asimov value."""
    from scipy.stats import norm

    sq, sqa = np.sqrt(max(q, 0.0)), np.sqrt(max(q_a, 0.0))
    if sqa == 0.0:
        return 1.0
    if sq <= sqa:
        clsb, clb = norm.sf(sq), norm.cdf(sqa - sq)
    else:
        z = (q + q_a) / (2.0 * sqa)
        clsb, clb = norm.sf(z), norm.sf(z - sqa)
    return float(clsb / clb) if clb > 0 else 0.0


def _cls_expected(q_a: float, n_sigma: float) -> float:
    """Expected CLs for the background-only median shifted by ``n_sigma`` (pyhf's bands)."""
    from scipy.stats import norm

    sqa = np.sqrt(max(q_a, 0.0))
    return float(norm.sf(sqa - n_sigma) / norm.cdf(n_sigma))


def _first_below(grid: np.ndarray, cls: np.ndarray, level: float = 0.05) -> float:
    """μ where CLs first falls below ``level`` (linear interpolation); nan if it never does."""
    below = np.flatnonzero(cls < level)
    if not len(below):
        return float("nan")
    i = int(below[0])
    if i == 0:
        return float(grid[0])
    return float(np.interp(level, [cls[i], cls[i - 1]], [grid[i], grid[i - 1]]))


def _fit(pyhf: Any, data: np.ndarray, model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                             float]:
    result, corr, twice_nll = pyhf.infer.mle.fit(
        data, model, return_uncertainties=True, return_correlations=True,
        return_fitted_val=True)
    result = np.asarray(result, dtype=float)
    return result[:, 0], result[:, 1], np.asarray(corr, dtype=float), float(twice_nll)


def _parameter_names(model: Any) -> list[str]:
    names = []
    for name in model.config.par_order:
        n = model.config.param_set(name).n_parameters
        names += [name] if n == 1 else [f"{name}[{i}]" for i in range(n)]
    return names


def summary_lines(result: LikelihoodResult, dropped: Sequence[Mapping[str, Any]] = ()
                  ) -> list[str]:
    """Human-readable result lines (report and terminal)."""
    lo, hi = result.scan_interval
    lines = [
        f"profile likelihood: mu = {result.mu:.3f} ± {result.mu_err:.3f} (HESSE); "
        f"scan 68% interval [{lo:.3f}, {hi:.3f}]"
        + (" — Asimov data at mu = 1" if result.asimov else ""),
        "discovery significance Z0 = "
        + (f"{result.significance:.2f} sigma observed, " if np.isfinite(result.significance)
           else f"observed {'unbounded' if result.significance > 0 else 'unknown'}: "
                f"{result.significance_note}; ")
        + (f"{result.significance_expected:.2f} sigma expected (mu = 1)"
           if np.isfinite(result.significance_expected) else
           f"expected (mu = 1) {'unbounded' if result.significance_expected > 0 else 'unknown'}"
           f": {result.significance_expected_note}"),
        f"CLs 95% upper limit on mu: {result.upper_limit:.2f} observed, "
        f"{result.upper_limit_expected[2]:.2f} expected "
        f"[{result.upper_limit_expected[1]:.2f}, {result.upper_limit_expected[3]:.2f}]",
    ]
    big = {k: v for k, v in result.pulls.items() if abs(v["pull"]) > 1.0}
    if big:
        lines.append("pulls beyond 1 sigma: " + ", ".join(f"{k} {v['pull']:+.2f}"
                                                          for k, v in big.items()))
    for d in dropped:
        lines.append(f"bin {d['m4l_gev'][0]:g}–{d['m4l_gev'][1]:g} GeV has no simulation: "
                     f"left out ({d['data_events']:g} data events)")
    return lines


def plot_likelihood(result: LikelihoodResult, inputs: LikelihoodInputs, outdir: str | Path, *,
                    data_label: str = "Data", status: str = "Open Data",
                    lumi_fb: float | None = None, formats: tuple[str, ...] = ("png", "pdf")
                    ) -> list[Path]:
    """Pre-/post-fit stacks (ratio panel, uncertainty band), pulls, correlations, μ scan."""
    from hzx.plotting.fourlep import stack_with_ratio
    from hzx.plotting.style import save, setup

    paths: list[Path] = []
    for stage, parts, band in (("prefit", result.prefit, result.prefit_band),
                               ("postfit", result.postfit, result.postfit_band)):
        # backgrounds at the bottom of the stack, the signal on top
        order = sorted(parts, key=lambda n: n in inputs.signal)
        components = {name.replace("tt̄", r"$t\bar{t}$"): inputs.full(parts[name])
                      for name in order}
        text = (r"pre-fit, $\mu$ = 1" if stage == "prefit" else
                rf"post-fit, $\hat\mu$ = {result.mu:.2f} $\pm$ {result.mu_err:.2f}")
        # Asimov data are the model's expectation: nothing in the bins without simulation
        data = inputs.full(result.data) if result.asimov else inputs.full_data(result.data)
        paths += stack_with_ratio(
            inputs.edges, components, data, inputs.full(band), outdir,
            f"likelihood_{stage}", data_label=data_label, status=status, lumi_fb=lumi_fb,
            band_label="total unc." if stage == "postfit" else "syst. + MC stat.",
            note=text, masked=np.flatnonzero(~inputs.kept), formats=formats)
    plt = setup("ATLAS")
    # pulls
    names = list(result.pulls)
    if names:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.5))
        y = np.arange(len(names))
        ax.axvspan(-2, 2, color="#ffe680", zorder=0)
        ax.axvspan(-1, 1, color="#8fd48f", zorder=0)
        ax.errorbar([result.pulls[n]["pull"] for n in names], y,
                    xerr=[result.pulls[n]["constraint"] for n in names], fmt="ko")
        ax.set_yticks(y, [_label(n) for n in names])
        ax.set_xlim(-3, 3)
        ax.set_xlabel(r"$(\hat\theta - \theta_0)/\Delta\theta$")
        paths += save(fig, outdir, "likelihood_pulls", formats)
    # correlation matrix
    fig, ax = plt.subplots(figsize=(0.5 * len(result.parameters) + 3,
                                    0.5 * len(result.parameters) + 2.5))
    image = ax.imshow(result.correlation, vmin=-1, vmax=1, cmap="RdBu_r")
    ticks = np.arange(len(result.parameters))
    labels = [_label(p) for p in result.parameters]
    ax.set_xticks(ticks, labels, rotation=90, fontsize=8)
    ax.set_yticks(ticks, labels, fontsize=8)
    fig.colorbar(image, ax=ax, label="correlation")
    paths += save(fig, outdir, "likelihood_correlation", formats)
    # profile scan
    fig, ax = plt.subplots()
    ax.plot(result.scan_mu, result.scan_q, "k-", lw=2, label=r"profile likelihood")
    ax.axhline(1.0, color="grey", ls=":", lw=1)
    lo, hi = result.scan_interval
    for edge in (lo, hi):
        if np.isfinite(edge):
            ax.axvline(edge, color="tab:red", ls="--", lw=1)
    ax.plot([], [], color="tab:red", ls="--",
            label=rf"$\hat\mu$ = {result.mu:.2f}, 68%: [{lo:.2f}, {hi:.2f}]")
    ax.set_xlabel(r"signal strength $\mu$")
    ax.set_ylabel(r"$-2\Delta\ln L$")
    ax.set_ylim(0, max(4.0, min(9.0, float(np.max(result.scan_q)))))
    ax.set_xlim(result.scan_mu[0], result.scan_mu[-1])
    if result.asimov:
        ax.set_title(r"Asimov data ($\mu$ = 1)", fontsize=12)
    ax.legend(fontsize=11)
    paths += save(fig, outdir, "likelihood_scan", formats)
    return paths


def _label(name: str) -> str:
    if name == POI:
        return r"$\mu$"
    if name.startswith("staterror"):
        return name.replace("staterror_m4l", r"MC stat.")
    return name.replace("_", " ")
