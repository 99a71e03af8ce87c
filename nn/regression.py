"""Regression of the a-boson mass (GeV) from the ghost-track observables.

Trains on the jets of ``--input-h5`` with a finite truth mass (``targets``; NaN marks an
unmatched jet and is skipped). Outputs in the run directory: ``model.pt``, ``scaler.json``,
``metrics.json`` (R², bias and resolution of the mass on the test split, overall and per class)
and PNG plots (training curves, predicted mass per class, scatter, residuals; the same for every
``--extra-eval-h5`` label).
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
    summary = mass_summary(test_true, test_pred)
    metrics = {**{k: summary[k] for k in ("r2", "resolution", "bias", "relative_resolution",
                                           "relative_bias", "rmse", "mae")},
               "n_test_jets": summary["n_jets"],
               "per_class": _per_class(table.subset(prepared.test), test_true, test_pred),
               "validation": mass_summary(table.targets[prepared.val], val_pred)}
    return metrics, {"true": test_true, "pred": test_pred,
                     "class": table.signal_class[prepared.test]}


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
        Created if needed; holds model.pt, scaler.json, metrics.json and the plots.
    prepared : PreparedData, optional
        Already prepared jets (Optuna reuses them across trials).
    extra_metrics : dict, optional
        Merged into metrics.json (e.g. the Optuna summary).
    """
    from hzx.nn.models import save_checkpoint
    from hzx.nn.pipeline import (
        load_extra,
        measure_inference,
        prepare,
        run_details,
        train_network,
        write_json,
    )
    from hzx.nn.training import device_description, predict, resolve_device
    from hzx.provenance import provenance

    config = config or TrainConfig()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    prepared = prepared or prepare(data, REGRESSION, config.seed)
    model, fit_result = train_network(prepared, config, device)
    metrics, test = evaluate_regression(model, prepared, device)
    table = prepared.table

    extra = {}
    extra_plots = {}
    for label, (extra_table, x) in load_extra(data, prepared, with_targets=True).items():
        from hzx.nn.metrics import prediction_summary

        pred = predict(model, x, device)
        extra[label] = {"files": extra_table.files, **prediction_summary(pred),
                        "per_class": _per_class(extra_table, extra_table.targets, pred)}
        extra_plots[label] = (extra_table, pred)

    metrics = {
        "task": REGRESSION,
        **metrics,
        "units": UNITS,
        "seed": config.seed,
        "device": device,
        "device_info": device_description(device),
        "splits": {"train": len(prepared.train), "val": len(prepared.val), "test": len(prepared.test)},
        "selection": prepared.selection,
        "features": table.feature_names,
        "training": {"best_epoch": fit_result.best_epoch, "epochs_run": fit_result.epochs_run,
                     "train_seconds": fit_result.train_seconds,
                     "train_samples_per_second": fit_result.train_samples_per_second,
                     "history": fit_result.history},
        "inference_jets_per_second": measure_inference(model, prepared.x[prepared.test], device),
        "extra_eval": extra,
        **(extra_metrics or {}),
        "provenance": provenance(step, **run_details(data, config, device)),
    }
    save_checkpoint(output_dir / "model.pt", model, task=REGRESSION, n_inputs=prepared.x.shape[1],
                    hidden_sizes=config.hidden_sizes, dropout=config.dropout,
                    batch_norm=config.batch_norm, preprocessor=prepared.preprocessor.to_dict(),
                    feature_names=table.feature_names, features_key=data.features_key,
                    extra={"seed": config.seed, "loss": config.loss})
    prepared.preprocessor.save(output_dir / "scaler.json")
    write_json(output_dir / "metrics.json", metrics)
    if config.plots:
        _regression_plots(output_dir, prepared, fit_result, test, extra_plots)
    return TrainingRun(output_dir, metrics, model, prepared, device)


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
    plots.training_curves(fit_result.history, output_dir / "training_curves.png",
                          fit_result.best_epoch)
    groups, truth = _by_class(table, test["class"], test["pred"])
    plots.prediction_histograms(groups, output_dir / "Reg_test.png", "test split", truth)
    plots.scatter(test["true"], test["pred"], output_dir / "predictions_test_scatter.png", "test split")
    pairs = {table.class_label(int(c)): (test["true"][test["class"] == c], test["pred"][test["class"] == c])
             for c in np.unique(test["class"])}
    plots.residuals(pairs, output_dir / "residuals_test.png", "test split")
    for label, (extra_table, pred) in extra_plots.items():
        name = _safe(label)
        groups, truth = _by_class(extra_table, extra_table.signal_class, pred)
        plots.prediction_histograms(groups, output_dir / f"Reg_{name}.png", label, truth)
        finite = np.isfinite(extra_table.targets)
        if finite.sum() > 1:
            plots.scatter(extra_table.targets[finite], pred[finite],
                          output_dir / f"predictions_{name}_scatter.png", label)
            plots.residuals({label: (extra_table.targets[finite], pred[finite])},
                            output_dir / f"residuals_{name}.png", label)
