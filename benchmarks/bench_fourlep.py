"""Throughput of the 4-lepton processor against the floor of reading its branches with uproot.

The real ATLAS Open Data files of ../shared are replicated (event records repeated, same branch
types and ZLIB level 1 compression as the originals) into ``--files`` files holding ``--events``
events in all. Then, side by side in one run:

- ``read floor``: uproot opens each chunk and reads and decompresses exactly the branches the
  processor needs (``FourLeptonProcessor.required_branches()``), nothing else;
- ``processor (iterative)``: :func:`hzx.runner.run_processor` with the iterative executor
  (after one warm-up run on one file: imports and compiled kernels load once per process);
- ``processor (dask 1 worker)`` and ``(dask 2 workers)``: a real Dask ``LocalCluster``, timed
  warm (after the cluster started and ran once on one file; start-up is reported apart).

- ``dask-awkward, synchronous`` and ``dask-awkward, dask N workers``: the same processor through
  ``RunOptions(backend="dask-awkward")`` (issue 21): one task graph for the fileset, computed on
  dask's synchronous scheduler / the same warm clusters; its graph build time is reported apart
  (it is inside the row's seconds).

Goal (issue 2): processor ≤ 1.3 × the read floor; 2 workers well above 1 worker.

    python benchmarks/bench_fourlep.py [--events 1000000] [--files 4] [--chunksize 200000]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, dask_client, run_processor

REPO = Path(__file__).resolve().parent.parent
OPENDATA = REPO.parent / "shared" / "data" / "atlas-opendata-2020-4lep"
RESULTS = REPO / "benchmarks" / "results"


def replicate(events: int, files: int, where: Path) -> list[Path]:
    """Write ``files`` ROOT files with ``events`` events in all, made of the real events."""
    sources = [OPENDATA / "data_A.4lep.root", OPENDATA / "data_B.4lep.root"]
    processor = FourLeptonProcessor()
    branches = [*processor.required_branches(), "trigE", "trigM", "lep_etcone20"]
    real = ak.concatenate([uproot.open(s)["mini"].arrays(branches) for s in sources])
    per_file = events // files
    paths = []
    for i in range(files):
        path = where / f"replica_{i}.root"
        index = np.arange(per_file) % len(real)
        chunk = real[index]
        lep = {b[4:]: chunk[b] for b in branches if b.startswith("lep_")}
        out = {b: ak.to_numpy(chunk[b]) for b in branches if not b.startswith("lep_")}
        out["lep"] = ak.zip(lep)
        with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
            f.mktree("mini", {k: (v.type if isinstance(v, ak.Array) else v.dtype)
                              for k, v in out.items()},
                     counter_name=lambda counted: f"{counted}_n",
                     field_name=lambda outer, inner: f"{outer}_{inner}")
            step = 100_000
            for start in range(0, per_file, step):
                f["mini"].extend({k: v[start:start + step] for k, v in out.items()})
        paths.append(path)
    return paths


def read_floor(paths: list[Path], branches: list[str], chunksize: int) -> float:
    """Seconds to read and decompress the processor's branches, chunk by chunk."""
    start = time.perf_counter()
    for path in paths:
        with uproot.open(path) as f:
            tree = f["mini"]
            n = tree.num_entries
            nchunks = max(round(n / chunksize), 1)
            size = -(-n // nchunks)
            for lo in range(0, n, size):
                tree.arrays(branches, entry_start=lo, entry_stop=min(n, lo + size),
                            library="ak")
    return time.perf_counter() - start


def processor_time(paths: list[Path], executor: str, workers: int, chunksize: int,
                   client=None, backend: str = "runner") -> tuple[float, dict]:
    fileset = {"data_replica": {"files": {str(p): "mini" for p in paths},
                                "metadata": {"role": "data"}}}
    start = time.perf_counter()
    out = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                        schema=AtlasOpenDataSchema,
                        executor=ExecutorOptions(executor=executor, workers=workers,
                                                 progress=False),
                        run=RunOptions(chunksize=chunksize, backend=backend), client=client)
    return time.perf_counter() - start, out


