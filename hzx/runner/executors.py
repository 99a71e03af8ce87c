"""Executors: where work runs, and a parallel map of any function over work items.

One set of options (:class:`ExecutorOptions`) serves the coffea processors
(:func:`hzx.runner.run_processor`) and every other parallel job, such as event generation
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hzx.errors import ConfigurationError, HzxError
from hzx.runner.loggers import (
    DASK_LOGGERS,
    LOCAL_CLUSTER_LOGGERS,
    restored_levels,
    set_levels,
)

logger = logging.getLogger(__name__)

EXECUTORS = ("iterative", "futures", "dask", "lxplus", "slurm")
#: The executor of the command line (``--executor``) and of the Python API when none is given.
#: ``iterative``, as coffea's own examples start: its reference executor, with no processes,
#: ports or pickling, tracebacks that point into the processor, and results identical to every
#: other executor (tests/test_resilience.py). On this project's inputs it is also the quickest
#: start: 1 M 4ℓ events take 1.9 s in process, while a local Dask cluster needs 2–3 s to start
#: and 3 s more for its workers' first imports (benchmarks/bench_fourlep.py). More cores are one
#: flag away: ``--executor futures`` or ``dask``.
DEFAULT_EXECUTOR = "iterative"
#: executors whose work runs on a Dask cluster
DASK_EXECUTORS = ("dask", "lxplus", "slurm")


@dataclasses.dataclass(frozen=True)
class ExecutorOptions:
    """Where and how work runs.

    Attributes
    ----------
    executor : {"iterative", "futures", "dask", "lxplus", "slurm"}
        ``lxplus`` and ``slurm`` run Dask workers as batch jobs (:mod:`hzx.runner.clusters`).
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

    executor: str = DEFAULT_EXECUTOR
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


@contextlib.contextmanager
def dask_client(options: ExecutorOptions) -> Iterator[Any]:
    """A ``distributed.Client`` for ``options``: the given scheduler, or a new ``LocalCluster``.

    The local cluster listens on 127.0.0.1 only; it is closed when the context ends. After
    Ctrl-C the cluster is closed without the log noise of busy workers going away. Dask's logger
    levels are changed only while the context lasts (:mod:`hzx.runner.loggers`).
    """
    with restored_levels(DASK_LOGGERS + LOCAL_CLUSTER_LOGGERS), _dask_client(options) as client:
        try:
            yield client
        except KeyboardInterrupt:
            set_levels(logging.CRITICAL)
            raise


@contextlib.contextmanager
def _dask_client(options: ExecutorOptions) -> Iterator[Any]:
    from distributed import Client

    if options.executor in ("lxplus", "slurm"):
        from hzx.options import split_assignments
        from hzx.runner.clusters import batch_client, load_settings

        settings = load_settings(options.executor, options.cluster_config,
                                 split_assignments(options.cluster_overrides))
        set_levels(logging.ERROR, ("distributed", "dask_jobqueue"))
        # waits for one worker (startup_timeout): no batch system or no worker is an error, not
        # a hang
        with batch_client(options.executor, settings, wait_for_workers=1) as client:
            yield client
        return
    if options.scheduler:
        security = None
        if options.scheduler.startswith("tls://"):
            from hzx.runner.clusters import load_settings, tls_security

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
    set_levels(logging.ERROR, LOCAL_CLUSTER_LOGGERS)
    with _workers_ignore_sigint():
        cluster = _local_cluster(options)
    client = Client(cluster)
    logger.debug("local Dask cluster: %d worker(s) × %d thread(s), scheduler %s",
                 options.workers, options.threads_per_worker, cluster.scheduler_address)
    if options.dashboard:
        logger.info("Dask dashboard: %s", client.dashboard_link)
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


#: Dask's shipped ``distributed.nanny.pre-spawn-environ`` value of ``MALLOC_TRIM_THRESHOLD_``
_DASK_DEFAULT_TRIM_THRESHOLD = 65536


