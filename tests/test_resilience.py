"""Results survive interruptions and lost workers, and do not depend on the topology."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from minitree import weighted_replica

from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import (
    ExecutorOptions,
    RunOptions,
    checkpoint_files,
    dask_client,
    processor_key,
    run_processor,
)

MC_META = {"role": "background", "xsec_pb": 1.25, "sumw": 987.6, "red_eff": 1.0, "lumi_fb": 10.0}
HISTS = ("m4l", "m4l_channel", "lepton_pt", "lepton_eta")


@pytest.fixture(scope="module")
def sample(opendata_dir, tmp_path_factory):
    """One simulated-like file of 1560 events with random weights."""
    path = tmp_path_factory.mktemp("resilience") / "mc_replica.root"
    weighted_replica(opendata_dir / "data_B.4lep.root", path, 1560, seed=5)
    return {"mc_replica": {"files": {str(path): "mini"}, "metadata": MC_META}}


def run(fileset, processor=None, executor="iterative", chunksize=100_000, client=None,
        checkpoint=None, workers=2):
    return run_processor(processor or FourLeptonProcessor(), fileset, treename="mini",
                         schema=AtlasOpenDataSchema,
                         executor=ExecutorOptions(executor=executor, workers=workers,
                                                  progress=False),
                         run=RunOptions(chunksize=chunksize, checkpoint_dir=checkpoint),
                         client=client)


def assert_same(a, b, exact=True):
    """Integer counts identical; weighted sums equal (to 1e-12 relative unless exact)."""
    acc_a, acc_b = a["mc_replica"], b["mc_replica"]
    for name in HISTS:
        va, vb = acc_a[name].view(flow=True), acc_b[name].view(flow=True)
        if exact:
            assert np.array_equal(va["value"], vb["value"]), name
            assert np.array_equal(va["variance"], vb["variance"]), name
        else:
            np.testing.assert_allclose(va["value"], vb["value"], rtol=1e-12, atol=0, err_msg=name)
            np.testing.assert_allclose(va["variance"], vb["variance"], rtol=1e-12, atol=0)
    for cut, counts in acc_a["cutflow"].items():
        assert counts["raw"] == acc_b["cutflow"][cut]["raw"]
        assert counts["weighted"] == pytest.approx(acc_b["cutflow"][cut]["weighted"], rel=1e-12)
    assert acc_a["metadata"]["events_read"] == acc_b["metadata"]["events_read"] == 1560


@pytest.fixture(scope="module")
def reference(sample):
    out = run(sample)
    assert out["mc_replica"]["cutflow"]["charge_sum_zero"]["raw"] == 65 * 10
    return out


def test_summary_holds_what_coffea_measured(sample, reference):
    """savemetrics: the columns read are the processor's branches; bytes read scale with chunks."""
    one = reference["_provenance"]["summary"]
    assert {c.rsplit("-", 1)[0] for c in one["columns_read"]} == \
        set(FourLeptonProcessor().required_branches())
    ten = run(sample, chunksize=156)["_provenance"]["summary"]
    assert (one["chunks"], ten["chunks"]) == (1, 10)
    # the file holds one basket per branch: every chunk reads all of them again
    assert ten["bytes_read"] == 10 * one["bytes_read"] > 0
    assert 0 < one["process_time_s"] <= one["wall_time_s"]
    # coffea does not say how often it retried: the summary records what was allowed
    assert one["retries_allowed"] == 3 and "retries" not in one


class InterruptedProcessor(FourLeptonProcessor):
    """Fails on every chunk from entry ``stop_at`` on: an interruption, test-controlled."""

    def __init__(self, stop_at: int):
        super().__init__()
        self.stop_at = stop_at
        self.checkpoint_key = processor_key(FourLeptonProcessor())  # share the checkpoints

    def process(self, events):
        if events.metadata["entrystart"] >= self.stop_at:
            raise RuntimeError("interrupted (test)")
        return super().process(events)


def test_interrupted_run_resumes_to_identical_output(sample, reference, tmp_path):
    checkpoints = str(tmp_path / "checkpoints")
    with pytest.raises(Exception, match="interrupted"):
        run(sample, InterruptedProcessor(stop_at=780), chunksize=156, checkpoint=checkpoints)
    saved = checkpoint_files(checkpoints, FourLeptonProcessor())
    assert len(saved) == 5  # chunks 0–779 finished before the interruption

    resumed = run(sample, chunksize=156, checkpoint=checkpoints)
    summary = resumed["_provenance"]["summary"]
    assert summary["chunks"] == 10
    assert summary["chunks_from_checkpoint"] == 5
    assert summary["chunks_processed"] == 5  # fewer chunks read than a fresh run
    assert_same(resumed, reference, exact=False)

    # a processor with other options does not pick up these checkpoints
    from hzx.processors import FourLeptonOptions

    other = FourLeptonProcessor(FourLeptonOptions(require_trigger=True))
    assert processor_key(other) != processor_key(FourLeptonProcessor())
    assert checkpoint_files(checkpoints, other) == set()


class WorkerKiller(FourLeptonProcessor):
    """Kills the worker process that runs chunk ``victim``, the first time only (fault injection)."""

    def __init__(self, victim: int, marker: str):
        super().__init__()
        self.victim = victim
        self.marker = marker

    def process(self, events):
        if events.metadata["entrystart"] == self.victim and not Path(self.marker).exists():
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().process(events)


@pytest.fixture(scope="module")
def two_workers():
    with dask_client(ExecutorOptions(executor="dask", workers=2, progress=False)) as client:
        yield client


