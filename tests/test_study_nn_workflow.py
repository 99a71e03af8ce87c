"""The study's own neural-network workflow on hzx: the command lines of ``run_nntraining.sh``
and of the study's README with its scripts replaced by ``hzx nn`` verbs, outputs checked by the
study's file names and JSON keys (github.com/philippgadow/pheno_h2zllahad, analysis/nn_training).

Tiny synthetic files in the layout of ``jet_data.h5`` keep this fast; only the epoch and trial
counts differ from the study's command lines (the script reads the trials from
REG_OPTUNA_TRIALS / CLS_OPTUNA_TRIALS).
"""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
torch = pytest.importorskip("torch")
pytest.importorskip("optuna")

from hzx.nn.study import significance_scan  # noqa: E402
from hzx.nn.synthetic import write_synthetic_h5  # noqa: E402
from hzx.scripts.cli import main  # noqa: E402

#: The class ids run_nntraining.sh passes to plot_regression_outputs.py (sha1-derived).
STUDY_IDS = (8218112266906435903, 8824635442399589374)
MASSES = (0.5, 1.5, 2.5, 3.5, 8.0)
IDS = (*STUDY_IDS, 1234567890123456789, 2345678901234567890, 3456789012345678901)

REG_REPORT_KEYS = {"validation", "test", "training", "model", "data", "signal_only",
                   "hyperparameters"}
STUDY_REG_DEFAULTS = {
    "features_key": "ghost_track_vars", "targets_key": "targets", "class_key": "signal_class",
    "extra_eval_h5": None, "extra_eval_label": "ZJets", "batch_size": 100, "epochs": 50,
    "learning_rate": 1e-3, "hidden_sizes": [50, 50, 50, 50, 50], "dropout": 0.0,
    "no_batch_norm": False, "signal_accuracy_tolerance": 1.0, "loss": "msle",
    "huber_delta": 1.0, "standardize": "robust", "test_split": 0.2, "val_split": 0.2,
    "patience": 10, "random_seed": 42, "optuna_trials": 0, "optuna_study": None,
    "optuna_storage": None, "optuna_direction": "minimize", "optuna_timeout": None,
    "optuna_pruner": "median",
}
STUDY_CLS_DEFAULTS = {
    "features_key": "ghost_track_vars_with_reg", "batch_size": 128, "epochs": 50,
    "learning_rate": 1e-3, "hidden_sizes": [64, 32, 16], "dropout": 0.0, "test_split": 0.2,
    "patience": 10, "random_state": 42, "optuna_trials": 0, "optuna_study": None,
    "optuna_storage": None, "optuna_direction": "maximize", "optuna_timeout": None,
    "optuna_pruner": "median",
}
CLS_METRICS_KEYS = {"best_threshold", "best_significance", "val_auc", "test_auc", "val_loss",
                    "test_loss", "hyperparameters"}


def study_file(path, n_per_class=40, n_background=200, seed=1):
    """A synthetic jet_data.h5 whose signal classes carry sha1-style ids, as the study's."""
    write_synthetic_h5(path, n_per_class=n_per_class, masses_GeV=MASSES,
                       n_background=n_background, seed=seed)
    with h5py.File(path, "r+") as h5:
        raw = h5["signal_class"][()]
        mapped = np.where(raw >= 0, np.asarray(IDS, dtype=np.int64)[np.clip(raw, 0, None)], -1)
        for key, value in (("signal_class", mapped),
                           ("signal_class_ids", np.asarray(IDS, dtype=np.int64))):
            del h5[key]
            h5[key] = value
    return path


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """Steps 3-7 of run_nntraining.sh, as written, from its working directory."""
    import os

    root = tmp_path_factory.mktemp("study")
    (root / "nn_training_input").mkdir()
    study_file(root / "nn_training_input" / "jet_data.h5")
    previous = os.getcwd()
    os.chdir(root)
    try:
        base, aug = "nn_training_input/jet_data.h5", "nn_training_input/jet_data_augmented.h5"
        codes = [
            main(["nn", "plot-features", "--input-h5", base, "--output-dir", "nn_plots",
                  "--include-signal-masses", "0.5,1.5,2.5,3.5"]),
            main(["nn", "train-regression", "--input-h5", base,
                  "--output-dir", "nn_training_output/regression", "--optuna-trials", "2",
                  "--optuna-study", "regression_hpo", "--optuna-storage",
                  "sqlite:///nn_training_output/regression/optuna_regression.db",
                  "--epochs", "2"]),
            main(["nn", "apply", "--input-h5", base, "--output-h5", aug,
                  "--regression-run-dir", "nn_training_output/regression", "--overwrite"]),
            main(["nn", "plot-outputs", "--input-h5", aug,
                  "--output", "nn_plots/regression_output_overlay.png",
                  "--include-classes", *map(str, STUDY_IDS)]),
            main(["nn", "train-classifier", "--input-h5", aug,
                  "--output-dir", "nn_training_output/classification",
                  "--features-key", "ghost_track_vars_with_reg", "--optuna-trials", "2",
                  "--optuna-study", "classification_hpo", "--optuna-storage",
                  "sqlite:///nn_training_output/classification/optuna_classification.db",
                  "--epochs", "2"]),
        ]
    finally:
        os.chdir(previous)
    return root, codes


