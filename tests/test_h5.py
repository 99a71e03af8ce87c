"""The HDF5 training file: layout, values, order, class ids, merging, inspect and the CLI."""

from __future__ import annotations

import random

import h5py
import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.io import save_output
from hzx.nn.h5 import inspect_h5, write_h5
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.tracks import TrackObservablesProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.samples.identity import deterministic_class_id
from hzx.scripts.cli import main as cli

#: the study's keys of the two signal samples: HZa_1p5 (no mass in its name; 1.5 GeV from the
#: fileset) and HZJpsi (the family's fixed 3.0969 GeV)
HZA_ID = deterministic_class_id("HZA_PID36_m1.500")
JPSI_ID = deterministic_class_id("HZJpsi_PID443_m3.097")

SPEC_SHAPES = {
    "ghost_track_vars": ((7,), np.float32), "jet_features": ((6,), np.float32),
    "track_features": ((50, 8), np.float32), "track_mask": ((50,), np.bool_),
    "constituent_features": ((100, 6), np.float32), "constituent_mask": ((100,), np.bool_),
    "labels": ((), np.int32), "targets": ((), np.float32), "is_signal": ((), np.int8),
    "signal_class": ((), np.int64), "signal_mass": ((), np.float32),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    base = tmp_path_factory.mktemp("h5")
    return {
        "HZa_1p5": (write_delphes(base / "a.root", make_events(120, seed=41, signal_pid=36,
                                                               signal_mass=1.5)),
                    {"role": "signal", "signal_mass_GeV": 1.5}),
        "HZJpsi": (write_delphes(base / "jpsi.root", make_events(80, seed=42, signal_pid=443,
                                                                 signal_mass=3.097)),
                   {"role": "signal"}),
        "Zjets": (write_delphes(base / "zjets.root", make_events(100, seed=43, signal_pid=0)),
                  {"role": "background"}),
    }


def run(samples, names):
    fileset = {n: {"files": [str(samples[n][0])], "metadata": samples[n][1]} for n in names}
    return run_processor(TrackObservablesProcessor(), fileset, treename="Delphes",
                         schema=HzxDelphesSchema, executor=ExecutorOptions(progress=False),
                         run=RunOptions(chunksize=45))


@pytest.fixture(scope="module")
def output(samples):
    return run(samples, ["HZa_1p5", "HZJpsi", "Zjets"])


def read_all(path):
    with h5py.File(path, "r") as h5:
        return {k: h5[k][...] for k in h5}, dict(h5.attrs)


def test_layout_values_and_classes(output, tmp_path):
    summary = write_h5([output], tmp_path / "jet_data.h5")
    data, attrs = read_all(tmp_path / "jet_data.h5")
    n = summary["jets"]
    assert n == sum(output[d]["cutflow"]["jets_selected"]["raw"] for d in ("HZa_1p5", "HZJpsi",
                                                                           "Zjets"))
    for name, (shape, dtype) in SPEC_SHAPES.items():
        assert data[name].shape == (n, *shape), name
        assert data[name].dtype == dtype, name
    # rows in (sample, file, entry, jet) order, values = the processor's columns
    key = np.lexsort((data["jet_index"], data["entry"], data["file_index"], data["sample_index"]))
    np.testing.assert_array_equal(key, np.arange(n))
    assert list(attrs["sample_names"]) == ["HZJpsi", "HZa_1p5", "Zjets"]
    for s, dataset in enumerate(attrs["sample_names"]):
        chunks = sorted(output[dataset]["columns"]["chunks"], key=lambda c: c["entry_start"])
        rows = data["sample_index"] == s
        np.testing.assert_array_equal(
            data["ghost_track_vars"][rows],
            np.concatenate([c["ghost_track_vars"] for c in chunks]).astype(np.float32))
        np.testing.assert_array_equal(data["labels"][rows],
                                      np.concatenate([c["labels"] for c in chunks]))
        np.testing.assert_array_equal(data["track_features"][rows],
                                      np.concatenate([c["track_features"] for c in chunks]))
    # classes as the study: only PID-36 matched jets are signal, sha1-derived ids from the keys
    assert list(data["signal_class_ids"]) == [HZA_ID]
    assert [x.decode() for x in data["signal_class_keys"]] == ["HZA_PID36_m1.500"]
    assert [x.decode() for x in data["signal_class_names"]] == ["HZA (PID 36, m=1.500 GeV)"]
    assert list(data["signal_class_truth_pid"]) == [36]
    assert data["signal_class_mass_GeV"][0] == np.float32(1.5)  # from the fileset metadata
    assert [x.decode() for x in data["signal_class_source_file"]] == ["a.root"]
    assert data["signal_class_keys"].dtype == "S120" and data["signal_class_names"].dtype == "S80"
    sig = data["is_signal"].astype(bool)
    np.testing.assert_array_equal(sig, data["signal_class"] >= 0)
    np.testing.assert_array_equal(sig, (data["labels"] == 36) & np.isfinite(data["targets"]))
    zjets = data["sample_index"] == 2
    assert not sig[zjets].any() and np.all(data["signal_class"][zjets] == -1)
    jpsi = data["sample_index"] == 0
    assert (data["labels"][jpsi] == 443).sum() > 20 and not sig[jpsi].any()  # study: PID 36 only
    a_rows = (data["sample_index"] == 1) & sig
    assert a_rows.sum() > 20 and np.all(data["signal_class"][a_rows] == HZA_ID)
    assert np.all(data["signal_mass"][a_rows] == np.float32(1.5))
    assert np.all(np.isnan(data["signal_mass"][~sig]))
    np.testing.assert_array_equal(np.isnan(data["targets"]), ~np.isin(data["labels"],
                                                                         [25, 36, 443, 441]))
    assert list(attrs["sample_roles"]) == ["signal", "signal", "background"]
    assert list(attrs["sample_role_sources"]) == ["fileset"] * 3


def test_signal_pids_option_adds_the_sm_resonances(output, tmp_path):
    write_h5([output], tmp_path / "pids.h5", signal_pids=(36, 443, 441))
    data, _ = read_all(tmp_path / "pids.h5")
    assert list(data["signal_class_ids"]) == sorted([HZA_ID, JPSI_ID])
    jpsi = (data["sample_index"] == 0) & (data["labels"] == 443)
    assert np.all(data["signal_class"][jpsi] == JPSI_ID)
    assert np.all(data["signal_mass"][jpsi] == np.float32(3.0969))


def test_chunk_order_and_merging_do_not_change_the_file(samples, output, tmp_path):
    write_h5([output], tmp_path / "ref.h5")
    shuffled = {k: (dict(v, columns={"chunks": random.Random(3).sample(
        v["columns"]["chunks"], len(v["columns"]["chunks"]))}) if not k.startswith("_") else v)
        for k, v in output.items()}
    write_h5([shuffled], tmp_path / "shuffled.h5")
    part1 = run(samples, ["Zjets", "HZa_1p5"])
    part2 = run(samples, ["HZJpsi"])
    save_output(part1, tmp_path / "p1.coffea")
    save_output(part2, tmp_path / "p2.coffea")
    assert cli(["h5", str(tmp_path / "p2.coffea"), str(tmp_path / "p1.coffea"),
                "--out", str(tmp_path / "merged.h5")]) == 0
    ref, _ = read_all(tmp_path / "ref.h5")
    for other in ("shuffled.h5", "merged.h5"):
        got, _ = read_all(tmp_path / other)
        assert set(got) == set(ref)
        for name in ref:
            np.testing.assert_array_equal(got[name], ref[name], err_msg=f"{other}: {name}")


def test_signal_jets_all_and_inspect(output, tmp_path, capsys):
    write_h5([output], tmp_path / "all.h5", signal_jets="all")
    data, _ = read_all(tmp_path / "all.h5")
    np.testing.assert_array_equal(data["is_signal"], data["sample_index"] < 2)
    assert list(data["signal_class_ids"]) == sorted([HZA_ID, JPSI_ID])
    np.testing.assert_array_equal(data["signal_class"][data["sample_index"] == 0], JPSI_ID)
    summary = inspect_h5(tmp_path / "all.h5")
    assert summary["jets"] == len(data["labels"])
    assert summary["signal_class_counts"][-1] == int((data["sample_index"] == 2).sum())
    assert summary["sentinel_fraction"]["nTracks"] == 0.0
    assert summary["sentinel_fraction"]["tau2"] == pytest.approx(
        float((data["ghost_track_vars"][:, 6] == -999999.0).mean()))
    assert cli(["h5", "inspect", str(tmp_path / "all.h5")]) == 0
    text = capsys.readouterr().out
    assert f"{summary['jets']} jets" in text
    assert f"  id={HZA_ID} HZA (PID 36, m=1.500 GeV), PID 36, mass=1.5 GeV" in text
    assert text.count("HZA (PID 36, m=1.500 GeV)") == 1  # the classes once, not per block


def test_output_without_columns_is_an_error(tmp_path, capsys):
    save_output({"x": {"cutflow": {}}}, tmp_path / "empty.coffea")
    assert cli(["h5", str(tmp_path / "empty.coffea"), "--out", str(tmp_path / "x.h5")]) == 2
    assert "no per-jet columns" in capsys.readouterr().err

