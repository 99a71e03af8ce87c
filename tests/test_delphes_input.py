"""Delphes input: a real Delphes 3.5 file, files of older versions, missing collections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot
from coffea.nanoevents import NanoEventsFactory
from delphes_fixtures import (
    lower_tracks,
    make_events,
    read_events,
    ref_associate,
    ref_observables,
    rel_close,
    write_delphes,
)

from hzx.errors import InputFileError
from hzx.processors.delphes import HzxDelphesSchema, missing_optional_fields
from hzx.processors.hza2018 import HZa2018Processor
from hzx.processors.registry import build
from hzx.processors.tracks import TrackObservablesProcessor
from hzx.processors.truth import TruthProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "delphes" / \
    "eic-delphes-3.5-proton-gun.root"
QUIET = ExecutorOptions(progress=False)


def run(processor, path, dataset="d", chunksize=100_000):
    return run_processor(processor, {dataset: [str(path)]}, treename="Delphes",
                         schema=HzxDelphesSchema, executor=QUIET,
                         run=RunOptions(chunksize=chunksize))


@pytest.mark.skipif(not REAL.is_file(), reason="needs ../shared/data/delphes")
def test_real_delphes_file_reads_with_our_schema():
    events = NanoEventsFactory.from_root({str(REAL): "Delphes"}, schemaclass=HzxDelphesSchema,
                                         mode="eager").events()
    assert len(events) == 1000
    direct = uproot.open(REAL)["Delphes"]["Track/Track.PT"].array(library="np")
    assert sum(len(x) for x in direct) == int(np.sum([len(x) for x in events.Track.PT]))
    assert set(events.fields) >= {"Particle", "Track", "Tower"}


@pytest.mark.skipif(not REAL.is_file(), reason="needs ../shared/data/delphes")
def test_real_file_without_jets_is_rejected_naming_the_collection():
    for processor in (TrackObservablesProcessor(), HZa2018Processor()):
        with pytest.raises(InputFileError, match=r"Jet/Jet\.PT") as err:
            run(processor, REAL)
        assert "eic-delphes-3.5-proton-gun.root" in str(err.value)


@pytest.mark.skipif(not REAL.is_file(), reason="needs ../shared/data/delphes")
def test_truth_processor_on_the_real_file():
    out = run(TruthProcessor(), REAL, chunksize=400)["d"]
    assert out["metadata"]["events_read"] == 1000
    assert out["metadata"]["entries_by_file"] == {str(REAL): 1000}
    # a proton gun: no Z, a, J/ψ or η_c; and no jets or muons to fill
    assert out["counts"] == {"23": 0, "441": 0, "443": 0, "36": 0}
    assert out["leading_jet_pt"].sum() == 0 and out["leading_muon_pt"].sum() == 0


def _tracks_rows(out):
    chunks = sorted(out["columns"]["chunks"], key=lambda c: c["entry_start"])
    return (np.concatenate([c["ghost_track_vars"] for c in chunks]),
            np.concatenate([c["track_features"] for c in chunks]))


def test_file_without_track_mass_uses_massless_tracks(tmp_path):
    events = make_events(60, seed=4)
    old = write_delphes(tmp_path / "delphes-3.4.root", events, drop={"Track": ("Mass",)})
    assert missing_optional_fields(uproot.open(old)["Delphes"].keys(), "Track", "Track") == ["Mass"]
    matrix, feats = _tracks_rows(run(TrackObservablesProcessor(), old)["d"])
    assert np.all(feats[:, :, 7] == 0.0)  # the mass feature is the documented default
    back = read_events(old)
    rows = []
    for e, jets in enumerate(back["Jet"]):
        tracks = lower_tracks(back["Track"][e])  # no Mass field → 0
        assert all(t["mass"] == 0.0 for t in tracks)
        for j in jets:
            jet = {"eta": j["Eta"], "phi": j["Phi"]}
            rows.append(ref_observables(jet, ref_associate(jet, tracks)))
    assert len(rows) == len(matrix) > 50
    for got, want in zip(matrix, rows, strict=True):
        assert all(rel_close(g, w) for g, w in zip(got, want, strict=True))


def test_eflowtrack_is_used_when_there_is_no_track_collection(tmp_path):
    events = make_events(40, seed=8)
    with_track = write_delphes(tmp_path / "track.root", events)
    with_eflow = write_delphes(tmp_path / "eflow.root", events, rename={"Track": "EFlowTrack"})
    a = run(TrackObservablesProcessor(), with_track)["d"]
    b = run(TrackObservablesProcessor(), with_eflow)["d"]
    assert b["metadata"]["track_collections"] == {"EFlowTrack"}
    np.testing.assert_array_equal(_tracks_rows(a)[0], _tracks_rows(b)[0])


def test_missing_track_collections_error_names_them(tmp_path):
    events = make_events(10, seed=9)
    path = write_delphes(tmp_path / "notracks.root", events,
                         collections=("Event", "Particle", "Jet", "Electron", "Muon"))
    with pytest.raises(Exception, match="Track or EFlowTrack"):
        run(TrackObservablesProcessor(), path)


def test_registry_builds_the_delphes_processors_with_our_schema():
    processor, spec, schema = build("tracks", ["r_assoc=0.3", "leading_jet_only=true"])
    assert processor.options.r_assoc == 0.3 and processor.options.leading_jet_only
    assert schema is HzxDelphesSchema and spec.treename == "Delphes"
    processor, _, _ = build("hza2018", ["z_candidate=closest"])
    assert processor.options.z_candidate == "closest"
    processor, _, _ = build("truth", [])
    assert processor.options.copies == "last"
