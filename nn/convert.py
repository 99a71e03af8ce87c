"""``hzx h5 convert``: the study's ``convert_to_h5.py`` on hzx's processor and executors.

Input: a ROOT file, or a directory whose files matching ``file_pattern`` (non-recursive glob,
sorted) are converted. Each file becomes one dataset (named after its safe stem) of a fileset that
:class:`~hzx.processors.tracks.TrackObservablesProcessor` runs over with hzx's executors
(``iterative`` for one worker, else a ``futures`` pool of ``n_workers`` processes, or any executor
given). Then, in the output directory, as the study writes them:

- ``jet_data_<stem>.h5`` per input file with jets (files without jets get none);
- ``metadata.csv``: ``input_file, h5_file, n_jets, filename, n_events`` per produced file;
- ``conversion_manifest.json``: ``input, output_dir, h5_files, n_workers, n_total_jets`` (and
  hzx's record under ``hzx``: options, roles, classes, processor provenance);
- ``jet_data.h5``: every file's jets in file order (unless ``no_merge``).

The workers write the per-jet training columns to chunk files in a temporary folder
``OUTDIR/.hzx-columns-*/`` (:mod:`hzx.processors.columns`; memory stays flat in the number of
events), merged into the HDF5 files above and removed at the end (``columns_in_memory``: keep them
in the processor's output instead, the former way, for small inputs).

Sample identity (signal family, mass, class key and id) comes from each file's name by the study's
rule (:mod:`hzx.samples.identity`); there is no fileset, so every role is inferred and listed.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hzx.errors import ConfigurationError, InputFileError
from hzx.runner.coffea_run import DEFAULT_CHUNKSIZE


def default_workers() -> int:
    """The study's ``--n-workers`` default: cpu_count − 1, at least 1."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """Options of :func:`convert`; the first eight are ``convert_to_h5.py``'s, same defaults.

    Attributes
    ----------
    input, output : str
        ROOT file or directory; output directory (``--input/-i``, ``--output/-o``).
    max_constituents, max_tracks : int
        Padding of ``constituent_features`` (100) and tracks kept per jet (50).
    ghost_dr : float
        ΔR of the track-to-jet matching (0.4).
    file_pattern : str
        Glob of a directory's files (``*.root``).
    n_workers : int
        Worker processes (cpu_count − 1).
    no_merge : bool
        Skip the combined ``jet_data.h5``.
    executor : str or None
        hzx: ``iterative``, ``futures``, ``dask`` …; ``None``: iterative for one worker, else
        futures.
    chunksize : int
        hzx: entries per processing chunk.
    skip_bad_files : bool
        hzx: skip unreadable files (as the study does) instead of stopping with an error.
    signal_pids : tuple of int
        hzx: truth labels that make a matched jet signal (the study: 36).
    association : str
        hzx: ``delta_r`` (the study's) or ``ghost``.
    columns_in_memory : bool
        hzx: carry the training columns in the processor output instead of chunk files.
    """

    input: str
    output: str
    max_constituents: int = 100
    max_tracks: int = 50
    ghost_dr: float = 0.4
    file_pattern: str = "*.root"
    n_workers: int = dataclasses.field(default_factory=default_workers)
    no_merge: bool = False
    executor: str | None = None
    chunksize: int = DEFAULT_CHUNKSIZE
    skip_bad_files: bool = False
    signal_pids: tuple[int, ...] = (36,)
    association: str = "delta_r"
    columns_in_memory: bool = False

    def __post_init__(self) -> None:
        if self.n_workers < 1:
            raise ConfigurationError(f"n_workers must be ≥ 1, got {self.n_workers}")
        if self.max_tracks < 1 or self.max_constituents < 0 or self.ghost_dr <= 0:
            raise ConfigurationError(f"max_tracks must be ≥ 1, max_constituents ≥ 0 and ghost_dr > 0; got "
                                     f"{self.max_tracks}, {self.max_constituents}, {self.ghost_dr}")


def safe_stem(path: str) -> str:
    """File stem with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_`` (the study's)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem)


def input_files(input_path: str, file_pattern: str = "*.root") -> list[str]:
    """A file → itself; a directory → its files matching ``file_pattern``, sorted."""
    if os.path.isfile(input_path):
        return [input_path]
    if os.path.isdir(input_path):
        files = sorted(glob.glob(os.path.join(input_path, file_pattern)))
        if not files:
            raise InputFileError(input_path, f"no file matches file_pattern {file_pattern!r}")
        return files
    raise InputFileError(input_path, "no such file or directory (input_path)")


def tree_name(path: str) -> str:
    """``Delphes``, else the first key whose name contains 'delphes' or 'tree' (the study's
    choice); ``Delphes`` when the file cannot be opened (the run's check then names the problem)."""
    import uproot

    try:
        with uproot.open(path) as f:
            if "Delphes" in f:
                return "Delphes"
            for key in f.keys():
                if "delphes" in key.lower() or "tree" in key.lower():
                    return key.split(";")[0]
    except Exception:  # reported by the preflight of run_processor
        pass
    return "Delphes"


def convert(options: ConvertOptions, client: Any = None) -> dict[str, Any]:
    """Run the conversion; returns the manifest (with hzx's record under ``hzx``)."""
    files = input_files(options.input, options.file_pattern)
    os.makedirs(options.output, exist_ok=True)
    names: dict[str, str] = {}
    fileset: dict[str, Any] = {}
    for path in files:
        name = safe_stem(path)
        k = 1
        while name in fileset:
            k += 1
            name = f"{safe_stem(path)}_{k}"
        names[path] = name
        fileset[name] = {"files": {path: tree_name(path)}, "metadata": {}}

    executor = options.executor or ("iterative" if options.n_workers == 1 else "futures")
    columns_dir = None if options.columns_in_memory else \
        tempfile.mkdtemp(prefix=".hzx-columns-", dir=options.output)
    try:
        return _convert(options, files, names, fileset, executor, columns_dir, client)
    finally:
        if columns_dir is not None:
            shutil.rmtree(columns_dir, ignore_errors=True)


def _convert(options: ConvertOptions, files: list[str], names: dict[str, str],
             fileset: dict[str, Any], executor: str, columns_dir: str | None,
             client: Any) -> dict[str, Any]:
    from hzx.nn.h5 import dataset_roles, write_h5
    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.tracks import TrackObservablesOptions, TrackObservablesProcessor
    from hzx.runner import ExecutorOptions, RunOptions, run_processor

    processor = TrackObservablesProcessor(TrackObservablesOptions(
        association=options.association, r_assoc=options.ghost_dr,
        max_tracks=options.max_tracks, max_constituents=options.max_constituents,
        columns_dir=columns_dir))
    output = run_processor(
        processor, fileset, treename="Delphes", schema=HzxDelphesSchema,
        executor=ExecutorOptions(executor=executor, workers=options.n_workers, progress=False),
        run=RunOptions(chunksize=options.chunksize, skip_bad_files=options.skip_bad_files),
        client=client)

    jets_by_file = {path: output[names[path]]["cutflow"]["jets_selected"]["raw"]
                    for path in files}
    events_by_file = {path: output[names[path]]["metadata"].get("entries_by_file", {}).get(path, 0)
                      for path in files}
    skipped = {s["file"]: s["reason"] for d in fileset
               for s in output[d]["metadata"].get("skipped_files", [])}
    produced = [p for p in files if jets_by_file[p] > 0 and p not in skipped]
    if not produced:
        raise InputFileError(options.input, "no jets in any input file: no HDF5 file written")
    from hzx.nn.h5 import collect_chunks

    roles = dataset_roles(collect_chunks([output]))
    rows, h5_files, classes = [], [], {}
    for path in produced:
        h5_path = os.path.join(options.output, f"jet_data_{safe_stem(path)}.h5")
        summary = write_h5([output], h5_path, files=[path], signal_pids=options.signal_pids,
                           roles=roles)
        for c in summary["classes"]:
            classes.setdefault(c["class_id"], c)
        h5_files.append(h5_path)
        rows.append({"input_file": path, "h5_file": h5_path, "n_jets": jets_by_file[path],
                     "filename": os.path.basename(path), "n_events": events_by_file[path]})
    with open(os.path.join(options.output, "metadata.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["input_file", "h5_file", "n_jets", "filename",
                                               "n_events"])
        writer.writeheader()
        writer.writerows(rows)
    merged = None
    if not options.no_merge:
        merged = os.path.join(options.output, "jet_data.h5")
        write_h5([output], merged, files=produced, signal_pids=options.signal_pids, roles=roles)
    manifest = {
        "input": options.input,
        "output_dir": options.output,
        "h5_files": h5_files,
        "n_workers": options.n_workers,
        "n_total_jets": int(sum(jets_by_file[p] for p in produced)),
    }
    record = {
        "options": {**dataclasses.asdict(options), "signal_pids": list(options.signal_pids)},
        "executor": executor,
        "merged_h5": merged,
        "roles": {d.dataset: {"role": d.role, "source": d.source, "message": d.describe()}
                  for d in roles.values()},
        "classes": sorted(classes.values(), key=lambda c: c["class_id"]),
        "files_without_jets": [p for p in files if jets_by_file[p] == 0 and p not in skipped],
        "skipped_files": skipped,
        "provenance": output.get("_provenance"),
    }
    Path(options.output, "conversion_manifest.json").write_text(
        json.dumps({**manifest, "hzx": record}, indent=2, default=str))
    return {**manifest, "hzx": record}
