"""hzx's local Dask workers: their environment (glibc's adaptive malloc, not Dask's trim)."""

from __future__ import annotations

import os

import dask.config
import pytest


def test_worker_environment_drops_only_dasks_default_trim_threshold():
    from hzx.runner.executors import worker_environment

    environ = worker_environment()
    assert "MALLOC_TRIM_THRESHOLD_" not in environ
    # the rest of Dask's shipped environment stays (single-threaded BLAS in each worker)
    assert str(environ["OMP_NUM_THREADS"]) == "1"
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 0}):
        assert worker_environment()["MALLOC_TRIM_THRESHOLD_"] == 0  # the user's own value


@pytest.mark.slow
def test_local_workers_start_without_the_trim_threshold():
    from hzx.runner import ExecutorOptions, dask_client

    with dask_client(ExecutorOptions(executor="dask", workers=2, progress=False)) as client:
        seen = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                   os.environ.get("OMP_NUM_THREADS")))
    assert len(seen) == 2
    assert set(seen.values()) == {(None, "1")}
    # the configuration outside the cluster's creation is Dask's own again
    assert dask.config.get("distributed.nanny.pre-spawn-environ")["MALLOC_TRIM_THRESHOLD_"] == 65536
