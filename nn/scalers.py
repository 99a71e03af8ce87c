"""Feature preprocessing fitted on the training split only: imputation and scaling.

The fitted state is plain numbers, saved as ``scaler.json`` next to the model (and inside
``model.pt``), so inference reproduces training exactly without pickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.nn.config import MISSING_POLICIES, SCALERS
from hzx.nn.datasets import as_sentinel, undefined_mask


@dataclass
class Preprocessor:
    """Imputation of undefined values followed by per-feature scaling ``(x − center) / scale``.

    Attributes
    ----------
    method : {"robust", "standard", "none"}
        robust: center = median, scale = interquartile range; standard: mean and standard
        deviation; none: center 0, scale 1. A zero scale is replaced by 1.
    missing : {"impute", "drop", "keep"}
        With ``impute`` undefined values (sentinel, NaN) become ``fill`` before scaling; with
        ``keep`` NaN/±inf become the sentinel −999999 (so no jet is lost to them).
    center, scale, fill : list of float
        One entry per feature, in the feature's units.
    feature_names : list of str
    """

    method: str
    missing: str
    center: list[float]
    scale: list[float]
    fill: list[float]
    feature_names: list[str]

    @classmethod
    def fit(cls, features: np.ndarray, method: str, missing: str,
            feature_names: list[str]) -> Preprocessor:
        """Fit on the training features (N, F); undefined values never enter the statistics."""
        if method not in SCALERS or missing not in MISSING_POLICIES:
            raise ConfigurationError(f"unknown scaler {method!r} or missing policy {missing!r}")
        x = np.asarray(features, dtype=np.float64)
        if missing == "keep":
            x, _ = as_sentinel(x)
        undefined = undefined_mask(x)
        defined = np.where(undefined, np.nan, x)
        all_undefined = undefined.all(axis=0)
        if missing == "impute" and all_undefined.any():
            bad = [feature_names[i] for i in np.flatnonzero(all_undefined)]
            raise ConfigurationError(
                f"features {bad} are undefined (sentinel/NaN) for every training jet: "
                "cannot impute them; drop them or choose missing 'keep'")
        fill = np.nan_to_num(np.nanmedian(defined, axis=0)) if missing == "impute" else np.zeros(x.shape[1])
        if missing == "impute":
            x = np.where(undefined, fill, x)
        if method == "robust":
            center = np.median(x, axis=0)
            q25, q75 = np.percentile(x, [25, 75], axis=0)
            scale = q75 - q25
        elif method == "standard":
            center, scale = x.mean(axis=0), x.std(axis=0)
        else:
            center, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return cls(method, missing, [float(v) for v in center], [float(v) for v in scale],
                   [float(v) for v in fill], list(feature_names))

    @property
    def n_features(self) -> int:
        return len(self.center)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Scaled float32 features; with ``impute`` undefined values are filled first."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ConfigurationError(
                f"preprocessor expects (N, {self.n_features}) features, got shape {x.shape}")
        if self.missing == "impute":
            x = np.where(undefined_mask(x), np.asarray(self.fill), x)
        elif self.missing == "keep":
            x, _ = as_sentinel(x)
        return ((x - np.asarray(self.center)) / np.asarray(self.scale)).astype(np.float32)

    def to_dict(self) -> dict:
        return {"method": self.method, "missing": self.missing, "center": self.center,
                "scale": self.scale, "fill": self.fill, "feature_names": self.feature_names}

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        return cls(data["method"], data["missing"], list(data["center"]), list(data["scale"]),
                   list(data["fill"]), list(data["feature_names"]))

    def save(self, path: str | Path) -> Path:
        """Write ``scaler.json``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, KeyError, json.JSONDecodeError) as err:
            raise InputFileError(str(path), f"not a valid scaler file ({err})") from err