def _names(directory):
    return {p.name for p in directory.iterdir()}


def test_run_nntraining_steps_succeed_and_plot_features(workflow):
    root, codes = workflow
    assert codes == [0, 0, 0, 0, 0]
    plots = _names(root / "nn_plots")
    features = ("nTracks", "deltaRLeadTrack", "leadTrackPtRatio", "angularity_2", "U1_0p7",
                "M2_0p3", "tau2")
    assert {"class_breakdown.png", "signal_mass_by_class.png",
            *(f"feature_sb_{i:02d}_{n}.png" for i, n in enumerate(features)),
            "regression_output_overlay.png", "regression_output_overlay_normalized.png"} <= plots
    assert "feature_plots_summary.pdf" not in plots  # only with --create-pdf


def test_regression_outputs_by_the_study_names(workflow):
    root, _ = workflow
    out = root / "nn_training_output" / "regression"
    assert {"args.json", "report.json", "best_model.pth", "optuna_best.json",
            "optuna_regression.db", "Training_curve.png", "Weights.png", "Reg_Val.png",
            "Reg_Test.png", "predictions_val_scatter.png", "predictions_test_scatter.png",
            "residuals_val.png", "residuals_test.png"} <= _names(out)
    args = json.loads((out / "args.json").read_text())
    assert args["optuna_trials"] == 2 and args["optuna_study"] == "regression_hpo"
    assert args["input_h5"] == ["nn_training_input/jet_data.h5"]
    assert {k: args[k] for k in STUDY_REG_DEFAULTS if k != "optuna_trials" and k != "optuna_study"
            and k != "optuna_storage" and k != "epochs"} == {
        k: v for k, v in STUDY_REG_DEFAULTS.items()
        if k not in ("optuna_trials", "optuna_study", "optuna_storage", "epochs")}
    best = json.loads((out / "optuna_best.json").read_text())
    assert {"direction", "best_value", "best_params", "best_hyperparams", "n_trials"} <= set(best)
    assert best["n_trials"] == 2 and best["direction"] == "minimize"
    report = json.loads((out / "report.json").read_text())
    assert REG_REPORT_KEYS <= set(report)
    assert set(report["validation"]) == set(report["test"]) == {"loss", "mae", "rmse", "r2"}
    assert set(report["training"]) == {"epochs_trained", "best_epoch", "best_val_loss"}
    assert set(report["model"]) == {"architecture", "n_parameters", "loss_function", "dropout",
                                    "batch_norm"}
    assert report["model"]["architecture"] == best["best_hyperparams"]["hidden_sizes"]
    assert report["hyperparameters"] == best["best_hyperparams"]
    # 200 signal jets (5 classes × 40), the one-track jets with sentinels dropped as in the
    # study, then 60/20/20 per class.
    data = report["data"]
    assert data["input_files"] == ["jet_data.h5"] and data["n_features"] == 7
    n = data["n_train"] + data["n_val"] + data["n_test"]
    assert 180 <= n < 200
    assert abs(data["n_val"] - 0.2 * n) <= 5 and abs(data["n_test"] - 0.2 * n) <= 5
    signal = report["signal_only"]
    assert signal["tolerance_GeV"] == 1.0
    test = signal["test"]
    assert {"n_total", "n_correct", "n_wrong", "fraction_correct", "mae", "per_class"} <= set(test)
    assert test["n_total"] == data["n_test"] == sum(e["n"] for e in test["per_class"])
    # Class ids are the file's own (sha1-derived) ids, with the study's metadata.
    by_id = {e["class_id"]: e for e in test["per_class"]}
    assert set(by_id) == set(IDS)
    assert by_id[STUDY_IDS[0]]["mass_GeV"] == pytest.approx(0.5)
    assert by_id[STUDY_IDS[0]]["name"] == "HZA_mA0.50GeV"
    assert by_id[STUDY_IDS[0]]["truth_pid"] == 36
    e = by_id[STUDY_IDS[1]]
    assert e["n_correct"] + e["n_wrong"] == e["n"]


