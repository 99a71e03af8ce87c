"""``hzx run hza2018 --root``: SimpleAnalysis-named TH1Ds read back equal the processor's hists."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import uproot
from delphes_fixtures import make_events, read_events, ref_hza2018_event, write_delphes

from hzx.errors import ConfigurationError
from hzx.io import load_output
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.hza2018 import CUTS, HISTOGRAMS, HZa2018Options, HZa2018Processor
from hzx.processors.hza2018_root import regions_table, root_paths, write_output
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.scripts.cli import main

#: addHistogram(...) of the study's HZa_2018.cxx: name → (bins, low, high)
SIMPLEANALYSIS = {"hist_jet1pt": (100, 0, 2000), "hist_jet2pt": (100, 0, 2000),
                  "hist_jet3pt": (100, 0, 2000), "hist_jet4pt": (100, 0, 2000),
                  "hist_electron_pt": (100, 0, 500), "hist_muon_pt": (100, 0, 500),
                  "hist_jet1mass": (40, 0, 20), "hist_z_mass": (60, 60, 120),
                  "hist_mllj": (100, 0, 300)}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("hzaroot")
    return {"sig": write_delphes(base / "sig.root", make_events(300, seed=41)),
            "bkg": write_delphes(base / "bkg.root", make_events(120, seed=42, signal_pid=0))}


def run(files, options=None, datasets=("sig",)):
    fileset = {ds: {"files": [str(files[ds])], "metadata": {"role": "signal"}} for ds in datasets}
    return run_processor(HZa2018Processor(options), fileset, treename="Delphes",
                         schema=HzxDelphesSchema, executor=ExecutorOptions(progress=False),
                         run=RunOptions(chunksize=130))


def reference(path, weighted):
    """Fills per histogram, and (count, Σw, Σw²) per cut, from the per-event loop reference."""
    events = read_events(path)
    fills = {name: 0 for name in HISTOGRAMS}
    regions = {cut: [0, 0.0, 0.0] for cut in CUTS}
    for i in range(len(events["Jet"])):
        w = events["Event"][i][0]["Weight"] if weighted else 1.0
        result = ref_hza2018_event({k: events[k][i] for k in ("Jet", "Muon", "Electron")})
        for name, values in result["fills"].items():
            fills[name] += len(values)
        for cut in result["passed"]:
            regions[cut][0] += 1
            regions[cut][1] += w
            regions[cut][2] += w * w
    return fills, regions


@pytest.mark.parametrize("weighted", [False, True])
def test_th1s_read_back_equal_the_processor_histograms(files, tmp_path, weighted):
    out = run(files, HZa2018Options(use_event_weight=weighted))
    paths = write_output(out, tmp_path / "HZA2018.root")
    assert paths == [tmp_path / "HZA2018.root", tmp_path / "HZA2018.txt"]
    fills, _ = reference(files["sig"], weighted)
    acc = out["sig"]
    with uproot.open(paths[0]) as f:
        # top-level TH1Ds named as SimpleAnalysis names them, nothing else (no cutflow histogram)
        assert f.classnames() == {f"{name};1": "TH1D" for name in SIMPLEANALYSIS}
        for name, (bins, low, high) in SIMPLEANALYSIS.items():
            th1 = f[name]
            h = acc[name]
            assert th1.member("fTitle") == name
            assert th1.member("fXaxis").member("fNbins") == bins
            assert (th1.member("fXaxis").member("fXmin"), th1.member("fXaxis").member("fXmax")) \
                == (low, high)
            np.testing.assert_array_equal(th1.values(flow=True), h.values(flow=True))
            np.testing.assert_array_equal(th1.variances(flow=True), h.variances(flow=True))
            np.testing.assert_allclose(th1.axis().edges(), h.axes[0].edges, rtol=1e-15, atol=0)
            assert th1.member("fEntries") == fills[name] == acc["entries"][name]
            assert th1.member("fTsumw2") == pytest.approx(h.variances().sum(), rel=1e-12)
    if weighted:  # the weights are not all 1: Σw² differs from Σw, and the file keeps both
        assert not np.array_equal(acc["hist_z_mass"].values(), acc["hist_z_mass"].variances())
    assert acc["hist_z_mass"].sum().value > 100 and acc["entries"]["hist_jet4pt"] > 0


@pytest.mark.parametrize("weighted", [False, True])
def test_region_file_is_simpleanalysis_csv(files, tmp_path, weighted):
    out = run(files, HZa2018Options(use_event_weight=weighted))
    write_output(out, tmp_path / "HZA2018.root")
    _, regions = reference(files["sig"], weighted)
    n, sumw, sumw2 = regions["Inclusive"]
    lines = (tmp_path / "HZA2018.txt").read_text().splitlines()
    assert lines[0] == "SR,events,acceptance,err"
    assert [line.split(",")[0] for line in lines[1:]] == ["All", "Inclusive", "SR"]
    all_row = lines[1].split(",")
    assert int(all_row[1]) == n == 300
    assert float(all_row[2]) == pytest.approx(sumw, rel=1e-5)
    assert float(all_row[3]) == pytest.approx(sumw2, rel=1e-5)
    for line, region in zip(lines[2:], ("Inclusive", "SR"), strict=True):
        count, acc, err = line.split(",")[1:]
        k, w, w2 = regions[region]
        assert int(count) == k
        assert float(acc) == pytest.approx(w / sumw, rel=1e-5)
        assert float(err) == pytest.approx(math.sqrt(w2) / sumw, rel=1e-5)
    assert 0 < regions["SR"][0] < 300


def test_region_table_numbers_print_as_cpp_streams():
    cutflow = {"Inclusive": {"raw": 600, "weighted": 600.0, "sumw2": 600.0},
               "SR": {"raw": 123, "weighted": 123.0, "sumw2": 123.0}}
    assert regions_table(cutflow, regions=("Inclusive", "SR")) == (
        "SR,events,acceptance,err\nAll,600,600,600\nInclusive,600,1,0.0408248\n"
        "SR,123,0.205,0.0184842\n")
    assert regions_table(cutflow, ("SR",), prefix="HZa2018__").splitlines()[1:] == [
        "HZa2018__All,600,600,600", "HZa2018__SR,123,0.205,0.0184842"]
    with pytest.raises(ConfigurationError, match="no region SR"):
        regions_table({"Inclusive": cutflow["Inclusive"]})


def test_one_file_per_dataset(files, tmp_path):
    assert root_paths(tmp_path / "HZa2018.root", ["a"]) == {"a": tmp_path / "HZa2018.root"}
    assert root_paths(tmp_path / "HZa2018.root", ["a", "b"]) == {
        "a": tmp_path / "a" / "HZa2018.root", "b": tmp_path / "b" / "HZa2018.root"}
    assert root_paths(str(tmp_path / "HZa2018_{dataset}.root"), ["a", "b"]) == {
        "a": tmp_path / "HZa2018_a.root", "b": tmp_path / "HZa2018_b.root"}
    with pytest.raises(ConfigurationError, match=r"must end in \.root"):
        root_paths(tmp_path / "HZa2018.txt", ["a"])
    out = run(files, datasets=("sig", "bkg"))
    paths = write_output(out, tmp_path / "HZa2018.root")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        "bkg/HZa2018.root", "bkg/HZa2018.txt", "sig/HZa2018.root", "sig/HZa2018.txt"]
    with uproot.open(tmp_path / "bkg" / "HZa2018.root") as f:
        np.testing.assert_array_equal(f["hist_mllj"].values(), out["bkg"]["hist_mllj"].values())


def test_cli_run_root(files, tmp_path, capsys):
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"HZA_mA8.00GeV": {"files": [str(files["sig"])],
                                                     "metadata": {"role": "signal"}}}))
    target = tmp_path / "HZA2018.root"
    assert main(["run", "hza2018", "--fileset", str(fileset), "--out", str(tmp_path / "o.coffea"),
                 "--root", str(target), "--executor", "iterative", "--no-progress"]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    saved = load_output(tmp_path / "o.coffea")["HZA_mA8.00GeV"]
    with uproot.open(target) as f:
        for name in SIMPLEANALYSIS:
            np.testing.assert_array_equal(f[name].values(flow=True), saved[name].values(flow=True))
    assert main(["run", "truth", "--fileset", str(fileset), "--out", str(tmp_path / "t.coffea"),
                 "--root", str(target)]) == 2  # SimpleAnalysis histograms exist for hza2018 only
