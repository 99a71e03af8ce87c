"""Neural networks of the H → Z a study: a-mass regression and signal/background classification.

Built on PyTorch (CPU or CUDA) and Optuna. Heavy libraries are imported lazily: importing
``hzx.nn`` costs nothing until a trainer runs. Entry points:

- :func:`hzx.nn.regression.train_regression` — regress the truth mass of the a (GeV) from the
  ghost-track observables;
- :func:`hzx.nn.classification.train_classifier` — signal (``signal_class`` ≥ 0) vs background (−1);
- :func:`hzx.nn.tuning.tune` — Optuna study, then one retraining with the best parameters;
- :func:`hzx.nn.apply.apply_regression` — append the regressed mass as ``ghost_track_vars_with_reg``;
- :func:`hzx.nn.features.inspect_h5` and :func:`hzx.nn.features.plot_features`.

Configuration lives in :mod:`hzx.nn.config` (frozen dataclasses with the study's defaults).
"""

from __future__ import annotations

from hzx.nn.config import DataConfig, OptunaConfig, TrainConfig

__all__ = ["DataConfig", "OptunaConfig", "TrainConfig"]
