"""Processor code written once for both backends: eager chunks (coffea's Runner) and
dask-awkward task graphs (``hzx run --backend dask-awkward``).

A processor computes its per-event quantities with :func:`per_event` (its compiled kernels run on
concrete arrays in both cases: directly on an eager chunk, through
``dask_awkward.map_partitions`` on each partition of a dask collection), then fills its
histograms with their own ``fill`` (``hist.Hist`` takes awkward arrays, ``hist.dask.Hist`` from
:func:`lazy_histograms` dask-awkward ones) and sums with :func:`count` / :func:`total`, which
take awkward or dask-awkward arrays alike. On a dask collection the results are lazy (``hist.dask`` histograms, dask
scalars) until the runner computes the whole fileset's graph at once
(:mod:`hzx.runner.dask_awkward`); :func:`concrete` turns what came back into the plain numbers
the Runner backend gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import awkward as ak
import numba
import numpy as np


def is_dask(array: Any) -> bool:
    """True for a dask-awkward collection (imports nothing of dask when the input is eager)."""
    return type(array).__module__.startswith("dask_awkward")


def per_event(function: Callable[..., ak.Array], events: Any, *args: Any,
              touch: Iterable[tuple[str, ...]] = ()) -> Any:
    """``function(events, *args)``: an awkward array of per-event results (one entry per event).

    Eager ``events``: called directly. A dask-awkward collection: called on every partition
    through ``dask_awkward.map_partitions``. dask-awkward first traces every step on a typetracer
    (arrays without data) to learn the output type and the columns to read; compiled kernels
    cannot run on one, so on a typetracer this marks the ``touch`` field paths (e.g.
    ``("Lepton", "pt")``: the only branches read) as needed and derives the output type by running
    ``function`` on a length-zero concrete copy of the input.
    """
    if not is_dask(events):
        return function(events, *args)
    import dask_awkward as dak

    touch = tuple(touch)

    def on_partition(partition: ak.Array) -> ak.Array:
        if ak.backend(partition) != "typetracer":
            return function(partition, *args)
        for path in touch:
            ak.typetracer.touch_data(partition[path])
        empty = ak.Array(partition.layout.form.length_zero_array(), behavior=partition.behavior,
                         attrs=partition.attrs)
        result = function(empty, *args)
        return ak.Array(result.layout.to_typetracer(forget_length=True),
                        behavior=result.behavior)

    name = getattr(function, "__name__", "per-event")
    return dak.map_partitions(on_partition, events, label=f"hzx-{name}")


def lazy_histograms(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with every ``hist.Hist`` replaced by an empty ``hist.dask.Hist`` of the same axes,
    storage and labels (for filling from dask-awkward arrays); other values as they are."""
    import hist
    import hist.dask

    converted: dict[str, Any] = {}
    for key, value in out.items():
        if isinstance(value, hist.Hist):
            lazy = hist.dask.Hist(*value.axes, storage=value.storage_type(), name=value.name,
                                  label=value.label)
            converted[key] = lazy
        else:
            converted[key] = value
    return converted


def count(mask: Any) -> Any:
    """Number of true entries of a per-event boolean mask (int, or a dask scalar)."""
    if is_dask(mask):
        import dask_awkward as dak

        return dak.sum(mask)
    return int(np.count_nonzero(ak.to_numpy(mask)))


def total(values: Any) -> Any:
    """Sum of per-event values, float64 (float, or a dask scalar)."""
    if is_dask(values):
        import dask_awkward as dak

        return dak.sum(values)
    return float(np.sum(ak.to_numpy(values), dtype=np.float64))


def cutflow(level: Any, weights: Any, n_cuts: int) -> list[tuple[Any, Any]]:
    """A cumulative cutflow from per-event ``level`` (how many cuts in a row an event passes,
    0…``n_cuts``) and weights (``None``: every event counts 1, as data): ``[(events,
    Σ weights)]`` of the events with level ≥ 0, 1, …, ``n_cuts`` (the first entry: all events).
    Eager: one compiled pass (a masked sum per cut would pass over the chunk 2·``n_cuts``
    times); dask-awkward: lazy sums per cut."""
    if is_dask(level):
        import dask_awkward as dak

        return [(dak.sum(level >= k),
                 dak.sum((level >= k) * 1.0) if weights is None else
                 dak.sum(weights[level >= k])) for k in range(n_cuts + 1)]
    level = ak.to_numpy(level)
    if len(level) and (level.min() < 0 or level.max() > n_cuts):
        raise ValueError(f"cut levels must be in 0…{n_cuts}")
    raw = np.zeros(n_cuts + 1, dtype=np.int64)
    summed = np.zeros(n_cuts + 1, dtype=np.float64)
    if weights is None:
        _level_counts(level, raw)
        summed = raw.astype(np.float64)
    else:
        _level_sums(level, ak.to_numpy(weights).astype(np.float64, copy=False), raw, summed)
    raw = raw[::-1].cumsum()[::-1]
    summed = summed[::-1].cumsum()[::-1]
    return [(int(r), float(w)) for r, w in zip(raw, summed, strict=True)]


@numba.njit(cache=True)
def _level_counts(level, raw):  # pragma: no cover - compiled
    for i in range(len(level)):
        raw[level[i]] += 1


@numba.njit(cache=True)
def _level_sums(level, weights, raw, summed):  # pragma: no cover - compiled
    for i in range(len(level)):
        raw[level[i]] += 1
        summed[level[i]] += weights[i]


def concrete(value: Any) -> Any:
    """A computed result as the Runner backend has it: numpy scalars → int / float, through
    dicts, lists and tuples; histograms and everything else unchanged."""
    if isinstance(value, Mapping):
        return {k: concrete(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(concrete(v) for v in value)
    if isinstance(value, (np.integer, np.bool_)):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return concrete(value[()])
    return value


def count_events(events: Any) -> Any:
    """Number of events (int, or a dask scalar for a dask-awkward collection)."""
    if is_dask(events):
        import dask_awkward as dak

        return dak.num(events, axis=0)
    return len(events)


def flatten(values: Any) -> Any:
    """Jagged per-event values → one flat array (awkward or dask-awkward)."""
    if is_dask(values):
        import dask_awkward as dak

        return dak.flatten(values, axis=1)
    return ak.flatten(values, axis=1)
