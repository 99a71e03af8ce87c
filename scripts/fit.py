"""``hzx fit``: fits of signal and background scale factors, goodness of fit and coverage.

Reads a processor output (``.coffea``), sums the signal, background and data datasets' histogram
(``m4l`` by default), runs the notebook's exercises 1–6 and writes REPORT.json and the pictures.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from hzx.scripts.flags import as_flags, flag_names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit`` verb."""
    parser = subparsers.add_parser(
        "fit",
        help="fit s_s and s_b, goodness of fit and coverage on a processor output",
        description=(
            "Fit the signal (s_s) and background (s_b) scale factors of the template model "
            "pred = s_s·H_sig + s_b·H_bkg to the data: 1-D scans, 2-D fit and contours, pre-/post-fit "
            "goodness of fit from toys and the χ² pdf, and the coverage of Δχ² regions."
        ),
    )
    parser.add_argument("output", metavar="OUT.coffea", help="processor output from `hzx run`")
    parser.add_argument("--signal", nargs="+", metavar="NAME",
                        help="signal datasets (default: those with metadata role 'signal')")
    parser.add_argument("--background", nargs="+", metavar="NAME",
                        help="background datasets (default: role 'background')")
    parser.add_argument("--data", nargs="+", metavar="NAME", help="data datasets (default: role 'data')")
    parser.add_argument("--histogram", default="m4l", help="histogram to fit (default: %(default)s)")
    parser.add_argument("--report", required=True, metavar="REPORT.json", help="JSON report to write")
    parser.add_argument("--plots", metavar="DIR", help="directory for PNG and PDF pictures")
    parser.add_argument("--plot-formats", nargs="+", default=["png", "pdf"], metavar="EXT",
                        help="picture formats (default: png pdf)")
    parser.add_argument("--statistic", choices=("pearson", "neyman", "poisson"), default="pearson",
                        help="test statistic (default: %(default)s, as the notebook's toys)")
    parser.add_argument("--neyman-empty", choices=("floor", "skip"), default="floor",
                        help="Neyman rule for bins with no events: variance 1, or drop the bin")
    parser.add_argument("--drop-empty-bins", action="store_true",
                        help="drop bins where all simulation is empty (an error otherwise)")
    parser.add_argument("--mc-stat", action="store_true",
                        help="include the templates' MC statistical uncertainty (Barlow–Beeston-lite)")
    parser.add_argument("--toys", type=int, default=10_000,
                        help="toys for goodness of fit and coverage (default: %(default)s)")
    parser.add_argument("--toy-kind", choices=("poisson", "gaussian"), default="poisson",
                        help="toy distribution (gaussian: the notebook's, σ = √pred)")
    parser.add_argument("--seed", type=int, default=20120704, help="master seed of all toys")
    parser.add_argument("--pyhf", metavar="WORKSPACE.json", help="also export a pyhf workspace")
    parser.add_argument("--likelihood", action="store_true",
                        help="profile-likelihood fit of mu with systematics (pyhf) instead of "
                             "the notebook's chi2 study: writes REPORT.json, workspace.json, "
                             "histograms.root and the pre-/post-fit figures")
    parser.add_argument("--asimov", action="store_true",
                        help="with --likelihood: fit the Asimov data (mu = 1) instead of the data")
    # the library names drop_empty_bins; the user typed (or should type) the flag
    parser.set_defaults(func=as_flags(flag_names("drop_empty_bins"))(run))


def run(args: argparse.Namespace) -> int:
    """Run the study; returns the exit code."""
    from hzx import load_output
    from hzx.errors import ConfigurationError
    from hzx.fitting import (
        CoverageConfig,
        GofConfig,
        StudyConfig,
        make_plots,
        model_from_output,
        run_study,
        study_report,
        summary_lines,
        write_pyhf_workspace,
        write_report,
    )
    from hzx.provenance import digest, provenance

    if args.toys < 1:
        raise ConfigurationError(f"--toys must be ≥ 1, got {args.toys}")
    output = load_output(args.output)
    if args.likelihood:
        return _likelihood(args, output)
    model, data, chosen = model_from_output(
        output, signal=args.signal, background=args.background, data=args.data,
        histogram=args.histogram, mc_stat=args.mc_stat, drop_empty=args.drop_empty_bins,
    )
    config = StudyConfig(
        statistic=args.statistic,
        neyman_empty=args.neyman_empty,
        mc_stat=args.mc_stat,
        gof=dataclasses.replace(GofConfig(), n_toys=args.toys, kind=args.toy_kind),
        coverage=dataclasses.replace(CoverageConfig(), n_toys=args.toys, kind=args.toy_kind),
        seed=args.seed,
    )
    result = run_study(model, data, config)
    record = provenance(
        "fit",
        input=str(Path(args.output).resolve()),
        input_provenance_digest=digest(output.provenance),
        input_step=output.provenance.get("step"),
        histogram=args.histogram,
        drop_empty_bins=args.drop_empty_bins,
        datasets=chosen,
        options=config,
        seed=args.seed,
    )
    report = study_report(result, provenance=record)
    write_report(report, args.report)
    for line in summary_lines(report):
        print(line)
    print(f"report: {args.report}")
    if model.dropped is not None:
        for index, events in zip(model.dropped.indices, model.dropped.data, strict=True):
            print(f"bin {index} has no simulation: left out ({events:g} data events)")
    if args.plots:
        from hzx.plotting.fourlep import describe_output

        paths = make_plots(result, args.plots, tuple(args.plot_formats),
                           labels=describe_output(output))
        print(f"plots: {len(paths)} files in {args.plots}")
    if args.pyhf:
        write_pyhf_workspace(model, data, args.pyhf, channel=args.histogram)
        print(f"pyhf workspace: {args.pyhf}")
    sys.stdout.flush()
    return 0


def _likelihood(args: argparse.Namespace, output) -> int:
    import json

    from hzx.fitting import likelihood as lk
    from hzx.plotting.fourlep import describe_output
    from hzx.provenance import provenance

    inputs = lk.inputs_from_output(output, signal=args.signal, background=args.background,
                                   data=args.data, drop_empty_bins=args.drop_empty_bins)
    workspace = lk.build_workspace(inputs)
    result = lk.fit_likelihood(workspace, asimov=args.asimov, bin_labels=inputs.bin_labels())
    report = {**result.as_dict(), "dropped_empty_bins": inputs.dropped,
              "datasets": inputs.datasets,
              "provenance": provenance("fit-likelihood", input=str(Path(args.output).resolve()),
                                       asimov=args.asimov)}
    folder = Path(args.report).parent
    folder.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2, default=str) + "\n")
    (folder / "workspace.json").write_text(json.dumps(workspace, indent=2) + "\n")
    lk.write_histograms_root(inputs, folder / "histograms.root")
    for line in lk.summary_lines(result, inputs.dropped):
        print(line)
    print(f"report: {args.report}")
    if args.plots:
        info = describe_output(output)
        paths = lk.plot_likelihood(result, inputs, args.plots, data_label="Asimov data"
                                   if args.asimov else info["data_label"],
                                   status=info["status"], lumi_fb=info["lumi_fb"],
                                   formats=tuple(args.plot_formats))
        print(f"plots: {len(paths)} files in {args.plots}")
    sys.stdout.flush()
    return 0
