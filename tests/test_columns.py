"""Training columns on disk (one HDF5 file per chunk, written by the workers) and their merge.

The merged jet_data.h5 must be the in-memory path's, byte for byte in every dataset, whatever the
executor and chunking; a missing or altered chunk file stops the merge with one line naming it;
a retried or resumed chunk is never counted twice.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.errors import ConfigurationError
from hzx.io import load_output
from hzx.nn.h5 import write_h5
from hzx.processors.columns import ColumnFileError, chunk_relpath
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.tracks import TrackObservablesOptions, TrackObservablesProcessor
from hzx.runner import (
    ExecutorOptions,
    RunOptions,
    checkpoint_files,
    dask_client,
    processor_key,
    run_processor,
)
from hzx.scripts.cli import main as cli


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    base = tmp_path_factory.mktemp("columns")
    sig = write_delphes(base / "sig.root", make_events(90, seed=61, signal_pid=36, signal_mass=1.5))
    sig2 = write_delphes(base / "sig_2.root", make_events(40, seed=62, signal_pid=36,
                                                          signal_mass=1.5))
    bkg = write_delphes(base / "zjets.root", make_events(70, seed=63, signal_pid=0))
    return {"HZa": {"files": [str(sig), str(sig2)], "metadata": {"role": "signal",
                                                                 "signal_mass_GeV": 1.5}},
            "Zjets": {"files": [str(bkg)], "metadata": {"role": "background"}}}


def run(fileset, columns_dir=None, chunksize=45, processor=None, executor=None, client=None,
        checkpoint=None):
    processor = processor or TrackObservablesProcessor(
        TrackObservablesOptions(columns_dir=str(columns_dir) if columns_dir else None))
    return run_processor(processor, fileset, treename="Delphes", schema=HzxDelphesSchema,
                         executor=executor or ExecutorOptions(progress=False),
                         run=RunOptions(chunksize=chunksize, checkpoint_dir=checkpoint),
                         client=client)


@pytest.fixture(scope="module")
def reference(fileset, tmp_path_factory):
    """jet_data.h5 of today's in-memory path (iterative, chunks of 45 entries)."""
    path = tmp_path_factory.mktemp("ref") / "memory.h5"
    out = run(fileset)
    assert out["HZa"]["columns"]["files"] == [] and len(out["HZa"]["columns"]["chunks"]) == 3
    write_h5([out], path)
    return path


def assert_identical(path, reference):
    """Same datasets, byte for byte (dtype, shape, values), and the same attributes."""
    with h5py.File(path) as a, h5py.File(reference) as b:
        assert sorted(a) == sorted(b)
        for name in b:
            assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
            assert a[name][()].tobytes() == b[name][()].tobytes(), name
        assert sorted(a.attrs) == sorted(b.attrs)
        for key in b.attrs:
            np.testing.assert_array_equal(a.attrs[key], b.attrs[key], err_msg=key)
        assert b["labels"].shape[0] > 400


def chunk_files(directory):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*") if p.is_file())


def refs(output):
    return [r for d in output if not d.startswith("_") for r in output[d]["columns"]["files"]]


@pytest.mark.parametrize("chunksize", [45, 17, 1000])
def test_disk_columns_merge_to_the_in_memory_file(fileset, reference, tmp_path, chunksize):
    out = run(fileset, tmp_path / "cols", chunksize=chunksize)
    files = refs(out)
    assert all(d["columns"]["chunks"] == [] for k, d in out.items() if not k.startswith("_"))
    chunks = sum(out[d]["metadata"]["chunks"] for d in fileset)
    assert len(files) == chunks
    # one file per chunk with jets, named by (dataset, file, entry range), nothing else left
    assert chunk_files(tmp_path / "cols") == sorted(
        chunk_relpath(r["dataset"], r["file"], r["entry_start"], r["entry_stop"])
        for r in files if r["n_jets"])
    assert sum(r["n_jets"] for r in files) == sum(
        out[d]["cutflow"]["jets_selected"]["raw"] for d in fileset)
    for r in files:
        if r["n_jets"]:
            assert Path(r["path"]).stat().st_size == r["bytes"] and len(r["sha256"]) == 64
    summary = write_h5([out], tmp_path / "disk.h5")
    assert summary["jets"] == sum(r["n_jets"] for r in files)
    assert_identical(tmp_path / "disk.h5", reference)


def test_chunk_names_are_deterministic():
    a = chunk_relpath("HZa", "/data/x/sig.root", 0, 45)
    assert a == chunk_relpath("HZa", "/data/x/sig.root", 0, 45)
    assert a.startswith("HZa/sig-") and a.endswith("/0-45.h5")
    assert chunk_relpath("HZa", "/data/y/sig.root", 0, 45) != a  # same name, other file
    assert chunk_relpath("HZa", "/data/x/sig.root", 45, 90) != a


