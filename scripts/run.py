"""``hzx run NAME``: run a processor over a fileset and save the accumulators."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from hzx.runner import CHUNKS_PER_WORKER, RunOptions
from hzx.scripts.common import (
    EXECUTOR_FLAGS,
    Interrupted,
    add_executor_arguments,
    check_output_path,
    executor_options_from_args,
)
from hzx.scripts.flags import as_flags, flag_names


def register(subparsers: argparse._SubParsersAction) -> None:
    from hzx.processors.registry import PROCESSORS

    parser = subparsers.add_parser(
        "run", help="run a processor over a fileset",
        description="Run a processor over a coffea fileset and save its output (.coffea).\n"
                    + "\n".join(f"  {s.name:8s} {s.description}" for s in PROCESSORS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("processor", choices=list(PROCESSORS), help="processor name")
    parser.add_argument("--fileset", required=True, help="coffea fileset JSON")
    parser.add_argument("--out", required=True, help="output file (.coffea)")
    parser.add_argument("--set", dest="options", action="append", metavar="KEY=VALUE",
                        help="processor option, e.g. apply_etcone20_isolation=true (repeatable)")
    parser.add_argument("--chunksize", type=int, default=None,
                        help="entries per chunk [default: sized for the work — as large as "
                             "the processor's memory budget for its branches allows, at least "
                             f"{CHUNKS_PER_WORKER} chunks per worker; the size chosen is in "
                             "the output's provenance]")
    parser.add_argument("--maxchunks", type=int, default=None,
                        help="at most this many chunks per dataset")
    parser.add_argument("--skip-bad-files", action="store_true",
                        help="skip unreadable files and record them in the output's metadata")
    parser.add_argument("--checkpoint", action="store_true",
                        help="save each finished chunk in OUT.checkpoints/ (removed on success)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted --checkpoint run: chunks already in "
                             "OUT.checkpoints/ are loaded, only the missing ones are processed")
    parser.add_argument("--timeout", type=int, default=RunOptions.timeout_s,
                        help=f"timeout of remote reads in seconds [default: {RunOptions.timeout_s}]")
    parser.add_argument("--root", nargs="?", const="HZa2018.root", metavar="FILE.root",
                        help="hza2018 only: also write the histograms as TH1Ds named as "
                             "SimpleAnalysis names them, and its region file FILE.txt; one file "
                             "per dataset (several datasets: DIR/<dataset>/FILE.root, or put "
                             "{dataset} in the name) [FILE default: HZa2018.root]")
    # the dask-awkward backend (hzx.runner.dask_awkward): one task graph per fileset
    parser.add_argument("--backend", choices=["runner", "dask-awkward"], default="runner",
                        help="coffea's Runner chunk by chunk, or one dask-awkward task graph "
                             "computed at once (needs the 'dask' extra) [default: runner]")
    parser.add_argument("--inflate", choices=["auto", "isal", "zlib"], default="auto",
                        help="library inflating the files' ZLIB baskets: ISA-L (same bytes, "
                             "two thirds of the time) or Python's zlib [default: auto, ISA-L "
                             "where the isal package is installed]")
    add_executor_arguments(parser)
    parser.set_defaults(func=as_flags(FLAGS)(_run))


#: RunOptions / ExecutorOptions fields the library names in its errors → the flags of `hzx run`
FLAGS = {**flag_names("chunksize", "maxchunks", "skip_bad_files", "backend", "inflate",
                      timeout_s="--timeout", checkpoint_dir="--checkpoint"),
         **EXECUTOR_FLAGS}


def summarise(output) -> str:
    """Terminal summary of a processor output: events, selected, skipped files."""
    from hzx.scripts.common import format_table

    rows = []
    skipped_lines = []
    for dataset in output.datasets:
        acc = output[dataset]
        meta = acc.get("metadata", {})
        cutflow = acc.get("cutflow", {})
        last = list(cutflow.values())[-1] if cutflow else {"raw": "", "weighted": ""}
        weighted = last["weighted"]
        rows.append([dataset, meta.get("role", ""), str(meta.get("events_read", "")),
                     str(meta.get("chunks", "")), str(last["raw"]),
                     f"{weighted:.4g}" if isinstance(weighted, float) else str(weighted)])
        for item in meta.get("skipped_files", []):
            skipped_lines.append(f"  skipped {item['file']} [{dataset}]: {item['reason']}")
    text = format_table(rows, ["dataset", "role", "events", "chunks", "selected",
                               "expected/weighted"])
    if skipped_lines:
        text += "\n" + "\n".join(skipped_lines)
    return text


def _run(args: argparse.Namespace) -> int:
    from hzx.errors import ConfigurationError
    from hzx.io import AnalysisOutput, save_output
    from hzx.processors.registry import build
    from hzx.runner import run_processor
    from hzx.samples import read_fileset

    if args.root is not None and args.processor != "hza2018":
        raise ConfigurationError(f"--root writes SimpleAnalysis histograms of hza2018, not of "
                                 f"{args.processor}")
    if args.root is not None and not args.root.endswith(".root"):
        raise ConfigurationError(f"--root {args.root}: the file name must end in .root")
    # every output path is checked before any work (not after processing)
    check_output_path(args.out)
    if args.root is not None:
        check_output_path(args.root.split("{", 1)[0] + "x.root" if "{" in args.root
                          else args.root, "--root")
    processor, spec, schema = build(args.processor, args.options)
    if hasattr(processor, "with_output"):  # tracks: training columns written to OUT.columns/
        processor = processor.with_output(args.out)
    fileset = read_fileset(args.fileset)
    checkpoints = Path(f"{args.out}.checkpoints")
    if args.resume and not checkpoints.is_dir():
        raise ConfigurationError(f"--resume: no checkpoint folder {checkpoints} (a run with "
                                 "--checkpoint and the same --out makes one)")
    try:
        output = run_processor(
            processor, fileset, treename=spec.treename, schema=schema,
            executor=executor_options_from_args(args),
            run=RunOptions(chunksize=args.chunksize, maxchunks=args.maxchunks,
                           skip_bad_files=args.skip_bad_files, timeout_s=args.timeout,
                           checkpoint_dir=str(checkpoints) if args.checkpoint or args.resume
                           else None,
                           backend=args.backend, inflate=args.inflate),
        )
    except KeyboardInterrupt:
        raise Interrupted(interrupted_line(args, processor, checkpoints)) from None
    output["_provenance"]["fileset_path"] = str(args.fileset)
    path = save_output(output, args.out)
    if checkpoints.is_dir():
        shutil.rmtree(checkpoints)  # the output is complete: the chunks are no longer needed
    if args.root is not None:
        from hzx.processors.hza2018_root import write_output

        for written in write_output(output, args.root):
            print(f"wrote {written}")
    print(summarise(AnalysisOutput(output, str(path))))
    print(format_summary(output["_provenance"]["summary"]) + f" → {path}")
    return 0


def interrupted_line(args: argparse.Namespace, processor, checkpoints: Path) -> str:
    """One line after Ctrl-C: the chunks saved and the exact command that continues the run."""
    import shlex

    from hzx.runner import checkpoint_files

    argv = list(getattr(args, "argv", None) or [])
    if not (args.checkpoint or args.resume):
        again = shlex.join(["hzx", *argv, "--checkpoint"]) if argv else "hzx run … --checkpoint"
        return (f"interrupted: no chunks saved (no --checkpoint); to make the run resumable "
                f"start it again with: {again}")
    saved = len(checkpoint_files(str(checkpoints), processor))
    resume = ["--resume" if a == "--checkpoint" else a for a in argv]
    if "--resume" not in resume:
        resume.append("--resume")
    command = shlex.join(["hzx", *resume]) if argv else "the same command with --resume"
    return f"interrupted: {saved} chunk(s) saved in {checkpoints}; continue with: {command}"


def format_summary(s: dict) -> str:
    """One line: events, rate, chunks (and from checkpoints), bytes read, skipped, peak memory."""
    parts = [f"{s['events']:,} events in {s['wall_time_s']:.1f} s "
             f"({s['events_per_s'] or 0:,.0f} events/s)", f"{s['chunks']} chunks"]
    if s.get("chunks_from_checkpoint"):
        parts.append(f"{s['chunks_from_checkpoint']} from checkpoints")
    if s.get("bytes_read"):
        parts.append(f"{s['bytes_read'] / 1e6:,.1f} MB read")
    if s.get("skipped_files"):
        parts.append(f"{s['skipped_files']} skipped file(s)")
    if s.get("peak_worker_memory_mb"):
        parts.append(f"peak worker memory {s['peak_worker_memory_mb']:,.0f} MB")
    return ", ".join(parts)
