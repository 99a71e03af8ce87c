"""Append the regressed mass to an HDF5 training file (the study's
``apply_regression_model.py``).

Two datasets are written: ``regression_prediction`` (N,) float32, the regressed mass in GeV,
and ``ghost_track_vars_with_reg`` (N, F + 1) float32: the original features (sentinels
untouched) followed by the regressed mass. Jets the model cannot evaluate under its
missing-value policy (``drop``, the study's: any undefined feature) get the sentinel −999999
as mass; ``keep`` and ``impute`` evaluate every jet. Processing is batch-wise, so files larger
than memory work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.nn.config import REGRESSED_FEATURE, SENTINEL

DEFAULT_OUTPUT_KEY = "ghost_track_vars_with_reg"
DEFAULT_PREDICTION_KEY = "regression_prediction"
#: The study's default regression run directory (``--regression-run-dir``).
DEFAULT_RUN_DIR = "nn_training_output/regression"


def apply_regression(model_path: str | Path, input_h5: str | Path, output_h5: str | Path | None = None,
                     *, overwrite: bool = False, features_key: str | None = None,
                     output_key: str | None = DEFAULT_OUTPUT_KEY,
                     prediction_key: str | None = DEFAULT_PREDICTION_KEY,
                     scaler_path: str | Path | None = None, batch_size: int = 4096,
                     device: str = "auto") -> dict:
    """Write ``prediction_key`` (regressed mass) and ``output_key`` (features + regressed mass)
    into an HDF5 file.

    Parameters
    ----------
    model_path : path
        ``model.pt`` of a regression run, or its directory (``--regression-run-dir``).
    input_h5 : path
        File holding ``features_key`` (default: the key the model was trained on).
    output_h5 : path, optional
        Copy ``input_h5`` there (replacing a file of that name, as the study) and add the
        datasets. Without it the input is modified in place (the study's default).
    overwrite : bool
        Allow replacing existing ``prediction_key`` / ``output_key`` datasets.
    output_key : str or None
        Augmented feature matrix; None skips it (``--no-augment-features``).
    prediction_key : str or None
        The regressed mass alone (``--prediction-dataset``); None skips it.
    scaler_path : path, optional
        A ``scaler.json`` to use instead of the preprocessing stored in the model.
    batch_size : int
        Jets read, evaluated and written per step.

    Returns
    -------
    dict
        Summary: output file, key, shape, jets given the sentinel, jets/s.
    """
    import time

    import h5py

    from hzx.nn.models import load_checkpoint
    from hzx.nn.scalers import Preprocessor
    from hzx.nn.training import predict, resolve_device
    from hzx.provenance import provenance

    input_h5 = Path(input_h5)
    if not input_h5.is_file():
        raise InputFileError(str(input_h5), "file does not exist")
    if batch_size < 1:
        raise ConfigurationError(f"batch_size must be ≥ 1, got {batch_size}")
    device = resolve_device(device)
    model, checkpoint = load_checkpoint(model_path, device)
    if checkpoint["task"] != "regression":
        raise InputFileError(str(model_path), f"model is a {checkpoint['task']} model, not a regression")
    if scaler_path is not None:
        if not Path(scaler_path).is_file():
            raise InputFileError(str(scaler_path), "scaler file does not exist (scaler_path)")
        preprocessor = Preprocessor.load(scaler_path)
    else:
        preprocessor = Preprocessor.from_dict(checkpoint["preprocessor"])
    features_key = features_key or checkpoint["features_key"]
    if output_key is None and prediction_key is None:
        raise ConfigurationError("nothing to write: both the prediction and the augmented "
                                 "feature dataset are switched off")

    try:
        with h5py.File(input_h5, "r") as h5:  # check before copying anything
            existing = [k for k in (prediction_key, output_key) if k is not None and k in h5]
    except OSError as err:
        raise InputFileError(str(input_h5), f"not a readable HDF5 file ({err})") from err
    if existing and not overwrite:
        raise ConfigurationError(f"{input_h5}: dataset '{existing[0]}' exists; pass overwrite=True "
                                 "to replace it")
    if output_h5 is None or Path(output_h5).resolve() == input_h5.resolve():
        target = input_h5
    else:
        target = Path(output_h5)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(input_h5, target)

    start = time.perf_counter()
    n_sentinel = 0
    with h5py.File(target, "r+") as h5:
        if features_key not in h5:
            raise InputFileError(str(input_h5), f"no dataset '{features_key}' (features_key); "
                                 f"datasets present: {', '.join(sorted(h5.keys()))}")
        source = h5[features_key]
        if source.ndim != 2 or source.shape[1] != preprocessor.n_features:
            raise InputFileError(str(input_h5), f"dataset '{features_key}' has shape {source.shape}; "
                                 f"the model expects (N, {preprocessor.n_features})")
        for key in (prediction_key, output_key):
            if key is not None and key in h5:
                del h5[key]
        n_jets, n_features = source.shape
        chunk = min(max(n_jets, 1), 16384)
        out = pred_ds = None
        if output_key is not None:
            out = h5.create_dataset(output_key, shape=(n_jets, n_features + 1), dtype=np.float32,
                                    chunks=(chunk, n_features + 1), compression="gzip")
        if prediction_key is not None:
            pred_ds = h5.create_dataset(prediction_key, shape=(n_jets,), dtype=np.float32,
                                        chunks=(chunk,), compression="gzip")
        for first in range(0, n_jets, batch_size):
            raw = np.asarray(source[first:first + batch_size], dtype=np.float32)
            mass = predict(model, preprocessor.transform(raw), device)
            unusable = _unusable(raw, preprocessor.missing)
            mass[unusable] = SENTINEL
            n_sentinel += int(unusable.sum())
            if out is not None:
                out[first:first + len(raw)] = np.column_stack([raw, mass])
            if pred_ds is not None:
                pred_ds[first:first + len(raw)] = mass
        record = json.dumps(provenance(
            "nn-apply", model=str(model_path), input=str(input_h5), features_key=features_key,
            device=device), default=str)
        for ds in (out, pred_ds):
            if ds is None:
                continue
            ds.attrs["regressed_mass_units"] = "GeV"
            ds.attrs["sentinel"] = SENTINEL
            ds.attrs["provenance"] = record
        if out is not None:
            names = [*preprocessor.feature_names, REGRESSED_FEATURE]
            out.attrs["feature_names"] = np.array(names, dtype=h5py.string_dtype())
    seconds = time.perf_counter() - start
    return {"output_h5": str(target), "output_key": output_key, "prediction_key": prediction_key,
            "shape": [n_jets, n_features + 1],
            "jets_with_sentinel_mass": n_sentinel, "seconds": seconds,
            "jets_per_second": n_jets / seconds if seconds > 0 else float("nan"), "device": device}


def _unusable(raw: np.ndarray, missing: str) -> np.ndarray:
    from hzx.nn.datasets import undefined_mask

    if missing == "drop":
        return undefined_mask(raw).any(axis=1)
    return np.zeros(len(raw), dtype=bool)
