"""``hzx demo``: the whole study end to end, offline, with a report (cached between runs).

The demo is a command-line program (it chooses executors, writes folders and a web page); the
library it drives is hzx.processors, hzx.fitting, hzx.generation, hzx.nn and hzx.plotting.

Each step writes into its own folder ``<workdir>/<step>/`` with a ``step.json`` that records the
step's configuration digest; a re-run whose configuration (and inputs) did not change reuses the
folder instead of redoing the work. ``fresh=True`` ignores the cache.

Steps of the 4-lepton study (:func:`run_fourlep_study`):

1. ``gen-ggh4l``, ``gen-zz4l``: Pythia 8 gg → H → ZZ* → 4ℓ and q q̄ → ZZ → 4ℓ written as ATLAS
   Open Data ``mini`` trees (``hzx generate``);
2. ``fourlep``: the 4-lepton processor on a Dask LocalCluster over both samples, plus the data —
   real ATLAS Open Data when ``data`` names a location, else pseudo-data drawn (Poisson, seeded)
   from the expectation at 10 fb⁻¹;
3. ``fourlep-plots``: the stacked m4ℓ figures;
4. ``fit``: s_s, s_b scans, 2-D fit, goodness of fit and coverage (``hzx fit``);
5. ``likelihood``: the profile-likelihood fit of μ with systematics (``hzx fit --likelihood``).

With real data (``data``) the generation steps are skipped: the release's simulation at the MC
location is used (or, with ``hzx_mc``, hzx's own, labelled so); :func:`check_inputs` says what is
missing before any work.

Steps of the H → Z a study (:func:`run_hza_study`): ``gen-hza-<m_a>`` and ``gen-zjets`` (Pythia 8
and the CMS-like fast simulation, Delphes layout), ``hza2018``, ``truth`` and ``tracks``
processors on the Dask cluster, their plots, ``h5`` (jet_data.h5), and ``nn`` (mass regression,
regressed mass added to the HDF5, classifier trained on it).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import operator
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hzx.provenance import digest, provenance
from hzx.runner import ExecutorOptions


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Sizes and seeds of the demo; ``events_scale`` multiplies every event count.

    Attributes
    ----------
    workdir : str
        Where every step writes (and caches) its outputs.
    events_scale : float
        Scale of all event counts (1 = the sizes that finish in minutes on 2 cores).
    seed : int
        Master seed: generation, pseudo-data and toys derive their seeds from it.
    workers : int
        Dask LocalCluster workers.
    data : str or None
        Location of the real ATLAS Open Data 4lep files (folder, https:// or root:// prefix,
        public-https, public-xrootd); None draws pseudo-data from the hzx simulation.
    mc : str or None
        Location of the release's simulated samples to pair with ``data``; None takes them from
        the data location (a folder holding both, or the public prefixes).
    hzx_mc : bool
        Pair real data with hzx-generated simulation (explicit; every figure and line says
        "hzx simulation").
    ggh4l_events, zz4l_events : int
        Generated events of the two 4-lepton samples.
    toys : int
        Toys of the goodness-of-fit and coverage studies.
    hza_masses_gev : tuple of float
        m_a points of the H → Z a samples, GeV.
    hza_events, zjets_events : int
        Generated events per m_a point and of the Z+jets background.
    nn_epochs : int
        Epochs of the mass regression and the classifier (early stopping may end them sooner).
    """

    workdir: str = "hzx-demo"
    events_scale: float = 1.0
    seed: int = 2026
    workers: int = 2
    data: str | None = None
    mc: str | None = None
    hzx_mc: bool = False
    ggh4l_events: int = 1500
    zz4l_events: int = 2000
    toys: int = 20000
    lumi_fb: float = 10.0
    hza_masses_gev: tuple[float, ...] = (1.0, 4.0)
    hza_events: int = 400
    zjets_events: int = 600
    nn_epochs: int = 150

    def events(self, n: int) -> int:
        return max(1, round(n * self.events_scale))


