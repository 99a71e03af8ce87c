"""The dask-awkward backend (``RunOptions(backend="dask-awkward")``, ``hzx run --backend``).

Instead of coffea's ``Runner`` calling the processor on each chunk, the processor is called once
per input file on a lazy dask-awkward collection (``NanoEventsFactory.from_root(..., mode="dask")``,
one partition per chunk of ``chunksize`` entries); its fills and sums
(:mod:`hzx.processors.backend`) add ``hist.dask`` histograms and dask scalars to one task graph
for the whole fileset, which a single ``dask.compute`` runs on the chosen executor:
``iterative`` → dask's synchronous scheduler, ``futures`` → its process pool, ``dask`` /
``lxplus`` / ``slurm`` → the same Dask client the Runner backend uses (LocalCluster,
``scheduler``, batch workers). dask-awkward reads only the branches the processor's per-event
kernels touch. The file checks before the run and the output format are those of the Runner
backend (:func:`hzx.runner.coffea_run.run_processor` does both); with ``skip_bad_files`` a chunk
that cannot be read becomes an empty partition (uproot's read report), listed in its dataset's
``metadata["failed_steps"]``, and its file under ``skipped_files``.

Not here: per-chunk checkpoints (the graph is computed at once) and the tracks processor's
training columns (written per chunk); both are refused with one line naming the option.
Processors opt in with :attr:`~hzx.processors.base.HzxProcessor.dask_awkward_ready`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from hzx.errors import ConfigurationError

#: the backends of :class:`~hzx.runner.coffea_run.RunOptions`
BACKENDS = ("runner", "dask-awkward")


def check_supported(processor_instance: Any, run: Any) -> None:
    """Raise :class:`~hzx.errors.ConfigurationError` (one line, naming the culprit) when this
    backend cannot run ``processor_instance`` with ``run``."""
    if not getattr(processor_instance, "dask_awkward_ready", False):
        raise ConfigurationError(
            f"backend 'dask-awkward' does not run {type(processor_instance).__name__} yet "
            "(its fill takes eager chunks only); use backend 'runner'")
    if run.checkpoint_dir:
        raise ConfigurationError(
            "checkpoint_dir needs backend 'runner': the dask-awkward backend computes the "
            "fileset's graph at once and has no per-chunk checkpoints")


def partitions(numentries: int, chunksize: int) -> list[list[int]]:
    """Entry ranges ``[start, stop)`` of one file, balanced as coffea's Runner chunks it:
    ``max(round(n / chunksize), 1)`` chunks of ``ceil(n / that)`` entries."""
    if numentries <= 0:
        return []
    size = math.ceil(numentries / max(round(numentries / chunksize), 1))
    return [[start, min(start + size, numentries)] for start in range(0, numentries, size)]


def _scheduler_kwargs(executor: Any, client: Any) -> dict[str, Any]:
    if executor.uses_dask:
        return {"scheduler": client}
    if executor.executor == "futures":
        return {"scheduler": "processes", "num_workers": executor.workers}
    return {"scheduler": "synchronous"}


def run_dask_awkward(processor_instance: Any, fileset: Mapping[str, Any], schema: type,
                     good: Mapping[tuple[str, str], Mapping[str, Any]], executor: Any, run: Any,
                     client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The processor over the files that passed the preflight: ``(output, metrics)`` as
    :func:`hzx.runner.coffea_run._coffea_run` returns them (metrics: ``graph_build_time_s``,
    ``compute_time_s``, ``partitions``, ``columns``)."""
    import dask
    import dask_awkward as dak
    from coffea.nanoevents import NanoEventsFactory
    from coffea.processor import accumulate

    from hzx.processors import backend

    started = time.perf_counter()
    lazy: list[tuple[str, Any, int]] = []
    reports: list[tuple[str, str, list[list[int]], Any]] = []
    columns: set[str] = set()
    n_partitions = 0
    for dataset, entry in fileset.items():
        budget = run.maxchunks  # chunks left for this dataset (None: all)
        for path, tree in entry["files"].items():
            info = good[(dataset, path)]
            steps = partitions(info["numentries"], run.chunksize)
            if budget is not None:
                steps = steps[:budget]
                budget -= len(steps)
            if not steps:
                continue
            n_partitions += len(steps)
            metadata = {**entry["metadata"], "dataset": dataset, "filename": path,
                        "treename": tree, "fileuuid": str(info.get("uuid"))}
            uproot_options: dict[str, Any] = {"timeout": run.timeout_s}
            if run.skip_bad_files:  # a partition that fails to read: empty, and reported
                uproot_options["allow_read_errors_with_report"] = read_errors()
            events = NanoEventsFactory.from_root(
                {path: {"object_path": tree, "steps": steps}}, mode="dask",
                schemaclass=schema, metadata=metadata, uproot_options=uproot_options,
            ).events()
            report = None
            if isinstance(events, tuple):
                events, report = events
            result = processor_instance.process(events)[dataset]
            lazy.append((dataset, result, len(steps)))
            reports.append((dataset, path, steps, report))
    collections = [c for _, out, _ in lazy for c in _dask_leaves(out)
                   if type(c).__module__.startswith("dask_awkward")]
    if collections:
        for names in dak.necessary_columns(*collections).values():
            columns.update(names)
    built = time.perf_counter()
    computed, computed_reports = dask.compute(
        [out for _, out, _ in lazy], [r for *_, r in reports if r is not None],
        **_scheduler_kwargs(executor, client))
    done = time.perf_counter()

    output: dict[str, Any] = {}
    for (dataset, _, n_steps), out in zip(lazy, computed, strict=True):
        out = backend.concrete(out)
        out["metadata"]["chunks"] = n_steps  # the template counts one call, here one file
        output[dataset] = out if dataset not in output else accumulate([output[dataset], out])
    failed = _failed_steps([r for r in reports if r[3] is not None], computed_reports)
    for dataset in output:
        # the chunks that could not be read (their entries are missing from events_read, so
        # the run's shortfall check also lists the file under skipped_files)
        output[dataset]["metadata"]["failed_steps"] = failed.get(dataset, [])
    metrics = {
        "graph_build_time_s": round(built - started, 3),
        "compute_time_s": round(done - built, 3),
        "partitions": n_partitions,
        "columns": sorted(columns),
    }
    return output, metrics