@pytest.mark.slow
def test_killed_worker_gives_identical_histograms(sample, reference, two_workers, tmp_path):
    marker = tmp_path / "killed"
    pids = set(two_workers.run(os.getpid).values())
    out = run(sample, WorkerKiller(victim=468, marker=str(marker)), executor="dask",
              chunksize=156, client=two_workers)
    assert marker.exists() and int(marker.read_text()) in pids  # a worker really died
    assert_same(out, reference, exact=False)
    assert out["mc_replica"]["metadata"]["chunks"] == 10


@pytest.mark.slow
@pytest.mark.parametrize(("executor", "chunksize"), [("futures", 7), ("dask", 13), ("dask", 400)])
def test_same_result_on_any_topology(sample, reference, two_workers, executor, chunksize):
    client = two_workers if executor == "dask" else None
    out = run(sample, executor=executor, chunksize=chunksize, client=client)
    assert_same(out, reference, exact=False)


@pytest.mark.slow
def test_one_dask_worker_same_result(sample, reference):
    out = run(sample, executor="dask", workers=1, chunksize=100)
    assert_same(out, reference, exact=False)
    assert out["_provenance"]["summary"]["peak_worker_memory_mb"] > 50


# ------------------------------------------------------------------------------ Ctrl-C, --out


def _data_fileset(opendata_dir, tmp_path) -> Path:
    path = tmp_path / "fs.json"
    path.write_text(json.dumps({name: {"files": {str(opendata_dir / f"{name}.4lep.root"): "mini"},
                                       "metadata": {"role": "data"}}
                                for name in ("data_A", "data_B")}))
    return path


@pytest.mark.slow
def test_ctrl_c_one_line_with_saved_chunks_and_resume_command(opendata_dir, tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a dask run."""
    import shlex
    import subprocess
    import sys
    import time

    from hzx.io import load_output

    fileset = _data_fileset(opendata_dir, tmp_path)
    out = tmp_path / "o.coffea"
    args = ["run", "fourlep", "--fileset", str(fileset), "--out", str(out), "--chunksize", "5",
            "--checkpoint", "--executor", "dask", "--workers", "2", "--no-progress", "-q"]
    hzx = [sys.executable, "-m", "hzx.scripts.cli"]
    proc = subprocess.Popen([*hzx, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=tmp_path)
    checkpoints = Path(f"{out}.checkpoints")
    deadline = time.monotonic() + 120
    while not list(checkpoints.rglob("*.coffea")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # no worker tracebacks
    saved = len(list(checkpoints.rglob("*.coffea")))
    resume = shlex.join(["hzx", *[a if a != "--checkpoint" else "--resume" for a in args]])
    assert lines[0] == (f"hzx run: interrupted: {saved} chunk(s) saved in {checkpoints}; "
                        f"continue with: {resume}")
    assert 1 <= saved < 34 and not out.exists()

    done = subprocess.run([*hzx, *shlex.split(lines[0].split("continue with: ")[1])[1:]],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resumed = load_output(out).raw
    assert resumed["_provenance"]["summary"]["chunks_from_checkpoint"] >= saved
    assert not checkpoints.exists()
    fresh = run_processor(FourLeptonProcessor(), json.loads(fileset.read_text()), treename="mini",
                          schema=AtlasOpenDataSchema,
                          executor=ExecutorOptions(progress=False), run=RunOptions(chunksize=5))
    assert resumed["_provenance"]["summary"]["chunks"] == fresh["_provenance"]["summary"][
        "chunks"] == 8 + 26
    for dataset in ("data_A", "data_B"):
        for name in HISTS:
            assert np.array_equal(resumed[dataset][name].view(flow=True),
                                  fresh[dataset][name].view(flow=True)), (dataset, name)
        assert resumed[dataset]["cutflow"] == fresh[dataset]["cutflow"]


def test_ctrl_c_without_checkpoint_says_how_to_make_it_resumable():
    import argparse

    from hzx.scripts.run import interrupted_line

    args = argparse.Namespace(checkpoint=False, resume=False,
                              argv=["run", "fourlep", "--fileset", "f s.json", "--out", "o.coffea"])
    assert interrupted_line(args, FourLeptonProcessor(), Path("o.coffea.checkpoints")) == (
        "interrupted: no chunks saved (no --checkpoint); to make the run resumable start it "
        "again with: hzx run fourlep --fileset 'f s.json' --out o.coffea --checkpoint")


@pytest.mark.parametrize(("out", "message"), [
    ("{tmp}", "is a folder; give a file name"),
    ("{tmp}/file.txt/o.coffea", "is a file, not a folder"),
    ("/proc/hzx-test/o.coffea", "cannot write in /proc"),
])
def test_out_checked_before_any_work(opendata_dir, tmp_path, capsys, monkeypatch, out, message):
    """An unusable --out fails at once: no file is opened, nothing is processed."""
    import hzx.runner.coffea_run
    from hzx.scripts.cli import main

    (tmp_path / "file.txt").write_text("x")
    fileset = _data_fileset(opendata_dir, tmp_path)
    monkeypatch.setattr(hzx.runner.coffea_run, "preflight",
                        lambda *a, **k: pytest.fail("work started before --out was checked"))
    code = main(["run", "fourlep", "--fileset", str(fileset), "--out", out.format(tmp=tmp_path),
                 "--executor", "iterative", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("hzx run: error: --out ") and message in err, err
    assert len(err.strip().splitlines()) == 1
