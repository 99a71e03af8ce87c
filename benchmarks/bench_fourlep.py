"""Throughput of the 4-lepton processor against the floor of reading its branches with uproot.

The real ATLAS Open Data files of ../shared are replicated (event records repeated, same branch
types and ZLIB level 1 compression as the originals) into ``--files`` files holding ``--events``
events in all, written in batches (bounded memory) under ``--tmpdir`` (/tmp). By default
(``--all-branches``) the replicas keep every branch of the real ``mini`` trees (81, plus a
counter of their own for the three vectors that are empty in data; uproot writes collection
counters as int32 where the originals have uint32, and jagged branches as ``T[]`` rather than
``std::vector<T>``), so the rows show what lazy reading saves; ``--needed-branches`` keeps only
the processor's branches (the earlier benchmark). Each row reports, beside its time, coffea's
``bytes_read`` (savemetrics) and the branches it touched with their compressed bytes (uproot);
the header line gives the compressed bytes of a full read of the replicas.
Then, side by side in one run:

- ``read floor``: uproot opens each file once and reads and decompresses, chunk by chunk (the
  chunks of the processor's iterative run: automatic unless ``--chunksize``), exactly the
  branches the processor needs for data (``FourLeptonProcessor.preload_branches("data")``: the
  seven lepton branches; no weights), nothing else (the reference of the ratios); ``read floor, file reopened per chunk``:
  the same with the file opened again for each chunk, as coffea's Runner does; ``read floor,
  ISA-L inflate``: the floor with the ZLIB baskets inflated by ISA-L, as hzx's runs do
  (:mod:`hzx.runner.inflate`; the reference floor keeps uproot's default, Python's zlib);
- ``processor (iterative)``: :func:`hzx.runner.run_processor` with the iterative executor
  (after one warm-up run on one file: imports and compiled kernels load once per process);
  ``processor, iterative, zlib inflate``: the same with ``RunOptions(inflate="zlib")``;
- ``processor (dask 1 worker)`` and ``(dask 2 workers)``: a real Dask ``LocalCluster``, timed
  warm (after the cluster started and ran once on one file; start-up is reported apart).

- ``dask-awkward, synchronous`` and ``dask-awkward, dask N workers``: the same processor through
  ``RunOptions(backend="dask-awkward")`` (issue 21): one task graph for the fileset, computed on
  dask's synchronous scheduler / the same warm clusters; its graph build time is reported apart
  (it is inside the row's seconds).

After the table: the floor's chunks read as plain Dask tasks on the same clusters (1 and 2
workers): how far 2 workers can get ahead of 1 on this machine by reading alone.

Goals (issue 22, at 10 M events): processor iterative ≤ 1.2 × the read floor; Dask 2 workers
≥ 1.8 × 1 worker and faster than iterative; bytes read ≈ the floor's.

    python benchmarks/bench_fourlep.py [--events 1000000] [--files 4] [--chunksize N]
        [--all-branches | --needed-branches] [--tmpdir /tmp] [--replicas DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
from hzx.runner import (
    ExecutorOptions,
    RunOptions,
    auto_chunksize,
    dask_client,
    inflate,
    run_processor,
)

REPO = Path(__file__).resolve().parent.parent
OPENDATA = REPO.parent / "shared" / "data" / "atlas-opendata-2020-4lep"
RESULTS = REPO / "benchmarks" / "results"


# The collections of the ``mini`` trees: branches ``{prefix}_{field}`` counted by ``{prefix}_n``.
COLLECTIONS = ("lep", "jet", "photon", "tau", "largeRjet")
#: events per ``extend`` (one basket per branch each): bounds the memory of writing, and divides
#: the default chunks of 125 000 entries — with 100 000-entry baskets a chunk straddled two and
#: every reader requested 1.3-1.6 × the branches' bytes (a basket is read whole per chunk)
BATCH = 25_000


def source_events(all_branches: bool) -> ak.Array:
    """The real events of the two data files, every branch of ``mini`` or only the needed ones."""
    sources = [OPENDATA / "data_A.4lep.root", OPENDATA / "data_B.4lep.root"]
    if all_branches:
        branches = None
    else:
        branches = [*FourLeptonProcessor().required_branches(), "trigE", "trigM", "lep_etcone20"]
    return ak.concatenate([uproot.open(s)["mini"].arrays(branches) for s in sources])


def _layout(real: ak.Array) -> dict[str, list[str]]:
    """Which branches of ``real`` go into which collection (``""``: written on their own).

    A jagged branch joins its collection only where its length is the collection's ``_n`` in
    every event (in the data files ``lep_truthMatched``, ``jet_trueflav``, ``jet_truthMatched``
    are empty vectors: they are written with a counter of their own, ``{branch}_n``)."""
    groups: dict[str, list[str]] = {"": []}
    for branch in real.fields:
        prefix = next((c for c in COLLECTIONS if branch.startswith(c + "_")), None)
        counter = f"{prefix}_n"
        counted = (prefix is not None and branch != counter and real[branch].ndim > 1
                   and (counter not in real.fields  # --needed-branches: no counter, one length
                        or ak.all(ak.num(real[branch]) == real[counter])))
        if counted:
            groups.setdefault(prefix, []).append(branch)
        elif prefix is None or branch != f"{prefix}_n":
            groups[""].append(branch)
    return groups


def _batch(real: ak.Array, groups: dict[str, list[str]], index: np.ndarray) -> dict:
    chunk = real[index]
    out = {b: (chunk[b] if chunk[b].ndim > 1 else ak.to_numpy(chunk[b])) for b in groups[""]}
    for prefix, branches in groups.items():
        if prefix:  # a record: uproot writes its counter ``{prefix}_n`` and ``{prefix}_{field}``
            out[prefix] = ak.zip({b[len(prefix) + 1:]: chunk[b] for b in branches})
    return out


def replicate(events: int, files: int, where: Path, all_branches: bool = True) -> list[Path]:
    """Write ``files`` ROOT files with ``events`` events in all, made of the real events repeated.

    ZLIB level 1 as the originals (``uproot.open(...).file`` branches report ``ZLIB(1)``), the
    originals' numeric types; written in batches of ``BATCH`` events with ``extend`` so the
    memory stays bounded at any ``events``."""
    real = source_events(all_branches)
    groups = _layout(real)
    per_file = events // files
    paths = []
    for i in range(files):
        path = where / f"replica_{i}.root"
        with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
            for start in range(0, per_file, BATCH):
                index = np.arange(start, min(per_file, start + BATCH)) % len(real)
                out = _batch(real, groups, index)
                if start == 0:
                    f.mktree("mini", {k: (v.type if isinstance(v, ak.Array) else v.dtype)
                                      for k, v in out.items()},
                             counter_name=lambda counted: f"{counted}_n",
                             field_name=lambda outer, inner: f"{outer}_{inner}")
                f["mini"].extend(out)
        paths.append(path)
    return paths


def replicas(events: int, files: int, where: Path, all_branches: bool, reuse: bool
             ) -> tuple[list[Path], float | None]:
    """The replicas in ``where`` (written, or with ``reuse`` taken from an earlier run when its
    manifest matches) and the seconds writing them took (``None`` when reused)."""
    manifest = where / "manifest.json"
    wanted = {"events": events, "files": files, "all_branches": all_branches}
    if reuse and manifest.is_file() and json.loads(manifest.read_text()) == wanted:
        return [where / f"replica_{i}.root" for i in range(files)], None
    where.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    paths = replicate(events, files, where, all_branches)
    manifest.write_text(json.dumps(wanted))
    return paths, time.perf_counter() - started


def uncompressed_bytes(paths: list[Path], branches: list[str]) -> int:
    """Decompressed bytes of ``branches`` in ``paths`` (what the automatic chunks are sized
    by)."""
    total = 0
    for path in paths:
        with uproot.open(path) as f:
            total += sum(f["mini"][b].uncompressed_bytes for b in branches)
    return total


def compressed_bytes(paths: list[Path], branches: list[str] | None) -> int:
    """Compressed bytes of ``branches`` (all when ``None``) in ``paths``: what reading them
    costs on disk."""
    total = 0
    for path in paths:
        with uproot.open(path) as f:
            tree = f["mini"]
            total += sum(tree[b].compressed_bytes for b in (branches or tree.keys()))
    return total


def read_floor(paths: list[Path], branches: list[str], chunksize: int,
               reopen: bool = False, library: str = "zlib") -> tuple[float, int]:
    """(seconds, bytes requested from the files) to read and decompress the processor's
    branches, chunk by chunk, each file opened once (or, with ``reopen``, once per chunk as
    coffea's Runner does: the TTree metadata of every branch is read again per chunk); the bytes
    are uproot's ``source.num_requested_bytes``, the figure coffea's savemetrics reports as
    ``bytesread``. ``library`` inflates the ZLIB baskets (uproot's default: ``zlib``)."""
    with inflate.inflating_with(library):
        return _read_floor(paths, branches, chunksize, reopen)


def _read_floor(paths: list[Path], branches: list[str], chunksize: int,
                reopen: bool) -> tuple[float, int]:
    start = time.perf_counter()
    requested = 0
    for path in paths:
        f = uproot.open(path)
        n = f["mini"].num_entries
        nchunks = max(round(n / chunksize), 1)
        size = -(-n // nchunks)
        for lo in range(0, n, size):
            if reopen and lo:
                requested += f.file.source.num_requested_bytes
                f.close()
                f = uproot.open(path)
            f["mini"].arrays(branches, entry_start=lo, entry_stop=min(n, lo + size),
                             library="ak")
        requested += f.file.source.num_requested_bytes
        f.close()
    return time.perf_counter() - start, requested


def processor_time(paths: list[Path], executor: str, workers: int, chunksize: int | None,
                   client=None, backend: str = "runner", library: str = "auto"
                   ) -> tuple[float, dict]:
    fileset = {"data_replica": {"files": {str(p): "mini" for p in paths},
                                "metadata": {"role": "data"}}}
    start = time.perf_counter()
    out = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                        schema=AtlasOpenDataSchema,
                        executor=ExecutorOptions(executor=executor, workers=workers,
                                                 progress=False),
                        run=RunOptions(chunksize=chunksize, backend=backend, inflate=library),
                        client=client)
    return time.perf_counter() - start, out


def _read_chunk(path: str, branches: list[str], start: int, stop: int) -> int:
    """One chunk of the floor as a Dask task (the worker's inflate library: the run's)."""
    with uproot.open(path) as f:
        f["mini"].arrays(branches, entry_start=start, entry_stop=stop, library="ak")
    return stop - start


def dask_floor(client, paths: list[Path], branches: list[str], chunksize: int) -> float:
    """Seconds to read the floor's chunks as independent tasks on the cluster of ``client``:
    what the processor's Dask rows could reach if they did nothing but read."""
    work = []
    for path in paths:
        with uproot.open(path) as f:
            n = f["mini"].num_entries
        nchunks = max(round(n / chunksize), 1)
        size = -(-n // nchunks)
        work += [(str(path), lo, min(n, lo + size)) for lo in range(0, n, size)]
    start = time.perf_counter()
    futures = [client.submit(_read_chunk, p, branches, lo, hi, pure=False)
               for p, lo, hi in work]
    assert sum(client.gather(futures)) == sum(hi - lo for _, lo, hi in work)
    return time.perf_counter() - start


def dask_times(paths: list[Path], workers: int, chunksize: int | None, branches: list[str],
               plan: int) -> tuple[float, float, float, dict, float, dict, float]:
    """(cluster start-up, first run with cold workers, warm run, output, warm dask-awkward run,
    its output, the floor's chunks read as tasks) on a LocalCluster."""
    start = time.perf_counter()
    with dask_client(ExecutorOptions(executor="dask", workers=workers, progress=False)) as client:
        startup = time.perf_counter() - start
        cold, _ = processor_time(paths[:1], "dask", workers, chunksize, client)
        warm, out = processor_time(paths, "dask", workers, chunksize, client)
        processor_time(paths[:1], "dask", workers, chunksize, client, "dask-awkward")
        graph, graph_out = processor_time(paths, "dask", workers, chunksize, client,
                                          "dask-awkward")
        # the workers inflate as the processor's runs had them (its plugin stays registered)
        read_only = dask_floor(client, paths, branches, chunksize or plan)
    return startup, cold, warm, out, graph, graph_out, read_only


def _metrics(out: dict) -> tuple[int | None, list[str]]:
    """(coffea's bytes read — ``None`` where the backend does not measure them —, the columns
    it read), from the run's provenance summary."""
    summary = out["_provenance"]["summary"]
    measured = summary.get("bytes_read", 0)
    return (measured or None), list(summary.get("columns_read", []))


def _branch(column: str) -> str:
    """The branch of one of coffea's metrics columns (``lep_pt-data``, ``lep_n-offsets``) or of
    dask-awkward's necessary columns (branch names already)."""
    for suffix in ("-data", "-offsets"):
        if column.endswith(suffix):
            return column[: -len(suffix)]
    return column


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--chunksize", type=int, default=None,
                        help="entries per chunk [default: the processor's automatic chunks, "
                             "which the floor rows then use too]")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all-branches", dest="all_branches", action="store_true", default=True,
                       help="replicas keep every branch of the real mini trees (default)")
    which.add_argument("--needed-branches", dest="all_branches", action="store_false",
                       help="replicas keep only the branches the processor reads (+3)")
    parser.add_argument("--tmpdir", default="/tmp", help="where the replicas are written")
    parser.add_argument("--replicas", default=None, metavar="DIR",
                        help="keep the replicas in DIR and reuse them when DIR already holds "
                             "replicas of the same events, files and branches (its manifest)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.replicas:
            tmp = args.replicas
        else:
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="hzx-bench-", dir=args.tmpdir))
        paths, write_s = replicas(args.events, args.files, Path(tmp), args.all_branches,
                                  reuse=bool(args.replicas))
        disk = sum(p.stat().st_size for p in paths)
        n = sum(uproot.open(p)["mini"].num_entries for p in paths)
        with uproot.open(paths[0]) as f:
            n_branches = len(f["mini"].keys())
        # the replicas are data: the processor reads no weights for them, nor does the floor
        branches = list(FourLeptonProcessor().preload_branches("data"))
        full_bytes = compressed_bytes(paths, None)
        floor_bytes = compressed_bytes(paths, branches)
        # the chunk plan of the processor's iterative run (automatic unless --chunksize): the
        # floor reads in the same chunks
        entries_bytes = uncompressed_bytes(paths, branches)
        plan = args.chunksize or auto_chunksize(n, entries_bytes / n, 1,
                                                FourLeptonProcessor.chunk_bytes)
        read_floor(paths[:1], branches, plan)  # warm the page cache
        rows: dict[str, float] = {}
        read: dict[str, dict] = {}
        chunks: dict[str, int | None] = {}
        floor_name = "read floor (uproot, same branches)"
        rows[floor_name], floor_requested = read_floor(paths, branches, plan)
        read[floor_name] = {"bytes": floor_requested, "columns": branches, "branches": branches,
                            "branch_bytes": floor_bytes}
        reopened = "read floor, file reopened per chunk"
        rows[reopened], requested = read_floor(paths, branches, plan, reopen=True)
        read[reopened] = {**read[floor_name], "bytes": requested}
        fast_floor = "read floor, ISA-L inflate"
        rows[fast_floor], requested = read_floor(paths, branches, plan, library="isal")
        read[fast_floor] = {**read[floor_name], "bytes": requested}

        on_disk = set(uproot.open(paths[0])["mini"].keys())

        def record(name: str, seconds: float, out: dict) -> None:
            rows[name] = seconds
            measured, columns = _metrics(out)
            touched = sorted({_branch(c) for c in columns} & on_disk)
            read[name] = {"bytes": measured, "columns": columns, "branches": touched,
                          "branch_bytes": compressed_bytes(paths, touched)}
            chunks[name] = out["_provenance"]["summary"]["chunksize"]

        processor_time(paths[:1], "iterative", 1, args.chunksize)  # imports, numba cache
        t, out = processor_time(paths, "iterative", 1, args.chunksize)
        record("processor, iterative", t, out)
        t, zlib_out = processor_time(paths, "iterative", 1, args.chunksize, library="zlib")
        record("processor, iterative, zlib inflate", t, zlib_out)
        selected = out["data_replica"]["cutflow"]["charge_sum_zero"]["raw"]
        graph_build = {}
        processor_time(paths[:1], "iterative", 1, args.chunksize, backend="dask-awkward")
        t, graph_out = processor_time(paths, "iterative", 1, args.chunksize,
                                      backend="dask-awkward")
        record("dask-awkward, synchronous", t, graph_out)
        graph_build["dask-awkward, synchronous"] = \
            graph_out["_provenance"]["summary"]["graph_build_time_s"]
        startup = {}
        outputs = [graph_out]
        dask_read = {}
        for workers in (1, 2):
            up, cold, warm, out2, graph, graph_out, dask_read[workers] = dask_times(
                paths, workers, args.chunksize, branches, plan)
            label = f"dask {workers} worker{'s' * (workers > 1)}"
            record(f"processor, {label}", warm, out2)
            record(f"dask-awkward, {label}", graph, graph_out)
            graph_build[f"dask-awkward, {label}"] = \
                graph_out["_provenance"]["summary"]["graph_build_time_s"]
            startup[workers] = {"cluster_start_s": up, "first_run_one_file_s": cold}
            outputs += [out2, graph_out]
        outputs.append(zlib_out)
        for other in outputs:  # every backend, executor and inflate library: the same histogram
            assert other["data_replica"]["m4l"].values().tolist() == \
                out["data_replica"]["m4l"].values().tolist()

    floor = rows[floor_name]
    print(f"\n4-lepton processor on {n:,} events ({args.files} files, chunks of "
          f"{plan:,}{'' if args.chunksize else ' (automatic)'}; {selected:,} selected), "
          f"{platform.processor() or 'cpu'}")
    print(f"replicas: {n_branches} branches ({'all of mini' if args.all_branches else 'needed'}),"
          f" {disk / 1e6:,.1f} MB on disk, "
          + (f"written in {write_s:.1f} s ({n / write_s:,.0f} events/s)" if write_s
             else "reused (--replicas)")
          + f"; a full read of them is {full_bytes / 1e6:,.1f} MB "
          f"compressed, the processor's branches {floor_bytes / 1e6:,.1f} MB")
    print(f"{'':38s} {'seconds':>8s} {'events/s':>12s} {'× floor':>8s} {'MB read':>8s} "
          f"{'MB br.':>7s} {'× floor':>8s} {'br.':>4s} {'chunk':>9s}")
    for name, seconds in rows.items():
        build = (f"  (graph build {graph_build[name]:.2f} s)" if name in graph_build else "")
        r = read[name]
        measured = f"{r['bytes'] / 1e6:8.1f}" if r["bytes"] is not None else f"{'—':>8s}"
        print(f"{name:38s} {seconds:8.2f} {n / seconds:12,.0f} {seconds / floor:8.2f} "
              f"{measured} {r['branch_bytes'] / 1e6:7.1f} {r['branch_bytes'] / floor_bytes:8.2f}"
              f" {len(r['branches']):4d} {chunks.get(name) or plan:9,d}{build}")
    print("MB read: coffea's savemetrics bytesread (everything requested from the files, "
          "metadata included; — where the backend does not measure it); MB br.: compressed "
          "bytes (uproot) of the branches it touched (br.), × the floor's")
    speedup = rows["processor, dask 1 worker"] / rows["processor, dask 2 workers"]
    read_speedup = dask_read[1] / dask_read[2]
    print(f"dask 2 workers vs 1 worker: {speedup:.2f}× (warm clusters; start-up: " + ", ".join(
        f"{w} worker(s) {v['cluster_start_s']:.1f} s + first run on one file "
        f"{v['first_run_one_file_s']:.1f} s" for w, v in startup.items()) + ")")
    print(f"the floor's chunks read as Dask tasks on the same clusters (nothing but reading): "
          f"1 worker {dask_read[1]:.2f} s, 2 workers {dask_read[2]:.2f} s: {read_speedup:.2f}×")
    fast = rows[fast_floor]
    print(f"against the floor inflated with ISA-L as the processor's rows are: iterative "
          f"{rows['processor, iterative'] / fast:.2f}×, dask 2 workers "
          f"{rows['processor, dask 2 workers'] / fast:.2f}×; the processor inflating with zlib "
          f"against the zlib floor: {rows['processor, iterative, zlib inflate'] / floor:.2f}×")
    for name, r in read.items():
        beyond, unread = sorted(set(r["branches"]) - set(branches)), \
            sorted(set(branches) - set(r["branches"]))
        if beyond or unread:
            print(f"{name}: branches beyond the floor's: {', '.join(beyond) or 'none'}; "
                  f"floor's branches it did not read: {', '.join(unread) or 'none'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"events": n, "files": args.files, "chunksize": plan,
              "chunksize_automatic": not args.chunksize, "chunksize_by_row": chunks,
              "all_branches": args.all_branches, "replica_branches": n_branches,
              "replica_disk_bytes": disk, "replica_write_s": write_s,
              "full_read_compressed_bytes": full_bytes,
              "floor_compressed_bytes": floor_bytes,
              "seconds": rows, "events_per_s": {k: n / v for k, v in rows.items()},
              "ratio_to_floor": {k: v / floor for k, v in rows.items()},
              "read": read,
              "dask_speedup_2_vs_1": speedup, "dask_startup": startup,
              "dask_read_only_s": dask_read, "dask_read_only_speedup_2_vs_1": read_speedup,
              "dask_awkward_graph_build_s": graph_build}
    (RESULTS / "bench_fourlep.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
