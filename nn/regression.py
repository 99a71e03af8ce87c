"""Regression of the a-boson mass (GeV) from the ghost-track observables.

Trains on the jets of ``--input-h5`` with a finite truth mass (``targets``; NaN marks an
unmatched jet and is skipped). Outputs in the run directory:

- the study's (``train_regression_pytorch.py``): ``report.json`` (its keys: validation, test,
  training, model, data, signal_only, hyperparameters, extra_evaluation), ``best_model.pth``
  (state dict under the study's parameter names), ``Training_curve.png``, ``Weights.png``,
  ``Reg_Val.png``, ``Reg_Test.png``, ``predictions_{val,test}_scatter.png``,
  ``residuals_{val,test}.png`` and ``Reg_<label>.png``, ``predictions_<label>_scatter.png``,
  ``residuals_<label>.png`` for the ``--extra-eval-h5`` files (``args.json`` is written by the
  command line);
- hzx's: ``model.pt`` (weights, architecture and preprocessing), ``scaler.json``,
  ``metrics.json`` (R², bias and resolution on the test split, overall and per class, timing,
  provenance), ``Reg_Test_by_class.png``, ``residuals_test_by_class.png`` and
  ``Reg_<label>_by_class.png`` (predicted mass and residual per class).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hzx.nn.config import DataConfig, TrainConfig
from hzx.nn.pipeline import REGRESSION, PreparedData

UNITS = {"bias": "GeV", "resolution": "GeV (half 68 % width of regressed − true)",
         "rmse": "GeV", "mae": "GeV", "relative_bias": "1", "relative_resolution": "1",
         "r2": "1", "inference_jets_per_second": "jets/s", "train_samples_per_second": "jets/s"}


@dataclass
class TrainingRun:
    """What a trainer returns: its output directory, metrics, the model (eval mode, on
    ``device``) and the prepared data."""

    output_dir: Path
    metrics: dict
    model: object
    prepared: PreparedData
    device: str


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)


def study_slug(label: str) -> str:
    """The study's file-name form of an extra-evaluation label (alphanumerics, - and _)."""
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label).strip("_")
    return slug or "extra_eval"


def _per_class(table, true, pred) -> dict:
    out = {}
    for cid in np.unique(table.signal_class):
        sel = (table.signal_class == cid) & np.isfinite(true)
        if not sel.any():
            continue
        from hzx.nn.metrics import mass_summary

        out[table.class_names.get(int(cid), f"class_{cid}")] = {
            "class_id": int(cid), "mass_GeV": table.class_mass_GeV.get(int(cid)),
            **mass_summary(true[sel], pred[sel]),
        }
    return out


def evaluate_regression(model, prepared: PreparedData, device: str) -> tuple[dict, dict]:
    """Test and validation metrics, and the test predictions (GeV) for the plots."""
    from hzx.nn.metrics import mass_summary
    from hzx.nn.training import predict

    table = prepared.table
    test_pred = predict(model, prepared.x[prepared.test], device)
    test_true = table.targets[prepared.test]
    val_pred = predict(model, prepared.x[prepared.val], device)
    val_true = table.targets[prepared.val]
    summary = mass_summary(test_true, test_pred)
    metrics = {**{k: summary[k] for k in ("r2", "resolution", "bias", "relative_resolution",
                                           "relative_bias", "rmse", "mae")},
               "n_test_jets": summary["n_jets"],
               "per_class": _per_class(table.subset(prepared.test), test_true, test_pred),
               "validation": mass_summary(table.targets[prepared.val], val_pred)}
    return metrics, {"true": test_true, "pred": test_pred,
                     "class": table.signal_class[prepared.test],
                     "val_true": val_true, "val_pred": val_pred,
                     "val_class": table.signal_class[prepared.val]}


def train_regression(data: DataConfig, config: TrainConfig | None = None,
                     output_dir: str | Path = "nn_regression", *,
                     prepared: PreparedData | None = None, extra_metrics: dict | None = None,
                     step: str = "train-regression") -> TrainingRun:
    """Train the mass regression and write the run directory.

    Parameters
    ----------
    data : DataConfig
        Files, keys, missing-value policy, scaling, splits, extra evaluation files.
    config : TrainConfig
        Network and optimiser; ``config.plots=False`` skips the PNGs.
    output_dir : path
        Created if needed; holds model.pt, scaler.json, metrics.json, report.json,
        best_model.pth and the plots.
    prepared : PreparedData, optional
        Already prepared jets (Optuna reuses them across trials).
    extra_metrics : dict, optional
        Merged into metrics.json (e.g. the Optuna summary).
    """
    from hzx.nn.pipeline import load_extra, write_json
    from hzx.nn.runs import common_metrics, save_run, start_run
    from hzx.nn.training import predict

    config = config or TrainConfig()
    output_dir, device, prepared, model, fit_result = start_run(data, config, REGRESSION,
                                                                output_dir, prepared)
    metrics, test = evaluate_regression(model, prepared, device)

    extra = {}
    extra_plots = {}
    for label, (extra_table, x, counts) in load_extra(data, prepared, with_targets=True).items():
        from hzx.nn.metrics import prediction_summary

        pred = predict(model, x, device)
        extra[label] = {"files": extra_table.files, "selection": counts,
                        **prediction_summary(pred),
                        "per_class": _per_class(extra_table, extra_table.targets, pred)}
        extra_plots[label] = (extra_table, pred)

    metrics = {
        "task": REGRESSION,
        **metrics,
        **common_metrics(data, config, device, prepared, model, fit_result, extra, extra_metrics,
                         step, UNITS),
    }
    save_run(output_dir, model, REGRESSION, data, config, prepared, metrics,
             {"seed": config.seed, "loss": config.loss})
    write_json(output_dir / "report.json",
               study_report(data, config, prepared, model, fit_result, test, extra_plots))
    if config.plots:
        _regression_plots(output_dir, prepared, fit_result, test, extra_plots)
        _study_plots(output_dir, model, fit_result, test, extra_plots)
    return TrainingRun(output_dir, metrics, model, prepared, device)


