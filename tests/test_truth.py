"""Truth processor against loops over the particle record; truth, compare and HZa2018 figures."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import uproot
import yaml
from delphes_fixtures import make_events, read_events, write_delphes

from hzx.errors import ConfigurationError
from hzx.io import AnalysisOutput
from hzx.plotting import compare as compare_plots
from hzx.plotting import hza2018 as hza_plots
from hzx.plotting import truth as truth_plots
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.hza2018 import HZa2018Processor
from hzx.processors.truth import RESONANCES, TruthOptions, TruthProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("truth")
    sig = write_delphes(base / "sig_a.root", make_events(150, seed=31, signal_pid=36,
                                                          signal_mass=2.5))
    jpsi = write_delphes(base / "sig_jpsi.root", make_events(100, seed=32, signal_pid=443,
                                                              signal_mass=3.097))
    bkg = write_delphes(base / "zjets.root", make_events(150, seed=33, signal_pid=0))
    return {"a": sig, "jpsi": jpsi, "zjets": bkg}


def run(processor, files):
    fileset = {
        "HZa_2p5": {"files": [str(files["a"])], "metadata": {"role": "signal"}},
        "HZJpsi": {"files": [str(files["jpsi"])], "metadata": {"role": "signal"}},
        "Zjets": {"files": [str(files["zjets"])], "metadata": {"role": "background"}},
    }
    return AnalysisOutput(run_processor(processor, fileset, treename="Delphes",
                                        schema=HzxDelphesSchema,
                                        executor=ExecutorOptions(progress=False),
                                        run=RunOptions(chunksize=70)))


def reference_values(path, pid, field, copies):
    events = read_events(path)
    values = []
    for particles in events["Particle"]:
        for p in particles:
            if p["PID"] != pid:
                continue
            d1 = p["D1"]
            is_copy = 0 <= d1 < len(particles) and particles[d1]["PID"] == pid
            if copies == "all" or not is_copy:
                values.append(p[field])
    return np.asarray(values, dtype=float)


@pytest.mark.parametrize("copies", ["last", "all"])
def test_truth_histograms_match_particle_loops(files, copies):
    out = run(TruthProcessor(TruthOptions(copies=copies)), files)
    for dataset, key in (("HZa_2p5", "a"), ("HZJpsi", "jpsi"), ("Zjets", "zjets")):
        for pid, (short, _, _) in RESONANCES.items():
            masses = reference_values(files[key], pid, "Mass", copies)
            assert out[dataset]["counts"][str(pid)] == len(masses)
            h = out[dataset][f"{short}_mass"]
            want, _ = np.histogram(masses.astype(np.float32).astype(float), bins=h.axes[0].edges)
            np.testing.assert_array_equal(h.values(), want)
            if pid != 23:
                pts = reference_values(files[key], pid, "PT", copies).astype(np.float32)
                want_pt, _ = np.histogram(pts.astype(float), bins=out[dataset][f"{short}_pt"].axes[0].edges)
                np.testing.assert_array_equal(out[dataset][f"{short}_pt"].values(), want_pt)
    # the samples contain what they should: a's in one, J/ψ's in the other, neither in Z+jets
    assert out["HZa_2p5"]["counts"]["36"] > 0 and out["HZa_2p5"]["counts"]["443"] == 0
    assert out["HZJpsi"]["counts"]["443"] > 0 and out["Zjets"]["counts"]["36"] == 0
    if copies == "last":  # one a per event with jets, counted once, not once per copy
        all_copies = run(TruthProcessor(TruthOptions(copies="all")), files)
        assert 2 * out["HZa_2p5"]["counts"]["36"] == all_copies["HZa_2p5"]["counts"]["36"]


def test_leading_jet_and_muon(files):
    out = run(TruthProcessor(), files)
    events = read_events(files["zjets"])
    lead_pt = [max(j["PT"] for j in jets) for jets in events["Jet"] if jets]
    lead_mu = [max(m["PT"] for m in mus) for mus in events["Muon"] if mus]
    assert out["Zjets"]["leading_jet_pt"].sum() == sum(1 for x in lead_pt if x < 500)
    assert out["Zjets"]["leading_muon_pt"].sum() == sum(1 for x in lead_mu if x < 500)


def test_truth_and_signal_background_figures(files, tmp_path):
    out = run(TruthProcessor(), files)
    paths = truth_plots.plot_output(out, tmp_path)
    names = {p.name for p in paths}
    assert "truth_a_mass.png" not in names  # a only in one sample → single-sample figure
    assert "truth_HZa_2p5_a_mass.png" in names and "truth_HZJpsi_jpsi_mass.pdf" in names
    assert "truth_z_mass.png" in names  # Z in all samples → overlay
    assert "signal_vs_background_leading_jet_pt.png" in names
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)


def test_compare_with_root_th1_and_hepdata(files, tmp_path):
    out = run(TruthProcessor(), files)
    h = out["Zjets"]["leading_muon_pt"]
    # a reference TH1 with 4× coarser bins: written with uproot from a numpy histogram
    counts = h.values().reshape(25, 4).sum(axis=1) * 3.0
    edges = h.axes[0].edges[::4]
    with uproot.recreate(tmp_path / "atlas.root") as f:
        f["muon_pt"] = (counts, edges)
    c = compare_plots.compare_arrays(h, compare_plots.read_reference(tmp_path / "atlas.root"))
    ok = c["ref_values"] > 0
    np.testing.assert_allclose(c["ratio"][ok], 1.0, rtol=1e-12)  # same shape, other normalisation
    paths = compare_plots.plot_output(out, tmp_path / "plots", reference=tmp_path / "atlas.root",
                                      histogram="leading_muon_pt", dataset="Zjets")
    assert [p.name for p in paths] == ["compare_Zjets_leading_muon_pt.png",
                                       "compare_Zjets_leading_muon_pt.pdf"]
    table = {"independent_variables": [{"header": {"name": "pT"},
                                        "values": [{"low": float(a), "high": float(b)}
                                                   for a, b in itertools.pairwise(edges)]}],
             "dependent_variables": [{"header": {"name": "ATLAS truth"},
                                      "values": [{"value": float(v), "errors": [{"symerror": 1.0}]}
                                                 for v in counts]}]}
    (tmp_path / "table.yaml").write_text(yaml.safe_dump(table))
    ref = compare_plots.read_reference(tmp_path / "table.yaml")
    np.testing.assert_array_equal(ref["edges"], edges)
    np.testing.assert_array_equal(ref["values"], counts)
    assert ref["label"] == "ATLAS truth"
    bad = {**table, "independent_variables": [{"values": [{"low": 1.5, "high": 7.0}]}]}
    bad["dependent_variables"] = [{"values": [{"value": 1.0}]}]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigurationError, match=r"1\.5 is not an edge"):
        compare_plots.compare_arrays(h, compare_plots.read_reference(tmp_path / "bad.yaml"))


def test_hza2018_figures_and_cutflow_table(files, tmp_path):
    out = run(HZa2018Processor(), files)
    paths = hza_plots.plot_output(out, tmp_path, log="true")
    names = {p.name for p in paths}
    assert {"hza2018_hist_z_mass.png", "hza2018_cutflow.png", "hza2018_cutflow.txt"} <= names
    table = (tmp_path / "hza2018_cutflow.txt").read_text().splitlines()
    assert table[1].startswith("Inclusive") and "150 / 150" in table[1]
    assert table[-1].startswith("SR")
