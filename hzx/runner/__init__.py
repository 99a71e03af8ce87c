"""Run machinery: executors, the coffea run, batch clusters.

- :mod:`hzx.runner.executors` — where work runs (:class:`ExecutorOptions`), Dask clients
  (:func:`dask_client`), a parallel map of any function (:func:`map_tasks`);
- :mod:`hzx.runner.coffea_run` — a processor over a fileset (:func:`run_processor`): inputs
  checked, coffea's ``Runner``, outputs annotated, the run summarised;
- :mod:`hzx.runner.clusters` — Dask workers as batch jobs (lxplus HTCondor, Slurm).

Physics, processors and plotting never import this package; the command line and the demo
pipeline do.
"""

from __future__ import annotations

from hzx.runner.coffea_run import (
    CHUNKS_PER_WORKER,
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNKSIZE,
    RunOptions,
    auto_chunksize,
    checkpoint_files,
    normalise_fileset,
    preflight,
    processor_key,
    run_processor,
)
from hzx.runner.executors import (
    DASK_EXECUTORS,
    DEFAULT_EXECUTOR,
    EXECUTORS,
    ExecutorOptions,
    TaskFailedError,
    dask_client,
    map_tasks,
)

__all__ = [
    "CHUNKS_PER_WORKER",
    "DASK_EXECUTORS",
    "DEFAULT_CHUNKSIZE",
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_EXECUTOR",
    "EXECUTORS",
    "ExecutorOptions",
    "RunOptions",
    "TaskFailedError",
    "auto_chunksize",
    "checkpoint_files",
    "dask_client",
    "map_tasks",
    "normalise_fileset",
    "preflight",
    "processor_key",
    "run_processor",
]
