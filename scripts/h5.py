"""``hzx h5``: the study's HDF5 training file from ``hzx run tracks`` outputs, and its summary.

Usage::

    hzx h5 OUT.coffea [OUT2.coffea ...] --out jet_data.h5 [--signal-jets matched|all]
    hzx h5 inspect jet_data.h5 [--json]
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "h5",
        help="write jet_data.h5 from track-observable outputs, or `hzx h5 inspect FILE`",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+",
                        help="OUT.coffea files of `hzx run tracks` (or: inspect FILE.h5)")
    parser.add_argument("--out", default="jet_data.h5", help="HDF5 file to write (jet_data.h5)")
    parser.add_argument("--signal-jets", choices=("matched", "all"), default="matched",
                        help="signal jets of signal samples: truth-matched ones (default) or all")
    parser.add_argument("--datasets", default=None,
                        help="comma-separated samples to keep (default: all)")
    parser.add_argument("--json", action="store_true", help="inspect: print JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hzx.errors import ConfigurationError
    from hzx.nn.h5 import format_summary, inspect_h5, write_h5

    if args.inputs[0] == "inspect":
        if len(args.inputs) != 2:
            raise ConfigurationError("usage: hzx h5 inspect FILE.h5")
        summary = inspect_h5(args.inputs[1])
        print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
        return 0
    datasets = args.datasets.split(",") if args.datasets else None
    result = write_h5(args.inputs, args.out, signal_jets=args.signal_jets, datasets=datasets)
    print(f"wrote {result['jets']} jets of {len(result['samples'])} sample(s) to {result['path']}")
    for c in result["classes"]:
        print(f"  class {c['class_id']}: {c['name']} (PID {c['truth_pid']}, "
              f"{c['mass_GeV']:.4g} GeV)")
    return 0
