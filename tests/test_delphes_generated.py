"""The three Delphes processors on a file of the generation module (Pythia 8 + fast simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from delphes_fixtures import (
    lower_tracks,
    read_events,
    ref_associate,
    ref_hza2018_event,
    ref_observables,
    ref_truth,
    rel_close,
)

from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.hza2018 import CUTS, HZa2018Processor
from hzx.processors.tracks import TrackObservablesProcessor
from hzx.processors.truth import TruthProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor

pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")
pytestmark = pytest.mark.slow
QUIET = ExecutorOptions(progress=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from hzx.generation import fileset_from_manifest, generate

    out = tmp_path_factory.mktemp("gen")
    generate("hza", events=50, seed=5, out=out, ma=1.5,
             executor=ExecutorOptions(executor="iterative", progress=False))
    fileset = fileset_from_manifest(out)
    (dataset, entry), = fileset.items()
    (path,) = list(entry["files"])
    return fileset, dataset, path


def run(processor, fileset):
    return run_processor(processor, fileset, treename="Delphes", schema=HzxDelphesSchema,
                         executor=QUIET, run=RunOptions(chunksize=20))


def test_tracks_on_generated_file_match_reference(generated):
    fileset, dataset, path = generated
    out = run(TrackObservablesProcessor(), fileset)[dataset]
    chunks = sorted(out["columns"]["chunks"], key=lambda c: c["entry_start"])
    matrix = np.concatenate([c["ghost_track_vars"] for c in chunks])
    labels = np.concatenate([c["labels"] for c in chunks])
    targets = np.concatenate([c["targets"] for c in chunks])
    events = read_events(path)
    i = 0
    for e, jets in enumerate(events["Jet"]):
        tracks = lower_tracks(events["Track"][e])
        for j in jets:
            jet = {"eta": j["Eta"], "phi": j["Phi"]}
            want = ref_observables(jet, ref_associate(jet, tracks))
            assert all(rel_close(g, w) for g, w in zip(matrix[i], want, strict=True)), (e, j)
            label, target = ref_truth(j, events["Particle"][e])
            assert labels[i] == label
            assert (math.isnan(target) and math.isnan(targets[i])) or \
                targets[i] == pytest.approx(target, rel=1e-6)
            i += 1
    assert i == len(matrix) > 50
    assert (labels == 36).sum() > 10  # the a is found inside jets
    assert np.nanmedian(targets[labels == 36]) == pytest.approx(1.5, rel=1e-3)


def test_hza2018_and_truth_on_generated_file(generated):
    fileset, dataset, path = generated
    out = run(HZa2018Processor(), fileset)[dataset]
    events = read_events(path)
    counts = dict.fromkeys(CUTS, 0)
    for e in range(len(events["Jet"])):
        for cut in ref_hza2018_event({k: events[k][e] for k in ("Jet", "Muon", "Electron")})[
                "passed"]:
            counts[cut] += 1
    assert {c: out["cutflow"][c]["raw"] for c in CUTS} == counts
    truth = run(TruthProcessor(), fileset)[dataset]
    assert truth["counts"]["36"] == 50 and truth["counts"]["23"] == 50  # one a, one Z per event
    assert truth["a_mass"].values().sum() == 50


def test_hza2018_and_tracks_identical_on_both_backends(generated):
    """Issue 21 on a generated file (Pythia 8 + the CMS fast simulation, weighted events): the
    dask-awkward graph gives the Runner's histograms and cutflows (counts exact, sums 1e-12)."""
    from test_dask_awkward_backend import assert_same

    from hzx.processors.hza2018 import HZa2018Options
    from hzx.processors.tracks import TrackObservablesOptions

    fileset, dataset, _ = generated
    for processor in (HZa2018Processor(HZa2018Options(use_event_weight=True)),
                      TrackObservablesProcessor(TrackObservablesOptions(store_columns=False))):
        outputs = {backend: run_processor(processor, fileset, treename="Delphes",
                                          schema=HzxDelphesSchema, executor=QUIET,
                                          run=RunOptions(chunksize=20, backend=backend))
                   for backend in ("runner", "dask-awkward")}
        assert_same(outputs["runner"], outputs["dask-awkward"], (dataset,))
        out = outputs["dask-awkward"][dataset]
        assert out["metadata"]["events_read"] == 50
        # not an empty comparison: jets (tracks) and events passing leptons (HZa2018) filled
        flow = out["cutflow"]
        assert flow["jets_selected"]["raw"] > 50 if "jets_selected" in flow else \
            0 < flow[CUTS[2]]["raw"] < 50
