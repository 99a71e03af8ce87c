"""The catalogue matches the reference numbers; filesets are built and checked."""

from __future__ import annotations

import csv
import json

import pytest

from hzx.errors import InputFileError, UnknownSampleError
from hzx.samples import (
    HTTPS_PREFIX,
    LUMI_FB,
    SAMPLES,
    XROOTD_PREFIX,
    build_fileset,
    get_sample,
    read_fileset,
    samples_with_role,
    write_fileset,
    xsec_weight,
)
from hzx.scripts.cli import main


def test_catalogue_matches_reference_csv(reference_dir):
    rows = list(csv.DictReader((reference_dir / "atlas-opendata-2020-4lep-samples.csv").open()))
    assert [r["sample"] for r in rows] == list(SAMPLES)
    for row in rows:
        s = get_sample(row["sample"])
        assert s.role == row["role"] and s.filename == row["file"]
        if row["role"] == "data":
            assert s.xsec_pb is None and s.dsid is None
            continue
        assert s.dsid == int(row["dsid"])
        assert s.xsec_pb == float(row["xsec_pb"])
        assert s.sumw == float(row["sumw"])
        assert s.red_eff == float(row["red_eff"])


def test_roles_and_luminosity():
    assert LUMI_FB == 10.0
    assert [s.name for s in samples_with_role("signal")] == [
        "ggH125_ZZ4lep", "WH125_ZZ4lep", "VBFH125_ZZ4lep", "ZH125_ZZ4lep"]
    assert len(samples_with_role("background")) == 6
    assert [s.name for s in samples_with_role("data")] == ["data_A", "data_B", "data_C", "data_D"]


def test_xsec_weight_of_ggH():
    s = get_sample("ggH125_ZZ4lep")
    # lumi·1000·xsec/(sumw·red_eff) = 10·1000·0.0060239/27881776.6536
    assert xsec_weight(s.xsec_pb, s.sumw, 10.0, s.red_eff) == pytest.approx(2.16051e-06, rel=1e-5)
    with pytest.raises(Exception, match="sumw > 0"):
        xsec_weight(1.0, 0.0, 10.0)


def test_unknown_sample_lists_catalogue():
    with pytest.raises(UnknownSampleError, match=r"unknown sample 'ggH126'.*ggH125_ZZ4lep"):
        get_sample("ggH126")


def test_local_fileset_takes_present_files(opendata_dir):
    fileset = build_fileset(opendata_dir)
    assert list(fileset) == ["data_A", "data_B"]
    (path, tree), = fileset["data_A"]["files"].items()
    assert path.endswith("data_A.4lep.root") and tree == "mini"
    assert fileset["data_A"]["metadata"] == {"sample": "data_A", "role": "data"}


def test_local_missing_file_lists_present(opendata_dir):
    with pytest.raises(InputFileError, match=r"'ggH125_ZZ4lep' not found; samples present in .*"
                                             r"data_A, data_B"):
        build_fileset(opendata_dir, ["data_A", "ggH125_ZZ4lep"])


def test_empty_or_missing_directory(tmp_path):
    with pytest.raises(InputFileError, match="no file of the catalogue"):
        build_fileset(tmp_path)
    with pytest.raises(InputFileError, match="no such directory"):
        build_fileset(tmp_path / "nope")


def test_remote_prefixes():
    https = build_fileset("public-https", ["ggH125_ZZ4lep", "data_C"])
    assert list(https["ggH125_ZZ4lep"]["files"]) == [
        f"{HTTPS_PREFIX}/MC/mc_345060.ggH125_ZZ4lep.4lep.root"]
    assert list(https["data_C"]["files"]) == [f"{HTTPS_PREFIX}/Data/data_C.4lep.root"]
    meta = https["ggH125_ZZ4lep"]["metadata"]
    assert meta["xsec_pb"] == 0.0060239 and meta["lumi_fb"] == 10.0 and meta["role"] == "signal"
    root = build_fileset("public-xrootd")
    assert len(root) == 14
    assert next(iter(root["Zee"]["files"])).startswith(XROOTD_PREFIX + "/MC/")
    custom = build_fileset("root://eosuser.cern.ch//eos/user/x/me/4lep/", ["data_A"])
    assert list(custom["data_A"]["files"]) == [
        "root://eosuser.cern.ch//eos/user/x/me/4lep/Data/data_A.4lep.root"]


def test_merge_data_and_lumi(opendata_dir):
    fileset = build_fileset(opendata_dir, merge_data=True, lumi_fb=3.5)
    assert list(fileset) == ["data"]
    assert len(fileset["data"]["files"]) == 2
    assert fileset["data"]["metadata"]["periods"] == ["data_A", "data_B"]
    mc = build_fileset("public-https", ["llll"], lumi_fb=3.5)
    assert mc["llll"]["metadata"]["lumi_fb"] == 3.5


def test_fileset_json_roundtrip_and_cli(opendata_dir, tmp_path, capsys):
    path = write_fileset(build_fileset(opendata_dir), tmp_path / "fs.json")
    assert read_fileset(path) == json.loads(path.read_text())
    out = tmp_path / "cli.json"
    assert main(["samples", "fileset", "--location", str(opendata_dir), "--out", str(out)]) == 0
    assert read_fileset(out) == read_fileset(path)
    assert main(["samples", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ggH125_ZZ4lep" in listing and "2.161e-06" in listing
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="not valid JSON"):
        read_fileset(bad)
