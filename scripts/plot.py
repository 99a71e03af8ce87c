"""``hzx plot KIND OUT.coffea``: the figures of a processor output (PNG and PDF)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib

#: plot kind → module of hzx.plotting with ``plot_output(output, outdir, **kwargs)``
KINDS = {
    "fourlep": "hzx.plotting.fourlep",
    "hza2018": "hzx.plotting.hza2018",
    "truth": "hzx.plotting.truth",
    "compare": "hzx.plotting.compare",
}


@dataclasses.dataclass(frozen=True)
class FourLeptonPlotOptions:
    """``hzx plot fourlep --set``: luminosity label (fb⁻¹) and y-axis maximum (events)."""

    lumi_fb: float | None = None
    ymax: float | None = None


@dataclasses.dataclass(frozen=True)
class HZa2018PlotOptions:
    """``hzx plot hza2018 --set`` (see :func:`hzx.plotting.hza2018.plot_output`)."""

    log: bool = False
    norm: str = "auto"
    lumi_fb: float | None = None
    xrange: str = "auto"
    signal_scale: float = 1.0


@dataclasses.dataclass(frozen=True)
class TruthPlotOptions:
    """``hzx plot truth --set`` (see :func:`hzx.plotting.truth.plot_output`)."""

    density: bool | None = None
    histograms: str | None = None
    norm: str = "auto"
    lumi_fb: float | None = None
    xrange: str = "auto"


@dataclasses.dataclass(frozen=True)
class ComparePlotOptions:
    """``hzx plot compare --set`` (see :func:`hzx.plotting.compare.plot_output`)."""

    histogram: str = "leading_muon_pt"
    dataset: str | None = None
    reference_key: str | None = None
    normalise: bool = True
    label: str | None = None


#: plot kind → the dataclass typing its ``--set`` options
PLOT_OPTIONS = {"fourlep": FourLeptonPlotOptions, "hza2018": HZa2018PlotOptions,
                "truth": TruthPlotOptions, "compare": ComparePlotOptions}


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
    from hzx.errors import ConfigurationError
    from hzx.io import load_output
    from hzx.options import parse_assignments

    try:
        module = importlib.import_module(KINDS[args.kind])
    except ModuleNotFoundError as err:
        raise ConfigurationError(f"plot kind {args.kind!r} is not available ({err})") from err
    # typed and checked before any output is read: a wrong key or value is one line, exit 2
    kwargs = parse_assignments(PLOT_OPTIONS[args.kind], args.options,
                               source=f"--set of hzx plot {args.kind}")
    if args.kind == "compare" and not args.reference:
        raise ConfigurationError("hzx plot compare needs --reference FILE (ROOT TH1 or HEPData "
                                 "table)")
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
    if not paths:
        made_by = sorted({str((getattr(o, "provenance", None) or {}).get("processor", "?"))
                          for o in outputs})
        raise ConfigurationError(
            f"{', '.join(args.outputs)}: nothing to draw as {args.kind!r} figures (output of "
            f"{', '.join(made_by)}); pick the plot kind of that processor")
    for path in paths:
        print(f"wrote {path}")
    return 0
