"""``hzx inspect OUT.coffea``: provenance, datasets, histograms and metadata of an output."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect", help="summarise a .coffea output",
        description="Print provenance, datasets, histograms and metadata of an output file. "
                    "A .coffea file is a pickle: inspect only files you trust.")
    parser.add_argument("output", help=".coffea file")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=_inspect)


def summary(output) -> dict:
    """A JSON-ready description of an :class:`~hzx.io.AnalysisOutput`."""
    import hist

    datasets = {}
    for name in output.datasets:
        acc = output[name]
        entry: dict = {"histograms": {}, "other": []}
        for key, value in acc.items():
            if isinstance(value, hist.Hist):
                axes = [f"{ax.name}[{len(ax)}]" for ax in value.axes]
                entry["histograms"][key] = {"axes": axes, "sum": float(value.sum().value
                                            if hasattr(value.sum(), "value") else value.sum())}
            elif key == "metadata":
                entry["metadata"] = {k: v for k, v in value.items() if k != "entries_by_file"}
                entry["metadata"]["files"] = len(value.get("entries_by_file", {}))
            elif key == "cutflow":
                entry["cutflow"] = value
            else:
                entry["other"].append(key)
        datasets[name] = entry
    return {"path": output.path, "provenance": output.provenance, "datasets": datasets}


def _inspect(args: argparse.Namespace) -> int:
    from hzx.io import load_output

    info = summary(load_output(args.output))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    prov = info["provenance"]
    print(f"{info['path']}: {prov.get('processor', prov.get('step', '?'))}, "
          f"hzx {prov.get('hzx_version', '?')} (git {str(prov.get('git_revision'))[:12]}), "
          f"created {prov.get('created_utc', '?')}")
    if prov.get("executor"):
        ex = prov["executor"]
        print(f"  executor {ex.get('executor')} × {ex.get('workers')} workers; "
              f"fileset digest {str(prov.get('fileset_digest'))[:16]}")
    for name, entry in info["datasets"].items():
        meta = entry.get("metadata", {})
        if meta.get("pseudo_data"):
            print(f"\n[{name}] role={meta.get('role')} pseudo-data: "
                  f"{meta.get('note', 'drawn from the simulation')} (seed {meta.get('seed')}, "
                  f"{meta.get('lumi_fb')} fb^-1)")
        else:
            print(f"\n[{name}] role={meta.get('role')} events={meta.get('events_read')} "
                  f"chunks={meta.get('chunks')} files={meta.get('files')}")
        for hname, h in entry["histograms"].items():
            print(f"  hist {hname:14s} {' × '.join(h['axes']):30s} sum={h['sum']:.6g}")
        if entry.get("cutflow"):
            flow = ", ".join(f"{k}={v['raw']}" for k, v in entry["cutflow"].items())
            print(f"  cutflow: {flow}")
        for item in meta.get("skipped_files", []):
            print(f"  skipped {item['file']}: {item['reason']}")
    return 0