def read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions of a chunk's read that ``skip_bad_files`` turns into a reported, empty
    partition (or skipped chunk, on the Runner backend): I/O errors, corrupt compressed data
    (zlib's and ISA-L's errors: :mod:`hzx.runner.inflate`), undecodable objects."""
    import zlib

    from uproot.deserialization import DeserializationError

    errors: tuple[type[BaseException], ...] = (OSError, zlib.error, DeserializationError)
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency
        return errors
    from hzx.runner import inflate  # noqa: F401  (makes ISA-L's error class picklable)

    return (*errors, isal_zlib.error)


def _failed_steps(reports: list[tuple[str, str, list[list[int]], Any]], computed: list[Any]
                  ) -> dict[str, list[dict[str, Any]]]:
    """``{dataset: [{"file", "entry_start", "entry_stop", "reason"}, …]}`` from uproot's read
    reports (one record per partition, in partition order)."""
    failed: dict[str, list[dict[str, Any]]] = {}
    for (dataset, path, steps, _), report in zip(reports, computed, strict=True):
        for (start, stop), record in zip(steps, report.tolist(), strict=True):
            if record.get("exception"):
                failed.setdefault(dataset, []).append({
                    "file": path, "entry_start": start, "entry_stop": stop,
                    "reason": f"{record['exception']}: {record['message']}"})
    return failed


def _dask_leaves(value: Any) -> list[Any]:
    """Every value in nested dicts (the lazy results of a processor)."""
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _dask_leaves(v)]
    return [value]
