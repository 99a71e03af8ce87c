"""The coffea run: inputs checked → coffea ``Runner`` → outputs annotated → summary.

:func:`run_processor` opens every file once before any chunk runs (:func:`preflight`: missing or
unreadable files, a missing tree or branch), hands the good files to :class:`coffea.processor.Runner`
on the chosen executor (:mod:`hzx.runner.executors`), then writes each dataset's role, skipped
files and file list into its metadata and the run's summary into the provenance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from hzx.errors import ConfigurationError, InputFileError
from hzx.runner import inflate
from hzx.runner.dask_awkward import read_errors
from hzx.runner.executors import (
    ExecutorOptions,
    batch_jobs_of,
    coffea_executor,
    dask_client,
    map_tasks,
    peak_memory_mb,
)

logger = logging.getLogger(__name__)


#: coffea's own ``Runner`` default, the fixed chunk of the study's conversion scripts (``hzx
#: h5``); ``hzx run`` and :class:`RunOptions` size their chunks for the work instead
#: (:func:`auto_chunksize`) unless given one.
DEFAULT_CHUNKSIZE = 100_000

#: Decompressed bytes of the branches a processor reads, at most, per automatic chunk
#: (:func:`auto_chunksize`), unless the processor sets its own ``chunk_bytes``.
DEFAULT_CHUNK_BYTES = 256 * 2**20

#: automatic chunks per worker, at least: two keep workers busy while the last chunks finish
CHUNKS_PER_WORKER = 2


def auto_chunksize(entries: int, bytes_per_entry: float, workers: int = 1,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    """Entries per chunk sized for the work: as large as ``chunk_bytes`` of decompressed
    branch data allows (``bytes_per_entry``: of the branches the processor reads), and small
    enough that ``entries`` make at least :data:`CHUNKS_PER_WORKER` chunks per worker.

    Every chunk costs a fixed price (coffea opens the file again and builds NanoEvents: ~30 ms
    with the 81 branches of an ATLAS ``mini`` tree), so larger chunks are faster up to what
    memory allows; with several workers, fewer chunks than workers leave some idle. coffea then
    cuts each file into equal chunks of at most this size.
    """
    if entries < 1:
        return 1
    by_memory = int(chunk_bytes // max(bytes_per_entry, 1.0))
    # one worker has nobody to balance with: no reason to cut the work smaller than memory asks
    by_workers = entries if workers <= 1 else -(-entries // (CHUNKS_PER_WORKER * workers))
    return max(1, min(by_memory, by_workers))


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a processor runs over a fileset.

    Attributes
    ----------
    chunksize : int or None
        Entries per chunk (the unit of work); ``None`` sizes them for the work
        (:func:`auto_chunksize`, from the entries and the decompressed size of the branches the
        processor reads, as :func:`preflight` finds them) and records the size chosen in the
        provenance's ``summary["chunksize"]``.
    maxchunks : int or None
        At most this many chunks per dataset (quick looks); ``None`` processes everything.
    skip_bad_files : bool
        Skip files that are missing, unreadable or lack the tree or a needed branch, and record
        them in each dataset's ``metadata["skipped_files"]``, instead of stopping with an error.
    timeout_s : int
        Timeout of remote reads (XRootD, HTTPS), in seconds.
    checkpoint_dir : str or None
        Save every finished chunk's output there; a later run with the same folder, processor
        options and chunking (``--resume``) loads those chunks instead of processing them again.
    """

    chunksize: int | None = None
    maxchunks: int | None = None
    skip_bad_files: bool = False
    timeout_s: int = 60
    checkpoint_dir: str | None = None
    #: ``"runner"`` (coffea's Runner, chunk by chunk) or ``"dask-awkward"`` (one dask-awkward
    #: task graph per fileset: :mod:`hzx.runner.dask_awkward`)
    backend: str = "runner"
    #: the library that inflates ZLIB-compressed baskets (:mod:`hzx.runner.inflate`):
    #: ``"auto"`` (ISA-L where the ``isal`` package is installed, else Python's zlib), ``"isal"``
    #: or ``"zlib"``; the bytes are the same, ISA-L takes two thirds of the time
    inflate: str = "auto"

    def __post_init__(self) -> None:
        from hzx.runner.dask_awkward import BACKENDS

        if self.backend not in BACKENDS:
            raise ConfigurationError(f"unknown backend {self.backend!r}; choose one of "
                                     f"{', '.join(BACKENDS)}")
        if self.chunksize is not None and self.chunksize < 1:
            raise ConfigurationError(f"chunksize must be ≥ 1, got {self.chunksize}")
        if self.maxchunks is not None and self.maxchunks < 1:
            raise ConfigurationError(f"maxchunks must be ≥ 1 or None, got {self.maxchunks}")
        inflate.resolve(self.inflate)  # an unknown choice, or isal asked for and missing


