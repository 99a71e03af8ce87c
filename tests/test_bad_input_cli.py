"""Bad input at the command line: one stderr line naming the culprit, exit code 2, no traceback."""

from __future__ import annotations

import json

import pytest

from hzx.scripts.cli import main


def _one_line_error(capsys, argv, culprit):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert culprit in err
    assert "Traceback" not in err
    return err


def test_generation_manifest_given_as_fileset(tmp_path, capsys):
    manifest = tmp_path / "zz.manifest.json"
    manifest.write_text(json.dumps({"dataset": "zz", "files": ["zz.root"], "process": "zz"}))
    err = _one_line_error(capsys, ["run", "fourlep", "--fileset", str(manifest),
                                   "--out", str(tmp_path / "o.coffea"), "--executor",
                                   "iterative"], str(manifest))
    assert "generation manifest" in err
    assert "hzx samples fileset --manifest DIR" in err


def test_files_not_a_list(tmp_path, capsys):
    fileset = tmp_path / "f.json"
    fileset.write_text(json.dumps({"data_A": {"files": 5}}))
    err = _one_line_error(capsys, ["run", "fourlep", "--fileset", str(fileset),
                                   "--out", str(tmp_path / "o.coffea"), "--executor",
                                   "iterative"], "data_A")
    assert "files must be" in err


def test_out_is_an_existing_folder(tmp_path, capsys):
    fileset = tmp_path / "f.json"
    fileset.write_text(json.dumps({"data_A": {"files": {"x.root": "mini"}}}))
    err = _one_line_error(capsys, ["run", "fourlep", "--fileset", str(fileset),
                                   "--out", str(tmp_path), "--executor", "iterative"], "--out")
    assert "is a folder" in err


@pytest.mark.parametrize(("key", "value", "message"), [
    ("xsec_pb", "abc", "xsec_pb = 'abc'"), ("sumw", 0, "sumw > 0"),
    ("lumi_fb", -3, "lumi_fb must be > 0"),
])
def test_bad_normalisation_metadata_names_dataset(key, value, message):
    from hzx.errors import ConfigurationError
    from hzx.samples.normalisation import weight_from_metadata

    metadata = {"xsec_pb": 1.5, "sumw": 10.0, "lumi_fb": 10.0, key: value}
    with pytest.raises(ConfigurationError) as info:
        weight_from_metadata(metadata, "mc_zz")
    assert "mc_zz" in str(info.value) and message in str(info.value)


@pytest.fixture(scope="module")
def fourlep_output(opendata_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("badplot")
    fileset = tmp / "fileset.json"
    assert main(["samples", "fileset", "--location", str(opendata_dir), "--out", str(fileset)]) == 0
    out = tmp / "fourlep.coffea"
    assert main(["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                 "--executor", "iterative", "--no-progress"]) == 0
    return out


@pytest.mark.parametrize(("assignment", "culprit"), [("ymax=abc", "ymax"),
                                                     ("bogus=1", "bogus")])
def test_plot_option_of_wrong_type_or_unknown(fourlep_output, tmp_path, capsys, assignment,
                                               culprit):
    err = _one_line_error(capsys, ["plot", "fourlep", str(fourlep_output), "--out",
                                   str(tmp_path), "--set", assignment], culprit)
    assert "--set of hzx plot fourlep" in err
    assert not any(tmp_path.iterdir())  # rejected before any figure


def test_plot_kind_that_does_not_match_the_output(fourlep_output, tmp_path, capsys):
    err = _one_line_error(capsys, ["plot", "truth", str(fourlep_output), "--out",
                                   str(tmp_path / "t")], str(fourlep_output))
    assert "FourLeptonProcessor" in err


def test_unreachable_scheduler_fails_fast(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        fileset = tmp_path / "f.json"
        fileset.write_text(json.dumps({"data_A": {"files": [str(tmp_path / "a.root")]}}))
        started = time.perf_counter()
        err = _one_line_error(capsys, ["run", "fourlep", "--fileset", str(fileset),
                                       "--out", str(tmp_path / "o.coffea"), "--executor", "dask",
                                       "--scheduler", f"tcp://127.0.0.1:{port}"],
                              f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - started < 20
    assert "nothing answers" in err
