"""``hzx plot KIND OUT.coffea``: the figures of a processor output (PNG and PDF)."""

from __future__ import annotations

import argparse
import importlib

#: plot kind → module of hzx.plotting with ``plot_output(output, outdir, **kwargs)``
KINDS = {
    "fourlep": "hzx.plotting.fourlep",
    "hza2018": "hzx.plotting.hza2018",
    "truth": "hzx.plotting.truth",
    "compare": "hzx.plotting.compare",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plot", help="draw the figures of an output",
                                   description="Draw the figures of a processor output.")
    parser.add_argument("kind", choices=list(KINDS), help="which figures")
    parser.add_argument("outputs", nargs="+", help=".coffea output(s) (truth overlays several)")
    parser.add_argument("--out", default="plots", help="folder for PNG/PDF [default: plots]")
    parser.add_argument("--reference", help="reference histogram file (compare: ROOT TH1 or "
                                            "HEPData table)")
    parser.add_argument("--norm", choices=("auto", "xsec", "unit", "entries"),
                        help="hza2018/truth: xsec = events at σ·L (needs xsec_pb in the fileset "
                             "metadata), unit = each sample normalised to unit sum, entries = as "
                             "filled [default: auto = xsec when every dataset has a "
                             "cross-section, else unit; truth: as the study's scripts]")
    parser.add_argument("--lumi-fb", type=float, metavar="L",
                        help="luminosity in fb⁻¹ of σ·L figures [default: hza2018/truth 139, "
                             "fourlep 10]")
    parser.add_argument("--set", dest="options", action="append", metavar="KEY=VALUE",
                        help="plot option, e.g. ymax=60, log=true, xrange=full or "
                             "histogram=hist_muon_pt")
    parser.set_defaults(func=_plot)


def _plot(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # files only: the CLI never opens a window
    from hzx.errors import ConfigurationError
    from hzx.io import load_output

    try:
        module = importlib.import_module(KINDS[args.kind])
    except ModuleNotFoundError as err:
        raise ConfigurationError(f"plot kind {args.kind!r} is not available ({err})") from err
    kwargs = {}
    for text in args.options or []:
        key, sep, value = text.partition("=")
        if not sep:
            raise ConfigurationError(f"bad plot option {text!r}: use KEY=VALUE")
        kwargs[key.strip()] = value
    if args.reference:
        kwargs["reference"] = args.reference
    if args.norm:
        kwargs["norm"] = args.norm
    if args.lumi_fb is not None:
        if args.lumi_fb <= 0:
            raise ConfigurationError(f"--lumi-fb must be positive, got {args.lumi_fb:g}")
        kwargs["lumi_fb"] = args.lumi_fb
    outputs = [load_output(p) for p in args.outputs]
    target = outputs[0] if len(outputs) == 1 else outputs
    paths = module.plot_output(target, args.out, **kwargs)
    for path in paths:
        print(f"wrote {path}")
    return 0
