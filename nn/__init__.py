"""Neural networks of the H → Z a study: a-mass regression and signal/background classification.

Built on PyTorch (CPU or CUDA) and Optuna. Heavy libraries are imported lazily: importing
``hzx.nn`` costs nothing until a trainer runs. Entry points:

- :func:`hzx.nn.regression.train_regression` — regress the truth mass of the a (GeV) from the
  ghost-track observables;
- :func:`hzx.nn.classification.train_classifier` — signal (the study's ``is_signal``) vs
  background;
- :func:`hzx.nn.tuning.tune` — Optuna study, then one retraining with the best parameters;
- :func:`hzx.nn.apply.apply_regression` — store the regressed mass as ``regression_prediction``
  and append it to the features as ``ghost_track_vars_with_reg``;
- :func:`hzx.nn.outputs.plot_regression_outputs` — regression output per class;
- :func:`hzx.nn.features.feature_summary` and :func:`hzx.nn.features.plot_features`.

Each has an ``hzx nn`` verb taking the command line of the study's script of the same job
(:mod:`hzx.scripts.nn`); :mod:`hzx.nn.study` writes the study's output files and keys.
Configuration lives in :mod:`hzx.nn.config`: frozen dataclasses whose defaults are those of the
study's scripts (:class:`DataConfig`/:class:`TrainConfig` for the regression,
:class:`ClassifierDataConfig`/:class:`ClassifierConfig` for the classifier).
"""

from __future__ import annotations

from hzx.nn.config import (
    ClassifierConfig,
    ClassifierDataConfig,
    DataConfig,
    OptunaConfig,
    TrainConfig,
)

__all__ = ["ClassifierConfig", "ClassifierDataConfig", "DataConfig", "OptunaConfig", "TrainConfig"]