def normalise_fileset(fileset: Mapping[str, Any], treename: str,
                      processor_instance: Any = None) -> dict[str, dict[str, Any]]:
    """Bring a coffea fileset to ``{dataset: {"files": {path: tree}, "metadata": {...}}}``.

    Accepts a list of paths per dataset, a ``{path: tree}`` mapping, or the full form. With a
    processor, each dataset's role is resolved here, once: the metadata's ``role`` (one of
    :data:`~hzx.processors.base.ROLES`), else ``processor_instance.infer_role(dataset)``; it is
    stored in ``metadata["role"]`` (left out when neither gives one).
    """
    from hzx.processors.base import ROLES

    if not isinstance(fileset, Mapping) or not fileset:
        raise ConfigurationError("the fileset is empty or not a mapping of dataset → files")
    out: dict[str, dict[str, Any]] = {}
    for dataset, entry in fileset.items():
        if str(dataset).startswith("_"):
            raise ConfigurationError(
                f"dataset name {dataset!r} starts with '_', which hzx reserves for its own keys"
            )
        metadata: dict[str, Any] = {}
        if isinstance(entry, Mapping) and "files" in entry:
            files = entry["files"]
            metadata = dict(entry.get("metadata") or {})
        else:
            files = entry
        if isinstance(files, str):
            files = [files]
        if isinstance(files, Mapping):
            files = {str(path): (tree or treename) for path, tree in files.items()}
        else:
            files = {str(path): treename for path in files}
        if not files:
            raise ConfigurationError(f"dataset {dataset!r} has no files")
        role = metadata.get("role")
        if role is not None and role not in ROLES:
            raise ConfigurationError(f"dataset {dataset!r}: role {role!r} is not one of "
                                     f"{', '.join(ROLES)}")
        if role is None and processor_instance is not None:
            role = processor_instance.infer_role(str(dataset))
        if role is not None:
            metadata["role"] = role
        out[str(dataset)] = {"files": files, "metadata": metadata}
    return out


def _check_file(item: tuple[str, str, tuple[str, ...], int]) -> dict[str, Any]:
    """Open one file and check its tree and branches (runs on a worker)."""
    import uproot

    path, treename, branches, timeout = item
    try:
        with uproot.open(path, timeout=timeout) as file:
            try:
                tree = file[treename]
            except KeyError:
                keys = ", ".join(sorted({k.split(";")[0] for k in file.keys()})) or "(none)"
                return {"ok": False, "reason": f"no tree {treename!r} in the file (it has: {keys})"}
            if not hasattr(tree, "num_entries"):
                return {"ok": False, "reason": f"{treename!r} is not a TTree"}
            available = set(tree.keys())
            # flat Delphes-layout files (hzx.generation.writers, layout "study") name the branch
            # of Jet/Jet.PT "Jet.PT": count it under its full path too
            available |= {f"{k.split('.', 1)[0]}/{k}" for k in available
                          if "/" not in k and "." in k and f"{k.split('.', 1)[0]}_size" in available}
            missing = [b for b in branches if b not in available]
            if missing:
                return {
                    "ok": False,
                    "reason": f"tree {treename!r} lacks needed branch(es): {', '.join(missing)}",
                }
            return {
                "ok": True,
                "numentries": int(tree.num_entries),
                "uuid": file.file.fUUID,
                "branch_bytes": _uncompressed_bytes(tree, branches),
            }
    except FileNotFoundError:
        return {"ok": False, "reason": "file not found"}
    except Exception as err:
        return {"ok": False, "reason": f"unreadable ({type(err).__name__}: {err})"}


