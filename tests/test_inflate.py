"""hzx.runner.inflate: ISA-L inflates the real files' ZLIB baskets to the same arrays, and every
executor's processes use the library the run asked for."""

from __future__ import annotations

import pickle
import zlib

import awkward as ak
import numpy as np
import pytest
import uproot
from isal import isal_zlib

from hzx.errors import ConfigurationError
from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, dask_client, inflate, run_processor
from hzx.samples import build_fileset

FILES = ("data_A.4lep.root", "data_B.4lep.root")


@pytest.fixture
def inflate_calls(monkeypatch):
    """The inflate calls uproot made, by library: counters around the real functions."""
    calls = {"isal": [], "zlib": []}
    for library, module in (("isal", isal_zlib), ("zlib", zlib)):
        original = module.decompress

        def counting(data, *args, _original=original, _library=library, **kwargs):
            calls[_library].append(len(data))
            return _original(data, *args, **kwargs)

        monkeypatch.setattr(module, "decompress", counting)
    return calls


def _read(path):
    with uproot.open(path) as f:
        return f["mini"].arrays()


def test_choices():
    assert inflate.resolve("auto") == "isal"  # isal is a dependency of hzx
    assert inflate.resolve("zlib") == "zlib"
    assert inflate.resolve("isal") == "isal"
    with pytest.raises(ConfigurationError, match="unknown inflate library 'lz4'"):
        inflate.resolve("lz4")
    with pytest.raises(ConfigurationError, match="'brotli'"):
        RunOptions(inflate="brotli")


def test_block_restores_the_library_before_it():
    before = inflate.active()
    with inflate.inflating_with("isal"):
        assert inflate.active() == "isal"
        with inflate.inflating_with("zlib"):
            assert inflate.active() == "zlib"
        assert inflate.active() == "isal"
    assert inflate.active() == before


@pytest.mark.parametrize("name", FILES)
def test_isal_inflates_the_real_files_to_the_same_arrays(opendata_dir, inflate_calls, name):
    path = opendata_dir / name
    with uproot.open(path) as f:
        assert f.file.fCompress // 100 == 1  # the real files are ZLIB
    with inflate.inflating_with("zlib"):
        expected = _read(path)
    assert inflate_calls["isal"] == [] and inflate_calls["zlib"]
    inflate_calls["zlib"].clear()
    with inflate.inflating_with("isal"):
        got = _read(path)
    # (their few baskets are stored inside the TTree record, inflated with it)
    assert inflate_calls["zlib"] == [] and inflate_calls["isal"]
    assert got.fields == expected.fields and len(got) == len(expected)
    for field in expected.fields:
        assert ak.array_equal(got[field], expected[field]), field


def _write_baskets(path):
    rng = np.random.default_rng(5)
    batches = [{"x": rng.normal(size=5000), "n": rng.integers(0, 9, 5000)} for _ in range(3)]
    with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
        f.mktree("t", {"x": np.float64, "n": np.int64})
        for batch in batches:
            f["t"].extend(batch)  # one basket per branch and batch
    return batches


def test_every_basket_goes_through_isal(tmp_path, inflate_calls):
    path = tmp_path / "baskets.root"
    batches = _write_baskets(path)
    with inflate.inflating_with("isal"), uproot.open(path) as f:
        got = f["t"].arrays(library="np")
    assert inflate_calls["zlib"] == []
    assert len(inflate_calls["isal"]) >= 6  # the 6 baskets (and any compressed metadata)
    for name in ("x", "n"):
        np.testing.assert_array_equal(got[name], np.concatenate([b[name] for b in batches]))


def test_a_damaged_basket_is_an_error_not_other_numbers(tmp_path):
    """ISA-L checks the stream's checksum as zlib does."""
    path = tmp_path / "baskets.root"
    _write_baskets(path)
    with uproot.open(path) as f:
        branch = f["t"]["x"]
        start = int(branch.member("fBasketSeek")[1]) + branch.basket_key(1).fKeylen
    raw = bytearray(path.read_bytes())
    raw[start + 9 + 100] ^= 0xFF  # past the 9-byte ROOT header, inside the deflate stream
    path.write_bytes(bytes(raw))
    for library, message in (("zlib", "incorrect data check"),
                             ("isal", "Incorrect checksum found")):
        with inflate.inflating_with(library), uproot.open(path) as f:
            np.testing.assert_array_equal(f["t"]["x"].array(library="np", entry_stop=5000),
                                          _write_baskets(tmp_path / "again.root")[0]["x"])
            with pytest.raises(Exception, match=message):
                f["t"]["x"].array(library="np")


def _run(opendata_dir, executor="iterative", client=None, **run):
    return run_processor(FourLeptonProcessor(), build_fileset(opendata_dir), treename="mini",
                         schema=AtlasOpenDataSchema,
                         executor=ExecutorOptions(executor=executor, workers=2, progress=False),
                         run=RunOptions(chunksize=40, **run), client=client)


def _cells(out):
    return {dataset: {name: np.asarray(h.view(flow=True)).tolist()
                      for name, h in out[dataset].items() if hasattr(h, "view")}
            for dataset in ("data_A", "data_B")}


def test_runs_inflate_as_asked_and_give_the_same_histograms(opendata_dir, inflate_calls):
    before = inflate.active()
    by_zlib = _run(opendata_dir, inflate="zlib")
    assert inflate_calls["isal"] == [] and by_zlib["_provenance"]["summary"]["inflate"] == "zlib"
    inflate_calls["zlib"].clear()
    by_isal = _run(opendata_dir)
    assert inflate_calls["zlib"] == [] and inflate_calls["isal"]
    assert by_isal["_provenance"]["summary"]["inflate"] == "isal"
    assert _cells(by_isal) == _cells(by_zlib)
    assert by_isal["data_B"]["cutflow"] == by_zlib["data_B"]["cutflow"]
    assert inflate.active() == before  # the client process is left as it was


def test_dask_workers_and_pool_workers_inflate_with_isal(opendata_dir):
    reference = _cells(_run(opendata_dir, inflate="zlib"))
    with dask_client(ExecutorOptions(executor="dask", workers=1, progress=False)) as client:
        out = _run(opendata_dir, "dask", client)
        assert set(client.run(inflate.active).values()) == {"isal"}
        assert _cells(out) == reference
        _run(opendata_dir, "dask", client, inflate="zlib")  # a later choice replaces it
        assert set(client.run(inflate.active).values()) == {"zlib"}
    assert _cells(_run(opendata_dir, "futures")) == reference
    # what a process-pool task runs: picklable, and it sets the library of its process
    task = pickle.loads(pickle.dumps(inflate.inflating(inflate.active, "isal")))
    with inflate.inflating_with("zlib"):
        assert task() == "isal"


def test_command_line_inflate_flag(opendata_dir, tmp_path, capsys):
    from hzx import load_output
    from hzx.scripts.cli import main

    fileset = tmp_path / "fileset.json"
    assert main(["samples", "fileset", "--location", str(opendata_dir), "--out",
                 str(fileset)]) == 0
    out = tmp_path / "zlib.coffea"
    assert main(["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                 "--executor", "iterative", "--inflate", "zlib"]) == 0
    assert load_output(out).provenance["summary"]["inflate"] == "zlib"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
              "--inflate", "lz4"])
    assert exit_.value.code == 2 and "--inflate" in capsys.readouterr().err
