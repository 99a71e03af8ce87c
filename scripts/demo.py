"""``hzx demo``: the whole study end to end, offline, with a report (cached between runs)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole study end to end and write a report",
        description="Generate the 4-lepton samples with Pythia 8, run the 4-lepton processor on a "
                    "Dask LocalCluster, fit s_s and s_b with goodness of fit and coverage, and "
                    "write report.html/report.md. Steps are cached; --fresh redoes them.")
    parser.add_argument("--out", default="hzx-demo", help="work folder [default: hzx-demo]")
    parser.add_argument("--events", type=float, default=1.0,
                        help="scale of all event and toy counts [default: 1]")
    parser.add_argument("--seed", type=int, default=2026, help="master seed [default: 2026]")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers [default: 2]")
    parser.add_argument("--data", default=None,
                        help="real ATLAS Open Data 4lep location (folder or URL prefix); "
                             "default: pseudo-data drawn from the simulation")
    parser.add_argument("--fresh", action="store_true", help="ignore cached steps")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hzx.pipeline import DemoConfig, run_demo

    config = DemoConfig(workdir=args.out, events_scale=args.events, seed=args.seed,
                        workers=args.workers, data=args.data)
    pipe = run_demo(config, fresh=args.fresh)
    fit = pipe.steps.get("fit", {}).get("result", {})
    for line in fit.get("summary", []):
        print("  " + line)
    return 0