def test_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="columns_storage must be one of"):
        TrackObservablesOptions(columns_storage="cloud")
    with pytest.raises(ConfigurationError, match="columns_storage=disk needs a columns_dir"):
        TrackObservablesOptions(columns_storage="disk")
    assert TrackObservablesOptions(columns_dir="rel/dir").columns_dir == os.path.abspath("rel/dir")
    p = TrackObservablesProcessor().with_output("out/t.coffea")
    assert p.options.columns_dir == os.path.abspath("out/t.coffea.columns") and p.columns_on_disk
    assert (tmp_path / "out" / "t.coffea.columns").is_dir()  # made before any work
    given = TrackObservablesProcessor(TrackObservablesOptions(columns_dir=str(tmp_path / "x")))
    assert given.with_output("t.coffea").options.columns_dir == str(tmp_path / "x")
    (tmp_path / "f.coffea.columns").write_text("a file")
    with pytest.raises(ConfigurationError, match=r"f\.coffea\.columns: cannot create it"):
        TrackObservablesProcessor().with_output(str(tmp_path / "f.coffea"))
    memory = TrackObservablesProcessor(TrackObservablesOptions(columns_storage="memory"))
    assert memory.with_output("t.coffea").options.columns_dir is None
    assert not TrackObservablesProcessor(TrackObservablesOptions(
        columns_dir="/tmp/x", columns_storage="memory")).columns_on_disk


class FailOnceAfterWriting(TrackObservablesProcessor):
    """Writes its chunk file, then fails the first time it runs chunk ``victim`` (a retry)."""

    def __init__(self, options, victim: int, marker: str):
        super().__init__(options)
        self.victim = victim
        self.marker = marker

    def process(self, events):
        out = super().process(events)
        if events.metadata["entrystart"] == self.victim and not Path(self.marker).exists():
            Path(self.marker).write_text("failed once")
            raise RuntimeError("lost after writing (test)")
        return out


@pytest.mark.slow
def test_two_dask_workers_and_a_retried_chunk(fileset, reference, tmp_path):
    options = ExecutorOptions(executor="dask", workers=2, progress=False, retries=2)
    marker = tmp_path / "failed"
    with dask_client(options) as client:
        plain = run(fileset, tmp_path / "a", chunksize=20, executor=options, client=client)
        retried = run(fileset, chunksize=30, executor=options, client=client,
                      processor=FailOnceAfterWriting(
                          TrackObservablesOptions(columns_dir=str(tmp_path / "b")), 30,
                          str(marker)))
    assert marker.exists()  # the chunk at entry 30 did fail once and was retried
    for out, directory in ((plain, tmp_path / "a"), (retried, tmp_path / "b")):
        files = refs(out)
        keys = [(r["dataset"], r["file"], r["entry_start"]) for r in files]
        assert len(keys) == len(set(keys)) == sum(out[d]["metadata"]["chunks"] for d in fileset)
        assert len(chunk_files(directory)) == sum(1 for r in files if r["n_jets"])
        write_h5([out], directory / "jet_data.h5")
        assert_identical(directory / "jet_data.h5", reference)


class Interrupted(TrackObservablesProcessor):
    """Stops the run at chunk ``stop_at`` after its file is written (before its checkpoint)."""

    def __init__(self, options, stop_at: int):
        super().__init__(options)
        self.stop_at = stop_at
        self.checkpoint_key = processor_key(TrackObservablesProcessor(options))

    def process(self, events):
        out = super().process(events)
        if events.metadata["entrystart"] >= self.stop_at:
            raise RuntimeError("interrupted (test)")
        return out


def test_resumed_run_does_not_duplicate_chunks(fileset, reference, tmp_path):
    options = TrackObservablesOptions(columns_dir=str(tmp_path / "cols"))
    checkpoints = str(tmp_path / "checkpoints")
    with pytest.raises(Exception, match="interrupted"):
        run(fileset, processor=Interrupted(options, stop_at=45), checkpoint=checkpoints)
    saved = checkpoint_files(checkpoints, TrackObservablesProcessor(options))
    assert len(saved) >= 1
    written = chunk_files(tmp_path / "cols")
    assert len(written) == len(saved) + 1  # the interrupted chunk's file is there, unsaved
    resumed = run(fileset, processor=TrackObservablesProcessor(options), checkpoint=checkpoints)
    assert resumed["_provenance"]["summary"]["chunks_from_checkpoint"] == len(saved)
    files = refs(resumed)
    assert len(files) == sum(resumed[d]["metadata"]["chunks"] for d in fileset)
    assert len(chunk_files(tmp_path / "cols")) == sum(1 for r in files if r["n_jets"])
    assert set(written) <= set(chunk_files(tmp_path / "cols"))
    write_h5([resumed], tmp_path / "resumed.h5")
    assert_identical(tmp_path / "resumed.h5", reference)
    # the same chunk listed twice in one output counts once
    twice = dict(resumed, HZa=dict(resumed["HZa"], columns={
        "chunks": [], "files": resumed["HZa"]["columns"]["files"] * 2}))
    write_h5([twice], tmp_path / "twice.h5")
    assert_identical(tmp_path / "twice.h5", reference)