def dask_times(paths: list[Path], workers: int, chunksize: int
               ) -> tuple[float, float, float, dict, float, dict]:
    """(cluster start-up, first run with cold workers, warm run, output, warm dask-awkward run,
    its output) on a LocalCluster."""
    start = time.perf_counter()
    with dask_client(ExecutorOptions(executor="dask", workers=workers, progress=False)) as client:
        startup = time.perf_counter() - start
        cold, _ = processor_time(paths[:1], "dask", workers, chunksize, client)
        warm, out = processor_time(paths, "dask", workers, chunksize, client)
        processor_time(paths[:1], "dask", workers, chunksize, client, "dask-awkward")
        graph, graph_out = processor_time(paths, "dask", workers, chunksize, client,
                                          "dask-awkward")
    return startup, cold, warm, out, graph, graph_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--chunksize", type=int, default=125_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hzx-bench-") as tmp:
        paths = replicate(args.events, args.files, Path(tmp))
        n = sum(uproot.open(p)["mini"].num_entries for p in paths)
        branches = list(FourLeptonProcessor().required_branches())
        read_floor(paths[:1], branches, args.chunksize)  # warm the page cache
        rows = {}
        rows["read floor (uproot, same branches)"] = read_floor(paths, branches, args.chunksize)
        processor_time(paths[:1], "iterative", 1, args.chunksize)  # imports, numba cache
        t, out = processor_time(paths, "iterative", 1, args.chunksize)
        rows["processor, iterative"] = t
        selected = out["data_replica"]["cutflow"]["charge_sum_zero"]["raw"]
        graph_build = {}
        processor_time(paths[:1], "iterative", 1, args.chunksize, backend="dask-awkward")
        t, graph_out = processor_time(paths, "iterative", 1, args.chunksize,
                                      backend="dask-awkward")
        rows["dask-awkward, synchronous"] = t
        graph_build["dask-awkward, synchronous"] = \
            graph_out["_provenance"]["summary"]["graph_build_time_s"]
        startup = {}
        outputs = [graph_out]
        for workers in (1, 2):
            up, cold, warm, out2, graph, graph_out = dask_times(paths, workers, args.chunksize)
            label = f"dask {workers} worker{'s' * (workers > 1)}"
            rows[f"processor, {label}"] = warm
            rows[f"dask-awkward, {label}"] = graph
            graph_build[f"dask-awkward, {label}"] = \
                graph_out["_provenance"]["summary"]["graph_build_time_s"]
            startup[workers] = {"cluster_start_s": up, "first_run_one_file_s": cold}
            outputs += [out2, graph_out]
        for other in outputs:  # every backend and executor: the same histogram
            assert other["data_replica"]["m4l"].values().tolist() == \
                out["data_replica"]["m4l"].values().tolist()

    floor = rows["read floor (uproot, same branches)"]
    print(f"\n4-lepton processor on {n:,} events ({args.files} files, chunks of "
          f"{args.chunksize:,}; {selected:,} selected), {platform.processor() or 'cpu'}")
    print(f"{'':38s} {'seconds':>8s} {'events/s':>12s} {'× read floor':>13s}")
    for name, seconds in rows.items():
        build = (f"  (graph build {graph_build[name]:.2f} s)" if name in graph_build else "")
        print(f"{name:38s} {seconds:8.2f} {n / seconds:12,.0f} {seconds / floor:13.2f}{build}")
    speedup = rows["processor, dask 1 worker"] / rows["processor, dask 2 workers"]
    print(f"dask 2 workers vs 1 worker: {speedup:.2f}× (warm clusters; start-up: " + ", ".join(
        f"{w} worker(s) {v['cluster_start_s']:.1f} s + first run on one file "
        f"{v['first_run_one_file_s']:.1f} s" for w, v in startup.items()) + ")")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"events": n, "files": args.files, "chunksize": args.chunksize,
              "seconds": rows, "events_per_s": {k: n / v for k, v in rows.items()},
              "ratio_to_floor": {k: v / floor for k, v in rows.items()},
              "dask_speedup_2_vs_1": speedup, "dask_startup": startup,
              "dask_awkward_graph_build_s": graph_build}
    (RESULTS / "bench_fourlep.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
