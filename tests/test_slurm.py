"""``--executor slurm`` on a real Slurm: Dask workers are Slurm jobs (dask-jobqueue SLURMCluster).

Needs a controller that answers ``sinfo``: ``.ci/slurm.sh start`` starts a single-node one on
127.0.0.1 (CI does, around ``make test``); without one these tests are skipped with the reason.
The no-controller test only needs the Slurm commands. Workers are small (1 core, 2 GB, at most
two jobs) and one cluster serves most tests of this module.

    .ci/slurm.sh start && .venv/bin/python -m pytest -m slurm -q; .ci/slurm.sh stop
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.io import load_output
from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, clusters, run_processor

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
HZX = [sys.executable, "-m", "hzx.scripts.cli"]


def _slurm_missing() -> str | None:
    """Why the Slurm tests cannot run here, or ``None``."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no Slurm here (sinfo/sbatch not found): .ci/slurm.sh start installs and starts one"
    try:
        probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                               timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s: start Slurm with .ci/slurm.sh start"
    if probe.returncode != 0:
        return (f"no Slurm controller answers sinfo ({probe.stderr.strip()[-120:]}): "
                ".ci/slurm.sh start")
    return None


MISSING = _slurm_missing()
pytestmark = pytest.mark.slurm
needs_slurm = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
needs_commands = pytest.mark.skipif(shutil.which("sinfo") is None,
                                    reason="no Slurm commands here (sinfo not found)")


