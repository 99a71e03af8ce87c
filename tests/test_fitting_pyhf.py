"""pyhf bridge: the exported workspace is valid and pyhf's MLE equals our Poisson fit."""

import json

import numpy as np
import pyhf
import pytest

from hzx.fitting import (
    Template,
    TemplateModel,
    fit,
    notebook_model,
    to_pyhf_workspace,
    write_pyhf_workspace,
)

CENTRES = 0.5 * (np.linspace(80, 250, 35)[1:] + np.linspace(80, 250, 35)[:-1])
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
pytestmark = pytest.mark.filterwarnings(
    "ignore:jsonschema.RefResolver is deprecated:DeprecationWarning"
)

SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01


def _pyhf_bestfit(spec):
    workspace = pyhf.Workspace(spec)
    pdf = workspace.model()
    data = workspace.data(pdf)
    best = pyhf.infer.mle.fit(data, pdf)
    return {name: float(best[pdf.config.par_slice(name)][0]) for name in pdf.config.par_order}, pdf


def test_pyhf_mle_equals_poisson_fit(tmp_path):
    model = notebook_model(SIG, BKG)
    data = np.random.default_rng(5).poisson(model.expected([1.5, 1.3])).astype(float)
    spec = to_pyhf_workspace(model, data)
    pyhf.schema.validate(spec, "workspace.json")
    best, pdf = _pyhf_bestfit(spec)
    assert pdf.config.poi_name == "s_s"
    ours = fit(model, data, "poisson")
    assert best["s_s"] == pytest.approx(ours["s_s"], abs=1e-4)
    assert best["s_b"] == pytest.approx(ours["s_b"], abs=1e-4)
    path = write_pyhf_workspace(model, data, tmp_path / "ws.json")
    assert json.loads(path.read_text()) == spec


def test_fixed_parameters_and_staterror_export():
    model = TemplateModel(
        (Template("sig", SIG, "s_s", SIG * 0.2), Template("bkg", BKG, "s_b", BKG * 0.1)),
        fixed={"s_b": 1.3},
        mc_stat=True,
    )
    data = np.random.default_rng(6).poisson(model.expected([1.5])).astype(float)
    spec = to_pyhf_workspace(model, data)
    pyhf.schema.validate(spec, "workspace.json")
    params = {p["name"]: p for p in spec["measurements"][0]["config"]["parameters"]}
    assert params["s_b"]["fixed"] is True and params["s_b"]["inits"] == [1.3]
    kinds = {m["type"] for s in spec["channels"][0]["samples"] for m in s["modifiers"]}
    assert kinds == {"normfactor", "staterror"}
    best, _ = _pyhf_bestfit(spec)
    assert best["s_b"] == pytest.approx(1.3)
    # pyhf's staterror (one γ per bin for the summed relative error) is BB-lite as ours
    ours = fit(model, data, "poisson")
    assert best["s_s"] == pytest.approx(ours["s_s"], abs=0.02)
