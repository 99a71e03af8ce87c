"""Figures of merit: R², bias and resolution of the regressed mass; ROC, AUC, signal efficiency."""

from __future__ import annotations

import numpy as np

#: Background rejections 1/ε_B at which the classifier's signal efficiency is quoted.
DEFAULT_REJECTIONS = (10.0, 100.0, 1000.0)


def r2_score(true: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination 1 − Σ(p − t)² / Σ(t − t̄)² (NaN for fewer than 2 jets)."""
    true = np.asarray(true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if len(true) < 2:
        return float("nan")
    denominator = np.sum((true - true.mean()) ** 2)
    if denominator == 0:
        return float("nan")
    return float(1.0 - np.sum((pred - true) ** 2) / denominator)


def half_width_68(values: np.ndarray) -> float:
    """Half of the central 68 % interval (16th–84th percentile): a robust Gaussian σ."""
    if len(values) == 0:
        return float("nan")
    q16, q84 = np.percentile(values, [15.865, 84.135])
    return float(0.5 * (q84 - q16))


def mass_summary(true: np.ndarray, pred: np.ndarray) -> dict:
    """Bias and resolution of predicted masses (GeV) against the truth (GeV).

    bias = median(pred − true) [GeV], resolution = half 68 % width of pred − true [GeV],
    relative_* the same for (pred − true)/true, plus mean/std, RMSE, MAE and R².
    """
    true = np.asarray(true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    residual = pred - true
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(true != 0, residual / true, np.nan)
    relative = relative[np.isfinite(relative)]
    return {
        "n_jets": len(true),
        "r2": r2_score(true, pred),
        "bias": float(np.median(residual)) if len(true) else float("nan"),
        "resolution": half_width_68(residual),
        "relative_bias": float(np.median(relative)) if len(relative) else float("nan"),
        "relative_resolution": half_width_68(relative),
        "mean_residual": float(residual.mean()) if len(true) else float("nan"),
        "std_residual": float(residual.std()) if len(true) else float("nan"),
        "rmse": float(np.sqrt(np.mean(residual**2))) if len(true) else float("nan"),
        "mae": float(np.mean(np.abs(residual))) if len(true) else float("nan"),
        "mean_true": float(true.mean()) if len(true) else float("nan"),
        "mean_prediction": float(pred.mean()) if len(true) else float("nan"),
    }


def prediction_summary(pred: np.ndarray) -> dict:
    """Distribution of predictions without truth (e.g. Z+jets): count, mean, median, 68 % width."""
    pred = np.asarray(pred, dtype=np.float64)
    if len(pred) == 0:
        return {"n_jets": 0}
    return {"n_jets": len(pred), "mean_prediction": float(pred.mean()),
            "median_prediction": float(np.median(pred)), "half_width_68": half_width_68(pred)}


def roc_curve(is_signal: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None):
    """Background efficiency ε_B, signal efficiency ε_S and thresholds, scanning the score down.

    Returns three arrays starting at (0, 0) with threshold +inf and ending at (1, 1).
    """
    is_signal = np.asarray(is_signal, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    weight = np.ones(len(score)) if weight is None else np.asarray(weight, dtype=np.float64)
    order = np.argsort(-score, kind="stable")
    score, sig, w = score[order], is_signal[order], weight[order]
    tp = np.cumsum(w * sig)
    fp = np.cumsum(w * ~sig)
    last_of_each_value = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tp, fp, thresholds = tp[last_of_each_value], fp[last_of_each_value], score[last_of_each_value]
    total_s, total_b = tp[-1], fp[-1]
    tpr = np.r_[0.0, tp / total_s] if total_s > 0 else np.full(len(tp) + 1, np.nan)
    fpr = np.r_[0.0, fp / total_b] if total_b > 0 else np.full(len(fp) + 1, np.nan)
    return fpr, tpr, np.r_[np.inf, thresholds]


def roc_auc(is_signal: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (probability that a signal jet outscores a background jet, ties
    counting one half); NaN when a class is empty."""
    from scipy.stats import rankdata

    is_signal = np.asarray(is_signal, dtype=bool)
    n_sig, n_bkg = int(is_signal.sum()), int((~is_signal).sum())
    if n_sig == 0 or n_bkg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    return float((ranks[is_signal].sum() - n_sig * (n_sig + 1) / 2) / (n_sig * n_bkg))


def signal_efficiency_at_rejection(is_signal, score, rejections=DEFAULT_REJECTIONS) -> dict:
    """Largest signal efficiency with background efficiency ≤ 1/R, for each rejection R.

    Keys are ``"R=<R>"``; values carry the efficiency and the score threshold.
    """
    fpr, tpr, thresholds = roc_curve(is_signal, score)
    out = {}
    for rejection in rejections:
        allowed = fpr <= 1.0 / rejection
        best = int(np.flatnonzero(allowed)[np.argmax(tpr[allowed])]) if allowed.any() else 0
        out[f"R={rejection:g}"] = {
            "background_rejection": float(rejection),
            "signal_efficiency": float(tpr[best]),
            "background_efficiency": float(fpr[best]),
            "score_threshold": float(thresholds[best]),
        }
    return out
