"""Synthetic training files in the layout of the study's ``jet_data.h5`` (tests, benchmarks,
demos). The features depend smoothly on the truth mass, and background differs clearly from
signal, so a working trainer must reach high R² and AUC on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.nn.config import SENTINEL


def synthetic_jets(n_per_class: int = 500, masses_GeV=(1.0, 2.0, 4.0, 8.0),
                   n_background: int = 1000, sentinel_fraction: float = 0.05,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays of a synthetic jet file (ghost_track_vars, targets, signal_class, metadata …).

    Signal class ``i`` has nominal mass ``masses_GeV[i]`` and truth masses spread by 5 %; the
    seven ghost-track observables are smooth functions of the truth mass plus small noise.
    A fraction ``sentinel_fraction`` of jets are one-track jets whose U1_0p7, M2_0p3 and tau2
    are the sentinel −999999. Background jets have NaN targets and signal_class −1.
    """
    rng = np.random.default_rng(seed)
    masses_GeV = np.asarray(masses_GeV, dtype=np.float64)
    n_signal = n_per_class * len(masses_GeV)
    n = n_signal + n_background
    signal_class = np.r_[np.repeat(np.arange(len(masses_GeV)), n_per_class),
                         np.full(n_background, -1)].astype(np.int64)
    nominal = np.r_[np.repeat(masses_GeV, n_per_class), np.full(n_background, np.nan)]
    truth = nominal * (1 + 0.05 * rng.standard_normal(n))
    # Background: a broad "mass-like" scale, not a resonance.
    scale = np.where(signal_class >= 0, truth, rng.uniform(0.5, 12.0, n))
    log_m = np.log(scale)
    noise = rng.standard_normal((n, 7))
    is_bkg = signal_class < 0
    features = np.empty((n, 7), dtype=np.float64)
    features[:, 0] = np.maximum(2, np.round(2 + 2.0 * log_m + 0.3 * noise[:, 0]))     # nTracks
    features[:, 1] = np.exp(-2.0 - 0.5 * log_m) * (1 + 0.03 * noise[:, 1])            # deltaR
    features[:, 2] = np.where(is_bkg, 0.85, 0.45) + 0.04 * noise[:, 2]                 # ptRatio
    features[:, 3] = 0.02 * scale * (1 + 0.02 * noise[:, 3])                           # angularity
    features[:, 4] = 0.1 + 0.05 * log_m + 0.005 * noise[:, 4]                          # U1_0p7
    features[:, 5] = 0.5 + 0.1 * log_m + 0.01 * noise[:, 5]                            # M2_0p3
    features[:, 6] = np.where(is_bkg, 0.05, 0.25) + 0.02 * noise[:, 6]                 # tau2
    one_track = rng.random(n) < sentinel_fraction
    features[one_track, 0] = 1
    features[one_track, 4:] = SENTINEL
    order = rng.permutation(n)
    names = np.array([f"HZA_mA{m:.2f}GeV".encode() for m in masses_GeV])
    return {
        "ghost_track_vars": features[order].astype(np.float32),
        "targets": truth[order].astype(np.float32),
        "signal_class": signal_class[order],
        "labels": np.where(signal_class[order] >= 0, 36, 0).astype(np.int32),
        "is_signal": (signal_class[order] >= 0).astype(np.int8),
        "signal_mass": nominal[order].astype(np.float32),
        "signal_class_ids": np.arange(len(masses_GeV), dtype=np.int64),
        "signal_class_names": names,
        "signal_class_keys": names,
        "signal_class_truth_pid": np.full(len(masses_GeV), 36, dtype=np.int64),
        "signal_class_mass_GeV": masses_GeV.astype(np.float32),
    }


def write_synthetic_h5(path: str | Path, **kwargs) -> Path:
    """Write :func:`synthetic_jets` to ``path`` (keyword arguments passed on)."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        for key, value in synthetic_jets(**kwargs).items():
            h5.create_dataset(key, data=value)
    return path
