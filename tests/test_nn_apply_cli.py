"""Apply the regression to HDF5 files, train the classifier on the result; the CLI verbs."""

from __future__ import annotations

import json

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("torch")

from hzx.errors import ConfigurationError, InputFileError  # noqa: E402
from hzx.nn.apply import apply_regression  # noqa: E402
from hzx.nn.config import SENTINEL, DataConfig, TrainConfig  # noqa: E402
from hzx.nn.features import feature_summary, plot_features  # noqa: E402
from hzx.nn.models import load_checkpoint  # noqa: E402
from hzx.nn.regression import train_regression  # noqa: E402
from hzx.nn.synthetic import write_synthetic_h5  # noqa: E402
from hzx.nn.training import predict  # noqa: E402
from hzx.scripts.cli import main  # noqa: E402

FAST = TrainConfig(epochs=5, batch_size=128, hidden_sizes=(16,), patience=0, num_threads=1,
                   device="cpu", plots=False, loss="huber")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("nn_apply")
    path = write_synthetic_h5(base / "jets.h5", n_per_class=150, n_background=300, seed=9)
    run = train_regression(DataConfig(input_h5=(path,), missing="drop"), FAST, base / "reg")
    return base, path, run


def test_apply_writes_regressed_mass_batchwise(trained):
    base, path, _ = trained
    out = base / "with_reg.h5"
    summary = apply_regression(base / "reg", path, out, batch_size=97, device="cpu")
    with h5py.File(out, "r") as h5, h5py.File(path, "r") as src:
        feats = src["ghost_track_vars"][()]
        extended = h5["ghost_track_vars_with_reg"][()]
        assert extended.shape == (len(feats), 8) and extended.dtype == np.float32
        assert np.array_equal(extended[:, :7], feats)
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in h5["ghost_track_vars_with_reg"].attrs["feature_names"]]
        assert names[-1] == "regressed_mass"
        assert "targets" in h5  # the copy keeps every original dataset
        # The study's regression_prediction: the regressed mass alone.
        assert np.array_equal(h5["regression_prediction"][()], extended[:, 7])
    # Trained with --missing drop: jets with undefined features get the sentinel as mass.
    undefined = (feats <= -999998).any(axis=1)
    assert summary["jets_with_sentinel_mass"] == undefined.sum() > 0
    assert np.all(extended[undefined, 7] == SENTINEL)
    # The batch-wise masses equal a single pass of the model over the preprocessed features.
    model, ckpt = load_checkpoint(base / "reg")
    from hzx.nn.scalers import Preprocessor

    expected = predict(model, Preprocessor.from_dict(ckpt["preprocessor"]).transform(feats), "cpu")
    assert np.allclose(extended[~undefined, 7], expected[~undefined], rtol=1e-5, atol=1e-5)

    # As the study: replacing the datasets (here in place, the default without --output-h5)
    # needs overwrite (--overwrite); the input is left untouched when refused.
    with pytest.raises(ConfigurationError, match=r"'regression_prediction' exists.*overwrite=True"):
        apply_regression(base / "reg", out)
    apply_regression(base / "reg", out, overwrite=True)  # in place, datasets replaced
    with h5py.File(out, "r") as h5:
        assert h5["ghost_track_vars_with_reg"].shape == (len(feats), 8)
    # An existing output file is replaced by a fresh copy of the input, as the study does.
    apply_regression(base / "reg", path, out, device="cpu")
    with h5py.File(out, "r") as h5:
        assert h5["regression_prediction"].shape == (len(feats),)
    with pytest.raises(InputFileError, match=r"with_reg\.h5.*'nothing'"):
        apply_regression(base / "reg", out, base / "x.h5", features_key="nothing",
                         overwrite=True)


