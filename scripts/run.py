"""``hzx run NAME``: run a processor over a fileset and save the accumulators."""

from __future__ import annotations

import argparse

from hzx.scripts.common import add_executor_arguments, executor_options_from_args


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
    parser.add_argument("--chunksize", type=int, default=100_000,
                        help="entries per chunk [default: 100000]")
    parser.add_argument("--maxchunks", type=int, default=None,
                        help="at most this many chunks per dataset")
    parser.add_argument("--skip-bad-files", action="store_true",
                        help="skip unreadable files and record them in the output's metadata")
    parser.add_argument("--timeout", type=int, default=60,
                        help="timeout of remote reads in seconds [default: 60]")
    add_executor_arguments(parser)
    parser.set_defaults(func=_run)


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
    from hzx.processors.registry import build
    from hzx.samples import read_fileset

    from hzx.execution import RunOptions, run_processor
    from hzx.io import AnalysisOutput, save_output

    processor, spec, schema = build(args.processor, args.options)
    fileset = read_fileset(args.fileset)
    output = run_processor(
        processor, fileset, treename=spec.treename, schema=schema,
        executor=executor_options_from_args(args),
        run=RunOptions(chunksize=args.chunksize, maxchunks=args.maxchunks,
                       skip_bad_files=args.skip_bad_files, timeout_s=args.timeout),
    )
    output["_provenance"]["fileset_path"] = str(args.fileset)
    path = save_output(output, args.out)
    view = AnalysisOutput(output, str(path))
    events = sum(view[d].get("metadata", {}).get("events_read", 0) for d in view)
    wall = output["_provenance"]["wall_time_s"]
    print(summarise(view))
    print(f"{events} events in {wall:.1f} s ({events / max(wall, 1e-9):,.0f} events/s) → {path}")
    return 0
