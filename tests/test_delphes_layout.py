"""Delphes-layout files written by uproot, read by every reader: plain uproot lookups as the study's
converter does them (``tree["Jet.PT"]``, ``"Jet.PT" in tree``), coffea's stock ``DelphesSchema``
and hzx's ``HzxDelphesSchema`` — layout ``study`` (default) and ``coffea``."""

from __future__ import annotations

import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from coffea.nanoevents import DelphesSchema, NanoEventsFactory
from delphes_fixtures import make_events, write_delphes

from hzx.generation.writers import DELPHES_LAYOUTS, delphes_branch_name, write_delphes_tree
from hzx.processors.delphes import HzxDelphesSchema, canonical_keys, read_collections
from hzx.runner.coffea_run import _check_file

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "delphes" / \
    "eic-delphes-3.5-proton-gun.root"

#: What the study's convert_to_h5.py looks up (its jet, track and truth feature lists).
STUDY_LOOKUPS = {
    "Jet": ("PT", "Eta", "Phi", "Mass", "BTag", "TauTag", "Flavor"),
    "Track": ("PT", "Eta", "Phi", "Charge", "PID", "D0", "DZ", "Mass"),
    "Particle": ("PID", "Status", "Eta", "Phi", "Mass"),
}


def _events(path, schema, mode="eager"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NanoEventsFactory.from_root({str(path): "Delphes"}, schemaclass=schema,
                                           mode=mode).events()


@pytest.fixture(scope="module")
def toy_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("layout")
    events = make_events(25, seed=11)
    return {layout: write_delphes(out / f"{layout}.root", events, layout=layout)
            for layout in DELPHES_LAYOUTS}


def test_branch_names_of_each_layout():
    assert delphes_branch_name("Jet", "PT") == "Jet.PT"
    assert delphes_branch_name("Jet", "PT", "coffea") == "Jet/Jet.PT"
    with pytest.raises(ValueError, match="unknown Delphes layout 'nested'"):
        write_delphes_tree("/nonexistent/x.root", {}, layout="nested")


def test_study_layout_reads_as_the_study_converter_does(toy_files):
    tree = uproot.open(toy_files["study"])["Delphes"]
    for collection in ("Jet", "Track", "Particle"):
        assert f"{collection}_size" in tree.keys()
        for field in ("PT", "Eta", "Phi"):
            assert f"{collection}.{field}" in tree
            assert f"{collection}/{collection}.{field}" not in tree.keys()
    jets = tree["Jet.PT"].array(library="np")
    assert len(jets) == 25
    assert tree["Jet.PT"].typename == "float[]"
    assert tree["Jet_size"].array(library="np").tolist() == [len(j) for j in jets]


def test_coffea_layout_is_the_full_path_spelling(toy_files):
    tree = uproot.open(toy_files["coffea"])["Delphes"]
    assert "Jet/Jet.PT" in tree.keys()
    assert "Jet.PT" not in tree  # uproot finds a branch by its own name only
    with pytest.raises(uproot.KeyInFileError):
        tree["Jet.PT"]


def test_stock_delphes_schema_reads_only_the_coffea_layout(toy_files):
    jets = _events(toy_files["coffea"], DelphesSchema).Jet
    direct = uproot.open(toy_files["coffea"])["Delphes"]["Jet/Jet.PT"].array()
    assert ak.all(jets.PT == direct)
    # coffea's schema takes the collection name from before a "/": each "<C>.<Field>" becomes a
    # collection without a counter (KeyError 'o<C>.<Field>')
    with pytest.raises(KeyError, match=r"^.o[A-Za-z]+\.[A-Za-z0-9]+.$"):
        _events(toy_files["study"], DelphesSchema)


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_hzx_schema_reads_both_layouts_the_same(toy_files, mode):
    study = _events(toy_files["study"], HzxDelphesSchema, mode)
    coffea = _events(toy_files["coffea"], HzxDelphesSchema, mode)
    stock = _events(toy_files["coffea"], DelphesSchema)
    by_name = uproot.open(toy_files["study"])["Delphes"]["Jet.PT"].array()
    for collection in ("Jet", "Track", "Particle", "Muon", "Electron"):
        for field in ak.fields(stock[collection]):
            assert ak.all(study[collection][field] == stock[collection][field]), (collection, field)
            assert ak.all(coffea[collection][field] == stock[collection][field])
    assert ak.all(study.Jet.pt == by_name)
    assert ak.all(study.Track.mass == stock.Track.mass)


def test_read_collections_and_canonical_keys_on_every_layout(toy_files):
    arrays = {}
    for layout, path in toy_files.items():
        tree = uproot.open(path)["Delphes"]
        keys = canonical_keys(tree.keys())
        assert keys["Jet/Jet.PT"] == delphes_branch_name("Jet", "PT", layout)
        assert keys["Jet_size"] == "Jet_size"
        arrays[layout] = read_collections(tree, {"Jet": ("PT", "Eta"), "Track": ("PT",)})
    for collection in ("Jet", "Track"):
        assert ak.all(arrays["study"][collection].PT == arrays["coffea"][collection].PT)
    with pytest.raises(KeyError, match=r"Jet/Jet\.Nope"):
        read_collections(uproot.open(toy_files["study"])["Delphes"], {"Jet": ("Nope",)})
    real = uproot.open(REAL)["Delphes"]
    tracks = read_collections(real, {"Track": ("PT", "Eta")})["Track"]
    assert ak.all(tracks.PT == real["Track.PT"].array())


def test_preflight_finds_full_path_branches_in_the_study_layout(toy_files):
    needed = ("Jet/Jet.PT", "Particle/Particle.PID", "Track/Track.Eta")
    for path in toy_files.values():
        result = _check_file((str(path), "Delphes", needed, 30))
        assert result["ok"], result
        assert result["numentries"] == 25
    missing = _check_file((str(toy_files["study"]), "Delphes", ("Jet/Jet.Nope",), 30))
    assert not missing["ok"] and "Jet/Jet.Nope" in missing["reason"]


def test_field_names_match_a_real_delphes_35_file(toy_files):
    real = canonical_keys(uproot.open(REAL)["Delphes"].keys())
    ours = canonical_keys(uproot.open(toy_files["study"])["Delphes"].keys())
    for collection in ("Track", "Particle"):
        real_fields = {k.split(".", 1)[1] for k in real if k.startswith(f"{collection}/")}
        our_fields = {k.split(".", 1)[1] for k in ours if k.startswith(f"{collection}/")}
        assert our_fields <= real_fields, our_fields - real_fields


# -- generated files (Pythia 8 + fast simulation) ------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from hzx.generation import generate
    from hzx.runner import ExecutorOptions

    out = tmp_path_factory.mktemp("gen-layout")
    options = {"ma": 2.0, "events": 30, "seed": 8, "block_size": 30, "shower_variations": "off",
               "executor": ExecutorOptions(executor="iterative", progress=False, retries=0)}
    return {layout: generate("hza", out=out / layout, delphes_layout=layout, **options)
            for layout in DELPHES_LAYOUTS}


@pytest.mark.slow
def test_generated_file_gives_the_same_jets_to_every_reader(generated):
    (study_file,) = generated["study"].file_paths
    (coffea_file,) = generated["coffea"].file_paths
    assert generated["study"].config["delphes_layout"] == "study"
    tree = uproot.open(study_file)["Delphes"]
    for collection, fields in STUDY_LOOKUPS.items():
        for field in fields:
            assert f"{collection}.{field}" in tree, (collection, field)
    by_name = tree["Jet.PT"].array()
    assert ak.sum(ak.num(by_name)) > 0
    ours = _events(study_file, HzxDelphesSchema)
    stock = _events(coffea_file, DelphesSchema)  # the documented option, same seed
    assert ak.all(ours.Jet.PT == by_name)
    assert ak.all(stock.Jet.PT == by_name)
    for field in ("Eta", "Phi", "Mass", "BTag"):
        assert ak.all(ours.Jet[field] == stock.Jet[field])
        assert ak.all(tree[f"Jet.{field}"].array() == stock.Jet[field])
    assert ak.all(ours.Particle.PID == tree["Particle.PID"].array())
    assert np.array_equal(ak.to_numpy(ak.num(ours.Track.PT)),
                          tree["Track_size"].array(library="np"))
    # field names as Delphes 3.5 writes them (a real file's, less fUniqueID/fBits/TRefs)
    real = canonical_keys(uproot.open(REAL)["Delphes"].keys())
    generated_keys = canonical_keys(tree.keys())
    for collection in ("Event", "Particle", "Track", "Tower"):
        real_fields = {k.split(".", 1)[1] for k in real if k.startswith(f"{collection}/")}
        our_fields = {k.split(".", 1)[1] for k in generated_keys if k.startswith(f"{collection}/")}
        assert our_fields and our_fields <= real_fields, (collection, our_fields - real_fields)
