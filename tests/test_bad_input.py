"""Bad input gives a clear error naming the file, or is skipped and recorded when asked."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import uproot
from minitree import read_mini, write_damaged_basket, write_mini

from hzx.errors import ConfigurationError, InputFileError, UnknownSampleError
from hzx.processors import AtlasOpenDataSchema, FourLeptonOptions, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.scripts.cli import main


@pytest.fixture()
def bad_files(opendata_dir, tmp_path):
    good = tmp_path / "data_A.4lep.root"
    shutil.copy(opendata_dir / "data_A.4lep.root", good)
    raw = (opendata_dir / "data_B.4lep.root").read_bytes()
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes(raw[: len(raw) // 2])
    corrupt = tmp_path / "corrupt.root"
    corrupt.write_bytes(np.random.default_rng(1).bytes(50_000))
    no_tree = tmp_path / "no_mini.root"
    with uproot.recreate(no_tree) as f:
        f["other"] = {"x": np.arange(3)}
    no_branch = write_mini(tmp_path / "no_lep_type.root",
                           read_mini(opendata_dir / "data_A.4lep.root"), drop=("lep_type",))
    return {"good": good, "truncated": truncated, "corrupt": corrupt, "no_tree": no_tree,
            "no_branch": no_branch, "missing": tmp_path / "does_not_exist.root"}


def run(fileset, skip=False, executor="iterative"):
    return run_processor(FourLeptonProcessor(), fileset, treename="mini",
                         schema=AtlasOpenDataSchema,
                         executor=ExecutorOptions(executor=executor, progress=False),
                         run=RunOptions(skip_bad_files=skip))


@pytest.mark.parametrize(("kind", "message"), [
    ("truncated", "unreadable"),
    ("corrupt", "unreadable"),
    ("no_tree", "no tree 'mini' in the file (it has: other)"),
    ("no_branch", "lacks needed branch(es): lep_type"),
    ("missing", "file not found"),
])
def test_error_names_file_and_problem(bad_files, kind, message):
    with pytest.raises(InputFileError) as info:
        run({"data_bad": [str(bad_files[kind])], "data_A": [str(bad_files["good"])]})
    assert info.value.path == str(bad_files[kind])
    assert message in str(info.value)
    assert "data_bad" in str(info.value)


def test_skip_bad_files_records_every_skipped_file(bad_files, fourlep_reference):
    bad = [str(bad_files[k]) for k in ("truncated", "corrupt", "no_tree", "no_branch", "missing")]
    out = run({"data_A": [str(bad_files["good"]), *bad]}, skip=True)
    meta = out["data_A"]["metadata"]
    assert sorted(item["file"] for item in meta["skipped_files"]) == sorted(bad)
    assert all(item["reason"] for item in meta["skipped_files"])
    # the good file is still analysed completely
    assert out["data_A"]["m4l"].values().tolist() == \
        fourlep_reference["files"]["data_A.4lep.root"]["m4l_hist"]
    assert meta["events_read"] == 39


def test_dataset_with_only_bad_files_is_present_and_empty(bad_files):
    out = run({"data_A": [str(bad_files["good"])], "data_X": [str(bad_files["corrupt"])]},
              skip=True)
    assert out["data_X"]["metadata"]["events_read"] == 0
    assert out["data_X"]["m4l"].values().sum() == 0
    assert out["data_X"]["metadata"]["skipped_files"][0]["file"] == str(bad_files["corrupt"])


@pytest.mark.slow
def test_skip_bad_files_on_dask(bad_files):
    out = run({"data_A": [str(bad_files["good"]), str(bad_files["no_tree"])]}, skip=True,
              executor="dask")
    assert [i["file"] for i in out["data_A"]["metadata"]["skipped_files"]] == \
        [str(bad_files["no_tree"])]


def test_simulated_dataset_without_normalisation_is_an_error(opendata_dir):
    with pytest.raises(ConfigurationError,
                       match="'mc_thing' has no xsec_pb, sumw, lumi_fb in its fileset metadata"):
        run({"mc_thing": {"files": [str(opendata_dir / "data_A.4lep.root")],
                          "metadata": {"role": "background"}}})


def test_bad_options_and_names():
    with pytest.raises(ConfigurationError, match="wrong m4l binning"):
        FourLeptonOptions(m4l_bins=0)
    with pytest.raises(ConfigurationError, match="wrong m4l binning"):
        FourLeptonOptions(m4l_min_gev=250, m4l_max_gev=80)
    with pytest.raises(ConfigurationError, match="reserves"):
        run({"_private": ["x.root"]})
    with pytest.raises(ConfigurationError, match="unknown executor 'spark'"):
        ExecutorOptions(executor="spark")
    from hzx.processors.registry import build

    with pytest.raises(UnknownSampleError, match="available: fourlep"):
        build("fivelep")
    with pytest.raises(ConfigurationError, match="unknown key 'no_such_option' in the options of "
                       "processor 'fourlep'; FourLeptonOptions has: lead_pt_min_gev, "):
        build("fourlep", ["no_such_option=1"])
    with pytest.raises(ConfigurationError, match="require_trigger = 'maybe' in the options of "
                       "processor 'fourlep': expected bool"):
        build("fourlep", ["require_trigger=maybe"])
    with pytest.raises(ConfigurationError, match="bad assignment 'require_trigger': expected "
                       "KEY=VALUE"):
        build("fourlep", ["require_trigger"])


def test_cli_reports_bad_file_without_traceback(bad_files, tmp_path, capsys):
    fileset = tmp_path / "fs.json"
    fileset.write_text('{{"data_A": {{"files": {{"{}": "mini"}}}}}}'.format(bad_files["no_tree"]))
    code = main(["run", "fourlep", "--fileset", str(fileset), "--out", str(tmp_path / "o.coffea"),
                 "--executor", "iterative", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad_files["no_tree"]) in err and "no tree 'mini'" in err
    assert "(--skip-bad-files would skip it and record it)" in err  # the library's skip_bad_files
    assert "Traceback" not in err


@pytest.mark.parametrize(("flags", "message"), [
    (["--chunksize", "0"], "--chunksize must be ≥ 1, got 0"),
    (["--maxchunks", "0"], "--maxchunks must be ≥ 1 or None, got 0"),
    (["--workers", "0", "--executor", "futures"], "--workers must be ≥ 1, got 0"),
    (["--retries", "-1"], "--retries must be ≥ 0, got -1"),
])
def test_cli_names_the_flag_of_a_bad_run_option(opendata_dir, tmp_path, capsys, flags, message):
    """RunOptions / ExecutorOptions name their fields; `hzx run` names its flags, before any work."""
    fileset = tmp_path / "fs.json"
    fileset.write_text('{{"data_A": ["{}"]}}'.format(opendata_dir / "data_A.4lep.root"))
    code = main(["run", "fourlep", "--fileset", str(fileset), "--out", str(tmp_path / "o.coffea"),
                 "--no-progress", *flags])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [f"hzx run: error: {message}"]


@pytest.mark.parametrize("library", ["zlib", "isal"])
@pytest.mark.parametrize("executor", ["iterative", "dask"])
def test_unreadable_basket_on_the_runner(opendata_dir, tmp_path, library, executor):
    """Runner backend: one line naming the file, its entries and dataset; with skip_bad_files
    the chunk is skipped, the file recorded, the other dataset whole."""
    path = write_damaged_basket(tmp_path / "data_corrupt.4lep.root",
                                read_mini(opendata_dir / "data_B.4lep.root"))
    fileset = {"data_corrupt": [str(path)], "data_A": [str(opendata_dir / "data_A.4lep.root")]}

    def go(skip):
        return run_processor(FourLeptonProcessor(), fileset, treename="mini",
                             schema=AtlasOpenDataSchema,
                             executor=ExecutorOptions(executor=executor, workers=1,
                                                      progress=False, retries=0),
                             run=RunOptions(skip_bad_files=skip, inflate=library))

    with pytest.raises(InputFileError) as info:
        go(False)
    assert info.value.path == str(path)
    message = str(info.value)
    assert "entries 0–156 [data_corrupt] unreadable (" in message
    assert ("Error -3 while decompressing" if library == "zlib" else "IsalError") in message
    assert "--skip-bad-files" in message and "\n" not in message
    out = go(True)
    assert out["data_corrupt"]["metadata"]["events_read"] == 0
    assert out["data_corrupt"]["metadata"]["skipped_files"] == [
        {"file": str(path), "reason": "only 0 of 156 entries processed: a chunk failed and "
                                      "was skipped"}]
    assert out["data_A"]["metadata"]["events_read"] == 39


def test_unreadable_basket_cli_exit_code(opendata_dir, tmp_path, capsys):
    import json

    path = write_damaged_basket(tmp_path / "data_corrupt.4lep.root",
                                read_mini(opendata_dir / "data_B.4lep.root"))
    fileset = tmp_path / "fs.json"
    fileset.write_text(json.dumps({"data_corrupt": [str(path)]}))
    code = main(["run", "fourlep", "--fileset", str(fileset), "--out",
                 str(tmp_path / "o.coffea"), "--executor", "iterative"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "unreadable" in err and "Traceback" not in err
