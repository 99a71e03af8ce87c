"""Benchmark: client and scheduler memory of ``hzx run tracks`` at 1× and 8× the events.

The training columns of the track processor either travel in the accumulator (``memory``: the
former way, ``--set columns_storage=memory``) or are written by the workers to one file per chunk
in ``OUT.columns/`` (``disk``: the default of ``hzx run tracks --out OUT``), the accumulator
keeping only paths, counts and checksums. For each way and each size this runs

1. a Dask ``LocalCluster`` of 2 single-threaded worker processes in a process of its own (so that
   the scheduler's memory is measured apart from the client's), and
2. ``hzx run tracks --scheduler ADDRESS --out OUT`` as the client, in another process,

on a fileset of one toy Delphes file (``tests/delphes_fixtures.py``, ``--events`` events) listed
1× and 8× (symbolic links: distinct files to the processor, the same events). It records the
client's peak resident memory (``VmHWM`` of its process, Linux) and its peak Python
allocations (``tracemalloc``), the scheduler process's resident memory before the run, its peak
during the run (sampled every 50 ms) and its lifetime peak (``VmHWM``),
the wall time, the ``.coffea`` size, and for the disk way the columns folder's size and the time
and peak memory of ``hzx h5 OUT.coffea`` (the merge). Acceptance (issue 19): with columns on disk
the client's peak memory at 8× is within 20 % of the 1× run.

Usage::

    python benchmarks/bench_tracks_memory.py [--events 1500] [--chunksize 500] [--factor 8]
                                             [--modes disk,memory]

Writes ``benchmarks/results/bench_tracks_memory.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The LocalCluster process: address to a file, then wait for "stop"; report the peak RSS.
CLUSTER = r"""
import json, logging, sys, time
from pathlib import Path
from distributed import Client, LocalCluster
work = Path(sys.argv[1])
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None, silence_logs=logging.ERROR)
client = Client(cluster)
client.wait_for_workers(2)
def rss_kb():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
base = rss_kb()
(work / "address").write_text(cluster.scheduler_address)
peak_now = base
while not (work / "stop").exists():
    time.sleep(0.05)
    peak_now = max(peak_now, rss_kb())
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
(work / "scheduler.json").write_text(json.dumps({
    "rss_before_run_MiB": base / 1024, "rss_peak_during_run_MiB": peak_now / 1024,
    "peak_rss_MiB": hwm / 1024}))
client.close()
cluster.close()
"""

#: The client: ``hzx`` under tracemalloc; writes its peak Python allocations.
CLIENT = r"""
import json, sys, tracemalloc
tracemalloc.start()
from hzx.scripts.cli import main
code = main(sys.argv[2:])
_, peak = tracemalloc.get_traced_memory()
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
open(sys.argv[1], "w").write(json.dumps({"exit": code, "tracemalloc_peak_MiB": peak / 2**20,
                                         "peak_rss_MiB": hwm / 1024}))
