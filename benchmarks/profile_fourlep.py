"""Where the iterative 4-lepton processor's time goes, per chunk (cProfile).

Replicas as in ``bench_fourlep.py`` (every branch of the real ``mini`` trees by default), one
warm-up run, then one profiled run with the iterative executor. Prints the run's seconds, the
time summed by stage (own time of the functions of each package: uproot = file open and
decompression, coffea.nanoevents = NanoEvents build, awkward / numba = selection kernels, hist =
fills, coffea.processor = chunking and result merge, ...) and the top functions by cumulative
time.

    python benchmarks/profile_fourlep.py [--events 1000000] [--files 4] [--chunksize 125000]
        [--needed-branches] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench_fourlep import processor_time, replicate

#: own time is attributed to the first of these that appears in a function's file path
STAGES = (("uproot", "/uproot/"), ("coffea.nanoevents", "/coffea/nanoevents/"),
          ("coffea.processor", "/coffea/processor/"), ("hist", "/hist/"),
          ("boost_histogram", "/boost_histogram/"), ("awkward", "/awkward/"),
          ("numba", "/numba/"), ("numpy", "/numpy/"), ("hzx", "/hzx/"),
          ("cramjam / zlib (C)", "cramjam"), ("pickle/lz4 (C)", "pickle"))


def stage_of(filename: str, function: str) -> str:
    for name, marker in STAGES:
        if marker in filename or marker in function:
            return name
    return "other" if filename != "~" else f"builtin {function.split(' ')[-1][:40]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--chunksize", type=int, default=125_000)
    parser.add_argument("--needed-branches", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hzx-prof-", dir="/tmp") as tmp:
        paths = replicate(args.events, args.files, Path(tmp), not args.needed_branches)
        processor_time(paths[:1], "iterative", 1, args.chunksize)  # imports, numba cache
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        _, out = processor_time(paths, "iterative", 1, args.chunksize)
        profile.disable()
        seconds = time.perf_counter() - start
    chunks = out["_provenance"]["summary"]["chunks"]
    stats = pstats.Stats(profile)
    by_stage: dict[str, float] = defaultdict(float)
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():
        by_stage[stage_of(filename, function)] += own
    print(f"iterative run: {seconds:.2f} s for {chunks} chunks (profiled; cProfile adds "
          f"overhead); own time by stage, s and per chunk:")
    for name, own in sorted(by_stage.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:40s} {own:7.2f} {1e3 * own / chunks:8.1f} ms")
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
