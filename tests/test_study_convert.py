"""`hzx h5 convert` and `hzx h5 inspect` run with the study's own command lines.

run_nntraining.sh:  convert_to_h5.py -i delphes -o nn_training_input
                    inspect_hdf5.py --summary nn_training_input/jet_data.h5
seed README:        convert_to_h5.py --input output/ggH_2HDM/delphes_output_HZA_mA1.00GeV.root
                        --output nn_training_input/HZA_mA1.00GeV --max-constituents 20  (and Z+jets)

Inputs are small Delphes-layout files named as the study's Delphes step names them; outputs are
checked by the study's file names, CSV columns, JSON keys, dataset names, dtypes and class ids.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil

import h5py
import numpy as np
import pytest
from delphes_fixtures import _typed, make_events, ref_truth, write_delphes

from hzx.generation.writers import write_delphes_tree
from hzx.scripts.cli import main as cli

#: run_nntraining.sh's --include-classes: the classes of the m_a = 1.00 and 2.00 GeV samples
ID_MA1 = 8218112266906435903
ID_MA2 = 8824635442399589374
SAMPLES = {  # file name → (events, seed, signal PID, m)
    "delphes_output_HZA_mA1.00GeV.root": (60, 11, 36, 1.0),
    "delphes_output_HZA_mA2.00GeV.root": (60, 12, 36, 2.0),
    "delphes_output_Zjets.root": (50, 13, 0, 0.0),
}
STUDY_DTYPES = {  # convert_to_h5.py's datasets, per-jet shapes and dtypes (max 100 / 50)
    "jet_features": ((6,), "float32"), "constituent_features": ((100, 6), "float32"),
    "constituent_mask": ((100,), "bool"), "track_features": ((50, 8), "float32"),
    "track_mask": ((50,), "bool"), "ghost_track_vars": ((7,), "float32"),
    "labels": ((), "int32"), "targets": ((), "float32"), "is_signal": ((), "int8"),
    "signal_class": ((), "int64"), "signal_mass": ((), "float32"),
}
CLASS_DTYPES = {"signal_class_ids": "int64", "signal_class_names": "|S80",
                "signal_class_keys": "|S120", "signal_class_truth_pid": "int32",
                "signal_class_mass_GeV": "float32", "signal_class_source_file": "|S128"}


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    """A working directory with the study's `delphes/` folder and the events of each file."""
    base = tmp_path_factory.mktemp("study")
    events = {}
    for name, (n, seed, pid, mass) in SAMPLES.items():
        events[name] = make_events(n, seed=seed, signal_pid=pid, signal_mass=mass or 2.0)
        write_delphes(base / "delphes" / name, events[name])
    return base, events


def expected_columns(events, class_id):
    """The study's rule, independently: per jet in file order (label, target, is_signal, class)."""
    rows = []
    for jets, particles in zip(events["Jet"], events["Particle"], strict=True):
        for jet in jets:
            label, target = ref_truth(jet, particles)
            signal = label == 36 and math.isfinite(target)
            rows.append((label, target, int(signal), class_id if signal else -1))
    return rows


def read(path):
    with h5py.File(path, "r") as h5:
        return {k: h5[k][()] for k in h5}, {k: (h5[k].shape, str(h5[k].dtype)) for k in h5}


