"""Configuration of the neural-network trainers as frozen dataclasses.

The defaults reproduce the argparse defaults of the study's scripts.

- Regression (``train_regression_pytorch.py``; :class:`DataConfig`, :class:`TrainConfig`):
  batch 100, 50 epochs, learning rate 1e-3, hidden layers 50 50 50 50 50, dropout 0, batch
  normalisation, MSLE loss (Huber δ 1), robust scaling, test and validation splits 0.2 of all
  jets (60/20/20), early stopping with a patience of 10 epochs, seed 42, jets with an undefined
  feature (−999999 or NaN) dropped, signal accuracy tolerance 1 GeV.
- Classification (``train_classification_pytorch.py``; :class:`ClassifierDataConfig`,
  :class:`ClassifierConfig`): batch 128, 50 epochs, learning rate 1e-3, hidden layers 64 32 16,
  dropout 0, batch normalisation, no feature scaling, no class weights, features
  ``ghost_track_vars_with_reg``, label ``is_signal``, test split 0.2 and a validation split of
  the same size (60/20/20), patience 10, seed 42, jets with an undefined feature dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hzx.errors import ConfigurationError

#: Value the converter writes for an undefined observable (e.g. tau2 of a one-track jet).
SENTINEL = -999999.0
#: A value counts as the sentinel when it is at or below this threshold (float32 rounding).
SENTINEL_THRESHOLD = -999998.0

GHOST_TRACK_FEATURES = (
    "nTracks", "deltaRLeadTrack", "leadTrackPtRatio", "angularity_2", "U1_0p7", "M2_0p3", "tau2",
)
REGRESSED_FEATURE = "regressed_mass"

SCALERS = ("robust", "standard", "none")
MISSING_POLICIES = ("impute", "drop", "keep")
LOSSES = ("huber", "mse", "msle")
CLASS_WEIGHTS = ("balanced", "none")
PRUNERS = ("median", "none")


@dataclass(frozen=True)
class DataConfig:
    """Where the jets come from and how they are prepared.

    Attributes
    ----------
    input_h5 : tuple of str
        Training HDF5 files (layout of the study's ``jet_data.h5``); their jets are concatenated.
    features_key, targets_key, class_key : str
        Dataset names: features (N, F), truth mass in GeV (N,) with NaN for unmatched jets, and
        the class id (N,) with −1 for background and ≥ 0 for a signal class.
    missing : {"impute", "drop", "keep"}
        Treatment of features equal to the sentinel −999999 or NaN. ``impute`` replaces them by the
        training-split median of that feature (stored with the scaler, applied again at
        inference); ``drop`` removes every jet with any undefined feature; ``keep`` keeps every
        jet: sentinels pass through unchanged and NaN/±inf are set to the sentinel.
        The study drops such jets (``drop``, the default).
    standardize : {"robust", "standard", "none"}
        Feature scaling fitted on the training split only: (x − median)/IQR, (x − mean)/σ, none.
    test_split : float
        Fraction of the jets (of every class) put into the test split.
    val_split : float
        Fraction of ALL jets (of every class) put into the validation split (early stopping),
        as in the study: 0.2 and 0.2 give 60/20/20. ``test_split + val_split`` must be < 1.
    extra_eval_h5 : tuple of str
        Files evaluated only after training (never used for optimisation), e.g. Z+jets.
    extra_eval_label : tuple of str
        One label per extra file, or a single label for all of them (default ``ZJets``, the
        study's; an empty tuple labels each file by its stem).
    label_key : str or None
        Classifier only: dataset whose values > 0.5 mark signal jets (the study's
        ``is_signal``). A file without it falls back to ``labels`` == 36 (the study's rule),
        then to ``class_key`` ≥ 0; which rule was used is recorded in metrics.json.
        None: signal = ``class_key`` ≥ 0.
    """

    input_h5: tuple[str, ...] = ()
    features_key: str = "ghost_track_vars"
    targets_key: str = "targets"
    class_key: str = "signal_class"
    missing: str = "drop"
    standardize: str = "robust"
    test_split: float = 0.2
    val_split: float = 0.2
    extra_eval_h5: tuple[str, ...] = ()
    extra_eval_label: tuple[str, ...] = ("ZJets",)
    label_key: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_h5", tuple(str(p) for p in self.input_h5))
        object.__setattr__(self, "extra_eval_h5", tuple(str(p) for p in self.extra_eval_h5))
        object.__setattr__(self, "extra_eval_label", tuple(self.extra_eval_label))
        if not self.input_h5:
            raise ConfigurationError("no training file: input_h5 is empty")
        _choice("missing", self.missing, MISSING_POLICIES)
        _choice("standardize", self.standardize, SCALERS)
        for name in ("test_split", "val_split"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigurationError(f"{name} must lie in (0, 1), got {value}")
        if self.test_split + self.val_split >= 1.0:
            raise ConfigurationError(
                f"test_split + val_split must be < 1 (fractions of all jets), got "
                f"{self.test_split} + {self.val_split}")
        if self.extra_eval_label and len(self.extra_eval_label) not in (1, len(self.extra_eval_h5)):
            raise ConfigurationError(
                f"extra_eval_label: give one label or one per file of extra_eval_h5 "
                f"({len(self.extra_eval_h5)}), got {len(self.extra_eval_label)}"
            )

    def extra_labels(self) -> list[str]:
        """The label of each extra evaluation file (its stem when none was given)."""
        from pathlib import Path

        if not self.extra_eval_label:
            return [Path(p).parent.name if Path(p).stem == "jet_data" else Path(p).stem
                    for p in self.extra_eval_h5]
        if len(self.extra_eval_label) == 1:
            return list(self.extra_eval_label) * len(self.extra_eval_h5)
        return list(self.extra_eval_label)

    def replace(self, **changes) -> DataConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ClassifierDataConfig(DataConfig):
    """:class:`DataConfig` with the defaults of ``train_classification_pytorch.py``: features
    ``ghost_track_vars_with_reg``, label ``is_signal``, no scaling."""

    features_key: str = "ghost_track_vars_with_reg"
    standardize: str = "none"
    label_key: str | None = "is_signal"


@dataclass(frozen=True)
class TrainConfig:
    """Network, optimiser and run settings shared by the regression and classification trainers.

    Attributes
    ----------
    batch_size : int
        Jets per optimisation step.
    epochs : int
        Maximum number of passes over the training split.
    learning_rate : float
        Adam learning rate.
    hidden_sizes : tuple of int
        Widths of the hidden layers of the multilayer perceptron.
    dropout : float
        Dropout probability after every hidden layer (0 disables it).
    batch_norm : bool
        Batch normalisation after every hidden linear layer.
    loss : {"huber", "mse", "msle"}
        Regression loss on the mass in GeV (ignored by the classifier, which uses binary
        cross-entropy). ``msle`` compares log(1 + m) with predictions clamped at 0 GeV.
    huber_delta : float
        Huber transition point δ in GeV.
    patience : int
        Early stopping: epochs without improvement of the validation loss before stopping
        (0 disables early stopping; in the study 0 stops at the first epoch without
        improvement). The weights of the best epoch are restored.
    weight_decay : float
        Adam L2 weight decay.
    class_weight : {"balanced", "none"}
        Classifier only: ``balanced`` weights jets by N / (2 N_class) so both classes count
        equally; ``none`` (the study) weights every jet 1.
    signal_accuracy_tolerance : float
        Regression only: a signal jet counts as correct when |regressed − true| ≤ this (GeV);
        the ``signal_only`` section of report.json.
    seed : int
        Seeds the split, the weight initialisation and the batch order.
    device : str
        ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``.
    num_threads : int or None
        CPU threads for torch (None leaves torch's default).
    deterministic : bool
        ``torch.use_deterministic_algorithms(True)``.
    plots : bool
        Write PNG plots (Optuna trials turn this off).
    """

    batch_size: int = 100
    epochs: int = 50
    learning_rate: float = 1e-3
    hidden_sizes: tuple[int, ...] = (50, 50, 50, 50, 50)
    dropout: float = 0.0
    batch_norm: bool = True
    loss: str = "msle"
    huber_delta: float = 1.0
    patience: int = 10
    weight_decay: float = 0.0
    class_weight: str = "none"
    signal_accuracy_tolerance: float = 1.0
    seed: int = 42
    device: str = "auto"
    num_threads: int | None = None
    deterministic: bool = True
    plots: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        _choice("loss", self.loss, LOSSES)
        _choice("class_weight", self.class_weight, CLASS_WEIGHTS)
        _choice("device", self.device, ("auto", "cpu", "cuda"))
        if self.batch_size < 1 or self.epochs < 1:
            raise ConfigurationError(
                f"batch_size ({self.batch_size}) and epochs ({self.epochs}) must be ≥ 1"
            )
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigurationError(f"hidden_sizes must be positive widths, got {self.hidden_sizes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigurationError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.learning_rate <= 0 or self.huber_delta <= 0:
            raise ConfigurationError(f"learning_rate ({self.learning_rate}) and huber_delta "
                                     f"({self.huber_delta}) must be > 0")
        if self.signal_accuracy_tolerance < 0:
            raise ConfigurationError(
                f"signal_accuracy_tolerance must be ≥ 0 GeV, got {self.signal_accuracy_tolerance}")
        if self.patience < 0:
            raise ConfigurationError(f"patience must be ≥ 0, got {self.patience}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigurationError(f"num_threads must be ≥ 1 or None, got {self.num_threads}")

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ClassifierConfig(TrainConfig):
    """:class:`TrainConfig` with the defaults of ``train_classification_pytorch.py``: batch 128,
    hidden layers 64 32 16 (the loss is binary cross-entropy; ``loss`` is ignored)."""

    batch_size: int = 128
    hidden_sizes: tuple[int, ...] = (64, 32, 16)


@dataclass(frozen=True)
class OptunaConfig:
    """Hyper-parameter search with Optuna.

    Attributes
    ----------
    trials : int
        Trials to run in this invocation (a resumed study grows by this many).
    study : str or None
        Study name (default ``hzx_regression`` / ``hzx_classifier``).
    storage : str or None
        Optuna storage URL, e.g. ``sqlite:///out/optuna.db`` (default: ``optuna.db`` in the
        output directory). An existing study of that name is resumed.
    direction : str or None
        ``minimize`` or ``maximize``; it chooses the objective, as in the study. Regression:
        validation loss (the trial's loss; minimize, default) or validation R² (maximize).
        Classifier: validation AUC (maximize, default) or validation binary cross-entropy
        (minimize).
    timeout : float or None
        Stop starting new trials after this many seconds.
    pruner : {"median", "none"}
        Median pruning on the per-epoch objective.
    """

    trials: int = 0
    study: str | None = None
    storage: str | None = None
    direction: str | None = None
    timeout: float | None = None
    pruner: str = "median"

    def __post_init__(self) -> None:
        if self.trials < 0:
            raise ConfigurationError(f"OptunaConfig.trials must be ≥ 0, got {self.trials}")
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigurationError(f"OptunaConfig.timeout must be > 0 seconds or None, got "
                                     f"{self.timeout}")
        if self.direction is not None:
            _choice("optuna direction", self.direction, ("minimize", "maximize"))
        _choice("optuna pruner", self.pruner, PRUNERS)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
