"""Benchmark of ``hzx generate``: Pythia events/s per core, fast-simulation overhead, 1 → 2 workers.

Runs, in one go and with the same job:
1. one worker (iterative executor): time per stage (Pythia init, Pythia generation, copying the
   record out of Pythia, fast simulation, writing) → Pythia events/s per core and the fast
   simulation's time as a fraction of Pythia's;
2. two workers (Dask LocalCluster, 2 single-threaded processes): wall time → speed-up.

Usage: ``python benchmarks/bench_generation.py [--process zjets] [--events 400]
[--block-size 50]``; writes ``benchmarks/results/generation-<time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process", default="zjets")
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--block-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from hzx.generation import generate
    from hzx.runner import ExecutorOptions

    results: dict = {"process": args.process, "events": args.events,
                     "block_size": args.block_size}
    with tempfile.TemporaryDirectory() as tmp:
        opts = {"events": args.events, "seed": args.seed, "block_size": args.block_size}
        t0 = time.perf_counter()
        one = generate(args.process, out=Path(tmp) / "one",
                       executor=ExecutorOptions(executor="iterative", progress=False), **opts)
        wall_1 = time.perf_counter() - t0
        # 1 and 2 Dask workers, each on a started cluster whose workers already generated a
        # small warm-up job (imports, Pythia's data files), so the ratio measures the work
        from hzx.runner import dask_client

        walls = {}
        for workers in (1, 2):
            dask = ExecutorOptions(executor="dask", workers=workers, progress=False)
            with dask_client(dask) as client:
                generate(args.process, out=Path(tmp) / f"warm{workers}", executor=dask,
                         client=client, events=2 * workers, seed=99, block_size=1)
                t0 = time.perf_counter()
                generate(args.process, out=Path(tmp) / f"dask{workers}", executor=dask,
                         client=client, **opts)
                walls[workers] = time.perf_counter() - t0
        wall_2 = walls[2]
    s = one.seconds
    pythia = s["pythia"]
    results.update({
        "seconds_1_worker": s,
        "wall_1_worker_s": wall_1,
        "wall_2_workers_s": wall_2,
        "pythia_events_per_s_per_core": one.events / pythia,
        "pythia_incl_init_events_per_s_per_core": one.events / (pythia + s["pythia_init"]),
        "record_copy_fraction_of_pythia": s["extract"] / pythia,
        "fastsim_fraction_of_pythia": s["fastsim"] / pythia,
        "fastsim_and_write_fraction_of_pythia": (s["fastsim"] + s["write"]) / pythia,
        "wall_dask_1_worker_s": walls[1],
        "speedup_1_to_2_workers": walls[1] / wall_2,
        "speedup_iterative_to_2_workers": wall_1 / wall_2,
        "note": "Dask walls on started, warmed clusters; iterative wall includes Pythia start-up",
    })
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"generation-{stamp}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    print(f"→ {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
