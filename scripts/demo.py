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
    parser.add_argument("--mc", default=None,
                        help="the release's simulated samples to pair with --data (folder, "
                             "public-https, public-xrootd); default: the --data location")
    parser.add_argument("--hzx-mc", action="store_true",
                        help="pair --data with hzx-generated simulation (labelled 'hzx "
                             "simulation' everywhere) instead of the release's")
    parser.add_argument("--fresh", action="store_true", help="ignore cached steps")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hzx.errors import ConfigurationError
    from hzx.pipeline import DemoConfig, run_demo

    config = DemoConfig(workdir=args.out, events_scale=args.events, seed=args.seed,
                        workers=args.workers, data=args.data, mc=args.mc, hzx_mc=args.hzx_mc)
    if args.mc and not args.data:
        raise ConfigurationError("--mc pairs real simulation with real data: give --data too")
    pipe = run_demo(config, fresh=args.fresh)
    for step in ("fit", "likelihood"):
        for line in pipe.steps.get(step, {}).get("result", {}).get("summary", []):
            print("  " + line)
    return 0
