"""Bad input at the command line: one stderr line naming the culprit, exit code 2, no traceback."""

from __future__ import annotations

import json

import numpy as np
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


@pytest.fixture
def jets_with_nan(tmp_path):
    """240 jets (4 × 40 signal, 80 background), the first 115 with a NaN feature (angularity_2)."""
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("torch")
    from hzx.nn.synthetic import write_synthetic_h5

    path = write_synthetic_h5(tmp_path / "nan.h5", n_per_class=40, n_background=80,
                              sentinel_fraction=0.0, seed=3)
    with h5py.File(path, "r+") as h5:
        feats = h5["ghost_track_vars"][()]
        feats[:115, 3] = np.nan
        h5["ghost_track_vars"][...] = feats
    return path


@pytest.mark.parametrize(("missing", "selected", "said"), [
    ("keep", 240, "kept every jet; 115 NaN/inf feature values in 115 jets set to the sentinel"),
    ("drop", 125, "dropped 115 of 240 jets with an undefined feature"),
])
def test_missing_policy_keeps_or_says_what_it_dropped(jets_with_nan, tmp_path, capsys, missing,
                                                       selected, said):
    out = tmp_path / f"cls_{missing}"
    assert main(["nn", "train-classifier", "--input-h5", str(jets_with_nan), "--output-dir",
                 str(out), "--features-key", "ghost_track_vars", "--epochs", "1",
                 "--hidden-sizes", "8", "--device", "cpu",
                 "--threads", "1", "--no-plots", "--missing", missing]) == 0
    stdout = capsys.readouterr().out
    assert f"training files: {said}" in stdout
    selection = json.loads((out / "metrics.json").read_text())["selection"]
    assert selection["jets_read"] == 240
    assert selection["jets_with_undefined_features"] == 115
    assert selection["jets_selected"] == selected
    assert selection["jets_dropped_for_undefined_features"] == 240 - selected
    assert selection.get("nonfinite_values_set_to_sentinel", 0) == (115 if missing == "keep" else 0)
    assert sum(json.loads((out / "metrics.json").read_text())["splits"].values()) == selected


@pytest.mark.parametrize(("argv", "said"), [
    (["--events", "-1"], "--events must be a positive integer, got -1 (with --lhe: 0 or less"),
    (["--block-size", "0"], "--block-size must be a positive integer, got 0"),
    (["--qcut", "30"], "--qcut is the MLM merging scale (qCut): it needs --matching 'mlm'"),
])
def test_library_errors_name_the_flag_typed(capsys, argv, said):
    """The library says ``events must be …`` (its parameter); the command line names the flag."""
    from hzx.errors import ConfigurationError
    from hzx.generation.processes import GenerationConfig, validate

    err = _one_line_error(capsys, ["generate", "zjets", *argv, "--executor", "iterative"], said)
    assert err.startswith("hzx generate: error: --")
    with pytest.raises(ConfigurationError, match=r"^(events|block_size|mlm_qcut) "):
        validate(GenerationConfig("zjets", **{"--events": {"events": -1},
                                              "--block-size": {"block_size": 0},
                                              "--qcut": {"mlm_qcut": 30.0}}[argv[0]]))


