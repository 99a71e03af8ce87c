"""``hzx fit --likelihood``: the pyhf model of the 4-lepton histograms against an independent
pyhf computation on the same histograms (read back from histograms.root), and Asimov closure."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest
import uproot

from hzx.errors import ConfigurationError
from hzx.fitting import likelihood as lk

EDGES = np.array([110.0, 115.0, 120.0, 125.0, 130.0, 135.0])


@pytest.fixture(autouse=True)
def _restore_pyhf_backend():
    """pyhf's backend is global: the independent fits below set their own, others get theirs."""
    backend, optimizer = pyhf.get_backend()
    yield
    pyhf.set_backend(backend, optimizer)


def _inputs(data=(9.0, 14.0, 25.0, 16.0, 10.0)):
    sig = np.array([0.5, 2.0, 6.0, 2.5, 0.6])
    bkg = np.array([8.0, 9.0, 9.5, 9.0, 8.5])
    samples = {}
    for name, nom, rel in (("Higgs", sig, 0.08), ("ZZ*", bkg, 0.04)):
        var = (rel * nom) ** 2
        samples[name] = {
            "nominal": (nom, var),
            "lep_scale_up": (np.roll(nom, 1) * 0.1 + nom * 0.9, var),
            "lep_scale_down": (np.roll(nom, -1) * 0.1 + nom * 0.9, var),
            "lumi_up": (nom * 1.017, var), "lumi_down": (nom * 0.983, var),
            "xsec_up": (nom * 1.05, var), "xsec_down": (nom * 0.95, var),
        }
    return lk.LikelihoodInputs(edges=EDGES, kept=np.ones(5, bool), samples=samples,
                               signal=("Higgs",), data=np.array(data), dropped=[],
                               datasets={"Higgs": ["ggH"], "ZZ*": ["llll"], "data": ["d"]})


def _independent_workspace(path):
    """A pyhf workspace written by hand from the ROOT histograms' names."""
    f = uproot.open(path)
    samples = []
    for name, key in (("Higgs", "Higgs"), ("ZZ*", "ZZstar")):
        nom = f[f"m4l_{key}"].values()
        err = np.sqrt(f[f"m4l_{key}"].variances())
        mods = [{"name": "lumi", "type": "normsys", "data": {
                    "hi": f[f"m4l_{key}_lumi_up"].values().sum() / nom.sum(),
                    "lo": f[f"m4l_{key}_lumi_down"].values().sum() / nom.sum()}},
                {"name": f"xsec_{key}", "type": "normsys", "data": {
                    "hi": f[f"m4l_{key}_xsec_up"].values().sum() / nom.sum(),
                    "lo": f[f"m4l_{key}_xsec_down"].values().sum() / nom.sum()}},
                {"name": "lep_scale", "type": "histosys", "data": {
                    "hi_data": f[f"m4l_{key}_lep_scale_up"].values().tolist(),
                    "lo_data": f[f"m4l_{key}_lep_scale_down"].values().tolist()}},
                {"name": "staterror_m4l", "type": "staterror", "data": err.tolist()}]
        if name == "Higgs":
            mods.insert(0, {"name": "mu", "type": "normfactor", "data": None})
        samples.append({"name": name, "data": nom.tolist(), "modifiers": mods})
    return pyhf.Workspace({
        "channels": [{"name": "m4l", "samples": samples}],
        "observations": [{"name": "m4l", "data": f["m4l_data"].values().tolist()}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [
            {"name": "mu", "bounds": [[0.0, 10.0]], "inits": [1.0]}]}}],
        "version": "1.0.0"})


def test_best_fit_equals_an_independent_pyhf_fit(tmp_path):
    inputs = _inputs()
    path = lk.write_histograms_root(inputs, tmp_path / "histograms.root")
    assert sorted(uproot.open(path).keys(cycle=False))[:3] == [
        "m4l_Higgs", "m4l_Higgs_lep_scale_down", "m4l_Higgs_lep_scale_up"]
    result = lk.fit_likelihood(lk.build_workspace(inputs))
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(verbose=0))
    ws = _independent_workspace(path)
    model = ws.model()
    fitted = pyhf.infer.mle.fit(ws.data(model), model, return_uncertainties=True)
    poi = model.config.poi_index
    assert result.mu == pytest.approx(float(fitted[poi, 0]), abs=1e-4)
    assert result.mu_err == pytest.approx(float(fitted[poi, 1]), abs=1e-4)
    assert 0.5 < result.mu < 3.0
    # the scan's 68 % interval brackets the best fit; the limit lies above it
    lo, hi = result.scan_interval
    assert lo < result.mu < hi
    assert result.upper_limit > result.mu
    assert result.significance > 0
    assert set(result.pulls) >= {"lumi", "lep_scale", "xsec_Higgs", "xsec_ZZstar"}
    assert result.correlation.shape == (len(result.parameters),) * 2
    assert np.allclose(np.diag(result.correlation), 1.0)


