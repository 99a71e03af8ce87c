"""HZa2018 and truth figures: sample labels, σ·L / unit / entries normalisation, y labels, x ranges,
the simulation label, and the CLI flags (--norm, --lumi-fb)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.errors import ConfigurationError
from hzx.io import save_output
from hzx.plotting import hza2018 as hza_plots
from hzx.plotting import truth as truth_plots
from hzx.plotting.conventions import (
    display_range,
    mass_from_name,
    resolve_norm,
    sample_label,
    sample_labels,
    simulation_text,
    y_label,
)
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.hza2018 import HZa2018Options, HZa2018Processor
from hzx.processors.truth import TruthProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.scripts.cli import main

HZA = r"$H \rightarrow Za$"
SIG, BKG = "hza_ma1p00_MPIon_ISRon_FSRon_HADon", "zjets_MPIon_ISRon_FSRon_HADon"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("plots")
    return {"sig": write_delphes(base / "sig.root", make_events(160, seed=51, signal_mass=1.0)),
            "bkg": write_delphes(base / "bkg.root", make_events(140, seed=52, signal_pid=0))}


def fileset(files, xsec=True, generator="hzx-pythia8"):
    def meta(role, xs):
        m = {"role": role, "generator": generator}
        if xsec:
            m["xsec_pb"] = xs
        return m
    return {SIG: {"files": [str(files["sig"])], "metadata": meta("signal", 0.008)},
            BKG: {"files": [str(files["bkg"])], "metadata": meta("background", 2000.0)}}


def run(processor, fs):
    return run_processor(processor, fs, treename="Delphes", schema=HzxDelphesSchema,
                         executor=ExecutorOptions(progress=False), run=RunOptions(chunksize=200))


@pytest.fixture(scope="module")
def hza_out(files):
    return run(HZa2018Processor(), fileset(files))


@pytest.fixture(scope="module")
def truth_out(files):
    return run(TruthProcessor(), fileset(files, xsec=False, generator=None))


def test_sample_labels_from_names_and_metadata():
    assert sample_label(SIG) == HZA + ", $m_a$ = 1 GeV"
    assert sample_label("hza_ma0p50_MPIon_ISRon_FSRon_HADon") == HZA + ", $m_a$ = 0.5 GeV"
    assert sample_label("HZA_mA8.00GeV") == HZA + ", $m_a$ = 8 GeV"  # the study's file names
    assert sample_label("HZa_2p5") == HZA + ", $m_a$ = 2.5 GeV"
    assert sample_label("HZJpsi") == r"$H \rightarrow Z J/\psi$"
    assert sample_label("HZetac") == r"$H \rightarrow Z \eta_c$"
    assert sample_label("Zjets") == sample_label(BKG) == "$Z$+jets"
    assert sample_label("bkg1", {"process": "zjets"}) == "$Z$+jets"
    assert sample_label("sample_7", {"process": "hza", "ma": 4}) == HZA + ", $m_a$ = 4 GeV"
    assert sample_label("gen_1", {"process": "hza", "signal_mass_GeV": 0.5}) == \
        HZA + ", $m_a$ = 0.5 GeV"  # the metadata of `hzx samples fileset --manifest`
    assert sample_label(SIG, {"label": "my signal"}) == "my signal"
    assert sample_label("mystery") == "mystery"
    assert mass_from_name("zjets_MPIon") is None
    # equal labels are told apart by the generator switches that are off, else by name
    assert sample_labels({SIG: {}, SIG.replace("MPIon", "MPIoff"): {}}) == {
        SIG: HZA + ", $m_a$ = 1 GeV (nominal)",
        SIG.replace("MPIon", "MPIoff"): HZA + ", $m_a$ = 1 GeV (MPI off)"}
    assert sample_labels({"Zjets_powheg": {}, "Zjets_mg5": {}}) == {
        "Zjets_powheg": "$Z$+jets (Zjets_powheg)", "Zjets_mg5": "$Z$+jets (Zjets_mg5)"}


def test_normalisation_choice_and_labels():
    with_xs = [{"_dataset": "a", "xsec_pb": 1.0}, {"_dataset": "b", "xsec_pb": 2.0}]
    without = [{"_dataset": "a", "xsec_pb": 1.0}, {"_dataset": "b"}]
    assert resolve_norm("auto", with_xs) == "xsec"
    assert resolve_norm("auto", without) == "unit"
    assert resolve_norm(None, with_xs, auto="entries") == "entries"
    assert resolve_norm("ENTRIES", without) == "entries"
    with pytest.raises(ConfigurationError, match="missing for b"):
        resolve_norm("xsec", without)
    with pytest.raises(ConfigurationError, match="norm must be one of"):
        resolve_norm("lumi", with_xs)
    edges = np.linspace(0, 2000, 101)
    assert y_label("xsec", edges, "leading jet $p_T$ [GeV]", lumi_fb=139.0) == \
        "Events / 20 GeV, $L$ = 139 fb$^{-1}$"
    assert y_label("unit", edges, "x [GeV]", counted="Muons") == "Fraction of muons / 20 GeV"
    assert y_label("entries", np.linspace(-5, 5, 101), r"a $\eta$") == "Entries / 0.1"
    assert y_label("unit", [0, 1, 3], "m [GeV]") == "Fraction of events / bin"
    assert simulation_text([{"generator": "hzx-pythia8"}] * 2) == "hzx simulation"
    assert simulation_text([{"generator": "hzx-pythia8"}, {}]) == "Simulation"


def test_display_range_clips_to_populated_bins():
    edges = np.linspace(0, 2000, 101)  # 20 GeV bins
    v = np.zeros(100)
    v[1:10] = 10.0  # 20–200 GeV populated
    assert display_range(edges, [v]) == (0.0, 220.0)  # starts at 0, one bin of padding
    w = np.zeros(100)
    w[50:60] = 1.0  # 1000–1200 GeV: far from 0, padded by one bin on each side
    assert display_range(edges, [w]) == (980.0, 1220.0)
    assert display_range(edges, [v, w]) == (0.0, 1320.0)  # the union, padded by 10 % (6 bins)
    tail = v.copy()
    tail[90] = 0.01  # 0.01 of 90.01 entries beyond the 99.9 % quantile: clipped away
    assert display_range(edges, [tail]) == (0.0, 220.0)
    assert display_range(edges, [np.zeros(100)]) == (0.0, 2000.0)


def test_hza2018_series_at_sigma_lumi(hza_out):
    spec = hza_plots.histogram_series(hza_out, "hist_jet1pt")
    assert spec["norm"] == "xsec" and spec["lumi_fb"] == 139.0
    assert spec["ylabel"] == "Events / 20 GeV, $L$ = 139 fb$^{-1}$"
    assert spec["simulation"] == "hzx simulation"
    by_ds = {s["dataset"]: s for s in spec["series"]}
    assert by_ds[SIG]["label"] == HZA + ", $m_a$ = 1 GeV" and by_ds[BKG]["label"] == "$Z$+jets"
    for ds, xs, n in ((SIG, 0.008, 160), (BKG, 2000.0, 140)):
        assert hza_out[ds]["cutflow"]["Inclusive"]["weighted"] == n
        assert by_ds[ds]["scale"] == pytest.approx(139.0 * 1000.0 * xs / n, rel=1e-12)
        np.testing.assert_allclose(by_ds[ds]["values"],
                                   hza_out[ds]["hist_jet1pt"].values() * by_ds[ds]["scale"],
                                   rtol=1e-12)
    assert spec["xlim"][0] == 0.0 and 100.0 <= spec["xlim"][1] <= 800.0  # not 2000 GeV
    fixed = hza_plots.histogram_series(hza_out, "hist_z_mass")
    assert fixed["xlim"] == (60.0, 120.0)  # the Z window's own axis is kept whole
    other = hza_plots.histogram_series(hza_out, "hist_jet1pt", lumi_fb="36.1", xrange="full",
                                       signal_scale=1000)
    assert other["ylabel"].endswith("$L$ = 36.1 fb$^{-1}$") and other["xlim"] == (0.0, 2000.0)
    boosted = {s["dataset"]: s for s in other["series"]}
    assert boosted[SIG]["label"] == HZA + r", $m_a$ = 1 GeV ($\times$1000)"
    np.testing.assert_allclose(boosted[SIG]["values"], by_ds[SIG]["values"] * 36.1 / 139 * 1000,
                               rtol=1e-12)
    np.testing.assert_allclose(boosted[BKG]["values"], by_ds[BKG]["values"] * 36.1 / 139,
                               rtol=1e-12)
    flow = hza_plots.cutflow_series(hza_out)
    assert flow["ylabel"] == "Events, $L$ = 139 fb$^{-1}$"
    assert flow["series"][0]["values"][0] == pytest.approx(139.0 * 1000.0 * 0.008, rel=1e-12)


def test_hza2018_series_unit_and_entries(hza_out, files):
    unit = hza_plots.histogram_series(hza_out, "hist_muon_pt", norm="unit")
    assert unit["ylabel"] == "Fraction of muons / 5 GeV" and unit["lumi_fb"] is None
    for s in unit["series"]:
        assert s["values"].sum() == pytest.approx(1.0, rel=1e-12)
    entries = hza_plots.histogram_series(hza_out, "hist_muon_pt", norm="entries")
    assert entries["ylabel"] == "Entries / 5 GeV"
    np.testing.assert_array_equal(entries["series"][0]["values"],
                                  hza_out[SIG]["hist_muon_pt"].values())
    # without cross-sections, auto normalises to unit sum; not hzx-generated: "Simulation"
    plain = run(HZa2018Processor(HZa2018Options()), fileset(files, xsec=False, generator=None))
    spec = hza_plots.histogram_series(plain, "hist_mllj")
    assert spec["norm"] == "unit" and spec["simulation"] == "Simulation"
    assert hza_plots.cutflow_series(plain)["series"][1]["values"][0] == 1.0
    with pytest.raises(ConfigurationError, match="xsec_pb"):
        hza_plots.histogram_series(plain, "hist_mllj", norm="xsec")


def test_truth_series_follow_the_study(truth_out):
    single = truth_plots.truth_series(truth_out, "a_mass")  # a only in the signal sample
    assert [s["dataset"] for s in single["series"]] == [SIG]
    assert single["norm"] == "entries" and single["ylabel"] == "Entries / 0.1 GeV"
    overlay = truth_plots.truth_series(truth_out, "z_mass")
    assert overlay["norm"] == "unit" and overlay["ylabel"] == "Fraction of particles / 1 GeV"
    assert [s["label"] for s in overlay["series"]] == [HZA + ", $m_a$ = 1 GeV", "$Z$+jets"]
    assert overlay["simulation"] == "Simulation"
    eta = truth_plots.truth_series(truth_out, "a_eta")
    assert eta["xlim"] == (-5.0, 5.0)
    pt = truth_plots.truth_series(truth_out, "leading_jet_pt", auto="unit")
    assert pt["ylabel"] == "Fraction of events / 5 GeV"
    assert all(s["values"].sum() == pytest.approx(1.0) for s in pt["series"])
    counts = truth_plots.truth_series(truth_out, "z_mass", norm="entries")
    np.testing.assert_array_equal(counts["series"][1]["values"],
                                  truth_out[BKG]["z_mass"].values())


def test_cli_plots_with_norm_and_lumi(hza_out, files, tmp_path, capsys):
    out = tmp_path / "hza.coffea"
    save_output(hza_out, out)
    assert main(["plot", "hza2018", str(out), "--out", str(tmp_path / "p"), "--norm", "xsec",
                 "--lumi-fb", "36.1"]) == 0
    written = {Path(line.split()[-1]).name for line in capsys.readouterr().out.splitlines()}
    assert {"hza2018_hist_jet1pt.png", "hza2018_hist_jet1pt.pdf", "hza2018_cutflow.txt"} <= written
    table = (tmp_path / "p" / "hza2018_cutflow.txt").read_text().splitlines()
    assert "(raw / weighted / at σ·L)" in table[0]
    assert table[1].split()[:4] == ["Inclusive", "160", "/", "160"]
    assert table[1].split()[5] == f"{36.1 * 1000 * 0.008:.4g}"
    plain = tmp_path / "plain.coffea"
    save_output(run(HZa2018Processor(), fileset(files, xsec=False)), plain)
    assert main(["plot", "hza2018", str(plain), "--out", str(tmp_path / "q"),
                 "--norm", "xsec"]) == 2  # one-line error: no cross-section
    assert "xsec_pb" in capsys.readouterr().err
    assert main(["plot", "hza2018", str(plain), "--out", str(tmp_path / "q"),
                 "--lumi-fb", "-1"]) == 2


def test_library_plotting_never_selects_a_backend():
    folder = Path(hza_plots.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert not (node.func.attr == "use" and isinstance(node.func.value, ast.Name)
                            and node.func.value.id == "matplotlib"), f"{path.name} calls it"


def test_fileset_metadata_reaches_the_figures(hza_out):
    # the normalisation comes from the run's provenance (the fileset), not from the accumulators
    provenance = hza_out["_provenance"]["fileset"]
    assert json.loads(json.dumps(provenance[SIG]["metadata"]))["xsec_pb"] == 0.008