@pytest.mark.parametrize(("key", "value", "said"), [
    ("xsec_pb", "abc", "dataset 'mc_zz': xsec_pb = 'abc' in its fileset metadata is not a number"),
    ("sumw", 0, "dataset 'mc_zz': normalisation needs sumw > 0"),
    ("lumi_fb", -3, "dataset 'mc_zz': lumi_fb must be > 0, got -3"),
])
def test_bad_normalisation_metadata_at_the_command_line(opendata_dir, tmp_path, capsys, key,
                                                        value, said):
    """Rejected before any chunk is processed: no output is written."""
    metadata = {"sample": "mc_zz", "role": "background", "xsec_pb": 1.5, "sumw": 10.0,
                "lumi_fb": 10.0, key: value}
    fileset = tmp_path / "f.json"
    fileset.write_text(json.dumps({"mc_zz": {
        "files": {str(opendata_dir / "data_A.4lep.root"): "mini"}, "metadata": metadata}}))
    out = tmp_path / "o.coffea"
    _one_line_error(capsys, ["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                             "--executor", "iterative", "--no-progress"], said)
    assert not out.exists()


def test_negative_luminosity_flag_of_plot(fourlep_output, tmp_path, capsys):
    err = _one_line_error(capsys, ["plot", "fourlep", str(fourlep_output), "--out",
                                   str(tmp_path), "--lumi-fb", "-3"], "--lumi-fb")
    assert "got -3" in err
    assert not any(tmp_path.iterdir())


def test_inspect_piped_into_head_stops_quietly(tmp_path):
    """``hzx h5 inspect … | head -1``: the reader goes away; no BrokenPipe traceback."""
    import shlex
    import subprocess
    import sys

    pytest.importorskip("h5py")
    from hzx.nn.synthetic import write_synthetic_h5

    path = write_synthetic_h5(tmp_path / "s.h5", n_per_class=20, n_background=20)
    # ~2 kB a file: 200 copies overflow the pipe's buffer (64 kB) long before the end
    command = (f"{shlex.quote(sys.executable)} -m hzx.scripts.cli h5 inspect "
               + " ".join([shlex.quote(str(path))] * 200) + " | head -1")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE, as other Unix tools report it


@pytest.mark.parametrize(("lumi", "said"), [("-3", "got -3.0"), ("0", "got 0.0"),
                                             ("nan", "got nan")])
def test_samples_fileset_refuses_a_luminosity_that_is_not_positive(opendata_dir, tmp_path,
                                                                   capsys, lumi, said):
    out = tmp_path / "f.json"
    err = _one_line_error(capsys, ["samples", "fileset", "--location", str(opendata_dir),
                                   "--out", str(out), "--lumi-fb", lumi], "--lumi-fb")
    assert "must be a finite luminosity > 0 in fb⁻¹" in err and said in err
    assert not out.exists()


def test_samples_fileset_out_is_an_existing_folder(opendata_dir, tmp_path, capsys):
    _one_line_error(capsys, ["samples", "fileset", "--location", str(opendata_dir),
                             "--out", str(tmp_path)], f"--out {tmp_path} is a folder")


def test_malformed_generation_manifest(tmp_path, capsys):
    manifest = tmp_path / "zz.manifest.json"
    manifest.write_text(json.dumps({"dataset": "zz", "files": ["zz.root"], "process": "zz"}))
    err = _one_line_error(capsys, ["samples", "fileset", "--manifest", str(tmp_path), "--out",
                                   str(tmp_path / "f.json")], str(manifest))
    assert 'files must be a list of {"file": NAME, …} entries' in err


@pytest.fixture
def small_h5(tmp_path):
    pytest.importorskip("h5py")
    from hzx.nn.synthetic import write_synthetic_h5

    return write_synthetic_h5(tmp_path / "s.h5", n_per_class=20, n_background=20)


@pytest.mark.parametrize(("extra", "said"), [
    (["--bins", "0"], "--bins must be an integer ≥ 1, got 0"),
    (["--include-signal-masses", "abc"], "--include-signal-masses: not a mass in GeV: 'abc'"),
    (["--exclude-signal-masses", "1,x"], "--exclude-signal-masses: not a mass in GeV: 'x'"),
])
def test_plot_features_bad_values(small_h5, tmp_path, capsys, extra, said):
    out = tmp_path / "plots"
    _one_line_error(capsys, ["nn", "plot-features", "--input-h5", str(small_h5),
                             "--output-dir", str(out), *extra], said)
    assert not out.exists()


@pytest.mark.parametrize("verb", ["train-regression", "plot-features"])
def test_nn_output_dir_that_is_a_file(small_h5, capsys, verb):
    _one_line_error(capsys, ["nn", verb, "--input-h5", str(small_h5), "--output-dir",
                             str(small_h5)], f"--output-dir {small_h5}: {small_h5} is a file")


def test_apply_with_a_file_that_is_not_a_model(small_h5, capsys):
    pytest.importorskip("torch")
    _one_line_error(capsys, ["nn", "apply", "--input-h5", str(small_h5),
                             "--regression-run-dir", str(small_h5)],
                    f"{small_h5}: not a readable hzx model checkpoint")


def test_plot_compare_without_reference(fourlep_output, tmp_path, capsys):
    _one_line_error(capsys, ["plot", "compare", str(fourlep_output), "--out", str(tmp_path)],
                    "hzx plot compare needs --reference FILE")


def test_flag_rewrite_touches_only_whole_parameter_names():
    from hzx.scripts.flags import flag_names, rewrite

    flags = flag_names("events", "drop_empty_bins", mlm_qcut="--qcut")
    assert rewrite("leave them out with drop_empty_bins=True", flags) == \
        "leave them out with --drop-empty-bins"
    # the same word in prose is not a parameter
    assert rewrite("the LHE file has no events; veto events by", flags) == \
        "the LHE file has no events; veto events by"
    assert rewrite("mlm_qcut needs events ≥ 1", flags) == "--qcut needs --events ≥ 1"
    # paths, dotted names, longer identifiers and quoted values stay as written
    untouched = ("/data/events/x.root: 5 events_total in config.events: "
                 "hzx.fitting.drop_empty_bins(), 'events'")
    assert rewrite(untouched, flags) == untouched


@pytest.fixture
def predictions_h5(small_h5):
    import h5py

    with h5py.File(small_h5, "r+") as h5:
        h5["regression_prediction"] = np.linspace(0.5, 9.5, 100, dtype=np.float32)
    return small_h5


@pytest.mark.parametrize(("extra", "said"), [
    (["--range", "5", "1"], "--range must be finite MIN < MAX in GeV, got 5 1"),
    (["--range", "nan", "1"], "--range must be finite MIN < MAX in GeV, got nan 1"),
])
def test_plot_outputs_bad_range(predictions_h5, tmp_path, capsys, extra, said):
    _one_line_error(capsys, ["nn", "plot-outputs", "--input-h5", str(predictions_h5),
                             "--output", str(tmp_path / "o.png"), *extra], said)
    assert not (tmp_path / "o.png").exists()


def test_plot_outputs_into_a_file(predictions_h5, capsys):
    _one_line_error(capsys, ["nn", "plot-outputs", "--input-h5", str(predictions_h5),
                             "--output", f"{predictions_h5}/o.png"],
                    f"--output {predictions_h5}/o.png")


@pytest.mark.parametrize(("extra", "said"), [
    (["--rejections", "0"], "--rejections: each must be a background rejection 1/ε_B ≥ 1, got 0"),
    (["--rejections", "10", "-5"], "--rejections: each must be a background rejection 1/ε_B ≥ 1, got -5"),
    (["--threads", "0"], "--threads must be ≥ 1 or None, got 0"),
    (["--optuna-trials", "1", "--optuna-timeout", "-1"],
     "--optuna-timeout must be > 0 seconds or None, got -1.0"),
])
def test_classifier_bad_values(small_h5, tmp_path, capsys, extra, said):
    pytest.importorskip("torch")
    _one_line_error(capsys, ["nn", "train-classifier", "--input-h5", str(small_h5),
                             "--output-dir", str(tmp_path / "c"), "--features-key",
                             "ghost_track_vars", "--epochs", "1", "--no-plots", *extra], said)


def test_classifier_rejections_are_checked_before_optuna_trials(small_h5, tmp_path, capsys):
    pytest.importorskip("optuna")
    out = tmp_path / "c"
    _one_line_error(capsys, ["nn", "train-classifier", "--input-h5", str(small_h5),
                             "--output-dir", str(out), "--features-key", "ghost_track_vars",
                             "--epochs", "1", "--no-plots", "--optuna-trials", "2",
                             "--rejections", "0"], "--rejections: each must be")
    assert not (out / "optuna.db").exists()  # no trial ran
