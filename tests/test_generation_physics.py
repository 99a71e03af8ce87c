"""Generation + fast simulation: physics values on a few hundred real Pythia 8 events."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hzx.generation import fileset_from_manifest, generate
from hzx.processors.kinematics import delta_r2
from hzx.runner import ExecutorOptions

pytestmark = pytest.mark.slow
ITER = ExecutorOptions(executor="iterative", progress=False, retries=0)


def _events(manifest):
    from coffea.nanoevents import NanoEventsFactory

    from hzx.processors.delphes import HzxDelphesSchema  # reads the default layout (Jet.PT)

    arrays = []
    for path in manifest.file_paths:
        arrays.append(NanoEventsFactory.from_root({path: "Delphes"}, schemaclass=HzxDelphesSchema,
                                                  mode="eager").events())
    return arrays[0] if len(arrays) == 1 else ak.concatenate(arrays)


def _dilepton_masses(events) -> np.ndarray:
    out = []
    for col in (events.Electron, events.Muon):
        two = col[(ak.num(col) >= 2)]
        pair = two[:, 0] + two[:, 1]
        opposite = two[:, 0].Charge != two[:, 1].Charge
        out.append(ak.to_numpy(pair.mass[opposite]))
    return np.concatenate(out)


@pytest.fixture(scope="module")
def zjets(tmp_path_factory):
    out = tmp_path_factory.mktemp("zjets")
    manifest = generate("zjets", events=300, seed=11, out=out, executor=ITER, block_size=150,
                        z_decays="emu", pthat_min=20.0)
    return manifest, _events(manifest)


def test_zjets_manifest_and_files(zjets):
    manifest, events = zjets
    assert manifest.events == 300 and len(events) == 300
    assert [f["block"] for f in manifest.files] == [0, 1]
    data = json.loads(Path(manifest.path).read_text())
    assert data["provenance"]["step"] == "generate"
    # Pythia's σ(Z+jet, p̂T > 20 GeV, Z → ee, μμ): O(100 pb)–O(1 nb), with its uncertainty
    assert 50 < manifest.xsec_pb < 5000
    assert 0 < manifest.xsec_err_pb < 0.3 * manifest.xsec_pb
    assert events.Event.CrossSection[0] == pytest.approx(manifest.files[0]["sigma_pb"], rel=1e-5)


def test_delphes_layout(zjets):
    manifest, _ = zjets
    tree = uproot.open(manifest.file_paths[0])["Delphes"]
    keys = set(tree.keys())
    for name in ("Particle", "Track", "EFlowTrack", "EFlowPhoton", "EFlowNeutralHadron", "Tower",
                 "Jet", "GenJet", "Electron", "Muon", "Photon", "MissingET", "ScalarHT", "Event"):
        assert f"{name}_size" in keys
    # default layout "study": branches named as Delphes's leaves, found as tree["Jet.PT"]
    for branch in ("Jet.PT", "Particle.M1", "Particle.D2", "Track.D0",
                   "MissingET.MET", "Tower.Eem", "Electron.IsolationVar"):
        assert branch in keys
        assert branch in tree
    assert tree["Jet.PT"].interpretation.content.from_dtype == np.dtype(">f4")
    assert tree["Particle.PID"].interpretation.content.from_dtype == np.dtype(">i4")


def test_z_peak_in_reconstructed_leptons(zjets):
    _, events = zjets
    mll = _dilepton_masses(events)
    window = mll[(mll > 71) & (mll < 111)]
    assert len(window) > 60  # acceptance² × efficiency² ≈ 0.4 of Z → ee, μμ events
    assert abs(np.median(window) - 91.19) < 2.0


def test_truth_record_links(zjets):
    _, events = zjets
    p = events.Particle[0]
    pid, m1, d1, d2 = (ak.to_numpy(p[f]) for f in ("PID", "M1", "D1", "D2"))
    assert pid[0] == 2212 and pid[1] == 2212  # the beams
    z = np.flatnonzero(pid == 23)
    assert len(z) >= 1
    last = z[-1]
    daughters = pid[d1[last]: d2[last] + 1]
    assert sorted(np.abs(daughters).tolist()) in ([11, 11], [13, 13])
    assert np.all(m1[d1[last]: d2[last] + 1] == last)
    final = ak.to_numpy(p.Status) == 1
    charge = ak.to_numpy(p.Charge)[final]
    assert set(np.unique(charge)) <= {-1, 0, 1}


def test_track_multiplicity_and_jets(zjets):
    _, events = zjets
    n_tracks = ak.to_numpy(ak.num(events.Track))
    # pp at 13 TeV with MPI: tens of tracks with pT > 0.1 GeV in |η| < 2.5 per event
    assert 20 < n_tracks.mean() < 250
    assert ak.all(abs(events.Track.eta) <= 2.5)
    jets = events.Jet
    assert ak.all(jets.pt > 20)
    lead = ak.to_numpy(ak.firsts(jets.pt)[ak.num(jets) > 0])
    assert np.mean(ak.num(jets) > 0) > 0.6  # p̂T > 20 GeV: a recoiling jet most of the time
    counts, _ = np.histogram(lead, bins=[40, 80, 160, 320, 10_000])
    assert counts[0] > counts[1] > counts[2] >= counts[3]  # falling spectrum above the Z leptons
    # Delphes clusters every stable non-neutrino into gen-jets, the Z leptons too; the
    # gen-jets away from the reconstructed leptons are the reco jets' counterparts
    leptons = ak.concatenate([events.Electron, events.Muon], axis=1)
    pairs = ak.cartesian([events.GenJet, leptons], nested=True)
    g, lep = ak.unzip(pairs)
    near = ak.any(delta_r2(g.eta, g.phi, lep.eta, lep.phi) < 0.3**2, axis=-1)
    genjets = events.GenJet[~near]
    assert ak.mean(ak.num(genjets)) == pytest.approx(ak.mean(ak.num(jets)), abs=0.5)
    both = (ak.num(jets) > 0) & (ak.num(genjets) > 0)
    ratio = ak.to_numpy(jets.pt[both][:, 0] / genjets.pt[both][:, 0])
    assert abs(np.median(ratio) - 1.0) < 0.15  # energy flow + JES ≈ particle level
    # the Z recoils against the jets: MET is small (no neutrinos from Z → ee, μμ)
    assert np.median(ak.to_numpy(events.MissingET.MET)) < 40


def test_hza_truth_a_mass(tmp_path):
    manifest = generate("hza", ma=2.0, events=60, seed=3, out=tmp_path, executor=ITER,
                        mpi=False, block_size=60)
    events = _events(manifest)
    a = events.Particle[events.Particle.PID == 36]
    last = ak.to_numpy(ak.firsts(a.Mass[:, ::-1]))
    assert len(last) == 60
    assert np.all(np.abs(last - 2.0) <= 0.2 + 1e-6)  # window m_a ± 100 Γ, Γ = m_a/1000
    assert abs(np.median(last) - 2.0) < 0.01
    higgs = events.Particle[events.Particle.PID == 35]
    assert ak.all(abs(ak.firsts(higgs.Mass) - 125.0) < 0.5)
    assert "_MPIoff_" in manifest.dataset
    assert fileset_from_manifest(tmp_path)[manifest.dataset]["metadata"]["role"] == "signal"


def test_ggh4l_mini_tree_and_processor(tmp_path):
    manifest = generate("ggh4l", events=200, seed=5, out=tmp_path, executor=ITER, block_size=100)
    path = manifest.file_paths[0]
    tree = uproot.open(path)["mini"]
    ref = uproot.open(Path(__file__).resolve().parents[2] / "shared/data/atlas-opendata-2020-4lep"
                      / "data_A.4lep.root")["mini"]
    for name in ref.keys():  # same names, same element types
        assert name in tree.keys(), name
        mine, theirs = tree[name].interpretation, ref[name].interpretation
        dt = getattr(getattr(mine, "content", mine), "from_dtype", None)
        ref_dt = getattr(getattr(theirs, "content", theirs), "from_dtype", None)
        if not name.endswith("_n"):
            assert dt == ref_dt, name
    arrays = tree.arrays(["XSection", "SumWeights", "lep_pt", "lep_type", "mcWeight"])
    assert np.all(arrays.XSection == np.float32(manifest.xsec_pb))
    assert np.all(arrays.SumWeights == np.float32(200))
    assert ak.min(arrays.lep_pt) > 5000  # MeV
    # σ(gg→H)·BR(H→ZZ*→4ℓ, ℓ = e, μ) ≈ 48.6 pb × 1.25e-4 ≈ 6 fb at N3LO
    assert 0.004 < manifest.xsec_pb < 0.008
    fileset = fileset_from_manifest(tmp_path)
    meta = fileset[manifest.dataset]["metadata"]
    assert meta["sumw"] == 200 and meta["role"] == "signal" and meta["red_eff"] == 1.0
    from hzx.processors.fourlep import FourLeptonOptions, FourLeptonProcessor
    from hzx.processors.schemas import AtlasOpenDataSchema
    from hzx.runner import run_processor

    out = run_processor(FourLeptonProcessor(FourLeptonOptions()), fileset, treename="mini",
                        schema=AtlasOpenDataSchema, executor=ITER)
    h = out[manifest.dataset]["m4l"]
    values = h.values()
    centres = h.axes[0].centers
    assert values.sum() > 0
    peak = centres[np.argmax(values)]
    assert abs(peak - 125) < 6  # 5 GeV bins
    # expected events in 10 fb⁻¹: σ·L·ε ≈ 6 fb × 10 fb⁻¹ × ~0.4
    assert 5 < values.sum() < 60
