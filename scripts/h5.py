"""``hzx h5``: the study's HDF5 training files — convert Delphes ROOT files, write from ``hzx run
tracks`` outputs, inspect.

Usage::

    hzx h5 convert -i DIR_OR_FILE -o OUTDIR [--max-constituents 100] [--max-tracks 50]
                   [--ghost-dr 0.4] [--file-pattern '*.root'] [--n-workers N] [--no-merge]
    hzx h5 inspect FILE.h5 [FILE2.h5 ...] [--summary] [--output-manifest OUT.json] [--json]
    hzx h5 [write] OUT.coffea [OUT2.coffea ...] --out jet_data.h5 [--signal-jets matched|all]

``convert`` takes convert_to_h5.py's flags (same names, meanings and defaults), ``inspect``
inspect_hdf5.py's. ``write`` reads the training columns of each ``OUT.coffea``: the chunk files
that ``hzx run tracks --out OUT.coffea`` wrote to ``OUT.coffea.columns/`` (checked by size and
SHA-256; a missing or altered one is an error naming it), or columns kept in the output itself
(``--set columns_storage=memory``). Run ``hzx h5 convert -h`` / ``hzx h5 inspect -h`` / ``hzx h5 write -h``.
"""

from __future__ import annotations

import argparse
import json
import sys

from hzx.runner import DEFAULT_CHUNKSIZE
from hzx.scripts.flags import as_flags, flag_names

#: Parameter names the library gives in its errors → the flags of each form of ``hzx h5``.
CONVERT_FLAGS = flag_names("max_constituents", "max_tracks", "ghost_dr", "file_pattern",
                           "n_workers", "chunksize", "skip_bad_files",
                           input_path="--input")
WRITE_FLAGS = flag_names("require_roles", "signal_pids", "signal_jets")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "h5",
        help="the study's jet_data.h5: `hzx h5 convert` (Delphes ROOT), `hzx h5 inspect`, or "
             "`hzx h5 OUT.coffea --out jet_data.h5`",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("arguments", nargs=argparse.REMAINDER,
                        help="convert …, inspect …, or [write] OUT.coffea … --out jet_data.h5")
    parser.set_defaults(func=main)


def _pids(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of PIDs: {text!r}") from None


def convert_parser() -> argparse.ArgumentParser:
    from hzx.nn.convert import default_workers

    p = argparse.ArgumentParser(
        prog="hzx h5 convert",
        description="Convert Delphes ROOT to HDF5 for ML with ghost track association "
                    "(convert_to_h5.py): per-file jet_data_<stem>.h5, metadata.csv, "
                    "conversion_manifest.json and the combined jet_data.h5.")
    p.add_argument("--input", "-i", required=True, help="ROOT file or directory")
    p.add_argument("--output", "-o", required=True, help="Output directory")
    p.add_argument("--max-constituents", type=int, default=100)
    p.add_argument("--max-tracks", type=int, default=50,
                   help="Max tracks per jet (Delta-R matching)")
    p.add_argument("--ghost-dr", type=float, default=0.4,
                   help="Delta R threshold for track matching")
    p.add_argument("--file-pattern", default="*.root")
    p.add_argument("--n-workers", type=int, default=default_workers(),
                   help="Number of worker processes (default: cpu_count-1)")
    p.add_argument("--no-merge", action="store_true", help="Skip creation of combined jet_data.h5")
    hzx = p.add_argument_group("hzx options (not in convert_to_h5.py)")
    hzx.add_argument("--executor", default=None,
                     choices=("iterative", "futures", "dask", "lxplus", "slurm"),
                     help="default: iterative with one worker, else futures")
    hzx.add_argument("--chunksize", type=int, default=DEFAULT_CHUNKSIZE,
                     help=f"entries per chunk [default: {DEFAULT_CHUNKSIZE}]")
    hzx.add_argument("--skip-bad-files", action="store_true",
                     help="skip unreadable files (the study skips them silently) instead of "
                          "stopping with an error")
    hzx.add_argument("--signal-pids", type=_pids, default=(36,),
                     help="truth labels of signal jets, comma-separated (study: 36)")
    hzx.add_argument("--association", choices=("delta_r", "ghost"), default="delta_r")
    return p


def inspect_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hzx h5 inspect",
                                description="Inspect HDF5 files from hzx h5 convert "
                                            "(inspect_hdf5.py)")
    p.add_argument("files", nargs="+", help="HDF5 files to inspect")
    p.add_argument("--summary", action="store_true", help="Print summary instead of full details")
    p.add_argument("--output-manifest", help="Optional JSON out path containing inspection results")
    p.add_argument("--json", action="store_true", help="hzx: print hzx's summary as JSON")
    return p