class Pipeline:
    """Runs steps with caching and keeps a log of what each did (for the report)."""

    def __init__(self, config: DemoConfig, *, fresh: bool = False, echo: Callable = print):
        self.config = config
        self.fresh = fresh
        self.echo = echo
        self.root = Path(config.workdir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.steps: dict[str, dict[str, Any]] = {}

    def step(self, name: str, settings: dict[str, Any], work: Callable[[Path], dict[str, Any]]
             ) -> dict[str, Any]:
        """Run ``work(folder)`` unless a previous run with the same settings is cached."""
        folder = self.root / name
        from hzx import __version__

        key = digest({"settings": settings, "hzx": __version__})
        record_path = folder / "step.json"
        if not self.fresh and record_path.is_file():
            record = json.loads(record_path.read_text())
            if record.get("digest") == key:
                record["cached"] = True
                self.steps[name] = record
                self.echo(f"[{name}] cached ({folder})")
                return record
        if folder.exists():  # outputs of another configuration: start clean
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        self.echo(f"[{name}] running …")
        started = time.perf_counter()
        result = work(folder)
        record = {"step": name, "digest": key, "settings": settings, "result": result,
                  "seconds": round(time.perf_counter() - started, 2),
                  "provenance": provenance(name, settings=settings), "cached": False}
        record_path.write_text(json.dumps(record, indent=2, default=str) + "\n")
        self.steps[name] = record
        self.echo(f"[{name}] done in {record['seconds']:.1f} s")
        return record


# ---------------------------------------------------------------------------------------------
# 4-lepton study
# ---------------------------------------------------------------------------------------------


def _generate(process: str, events: int, seed: int, workers: int) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.generation.jobs import generate

        manifest = generate(process, events=events, seed=seed, out=folder,
                            executor=ExecutorOptions(executor="dask", workers=workers,
                                                     progress=False))
        return {"manifest": manifest.path, "events": manifest.events,
                "xsec_pb": manifest.xsec_pb, "sumw": manifest.sumw}
    return work


def pseudo_data(expected: Any, seed: int) -> Any:
    """Poisson pseudo-data of a histogram of expected counts (same axes, integer counts)."""
    import hist

    rng = np.random.default_rng(seed)
    values = expected.values(flow=True)
    counts = rng.poisson(np.clip(values, 0.0, None)).astype(float)
    out = hist.Hist(*expected.axes, storage=hist.storage.Weight())
    view = out.view(flow=True)
    view["value"] = counts
    view["variance"] = counts
    return out


def _fourlep(config: DemoConfig, gen_dirs: list[str]) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.generation.jobs import fileset_from_manifest
        from hzx.io import save_output
        from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
        from hzx.runner import RunOptions, run_processor
        from hzx.samples import build_fileset, samples_with_role
        from hzx.samples.catalogue import lumi_of

        fileset: dict[str, Any] = {}
        lumi = config.lumi_fb
        if config.data:
            data_names = [s.name for s in samples_with_role("data")
                          if _present(config.data, s.filename)]
            lumi = lumi_of(data_names)
            fileset.update(build_fileset(config.data, data_names))
        for directory in gen_dirs:
            fileset.update(fileset_from_manifest(directory, lumi_fb=lumi))
        if config.data and not gen_dirs:
            fileset.update(build_fileset(mc_location(config), real_mc_samples(config),
                                         lumi_fb=lumi))
        output = run_processor(
            FourLeptonProcessor(), fileset, treename="mini", schema=AtlasOpenDataSchema,
            executor=ExecutorOptions(executor="dask", workers=config.workers, progress=False),
            run=RunOptions(chunksize=50_000),
        )
        if not config.data:
            expected = functools.reduce(operator.add, (output[d]["m4l_channel"] for d in fileset))
            channel = pseudo_data(expected, config.seed)
            output["pseudo_data"] = {
                "m4l_channel": channel,
                "m4l": channel.project("m4l"),
                "metadata": {"role": "data", "pseudo_data": True, "seed": config.seed,
                             "lumi_fb": config.lumi_fb,
                             "note": "Poisson draw from the simulated expectation"},
            }
        for name, entry in fileset.items():  # what the figures must say
            meta = entry.get("metadata", {})
            if name in output and not name.startswith("_"):
                output[name]["metadata"].setdefault("lumi_fb", lumi)
                if meta.get("generator"):
                    output[name]["metadata"]["generator"] = meta["generator"]
        path = save_output(output, folder / "fourlep.coffea")
        sums = {d: float(output[d]["m4l"].values().sum()) for d in output if not d.startswith("_")}
        return {"output": str(path), "events_in_window": sums, "lumi_fb": lumi,
                "simulation": "hzx simulation" if gen_dirs else "ATLAS Open Data simulation"}
    return work


def mc_location(config: DemoConfig) -> str:
    """Where the real simulation lies: ``--mc``, else the data location."""
    return config.mc or str(config.data)


def real_mc_samples(config: DemoConfig) -> list[str]:
    """The catalogue's simulated samples present at the MC location; none is an error said
    before any work (real data are compared with real simulation only)."""
    from hzx.errors import ConfigurationError
    from hzx.samples import samples_with_role

    where = mc_location(config)
    names = [s.name for role in ("signal", "background") for s in samples_with_role(role)
             if _present(where, s.filename)]
    if not names:
        raise ConfigurationError(
            f"{where} has real data but no simulated samples (mc_*.4lep.root): give the "
            "release's simulation with --mc LOCATION (a folder, public-https or public-xrootd), "
            "or compare with hzx-generated events explicitly with --hzx-mc")
    return names


def _present(location: str, filename: str) -> bool:
    if "://" in location or location.startswith("public-"):
        return True
    root = Path(location)
    return any(p.is_file() for p in (root / filename, root / "Data" / filename,
                                      root / "MC" / filename))


def _plots(output_path: str) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.io import load_output
        from hzx.plotting.fourlep import describe_output, plot_output

        output = load_output(output_path)
        paths = plot_output(output, folder)
        # what the figures say they show (the report prints it beside them)
        return {"figures": [str(p) for p in paths if p.suffix == ".png"],
                "labels": describe_output(output)}
    return work


def _fit(output_path: str, toys: int, seed: int) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.fitting import (
            ScanConfig,
            StudyConfig,
            make_plots,
            model_from_output,
            run_study,
            study_report,
            summary_lines,
            write_report,
        )
        from hzx.fitting.coverage import CoverageConfig
        from hzx.fitting.toys import GofConfig
        from hzx.io import load_output
        from hzx.plotting.fourlep import describe_output

        output = load_output(output_path)
        # generated samples of a few thousand events leave some m4ℓ bins without simulation:
        # those bins are dropped explicitly (listed in the report, marked in the figures)
        model, data, chosen = model_from_output(output, drop_empty=True)
        empty = model.dropped.indices if model.dropped is not None else np.array([], int)
        pseudo = any(output[d]["metadata"].get("pseudo_data") for d in chosen["data"])
        # the notebook's ranges are centred on the real data's best fit; pseudo-data are drawn
        # at s_s = s_b = 1, so the demo scans around 1
        scans = ScanConfig(s_s_range=(0.1, 3.0), s_b_range=(0.6, 1.4), grid_s_s=(0.1, 3.0),
                           grid_s_b=(0.6, 1.4)) if pseudo else ScanConfig()
        scans = dataclasses.replace(scans, **_contour_grid(model, data, scans))
        config = StudyConfig(seed=seed, scans=scans,
                             gof=dataclasses.replace(GofConfig(), n_toys=toys),
                             coverage=dataclasses.replace(CoverageConfig(), n_toys=toys))
        result = run_study(model, data, config)
        report = study_report(result, provenance=provenance("fit", input=output_path,
                                                            datasets=chosen, seed=seed))
        report["dropped_empty_bins"] = empty.tolist()
        write_report(report, folder / "fit_report.json")
        labels = describe_output(output)
        paths = make_plots(result, folder, formats=("png",), labels=labels)
        summary = summary_lines(report)
        if pseudo:
            summary.insert(0, "pseudo-data generated with s_s = s_b = 1 (the truth of this fit)")
        if len(empty):
            summary.append(f"m4l bins without simulated events, left out: {empty.tolist()}")
        return {"report": str(folder / "fit_report.json"), "summary": summary,
                "labels": labels, "figures": [str(p) for p in paths]}
    return work


def _contour_grid(model: Any, data: Any, scans: Any, width: float = 3.5) -> dict[str, Any]:
    """2-D grid ranges wide enough for the Δχ² = 5.99 contour (±2.45σ) to close inside: the
    configured range widened to best fit ± ``width`` σ (Hessian errors of the 2-D fit)."""
    from hzx.fitting.fits import fit

    best = fit(model, data)
    out: dict[str, Any] = {}
    for key, name in (("grid_s_s", "s_s"), ("grid_s_b", "s_b")):
        i = best.parameters.index(name)
        centre, sigma = float(best.values[i]), float(best.errors[i])
        if not (np.isfinite(centre) and np.isfinite(sigma)) or sigma <= 0:
            continue
        lo, hi = getattr(scans, key)
        out[key] = (max(min(lo, centre - width * sigma), 1e-3), max(hi, centre + width * sigma))
    return out


def run_fourlep_study(pipe: Pipeline) -> None:
    """Steps 1–4 of the 4-lepton study (see the module docstring)."""
    c = pipe.config
    seeds = np.random.SeedSequence(c.seed).generate_state(4)
    gen_dirs: list[str] = []
    if c.data and not c.hzx_mc:
        mc = {"mc": mc_location(c), "samples": real_mc_samples(c)}
        rec = pipe.step("fourlep", {"data": c.data, "mc": mc, "workers": c.workers},
                        _fourlep(c, gen_dirs))
        _fourlep_downstream(pipe, rec)
        return
    for i, (process, n) in enumerate((("ggh4l", c.ggh4l_events), ("zz4l", c.zz4l_events))):
        settings = {"process": process, "events": c.events(n), "seed": int(seeds[i])}
        rec = pipe.step(f"gen-{process}", settings,
                        _generate(process, c.events(n), int(seeds[i]), c.workers))
        gen_dirs.append(str(Path(rec["result"]["manifest"]).parent))
    upstream = {name: pipe.steps[name]["digest"] for name in ("gen-ggh4l", "gen-zz4l")}
    rec = pipe.step("fourlep", {"upstream": upstream, "data": c.data, "seed": c.seed,
                                "lumi_fb": c.lumi_fb, "workers": c.workers},
                    _fourlep(c, gen_dirs))
    _fourlep_downstream(pipe, rec)


def _fourlep_downstream(pipe: Pipeline, rec: dict[str, Any]) -> None:
    c = pipe.config
    output = rec["result"]["output"]
    pipe.step("fourlep-plots", {"upstream": rec["digest"]}, _plots(output))
    pipe.step("fit", {"upstream": rec["digest"], "toys": c.events(c.toys), "seed": c.seed},
              _fit(output, c.events(c.toys), c.seed))
    pipe.step("likelihood", {"upstream": rec["digest"]}, _likelihood(output))


def _likelihood(output_path: str) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.fitting import likelihood as lk
        from hzx.io import load_output
        from hzx.plotting.fourlep import describe_output

        output = load_output(output_path)
        info = describe_output(output)
        inputs = lk.inputs_from_output(output, drop_empty_bins=True)
        workspace = lk.build_workspace(inputs)
        result = lk.fit_likelihood(workspace, bin_labels=inputs.bin_labels())
        report = {**result.as_dict(), "dropped_empty_bins": inputs.dropped,
                  "datasets": inputs.datasets}
        (folder / "likelihood_report.json").write_text(json.dumps(report, indent=2,
                                                                  default=str) + "\n")
        (folder / "workspace.json").write_text(json.dumps(workspace, indent=2) + "\n")
        lk.write_histograms_root(inputs, folder / "histograms.root")
        paths = lk.plot_likelihood(result, inputs, folder, data_label=info["data_label"],
                                   status=info["status"], lumi_fb=info["lumi_fb"],
                                   formats=("png",))
        summary = lk.summary_lines(result, inputs.dropped)
        if info["pseudo_data"]:
            summary.insert(0, "pseudo-data drawn from the hzx simulation at mu = 1 "
                              "(the truth: mu = 1)")
        return {"report": str(folder / "likelihood_report.json"), "summary": summary,
                "labels": info, "figures": [str(p) for p in paths if p.suffix == ".png"]}
    return work


# ---------------------------------------------------------------------------------------------
# H → Z a study
# ---------------------------------------------------------------------------------------------


def _delphes_run(name: str, gen_dirs: list[str], workers: int, **options: Any
                 ) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.generation.jobs import fileset_from_manifest
        from hzx.io import save_output
        from hzx.processors.registry import build
        from hzx.runner import RunOptions, run_processor

        fileset: dict[str, Any] = {}
        for directory in gen_dirs:
            fileset.update(fileset_from_manifest(directory))
        processor, spec, schema = build(name, [f"{k}={v}" for k, v in options.items()])
        output = run_processor(
            processor, fileset, treename=spec.treename, schema=schema,
            executor=ExecutorOptions(executor="dask", workers=workers, progress=False),
            run=RunOptions(chunksize=20_000))
        path = save_output(output, folder / f"{name}.coffea")
        result: dict[str, Any] = {"output": str(path)}
        cutflows = {d: {k: v["raw"] for k, v in output[d]["cutflow"].items()}
                    for d in fileset if "cutflow" in output[d]}
        if cutflows:
            result["cutflow"] = cutflows
        return result
    return work


def _delphes_plots(kind: str, output_path: str) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        import importlib

        from hzx.io import load_output

        module = importlib.import_module(f"hzx.plotting.{kind}")
        paths = module.plot_output(load_output(output_path), folder)
        return {"figures": [str(p) for p in paths if Path(p).suffix == ".png"]}
    return work


def _h5(tracks_output: str) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.nn.h5 import write_h5

        path = folder / "jet_data.h5"
        summary = write_h5([tracks_output], path)
        return {"h5": str(path), "summary_json": json.loads(json.dumps(summary, default=str))}
    return work


def _nn(h5_path: str, epochs: int, seed: int) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.nn.apply import apply_regression
        from hzx.nn.classification import train_classifier
        from hzx.nn.config import DataConfig, TrainConfig
        from hzx.nn.regression import train_regression

        # a few hundred signal jets: a small network without batch norm and with an MSE loss
        # learns where the study's defaults (Huber, batch norm) settle on a constant
        train = TrainConfig(epochs=epochs, batch_size=64, hidden_sizes=(64, 32), seed=seed,
                            patience=25, batch_norm=False, loss="mse", num_threads=1,
                            device="cpu")
        reg = train_regression(DataConfig(input_h5=(h5_path,)), train, folder / "regression")
        with_reg = folder / "jet_data_with_reg.h5"
        apply_regression(reg.output_dir / "model.pt", h5_path, with_reg)
        cls = train_classifier(DataConfig(input_h5=(str(with_reg),),
                                          features_key="ghost_track_vars_with_reg"),
                               train, folder / "classifier")
        figures = sorted(str(p) for p in (folder / "regression").glob("*.png"))[:4]
        figures += sorted(str(p) for p in (folder / "classifier").glob("*.png"))[:3]
        rm, cm = reg.metrics, cls.metrics
        summary = [f"regression: R² = {rm.get('r2', float('nan')):.3f}, resolution = "
                   f"{rm.get('resolution', float('nan')):.3f} GeV on the test split",
                   f"classifier: AUC = {cm.get('auc', float('nan')):.3f} (signal vs Z+jets jets)"]
        return {"summary": summary, "figures": figures,
                "regression_metrics": str(reg.output_dir / "metrics.json"),
                "classifier_metrics": str(cls.output_dir / "metrics.json")}
    return work


def run_hza_study(pipe: Pipeline) -> None:
    """H → Z a: generate m_a points and Z+jets, run HZa2018, truth and track observables,
    write jet_data.h5, train the mass regression and the classifier."""
    c = pipe.config
    seeds = np.random.SeedSequence([c.seed, 36]).generate_state(len(c.hza_masses_gev) + 1)
    gen_dirs, upstream = [], {}
    jobs = [(f"gen-hza-{m:g}", "hza", {"ma": m}, c.hza_events) for m in c.hza_masses_gev]
    jobs.append(("gen-zjets", "zjets", {}, c.zjets_events))
    for (name, process, options, n), seed in zip(jobs, seeds, strict=True):
        settings = {"process": process, "events": c.events(n), "seed": int(seed), **options}
        rec = pipe.step(name, settings, _generate_delphes(process, c.events(n), int(seed),
                                                          c.workers, options))
        gen_dirs.append(str(Path(rec["result"]["manifest"]).parent))
        upstream[name] = rec["digest"]
    outputs = {}
    for name in ("hza2018", "truth", "tracks"):
        rec = pipe.step(name, {"upstream": upstream, "workers": c.workers},
                        _delphes_run(name, gen_dirs, c.workers))
        outputs[name] = rec
    for kind in ("hza2018", "truth"):
        pipe.step(f"{kind}-plots", {"upstream": outputs[kind]["digest"]},
                  _delphes_plots(kind, outputs[kind]["result"]["output"]))
    h5 = pipe.step("h5", {"upstream": outputs["tracks"]["digest"]},
                   _h5(outputs["tracks"]["result"]["output"]))
    pipe.step("nn", {"upstream": h5["digest"], "epochs": c.nn_epochs, "seed": c.seed},
              _nn(h5["result"]["h5"], c.nn_epochs, c.seed))


def _generate_delphes(process: str, events: int, seed: int, workers: int,
                      options: dict[str, Any]) -> Callable[[Path], dict]:
    def work(folder: Path) -> dict[str, Any]:
        from hzx.generation.jobs import generate

        manifest = generate(process, events=events, seed=seed, out=folder, block_size=100,
                            executor=ExecutorOptions(executor="dask", workers=workers,
                                                     progress=False), **options)
        return {"manifest": manifest.path, "events": manifest.events,
                "xsec_pb": manifest.xsec_pb, "sumw": manifest.sumw}
    return work


def check_inputs(config: DemoConfig) -> None:
    """What can be checked before any work: real data are at ``data`` and, unless
    ``hzx_mc``, the release's simulation at the MC location; a ConfigurationError (one line,
    in the command line's flags) names what is missing."""
    from hzx.errors import ConfigurationError
    from hzx.samples import samples_with_role

    if config.mc and not config.data:
        raise ConfigurationError("--mc pairs real simulation with real data: give --data too")
    if not config.data:
        return
    if not any(_present(config.data, s.filename) for s in samples_with_role("data")):
        raise ConfigurationError(f"{config.data} holds no ATLAS Open Data 4lep data file "
                                 "(data_A.4lep.root … data_D.4lep.root)")
    if not config.hzx_mc:
        real_mc_samples(config)


def run_demo(config: DemoConfig | None = None, *, fresh: bool = False, fourlep: bool = True,
             hza: bool = True, echo: Callable = print) -> Pipeline:
    """The whole demo (``fourlep``, ``hza``: which studies); returns the pipeline (steps and
    their results). Inputs are checked (:func:`check_inputs`) before any folder is made."""
    config = config or DemoConfig()
    check_inputs(config)
    pipe = Pipeline(config, fresh=fresh, echo=echo)
    for stale in ("report.html", "report.md"):  # a failed step must not leave an old report
        (pipe.root / stale).unlink(missing_ok=True)
    if fourlep:
        run_fourlep_study(pipe)
    if hza:
        run_hza_study(pipe)
    from hzx.scripts.report_html import write_report

    md, page = write_report(pipe)
    echo(f"report: {page} (and {md.name})")
    return pipe


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
    parser.add_argument("--study", choices=("all", "fourlep", "hza"), default="all",
                        help="which studies: the 4-lepton measurement, H -> Z a, or both "
                             "[default: all]")
    parser.add_argument("--fresh", action="store_true", help="ignore cached steps")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hzx.errors import ConfigurationError

    config = DemoConfig(workdir=args.out, events_scale=args.events, seed=args.seed,
                        workers=args.workers, data=args.data, mc=args.mc, hzx_mc=args.hzx_mc)
    if args.mc and not args.data:
        raise ConfigurationError("--mc pairs real simulation with real data: give --data too")
    if args.hzx_mc and not args.data:
        raise ConfigurationError("--hzx-mc pairs real data with hzx simulation: give --data too")
    pipe = run_demo(config, fresh=args.fresh, fourlep=args.study in ("all", "fourlep"),
                    hza=args.study in ("all", "hza"))
    for step in ("fit", "likelihood"):
        for line in pipe.steps.get(step, {}).get("result", {}).get("summary", []):
            print("  " + line)
    return 0
