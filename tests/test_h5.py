"""The HDF5 training file: layout, values, order, class ids, merging, inspect and the CLI."""

from __future__ import annotations

import random

import h5py
import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.execution import ExecutorOptions, RunOptions, run_processor
from hzx.io import save_output
from hzx.nn.h5 import inspect_h5, write_h5
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.tracks import TrackObservablesProcessor
from hzx.scripts.cli import main as cli

SPEC_SHAPES = {
    "ghost_track_vars": ((7,), np.float32), "jet_features": ((6,), np.float32),
    "track_features": ((50, 8), np.float32), "track_mask": ((50,), np.bool_),
    "constituent_features": ((20, 6), np.float32), "constituent_mask": ((20,), np.bool_),
    "labels": ((), np.int32), "targets": ((), np.float32), "is_signal": ((), np.bool_),
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
    # classes: signal samples by name → 0, 1; background −1; only truth-matched jets are signal
    assert list(data["signal_class_ids"]) == [0, 1]
    assert [x.decode() for x in data["signal_class_names"]] == ["HZJpsi", "HZa_1p5"]
    assert list(data["signal_class_truth_pid"]) == [443, 36]
    assert data["signal_class_mass_GeV"][1] == np.float32(1.5)  # from the fileset metadata
    assert data["signal_class_mass_GeV"][0] == pytest.approx(3.097, rel=1e-6)  # median truth mass
    sig = data["is_signal"]
    assert set(np.unique(data["labels"][sig])) <= {25, 36, 443, 441}
    np.testing.assert_array_equal(sig, data["signal_class"] >= 0)
    zjets = data["sample_index"] == 2
    assert not sig[zjets].any() and np.all(data["signal_class"][zjets] == -1)
    a_rows = (data["sample_index"] == 1) & sig
    assert a_rows.sum() > 20 and np.all(data["signal_class"][a_rows] == 1)
    assert np.all(np.isnan(data["signal_mass"][~sig]))
    np.testing.assert_array_equal(np.isnan(data["targets"]), ~np.isin(data["labels"],
                                                                         [25, 36, 443, 441]))


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
    summary = inspect_h5(tmp_path / "all.h5")
    assert summary["jets"] == len(data["labels"])
    assert summary["signal_class_counts"][-1] == int((data["sample_index"] == 2).sum())
    assert summary["sentinel_fraction"]["nTracks"] == 0.0
    assert summary["sentinel_fraction"]["tau2"] == pytest.approx(
        float((data["ghost_track_vars"][:, 6] == -999999.0).mean()))
    assert cli(["h5", "inspect", str(tmp_path / "all.h5")]) == 0
    text = capsys.readouterr().out
    assert f"{summary['jets']} jets" in text and "class 1: HZa_1p5" in text


def test_output_without_columns_is_an_error(tmp_path, capsys):
    save_output({"x": {"cutflow": {}}}, tmp_path / "empty.coffea")
    assert cli(["h5", str(tmp_path / "empty.coffea"), "--out", str(tmp_path / "x.h5")]) == 2
    assert "no per-jet columns" in capsys.readouterr().err
