"""``hzx samples``: list the catalogue, write coffea filesets."""

from __future__ import annotations

import argparse

from hzx.scripts.flags import as_flags, flag_names

#: Parameter names the library gives in its errors → the flags of ``hzx samples fileset``.
FILESET_FLAGS = flag_names("lumi_fb", "merge_data")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("samples", help="sample catalogue and filesets",
                                   description="The ATLAS Open Data 2020 4lep catalogue.")
    sub = parser.add_subparsers(dest="samples_verb", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="print the catalogue")
    listing.set_defaults(func=_list)

    fileset = sub.add_parser("fileset", help="write a coffea fileset JSON for a location, or "
                                             "for `hzx generate` output (--manifest DIR)")
    where = fileset.add_mutually_exclusive_group(required=True)
    where.add_argument("--location",
                       help="local folder, https:// or root:// prefix, public-https or "
                            "public-xrootd")
    where.add_argument("--manifest", metavar="DIR",
                       help="a generation directory (its <dataset>.manifest.json files) or one "
                            "manifest: datasets with files, normalisation, roles and the study's "
                            "sample identity")
    fileset.add_argument("--out", required=True, help="fileset JSON to write")
    fileset.add_argument("--samples", nargs="+", metavar="NAME",
                         help="catalogue names [default: all, or all present in a folder]")
    fileset.add_argument("--lumi-fb", type=float, default=None,
                         help="luminosity for simulated samples in fb⁻¹ [default: 10]")
    fileset.add_argument("--merge-data", action="store_true",
                         help="one dataset 'data' for all data periods (as the notebook)")
    fileset.set_defaults(func=as_flags(FILESET_FLAGS)(_fileset))


def _list(args: argparse.Namespace) -> int:
    from hzx.samples import LUMI_FB, SAMPLES
    from hzx.samples.normalisation import xsec_weight
    from hzx.scripts.common import format_table

    rows = []
    for s in SAMPLES.values():
        w = "" if s.is_data else f"{xsec_weight(s.xsec_pb, s.sumw, LUMI_FB, s.red_eff):.4g}"
        rows.append([s.name, s.role, str(s.dsid or ""), f"{s.xsec_pb:g}" if s.xsec_pb else "",
                     f"{s.sumw:g}" if s.sumw else "", w, s.filename])
    print(format_table(rows, ["sample", "role", "dsid", "xsec [pb]", "sumw",
                              f"weight @ {LUMI_FB:g}/fb", "file"]))
    return 0


def _fileset(args: argparse.Namespace) -> int:
    from hzx.errors import ConfigurationError
    from hzx.samples import LUMI_FB, build_fileset, fileset_from_generation, write_fileset
    from hzx.scripts.common import check_output_path

    check_output_path(args.out)  # before any work: --out must be writable as a file
    lumi_fb = LUMI_FB if args.lumi_fb is None else args.lumi_fb  # 0 is an error, not "default"
    if args.manifest:
        if args.samples or args.merge_data:
            raise ConfigurationError("--samples and --merge-data go with --location, not "
                                     "--manifest")
        fileset = fileset_from_generation(args.manifest, lumi_fb=lumi_fb)
        path = write_fileset(fileset, args.out)
        print(f"wrote {path}: {len(fileset)} datasets")
        for name, entry in fileset.items():
            meta = entry["metadata"]
            extra = f", {meta['class_key']}" if meta.get("class_key") else ""
            print(f"  {name}: {len(entry['files'])} file(s), role {meta['role']} "
                  f"({meta['role_source']}{extra})")
        return 0
    fileset = build_fileset(args.location, args.samples, lumi_fb=lumi_fb,
                            merge_data=args.merge_data)
    path = write_fileset(fileset, args.out)
    nfiles = sum(len(v["files"]) for v in fileset.values())
    print(f"wrote {path}: {len(fileset)} datasets, {nfiles} files ({', '.join(fileset)})")
    return 0