def settings_toml(tmp: Path, **extra: object) -> Path:
    """A ``[cluster.slurm]`` of small workers on this machine (scheduler on 127.0.0.1)."""
    values = {"cores": 1, "memory": "2GB", "walltime": "00:30:00", "scheduler_host": "127.0.0.1",
              "dashboard_address": "", "minimum_jobs": 1, "maximum_jobs": 2,
              "startup_timeout": 120, "job_name": "hzx-test-worker",
              "log_directory": str(tmp / "slurm-logs"),
              # the test modules' processors must be importable by the workers
              "setup_commands": [f"export PYTHONPATH={TESTS}"], **extra}
    lines = ["[cluster.slurm]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path = tmp / "hzx.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def slurm_client(tmp_path_factory):
    if MISSING:
        pytest.skip(MISSING)
    tmp = tmp_path_factory.mktemp("slurm")
    settings = clusters.load_settings("slurm", settings_toml(tmp))
    with clusters.batch_client("slurm", settings, wait_for_workers=1) as client:
        yield client


def _jobs_of(client) -> set[str]:
    return {str(v) for v in client.run(lambda: os.environ.get("SLURM_JOB_ID")).values()}


def _plain(acc) -> dict:
    """Histogram contents (values and variances), cutflows, counts, metadata but chunk counts."""
    out = {}
    for key, value in acc.items():
        if hasattr(value, "view") and hasattr(value, "axes"):
            view = value.view(flow=True)
            out[key] = (np.asarray(view["value"]).tolist(), np.asarray(view["variance"]).tolist()) \
                if view.dtype.names else np.asarray(view).tolist()
        elif key in ("cutflow", "counts"):
            out[key] = value
        elif key == "metadata":
            out[key] = {k: v for k, v in value.items() if k != "chunks"}
    return out


def _fourlep_fileset(opendata_dir: Path) -> dict:
    return {name: {"files": {str(opendata_dir / f"{name}.4lep.root"): "mini"},
                   "metadata": {"role": "data"}} for name in ("data_A", "data_B")}


def _run_fourlep(fileset, executor="iterative", client=None, processor=None, chunksize=20):
    return run_processor(processor or FourLeptonProcessor(), fileset, treename="mini",
                         schema=AtlasOpenDataSchema,
                         executor=ExecutorOptions(executor=executor, progress=False),
                         run=RunOptions(chunksize=chunksize), client=client)


# ------------------------------------------------------------------------------ the command line


@needs_slurm
def test_cli_fourlep_slurm_identical_to_iterative(opendata_dir, tmp_path):
    """`hzx run fourlep --executor slurm` on the shared data == `--executor iterative`."""
    fileset = tmp_path / "fs.json"
    fileset.write_text(json.dumps(_fourlep_fileset(opendata_dir)))
    config = settings_toml(tmp_path, minimum_jobs=0)
    outs = {}
    for executor in ("iterative", "slurm"):
        out = tmp_path / f"{executor}.coffea"
        done = subprocess.run([*HZX, "run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                               "--chunksize", "40", "--executor", executor, "--no-progress",
                               "--cluster-config", str(config)],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        outs[executor] = load_output(out).raw
    for dataset in ("data_A", "data_B"):
        assert _plain(outs["slurm"][dataset]) == _plain(outs["iterative"][dataset])
        assert outs["slurm"][dataset]["metadata"]["chunks"] == \
            outs["iterative"][dataset]["metadata"]["chunks"]
    assert outs["iterative"]["data_B"]["cutflow"]["charge_sum_zero"]["raw"] == 65
    jobs = outs["slurm"]["_provenance"]["summary"]["batch_jobs"]
    assert jobs and all(job.isdigit() for job in jobs)
    # 2 preflight checks (one per file) and 1 + 4 chunks, whoever did them
    assert sum(jobs.values()) >= 2 + 5
    assert "batch_jobs" not in outs["iterative"]["_provenance"]["summary"]


@needs_commands
def test_no_controller_is_an_error_within_60_s(opendata_dir, tmp_path):
    """No slurmctld where slurm.conf points: one error line, exit 2, well within 60 s."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    conf = tmp_path / "slurm.conf"
    conf.write_text(f"ClusterName=nobody\nSlurmctldHost=localhost(127.0.0.1)\n"
                    f"SlurmctldPort={port}\nAuthType=auth/munge\n"
                    "NodeName=localhost CPUs=1\nPartitionName=p Nodes=localhost Default=YES\n")
    fileset = tmp_path / "fs.json"
    fileset.write_text(json.dumps(_fourlep_fileset(opendata_dir)))
    started = time.monotonic()
    done = subprocess.run([*HZX, "run", "fourlep", "--fileset", str(fileset),
                           "--out", str(tmp_path / "o.coffea"), "--executor", "slurm",
                           "--no-progress", "--cluster-config", str(settings_toml(tmp_path))],
                          capture_output=True, text=True, timeout=90, cwd=tmp_path,
                          env={**os.environ, "SLURM_CONF": str(conf)})
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "hzx run: error: no Slurm controller answer"), done.stderr
    assert elapsed < 60
    assert not (tmp_path / "o.coffea").exists()


@needs_slurm
def test_no_worker_in_time_is_an_error_and_cancels_the_jobs(opendata_dir, tmp_path):
    """Jobs that cannot start (held until an hour from now): error after startup_timeout."""
    fileset = tmp_path / "fs.json"
    fileset.write_text(json.dumps(_fourlep_fileset(opendata_dir)))
    config = settings_toml(tmp_path, startup_timeout=5, job_name="hzx-test-held",
                           job_extra_directives=["--begin=now+3600"])
    started = time.monotonic()
    done = subprocess.run([*HZX, "run", "fourlep", "--fileset", str(fileset),
                           "--out", str(tmp_path / "o.coffea"), "--executor", "slurm",
                           "--no-progress", "--cluster-config", str(config)],
                          capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hzx run: error: no slurm worker joined within 5 s (1 job(s) "
                               "submitted: "), lines[0]
    assert "PENDING (BeginTime)" in lines[0]
    assert time.monotonic() - started < 60
    time.sleep(1)
    queue = subprocess.run(["squeue", "-h", "-n", "hzx-test-held", "-o", "%i"],
                           capture_output=True, text=True, check=True).stdout
    assert queue.strip() == ""  # the held job was cancelled when the cluster closed


# ------------------------------------------------------------------------------ one cluster


@needs_slurm
def test_workers_are_slurm_jobs(slurm_client):
    jobs = _jobs_of(slurm_client)
    assert jobs and all(j.isdigit() for j in jobs)
    queue = subprocess.run(["squeue", "-h", "-o", "%i %j %C %m"], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    mine = {line.split()[0]: line.split()[1:] for line in queue if line.strip()}
    for job in jobs:
        assert mine[job] == ["hzx-test-worker", "1", "2G"]  # name, CPUs, memory as configured


@needs_slurm
def test_tracks_and_hza2018_on_slurm_identical_to_iterative(slurm_client, tmp_path):
    from hzx.nn.h5 import write_h5
    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.hza2018 import HZa2018Processor
    from hzx.processors.tracks import TrackObservablesProcessor

    fileset = {
        "sig": {"files": [str(write_delphes(tmp_path / "sig.root", make_events(60, seed=61)))],
                "metadata": {"role": "signal", "signal_mass_GeV": 2.0}},
        "bkg": {"files": [str(write_delphes(tmp_path / "bkg.root",
                                            make_events(40, seed=62, signal_pid=0)))],
                "metadata": {"role": "background"}},
    }
    run = RunOptions(chunksize=25)
    for name, make in (("tracks", TrackObservablesProcessor), ("hza2018", HZa2018Processor)):
        iterative = run_processor(make(), fileset, treename="Delphes", schema=HzxDelphesSchema,
                                  executor=ExecutorOptions(progress=False), run=run)
        on_slurm = run_processor(make(), fileset, treename="Delphes", schema=HzxDelphesSchema,
                                 executor=ExecutorOptions(executor="slurm", progress=False),
                                 run=run, client=slurm_client)
        for dataset in fileset:
            assert _plain(on_slurm[dataset]) == _plain(iterative[dataset]), (name, dataset)
            assert on_slurm[dataset]["metadata"]["chunks"] == \
                iterative[dataset]["metadata"]["chunks"] == 2
        assert on_slurm["_provenance"]["summary"]["batch_jobs"]
        if name == "tracks":
            write_h5([iterative], tmp_path / "iterative.h5")
            write_h5([on_slurm], tmp_path / "slurm.h5")
    import h5py

    with h5py.File(tmp_path / "iterative.h5") as a, h5py.File(tmp_path / "slurm.h5") as b:
        assert set(a) == set(b)
        for key in a:
            np.testing.assert_array_equal(a[key][...], b[key][...], err_msg=key)
        assert a["ghost_track_vars"].shape[0] > 100


@needs_slurm
def test_generation_on_slurm_identical_to_iterative(slurm_client, tmp_path):
    import awkward as ak
    import uproot

    from hzx.generation import generate

    opts = {"events": 6, "seed": 9, "block_size": 3, "mpi": False}
    one = generate("zjets", out=tmp_path / "iterative",
                   executor=ExecutorOptions(executor="iterative", progress=False, retries=0),
                   **opts)
    two = generate("zjets", out=tmp_path / "slurm", client=slurm_client,
                   executor=ExecutorOptions(executor="slurm", progress=False, retries=0), **opts)

    def arrays(manifest):
        out = {}
        for path in manifest.file_paths:
            for name, arr in uproot.open(path)["Delphes"].arrays(library="ak", how=dict).items():
                out.setdefault(name, []).append(ak.to_numpy(ak.flatten(arr, axis=None)))
        return {k: np.concatenate(v).tobytes() for k, v in out.items()}

    assert arrays(one) == arrays(two)
    assert one.xsec_pb == two.xsec_pb and len(two.file_paths) == 2
    # the manifest names the Slurm job that ran each block
    jobs = [f["batch_job"] for f in two.files]
    assert all(jobs) and [f["batch_job"] for f in one.files] == [None, None]
    assert sum(two.provenance["batch_jobs"].values()) == 2


@needs_slurm
def test_adaptive_scaling_between_minimum_and_maximum(slurm_client):
    """minimum_jobs=1, maximum_jobs=2: a burst of tasks gets a second job, then back to one."""
    cluster = slurm_client.cluster

    def workers() -> int:
        return len(slurm_client.scheduler_info(n_workers=-1)["workers"])

    deadline = time.monotonic() + 60
    while workers() != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert workers() == 1
    futures = slurm_client.map(time.sleep, [1.5] * 12, pure=False)
    most, jobs = 0, 0
    while not all(f.done() for f in futures):
        most = max(most, workers())
        jobs = max(jobs, len(cluster.workers))
        time.sleep(0.2)
    assert most == 2 and jobs == 2  # scaled up, never beyond maximum_jobs
    del futures
    deadline = time.monotonic() + 60
    while (workers() > 1 or len(cluster.workers) > 1) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert workers() == 1 and len(cluster.workers) == 1  # back to minimum_jobs, job cancelled


class JobCanceller(FourLeptonProcessor):
    """``scancel``s the Slurm job of the worker that runs chunk ``victim`` (first time only)."""

    def __init__(self, victim: int, marker: str):
        super().__init__()
        self.victim = victim
        self.marker = marker

    def process(self, events):
        if (events.metadata["dataset"] == "data_B" and events.metadata["entrystart"] == self.victim
                and not Path(self.marker).exists()):
            job = os.environ["SLURM_JOB_ID"]
            Path(self.marker).write_text(job)
            subprocess.run(["scancel", job], check=True)
            time.sleep(60)  # killed meanwhile: this chunk never finishes here
        return super().process(events)


@needs_slurm
def test_cancelled_job_gives_identical_histograms(slurm_client, opendata_dir, tmp_path):
    fileset = _fourlep_fileset(opendata_dir)
    reference = _run_fourlep(fileset)
    marker = tmp_path / "cancelled"
    out = _run_fourlep(fileset, executor="slurm", client=slurm_client,
                       processor=JobCanceller(victim=60, marker=str(marker)))
    assert marker.exists()
    cancelled = marker.read_text()
    assert cancelled not in _jobs_of(slurm_client)  # that job is gone …
    for dataset in fileset:  # … and the result is the same
        assert _plain(out[dataset]) == _plain(reference[dataset]), dataset
        assert out[dataset]["metadata"]["chunks"] == reference[dataset]["metadata"]["chunks"]
    assert out["data_B"]["metadata"]["chunks"] == 8
    jobs = out["_provenance"]["summary"]["batch_jobs"]
    assert any(job != cancelled for job in jobs)  # a replacement job finished the work


@needs_slurm
def test_dask_awkward_backend_on_slurm_identical_to_runner(slurm_client, opendata_dir):
    """The dask-awkward graph computed by Slurm worker jobs == the Runner in process (4ℓ)."""
    from test_dask_awkward_backend import assert_same

    fileset = _fourlep_fileset(opendata_dir)
    runner = _run_fourlep(fileset, chunksize=40)
    graph = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                          schema=AtlasOpenDataSchema,
                          executor=ExecutorOptions(executor="slurm", progress=False),
                          run=RunOptions(chunksize=40, backend="dask-awkward"),
                          client=slurm_client)
    assert_same(runner, graph, ("data_A", "data_B"))
    assert sum(graph[d]["m4l"].values().sum() for d in ("data_A", "data_B")) == 53
    summary = graph["_provenance"]["summary"]
    assert summary["backend"] == "dask-awkward" and summary["batch_jobs"]