def write_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hzx h5 [write]",
                                description="jet_data.h5 from `hzx run tracks` outputs")
    p.add_argument("inputs", nargs="+",
                   help="OUT.coffea files of `hzx run tracks` (with their OUT.coffea.columns/)")
    p.add_argument("--out", default="jet_data.h5", help="HDF5 file to write (jet_data.h5)")
    p.add_argument("--signal-jets", choices=("matched", "all"), default="matched",
                   help="signal jets: truth-matched to --signal-pids (default, the study's) or "
                        "every jet of a signal-role sample")
    p.add_argument("--signal-pids", type=_pids, default=(36,),
                   help="truth labels of signal jets, comma-separated (study: 36)")
    p.add_argument("--datasets", default=None, help="comma-separated samples to keep (default: all)")
    p.add_argument("--require-roles", action="store_true",
                   help="a dataset without a fileset role is an error (default: inferred from its "
                        "file names by the study's rule, and reported)")
    return p


def main(args: argparse.Namespace) -> int:
    argv = list(args.arguments)
    if argv and argv[0] == "convert":
        return _convert(convert_parser().parse_args(argv[1:]))
    if argv and argv[0] == "inspect":
        return _inspect(inspect_parser().parse_args(argv[1:]))
    if argv and argv[0] == "write":
        argv = argv[1:]
    if not argv:
        from hzx.errors import ConfigurationError

        raise ConfigurationError("usage: hzx h5 convert … | hzx h5 inspect FILE.h5 … | "
                                 "hzx h5 OUT.coffea … --out jet_data.h5 (hzx h5 -h)")
    return _write(write_parser().parse_args(argv))


@as_flags(CONVERT_FLAGS)
def _convert(a: argparse.Namespace) -> int:
    from hzx.nn.convert import ConvertOptions, convert

    manifest = convert(ConvertOptions(
        input=a.input, output=a.output, max_constituents=a.max_constituents,
        max_tracks=a.max_tracks, ghost_dr=a.ghost_dr, file_pattern=a.file_pattern,
        n_workers=a.n_workers, no_merge=a.no_merge, executor=a.executor, chunksize=a.chunksize,
        skip_bad_files=a.skip_bad_files, signal_pids=a.signal_pids, association=a.association))
    record = manifest["hzx"]
    for info in record["roles"].values():
        print(f"note: {info['message']}", file=sys.stderr)
    for path, reason in record["skipped_files"].items():
        print(f"warning: skipped {path}: {reason}", file=sys.stderr)
    for path in record["files_without_jets"]:
        print(f"warning: no jets in {path}; no HDF5 file written for it", file=sys.stderr)
    print(f"converted {len(manifest['h5_files'])} file(s), {manifest['n_total_jets']} jets "
          f"→ {a.output}" + ("" if a.no_merge else f" (combined: {record['merged_h5']})"))
    for c in record["classes"]:
        print(f"  class {c['class_id']}: {c['name']} [{c['key']}]")
    return 0


def _inspect(a: argparse.Namespace) -> int:
    from pathlib import Path

    from hzx.nn.h5 import (
        format_summary,
        inspect_h5,
        inspect_study,
        study_details,
        study_summary_line,
    )

    results = []
    failed = False
    for path in a.files:
        data = inspect_study(path)
        results.append(data)
        failed |= "error" in data
        if a.json:
            if "error" not in data:
                print(json.dumps(inspect_h5(path), indent=2, default=str))
        elif a.summary:
            print(study_summary_line(data))
        else:
            print(study_details(data))
            if "error" not in data and "ghost_track_vars" in data["datasets"].get("keys", []):
                print(format_summary(inspect_h5(path)))
        if a.json and "error" in data:
            print(study_summary_line(data), file=sys.stderr)
    if a.output_manifest:
        out = Path(a.output_manifest)
        out.write_text(json.dumps(results, indent=2, default=_jsonable))
        print(f"Manifest written to {out}")
    return 2 if failed else 0


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    return str(value)


@as_flags(WRITE_FLAGS)
def _write(a: argparse.Namespace) -> int:
    from hzx.nn.h5 import write_h5

    datasets = a.datasets.split(",") if a.datasets else None
    result = write_h5(a.inputs, a.out, signal_jets=a.signal_jets, datasets=datasets,
                      signal_pids=a.signal_pids, require_roles=a.require_roles)
    for role in result["roles"]:
        if role["inferred"]:
            print(f"warning: {role['message']} (set \"role\" in the fileset to silence this)",
                  file=sys.stderr)
    print(f"wrote {result['jets']} jets of {len(result['samples'])} sample(s) to {result['path']}")
    for c in result["classes"]:
        print(f"  class {c['class_id']}: {c['name']} (PID {c['truth_pid']}, "
              f"{c['mass_GeV']:.4g} GeV)")
    return 0
