"""Signal/background classification of jets.

Signal is the study's ``is_signal`` label (``label_key``; with a plain :class:`DataConfig`
``signal_class`` ≥ 0 against background −1). Outputs in the run directory:

- the study's (``train_classification_pytorch.py``): ``metrics.json`` keys ``best_threshold``
  and ``best_significance`` (S/√B scan of the validation scores over 101 thresholds),
  ``val_auc``, ``test_auc``, ``val_loss``, ``test_loss``, ``hyperparameters``;
  ``best_model.pth``; ``loss_curve.png``, ``weight_dist.png``, ``predictions_val.png``,
  ``predictions_test.png``, ``significance.png``, ``roc_val.png``, ``roc_test.png``
  (``args.json`` is written by the command line);
- hzx's: ``model.pt``, ``scaler.json``, further metrics.json keys (ROC AUC per signal class
  against all background, signal efficiency at background rejections 10, 100, 1000, the full
  significance scan, provenance) and ``roc.png`` (rejection per signal class), ``scores_*.png``
  (score per class).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError
from hzx.nn.config import ClassifierConfig, ClassifierDataConfig, DataConfig, TrainConfig
from hzx.nn.pipeline import CLASSIFICATION, PreparedData
from hzx.nn.regression import TrainingRun, _safe

UNITS = {"auc": "1", "signal_efficiency": "1", "background_rejection": "1/ε_B",
         "score": "signal probability (sigmoid of the network output)",
         "inference_jets_per_second": "jets/s", "train_samples_per_second": "jets/s"}


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """Signal probability from the network's logit (exp(−logaddexp(0, −x)): no overflow for
    large negative logits)."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(logit, dtype=np.float64))).astype(np.float32)


def score_summary(table, score: np.ndarray, rejections) -> dict:
    """AUC, signal efficiency at fixed rejection, and per-class AUC for jets of ``table``."""
    from hzx.nn.metrics import roc_auc, signal_efficiency_at_rejection

    is_signal = table.is_signal
    out: dict = {"n_jets": len(score), "n_signal": int(is_signal.sum()),
                 "n_background": int((~is_signal).sum()), "auc": roc_auc(is_signal, score)}
    if out["n_signal"] and out["n_background"]:
        out["signal_efficiency_at_rejection"] = signal_efficiency_at_rejection(
            is_signal, score, rejections)
    per_class = {}
    for cid in np.unique(table.signal_class):
        sel = table.signal_class == cid
        entry = {"class_id": int(cid), "mass_GeV": table.class_mass_GeV.get(int(cid)),
                 "n_jets": int(sel.sum()), "mean_score": float(score[sel].mean())}
        if cid >= 0 and out["n_background"]:
            both = sel | ~is_signal
            entry["auc_vs_background"] = roc_auc(is_signal[both], score[both])
        per_class[table.class_names.get(int(cid), f"class_{cid}")] = entry
    out["per_class"] = per_class
    return out


def check_rejections(rejections) -> None:
    """Background rejections 1/ε_B must be ≥ 1 (ε_B is a fraction; R = 0 divides by zero)."""
    import math

    bad = [r for r in rejections if not (isinstance(r, int | float) and math.isfinite(r) and r >= 1)]
    if bad:
        raise ConfigurationError(f"rejections: each must be a background rejection 1/ε_B ≥ 1, got "
                                 f"{', '.join(f'{r:g}' for r in bad)}")