def study_report(data: DataConfig, config: TrainConfig, prepared: PreparedData, model,
                 fit_result, test: dict, extra_plots: dict) -> dict:
    """``report.json`` with the keys of the study's regression script.

    Losses are the training loss (``config.loss``) averaged over jets; mae and rmse in GeV.
    ``extra_evaluation`` describes the first ``--extra-eval-h5`` label (the study has one),
    over its jets with a finite truth mass; hzx adds every label in ``extra_evaluation_by_label``.
    """
    from pathlib import Path as _Path

    from hzx.nn.pipeline import numpy_loss
    from hzx.nn.study import n_parameters, regression_hyperparameters, regression_metrics
    from hzx.nn.study import signal_accuracy as accuracy

    table = prepared.table
    history = fit_result.history
    val_loss = numpy_loss(REGRESSION, config, test["val_pred"], test["val_true"])
    test_loss = numpy_loss(REGRESSION, config, test["pred"], test["true"])
    tol = config.signal_accuracy_tolerance
    report = {
        "validation": {"loss": val_loss, **regression_metrics(test["val_true"], test["val_pred"])},
        "test": {"loss": test_loss, **regression_metrics(test["true"], test["pred"])},
        "training": {"epochs_trained": fit_result.epochs_run, "best_epoch": fit_result.best_epoch,
                     "best_val_loss": float(min(history["val_loss"])) if history["val_loss"]
                     else float("nan")},
        "model": {"architecture": list(config.hidden_sizes), "n_parameters": n_parameters(model),
                  "loss_function": config.loss, "dropout": config.dropout,
                  "batch_norm": config.batch_norm},
        "data": {"n_train": len(prepared.train), "n_val": len(prepared.val),
                 "n_test": len(prepared.test), "n_features": int(prepared.x.shape[1]),
                 "input_files": [_Path(f).name for f in data.input_h5]},
        "signal_only": {
            "tolerance_GeV": tol,
            "validation": accuracy(test["val_true"], test["val_pred"], test["val_class"], tol,
                                   table.class_lookup),
            "test": accuracy(test["true"], test["pred"], test["class"], tol, table.class_lookup),
        },
        "hyperparameters": regression_hyperparameters(config),
    }
    by_label = {}
    for label, (extra_table, pred) in extra_plots.items():
        finite = np.isfinite(extra_table.targets)
        true, pred_f = extra_table.targets[finite], pred[finite]
        by_label[label] = {"label": label, "loss": numpy_loss(REGRESSION, config, pred_f, true),
                           **regression_metrics(true, pred_f), "n_samples": int(finite.sum()),
                           "n_jets": len(pred)}
    if by_label:
        report["extra_evaluation"] = next(iter(by_label.values()))
        report["extra_evaluation_by_label"] = by_label
    return report


def _study_plots(output_dir: Path, model, fit_result, test, extra_plots) -> None:
    from hzx.nn import study_plots as sp

    sp.loss_curve(fit_result.history["train_loss"], fit_result.history["val_loss"],
                  output_dir / "Training_curve.png")
    sp.weight_distribution(model, output_dir / "Weights.png")
    for split, true, pred in (("Val", test["val_true"], test["val_pred"]),
                              ("Test", test["true"], test["pred"])):
        name = "Validation" if split == "Val" else "Test"
        sp.prediction_histogram(true, pred, output_dir / f"Reg_{split}.png", f"{name} Set - Full")
        sp.prediction_scatter(true, pred, output_dir / f"predictions_{split.lower()}_scatter.png",
                              f"{name} Set Predictions")
        sp.residual_histogram(true, pred, output_dir / f"residuals_{split.lower()}.png",
                              f"{name} Set Residuals")
    for label, (extra_table, pred) in extra_plots.items():
        slug = study_slug(label)
        finite = np.isfinite(extra_table.targets)
        sp.prediction_histogram(extra_table.targets, pred, output_dir / f"Reg_{slug}.png",
                                f"{label} Set - Full")
        sp.prediction_scatter(extra_table.targets[finite], pred[finite],
                              output_dir / f"predictions_{slug}_scatter.png",
                              f"{label} Set Predictions")
        sp.residual_histogram(extra_table.targets[finite], pred[finite],
                              output_dir / f"residuals_{slug}.png", f"{label} Set Residuals")


def _by_class(table, classes, values):
    groups, truth = {}, {}
    for cid in np.unique(classes):
        label = table.class_label(int(cid))
        groups[label] = values[classes == cid]
        truth[label] = table.class_mass_GeV.get(int(cid), float("nan"))
    return groups, truth


def _regression_plots(output_dir: Path, prepared, fit_result, test, extra_plots) -> None:
    from hzx.nn import plots

    table = prepared.table
    groups, truth = _by_class(table, test["class"], test["pred"])
    plots.prediction_histograms(groups, output_dir / "Reg_Test_by_class.png", "test split", truth)
    pairs = {table.class_label(int(c)): (test["true"][test["class"] == c], test["pred"][test["class"] == c])
             for c in np.unique(test["class"])}
    plots.residuals(pairs, output_dir / "residuals_test_by_class.png", "test split")
    for label, (extra_table, pred) in extra_plots.items():
        name = study_slug(label)
        groups, truth = _by_class(extra_table, extra_table.signal_class, pred)
        plots.prediction_histograms(groups, output_dir / f"Reg_{name}_by_class.png", label, truth)