def _uncompressed_bytes(tree: Any, branches: Sequence[str]) -> int:
    """Decompressed bytes of ``branches`` of ``tree`` (of every branch when none are named),
    from the branches' metadata: nothing is read."""
    total = 0
    for name in branches or tree.keys():
        try:
            branch = tree[name]
        except Exception:  # a Delphes "Jet/Jet.PT" path: its flat branch
            branch = tree[name.split("/", 1)[-1]]
        total += int(branch.uncompressed_bytes)
    return total


def preflight(
    fileset: Mapping[str, Any],
    branches: Sequence[str],
    options: ExecutorOptions,
    timeout_s: int = 60,
    client: Any = None,
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """Open every file once: entries and UUID of the good ones, the reason for each bad one.

    Returns ``(good, bad)``: ``good[(dataset, path)] = {"numentries", "uuid", "treename",
    "branch_bytes"}`` (decompressed bytes of ``branches``),
    ``bad[dataset] = [{"file", "reason"}, …]``.
    """
    items, keys = [], []
    for dataset, entry in fileset.items():
        for path, tree in entry["files"].items():
            items.append((path, tree, tuple(branches), timeout_s))
            keys.append((dataset, path))
    # Opening files is I/O-bound: on a Dask cluster the workers do it (they are the ones that must
    # reach the files), otherwise this process does it in turn.
    quiet = dataclasses.replace(options, progress=False, retries=0,
                                executor=options.executor if options.uses_dask else "iterative")
    checks = map_tasks(_check_file, items, quiet, client=client)
    good: dict[tuple[str, str], dict[str, Any]] = {}
    bad: dict[str, list[dict[str, str]]] = {}
    for (dataset, path), item, check in zip(keys, items, checks, strict=True):
        if check["ok"]:
            good[(dataset, path)] = {"numentries": check["numentries"], "uuid": check["uuid"],
                                     "treename": item[1], "branch_bytes": check["branch_bytes"]}
        else:
            bad.setdefault(dataset, []).append({"file": path, "reason": check["reason"]})
    return good, bad


def processor_key(processor_instance: Any) -> str:
    """Digest of a processor's class and options (its :attr:`~hzx.processors.base.HzxProcessor.
    checkpoint_key`): checkpoints of another configuration never mix."""
    return str(processor_instance.checkpoint_key)


def _checkpointer_class():
    from coffea.processor import CheckpointerABC

    class ChunkCheckpointer(CheckpointerABC):
        """Saves each chunk's output under ``<dir>/<processor key>/<dataset>/<file uuid>/…``.

        Written atomically (temporary file, then rename), so an interrupted write never leaves a
        truncated checkpoint; a checkpoint that cannot be read is recomputed.
        """

        def __init__(self, directory: str):
            self.directory = directory

        def path(self, metadata: Any, processor_instance: Any) -> Any:
            from pathlib import Path

            return (Path(self.directory) / processor_key(processor_instance)
                    / str(metadata["dataset"]) / str(metadata["fileuuid"] or "nouuid")
                    / f"{metadata['treename']}-{metadata['entrystart']}-{metadata['entrystop']}"
                      ".coffea")

        def load(self, metadata: Any, processor_instance: Any) -> Any:
            from coffea.util import load

            path = self.path(metadata, processor_instance)
            if not path.is_file():
                return None
            try:
                return load(str(path))
            except Exception:
                return None

        def save(self, output: Any, metadata: Any, processor_instance: Any) -> None:
            import os

            from coffea.util import save

            path = self.path(metadata, processor_instance)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            save(output, str(tmp))
            os.replace(tmp, path)

    return ChunkCheckpointer


def checkpoint_files(directory: str | None, processor_instance: Any) -> set[str]:
    """Checkpoint files of this processor configuration already in ``directory``."""
    from pathlib import Path

    if not directory:
        return set()
    root = Path(directory) / processor_key(processor_instance)
    return {str(p) for p in root.rglob("*.coffea")} if root.is_dir() else set()


def run_processor(
    processor_instance: Any,
    fileset: Mapping[str, Any],
    *,
    treename: str,
    schema: type,
    executor: ExecutorOptions | None = None,
    run: RunOptions | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Run a coffea processor over a fileset and return ``{dataset: accumulator, "_provenance": …}``.

    Before any chunk is processed every file is opened once: a missing or unreadable file, a
    missing tree or a missing branch that the processor needs (``processor.required_branches``)
    raises :class:`~hzx.errors.InputFileError` naming the file — or, with
    ``run.skip_bad_files``, is skipped and listed in ``metadata["skipped_files"]`` of its dataset.
    After the run, every file's processed entries are checked against its length, so a chunk that
    failed and was skipped is recorded too. The provenance's ``summary`` holds what coffea
    measured (``savemetrics``): bytes read, the columns read, the processors' own time.
    """
    from hzx.provenance import digest, provenance

    executor = executor or ExecutorOptions()
    run = run or RunOptions()
    if run.backend == "dask-awkward":  # refused before any file is opened
        from hzx.runner.dask_awkward import check_supported

        check_supported(processor_instance, run)
    fileset = normalise_fileset(fileset, treename, processor_instance)  # roles resolved here
    for dataset, entry in fileset.items():  # e.g. normalisation of simulation: before any work
        processor_instance.validate_metadata(dataset, entry["metadata"])

    library = inflate.resolve(run.inflate)
    run = dataclasses.replace(run, inflate=library)  # "auto" made concrete, for the executors
    with contextlib.ExitStack() as stack:
        if executor.uses_dask and client is None:
            client = stack.enter_context(dask_client(executor))
        # this process (the iterative executor, preflight) for the run only; Dask workers
        # through a plugin; process-pool workers in each task (hzx.runner.executors)
        stack.enter_context(inflate.inflating_with(library))
        if client is not None:
            inflate.use_on_workers(client, library)
        started = time.perf_counter()
        good, bad = preflight(fileset, tuple(processor_instance.required_branches()), executor,
                              run.timeout_s, client=client)
        for (dataset, path), meta in good.items():
            logger.debug("%s [%s]: %d entries in tree %r", path, dataset, meta["numentries"],
                         meta["treename"])
        if bad and not run.skip_bad_files:
            raise _first_bad_file(bad)
        chunk_auto = run.chunksize is None
        if chunk_auto:
            run = dataclasses.replace(run, chunksize=_auto_chunksize(processor_instance, good,
                                                                     executor))
        n_bad = sum(len(v) for v in bad.values())
        logger.info("%s over %d file(s) of %d dataset(s) on the %s executor, chunks of %s%d "
                    "entries%s%s", type(processor_instance).__name__, len(good), len(fileset),
                    executor.executor, "up to " if chunk_auto else "", run.chunksize,
                    " (sized for the work)" if chunk_auto else "",
                    f"; {n_bad} bad file(s) skipped" if n_bad else "")
        runnable = {dataset: {"files": files, "metadata": fileset[dataset]["metadata"]}
                    for dataset, files in _good_files(fileset, good).items() if files}
        before = checkpoint_files(run.checkpoint_dir, processor_instance)
        if not runnable:
            output, metrics = {}, {}
        elif run.backend == "dask-awkward":
            from hzx.runner.dask_awkward import run_dask_awkward

            output, metrics = run_dask_awkward(processor_instance, runnable, schema, good,
                                               executor, run, client)
        else:
            output, metrics = _coffea_run(processor_instance, runnable, treename, schema,
                                          executor, run, client, good)
        elapsed = time.perf_counter() - started
        peak_mb = peak_memory_mb(executor.executor, client)
        jobs = batch_jobs_of(executor, client)
    new_checkpoints = len(checkpoint_files(run.checkpoint_dir, processor_instance) - before)
    logger.debug("coffea's metrics: %s", {k: v for k, v in metrics.items() if k != "columns"})

    output = _annotate(output, fileset, good, bad, processor_instance,
                       complete=run.maxchunks is None)
    events = sum(output[d]["metadata"].get("events_read", 0) for d in fileset)
    chunks = sum(output[d]["metadata"].get("chunks", 0) for d in fileset)
    summary = {
        "events": events,
        "chunks": chunks,
        "chunks_from_checkpoint": chunks - new_checkpoints if run.checkpoint_dir else 0,
        "chunks_processed": new_checkpoints if run.checkpoint_dir else chunks,
        "wall_time_s": round(elapsed, 3),
        "events_per_s": round(events / elapsed, 1) if elapsed > 0 else None,
        # coffea's metrics, summed over chunks (a chunk loaded from a checkpoint counts with the
        # figures of the run that processed it)
        "bytes_read": int(metrics.get("bytesread", 0)),
        "columns_read": sorted(metrics.get("columns", [])),
        "process_time_s": round(float(metrics.get("processtime", 0.0)), 3),
        # How often tasks were retried is not public in coffea (its iterative and futures
        # executors only warn; Dask retries inside the scheduler): the summary records the
        # retries allowed, and what still failed is in skipped_files.
        "retries_allowed": executor.retries,
        "skipped_files": sum(len(output[d]["metadata"]["skipped_files"]) for d in fileset),
        "peak_worker_memory_mb": round(peak_mb, 1) if peak_mb else None,
    }
    summary["backend"] = run.backend
    summary["inflate"] = library
    summary["chunksize"] = run.chunksize
    summary["chunksize_auto"] = chunk_auto
    for key in ("graph_build_time_s", "compute_time_s"):  # dask-awkward: graph apart
        if key in metrics:
            summary[key] = metrics[key]
    if jobs is not None:  # lxplus / slurm: the batch jobs whose workers did the work
        summary["batch_jobs"] = jobs
    output["_provenance"] = provenance(
        "run",
        summary=summary,
        processor=type(processor_instance).__name__,
        processor_options=processor_instance.options,
        fileset=fileset,
        fileset_digest=digest(fileset),
        executor=executor,
        run_options=run,
        wall_time_s=round(elapsed, 3),
    )
    return output


def _auto_chunksize(processor_instance: Any, good: Mapping[tuple[str, str], Any],
                    executor: ExecutorOptions) -> int:
    """:func:`auto_chunksize` for the files that passed :func:`preflight`."""
    entries = sum(meta["numentries"] for meta in good.values())
    data = sum(meta["branch_bytes"] for meta in good.values())
    workers = (1 if executor.executor == "iterative"
               else executor.workers * max(executor.threads_per_worker, 1))
    return auto_chunksize(entries, data / max(entries, 1), workers,
                          getattr(processor_instance, "chunk_bytes", None) or DEFAULT_CHUNK_BYTES)


def _first_bad_file(bad: Mapping[str, list[dict[str, str]]]) -> InputFileError:
    """The error for the first bad file (and how many others there are)."""
    dataset, problems = next(iter(bad.items()))
    first = problems[0]
    others = sum(len(v) for v in bad.values()) - 1
    more = (f" (and {others} more bad file(s); skip_bad_files skips them)" if others else
            " (skip_bad_files would skip it and record it)")
    return InputFileError(first["file"], f"{first['reason']} [dataset {dataset!r}]{more}")


def _good_files(fileset: Mapping[str, Any], good: Mapping[tuple[str, str], Any]
                ) -> dict[str, dict[str, str]]:
    """Per dataset, the files that passed :func:`preflight` (``{path: tree}``)."""
    return {dataset: {p: t for p, t in entry["files"].items() if (dataset, p) in good}
            for dataset, entry in fileset.items()}


def _coffea_run(processor_instance: Any, fileset: dict[str, Any], treename: str, schema: type,
                executor: ExecutorOptions, run: RunOptions, client: Any,
                good: Mapping[tuple[str, str], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """coffea's ``Runner`` over the files that passed :func:`preflight`: (output, metrics)."""
    from coffea import processor
    from coffea.processor.executor import FileMeta

    # preflight opened every file already: its entries and UUIDs seed coffea's metadata cache,
    # so the Runner does not open each file once more before chunking it
    cache = {}
    fileset = dict(fileset)
    for dataset, entry in fileset.items():
        user = entry["metadata"] or None
        for path, tree in entry["files"].items():
            meta = good.get((dataset, path))
            if meta is not None:
                cache[FileMeta(dataset, path, tree, user)] = {
                    **(user or {}), "numentries": meta["numentries"], "uuid": meta["uuid"]}
        preload = processor_instance.preload_branches(entry["metadata"].get("role"))
        if preload:  # read in bulk (one tree.arrays per chunk) when NanoEvents is built
            fileset[dataset] = {**entry, "preload": list(preload)}
    runner = processor.Runner(
        executor=coffea_executor(executor, client, run.inflate),
        chunksize=run.chunksize,
        maxchunks=run.maxchunks,
        # a fresh cache for each run: coffea's default is one process-wide cache keyed by
        # (dataset, file, tree), which would chunk a file rewritten since an earlier run of this
        # process by its old number of entries
        metadata_cache=cache,
        # a chunk that cannot be read (I/O, corrupt baskets, undecodable objects) is skipped
        # and reported by _annotate; coffea's own True would only catch OSError
        skipbadfiles=read_errors() if run.skip_bad_files else False,
        xrootdtimeout=run.timeout_s,
        schema=schema,
        checkpointer=(_checkpointer_class()(str(run.checkpoint_dir)) if run.checkpoint_dir
                      else None),
        savemetrics=True,
    )
    try:
        output, metrics = runner(fileset, processor_instance, treename=treename)
    except Exception as error:
        unreadable = _unreadable_chunk(error)
        if unreadable is None:
            raise
        raise unreadable from error
    return dict(output or {}), dict(metrics or {})


def _unreadable_chunk(error: BaseException) -> InputFileError | None:
    """The one-line error of a chunk whose baskets could not be read (coffea wraps the read's
    exception in one naming the work item), or ``None`` for any other exception."""
    import re

    from coffea.util import _exception_chain

    chain = _exception_chain(error)
    text = " ".join(str(c) for c in chain)
    cause = next((c for c in chain if isinstance(c, read_errors())), None)
    if cause is not None:
        what = f"{type(cause).__name__}: {cause}"
    else:  # from a Dask worker the chain is gone; coffea's message still names the error
        named = re.search(r"The error was: (\w+)\((['\"])(.*?)\2\)", text)
        if named is None or named.group(1) not in {e.__name__ for e in read_errors()}:
            return None
        what = f"{named.group(1)}: {named.group(3)}"
    item = re.search(r"dataset='([^']*)', filename='([^']*)'.*?entrystart=(\d+), "
                     r"entrystop=(\d+)", text)
    path = item.group(2) if item else "a chunk of the fileset"
    entries = (f"entries {item.group(3)}–{item.group(4)} [{item.group(1)}] " if item else "")
    return InputFileError(path, f"{entries}unreadable ({what}); "
                          "--skip-bad-files skips it and records it in the output")


def _annotate(output: dict[str, Any], fileset: Mapping[str, Any],
              good: Mapping[tuple[str, str], Any], bad: Mapping[str, list[dict[str, str]]],
              processor_instance: Any, complete: bool) -> dict[str, Any]:
    """Every dataset of the fileset in its order, each with its role, skipped files (those of
    :func:`preflight`, and with ``complete`` the files whose processed entries fall short of
    their length: a chunk failed and was skipped) and the files it was given."""
    for dataset, entry in fileset.items():
        if dataset not in output:
            output[dataset] = processor_instance.empty_output(dataset, entry["metadata"])
        meta = output[dataset].setdefault("metadata", {})
        # set once here: per-chunk strings would be concatenated by coffea's accumulate
        meta["role"] = entry["metadata"].get("role")
        skipped = list(bad.get(dataset, []))
        processed = meta.get("entries_by_file", {})
        for path in entry["files"] if complete else ():
            if (dataset, path) in good:
                expected = good[(dataset, path)]["numentries"]
                got = processed.get(path, 0)
                if got != expected:
                    skipped.append({"file": path, "reason": f"only {got} of {expected} entries "
                                    "processed: a chunk failed and was skipped"})
        meta["skipped_files"] = skipped
        meta["files_in_fileset"] = sorted(entry["files"])
    # datasets in fileset order, whatever order the chunks finished in
    return {dataset: output[dataset] for dataset in fileset}
