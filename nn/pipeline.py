"""Steps shared by the regression and classification trainers: data preparation, losses,
building and fitting the network, writing the run directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.nn.config import DataConfig, TrainConfig
from hzx.nn.datasets import JetTable, load_jets, select_defined, stratified_split
from hzx.nn.scalers import Preprocessor

REGRESSION = "regression"
CLASSIFICATION = "classification"


@dataclass
class PreparedData:
    """Jets ready for training: selection applied, splits drawn, preprocessing fitted.

    ``x`` holds the preprocessed features of every selected jet; ``train``, ``val``, ``test``
    index into it (and into ``table``).
    """

    task: str
    table: JetTable
    x: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    preprocessor: Preprocessor
    selection: dict

    def labels(self) -> np.ndarray:
        """Regression: truth mass in GeV; classification: 1 for signal, 0 for background."""
        if self.task == REGRESSION:
            return self.table.targets.astype(np.float32)
        return self.table.is_signal.astype(np.float32)

    def weights(self, config: TrainConfig) -> np.ndarray:
        """Per-jet loss weights: 1, or for the classifier N/(2 N_class) from the training split."""
        weights = np.ones(len(self.table), dtype=np.float32)
        if self.task == CLASSIFICATION and config.class_weight == "balanced":
            sig = self.table.is_signal
            n_train = len(self.train)
            n_sig = int(sig[self.train].sum())
            weights[sig] = n_train / (2.0 * n_sig)
            weights[~sig] = n_train / (2.0 * (n_train - n_sig))
        return weights


def prepare(data: DataConfig, task: str, seed: int) -> PreparedData:
    """Load the training files, select jets, split them and fit the preprocessing.

    Regression keeps only jets with a finite truth mass (``targets``); the classifier uses every
    jet, signal = ``signal_class`` ≥ 0 against background = −1. The missing-value policy of
    ``data.missing`` is applied next; the preprocessing is fitted on the training split only.
    """
    files = ", ".join(data.input_h5)
    table = load_jets(data.input_h5, data.features_key,
                      data.targets_key if task == REGRESSION else None, data.class_key,
                      label_key=data.label_key if task == CLASSIFICATION else None)
    selection: dict = {"jets_in_files": len(table)}
    if task == REGRESSION:
        finite = np.isfinite(table.targets)
        if not finite.any():
            raise InputFileError(files, f"dataset '{data.targets_key}' has no finite truth mass "
                                 "(all NaN): no matched jet to regress")
        selection["rule"] = "jets with a finite truth mass (targets); NaN = unmatched, skipped"
        selection["jets_without_target"] = int((~finite).sum())
        table = table.subset(finite)
    else:
        if data.label_key is None:
            selection["rule"] = (f"all jets; signal = {data.class_key} ≥ 0, background = "
                                 f"{data.class_key} = −1")
        else:
            selection["rule"] = f"all jets; signal: {table.label_rule}"
        selection["label_rule"] = table.label_rule
        n_sig = int(table.is_signal.sum())
        if n_sig == 0 or n_sig == len(table):
            present = "signal" if n_sig else "background (−1)"
            key = data.class_key if table.signal_label is None else table.label_rule.split()[0]
            raise InputFileError(files, f"dataset '{key}' holds only {present} jets; "
                                 "the classifier needs both signal (≥ 0) and background (−1)")
    table, counts = select_defined(table, data.missing)
    selection.update(counts)
    selection["missing_policy"] = data.missing
    selection["jets_selected"] = len(table)
    if len(table) < 3:
        raise InputFileError(files, f"dataset '{data.features_key}': only {len(table)} usable jets "
                             f"after the '{data.missing}' treatment of undefined features")
    train, val, test = stratified_split(table.signal_class, data.test_split, data.val_split, seed)
    if len(train) == 0 or len(val) == 0 or len(test) == 0:
        raise ConfigurationError(
            f"splits too small (train {len(train)}, val {len(val)}, test {len(test)} jets) from {files}")
    if task == CLASSIFICATION:
        sig_train = table.is_signal[train]
        if sig_train.all() or not sig_train.any():
            raise InputFileError(files, f"dataset '{data.class_key}': the training split lacks one "
                                 "class; more jets of the rarer class are needed")
    preprocessor = Preprocessor.fit(table.features[train], data.standardize, data.missing,
                                    table.feature_names)
    return PreparedData(task, table, preprocessor.transform(table.features), train, val, test,
                        preprocessor, selection)


def make_loss(task: str, config: TrainConfig):
    """Weighted-mean loss ``f(output, target, weight)``: Huber/MSE/MSLE on the mass in GeV, or
    binary cross-entropy on logits for the classifier."""
    import torch
    import torch.nn.functional as F

    def weighted(per_jet, weight):
        return (per_jet * weight).sum() / weight.sum()

    if task == CLASSIFICATION:
        return lambda out, y, w: weighted(
            F.binary_cross_entropy_with_logits(out, y, reduction="none"), w)
    if config.loss == "mse":
        return lambda out, y, w: weighted((out - y) ** 2, w)
    if config.loss == "msle":
        return lambda out, y, w: weighted(
            (torch.log1p(out.clamp_min(0.0)) - torch.log1p(y.clamp_min(0.0))) ** 2, w)
    return lambda out, y, w: weighted(
        F.huber_loss(out, y, reduction="none", delta=config.huber_delta), w)


def numpy_loss(task: str, config: TrainConfig, output: np.ndarray, target: np.ndarray) -> float:
    """Mean training loss (unweighted, as the study reports it) of network outputs: the
    regression's MSE/MSLE/Huber on the mass in GeV or binary cross-entropy on logits."""
    out = np.asarray(output, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if len(out) == 0:
        return float("nan")
    if task == CLASSIFICATION:
        return float(np.mean(np.logaddexp(0.0, out) - y * out))
    if config.loss == "mse":
        return float(np.mean((out - y) ** 2))
    if config.loss == "msle":
        return float(np.mean((np.log1p(np.clip(out, 0, None)) - np.log1p(np.clip(y, 0, None))) ** 2))
    diff = np.abs(out - y)
    delta = config.huber_delta
    return float(np.mean(np.where(diff < delta, 0.5 * diff**2, delta * (diff - 0.5 * delta))))


def train_network(prepared: PreparedData, config: TrainConfig, device: str, epoch_callback=None):
    """Build the MLP under the run's seed and fit it. Returns ``(model, FitResult)``."""
    from hzx.nn.models import build_mlp
    from hzx.nn.training import fit, reproducible

    y = prepared.labels()
    w = prepared.weights(config)
    with reproducible(config.seed, config.deterministic, config.num_threads, device):
        model = build_mlp(prepared.x.shape[1], config.hidden_sizes, config.dropout, config.batch_norm)
        if prepared.task == REGRESSION:
            # Start from the median training mass (GeV) instead of 0: the loss works in GeV and
            # a zero start wastes the first epochs on the offset.
            import torch

            with torch.no_grad():
                model[-1].bias.fill_(float(np.median(y[prepared.train])))
        result = fit(
            model, make_loss(prepared.task, config),
            (prepared.x[prepared.train], y[prepared.train], w[prepared.train]),
            (prepared.x[prepared.val], y[prepared.val], w[prepared.val]),
            config, device, epoch_callback,
        )
    return model, result


def load_extra(data: DataConfig, prepared: PreparedData, with_targets: bool):
    """The ``extra_eval_h5`` jets grouped by label, preprocessed like the training jets:
    ``{label: (table, features, selection counts)}`` (counts summed over the label's files)."""
    groups: dict[str, tuple[JetTable, dict]] = {}
    registry = (prepared.table.class_names, prepared.table.class_mass_GeV)
    for path, label in zip(data.extra_eval_h5, data.extra_labels(), strict=True):
        table = load_jets([path], data.features_key, data.targets_key if with_targets else None,
                          data.class_key, expected_features=prepared.x.shape[1],
                          class_registry=registry,
                          label_key=None if with_targets else data.label_key)
        table, counts = select_defined(table, data.missing)
        if label in groups:
            old, previous = groups[label]
            counts = {k: counts.get(k, 0) + previous.get(k, 0)
                      for k in dict.fromkeys([*previous, *counts])}
            # (a separate name: ``label`` is the group's key)
            signal_label = (None if old.signal_label is None or table.signal_label is None
                            else np.concatenate([old.signal_label, table.signal_label]))
            table = JetTable(np.concatenate([old.features, table.features]),
                             np.concatenate([old.targets, table.targets]),
                             np.concatenate([old.signal_class, table.signal_class]),
                             np.concatenate([old.source, table.source]), [*old.files, path],
                             table.feature_names, table.class_names, table.class_mass_GeV,
                             {**old.class_meta, **table.class_meta}, signal_label,
                             table.label_rule)
        groups[label] = (table, counts)
    return {label: (table, prepared.preprocessor.transform(table.features), counts)
            for label, (table, counts) in groups.items()}


def run_details(data: DataConfig, config: TrainConfig, device: str) -> dict:
    """Inputs, options, seed and device for the provenance record."""
    return {"inputs": list(data.input_h5), "extra_eval_inputs": list(data.extra_eval_h5),
            "data_config": data, "train_config": config, "seed": config.seed, "device": device}


def write_json(path: Path, payload: dict) -> Path:
    """JSON with NaN written as null (strict JSON)."""
    from hzx.provenance import jsonable

    def clean(value):
        if isinstance(value, float) and not np.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            return clean(value.item())
        return value

    path.write_text(json.dumps(clean(jsonable(payload)), indent=2, allow_nan=False) + "\n")
    return path


def measure_inference(model, x: np.ndarray, device: str, repeats: int = 3) -> float:
    """Jets per second of :func:`hzx.nn.training.predict` on ``x`` (best of ``repeats``)."""
    import time

    from hzx.nn.training import predict

    if len(x) == 0:
        return float("nan")
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        predict(model, x, device)
        if device.startswith("cuda"):
            import torch
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return float(len(x) / best)
