"""Hyper-parameter search with Optuna for both trainers.

Each trial samples the study's search space (``train_*_pytorch.py``): batch size 64/128/256/512,
learning rate 3e-4–5e-3 (log), dropout 0–0.4 (regression) or 0–0.5 (classifier), 2–5 hidden
layers of 32–256 nodes in steps of 32 (``hidden_size_layer_<i>``) and — for the regression —
the loss (msle, mse, huber) and Huber δ 0.5–2; it trains on the training split and is scored on
the validation split. Trials write nothing but the study (no plots, no model). After
the sweep one retraining with the best parameters writes the usual run directory plus
``optuna_best.json``. A study found in the storage under the same name is resumed: its trials
count, and new trials are added to them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError
from hzx.nn.config import DataConfig, OptunaConfig, TrainConfig
from hzx.nn.pipeline import CLASSIFICATION, REGRESSION, PreparedData, write_json

BATCH_CHOICES = (64, 128, 256, 512)

OBJECTIVES = {
    (REGRESSION, "minimize"): "validation loss (the trial's loss function on the mass in GeV)",
    (REGRESSION, "maximize"): "validation R² of the mass",
    (CLASSIFICATION, "maximize"): "validation ROC AUC",
    (CLASSIFICATION, "minimize"): "validation binary cross-entropy (class-weighted)",
}
DEFAULT_DIRECTION = {REGRESSION: "minimize", CLASSIFICATION: "maximize"}


def suggest_config(trial, base: TrainConfig, task: str) -> TrainConfig:
    """The trial's configuration: ``base`` with the searched parameters replaced."""
    changes = {
        "batch_size": trial.suggest_categorical("batch_size", BATCH_CHOICES),
        "learning_rate": trial.suggest_float("learning_rate", 3e-4, 5e-3, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.4 if task == REGRESSION else 0.5),
    }
    if task == REGRESSION:
        changes["loss"] = trial.suggest_categorical("loss", ("msle", "mse", "huber"))
    n_layers = trial.suggest_int("n_layers", 2, 5)
    changes["hidden_sizes"] = tuple(trial.suggest_int(f"hidden_size_layer_{i}", 32, 256, step=32)
                                    for i in range(n_layers))
    if task == REGRESSION and changes["loss"] == "huber":
        changes["huber_delta"] = trial.suggest_float("huber_delta", 0.5, 2.0)
    return base.replace(**changes)


def objective_value(task: str, direction: str, prepared: PreparedData, config: TrainConfig,
                    outputs: np.ndarray) -> float:
    """The study's objective from the network outputs on the validation split."""
    from hzx.nn.metrics import r2_score, roc_auc
    from hzx.nn.pipeline import numpy_loss

    val = prepared.val
    if task == REGRESSION:
        true = prepared.table.targets[val].astype(np.float64)
        if direction == "maximize":
            return r2_score(true, outputs)
        return numpy_loss(REGRESSION, config, outputs, true)
    is_signal = prepared.table.is_signal[val]
    if direction == "maximize":
        return roc_auc(is_signal, outputs)
    logit = outputs.astype(np.float64)
    per_jet = np.logaddexp(0.0, logit) - is_signal * logit  # BCE on logits, stable
    weights = prepared.weights(config)[val]
    return float(np.sum(per_jet * weights) / np.sum(weights))


def tune(task: str, data: DataConfig, base: TrainConfig, search: OptunaConfig,
         output_dir: str | Path, **trainer_options):
    """Run (or resume) the Optuna study, then retrain once with the best parameters.

    ``trainer_options`` go to the final training (e.g. the classifier's ``rejections``).

    Returns the :class:`hzx.nn.regression.TrainingRun` of the final training; its metrics hold
    an ``optuna`` section, also written to ``optuna_best.json``.
    """
    import optuna

    from hzx.nn.classification import train_classifier
    from hzx.nn.pipeline import prepare, train_network
    from hzx.nn.regression import train_regression
    from hzx.nn.study import classifier_hyperparameters, regression_hyperparameters
    from hzx.nn.training import predict, resolve_device

    if search.trials < 1:
        raise ConfigurationError("tune() needs OptunaConfig.trials ≥ 1")
    if "rejections" in trainer_options:  # checked before the trials, not after them
        from hzx.nn.classification import check_rejections

        check_rejections(trainer_options["rejections"])
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    direction = search.direction or DEFAULT_DIRECTION[task]
    study_name = search.study or f"hzx_{task}"
    storage = search.storage or f"sqlite:///{(output_dir / 'optuna.db').resolve()}"
    device = resolve_device(base.device)
    prepared = prepare(data, task, base.seed)

    try:
        existing = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None and existing.direction.name.lower() != direction:
        raise ConfigurationError(
            f"study '{study_name}' in {storage} was created to {existing.direction.name.lower()}, "
            f"not to {direction}: choose another study name (OptunaConfig.study) or the same direction "
            "(OptunaConfig.direction)")
    previous_trials = len(existing.trials) if existing is not None else 0
    # A resumed study gets a sampler seeded differently, else it would replay the first trials.
    sampler = optuna.samplers.TPESampler(seed=base.seed + previous_trials)
    pruner = (optuna.pruners.MedianPruner()  # the study's: Optuna's defaults
              if search.pruner == "median" else optuna.pruners.NopPruner())
    study = optuna.create_study(study_name=study_name, storage=storage, direction=direction,
                                sampler=sampler, pruner=pruner, load_if_exists=True)

    def objective(trial) -> float:
        config = suggest_config(trial, base, task).replace(plots=False)

        def report(epoch: int, outputs: np.ndarray) -> float:
            value = objective_value(task, direction, prepared, config, outputs)
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")
            return value

        model, fit_result = train_network(prepared, config, device, report)
        trial.set_user_attr("best_epoch", fit_result.best_epoch)
        trial.set_user_attr("epochs_run", fit_result.epochs_run)
        outputs = predict(model, prepared.x[prepared.val], device)
        return objective_value(task, direction, prepared, config, outputs)

    study.optimize(objective, n_trials=search.trials, timeout=search.timeout)
    states = [t.state for t in study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    if complete == 0:
        raise ConfigurationError(f"study '{study_name}' in {storage} has no completed trial")
    best = study.best_trial
    final = suggest_config(optuna.trial.FixedTrial(best.params), base, task)
    summary = {
        "study": study_name,
        "storage": storage,
        "direction": direction,
        "objective": OBJECTIVES[(task, direction)],
        "best_value": best.value,
        "best_trial": best.number,
        "best_params": best.params,
        "best_hyperparams": (regression_hyperparameters(final) if task == REGRESSION
                             else classifier_hyperparameters(final)),
        "n_trials": len(study.trials),
        "n_trials_before_this_run": previous_trials,
        "n_complete": complete,
        "n_pruned": states.count(optuna.trial.TrialState.PRUNED),
        "n_failed": states.count(optuna.trial.TrialState.FAIL),
        "final_config": final,
    }
    write_json(output_dir / "optuna_best.json", summary)
    trainer = train_regression if task == REGRESSION else train_classifier
    step = "train-regression" if task == REGRESSION else "train-classifier"
    return trainer(data, final, output_dir, prepared=prepared, extra_metrics={"optuna": summary},
                   step=f"{step}-optuna", **trainer_options)
