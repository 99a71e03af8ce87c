"""Levels of Dask's loggers, changed only for as long as hzx runs a cluster of its own.

Closing a cluster whose workers are busy (Ctrl-C, an error) makes ``distributed`` log every worker
going away; a local cluster's routine chatter is noise to a user who asked for results. The run
machinery raises those loggers' levels inside :func:`restored_levels`, which puts back whatever the
caller had set — a notebook user's own logging configuration survives a run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator

#: the loggers that report workers, comms and event loops of a Dask cluster
DASK_LOGGERS = ("distributed", "dask_jobqueue", "tornado", "asyncio")
#: the loggers of a local cluster's scheduler, workers and nannies (all in ``distributed``)
LOCAL_CLUSTER_LOGGERS = ("distributed", "distributed.worker", "distributed.nanny",
                         "distributed.scheduler")


def set_levels(level: int, names: Iterable[str] = DASK_LOGGERS) -> None:
    """Set each logger's level; call it inside :func:`restored_levels`."""
    for name in names:
        logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def restored_levels(names: Iterable[str] = DASK_LOGGERS) -> Iterator[None]:
    """On leaving, every logger of ``names`` has the level it had on entering."""
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
