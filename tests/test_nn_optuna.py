"""Optuna tuning with SQLite storage: study, optuna_best.json, final model, resume."""

from __future__ import annotations

import json

import pytest

optuna = pytest.importorskip("optuna")

from hzx.errors import ConfigurationError  # noqa: E402
from hzx.nn.config import DataConfig, OptunaConfig, TrainConfig  # noqa: E402
from hzx.nn.synthetic import write_synthetic_h5  # noqa: E402
from hzx.nn.tuning import tune  # noqa: E402

BASE = TrainConfig(epochs=3, patience=0, num_threads=1, device="cpu", plots=False, seed=3)


def test_three_trials_then_resume(tmp_path):
    path = write_synthetic_h5(tmp_path / "sig.h5", n_per_class=150, n_background=100, seed=5)
    data = DataConfig(input_h5=(path,))
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search = OptunaConfig(trials=3, study="hza_regression", storage=storage, pruner="none")
    out = tmp_path / "tuned"
    run = tune("regression", data, BASE, search, out)

    best = json.loads((out / "optuna_best.json").read_text())
    assert best["n_trials"] == 3 and best["n_trials_before_this_run"] == 0
    assert best["direction"] == "minimize"
    assert best["study"] == "hza_regression" and best["storage"] == storage
    study = optuna.load_study(study_name="hza_regression", storage=storage)
    assert len(study.trials) == 3
    assert best["best_value"] == pytest.approx(study.best_value)
    assert best["best_params"] == study.best_params
    # The final model uses the best parameters and the usual outputs exist; no plots anywhere.
    assert run.metrics["optuna"]["best_trial"] == study.best_trial.number
    assert list(run.metrics["provenance"]["train_config"]["hidden_sizes"]) == [
        study.best_params[f"hidden_size_layer_{i}"] for i in range(study.best_params["n_layers"])]
    # The study's search space and optuna_best.json keys.
    assert 2 <= study.best_params["n_layers"] <= 5
    assert study.best_params["batch_size"] in (64, 128, 256, 512)
    assert best["best_hyperparams"]["hidden_sizes"] == list(
        run.metrics["provenance"]["train_config"]["hidden_sizes"])
    assert set(best["best_hyperparams"]) == {"batch_size", "epochs", "learning_rate",
                                             "hidden_sizes", "dropout", "loss", "huber_delta",
                                             "patience"}
    assert {"model.pt", "scaler.json", "metrics.json"} <= {p.name for p in out.iterdir()}
    assert not list(out.glob("*.png"))

    tune("regression", data, BASE, OptunaConfig(trials=2, study="hza_regression",
                                                storage=storage, pruner="median"), out)
    resumed = optuna.load_study(study_name="hza_regression", storage=storage)
    assert len(resumed.trials) == 5
    best = json.loads((out / "optuna_best.json").read_text())
    assert best["n_trials"] == 5 and best["n_trials_before_this_run"] == 3
    # The resumed sampler does not replay the first trials.
    params = [t.params for t in resumed.trials]
    assert params[3] != params[0]

    with pytest.raises(ConfigurationError, match="hza_regression"):
        tune("regression", data, BASE, OptunaConfig(trials=1, study="hza_regression",
                                                    storage=storage, direction="maximize"), out)


def test_classifier_study_maximises_auc_by_default(tmp_path):
    path = write_synthetic_h5(tmp_path / "mix.h5", n_per_class=100, n_background=300, seed=6)
    out = tmp_path / "cls"
    run = tune("classification", DataConfig(input_h5=(path,)), BASE,
               OptunaConfig(trials=2, pruner="none"), out)
    best = json.loads((out / "optuna_best.json").read_text())
    assert best["direction"] == "maximize" and best["objective"] == "validation ROC AUC"
    assert best["storage"].startswith("sqlite:///") and (out / "optuna.db").is_file()
    assert 0.5 < best["best_value"] <= 1.0
    assert run.metrics["auc"] > 0.9