def test_asimov_data_give_mu_one():
    result = lk.fit_likelihood(lk.build_workspace(_inputs()), asimov=True)
    assert result.asimov
    assert result.mu == pytest.approx(1.0, abs=1e-4)
    assert all(abs(p["pull"]) < 1e-3 for p in result.pulls.values())
    lines = lk.summary_lines(result)
    assert "Asimov data at mu = 1" in lines[0]


def test_cls_matches_pyhf_hypotest():
    inputs = _inputs()
    ws = lk.build_workspace(inputs, lk.LikelihoodConfig(systematics=False))
    result = lk.fit_likelihood(ws, lk.LikelihoodConfig(systematics=False))
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(verbose=0))
    w = pyhf.Workspace(ws)
    model = w.model()
    mu = float(result.cls_mu[8])
    expected = float(pyhf.infer.hypotest(mu, w.data(model), model, test_stat="qtilde"))
    assert result.cls_observed[8] == pytest.approx(expected, abs=2e-3)


def test_empty_bins_are_an_error_unless_dropped():
    import hist

    from hzx.io import AnalysisOutput

    axis = hist.axis.Regular(3, 100, 115, name="m4l")

    def h(values):
        out = hist.Hist(axis, storage=hist.storage.Weight())
        out.view()["value"] = values
        out.view()["variance"] = values
        return out

    acc = {"sig": {"m4l": h([1.0, 2.0, 0.0]), "metadata": {"role": "signal"}},
           "bkg": {"m4l": h([3.0, 4.0, 0.0]), "metadata": {"role": "background"}},
           "data_A": {"m4l": h([4.0, 5.0, 2.0]), "metadata": {"role": "data"}}}
    output = AnalysisOutput(acc, path=None)
    with pytest.raises(ConfigurationError, match=r"110–115 GeV; 2 data events there"):
        lk.inputs_from_output(output)
    inputs = lk.inputs_from_output(output, drop_empty_bins=True)
    assert inputs.dropped == [{"bin": 2, "m4l_gev": [110.0, 115.0], "data_events": 2.0}]
    assert inputs.data.tolist() == [4.0, 5.0]
    assert list(inputs.samples) == ["Higgs", "bkg"]


def test_expected_significance_unbounded_where_signal_has_no_background():
    """A bin with signal but zero simulated background: no background-only fluctuation gives
    events there (μ = 1 Asimov data, observed data), so Z0 is ∞ and the bin is named."""
    inputs = _inputs()
    for name, sample in inputs.samples.items():
        if name == "ZZ*":
            for key, (nom, var) in sample.items():
                nom, var = nom.copy(), var.copy()
                nom[0], var[0] = 0.0, 0.0
                sample[key] = (nom, var)
    workspace = lk.build_workspace(inputs, lk.LikelihoodConfig(systematics=False))
    result = lk.fit_likelihood(workspace, lk.LikelihoodConfig(systematics=False))
    assert result.significance_expected == np.inf
    assert ("bin(s) at position(s) [0] of the fit have events but no simulated background"
            in result.significance_expected_note)
    # the observed data have 9 events there: unbounded as well
    assert result.significance == np.inf and "position(s) [0]" in result.significance_note
    report = result.as_dict()["discovery_significance"]
    assert report["expected"] is None and "[0]" in report["expected_note"]
    assert report["observed"] is None and "[0]" in report["observed_note"]
    line = lk.summary_lines(result)[1]
    assert "observed unbounded: bin(s) at position(s) [0]" in line
    assert "expected (mu = 1) unbounded" in line
    # with the inputs' labels the notes name the bin by its m4ℓ range
    labels = inputs.bin_labels()
    assert labels[0] == f"{EDGES[0]:g}–{EDGES[1]:g} GeV" and len(labels) == 5
    named = lk.fit_likelihood(workspace, lk.LikelihoodConfig(systematics=False),
                              bin_labels=labels)
    assert f"bin(s) {labels[0]} have events but no simulated background" in \
        named.significance_expected_note
    assert named.significance == np.inf and labels[0] in named.significance_note
    with pytest.raises(ValueError, match="4 bin labels for the 5 bins"):
        lk.fit_likelihood(workspace, bin_labels=labels[:4])


def test_expected_significance_is_the_asimov_q0():
    """Finite case: Z0(expected) = √q0 on the μ = 1 Asimov data, as pyhf's hypotest gives it."""
    inputs = _inputs()
    config = lk.LikelihoodConfig(systematics=False)
    ws = lk.build_workspace(inputs, config)
    result = lk.fit_likelihood(ws, config)
    assert result.significance_expected_note == ""
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(verbose=0))
    w = pyhf.Workspace(ws)
    model = w.model()
    asimov = model.expected_data(model.config.suggested_init())
    p0 = float(pyhf.infer.hypotest(0.0, asimov, model, test_stat="q0"))
    from scipy.stats import norm
    assert result.significance_expected == pytest.approx(norm.isf(p0), rel=2e-3)
