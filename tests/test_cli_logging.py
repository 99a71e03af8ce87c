"""Messages: library code logs, the command line alone decides what is shown (-v, -q); and the
defaults the command line shares with the Python API."""

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
        "iterative executor, chunks of up to 195 entries (sized for the work)"]


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
            "import hzx.runner, hzx.runner.clusters, hzx.scripts.cli, hzx.scripts.demo\n"
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


def test_command_line_and_api_share_one_default_executor_and_chunksize():
    import dataclasses

    from coffea.processor import Runner

    from hzx.runner import DEFAULT_CHUNKSIZE, DEFAULT_EXECUTOR, ExecutorOptions, RunOptions
    from hzx.scripts.cli import build_parser
    from hzx.scripts.common import executor_options_from_args

    run = build_parser().parse_args(["run", "fourlep", "--fileset", "f.json", "--out", "o.coffea"])
    generate = build_parser().parse_args(["generate", "zjets"])
    assert executor_options_from_args(run) == ExecutorOptions()
    assert executor_options_from_args(generate) == ExecutorOptions(retries=2)
    assert ExecutorOptions().executor == DEFAULT_EXECUTOR == "iterative"
    runner_default = {f.name: f.default for f in dataclasses.fields(Runner)}["chunksize"]
    # chunks sized for the work by default (hzx.runner.auto_chunksize); the fixed size the
    # study's conversion scripts use is coffea's own default
    assert run.chunksize is None and RunOptions().chunksize is None
    assert DEFAULT_CHUNKSIZE == runner_default == 100_000


def test_workers_without_a_parallel_executor_say_so(capsys):
    from hzx.scripts.cli import build_parser, configure_logging
    from hzx.scripts.common import executor_options_from_args

    configure_logging(0)
    args = build_parser().parse_args(["run", "fourlep", "--fileset", "f.json", "--out", "o.coffea",
                                      "--workers", "4"])
    assert executor_options_from_args(args).workers == 4
    assert capsys.readouterr().err.splitlines() == [
        "WARNING hzx.scripts.common: --workers 4 has no effect on the iterative executor (use "
        "--executor futures or dask)"]
