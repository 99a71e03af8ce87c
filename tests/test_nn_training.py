"""Regression and classification trainers on synthetic files of the study's HDF5 layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
h5py = pytest.importorskip("h5py")

from hzx.nn.classification import train_classifier  # noqa: E402
from hzx.nn.config import DataConfig, TrainConfig  # noqa: E402
from hzx.nn.regression import train_regression  # noqa: E402
from hzx.nn.synthetic import write_synthetic_h5  # noqa: E402

FAST = TrainConfig(epochs=25, batch_size=128, hidden_sizes=(32, 16), patience=5,
                   num_threads=1, device="cpu", plots=False, seed=7, loss="huber")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("nn_train")
    signal = write_synthetic_h5(base / "signal.h5", n_per_class=400, n_background=800, seed=1)
    zjets = write_synthetic_h5(base / "zjets.h5", n_per_class=0, masses_GeV=(),
                               n_background=600, seed=2)
    return {"signal": signal, "zjets": zjets, "base": base}


def test_regression_reaches_r2_and_writes_run_directory(files):
    data = DataConfig(input_h5=(files["signal"],), extra_eval_h5=(files["zjets"],),
                      extra_eval_label=("ZJets",), missing="impute")
    out = files["base"] / "reg"
    run = train_regression(data, FAST, out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["r2"] > 0.95
    # Per-class resolution is a few % of the nominal mass (truth spread is 5 %).
    per_class = metrics["per_class"]
    assert set(per_class) == {"HZA_mA1.00GeV", "HZA_mA2.00GeV", "HZA_mA4.00GeV", "HZA_mA8.00GeV"}
    for entry in per_class.values():
        assert abs(entry["relative_bias"]) < 0.1
        assert 0 < entry["relative_resolution"] < 0.25
    assert metrics["resolution"] > 0
    assert metrics["device"] == "cpu" and metrics["seed"] == 7
    assert metrics["provenance"]["step"] == "train-regression"
    assert metrics["provenance"]["inputs"] == [str(files["signal"])]
    # Regression uses only jets with a finite truth mass: 1600 signal jets of 2400.
    assert metrics["selection"]["jets_without_target"] == 800
    assert sum(metrics["splits"].values()) == 1600
    # Z+jets is evaluated after training only, with its own label.
    assert metrics["extra_eval"]["ZJets"]["n_jets"] == 600
    assert {p.name for p in out.iterdir()} >= {"model.pt", "scaler.json", "metrics.json"}
    assert run.model.training is False


def test_regression_is_deterministic_for_a_seed(files):
    data = DataConfig(input_h5=(files["signal"],))
    config = FAST.replace(epochs=4, patience=0)
    first = train_regression(data, config, files["base"] / "det1")
    second = train_regression(data, config, files["base"] / "det2")
    for key in ("r2", "resolution", "bias", "rmse"):
        assert first.metrics[key] == second.metrics[key]
    assert first.metrics["training"]["history"] == second.metrics["training"]["history"]
    w1 = torch.load(files["base"] / "det1" / "model.pt", weights_only=True)["state_dict"]
    w2 = torch.load(files["base"] / "det2" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    other = train_regression(data, config.replace(seed=8), files["base"] / "det3")
    assert other.metrics["rmse"] != first.metrics["rmse"]


@pytest.mark.parametrize("loss", ["mse", "msle"])
def test_other_losses_train(files, loss):
    data = DataConfig(input_h5=(files["signal"],), standardize="standard", missing="drop")
    run = train_regression(data, FAST.replace(loss=loss, batch_norm=False, epochs=15),
                           files["base"] / f"loss_{loss}")
    assert run.metrics["r2"] > 0.9
    assert run.metrics["selection"]["jets_dropped_for_undefined_features"] > 0


def test_classifier_separates_signal_from_background(files):
    data = DataConfig(input_h5=(files["signal"], files["zjets"]), missing="impute")
    out = files["base"] / "cls"
    run = train_classifier(data, FAST.replace(epochs=10, class_weight="balanced"), out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["auc"] > 0.98
    assert metrics["validation"]["auc"] > 0.98
    eff = metrics["signal_efficiency_at_rejection"]["R=10"]
    assert eff["background_efficiency"] <= 0.1 and eff["signal_efficiency"] > 0.9
    assert metrics["per_class"]["background"]["class_id"] == -1
    assert all(metrics["per_class"][f"HZA_mA{m:.2f}GeV"]["auc_vs_background"] > 0.98
               for m in (1, 2, 4, 8))
    # Balanced weights: N/(2 N_class), 1600 signal vs 1400 background jets in all.
    assert metrics["class_weights"]["signal"] < 1 < metrics["class_weights"]["background"]
    assert metrics["device"] == "cpu"
    assert (out / "model.pt").is_file() and (out / "scaler.json").is_file()
    again = train_classifier(data, FAST.replace(epochs=10, class_weight="balanced"),
                             files["base"] / "cls2")
    assert again.metrics["auc"] == run.metrics["auc"]
    assert again.metrics["training"]["history"] == run.metrics["training"]["history"]


def test_classifier_without_discriminating_features_is_near_chance(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "noise.h5"
    with h5py.File(path, "w") as h5:
        h5["ghost_track_vars"] = rng.normal(size=(2000, 7)).astype(np.float32)
        h5["signal_class"] = np.where(rng.random(2000) < 0.5, 0, -1).astype(np.int64)
    run = train_classifier(DataConfig(input_h5=(path,)), FAST.replace(epochs=3), tmp_path / "out")
    assert 0.4 < run.metrics["auc"] < 0.6
