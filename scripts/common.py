"""Arguments shared by several verbs (executor options) and terminal helpers."""

from __future__ import annotations

import argparse

from hzx.execution import EXECUTORS, ExecutorOptions


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor --workers --threads-per-worker --scheduler --retries --dashboard --no-progress``."""
    group = parser.add_argument_group("where it runs")
    group.add_argument("--executor", choices=EXECUTORS, default="dask",
                       help="iterative (this process), futures (process pool) or dask "
                            "(a LocalCluster, or --scheduler) [default: dask]")
    group.add_argument("--workers", type=int, default=2, help="worker processes [default: 2]")
    group.add_argument("--threads-per-worker", type=int, default=1,
                       help="threads per Dask worker [default: 1]")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of an existing Dask scheduler (tcp://… or tls://…)")
    group.add_argument("--retries", type=int, default=3,
                       help="retries of a failed task [default: 3]")
    group.add_argument("--dashboard", action="store_true",
                       help="serve the Dask dashboard on 127.0.0.1 and print its link")
    group.add_argument("--no-progress", action="store_true", help="no progress bars")


def executor_options_from_args(args: argparse.Namespace) -> ExecutorOptions:
    executor = args.executor
    if args.scheduler and executor != "dask":
        executor = "dask"
    return ExecutorOptions(
        executor=executor,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        scheduler=args.scheduler,
        retries=args.retries,
        progress=not args.no_progress,
        dashboard=args.dashboard,
    )


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned text table for terminal summaries."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    return "\n".join(lines)
