"""The outputs of the study's scripts, written beside hzx's own: ``args.json``, the regression's
``report.json``, the classifier's S/√B threshold scan and metrics keys, ``best_model.pth``.

Names and keys follow ``train_regression_pytorch.py`` and ``train_classification_pytorch.py``
of the study (github.com/philippgadow/pheno_h2zllahad, ``analysis/nn_training``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: The study's classifier scans the score threshold in 101 steps from 0 to 1.
SIGNIFICANCE_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def regression_metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    """The study's ``mae``, ``rmse`` (GeV) and ``r2`` (NaN when undefined)."""
    true = np.asarray(true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if len(true) == 0:
        return {"mae": float("nan"), "rmse": float("nan"), "r2": float("nan")}
    ss_tot = float(np.sum((true - true.mean()) ** 2))
    return {"mae": float(np.mean(np.abs(pred - true))),
            "rmse": float(np.sqrt(np.mean((pred - true) ** 2))),
            "r2": float(1.0 - np.sum((true - pred) ** 2) / ss_tot) if ss_tot > 0 else float("nan")}


def signal_accuracy(true: np.ndarray, pred: np.ndarray, classes: np.ndarray, tolerance_GeV: float,
                    lookup=None) -> dict:
    """Signal jets (class ≥ 0) whose regressed mass lies within ``tolerance_GeV`` of the truth:
    counts, fraction and MAE (GeV), overall and per class (the study's ``signal_stats``).

    ``lookup(class_id)`` returns the class metadata merged into each per-class entry.
    """
    true = np.asarray(true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    classes = np.asarray(classes)
    mask = classes >= 0
    total = int(mask.sum())
    if total == 0:
        return {"n_total": 0, "n_correct": 0, "n_wrong": 0, "fraction_correct": None,
                "mae": None, "per_class": []}
    diffs = np.abs(pred[mask] - true[mask])
    correct = diffs <= tolerance_GeV
    per_class = []
    for cid in np.unique(classes[mask]):
        sel = mask & (classes == cid)
        d = np.abs(pred[sel] - true[sel])
        ok = d <= tolerance_GeV
        entry = {"class_id": int(cid), "n": int(sel.sum()), "n_correct": int(ok.sum()),
                 "n_wrong": int(sel.sum() - ok.sum()), "fraction_correct": float(ok.mean()),
                 "mae": float(d.mean())}
        if lookup is not None:
            entry.update(lookup(int(cid)))
        per_class.append(entry)
    return {"n_total": total, "n_correct": int(correct.sum()), "n_wrong": int(total - correct.sum()),
            "fraction_correct": float(correct.mean()), "mae": float(diffs.mean()),
            "per_class": per_class}


def significance_scan(is_signal: np.ndarray, score: np.ndarray,
                      thresholds: np.ndarray = SIGNIFICANCE_THRESHOLDS) -> dict:
    """S/√B of the jets with score ≥ t for each threshold t (0 where B = 0), and its maximum.

    Returns ``thresholds``, ``significance`` (lists), ``best_threshold`` and
    ``best_significance`` (the first threshold reaching the maximum, as numpy's argmax).
    """
    is_signal = np.asarray(is_signal, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    sig = []
    for t in thresholds:
        passed = score >= t
        s = float(np.sum(passed & is_signal))
        b = float(np.sum(passed & ~is_signal))
        sig.append(s / np.sqrt(b) if b > 0 else 0.0)
    sig = np.asarray(sig)
    best = int(np.argmax(sig))
    return {"thresholds": [float(t) for t in thresholds], "significance": [float(v) for v in sig],
            "best_threshold": float(thresholds[best]), "best_significance": float(sig[best])}


def regression_hyperparameters(config) -> dict:
    """The study's ``hyperparameters`` block of the regression."""
    return {"batch_size": config.batch_size, "epochs": config.epochs,
            "learning_rate": config.learning_rate, "hidden_sizes": list(config.hidden_sizes),
            "dropout": config.dropout, "loss": config.loss, "huber_delta": config.huber_delta,
            "patience": config.patience}


def classifier_hyperparameters(config) -> dict:
    """The study's ``hyperparameters`` block of the classifier."""
    return {"batch_size": config.batch_size, "epochs": config.epochs,
            "learning_rate": config.learning_rate, "hidden_sizes": list(config.hidden_sizes),
            "dropout": config.dropout, "patience": config.patience}


def n_parameters(model) -> int:
    """Trainable parameters of a torch model."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def study_state_dict(model, task: str) -> dict:
    """The model's weights under the parameter names of the study's networks.

    Regression (``MLPRegressor``): ``net.linear<i>``, ``net.bn<i>``, ``net.output``;
    classifier (``MLP``, an unnamed Sequential ending in a sigmoid): ``net.<index>``. hzx's
    network has the same layers in the same order (the classifier's sigmoid has no weights).
    """
    from torch import nn

    state = {}
    layer = 0
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for index, module in enumerate(model):
        if task == "regression":
            if isinstance(module, nn.Linear):
                layer += 1
                name = "output" if module is linears[-1] else f"linear{layer}"
            elif isinstance(module, nn.BatchNorm1d):
                name = f"bn{layer}"
            else:
                continue
        else:
            name = str(index)
        for key, value in module.state_dict().items():
            state[f"net.{name}.{key}"] = value.detach().cpu().clone()
    return state


def save_study_checkpoint(path: str | Path, model, task: str) -> Path:
    """``best_model.pth``: a plain state dict under the study's parameter names."""
    import torch

    path = Path(path)
    torch.save(study_state_dict(model, task), path)
    return path


def write_args_json(output_dir: str | Path, values: dict) -> Path:
    """``args.json``: the command line's values under the study's argument names (hzx's own
    options beside them)."""
    path = Path(output_dir) / "args.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2, default=str) + "\n")
    return path