def worker_environment() -> dict[str, Any]:
    """The environment hzx's local worker processes start with: Dask's
    ``distributed.nanny.pre-spawn-environ`` without its ``MALLOC_TRIM_THRESHOLD_=65536``.

    Any explicit glibc malloc setting turns off glibc's adaptive mmap threshold, so in Dask's
    workers every array above 128 kB is a fresh ``mmap`` whose pages fault in again on each
    chunk: the 4ℓ processor on 10 M events took 9.3 s on one worker instead of 7.9 s (about the
    iterative executor's time). glibc's own adaptive settings still return freed large arrays
    to the system. A value the user configured (anything but Dask's default) is kept.
    """
    import dask.config
    import distributed  # noqa: F401  (loads Dask's distributed configuration)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    if str(environ.get("MALLOC_TRIM_THRESHOLD_")) == str(_DASK_DEFAULT_TRIM_THRESHOLD):
        del environ["MALLOC_TRIM_THRESHOLD_"]
    return environ


def _local_cluster(options: ExecutorOptions) -> Any:
    import dask.config
    from distributed import LocalCluster

    # the nannies read the environment when they are made (worker restarts keep it)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environment()}):
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
    logger.debug("%d %s on the %s executor (%d retries each)", len(items), desc,
                 options.executor, options.retries)

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
# coffea's executors, and what the workers report after a run
# ---------------------------------------------------------------------------------------------


def peak_memory_mb(executor: str, client: Any) -> float | None:
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


def batch_jobs_of(options: ExecutorOptions, client: Any) -> dict[str, int] | None:
    """Batch job id → tasks finished by its workers (``lxplus`` / ``slurm`` only)."""
    if options.executor not in ("lxplus", "slurm") or client is None:
        return None
    from hzx.runner.clusters import batch_jobs

    return batch_jobs(client)


def coffea_executor(options: ExecutorOptions, client: Any, inflate_library: str = "zlib"):
    """coffea's executor for ``options`` (every one honours ``options.retries``).

    ``inflate_library``: what the futures executor's worker processes inflate ZLIB baskets
    with (:mod:`hzx.runner.inflate`; the iterative executor runs in this process, Dask workers
    get it from a worker plugin)."""

    if options.executor == "iterative":
        return _iterative_executor()(status=options.progress, retries=options.retries)
    if options.executor == "futures":
        return _inflating_futures_executor()(workers=options.workers, status=options.progress,
                                             retries=options.retries,
                                             inflate_library=inflate_library)
    return _spread_dask_executor()(client=client, status=options.progress,
                                   retries=options.retries)


def _iterative_executor() -> type:
    """coffea's ``IterativeExecutor``, without a progress bar when ``status`` is off (coffea
    passes ``disable`` to rich as a task field, which rich ignores, so its bar always shows)."""
    from coffea import processor
    from coffea.processor.accumulator import accumulate

    @dataclasses.dataclass
    class IterativeExecutor(processor.IterativeExecutor):
        def __call__(self, items, function, accumulator):
            if self.status or len(items) == 0:
                return super().__call__(items, function, accumulator)
            return accumulate(map(function, items), accumulator), 0

    return IterativeExecutor


def _inflating_futures_executor() -> type:
    """coffea's ``FuturesExecutor`` whose tasks first choose the inflate library of their
    process-pool worker."""
    from coffea import processor

    from hzx.runner import inflate

    @dataclasses.dataclass
    class InflatingFuturesExecutor(processor.FuturesExecutor):
        inflate_library: str = "zlib"

        def __call__(self, items, function, accumulator):
            return super().__call__(items, inflate.inflating(function, self.inflate_library),
                                    accumulator)

    return InflatingFuturesExecutor


def _spread_dask_executor() -> type:
    """coffea's ``DaskExecutor``, with the processor sent inside every task.

    coffea's Runner hands its Dask executor the pickled processor as ``heavy_input``, which the
    executor submits once as a future that every chunk's task depends on. The scheduler then
    places the tasks beside that one future, on one worker, and the others get work only by
    stealing it, late (benchmarks/bench_fourlep.py: 2 workers took as long as 1 on four equal
    chunks; a task stream showed the second worker idle for a second between chunks). hzx's
    processors are small (their options; a few kB pickled), so each task carries its own
    copy, the tasks have no dependency, and the scheduler spreads them over the workers as they
    free up."""
    from coffea import processor

    class SpreadDaskExecutor(processor.DaskExecutor):
        def __call__(self, items, function, accumulator):
            heavy = self.heavy_input
            if heavy is None:
                return super().__call__(items, function, accumulator)
            self.heavy_input = None  # the items carry it: (chunk, processor) as coffea expects
            try:
                return super().__call__([(item, heavy) for item in items], function,
                                        accumulator)
            finally:
                self.heavy_input = heavy

    return SpreadDaskExecutor

