"""Benchmark: columnar track observables vs the per-jet reference, and HDF5-writer memory.

1. Jets per second of the columnar code (ΔR association + the seven observables, numba kernels;
   compilation excluded by a warm-up and reported separately) and of the per-jet loop reference
   of the tests on the same jets, side by side in one run, at ~6, ~16 and ~26 tracks per jet.
   The reference runs on the first ``--reference-jets`` jets only (its rate is per jet); the two
   must agree to 1e-9 relative on the jets the reference processes.
2. Peak memory allocated while ``write_h5`` writes outputs of 1×, 4× and 16× the events (same
   chunk size): it should stay flat, bounded by one chunk.

Usage::

    python benchmarks/bench_tracks.py [--events 4000] [--reference-jets 400] [--quick]

Writes ``benchmarks/results/bench_tracks.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import awkward as ak
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from delphes_fixtures import (  # noqa: E402
    lower_tracks,
    make_events,
    read_events,
    ref_associate,
    ref_observables,
    rel_close,
    write_delphes,
)

from hzx.processors.track_observables import delta_r_track_observables  # noqa: E402


def load_arrays(path: Path) -> tuple[ak.Array, ak.Array]:
    import uproot

    tree = uproot.open(path)["Delphes"]
    jets = tree.arrays(["Jet/Jet.PT", "Jet/Jet.Eta", "Jet/Jet.Phi"], library="ak")
    tracks = tree.arrays(["Track/Track.PT", "Track/Track.Eta", "Track/Track.Phi",
                          "Track/Track.Mass"], library="ak")
    f64 = lambda x: ak.values_astype(x, np.float64)  # noqa: E731
    jets = ak.zip({"pt": f64(jets["Jet/Jet.PT"]), "eta": f64(jets["Jet/Jet.Eta"]),
                   "phi": f64(jets["Jet/Jet.Phi"])})
    tracks = ak.zip({"pt": f64(tracks["Track/Track.PT"]), "eta": f64(tracks["Track/Track.Eta"]),
                     "phi": f64(tracks["Track/Track.Phi"]), "mass": f64(tracks["Track/Track.Mass"])})
    return jets, tracks


def columnar(jets: ak.Array, tracks: ak.Array) -> np.ndarray:
    """ΔR association + the seven observables of every jet, as the track processor runs them."""
    return delta_r_track_observables(jets, tracks, 0.4, 50)[2]


def warm_up(jets: ak.Array, tracks: ak.Array) -> float:
    """Compile (or load from numba's cache) every kernel of the columnar path; seconds taken."""
    start = time.perf_counter()
    columnar(jets[:20], tracks[:20])
    return time.perf_counter() - start


def bench_throughput(n_events: int, reference_jets: int, workdir: Path,
                     tracks_per_jet: float) -> dict:
    path = write_delphes(workdir / f"bench{tracks_per_jet}.root",
                         make_events(n_events, seed=99, tracks_per_jet=tracks_per_jet))
    jets, tracks = load_arrays(path)
    warm_up(jets, tracks)  # numba compilation (reported separately), not timed
    times = []
    for _ in range(5):
        start = time.perf_counter()
        matrix = columnar(jets, tracks)  # association + the seven observables, all jets
        times.append(time.perf_counter() - start)
    n_jets = len(matrix)
    col_rate = n_jets / min(times)

    # the per-jet reference (association + observables) on the first jets, rate per jet
    events = read_events(path)
    ref_rows = []
    start = time.perf_counter()
    for e, event_jets in enumerate(events["Jet"]):
        event_tracks = lower_tracks(events["Track"][e])
        for j in event_jets:
            jet = {"eta": j["Eta"], "phi": j["Phi"]}
            ref_rows.append(ref_observables(jet, ref_associate(jet, event_tracks)))
        if len(ref_rows) >= reference_jets:
            break
    ref_time = time.perf_counter() - start
    ref_rate = len(ref_rows) / ref_time
    agree = all(rel_close(g, w) for got, want in zip(matrix, ref_rows, strict=False)
                for g, w in zip(got, want, strict=True))
    mean_tracks = float(np.mean(matrix[:, 0]))
    return {"events": n_events, "jets": n_jets, "tracks_per_jet_generated": tracks_per_jet,
            "mean_tracks_per_jet": round(mean_tracks, 2),
            "columnar_seconds_best_of_5": round(min(times), 4),
            "columnar_seconds_median_of_5": round(float(np.median(times)), 4),
            "columnar_jets_per_s": round(col_rate, 1),
            "reference_jets": len(ref_rows), "reference_seconds": round(ref_time, 4),
            "reference_jets_per_s": round(ref_rate, 1),
            "speedup": round(col_rate / ref_rate, 1), "agree_1e-9": agree}


def bench_h5_memory(sizes: list[int], chunksize: int, workdir: Path) -> list[dict]:
    from hzx.execution import ExecutorOptions, RunOptions, run_processor
    from hzx.nn.h5 import write_h5
    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.tracks import TrackObservablesProcessor

    base = make_events(sizes[0], seed=7)
    path = write_delphes(workdir / "h5bench.root", base)
    out = []
    for n in sizes:
        # n events = the base file listed n / base times (the writer sees distinct chunks)
        copies = n // sizes[0]
        files = []
        for i in range(copies):
            link = workdir / f"copy{i}.root"
            if not link.exists():
                link.symlink_to(path)
            files.append(str(link))
        output = run_processor(TrackObservablesProcessor(), {"s": {"files": files,
                                                                    "metadata": {"role": "signal"}}},
                               treename="Delphes", schema=HzxDelphesSchema,
                               executor=ExecutorOptions(progress=False),
                               run=RunOptions(chunksize=chunksize))
        n_chunks = len(output["s"]["columns"]["chunks"])
        tracemalloc.start()
        start = time.perf_counter()
        summary = write_h5([output], workdir / f"jets_{n}.h5")
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append({"events": n, "jets": summary["jets"], "chunks": n_chunks,
                    "writer_peak_MiB": round(peak / 2**20, 2), "write_seconds": round(elapsed, 3),
                    "file_MiB": round((workdir / f"jets_{n}.h5").stat().st_size / 2**20, 2)})
        del output
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--reference-jets", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args()
    sizes = [250, 1000, 4000] if not args.quick else [100, 400]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        small = make_events(30, seed=1, tracks_per_jet=16.0)
        compile_seconds = warm_up(*load_arrays(write_delphes(workdir / "warm.root", small)))
        throughput = [bench_throughput(args.events if not args.quick else 500,
                                       args.reference_jets if not args.quick else 100, workdir,
                                       tracks_per_jet)
                      for tracks_per_jet in (6.0, 16.0, 26.0)]
        memory = bench_h5_memory(sizes, 250 if not args.quick else 100, workdir)
    result = {"machine": {"python": platform.python_version(), "cpu": platform.processor(),
                          "machine": platform.machine()},
              "numba_compile_or_cache_load_seconds": round(compile_seconds, 3),
              "throughput": throughput, "h5_writer_memory": memory}
    outdir = ROOT / "benchmarks" / "results"
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "bench_tracks.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"numba compilation / cache load (first call, not timed below): {compile_seconds:.2f} s")
    print("columnar: association + 7 observables on all jets, best of 5; reference: per-jet loop"
          " (association + observables) on the first jets only, rate per jet")
    for t in throughput:
        print(f"{t['mean_tracks_per_jet']:5.1f} tracks/jet: columnar {t['columnar_jets_per_s']:>10.1f}"
              f" jets/s ({t['jets']} jets) | reference {t['reference_jets_per_s']:>8.1f} jets/s"
              f" ({t['reference_jets']} jets) | speed-up {t['speedup']}× | agree 1e-9:"
              f" {t['agree_1e-9']}")
    for row in memory:
        print(f"h5 writer: {row['events']:>6} events, {row['jets']:>6} jets, {row['chunks']:>3} chunks:"
              f" peak {row['writer_peak_MiB']} MiB, {row['write_seconds']} s")
    return 0 if all(t["agree_1e-9"] for t in throughput) else 1


if __name__ == "__main__":
    sys.exit(main())