sys.exit(code)
"""


def make_input(events: int, workdir: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from delphes_fixtures import make_events, write_delphes

    return write_delphes(workdir / "base.root", make_events(events, seed=7, signal_pid=36,
                                                            signal_mass=2.0))


def run_client(argv: list[str], workdir: Path, tag: str) -> dict:
    """Run ``hzx argv`` in a child process: peak RSS (VmHWM), tracemalloc peak, seconds."""
    report = workdir / f"client-{tag}.json"
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CLIENT, str(report), *argv],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = child.communicate()[1]
    seconds = time.perf_counter() - started
    code = child.returncode
    if code != 0:
        raise RuntimeError(f"hzx {' '.join(argv)} failed ({code}): {err[-2000:]}")
    data = json.loads(report.read_text())
    return {"seconds": round(seconds, 2), "peak_rss_MiB": round(data["peak_rss_MiB"], 1),
            "tracemalloc_peak_MiB": round(data["tracemalloc_peak_MiB"], 1)}


def one_run(mode: str, copies: int, base: Path, chunksize: int, workdir: Path) -> dict:
    run_dir = workdir / f"{mode}-{copies}x"
    run_dir.mkdir()
    files = []
    for i in range(copies):
        link = run_dir / f"copy{i}.root"
        link.symlink_to(base)
        files.append(str(link))
    (run_dir / "fs.json").write_text(json.dumps(
        {"signal": {"files": files, "metadata": {"role": "signal", "signal_mass_GeV": 2.0}}}))
    cluster = subprocess.Popen([sys.executable, "-c", CLUSTER, str(run_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while not (run_dir / "address").exists():
            if time.time() > deadline or cluster.poll() is not None:
                raise RuntimeError("the LocalCluster did not start")
            time.sleep(0.2)
        address = (run_dir / "address").read_text()
        out = run_dir / "tracks.coffea"
        argv = ["run", "tracks", "--fileset", str(run_dir / "fs.json"), "--out", str(out),
                "--scheduler", address, "--chunksize", str(chunksize), "--no-progress"]
        if mode == "memory":
            argv += ["--set", "columns_storage=memory"]
        client = run_client(argv, run_dir, "run")
    finally:
        (run_dir / "stop").write_text("")
        cluster.wait(timeout=120)
    scheduler = json.loads((run_dir / "scheduler.json").read_text())
    columns = out.parent / f"{out.name}.columns"
    row = {"mode": mode, "copies": copies, "client": client,
           "scheduler": {k: round(v, 1) for k, v in scheduler.items()},
           "coffea_MiB": round(out.stat().st_size / 2**20, 3),
           "columns_dir_MiB": round(sum(p.stat().st_size for p in columns.rglob("*.h5"))
                                    / 2**20, 2) if columns.is_dir() else None}
    merge = run_client(["h5", str(out), "--out", str(run_dir / "jet_data.h5")], run_dir, "h5")
    import h5py

    with h5py.File(run_dir / "jet_data.h5") as h5:
        row["jets"] = int(h5["labels"].shape[0])
    row["merge"] = merge
    for path in run_dir.glob("*.h5"):
        path.unlink()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1500, help="events of the base file")
    parser.add_argument("--chunksize", type=int, default=500)
    parser.add_argument("--factor", type=int, default=8, help="the large run's copies")
    parser.add_argument("--modes", default="disk,memory")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tracks-memory-") as tmp:
        workdir = Path(tmp)
        base = make_input(args.events, workdir)
        for mode in modes:
            for copies in (1, args.factor):
                row = one_run(mode, copies, base, args.chunksize, workdir)
                row["events"] = args.events * copies
                rows.append(row)
                print(f"{mode:6s} {copies}×: client peak RSS {row['client']['peak_rss_MiB']} MiB,"
                      f" tracemalloc {row['client']['tracemalloc_peak_MiB']} MiB, scheduler "
                      f"{row['scheduler']['rss_before_run_MiB']}→"
                      f"{row['scheduler']['rss_peak_during_run_MiB']} MiB, "
                      f"{row['client']['seconds']} s", flush=True)
    verdict = {}
    for mode in modes:
        small, large = [r for r in rows if r["mode"] == mode]
        ratio = large["client"]["peak_rss_MiB"] / small["client"]["peak_rss_MiB"]
        verdict[mode] = {"client_rss_ratio": round(ratio, 3),
                         "client_tracemalloc_ratio": round(
                             large["client"]["tracemalloc_peak_MiB"]
                             / max(small["client"]["tracemalloc_peak_MiB"], 1e-9), 3),
                         "scheduler_growth_MiB": [
                             round(r["scheduler"]["rss_peak_during_run_MiB"]
                                   - r["scheduler"]["rss_before_run_MiB"], 1)
                             for r in (small, large)],
                         "within_20_percent": ratio <= 1.2}
    result = {"machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                          "platform": platform.platform()},
              "events_per_copy": args.events, "chunksize": args.chunksize,
              "factor": args.factor, "runs": rows, "verdict": verdict}
    outdir = ROOT / "benchmarks" / "results"
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "bench_tracks_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    header = (f"{'way':6s} {'events':>7s} {'jets':>7s} {'client RSS':>11s} {'tracemalloc':>12s}"
              f" {'scheduler RSS':>15s} {'run s':>6s} {'.coffea':>9s} {'columns':>9s}"
              f" {'merge s':>8s}")
    print(header)
    for r in rows:
        print(f"{r['mode']:6s} {r['events']:>7d} {r['jets']:>7d} "
              f"{r['client']['peak_rss_MiB']:>7.1f} MiB {r['client']['tracemalloc_peak_MiB']:>8.1f}"
              f" MiB {r['scheduler']['rss_peak_during_run_MiB']:>11.1f} MiB "
              f"{r['client']['seconds']:>6.1f} {r['coffea_MiB']:>5.2f} MiB "
              f"{(r['columns_dir_MiB'] or 0):>5.1f} MiB {r['merge']['seconds']:>8.1f}")
    for mode, v in verdict.items():
        print(f"{mode}: client peak RSS {args.factor}×/1× = {v['client_rss_ratio']}"
              f" (tracemalloc {v['client_tracemalloc_ratio']}), scheduler growth "
              f"{v['scheduler_growth_MiB']} MiB; within 20 %: {v['within_20_percent']}")
    return 0 if verdict.get("disk", {}).get("within_20_percent", True) else 1


if __name__ == "__main__":
    sys.exit(main())