def test_cli_regression_apply_classifier_inspect_plot(trained, tmp_path, capsys):
    _, path, _ = trained
    reg, cls = tmp_path / "reg", tmp_path / "cls"
    common = ["--epochs", "4", "--batch-size", "32", "--hidden-sizes", "16", "--threads", "1", "--device", "cpu",
              "--seed", "5"]
    assert main(["nn", "train-regression", "--input-h5", str(path), "--output-dir", str(reg),
                 "--extra-eval-h5", str(path), "--extra-eval-label", "again", *common]) == 0
    assert {"model.pt", "scaler.json", "metrics.json", "Training_curve.png",
            "Reg_Test_by_class.png", "predictions_test_scatter.png", "residuals_test.png",
            "Reg_again.png", "Reg_again_by_class.png"} <= {p.name for p in reg.iterdir()}
    metrics = json.loads((reg / "metrics.json").read_text())
    assert metrics["seed"] == 5 and metrics["device"] == "cpu" and np.isfinite(metrics["r2"])
    assert metrics["provenance"]["train_config"]["hidden_sizes"] == [16]

    extended = tmp_path / "with_reg.h5"
    assert main(["nn", "apply", "--model", str(reg), "--input-h5", str(path),
                 "--output-h5", str(extended), "--device", "cpu"]) == 0  # hzx's flag name
    with h5py.File(extended, "r") as h5:
        assert {"regression_prediction", "ghost_track_vars_with_reg"} <= set(h5)
    assert main(["nn", "train-classifier", "--input-h5", str(extended), "--features-key",
                 "ghost_track_vars_with_reg", "--output-dir", str(cls), "--standardize", "robust",
                 *common]) == 0
    metrics = json.loads((cls / "metrics.json").read_text())
    assert metrics["features"][-1] == "regressed_mass" and metrics["auc"] > 0.9
    assert {"roc.png", "scores_test.png", "model.pt", "scaler.json"} <= {p.name for p in cls.iterdir()}

    capsys.readouterr()
    assert main(["nn", "inspect", "--input-h5", str(extended), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_jets"] == 900
    assert summary["datasets"]["ghost_track_vars_with_reg"]["shape"] == [900, 8]
    # Bad input through the CLI: exit code 2 and a message naming the file and key.
    assert main(["nn", "train-regression", "--input-h5", str(path), "--output-dir",
                 str(tmp_path / "bad"), "--targets-key", "mass_truth", *common]) == 2
    err = capsys.readouterr().err
    assert "jets.h5" in err and "'mass_truth'" in err


def test_inspect_and_plot_features(trained, tmp_path):
    _, path, _ = trained
    summary = feature_summary(path)
    assert set(summary["classes"]) == {"background", "HZA_mA1.00GeV", "HZA_mA2.00GeV",
                                       "HZA_mA4.00GeV", "HZA_mA8.00GeV"}
    ntracks = summary["classes"]["HZA_mA8.00GeV"]["features"]["nTracks"]
    assert ntracks["undefined_fraction"] == 0.0 and ntracks["median"] == pytest.approx(6.0)
    assert 0 < summary["classes"]["background"]["features"]["tau2"]["undefined_fraction"] < 0.2
    # Plot three of the features (a custom key keeps the test fast; names from the attribute).
    small = tmp_path / "small.h5"
    with h5py.File(path, "r") as src, h5py.File(small, "w") as h5:
        for key in ("signal_class", "signal_class_ids", "signal_class_names",
                    "signal_class_mass_GeV"):
            h5[key] = src[key][()]
        h5["three"] = src["ghost_track_vars"][:, [0, 2, 6]]
        h5["three"].attrs["feature_names"] = ["nTracks", "leadTrackPtRatio", "tau2"]
    written = plot_features(small, tmp_path / "features", features_key="three",
                            masses_GeV=[1.0, 8.0])
    # No targets in the file: no truth-mass plot; no is_signal: signal = signal_class ≥ 0.
    assert sorted(p.name for p in written) == [
        "class_breakdown.png", "feature_leadTrackPtRatio.png", "feature_nTracks.png",
        "feature_sb_00_nTracks.png", "feature_sb_01_leadTrackPtRatio.png",
        "feature_sb_02_tau2.png", "feature_tau2.png"]
    assert all(p.stat().st_size > 5000 for p in written)
    with pytest.raises(InputFileError, match=r"jets\.h5.*3 GeV"):
        plot_features(path, tmp_path / "none", masses_GeV=[3.0])
