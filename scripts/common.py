"""Arguments shared by several verbs (executor options) and terminal helpers."""

from __future__ import annotations

import argparse
import logging

from hzx.runner import DEFAULT_EXECUTOR, EXECUTORS, ExecutorOptions
from hzx.scripts.flags import flag_names

logger = logging.getLogger(__name__)

#: ExecutorOptions fields the library names in its errors → the flags that set them
EXECUTOR_FLAGS = flag_names("workers", "threads_per_worker", "retries")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the one line the command line prints (what was saved, how to continue)."""


def add_executor_arguments(parser: argparse.ArgumentParser,
                           retries: int = ExecutorOptions.retries) -> None:
    """``--executor --workers --threads-per-worker --scheduler --retries --dashboard --no-progress
    --cluster-config --cluster-set``; defaults are those of :class:`~hzx.runner.ExecutorOptions`
    (one default executor for the command line and the API: :data:`~hzx.runner.DEFAULT_EXECUTOR`).
    """
    group = parser.add_argument_group("where it runs")
    group.add_argument("--executor", choices=EXECUTORS, default=DEFAULT_EXECUTOR,
                       help="iterative (this process), futures (process pool), dask "
                            "(a LocalCluster, or --scheduler), lxplus or slurm (Dask workers as "
                            f"batch jobs, see `hzx cluster`) [default: {DEFAULT_EXECUTOR}]")
    group.add_argument("--workers", type=int, default=None,
                       help="worker processes of futures and a local dask cluster "
                            f"[default: {ExecutorOptions.workers}]")
    group.add_argument("--threads-per-worker", type=int, default=ExecutorOptions.threads_per_worker,
                       help=f"threads per Dask worker [default: {ExecutorOptions.threads_per_worker}]")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of an existing Dask scheduler (tcp://… or tls://…)")
    group.add_argument("--retries", type=int, default=retries,
                       help=f"retries of a failed task [default: {retries}]")
    group.add_argument("--dashboard", action="store_true",
                       help="serve the Dask dashboard on 127.0.0.1 and print its link")
    group.add_argument("--no-progress", action="store_true", help="no progress bars")
    group.add_argument("--cluster-config", metavar="TOML",
                       help="cluster settings for lxplus/slurm/TLS [default: ./hzx.toml if present]")
    group.add_argument("--cluster-set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a cluster setting, e.g. memory=4GB (repeatable)")


def executor_options_from_args(args: argparse.Namespace) -> ExecutorOptions:
    executor = args.executor
    if args.scheduler and executor != "dask":
        executor = "dask"
    if args.workers is not None and executor not in ("futures", "dask"):
        logger.warning("--workers %d has no effect on the %s executor (use --executor futures "
                       "or dask)", args.workers, executor)
    return ExecutorOptions(
        executor=executor,
        workers=args.workers if args.workers is not None else ExecutorOptions.workers,
        threads_per_worker=args.threads_per_worker,
        scheduler=args.scheduler,
        retries=args.retries,
        progress=not args.no_progress,
        dashboard=args.dashboard,
        cluster_config=args.cluster_config,
        cluster_overrides=tuple(args.cluster_set),
    )


def check_output_path(path: str, flag: str = "--out") -> None:
    """Before any work: ``path`` can be written as a file (not a folder; its folder writable).

    Missing parent folders are fine (they are created on writing) as long as the nearest
    existing one is a folder this process can create files in (probed with a temporary file,
    so read-only file systems are caught too). Raises :class:`~hzx.errors.ConfigurationError`.
    """
    import os
    import tempfile
    from pathlib import Path

    from hzx.errors import ConfigurationError

    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigurationError(f"{flag} {path} is a folder; give a file name, e.g. "
                                 f"{target / 'output.coffea'}")
    if target.exists() and not os.access(target, os.W_OK):
        raise ConfigurationError(f"{flag} {path}: the file exists and is not writable")
    parent = target.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigurationError(f"{flag} {path}: {parent} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=parent, prefix=".hzx-write-probe-"):
            pass
    except OSError as err:
        raise ConfigurationError(f"{flag} {path}: cannot write in {parent} "
                                 f"({err.strerror or err})") from None


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned text table for terminal summaries."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    return "\n".join(lines)
