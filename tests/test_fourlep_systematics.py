"""Systematic variations of FourLeptonProcessor (``m4l_syst``) and the demo's real-data rule."""

from __future__ import annotations

import numpy as np
import pytest
from minitree import make_events, write_mc_folder, write_mini

from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.scripts.cli import main

E = {"eta": 0.0, "charge": 1, "type": 11}


def _four(type_=11, low=15.0):
    t = {"type": type_}
    return [dict(E, **t, pt=40.0, E=40.0, phi=0.0), dict(E, **t, pt=30.0, E=30.0, charge=-1,
                                                           phi=2.0),
            dict(E, pt=25.0, E=25.0, phi=-2.0), dict(E, pt=low, E=low, charge=-1, phi=1.0)]


def test_variations_of_hand_built_events(tmp_path):
    # event 1: 2e2mu, all leptons well above threshold; event 2: 4e with a 7.02 GeV lepton that
    # the −0.5 % electron scale shift pushes below the 7 GeV cut
    path = write_mini(tmp_path / "mc.root", make_events([_four(13), _four(11, low=7.02)]))
    meta = {"role": "signal", "xsec_pb": 1.0, "sumw": 1000.0, "red_eff": 1.0, "lumi_fb": 1.0}
    out = run_processor(FourLeptonProcessor(), {"sig": {"files": {str(path): "mini"},
                                                        "metadata": meta}},
                        treename="mini", schema=AtlasOpenDataSchema,
                        executor=ExecutorOptions(executor="iterative", progress=False),
                        run=RunOptions(chunksize=100))["sig"]
    h = out["m4l_syst"]
    assert list(h.axes["syst"]) == ["nominal", "lep_sf_up", "lep_sf_down", "lep_scale_up",
                                    "lep_scale_down", "lumi_up", "lumi_down", "xsec_up",
                                    "xsec_down"]
    total = {v: float(h[v, :].values().sum()) for v in h.axes["syst"]}
    assert np.array_equal(h["nominal", :].values(), out["m4l"].values())
    assert total["nominal"] == pytest.approx(2.0)  # 1 fb⁻¹ · 1000 · 1 pb / 1000 per event
    assert total["lep_sf_up"] == pytest.approx(1.02**2 * 1.01**2 + 1.02**4)
    assert total["lep_sf_down"] == pytest.approx(0.98**2 * 0.99**2 + 0.98**4)
    assert total["lumi_up"] == pytest.approx(2 * 1.017)
    assert total["xsec_down"] == pytest.approx(2 * 0.95)
    assert total["lep_scale_up"] == pytest.approx(2.0)
    assert total["lep_scale_down"] == pytest.approx(1.0)  # the 7.02 GeV electron fails
    # the shape: m4l of the 2e2mu event moves up by between 0.3 % and 0.5 %
    assert h["lep_scale_up", :].values().sum() == total["nominal"]


def test_demo_with_data_but_no_simulation_stops_before_work(opendata_dir, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--data", str(opendata_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has real data but no simulated samples" in err and "--mc" in err
    assert not out.exists() or not any(out.iterdir())


def test_mc_folder_gives_a_likelihood_fit(opendata_dir, tmp_path):
    from hzx.fitting import likelihood as lk
    from hzx.io import load_output, save_output
    from hzx.samples import build_fileset

    mc = write_mc_folder(tmp_path / "mc", opendata_dir / "data_B.4lep.root", n_events=150)
    fileset = build_fileset(mc, lumi_fb=2.4) | build_fileset(opendata_dir)
    output = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                           schema=AtlasOpenDataSchema,
                           executor=ExecutorOptions(executor="iterative", progress=False),
                           run=RunOptions(chunksize=100_000))
    output = load_output(save_output(output, tmp_path / "o.coffea"))
    assert sum(output[d]["m4l"].values().sum() for d in ("data_A", "data_B")) == 53
    inputs = lk.inputs_from_output(output, drop_empty_bins=True)
    assert list(inputs.samples) == ["Higgs", "Z, tt̄", "ZZ*"]
    assert inputs.data.sum() + sum(d["data_events"] for d in inputs.dropped) == 53