def train_classifier(data: DataConfig | None = None, config: TrainConfig | None = None,
                     output_dir: str | Path = "nn_classifier", *,
                     prepared: PreparedData | None = None, extra_metrics: dict | None = None,
                     rejections=(10.0, 100.0, 1000.0), step: str = "train-classifier") -> TrainingRun:
    """Train the signal/background classifier and write the run directory.

    Same arguments as :func:`hzx.nn.regression.train_regression`; ``config.class_weight``
    balances the classes and ``rejections`` sets the background rejections 1/ε_B at which the
    signal efficiency is quoted. ``config.loss`` is ignored (binary cross-entropy). The
    defaults are :class:`ClassifierDataConfig` and :class:`ClassifierConfig` (the study's).
    """
    from hzx.nn import plots
    from hzx.nn.metrics import roc_curve
    from hzx.nn.pipeline import load_extra
    from hzx.nn.runs import common_metrics, save_run, start_run
    from hzx.nn.training import predict

    check_rejections(rejections)
    config = config or ClassifierConfig()
    if data is None:
        data = ClassifierDataConfig()
    output_dir, device, prepared, model, fit_result = start_run(data, config, CLASSIFICATION,
                                                                output_dir, prepared)
    table = prepared.table
    test_table = table.subset(prepared.test)
    test_score = sigmoid(predict(model, prepared.x[prepared.test], device))
    val_score = sigmoid(predict(model, prepared.x[prepared.val], device))
    test_summary = score_summary(test_table, test_score, rejections)
    extra, extra_scores = {}, {}
    for label, (extra_table, x, counts) in load_extra(data, prepared, with_targets=False).items():
        score = sigmoid(predict(model, x, device))
        extra[label] = {"files": extra_table.files, "selection": counts,
                        **score_summary(extra_table, score, rejections)}
        extra_scores[label] = (extra_table, score)

    from hzx.nn.metrics import roc_auc
    from hzx.nn.pipeline import numpy_loss
    from hzx.nn.study import classifier_hyperparameters, significance_scan

    val_is_signal = table.is_signal[prepared.val]
    scan = significance_scan(val_is_signal, val_score)
    val_logit = predict(model, prepared.x[prepared.val], device)
    test_logit = predict(model, prepared.x[prepared.test], device)
    val_auc = roc_auc(val_is_signal, val_score)
    study_keys = {
        "best_threshold": scan["best_threshold"],
        "best_significance": scan["best_significance"],
        "val_auc": val_auc,
        "test_auc": test_summary["auc"],
        "val_loss": numpy_loss(CLASSIFICATION, config, val_logit, val_is_signal),
        "test_loss": numpy_loss(CLASSIFICATION, config, test_logit, test_table.is_signal),
        "hyperparameters": classifier_hyperparameters(config),
    }
    metrics = {
        **study_keys,
        "significance_scan": {"split": "validation", "rule": "S/√B of jets with score ≥ t "
                              "(0 where B = 0)", "thresholds": scan["thresholds"],
                              "significance": scan["significance"]},
        "task": CLASSIFICATION,
        "auc": test_summary.pop("auc"),
        **test_summary,
        "validation": {"auc": val_auc},
        "class_weights": {"rule": config.class_weight,
                          "signal": float(prepared.weights(config)[table.is_signal][0]),
                          "background": float(prepared.weights(config)[~table.is_signal][0])},
        **common_metrics(data, config, device, prepared, model, fit_result, extra, extra_metrics,
                         step, UNITS),
    }
    save_run(output_dir, model, CLASSIFICATION, data, config, prepared, metrics,
             {"seed": config.seed})
    if config.plots:
        from hzx.nn import study_plots as sp

        h = fit_result.history
        sp.loss_curve(h["train_loss"], h["val_loss"], output_dir / "loss_curve.png", "loss")
        sp.weight_distribution(model, output_dir / "weight_dist.png", log_bins=False)
        sp.score_histograms(val_is_signal, val_score, output_dir / "predictions_val.png")
        sp.score_histograms(test_table.is_signal, test_score, output_dir / "predictions_test.png")
        sp.significance(scan, output_dir / "significance.png")
        for split, truth, score, auc in (("val", val_is_signal, val_score, val_auc),
                                         ("test", test_table.is_signal, test_score,
                                          study_keys["test_auc"])):
            fpr, tpr, _ = roc_curve(truth, score)
            sp.roc_curve(fpr, tpr, auc, output_dir / f"roc_{split}.png",
                         f"ROC curve ({'validation' if split == 'val' else 'test'} split)")
        curves = {}
        fpr, tpr, _ = roc_curve(test_table.is_signal, test_score)
        curves["all signal (test)"] = (fpr, tpr, metrics["auc"])
        for cid in np.unique(test_table.signal_class[test_table.is_signal]):
            both = (test_table.signal_class == cid) | ~test_table.is_signal
            fpr, tpr, _ = roc_curve(test_table.is_signal[both], test_score[both])
            name = test_table.class_names.get(int(cid), f"class_{cid}")
            curves[test_table.class_label(int(cid))] = (
                fpr, tpr, metrics["per_class"][name]["auc_vs_background"])
        plots.roc(curves, output_dir / "roc.png")
        plots.scores({test_table.class_label(int(c)): test_score[test_table.signal_class == c]
                      for c in np.unique(test_table.signal_class)},
                     output_dir / "scores_test.png", "test split")
        for label, (extra_table, score) in extra_scores.items():
            plots.scores({extra_table.class_label(int(c)): score[extra_table.signal_class == c]
                          for c in np.unique(extra_table.signal_class)},
                         output_dir / f"scores_{_safe(label)}.png", label)
    return TrainingRun(output_dir, metrics, model, prepared, device)
