"""Messages: library code logs, the command line alone decides what is shown (-v, -q)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from hzx.scripts.cli import main

#: entries of the real files (the reference's events read)
ENTRIES = {"data_A": 39, "data_B": 156}


@pytest.fixture()
def fileset(opendata_dir, tmp_path):
    path = tmp_path / "fs.json"
    path.write_text(json.dumps({name: {"files": {str(opendata_dir / f"{name}.4lep.root"): "mini"},
                                       "metadata": {"role": "data"}} for name in ENTRIES}))
    return path


def _run(fileset, tmp_path, capsys, *flags):
    """``hzx FLAGS[0] run … FLAGS[1:]`` (a flag before or after the verb)."""
    code = main([f for f in flags[:1] if f] + ["run", "fourlep", "--fileset", str(fileset),
                "--out", str(tmp_path / "o.coffea"), "--executor", "iterative", "--no-progress",
                *flags[1:]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "195 events in" in captured.out  # the results are printed whatever the verbosity
    return captured.err.splitlines()


def test_default_shows_one_info_line(fileset, tmp_path, capsys):
    err = _run(fileset, tmp_path, capsys, "")
    assert [line for line in err if line.startswith(("INFO", "DEBUG"))] == [
        "INFO hzx.runner.coffea_run: FourLeptonProcessor over 2 file(s) of 2 dataset(s) on the "
        "iterative executor, chunks of 100000 entries"]


@pytest.mark.parametrize("flags", [("-q",), ("", "-q"), ("-qq",)])
def test_quiet_prints_no_info_lines(fileset, tmp_path, capsys, flags):
    err = _run(fileset, tmp_path, capsys, *flags)
    assert not [line for line in err if line.startswith(("INFO", "DEBUG"))], err


@pytest.mark.parametrize("flags", [("-v",), ("", "-v")])
def test_verbose_shows_debug_lines(fileset, opendata_dir, tmp_path, capsys, flags):
    err = _run(fileset, tmp_path, capsys, *flags)
    for dataset, entries in ENTRIES.items():
        path = opendata_dir / f"{dataset}.4lep.root"
        assert (f"DEBUG hzx.runner.coffea_run: {path} [{dataset}]: {entries} entries in tree "
                "'mini'") in err
    assert sum(line.startswith("INFO") for line in err) == 1


def test_importing_changes_no_logger_level():
    """Only a running cluster changes Dask's logger levels (restored after); imports never."""
    code = ("import logging\n"
            "names = ('distributed', 'dask_jobqueue', 'tornado', 'asyncio', 'hzx')\n"
            "import distributed, dask_jobqueue\n"
            "before = [logging.getLogger(n).level for n in names]\n"
            "import hzx.runner, hzx.runner.clusters, hzx.scripts.cli, hzx.pipeline\n"
            "assert [logging.getLogger(n).level for n in names] == before, before\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_dask_client_restores_logger_levels():
    from hzx.runner import ExecutorOptions, dask_client

    names = ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler")
    before = [logging.getLogger(n).level for n in names]
    with dask_client(ExecutorOptions(executor="dask", workers=1, progress=False)) as client:
        assert client.submit(sum, [1, 2]).result() == 3
        assert logging.getLogger("distributed").level == logging.ERROR
    assert [logging.getLogger(n).level for n in names] == before
