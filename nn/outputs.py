"""The regression output per class (the study's ``plot_regression_outputs.py``).

Reads ``regression_prediction`` (written by ``hzx nn apply``), ``is_signal`` and
``signal_class`` straight from the file, so class ids are the file's own (e.g. the study's
sha1-derived ids given to ``--include-classes``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.nn.config import SENTINEL_THRESHOLD

DEFAULT_OUTPUT = "nn_plots/regression_output_overlay.png"


def normalized_path(output: str | Path) -> Path:
    """The study's default for the unit-area plot: ``<stem>_normalized<suffix>``."""
    output = Path(output)
    return output.with_name(f"{output.stem}_normalized{output.suffix or '.png'}")


def plot_regression_outputs(input_h5: str | Path, output: str | Path = DEFAULT_OUTPUT, *,
                            normalized_output: str | Path | None = None,
                            predictions_key: str = "regression_prediction",
                            is_signal_key: str = "is_signal", class_key: str = "signal_class",
                            bins: int = 80, value_range: tuple[float, float] | None = None,
                            logy: bool = False, include_classes=None) -> dict:
    """Histograms of the regressed mass (GeV) for background and each signal class: raw
    counts to ``output`` and normalised to unit area to ``normalized_output``.

    Jets with a non-finite or sentinel prediction are left out. The range defaults to the
    0.5–99.5 % percentiles of the predictions. ``include_classes`` restricts the signal classes
    drawn (ids absent from the file are listed in the returned ``missing_classes``).
    Returns the paths and the jet count of every drawn group.
    """
    import h5py

    from hzx.nn import study_plots as sp
    from hzx.nn.datasets import read_class_metadata

    input_h5 = Path(input_h5)
    if not input_h5.is_file():
        raise InputFileError(str(input_h5), "file does not exist")
    if bins < 1:
        raise ConfigurationError(f"bins must be ≥ 1, got {bins}")
    if value_range is not None:
        low, high = (float(v) for v in value_range)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ConfigurationError(f"value_range must be finite MIN < MAX in GeV, got "
                                     f"{low:g} {high:g}")
    with h5py.File(input_h5, "r") as h5:
        for key, flag in ((predictions_key, "predictions_key"), (is_signal_key, "is_signal_key")):
            if key not in h5:
                raise InputFileError(str(input_h5), f"no dataset '{key}' ({flag}); datasets "
                                     f"present: {', '.join(sorted(h5.keys()))}")
        pred = np.asarray(h5[predictions_key][()], dtype=np.float32).ravel()
        is_signal = np.asarray(h5[is_signal_key][()]).ravel() > 0
        classes = (np.asarray(h5[class_key][()]).astype(np.int64).ravel()
                   if class_key in h5 else None)
        names, masses = read_class_metadata(h5)
    for arr, key in ((is_signal, is_signal_key), (classes, class_key)):
        if arr is not None and len(arr) != len(pred):
            raise InputFileError(str(input_h5), f"dataset '{key}' has {len(arr)} entries but "
                                 f"'{predictions_key}' has {len(pred)}")
    valid = np.isfinite(pred) & (pred > SENTINEL_THRESHOLD)
    pred, is_signal = pred[valid], is_signal[valid]
    classes = classes[valid] if classes is not None else None
    if not len(pred):
        raise InputFileError(str(input_h5), f"dataset '{predictions_key}': no valid prediction")
    if value_range is not None:
        low, high = map(float, value_range)
    else:
        low, high = (float(v) for v in np.percentile(pred, [0.5, 99.5]))
        if not high > low:
            low, high = float(pred.min()), float(pred.max()) + 1e-6
    edges = np.linspace(low, high, bins + 1)
    signals: dict[str, np.ndarray] = {}
    missing: list[int] = []
    if classes is not None and is_signal.any():
        present = sorted({int(c) for c in classes[(classes >= 0) & is_signal]})
        wanted = present
        if include_classes:
            include = [int(c) for c in include_classes]
            missing = [c for c in include if c not in present]
            wanted = [c for c in present if c in include]
        for cid in wanted:
            label = names.get(cid, f"class {cid}")
            if cid in masses and np.isfinite(masses[cid]):
                label += f" (m={masses[cid]:.2f} GeV)"
            signals[label] = pred[(classes == cid) & is_signal]
    elif is_signal.any():
        signals["signal"] = pred[is_signal]
    background = pred[~is_signal]
    output = Path(output)
    normalized_output = Path(normalized_output) if normalized_output else normalized_path(output)
    for path in (output, normalized_output):
        path.parent.mkdir(parents=True, exist_ok=True)
    sp.output_overlay(background, signals, edges, output, density=False, logy=logy)
    sp.output_overlay(background, signals, edges, normalized_output, density=True, logy=False)
    return {"output": str(output), "normalized_output": str(normalized_output),
            "range_GeV": [low, high], "n_background": len(background),
            "signal": {k: len(v) for k, v in signals.items()}, "missing_classes": missing}
