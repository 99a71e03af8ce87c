"""``hzx cluster``: show the batch job script of a Dask cluster, or start one and keep it running.

Examples::

    hzx cluster --backend lxplus --dry-run
    hzx cluster --backend lxplus --config hzx.toml --set cores=4 --set memory=8GB --dry-run
    hzx cluster --backend slurm --set queue=short --set walltime=02:00:00 --dry-run
    hzx cluster --backend lxplus          # start it; then, in another shell on the same node:
    hzx run … --executor dask --scheduler tcp://lxplusNNN.cern.ch:8786

``--dry-run`` prints the effective settings and the job script dask-jobqueue would submit (one
per job) and submits nothing. Without it the scheduler starts in this process (on lxplus at the
login node's public interface, port 8786, so that batch workers can reach it; the dashboard on
127.0.0.1 only), jobs follow the work between ``minimum_jobs`` and ``maximum_jobs``, and the
command waits until Ctrl-C, which stops the cluster and removes its jobs. Leave it in a
``tmux`` / ``screen`` session on a fixed lxplus node (ssh to lxplusNNN, not lxplus).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cluster", help="batch Dask cluster (lxplus HTCondor, Slurm): job script or start",
        description="Show the batch job script of a Dask cluster on lxplus (HTCondor) or Slurm "
                    "(--dry-run), or start the cluster and wait until Ctrl-C. Settings come from "
                    "the [cluster.lxplus] / [cluster.slurm] tables of hzx.toml and --set.")
    p.add_argument("--backend", choices=("lxplus", "slurm"), required=True,
                   help="lxplus: CERN's HTCondor pool via dask-lxplus; slurm: dask-jobqueue")
    p.add_argument("--config", metavar="TOML", default=None,
                   help="configuration file [default: ./hzx.toml if present]")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting (repeatable), e.g. --set cores=4 "
                        "--set job_flavour=workday --set 'setup_commands=[\"source env.sh\"]'")
    p.add_argument("--dry-run", action="store_true",
                   help="print the settings and the job script; submit nothing")
    p.add_argument("--tls", action="store_true",
                   help="use the certificates of [cluster.tls] (tls:// scheduler and workers)")
    p.add_argument("--wait-for-workers", type=int, default=0, metavar="N",
                   help="after starting, wait for N workers before printing 'ready'")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hzx.options import split_assignments
    from hzx.runner import clusters

    overrides = split_assignments(args.overrides)
    settings = clusters.load_settings(args.backend, args.config, overrides)
    tls = clusters.load_settings("tls", args.config) if args.tls else None
    source = args.config or clusters.default_config_path() or "defaults"
    if args.dry_run:
        script = clusters.job_script(args.backend, settings, tls=tls)
        renderer = ("dask_lxplus.CernCluster (dask-jobqueue HTCondorCluster)"
                    if args.backend == "lxplus" else "dask_jobqueue.SLURMCluster")
        print(f"# effective [cluster.{args.backend}] settings ({source}"
              f"{' + --set' if overrides else ''})")
        print(clusters.describe(settings))
        print(f"# scheduler a started cluster would use: "
              f"{clusters.contact_address(args.backend, settings, tls)}")
        if args.backend == "lxplus":
            print(f"# x509 proxy forwarded: {clusters.x509_proxy_path(settings) or 'none'}; "
                  f"EOS token forwarded: {clusters.eos_token_path(settings) or 'none'}")
        print(f"# job script rendered by {renderer}; one per job; nothing was submitted")
        print(script)
        return 0

    import time

    print(f"starting a {args.backend} cluster (adaptive: {settings.minimum_jobs}–"
          f"{settings.maximum_jobs} jobs) …", flush=True)
    with clusters.batch_client(args.backend, settings, tls=tls,
                               wait_for_workers=args.wait_for_workers) as client:
        print(f"scheduler: {client.scheduler.address}")
        print(f"dashboard: {client.dashboard_link or '(off)'}")
        print(f"use it:    hzx run … --executor dask --scheduler {client.scheduler.address}")
        print("ready; Ctrl-C stops the cluster and removes its jobs", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping the cluster …", flush=True)
    return 0
