"""Executors: run processors over filesets, and map any function over work items.

One set of options (:class:`ExecutorOptions`) serves the coffea processors
(:func:`run_processor`) and every other parallel job, such as event generation
(:func:`map_tasks`). Executors:

``iterative``
    in this process, one chunk after the other (debugging, the reference result);
``futures``
    a local process pool of ``workers`` processes;
``dask``
    a Dask ``LocalCluster`` of ``workers`` single-threaded processes bound to 127.0.0.1, or the
    existing scheduler at ``scheduler`` (``tcp://host:port`` or ``tls://…``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hzx.errors import ConfigurationError, HzxError, InputFileError

EXECUTORS = ("iterative", "futures", "dask", "lxplus", "slurm")
#: executors whose work runs on a Dask cluster
DASK_EXECUTORS = ("dask", "lxplus", "slurm")


@dataclasses.dataclass(frozen=True)
class ExecutorOptions:
    """Where and how work runs.

    Attributes
    ----------
    executor : {"iterative", "futures", "dask", "lxplus", "slurm"}
        ``lxplus`` and ``slurm`` run Dask workers as batch jobs (:mod:`hzx.clusters`).
    workers : int
        Worker processes (``futures`` and a local ``dask`` cluster).
    threads_per_worker : int
        Threads per Dask worker; 1 keeps Python code free of GIL contention.
    scheduler : str or None
        Address of an existing Dask scheduler; ``None`` starts a ``LocalCluster``.
    memory_limit : str
        Memory limit per local Dask worker (``"auto"`` shares the machine's memory).
    retries : int
        How often a failed task is retried before it counts as failed.
    progress : bool
        Show progress bars.
    dashboard : bool
        Serve the Dask dashboard (on 127.0.0.1 only) and print its link.
    """

    executor: str = "iterative"
    workers: int = 2
    threads_per_worker: int = 1
    scheduler: str | None = None
    memory_limit: str = "auto"
    retries: int = 3
    progress: bool = True
    dashboard: bool = False
    cluster_config: str | None = None
    cluster_overrides: tuple[str, ...] = ()

    @property
    def uses_dask(self) -> bool:
        return self.executor in DASK_EXECUTORS

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigurationError(
                f"unknown executor {self.executor!r}; choose one of {', '.join(EXECUTORS)}"
            )
        if self.workers < 1:
            raise ConfigurationError(f"workers must be ≥ 1, got {self.workers}")
        if self.threads_per_worker < 1:
            raise ConfigurationError(f"threads_per_worker must be ≥ 1, got {self.threads_per_worker}")
        if self.retries < 0:
            raise ConfigurationError(f"retries must be ≥ 0, got {self.retries}")
        if self.scheduler is not None and self.executor != "dask":
            raise ConfigurationError("a scheduler address needs executor='dask'")


def _silence_dask() -> None:
    for name in ("distributed", "dask_jobqueue", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def dask_client(options: ExecutorOptions) -> Iterator[Any]:
    """A ``distributed.Client`` for ``options``: the given scheduler, or a new ``LocalCluster``.

    The local cluster listens on 127.0.0.1 only; it is closed when the context ends. After
    Ctrl-C the cluster is closed without the log noise of busy workers going away.
    """
    with _dask_client(options) as client:
        try:
            yield client
        except KeyboardInterrupt:
            _silence_dask()
            raise


@contextlib.contextmanager
def _dask_client(options: ExecutorOptions) -> Iterator[Any]:
    from distributed import Client

    if options.executor in ("lxplus", "slurm"):
        from hzx.clusters import batch_client, load_settings, parse_overrides

        settings = load_settings(options.executor, options.cluster_config,
                                 parse_overrides(list(options.cluster_overrides)))
        for name in ("distributed", "dask_jobqueue"):
            logging.getLogger(name).setLevel(logging.ERROR)
        # waits for one worker (startup_timeout): no batch system or no worker is an error, not
        # a hang
        with batch_client(options.executor, settings, wait_for_workers=1) as client:
            yield client
        return
    if options.scheduler:
        security = None
        if options.scheduler.startswith("tls://"):
            from hzx.clusters import load_settings, tls_security

            security = tls_security(load_settings("tls", options.cluster_config))
        _check_reachable(options.scheduler)
        try:
            client = Client(options.scheduler, timeout="30s", security=security)
        except OSError as err:
            raise ConfigurationError(
                f"scheduler {options.scheduler}: no Dask scheduler answers ({err})") from None
        try:
            yield client
        finally:
            client.close()
        return
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with _workers_ignore_sigint():
        cluster = _local_cluster(options)
    client = Client(cluster)
    if options.dashboard:
        print(f"Dask dashboard: {client.dashboard_link}")
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, naming the address, when nothing listens at a scheduler's host:port
    (``distributed.Client`` would wait its whole timeout and raise a bare OSError)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ConfigurationError(f"scheduler {address!r}: expected tcp://HOST:PORT or tls://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as err:
        raise ConfigurationError(
            f"scheduler {address}: nothing answers at {host}:{port} ({err.strerror or err}); "
            "start a Dask scheduler there, or leave the scheduler out for a local cluster"
        ) from None


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Worker processes started meanwhile ignore SIGINT (inherited): Ctrl-C in the terminal
    reaches the whole process group, and only this process should handle it (one message, the
    cluster closed in order) — not every worker with its own traceback."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _local_cluster(options: ExecutorOptions) -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=options.workers,
        threads_per_worker=options.threads_per_worker,
        processes=True,
        host="127.0.0.1",
        # the dashboard only when asked for, and then on the loopback interface only
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": options.dashboard},
        memory_limit=options.memory_limit,
        silence_logs=logging.ERROR,
    )


# ---------------------------------------------------------------------------------------------
# Generic parallel map (generation, preflight checks, …)
# ---------------------------------------------------------------------------------------------


class TaskFailedError(HzxError, RuntimeError):
    """One or more tasks failed after all retries; ``failures`` maps task label → error text."""

    def __init__(self, failures: Mapping[str, str]):
        self.failures = dict(failures)
        lines = [f"  {label}: {error}" for label, error in self.failures.items()]
        super().__init__(f"{len(self.failures)} task(s) failed after retries:\n" + "\n".join(lines))


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="task", disable=not enabled, leave=False)


def _call_with_retries(func: Callable, item: Any, retries: int) -> Any:
    for attempt in range(retries + 1):
        try:
            return func(item)
        except Exception:
            if attempt == retries:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def map_tasks(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    options: ExecutorOptions,
    *,
    desc: str = "tasks",
    labels: Sequence[str] | None = None,
    client: Any = None,
) -> list[Any]:
    """Apply ``func`` to every item on the chosen executor; results in the order of ``items``.

    ``func`` must be picklable (a module-level function or a ``functools.partial`` of one) and
    deterministic given its item, so results do not depend on the executor. Each failed task is
    retried ``options.retries`` times; if any still fails, :class:`TaskFailedError` names every
    failed task — nothing is dropped silently. Pass ``client`` to reuse an open Dask client.
    """
    items = list(items)
    labels = [str(x) for x in (labels if labels is not None else range(len(items)))]
    if len(labels) != len(items):
        raise ConfigurationError("map_tasks: labels and items differ in length")
    results: list[Any] = [None] * len(items)
    failures: dict[str, str] = {}

    if options.executor == "iterative":
        with _progress(len(items), desc, options.progress) as bar:
            for i, item in enumerate(items):
                try:
                    results[i] = _call_with_retries(func, item, options.retries)
                except Exception as err:
                    failures[labels[i]] = f"{type(err).__name__}: {err}"
                bar.update()
    elif options.executor == "futures":
        import concurrent.futures as cf

        with (
            cf.ProcessPoolExecutor(max_workers=options.workers) as pool,
            _progress(len(items), desc, options.progress) as bar,
        ):
            pending = {
                pool.submit(_call_with_retries, func, item, options.retries): i
                for i, item in enumerate(items)
            }
            for future in cf.as_completed(pending):
                i = pending[future]
                try:
                    results[i] = future.result()
                except Exception as err:
                    failures[labels[i]] = f"{type(err).__name__}: {err}"
                bar.update()
    else:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(options))
            from distributed import as_completed

            futures = client.map(func, items, retries=options.retries, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            with _progress(len(items), desc, options.progress) as bar:
                for future in as_completed(futures):
                    i = index[future.key]
                    try:
                        results[i] = future.result()
                    except Exception as err:
                        failures[labels[i]] = f"{type(err).__name__}: {err}"
                    bar.update()
    if failures:
        raise TaskFailedError(failures)
    return results


# ---------------------------------------------------------------------------------------------
# Processors over filesets
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a processor runs over a fileset.

    Attributes
    ----------
    chunksize : int
        Entries per chunk (the unit of work).
    maxchunks : int or None
        At most this many chunks per dataset (quick looks); ``None`` processes everything.
    skip_bad_files : bool
        Skip files that are missing, unreadable or lack the tree or a needed branch, and record
        them in each dataset's ``metadata["skipped_files"]``, instead of stopping with an error.
    timeout_s : int
        Timeout of remote reads (XRootD, HTTPS), in seconds.
    checkpoint_dir : str or None
        Save every finished chunk's output there; a later run with the same folder, processor
        options and chunking (``--resume``) loads those chunks instead of processing them again.
    """

    chunksize: int = 100_000
    maxchunks: int | None = None
    skip_bad_files: bool = False
    timeout_s: int = 60
    checkpoint_dir: str | None = None

    def __post_init__(self) -> None:
        if self.chunksize < 1:
            raise ConfigurationError(f"chunksize must be ≥ 1, got {self.chunksize}")
        if self.maxchunks is not None and self.maxchunks < 1:
            raise ConfigurationError(f"maxchunks must be ≥ 1 or None, got {self.maxchunks}")


def normalise_fileset(fileset: Mapping[str, Any], treename: str,
                      processor_instance: Any = None) -> dict[str, dict[str, Any]]:
    """Bring a coffea fileset to ``{dataset: {"files": {path: tree}, "metadata": {...}}}``.

    Accepts a list of paths per dataset, a ``{path: tree}`` mapping, or the full form. With a
    processor, each dataset's role is resolved here, once: the metadata's ``role`` (one of
    :data:`~hzx.processors.base.ROLES`), else ``processor_instance.infer_role(dataset)``; it is
    stored in ``metadata["role"]`` (left out when neither gives one).
    """
    from hzx.processors.base import ROLES

    if not isinstance(fileset, Mapping) or not fileset:
        raise ConfigurationError("the fileset is empty or not a mapping of dataset → files")
    out: dict[str, dict[str, Any]] = {}
    for dataset, entry in fileset.items():
        if str(dataset).startswith("_"):
            raise ConfigurationError(
                f"dataset name {dataset!r} starts with '_', which hzx reserves for its own keys"
            )
        metadata: dict[str, Any] = {}
        if isinstance(entry, Mapping) and "files" in entry:
            files = entry["files"]
            metadata = dict(entry.get("metadata") or {})
        else:
            files = entry
        if isinstance(files, str):
            files = [files]
        if isinstance(files, Mapping):
            files = {str(path): (tree or treename) for path, tree in files.items()}
        else:
            files = {str(path): treename for path in files}
        if not files:
            raise ConfigurationError(f"dataset {dataset!r} has no files")
        role = metadata.get("role")
        if role is not None and role not in ROLES:
            raise ConfigurationError(f"dataset {dataset!r}: role {role!r} is not one of "
                                     f"{', '.join(ROLES)}")
        if role is None and processor_instance is not None:
            role = processor_instance.infer_role(str(dataset))
        if role is not None:
            metadata["role"] = role
        out[str(dataset)] = {"files": files, "metadata": metadata}
    return out


def _check_file(item: tuple[str, str, tuple[str, ...], int]) -> dict[str, Any]:
    """Open one file and check its tree and branches (runs on a worker)."""
    import uproot

    path, treename, branches, timeout = item
    try:
        with uproot.open(path, timeout=timeout) as file:
            try:
                tree = file[treename]
            except KeyError:
                keys = ", ".join(sorted({k.split(";")[0] for k in file.keys()})) or "(none)"
                return {"ok": False, "reason": f"no tree {treename!r} in the file (it has: {keys})"}
            if not hasattr(tree, "num_entries"):
                return {"ok": False, "reason": f"{treename!r} is not a TTree"}
            available = set(tree.keys())
            # flat Delphes-layout files (hzx.generation.writers, layout "study") name the branch
            # of Jet/Jet.PT "Jet.PT": count it under its full path too
            available |= {f"{k.split('.', 1)[0]}/{k}" for k in available
                          if "/" not in k and "." in k and f"{k.split('.', 1)[0]}_size" in available}
            missing = [b for b in branches if b not in available]
            if missing:
                return {
                    "ok": False,
                    "reason": f"tree {treename!r} lacks needed branch(es): {', '.join(missing)}",
                }
            return {
                "ok": True,
                "numentries": int(tree.num_entries),
                "uuid": file.file.fUUID,
            }
    except FileNotFoundError:
        return {"ok": False, "reason": "file not found"}
    except Exception as err:
        return {"ok": False, "reason": f"unreadable ({type(err).__name__}: {err})"}


def preflight(
    fileset: Mapping[str, Any],
    branches: Sequence[str],
    options: ExecutorOptions,
    timeout_s: int = 60,
    client: Any = None,
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """Open every file once: entries and UUID of the good ones, the reason for each bad one.

    Returns ``(good, bad)``: ``good[(dataset, path)] = {"numentries", "uuid", "treename"}``,
    ``bad[dataset] = [{"file", "reason"}, …]``.
    """
    items, keys = [], []
    for dataset, entry in fileset.items():
        for path, tree in entry["files"].items():
            items.append((path, tree, tuple(branches), timeout_s))
            keys.append((dataset, path))
    # Opening files is I/O-bound: on a Dask cluster the workers do it (they are the ones that must
    # reach the files), otherwise this process does it in turn.
    quiet = dataclasses.replace(options, progress=False, retries=0,
                                executor=options.executor if options.uses_dask else "iterative")
    checks = map_tasks(_check_file, items, quiet, client=client)
    good: dict[tuple[str, str], dict[str, Any]] = {}
    bad: dict[str, list[dict[str, str]]] = {}
    for (dataset, path), item, check in zip(keys, items, checks, strict=True):
        if check["ok"]:
            good[(dataset, path)] = {"numentries": check["numentries"], "uuid": check["uuid"],
                                     "treename": item[1]}
        else:
            bad.setdefault(dataset, []).append({"file": path, "reason": check["reason"]})
    return good, bad


def processor_key(processor_instance: Any) -> str:
    """Digest of a processor's class and options (its :attr:`~hzx.processors.base.HzxProcessor.
    checkpoint_key`): checkpoints of another configuration never mix."""
    return str(processor_instance.checkpoint_key)


def _checkpointer_class():
    from coffea.processor import CheckpointerABC

    class ChunkCheckpointer(CheckpointerABC):
        """Saves each chunk's output under ``<dir>/<processor key>/<dataset>/<file uuid>/…``.

        Written atomically (temporary file, then rename), so an interrupted write never leaves a
        truncated checkpoint; a checkpoint that cannot be read is recomputed.
        """

        def __init__(self, directory: str):
            self.directory = directory

        def path(self, metadata: Any, processor_instance: Any) -> Any:
            from pathlib import Path

            return (Path(self.directory) / processor_key(processor_instance)
                    / str(metadata["dataset"]) / str(metadata["fileuuid"] or "nouuid")
                    / f"{metadata['treename']}-{metadata['entrystart']}-{metadata['entrystop']}"
                      ".coffea")

        def load(self, metadata: Any, processor_instance: Any) -> Any:
            from coffea.util import load

            path = self.path(metadata, processor_instance)
            if not path.is_file():
                return None
            try:
                return load(str(path))
            except Exception:
                return None

        def save(self, output: Any, metadata: Any, processor_instance: Any) -> None:
            import os

            from coffea.util import save

            path = self.path(metadata, processor_instance)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            save(output, str(tmp))
            os.replace(tmp, path)

    return ChunkCheckpointer


def checkpoint_files(directory: str | None, processor_instance: Any) -> set[str]:
    """Checkpoint files of this processor configuration already in ``directory``."""
    from pathlib import Path

    if not directory:
        return set()
    root = Path(directory) / processor_key(processor_instance)
    return {str(p) for p in root.rglob("*.coffea")} if root.is_dir() else set()


def _peak_memory_mb(executor: str, client: Any) -> float | None:
    """Peak resident memory of the processes that did the work, in MB (max over workers)."""
    import resource
    import sys

    scale = 1.0 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, kB on Linux
    try:
        if executor in DASK_EXECUTORS and client is not None:
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            return max(peaks.values()) * scale / 1e6 if peaks else None
        who = resource.RUSAGE_CHILDREN if executor == "futures" else resource.RUSAGE_SELF
        return resource.getrusage(who).ru_maxrss * scale / 1e6
    except Exception:
        return None


def _batch_jobs(options: ExecutorOptions, client: Any) -> dict[str, int] | None:
    """Batch job id → tasks finished by its workers (``lxplus`` / ``slurm`` only)."""
    if options.executor not in ("lxplus", "slurm") or client is None:
        return None
    from hzx.clusters import batch_jobs

    return batch_jobs(client)


def _coffea_executor(options: ExecutorOptions, client: Any):
    from coffea import processor

    if options.executor == "iterative":
        return processor.IterativeExecutor(status=options.progress, retries=options.retries)
    if options.executor == "futures":
        return processor.FuturesExecutor(workers=options.workers, status=options.progress,
                                         retries=options.retries)
    return processor.DaskExecutor(client=client, status=options.progress,
                                  retries=options.retries)


def run_processor(
    processor_instance: Any,
    fileset: Mapping[str, Any],
    *,
    treename: str,
    schema: type,
    executor: ExecutorOptions | None = None,
    run: RunOptions | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Run a coffea processor over a fileset and return ``{dataset: accumulator, "_provenance": …}``.

    Before any chunk is processed every file is opened once: a missing or unreadable file, a
    missing tree or a missing branch that the processor needs (``processor.required_branches``)
    raises :class:`~hzx.errors.InputFileError` naming the file — or, with
    ``run.skip_bad_files``, is skipped and listed in ``metadata["skipped_files"]`` of its dataset.
    After the run, every file's processed entries are checked against its length, so a chunk that
    failed and was skipped is recorded too.
    """
    from coffea import processor
    from coffea.processor.executor import FileMeta

    from hzx.provenance import digest, provenance

    executor = executor or ExecutorOptions()
    run = run or RunOptions()
    fileset = normalise_fileset(fileset, treename, processor_instance)  # roles resolved here
    branches = tuple(processor_instance.required_branches())
    for dataset, entry in fileset.items():  # e.g. normalisation of simulation: before any work
        processor_instance.validate_metadata(dataset, entry["metadata"])

    with contextlib.ExitStack() as stack:
        if executor.uses_dask and client is None:
            client = stack.enter_context(dask_client(executor))
        started = time.perf_counter()
        good, bad = preflight(fileset, branches, executor, run.timeout_s, client=client)
        if bad and not run.skip_bad_files:
            (dataset, problems), = list(bad.items())[:1]
            first = problems[0]
            others = sum(len(v) for v in bad.values()) - 1
            more = f" (and {others} more bad file(s); --skip-bad-files skips them)" if others else \
                " (--skip-bad-files would skip it and record it)"
            raise InputFileError(first["file"], f"{first['reason']} [dataset {dataset!r}]{more}")

        cache: dict[Any, dict[str, Any]] = {}
        runnable: dict[str, dict[str, Any]] = {}
        for dataset, entry in fileset.items():
            files = {p: t for p, t in entry["files"].items() if (dataset, p) in good}
            if not files:
                continue
            runnable[dataset] = {"files": files, "metadata": entry["metadata"]}
            for path, tree in files.items():
                meta = {**entry["metadata"], **{k: v for k, v in good[(dataset, path)].items()
                                                if k != "treename"}}
                cache[FileMeta(dataset, path, tree)] = meta

        output: dict[str, Any] = {}
        checkpointer = None
        before = checkpoint_files(run.checkpoint_dir, processor_instance)
        if run.checkpoint_dir:
            checkpointer = _checkpointer_class()(str(run.checkpoint_dir))
        if runnable:
            runner = processor.Runner(
                executor=_coffea_executor(executor, client),
                chunksize=run.chunksize,
                maxchunks=run.maxchunks,
                metadata_cache=cache,
                skipbadfiles=run.skip_bad_files,
                xrootdtimeout=run.timeout_s,
                schema=schema,
                checkpointer=checkpointer,
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                output = dict(runner(runnable, processor_instance, treename=treename) or {})
            retries = sum("Performed attempt" in str(w.message) for w in caught)
        else:
            retries = 0
        elapsed = time.perf_counter() - started
        peak_mb = _peak_memory_mb(executor.executor, client)
        jobs = _batch_jobs(executor, client)
    after = checkpoint_files(run.checkpoint_dir, processor_instance)

    for dataset, entry in fileset.items():
        if dataset not in output:
            output[dataset] = processor_instance.empty_output(dataset, entry["metadata"])
        meta = output[dataset].setdefault("metadata", {})
        # set once here: per-chunk strings would be concatenated by coffea's accumulate
        meta["role"] = entry["metadata"].get("role")
        skipped = list(bad.get(dataset, []))
        if run.maxchunks is None:
            processed = meta.get("entries_by_file", {})
            for path in entry["files"]:
                if (dataset, path) in good:
                    expected = good[(dataset, path)]["numentries"]
                    got = processed.get(path, 0)
                    if got != expected:
                        skipped.append({"file": path, "reason": f"only {got} of {expected} entries "
                                        "processed: a chunk failed and was skipped"})
        meta["skipped_files"] = skipped
        meta["files_in_fileset"] = sorted(entry["files"])

    # datasets in fileset order, whatever order the chunks finished in
    output = {dataset: output[dataset] for dataset in fileset}
    events = sum(output[d].get("metadata", {}).get("events_read", 0) for d in fileset)
    chunks = sum(output[d].get("metadata", {}).get("chunks", 0) for d in fileset)
    summary = {
        "events": events,
        "chunks": chunks,
        "chunks_from_checkpoint": chunks - len(after - before) if run.checkpoint_dir else 0,
        "chunks_processed": len(after - before) if run.checkpoint_dir else chunks,
        "wall_time_s": round(elapsed, 3),
        "events_per_s": round(events / elapsed, 1) if elapsed > 0 else None,
        "retries": retries if not executor.uses_dask else None,
        "skipped_files": sum(len(output[d]["metadata"]["skipped_files"]) for d in fileset),
        "peak_worker_memory_mb": round(peak_mb, 1) if peak_mb else None,
    }
    if jobs is not None:  # lxplus / slurm: the batch jobs whose workers did the work
        summary["batch_jobs"] = jobs
    output["_provenance"] = provenance(
        "run",
        summary=summary,
        processor=type(processor_instance).__name__,
        processor_options=processor_instance.options,
        fileset=fileset,
        fileset_digest=digest(fileset),
        executor=executor,
        run_options=run,
        wall_time_s=round(elapsed, 3),
    )
    return output
