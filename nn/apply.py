"""Append the regressed mass to an HDF5 training file as ``ghost_track_vars_with_reg``.

The new dataset is (N, F + 1) float32: the original features (sentinels untouched) followed
by the regressed mass in GeV. Jets the model cannot evaluate under its missing-value policy
(``drop``: any undefined feature; ``keep``: NaN features) get the sentinel −999999 as mass.
Processing is batch-wise, so files larger than memory work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.nn.config import REGRESSED_FEATURE, SENTINEL

DEFAULT_OUTPUT_KEY = "ghost_track_vars_with_reg"


def apply_regression(model_path: str | Path, input_h5: str | Path, output_h5: str | Path | None = None,
                     *, overwrite: bool = False, features_key: str | None = None,
                     output_key: str = DEFAULT_OUTPUT_KEY, batch_size: int = 65536,
                     device: str = "auto") -> dict:
    """Write ``output_key`` = features + regressed mass into an HDF5 file.

    Parameters
    ----------
    model_path : path
        ``model.pt`` of a regression run, or its directory.
    input_h5 : path
        File holding ``features_key`` (default: the key the model was trained on).
    output_h5 : path, optional
        Copy ``input_h5`` there and add the dataset. Without it the input is modified in place,
        which requires ``overwrite=True``.
    overwrite : bool
        Allow modifying the input in place, replacing an existing ``output_h5`` file, and
        replacing an existing ``output_key`` dataset.
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
    preprocessor = Preprocessor.from_dict(checkpoint["preprocessor"])
    features_key = features_key or checkpoint["features_key"]

    if output_h5 is None or Path(output_h5).resolve() == input_h5.resolve():
        if not overwrite:
            raise ConfigurationError(
                f"{input_h5}: modifying the input in place needs --overwrite (or give --output-h5)")
        target = input_h5
    else:
        target = Path(output_h5)
        if target.exists() and not overwrite:
            raise ConfigurationError(f"{target} exists; pass --overwrite to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(input_h5, target)

    start = time.perf_counter()
    n_sentinel = 0
    with h5py.File(target, "r+") as h5:
        if features_key not in h5:
            raise InputFileError(str(input_h5), f"no dataset '{features_key}' (--features-key); "
                                 f"datasets present: {', '.join(sorted(h5.keys()))}")
        source = h5[features_key]
        if source.ndim != 2 or source.shape[1] != preprocessor.n_features:
            raise InputFileError(str(input_h5), f"dataset '{features_key}' has shape {source.shape}; "
                                 f"the model expects (N, {preprocessor.n_features})")
        if output_key in h5:
            if not overwrite:
                raise ConfigurationError(
                    f"{target}: dataset '{output_key}' exists; pass --overwrite to replace it")
            del h5[output_key]
        n_jets, n_features = source.shape
        out = h5.create_dataset(output_key, shape=(n_jets, n_features + 1), dtype=np.float32,
                                chunks=(min(max(n_jets, 1), 16384), n_features + 1))
        for first in range(0, n_jets, batch_size):
            raw = np.asarray(source[first:first + batch_size], dtype=np.float32)
            mass = predict(model, preprocessor.transform(raw), device)
            unusable = _unusable(raw, preprocessor.missing)
            mass[unusable] = SENTINEL
            n_sentinel += int(unusable.sum())
            out[first:first + len(raw)] = np.column_stack([raw, mass])
        names = [*preprocessor.feature_names, REGRESSED_FEATURE]
        out.attrs["feature_names"] = np.array(names, dtype=h5py.string_dtype())
        out.attrs["regressed_mass_units"] = "GeV"
        out.attrs["sentinel"] = SENTINEL
        out.attrs["provenance"] = json.dumps(provenance(
            "nn-apply", model=str(model_path), input=str(input_h5), features_key=features_key,
            device=device), default=str)
    seconds = time.perf_counter() - start
    return {"output_h5": str(target), "output_key": output_key, "shape": [n_jets, n_features + 1],
            "jets_with_sentinel_mass": n_sentinel, "seconds": seconds,
            "jets_per_second": n_jets / seconds if seconds > 0 else float("nan"), "device": device}


def _unusable(raw: np.ndarray, missing: str) -> np.ndarray:
    from hzx.nn.datasets import undefined_mask

    if missing == "drop":
        return undefined_mask(raw).any(axis=1)
    if missing == "keep":
        return ~np.isfinite(raw).all(axis=1)
    return np.zeros(len(raw), dtype=bool)