def test_apply_writes_regression_prediction(workflow):
    root, _ = workflow
    with h5py.File(root / "nn_training_input" / "jet_data_augmented.h5", "r") as h5:
        feats = h5["ghost_track_vars"][()]
        pred = h5["regression_prediction"][()]
        aug = h5["ghost_track_vars_with_reg"][()]
    assert pred.shape == (len(feats),) and aug.shape == (len(feats), 8)
    assert np.array_equal(aug[:, :7], feats) and np.array_equal(aug[:, 7], pred)
    undefined = (feats <= -999998).any(axis=1)
    assert undefined.sum() > 0 and np.all(pred[undefined] == -999999.0)
    assert np.isfinite(pred[~undefined]).all() and np.all(pred[~undefined] > -999998)
    with h5py.File(root / "nn_training_input" / "jet_data.h5", "r") as h5:
        assert "regression_prediction" not in h5  # --output-h5: the input is untouched


def test_classifier_outputs_by_the_study_names(workflow):
    root, _ = workflow
    out = root / "nn_training_output" / "classification"
    assert {"args.json", "metrics.json", "best_model.pth", "optuna_best.json",
            "optuna_classification.db", "loss_curve.png", "weight_dist.png",
            "predictions_val.png", "predictions_test.png", "significance.png", "roc_val.png",
            "roc_test.png"} <= _names(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert CLS_METRICS_KEYS <= set(metrics)
    assert set(metrics["hyperparameters"]) == {"batch_size", "epochs", "learning_rate",
                                               "hidden_sizes", "dropout", "patience"}
    assert 0.0 <= metrics["best_threshold"] <= 1.0 and metrics["best_significance"] > 0
    scan = metrics["significance_scan"]
    assert len(scan["thresholds"]) == 101
    assert max(scan["significance"]) == metrics["best_significance"]
    assert metrics["test_auc"] == metrics["auc"]
    args = json.loads((out / "args.json").read_text())
    assert args["input_h5"] == "nn_training_input/jet_data_augmented.h5"
    assert args["optuna_study"] == "classification_hpo"
    assert args["features_key"] == "ghost_track_vars_with_reg"
    # Signal from the is_signal label, as the study.
    assert metrics["selection"]["label_rule"] == "is_signal > 0.5"
    best = json.loads((out / "optuna_best.json").read_text())
    assert best["direction"] == "maximize" and best["n_trials"] == 2


def test_args_json_records_the_study_defaults_when_no_flag_is_given(tmp_path, monkeypatch):
    """The command lines with no optional flag; the trainers are stubbed (args.json is written
    from the command line before training, as the study does), the configs they get checked."""
    from types import SimpleNamespace

    import hzx.nn.classification
    import hzx.nn.regression

    seen = {}
    metrics = {"r2": 1.0, "resolution": 0.1, "bias": 0.0, "n_test_jets": 1, "device": "cpu",
               "auc": 1.0, "n_jets": 1, "best_significance": 1.0, "best_threshold": 0.5,
               # what the trainers record of the jets they left out (nn.datasets); none here
               "selection": {"jets_in_files": 1, "jets_without_target": 0}}

    def stub(name):
        def train(data, config, output_dir, **kwargs):
            seen[name] = (data, config)
            return SimpleNamespace(output_dir=output_dir, metrics=metrics)
        return train

    monkeypatch.setattr(hzx.nn.regression, "train_regression", stub("regression"))
    monkeypatch.setattr(hzx.nn.classification, "train_classifier", stub("classifier"))
    reg, cls = tmp_path / "reg", tmp_path / "cls"
    assert main(["nn", "train-regression", "--input-h5", "jet_data.h5",
                 "--output-dir", str(reg)]) == 0
    args = json.loads((reg / "args.json").read_text())
    assert {k: args[k] for k in STUDY_REG_DEFAULTS} == STUDY_REG_DEFAULTS
    assert list(args)[:5] == ["input_h5", "features_key", "targets_key", "class_key", "output_dir"]
    data, config = seen["regression"]
    assert (config.batch_size, config.epochs, config.hidden_sizes, config.dropout, config.loss,
            config.seed, config.batch_norm, config.patience) == (
        100, 50, (50, 50, 50, 50, 50), 0.0, "msle", 42, True, 10)
    assert (data.test_split, data.val_split, data.standardize, data.missing,
            data.extra_eval_label) == (0.2, 0.2, "robust", "drop", ("ZJets",))
    assert main(["nn", "train-regression", "--input-h5", "jet_data.h5", "--output-dir",
                 str(tmp_path / "nobn"), "--no-batch-norm", "--random-seed", "3"]) == 0
    args = json.loads((tmp_path / "nobn" / "args.json").read_text())
    assert args["no_batch_norm"] is True and args["random_seed"] == 3
    assert seen["regression"][1].batch_norm is False and seen["regression"][1].seed == 3
    assert main(["nn", "train-classifier", "--input-h5", "jet_data_augmented.h5",
                 "--output-dir", str(cls)]) == 0
    args = json.loads((cls / "args.json").read_text())
    assert {k: args[k] for k in STUDY_CLS_DEFAULTS} == STUDY_CLS_DEFAULTS
    assert args["input_h5"] == "jet_data_augmented.h5"
    data, config = seen["classifier"]
    assert (config.batch_size, config.epochs, config.hidden_sizes, config.dropout, config.seed,
            config.class_weight, config.batch_norm) == (128, 50, (64, 32, 16), 0.0, 42, "none",
                                                        True)
    # The study's classifier validates on as many jets as it tests on: 60/20/20.
    assert (data.features_key, data.label_key, data.standardize, data.test_split,
            data.val_split, data.missing) == ("ghost_track_vars_with_reg", "is_signal", "none",
                                              0.2, 0.2, "drop")
    assert main(["nn", "train-classifier", "--input-h5", "x.h5", "--output-dir", str(cls),
                 "--test-split", "0.3"]) == 0
    assert seen["classifier"][0].val_split == 0.3


def test_trainers_with_the_study_defaults_report_them(tmp_path):
    """The Python API with default configurations (only the plots off) reports the study's
    hyperparameters; no scaling and no class weights for the classifier."""
    from hzx.nn.apply import apply_regression
    from hzx.nn.classification import train_classifier
    from hzx.nn.config import ClassifierConfig, ClassifierDataConfig, DataConfig, TrainConfig
    from hzx.nn.regression import train_regression

    path = study_file(tmp_path / "jet_data.h5", n_per_class=12, n_background=60, seed=3)
    reg = train_regression(DataConfig(input_h5=(path,)), TrainConfig(plots=False, num_threads=1),
                           tmp_path / "reg")
    report = json.loads((reg.output_dir / "report.json").read_text())
    assert report["hyperparameters"] == {
        "batch_size": 100, "epochs": 50, "learning_rate": 1e-3,
        "hidden_sizes": [50, 50, 50, 50, 50], "dropout": 0.0, "loss": "msle",
        "huber_delta": 1.0, "patience": 10}
    assert report["model"]["batch_norm"] is True and report["model"]["loss_function"] == "msle"
    assert report["signal_only"]["tolerance_GeV"] == 1.0
    apply_regression(reg.output_dir, path)  # in place, the study's default
    cls = train_classifier(ClassifierDataConfig(input_h5=(path,)),
                           ClassifierConfig(plots=False, num_threads=1), tmp_path / "cls")
    metrics = json.loads((cls.output_dir / "metrics.json").read_text())
    assert metrics["hyperparameters"] == {"batch_size": 128, "epochs": 50, "learning_rate": 1e-3,
                                          "hidden_sizes": [64, 32, 16], "dropout": 0.0,
                                          "patience": 10}
    assert metrics["features"][-1] == "regressed_mass"
    assert metrics["class_weights"]["signal"] == metrics["class_weights"]["background"] == 1.0
    assert json.loads((cls.output_dir / "scaler.json").read_text())["method"] == "none"


def test_readme_command_lines(tmp_path):
    """The study README's regression examples (epochs shortened), seed aliases of hzx."""
    signal = study_file(tmp_path / "HZA_mA1.00GeV" / "jet_data.h5", n_per_class=12,
                        n_background=0, seed=4)
    zjets = write_synthetic_h5(tmp_path / "ZJetsMG5Py8" / "jet_data.h5", n_per_class=0,
                               masses_GeV=(), n_background=50, seed=5)
    out = tmp_path / "regression_mA1"
    assert main(["nn", "train-regression", "--input-h5", str(signal), str(zjets),
                 "--output-dir", str(out), "--batch-size", "256", "--epochs", "2",
                 "--learning-rate", "1e-3", "--hidden-sizes", "128", "64", "32",
                 "--dropout", "0.1", "--test-split", "0.2", "--val-split", "0.2",
                 "--loss", "huber", "--standardize", "robust", "--no-plots"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["architecture"] == [128, 64, 32]
    assert report["model"]["loss_function"] == "huber" and report["model"]["dropout"] == 0.1
    assert report["data"]["input_files"] == ["jet_data.h5", "jet_data.h5"]
    only = tmp_path / "regression_mA1_signalOnly"
    assert main(["nn", "train-regression", "--input-h5", str(signal), "--extra-eval-h5",
                 str(zjets), "--extra-eval-label", "ZJets", "--output-dir", str(only),
                 "--epochs", "2", "--hidden-sizes", "16", "--random-seed", "7"]) == 0
    assert {"Reg_ZJets.png", "predictions_ZJets_scatter.png", "residuals_ZJets.png"} <= _names(only)
    report = json.loads((only / "report.json").read_text())
    extra = report["extra_evaluation"]
    assert set(extra) >= {"label", "loss", "mae", "rmse", "r2", "n_samples"}
    # Z+jets has no truth mass: no jet enters the study's metrics; every jet without an
    # undefined feature (dropped, as the study) is predicted.
    with h5py.File(zjets, "r") as h5:
        defined = int((h5["ghost_track_vars"][()] > -999998).all(axis=1).sum())
    assert extra["label"] == "ZJets" and extra["n_samples"] == 0
    assert extra["n_jets"] == defined and 40 <= defined < 50
    assert json.loads((only / "args.json").read_text())["random_seed"] == 7
    # hzx's --seed is an alias of --random-seed.
    again = tmp_path / "again"
    assert main(["nn", "train-regression", "--input-h5", str(signal), "--output-dir", str(again),
                 "--epochs", "2", "--hidden-sizes", "16", "--seed", "7", "--no-plots"]) == 0
    assert json.loads((again / "args.json").read_text())["random_seed"] == 7
    assert json.loads((again / "report.json").read_text())["test"] == json.loads(
        (only / "report.json").read_text())["test"]


def test_best_model_pth_loads_into_the_study_networks(workflow):
    """best_model.pth has the parameter names of the study's MLPRegressor and MLP."""
    from torch import nn

    root, _ = workflow
    reg = torch.load(root / "nn_training_output" / "regression" / "best_model.pth",
                     weights_only=True)
    hidden = json.loads((root / "nn_training_output" / "regression" / "report.json")
                        .read_text())["model"]["architecture"]
    layers, width = [], 7
    for i, size in enumerate(hidden, 1):
        layers += [(f"linear{i}", nn.Linear(width, size)), (f"bn{i}", nn.BatchNorm1d(size)),
                   (f"relu{i}", nn.ReLU())]
        width = size
    layers.append(("output", nn.Linear(width, 1)))
    study_net = nn.Module()
    study_net.net = nn.Sequential(OrderedDict(layers))
    study_net.load_state_dict(reg, strict=True)

    from hzx.nn.models import load_checkpoint

    model, _ = load_checkpoint(root / "nn_training_output" / "regression")
    x = torch.randn(16, 7)
    study_net.eval()
    assert torch.allclose(study_net.net(x), model(x), atol=1e-6)
    cls = torch.load(root / "nn_training_output" / "classification" / "best_model.pth",
                     weights_only=True)
    assert all(k.startswith("net.") for k in cls) and "net.0.weight" in cls
    assert "net.1.running_mean" in cls  # batch norm right after the first linear layer


def test_plot_features_skip_flags_and_pdf(tmp_path):
    path = study_file(tmp_path / "jet_data.h5", n_per_class=10, n_background=30, seed=6)
    out = tmp_path / "plots"
    assert main(["nn", "plot-features", "--input-h5", str(path), "--output-dir", str(out),
                 "--skip-signal-background", "--skip-per-class", "--skip-mass",
                 "--create-pdf"]) == 0
    assert _names(out) == {"class_breakdown.png", "feature_plots_summary.pdf"}
    assert (out / "feature_plots_summary.pdf").read_bytes().startswith(b"%PDF")


def test_significance_scan_known_values():
    # 3 signal jets at 0.9, 0.8, 0.3; background at 0.85, 0.2, 0.1, 0.05.
    is_signal = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)
    score = np.array([0.9, 0.8, 0.3, 0.85, 0.2, 0.1, 0.05])
    scan = significance_scan(is_signal, score)
    s = dict(zip(np.round(scan["thresholds"], 2), scan["significance"], strict=True))
    assert s[0.0] == pytest.approx(3 / 2)                # 3 signal, 4 background
    assert s[0.3] == pytest.approx(3 / 1)                # 3 signal, 1 background (0.85)
    assert s[0.86] == 0.0                                 # no background left: 0, as the study
    assert scan["best_significance"] == pytest.approx(3.0)
    assert scan["best_threshold"] == pytest.approx(0.21)  # first threshold reaching 3/√1


def test_plot_outputs_flags(tmp_path, capsys):
    """plot_regression_outputs.py's flags on a file with a regression_prediction dataset."""
    from hzx.nn.outputs import plot_regression_outputs

    path = study_file(tmp_path / "aug.h5", n_per_class=10, n_background=20, seed=8)
    with h5py.File(path, "r+") as h5:
        pred = h5["targets"][()].copy()
        pred[~np.isfinite(pred)] = 5.0
        pred[:3] = -999999.0  # jets without a prediction are left out
        h5["regression_prediction"] = pred
    out = tmp_path / "plots" / "overlay.png"
    summary = plot_regression_outputs(path, out, include_classes=[STUDY_IDS[1], 42],
                                      value_range=(0.0, 10.0), bins=20, logy=True)
    assert summary["normalized_output"] == str(tmp_path / "plots" / "overlay_normalized.png")
    assert summary["missing_classes"] == [42] and summary["range_GeV"] == [0.0, 10.0]
    assert list(summary["signal"]) == ["HZA_mA1.50GeV (m=1.50 GeV)"]
    with h5py.File(path, "r") as h5:
        valid = h5["regression_prediction"][()] > -999998
        is_signal = h5["is_signal"][()] > 0
        cls = h5["signal_class"][()]
    assert summary["n_background"] == int((valid & ~is_signal).sum())
    assert summary["signal"]["HZA_mA1.50GeV (m=1.50 GeV)"] == int(
        (valid & (cls == STUDY_IDS[1])).sum())
    norm = tmp_path / "n" / "unit.png"
    assert main(["nn", "plot-outputs", "--input-h5", str(path), "--output", str(out),
                 "--normalized-output", str(norm), "--include-classes", "42"]) == 0
    assert norm.is_file() and out.is_file()
    assert "not present in the input file: 42" in capsys.readouterr().out
    assert main(["nn", "plot-outputs", "--input-h5", str(path), "--predictions-key", "nope",
                 "--output", str(out)]) == 2
    assert "'nope'" in capsys.readouterr().err
