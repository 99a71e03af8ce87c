"""Arrays of ``hist.Hist`` objects: the one place that unpacks a histogram for numpy code."""

from __future__ import annotations

from typing import Any

import numpy as np

from hzx.errors import ConfigurationError


def histogram_arrays(histogram: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(values, variances or None, bin edges or None) of a 1-D ``hist.Hist`` or an array.

    Values are entries (or weighted events) per bin; variances are the sums of squared weights
    (``None`` for a storage without them, or for a plain array); edges in the axis' units.
    A histogram of more than one axis is refused: project or slice it first.
    """
    if hasattr(histogram, "axes") and hasattr(histogram, "values"):
        if len(histogram.axes) != 1:
            raise ConfigurationError(
                f"expected a 1-D histogram; got {len(histogram.axes)} axes "
                f"({', '.join(str(a.name) for a in histogram.axes)}) — project or slice first"
            )
        values = np.asarray(histogram.values(), dtype=float)
        variances = histogram.variances()
        edges = np.asarray(histogram.axes[0].edges, dtype=float)
        return values, (None if variances is None else np.asarray(variances, dtype=float)), edges
    values = np.asarray(histogram, dtype=float)
    if values.ndim != 1:
        raise ConfigurationError(f"expected 1-D bin contents; got an array of shape {values.shape}")
    return values, None, None