def test_run_nntraining_convert_and_inspect(study_dir, monkeypatch, capsys):
    base, events = study_dir
    monkeypatch.chdir(base)
    shutil.rmtree("nn_training_input", ignore_errors=True)
    assert cli(["h5", "convert", "-i", "delphes", "-o", "nn_training_input"]) == 0
    err = capsys.readouterr().err
    assert "'background' inferred from the file name ('delphes_output_Zjets.root'" in err
    stems = [n[:-5] for n in SAMPLES]
    assert sorted(os.listdir("nn_training_input")) == sorted(
        ["conversion_manifest.json", "jet_data.h5", "metadata.csv"]
        + [f"jet_data_{s}.h5" for s in stems])

    n_jets = {n: sum(len(j) for j in events[n]["Jet"]) for n in SAMPLES}
    with open("nn_training_input/metadata.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["input_file", "h5_file", "n_jets", "filename", "n_events"]
    assert rows[1:] == [[f"delphes/{n}", f"nn_training_input/jet_data_{n[:-5]}.h5",
                         str(n_jets[n]), n, str(SAMPLES[n][0])] for n in sorted(SAMPLES)]

    manifest = json.loads(open("nn_training_input/conversion_manifest.json").read())
    assert list(manifest)[:5] == ["input", "output_dir", "h5_files", "n_workers", "n_total_jets"]
    assert manifest["input"] == "delphes" and manifest["output_dir"] == "nn_training_input"
    assert manifest["h5_files"] == [f"nn_training_input/jet_data_{n[:-5]}.h5"
                                    for n in sorted(SAMPLES)]
    assert manifest["n_workers"] == max(1, (os.cpu_count() or 2) - 1)  # the study's default
    assert manifest["n_total_jets"] == sum(n_jets.values())
    assert manifest["hzx"]["options"]["max_constituents"] == 100

    data, shapes = read("nn_training_input/jet_data.h5")
    total = sum(n_jets.values())
    for name, (shape, dtype) in STUDY_DTYPES.items():
        assert shapes[name] == ((total, *shape), dtype), name
    for name, dtype in CLASS_DTYPES.items():
        assert shapes[name] == ((2,), dtype), name
    assert list(data["signal_class_ids"]) == [ID_MA1, ID_MA2]
    assert [k.decode() for k in data["signal_class_keys"]] == ["HZA_mA1.00_PID36_m1.000",
                                                               "HZA_mA2.00_PID36_m2.000"]
    assert [k.decode() for k in data["signal_class_names"]] == [
        "HZA mA=1.00 GeV (PID 36, m=1.000 GeV)", "HZA mA=2.00 GeV (PID 36, m=2.000 GeV)"]
    assert list(data["signal_class_truth_pid"]) == [36, 36]
    assert list(data["signal_class_mass_GeV"]) == [1.0, 2.0]
    assert [s.decode() for s in data["signal_class_source_file"]] == sorted(SAMPLES)[:2]

    # every jet, in the study's order (files sorted, then events, then jets), by the study's rule
    ids = {"delphes_output_HZA_mA1.00GeV.root": ID_MA1, "delphes_output_HZA_mA2.00GeV.root": ID_MA2,
           "delphes_output_Zjets.root": None}
    want = [r for n in sorted(SAMPLES) for r in expected_columns(events[n], ids[n])]
    assert len(want) == total
    np.testing.assert_array_equal(data["labels"], [r[0] for r in want])
    np.testing.assert_array_equal(data["targets"], np.array([r[1] for r in want], np.float32))
    np.testing.assert_array_equal(data["is_signal"], [r[2] for r in want])
    np.testing.assert_array_equal(data["signal_class"], [r[3] for r in want])
    sig = data["is_signal"] == 1
    assert sig.sum() > 40
    np.testing.assert_array_equal(data["signal_mass"][sig], data["targets"][sig])
    assert np.isnan(data["signal_mass"][~sig]).all()
    # the per-file files hold the same rows
    start = 0
    for n in sorted(SAMPLES):
        part, _ = read(f"nn_training_input/jet_data_{n[:-5]}.h5")
        for name in STUDY_DTYPES:
            np.testing.assert_array_equal(part[name], data[name][start:start + n_jets[n]])
        start += n_jets[n]
        assert list(part["signal_class_ids"]) == ([ids[n]] if ids[n] else [])

    # [2/7] inspect_hdf5.py --summary (and its JSON record)
    capsys.readouterr()
    assert cli(["h5", "inspect", "--summary", "nn_training_input/jet_data.h5",
                "--output-manifest", "inspect.json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"nn_training_input/jet_data.h5: jets=({total}, 6) signal={sig.sum()} "
                   f"background={total - sig.sum()} classes=2", "Manifest written to inspect.json"]
    record, = json.loads(open("inspect.json").read())
    assert set(record) == {"file", "datasets", "signal_classes", "signal_counts"}
    assert record["signal_counts"] == {"signal": int(sig.sum()), "background": int(total - sig.sum())}
    assert [c["id"] for c in record["signal_classes"]] == [ID_MA1, ID_MA2]
    assert set(record["signal_classes"][0]) == {"id", "name", "key", "mass", "pid", "source"}
    assert record["datasets"]["targets"]["finite"] == int(np.isfinite(data["targets"]).sum())
    assert record["datasets"]["ghost_track_vars"]["shape"] == [total, 7]
    assert record["datasets"]["ghost_track_vars"]["rows_with_sentinel"] == int(
        (data["ghost_track_vars"] == -999999.0).any(axis=1).sum())

    # without --summary: the study's per-file block, then hzx's summary
    assert cli(["h5", "inspect", "nn_training_input/jet_data.h5"]) == 0
    text = capsys.readouterr().out
    assert f"Signal jets: {sig.sum()}  background: {total - sig.sum()}" in text
    assert f"  id={ID_MA1} HZA mA=1.00 GeV (PID 36, m=1.000 GeV), PID 36, mass=1 GeV" in text
    assert f"nn_training_input/jet_data.h5: {total} jets" in text


def test_seed_readme_command_lines(study_dir, tmp_path, monkeypatch):
    base, _ = study_dir
    monkeypatch.chdir(tmp_path)
    os.makedirs("output/ggH_2HDM")
    os.makedirs("output/Zjets")
    shutil.copy(base / "delphes" / "delphes_output_HZA_mA1.00GeV.root", "output/ggH_2HDM")
    shutil.copy(base / "delphes" / "delphes_output_Zjets.root", "output/Zjets")
    assert cli(["h5", "convert", "--input", "output/ggH_2HDM/delphes_output_HZA_mA1.00GeV.root",
                "--output", "nn_training_input/HZA_mA1.00GeV", "--max-constituents", "20"]) == 0
    assert cli(["h5", "convert", "--input", "output/Zjets/delphes_output_Zjets.root",
                "--output", "nn_training_input/ZJetsMG5Py8", "--max-constituents", "20"]) == 0
    signal, shapes = read("nn_training_input/HZA_mA1.00GeV/jet_data.h5")
    assert shapes["constituent_features"][0][1:] == (20, 6)
    assert list(signal["signal_class_ids"]) == [ID_MA1]
    assert set(np.unique(signal["signal_class"])) == {-1, ID_MA1}
    single, _ = read("nn_training_input/HZA_mA1.00GeV/"
                     "jet_data_delphes_output_HZA_mA1.00GeV.h5")
    for name in STUDY_DTYPES:
        np.testing.assert_array_equal(single[name], signal[name])
    zjets, _ = read("nn_training_input/ZJetsMG5Py8/jet_data.h5")
    assert zjets["signal_class_ids"].shape == (0,) and zjets["signal_class_names"].dtype == "S80"
    assert not zjets["is_signal"].any() and (zjets["signal_class"] == -1).all()


def test_pattern_no_merge_workers_and_files_without_jets(study_dir, tmp_path, capsys):
    base, events = study_dir
    src = tmp_path / "in"
    shutil.copytree(base / "delphes", src)
    zjets = events["delphes_output_Zjets.root"]
    branches = {name: _typed(per_event, sorted({k for e in per_event for o in e for k in o}))
                for name, per_event in zjets.items()}
    branches["Jet"] = branches["Jet"][:, :0]  # every event without jets, the branches present
    write_delphes_tree(src / "delphes_output_HZA_mA3.00GeV_nojets.root", branches)
    out = tmp_path / "out"
    assert cli(["h5", "convert", "-i", str(src), "-o", str(out), "--file-pattern", "*HZA*",
                "--no-merge", "--n-workers", "1"]) == 0
    assert "no jets in" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["conversion_manifest.json",
                                       "jet_data_delphes_output_HZA_mA1.00GeV.h5",
                                       "jet_data_delphes_output_HZA_mA2.00GeV.h5", "metadata.csv"]
    manifest = json.loads((out / "conversion_manifest.json").read_text())
    assert manifest["n_workers"] == 1 and len(manifest["h5_files"]) == 2
    assert manifest["hzx"]["files_without_jets"] == [
        str(src / "delphes_output_HZA_mA3.00GeV_nojets.root")]
    # two futures workers: the same combined file as one worker
    one, two = tmp_path / "one", tmp_path / "two"
    assert cli(["h5", "convert", "-i", str(base / "delphes"), "-o", str(one), "--n-workers", "1",
                "--chunksize", "25"]) == 0
    assert cli(["h5", "convert", "-i", str(base / "delphes"), "-o", str(two),
                "--n-workers", "2"]) == 0
    a, _ = read(one / "jet_data.h5")
    b, _ = read(two / "jet_data.h5")
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_convert_defaults_and_errors(tmp_path, capsys):
    from hzx.scripts.h5 import convert_parser, inspect_parser

    args = convert_parser().parse_args(["-i", "x", "-o", "y"])
    assert (args.max_constituents, args.max_tracks, args.ghost_dr, args.file_pattern,
            args.n_workers, args.no_merge) == (100, 50, 0.4, "*.root",
                                                max(1, (os.cpu_count() or 2) - 1), False)
    args = inspect_parser().parse_args(["a.h5"])
    assert (args.summary, args.output_manifest) == (False, None)
    assert cli(["h5", "convert", "-i", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file or directory (--input)" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    assert cli(["h5", "convert", "-i", str(tmp_path / "d"), "-o", str(tmp_path / "o")]) == 2
    assert "no file matches --file-pattern '*.root'" in capsys.readouterr().err
    assert cli(["h5", "inspect", "--summary", str(tmp_path / "missing.h5")]) == 2
    assert capsys.readouterr().out.startswith(f"✗ {tmp_path / 'missing.h5'}: ")


def test_fileset_without_roles_is_inferred_and_reported(study_dir, tmp_path, capsys):
    from hzx.io import save_output
    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.tracks import TrackObservablesProcessor
    from hzx.runner import ExecutorOptions, RunOptions, run_processor

    base, _ = study_dir
    fileset = {"ma1": [str(base / "delphes" / "delphes_output_HZA_mA1.00GeV.root")],
               "zjets": [str(base / "delphes" / "delphes_output_Zjets.root")]}
    out = run_processor(TrackObservablesProcessor(), fileset, treename="Delphes",
                        schema=HzxDelphesSchema, executor=ExecutorOptions(progress=False),
                        run=RunOptions(chunksize=1000))
    save_output(out, tmp_path / "tracks.coffea")
    assert cli(["h5", str(tmp_path / "tracks.coffea"), "--out", str(tmp_path / "j.h5")]) == 0
    err = capsys.readouterr().err
    assert "dataset 'ma1' has no role in its fileset: 'signal' inferred from the file name" in err
    assert "dataset 'zjets' has no role in its fileset: 'background' inferred" in err
    data, _ = read(tmp_path / "j.h5")
    assert list(data["signal_class_ids"]) == [ID_MA1] and data["is_signal"].sum() > 20
    with h5py.File(tmp_path / "j.h5") as h5:
        assert list(h5.attrs["sample_role_sources"]) == ["file name", "file name"]
    assert cli(["h5", str(tmp_path / "tracks.coffea"), "--out", str(tmp_path / "k.h5"),
                "--require-roles"]) == 2
    assert "dataset 'ma1' has no role in its fileset" in capsys.readouterr().err


@pytest.mark.slow
def test_generated_output_converts_with_the_studys_class_ids(tmp_path):
    """hzx's own generated H → Z a file (m_a = 0.50 GeV, the value the old hza_ma0p50 name made
    the study read as 0): the study's rule reads its name back; convert and the fileset route
    (`hzx samples fileset --manifest` → `hzx run tracks` → `hzx h5`) give the same jets."""
    pytest.importorskip("pythia8mc")
    from hzx.generation import generate
    from hzx.runner import ExecutorOptions
    from hzx.samples.identity import deterministic_class_id

    generate("hza", events=40, seed=5, out=tmp_path / "gen", ma=0.5,
             executor=ExecutorOptions(executor="iterative", progress=False))
    assert cli(["h5", "convert", "-i", str(tmp_path / "gen"), "-o", str(tmp_path / "h5"),
                "--n-workers", "1"]) == 0
    data, _ = read(tmp_path / "h5" / "jet_data.h5")
    class_id = deterministic_class_id("HZA_mA0.50_PID36_m0.500")
    assert list(data["signal_class_ids"]) == [class_id]
    assert [k.decode() for k in data["signal_class_keys"]] == ["HZA_mA0.50_PID36_m0.500"]
    sig = data["is_signal"] == 1
    assert sig.sum() >= 10
    np.testing.assert_array_equal(sig, (data["labels"] == 36) & np.isfinite(data["targets"]))
    assert (data["signal_class"][sig] == class_id).all()
    assert (data["signal_mass"][sig] == np.float32(0.5)).all()

    assert cli(["samples", "fileset", "--manifest", str(tmp_path / "gen"), "--out",
                str(tmp_path / "fs.json")]) == 0
    assert cli(["run", "tracks", "--fileset", str(tmp_path / "fs.json"), "--out",
                str(tmp_path / "t.coffea"), "--executor", "iterative"]) == 0
    assert cli(["h5", str(tmp_path / "t.coffea"), "--out", str(tmp_path / "j.h5"),
                "--require-roles"]) == 0
    other, _ = read(tmp_path / "j.h5")
    for name in STUDY_DTYPES:
        np.testing.assert_array_equal(other[name], data[name], err_msg=name)


def test_ghost_dr_and_max_tracks_keep_the_observables_radius(study_dir, tmp_path):
    """--ghost-dr changes the matching only: the observables keep R = 0.4 (the study's)."""
    from delphes_fixtures import lower_tracks, read_events, ref_associate, ref_observables

    base, _ = study_dir
    path = base / "delphes" / "delphes_output_HZA_mA1.00GeV.root"
    assert cli(["h5", "convert", "-i", str(path), "-o", str(tmp_path), "--ghost-dr", "0.3",
                "--max-tracks", "5", "--max-constituents", "7", "--n-workers", "1"]) == 0
    data, shapes = read(tmp_path / "jet_data.h5")
    assert shapes["track_features"][0][1:] == (5, 8)
    assert shapes["constituent_features"][0][1:] == (7, 6)
    events = read_events(path)
    want, counts = [], []
    for e, jets in enumerate(events["Jet"]):
        tracks = lower_tracks(events["Track"][e])
        for j in jets:
            jet = {"eta": j["Eta"], "phi": j["Phi"]}
            assoc = ref_associate(jet, tracks, 0.3, 5)
            want.append(ref_observables(jet, assoc, radius=0.4))
            counts.append(len(assoc))
    np.testing.assert_array_equal(data["track_mask"].sum(axis=1), counts)
    assert max(counts) == 5
    np.testing.assert_allclose(data["ghost_track_vars"], np.array(want, np.float32), rtol=1e-5,
                               atol=1e-6)