@pytest.fixture(scope="module")
def cli_run(fileset, tmp_path_factory):
    """`hzx run tracks --out t.coffea` (iterative): columns in t.coffea.columns/."""
    base = tmp_path_factory.mktemp("cli")
    (base / "fs.json").write_text(json.dumps(fileset))
    assert cli(["run", "tracks", "--fileset", str(base / "fs.json"), "--out",
                str(base / "t.coffea"), "--executor", "iterative", "--chunksize", "45",
                "--no-progress"]) == 0
    return base


def test_cli_run_writes_columns_beside_the_output(cli_run, reference, tmp_path, capsys):
    out = load_output(cli_run / "t.coffea")
    files = refs(out)
    assert files and all(Path(r["path"]).parent.parent.parent == cli_run / "t.coffea.columns"
                         for r in files if r["n_jets"])
    assert all(out[d]["columns"]["chunks"] == [] for d in out)
    assert cli(["h5", str(cli_run / "t.coffea"), "--out", str(tmp_path / "j.h5")]) == 0
    assert_identical(tmp_path / "j.h5", reference)
    # output and its columns moved together: found beside the moved output
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(cli_run / "t.coffea", moved / "t.coffea")
    shutil.copytree(cli_run / "t.coffea.columns", moved / "t.coffea.columns")
    for r in files:
        if r["n_jets"]:
            Path(moved / "t.coffea.columns" / r["relpath"]).write_bytes(b"")
            break
    capsys.readouterr()
    assert cli(["h5", str(moved / "t.coffea"), "--out", str(tmp_path / "m.h5")]) == 2
    assert "t.coffea.columns" in capsys.readouterr().err  # the moved copy is the one read
    shutil.rmtree(moved / "t.coffea.columns")
    shutil.copytree(cli_run / "t.coffea.columns", moved / "t.coffea.columns")
    assert cli(["h5", str(moved / "t.coffea"), "--out", str(tmp_path / "m.h5")]) == 0
    assert_identical(tmp_path / "m.h5", reference)


def test_cli_in_memory_option(cli_run, reference, tmp_path):
    assert cli(["run", "tracks", "--fileset", str(cli_run / "fs.json"), "--out",
                str(tmp_path / "m.coffea"), "--executor", "iterative", "--chunksize", "45",
                "--no-progress", "--set", "columns_storage=memory"]) == 0
    assert not (tmp_path / "m.coffea.columns").exists()
    out = load_output(tmp_path / "m.coffea")
    assert len(out["HZa"]["columns"]["chunks"]) == 3 and out["HZa"]["columns"]["files"] == []
    assert cli(["h5", str(tmp_path / "m.coffea"), "--out", str(tmp_path / "j.h5")]) == 0
    assert_identical(tmp_path / "j.h5", reference)


@pytest.mark.parametrize("damage", ["missing", "truncated", "altered"])
def test_missing_or_corrupt_chunk_file_is_one_line_naming_it(cli_run, tmp_path, capsys, damage):
    work = tmp_path / "w"
    assert cli(["run", "tracks", "--fileset", str(cli_run / "fs.json"), "--out",
                str(work / "t.coffea"), "--executor", "iterative", "--chunksize", "45",
                "--no-progress"]) == 0
    ref = [r for r in refs(load_output(work / "t.coffea")) if r["n_jets"]][2]
    victim = work / "t.coffea.columns" / ref["relpath"]
    if damage == "missing":
        victim.unlink()
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:-10])
    else:
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
    capsys.readouterr()
    assert cli(["h5", str(work / "t.coffea"), "--out", str(work / "j.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(victim) in err, err
    assert {"missing": "missing chunk file", "truncated": "corrupt chunk file",
            "altered": "SHA-256"}[damage] in err
    assert "entries " in err and ref["dataset"] in err
    assert not (work / "j.h5").exists() and not list(work.glob(".j.h5.tmp*"))  # no partial file
    with pytest.raises(ColumnFileError):
        write_h5([load_output(work / "t.coffea")], work / "k.h5")


def test_convert_removes_its_temporary_columns(fileset, tmp_path):
    from hzx.nn.convert import ConvertOptions, convert

    source = fileset["HZa"]["files"][1]
    disk = convert(ConvertOptions(input=source, output=str(tmp_path / "d"), n_workers=1,
                                  chunksize=15))
    memory = convert(ConvertOptions(input=source, output=str(tmp_path / "m"), n_workers=1,
                                    chunksize=15, columns_in_memory=True))
    assert disk["n_total_jets"] == memory["n_total_jets"] > 20
    assert sorted(os.listdir(tmp_path / "d")) == sorted(os.listdir(tmp_path / "m")) == [
        "conversion_manifest.json", "jet_data.h5", "jet_data_sig_2.h5", "metadata.csv"]
    for name in ("jet_data.h5", "jet_data_sig_2.h5"):
        with h5py.File(tmp_path / "d" / name) as a, h5py.File(tmp_path / "m" / name) as b:
            assert sorted(a) == sorted(b)
            for key in b:
                assert a[key][()].tobytes() == b[key][()].tobytes(), key
