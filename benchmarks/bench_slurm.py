"""``--executor slurm``: 1 vs 2 Slurm workers on the 4-lepton benchmark input, and scale-up latency.

Needs a Slurm controller that answers ``sinfo`` (``.ci/slurm.sh start`` starts a single-node one
on 127.0.0.1); without one it says so and exits 0. The input is bench_fourlep's: the real ATLAS
Open Data events of ../shared replicated into ``--files`` files of ``--events`` events in all.

1. Scale-up latency: from ``cluster.scale(jobs=n)`` (sbatch) until n workers have joined the
   scheduler, for n = 1 and then 2 more after scaling back to 0 (median of ``--repeat``).
2. The 4-lepton processor through :func:`hzx.runner.run_processor` on a SLURMCluster of one
   and of two one-core jobs (workers warm: each timed after a run on one file), with the
   iterative executor in this process for reference; the histograms must agree.

    python benchmarks/bench_slurm.py [--events 1000000] [--files 4] [--chunksize 125000]

Writes ``benchmarks/results/bench_slurm.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fourlep import replicate  # the 4-lepton benchmark input

from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, clusters, run_processor

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def slurm_missing() -> str | None:
    if shutil.which("sinfo") is None:
        return "no Slurm here (sinfo not found); .ci/slurm.sh start"
    probe = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, timeout=30,
                           check=False)
    return None if probe.returncode == 0 else f"no Slurm controller answers ({probe.stderr})"


def workers(client) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


def wait_for(client, n: int, timeout: float = 120) -> float:
    start = time.perf_counter()
    while workers(client) != n:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{n} workers did not join within {timeout} s")
        time.sleep(0.02)
    return time.perf_counter() - start


def run(paths, executor: str, chunksize: int, client=None):
    fileset = {"data_replica": {"files": {str(p): "mini" for p in paths},
                                "metadata": {"role": "data"}}}
    start = time.perf_counter()
    out = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                        schema=AtlasOpenDataSchema,
                        executor=ExecutorOptions(executor=executor, progress=False),
                        run=RunOptions(chunksize=chunksize), client=client)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--chunksize", type=int, default=125_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    missing = slurm_missing()
    if missing:
        print(f"bench_slurm: skipped: {missing}")
        return

    rows: dict[str, float] = {}
    latency: dict[str, list[float]] = {"1 job": [], "2 jobs": []}
    with tempfile.TemporaryDirectory(prefix="hzx-bench-slurm-") as tmp:
        settings = clusters.SlurmSettings(cores=1, memory="2GB", walltime="00:30:00",
                                          scheduler_host="127.0.0.1", dashboard_address="",
                                          minimum_jobs=0, maximum_jobs=2, job_name="hzx-bench",
                                          log_directory=str(Path(tmp) / "logs"))
        paths = replicate(args.events, args.files, Path(tmp))
        run(paths[:1], "iterative", args.chunksize)  # imports, compiled kernels
        rows["iterative (this process)"], reference = run(paths, "iterative", args.chunksize)

        cluster = clusters._build_cluster("slurm", clusters.cluster_kwargs("slurm", settings))
        from distributed import Client

        try:
            client = Client(cluster)
            for _ in range(args.repeat):  # scale-up latency: sbatch → workers joined
                for n, key in ((1, "1 job"), (2, "2 jobs")):
                    cluster.scale(jobs=n)
                    latency[key].append(wait_for(client, n))
                    cluster.scale(jobs=0)
                    wait_for(client, 0)
            for n in (1, 2):
                cluster.scale(jobs=n)
                wait_for(client, n)
                run(paths[:1], "slurm", args.chunksize, client)  # warm the workers
                seconds, out = run(paths, "slurm", args.chunksize, client)
                rows[f"slurm, {n} worker job{'s' * (n > 1)}"] = seconds
                assert out["data_replica"]["m4l"].values().tolist() == \
                    reference["data_replica"]["m4l"].values().tolist()
                cluster.scale(jobs=0)
                wait_for(client, 0)
            client.close()
        finally:
            cluster.close()

    n_events = reference["data_replica"]["metadata"]["events_read"]
    cpus = os.cpu_count()
    print(f"\n4-lepton processor on {n_events:,} events ({args.files} files, chunks of "
          f"{args.chunksize:,}), {cpus} CPU cores, {platform.processor() or 'cpu'}; "
          "Slurm workers: 1 core, 2 GB each")
    print(f"{'':32s} {'seconds':>8s} {'events/s':>12s}")
    for name, seconds in rows.items():
        print(f"{name:32s} {seconds:8.2f} {n_events / seconds:12,.0f}")
    speedup = rows["slurm, 1 worker job"] / rows["slurm, 2 worker jobs"]
    print(f"2 vs 1 worker jobs: {speedup:.2f}×")
    medians = {k: statistics.median(v) for k, v in latency.items()}
    print("scale-up latency (scale(jobs=n) → n workers joined), median of "
          f"{args.repeat}: " + ", ".join(f"{k} {v:.2f} s (range {min(latency[k]):.2f}–"
                                          f"{max(latency[k]):.2f})" for k, v in medians.items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_slurm.json").write_text(json.dumps({
        "events": n_events, "files": args.files, "chunksize": args.chunksize, "cpus": cpus,
        "seconds": rows, "events_per_s": {k: n_events / v for k, v in rows.items()},
        "speedup_2_vs_1": speedup, "scale_up_latency_s": latency,
        "scale_up_latency_median_s": medians}, indent=2))


if __name__ == "__main__":
    main()
