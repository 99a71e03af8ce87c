"""Generation jobs: split into blocks, run them on an executor, write files and a manifest.

Reproducibility: a job of ``events`` events is cut into ``ceil(events / block_size)`` blocks.
Block ``i`` gets its own seeds from ``numpy.random.SeedSequence(job_seed).spawn(n)[i]``: a Pythia
seed in 1..900000000 and a fast-simulation seed. Each block writes its own file
``<dataset>_block<iiii>.root``; the files in block order are the sample. So the same job seed
and block size give the same events whatever the executor or the number of workers.
With an LHE file, block ``i`` showers the LHE events ``i·block_size … (i+1)·block_size − 1``.

Cross-section: Pythia's ``sigmaGen`` (mb) of each block, combined as the mean weighted by tried
events, converted to pb (1 mb = 10⁹ pb) and multiplied by the process's k-factor.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.generation.processes import (
    PROCESSES,
    SIGMA_GGH_N3LO_PB,
    GenerationConfig,
    pythia_settings,
    validate,
)
from hzx.runner import ExecutorOptions, map_tasks

MB_TO_PB = 1e9
MANIFEST_SUFFIX = ".manifest.json"
#: ATLAS dataset ids of the corresponding Open Data samples (written as channelNumber).
CHANNEL_NUMBERS = {"ggh4l": 345060, "zz4l": 363490}


@dataclasses.dataclass(frozen=True)
class BlockTask:
    """Everything one block needs (picklable)."""

    config: GenerationConfig
    index: int
    first_event: int
    events: int
    pythia_seed: int
    sim_seed: int
    settings: tuple[str, ...]
    lhe_generator: str | None
    path: str
    hepmc_path: str | None


def block_seeds(job_seed: int, n_blocks: int) -> list[tuple[int, int]]:
    """(Pythia seed in 1..900000000, fast-simulation seed) of each block."""
    children = np.random.SeedSequence(job_seed).spawn(n_blocks)
    out = []
    for child in children:
        a, b = child.generate_state(2, dtype=np.uint32).tolist()
        out.append((1 + a % 900_000_000, int(b)))
    return out


def run_block(task: BlockTask) -> dict[str, Any]:
    """Generate, simulate and write one block (module-level: runs on any executor)."""
    from hzx.generation.fastsim import CMS_CARD, mini_tree_card, simulate
    from hzx.generation.pythia_driver import generate_block
    from hzx.generation.writers import mini_arrays, write_delphes, write_hepmc, write_mini

    cfg = task.config
    lhef = cfg.decay_to_lhef  # the study's LHEF of decayed events: no detector, no ROOT file
    truth = generate_block(list(task.settings), task.pythia_seed, task.events, process=cfg.process,
                           lhe_generator=task.lhe_generator,
                           lhe_start=task.first_event if task.lhe_generator else 0,
                           lhef_path=task.path + ".part" if lhef else None)
    t0 = time.perf_counter()
    mini = cfg.definition.output == "mini"
    card = mini_tree_card(cfg.jet_radius) if mini else CMS_CARD.with_jet_radius(cfg.jet_radius)
    sim = {} if lhef else simulate(truth, np.random.default_rng(task.sim_seed), card)
    t_sim = time.perf_counter() - t0
    sigma_pb = truth.sigma_mb * MB_TO_PB
    tmp = task.path + ".part"
    first = task.first_event if not task.lhe_generator else task.index * cfg.block_size
    if lhef:
        pass  # written by generate_block
    elif mini:
        arrays = mini_arrays(truth, sim, first_event=first,
                             channel_number=CHANNEL_NUMBERS.get(cfg.process, 0),
                             xsec_pb=sigma_pb, sumw=float(truth.weights.sum()))
        write_mini(tmp, arrays)
    else:
        write_delphes(tmp, truth, sim, first_event=first, cross_section_pb=sigma_pb,
                      layout=cfg.delphes_layout)
    os.replace(tmp, task.path)
    if task.hepmc_path:
        write_hepmc(task.hepmc_path + ".part", truth, first_event=first,
                    cross_section_pb=sigma_pb, cross_section_err_pb=truth.sigma_err_mb * MB_TO_PB)
        os.replace(task.hepmc_path + ".part", task.hepmc_path)
    t_write = time.perf_counter() - t0 - t_sim
    return {
        "block": task.index, "file": task.path, "hepmc": task.hepmc_path,
        # the batch job that ran the block (Slurm; None elsewhere), for the manifest's provenance
        "batch_job": os.environ.get("SLURM_JOB_ID"),
        "events": len(truth.counts), "sumw": float(truth.weights.sum()),
        "sigma_mb": truth.sigma_mb, "sigma_err_mb": truth.sigma_err_mb,
        "n_tried": truth.n_tried, "n_accepted": truth.n_accepted, "forced_br": truth.forced_br,
        "pythia_seed": task.pythia_seed, "sim_seed": task.sim_seed,
        "variations": truth.variation_names,
        "seconds": {"pythia_init": truth.init_seconds,
                    "pythia": truth.seconds - truth.extract_seconds - truth.init_seconds,
                    "extract": truth.extract_seconds, "fastsim": t_sim, "write": t_write},
    }


@dataclasses.dataclass
class Manifest:
    """The JSON record of a generation job (``<dataset>.manifest.json`` next to its files)."""

    process: str
    dataset: str
    role: str
    treename: str
    files: list[dict[str, Any]]
    events: int
    sumw: float
    xsec_pb: float
    xsec_err_pb: float
    sigma_pythia_pb: float
    k_factor: float
    normalisation: str
    seed: int
    block_size: int
    config: dict[str, Any]
    pythia_settings: list[str]
    seconds: dict[str, float]
    provenance: dict[str, Any]
    path: str = ""

    def write(self, path: str | Path) -> None:
        data = dataclasses.asdict(self)
        data.pop("path")
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
        self.path = str(path)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InputFileError(str(path), f"unreadable generation manifest ({err})") from err
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, path=str(path))

    @property
    def file_paths(self) -> list[str]:
        base = Path(self.path).parent if self.path else Path(".")
        return [str((base / f["file"]).resolve()) for f in self.files]


def _combine_sigma(blocks: list[dict[str, Any]]) -> tuple[float, float]:
    w = np.array([max(b["n_tried"], 1) for b in blocks], dtype=float)
    s = np.array([b["sigma_mb"] for b in blocks])
    e = np.array([b["sigma_err_mb"] for b in blocks])
    return float((w * s).sum() / w.sum()), float(math.sqrt(((w * e) ** 2).sum()) / w.sum())


def make_config(process: str, **options: Any) -> GenerationConfig:
    """A :class:`GenerationConfig` from keyword options, with clear errors for unknown ones."""
    known = {f.name for f in dataclasses.fields(GenerationConfig)} - {"process"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigurationError(f"unknown generation option(s): {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(known))}")
    return GenerationConfig(process=process, **options)


def generate(process: str, *, events: int = 100, seed: int = 1, out: str | Path = "generated",
             executor: ExecutorOptions | None = None, client: Any = None,
             **options: Any) -> Manifest:
    """Generate ``events`` events of ``process`` into ``out`` and return the manifest.

    ``client``: an open Dask client to run the blocks on (for the ``dask`` executor).

    ``options`` are :class:`GenerationConfig` fields (``ma``, ``lhe``, ``mpi``, ``jet_radius``,
    ``block_size`` …). Everything is validated before any work starts.
    """
    from hzx.generation.lhe import inspect_lhe, rewrite_higgs_id
    from hzx.provenance import provenance

    if process not in PROCESSES:
        raise ConfigurationError(
            f"unknown process {process!r}; choose one of {', '.join(PROCESSES)}")
    config = make_config(process, events=events, seed=seed, **options)
    validate(config)
    executor = executor or ExecutorOptions(executor="iterative")
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = config.tag

    lhe_generator = lhe_path = None
    xqcut = None
    n_events = config.events
    if config.lhe:
        info = inspect_lhe(config.lhe)
        lhe_generator, xqcut, lhe_path = info.generator, info.xqcut_gev, info.path
        n_events = info.events if n_events <= 0 else min(n_events, info.events)  # ≤ 0: all
        if config.process == "hza":
            lhe_path = str(rewrite_higgs_id(info.path, out_dir / f"{tag}.input.lhe"))
    settings = tuple(pythia_settings(config, lhe_path, lhe_generator, xqcut))

    for old in list(out_dir.glob(f"{tag}_block*")):
        old.unlink()
    n_blocks = math.ceil(n_events / config.block_size)
    seeds = block_seeds(config.seed, n_blocks)
    tasks = []
    for i in range(n_blocks):
        first = i * config.block_size
        size = min(config.block_size, n_events - first)
        path = out_dir / f"{tag}_block{i:04d}.root"
        path = path.with_suffix(".lhe") if config.decay_to_lhef else path
        tasks.append(BlockTask(config, i, first, size, seeds[i][0], seeds[i][1], settings,
                               lhe_generator, str(path),
                               str(path.with_suffix(".hepmc")) if config.hepmc else None))
    started = time.perf_counter()
    blocks = map_tasks(run_block, tasks, executor, desc=f"generate {tag}",
                       labels=[f"{tag} block {i}" for i in range(n_blocks)], client=client)
    wall = time.perf_counter() - started

    sigma_mb, sigma_err_mb = _combine_sigma(blocks)
    sigma_pb = sigma_mb * MB_TO_PB
    forced_br = blocks[0]["forced_br"]
    if config.k_factor is not None:
        k_factor, how = config.k_factor, f"Pythia σ × k-factor {config.k_factor} (given)"
    elif config.process == "ggh4l" and sigma_pb > 0:
        inclusive = sigma_pb / forced_br
        k_factor = SIGMA_GGH_N3LO_PB / inclusive
        how = (f"Pythia σ(gg→H→ZZ*→4ℓ) = σ_LO(gg→H) {inclusive:.4g} pb × forced BR {forced_br:.4g} "
               f"(BR(H→ZZ*)·BR(Z→ee,μμ)² from Pythia's particle data), scaled by k = "
               f"{SIGMA_GGH_N3LO_PB} pb (N3LO, LHCHXSWG) / σ_LO")
    else:
        k_factor, how = 1.0, "Pythia σ (sigmaGen, includes the branching fractions of forced decays)"
    xsec_pb = sigma_pb * k_factor
    sumw = float(sum(b["sumw"] for b in blocks))
    events_done = int(sum(b["events"] for b in blocks))
    if config.definition.output == "mini":
        from hzx.generation.writers import set_mini_normalisation

        for b in blocks:
            set_mini_normalisation(b["file"], xsec_pb, sumw)
    seconds = {k: float(sum(b["seconds"][k] for b in blocks)) for k in blocks[0]["seconds"]}
    seconds["wall"] = wall
    files = [{"file": Path(b["file"]).name, "block": b["block"], "events": b["events"],
              "sumw": b["sumw"], "pythia_seed": b["pythia_seed"], "sim_seed": b["sim_seed"],
              "sigma_pb": b["sigma_mb"] * MB_TO_PB, "sigma_err_pb": b["sigma_err_mb"] * MB_TO_PB,
              "hepmc": Path(b["hepmc"]).name if b["hepmc"] else None,
              "batch_job": b.get("batch_job")} for b in blocks]
    batch_jobs: dict[str, int] = {}
    for b in blocks:
        if b.get("batch_job"):
            batch_jobs[b["batch_job"]] = batch_jobs.get(b["batch_job"], 0) + 1
    manifest = Manifest(
        process=config.process, dataset=tag, role=config.definition.role,
        treename="mini" if config.definition.output == "mini" else
        ("LHEF" if config.decay_to_lhef else "Delphes"),
        files=files, events=events_done, sumw=sumw, xsec_pb=xsec_pb,
        xsec_err_pb=sigma_err_mb * MB_TO_PB * k_factor, sigma_pythia_pb=sigma_pb,
        k_factor=k_factor, normalisation=how, seed=config.seed, block_size=config.block_size,
        config=dataclasses.asdict(config), pythia_settings=list(settings), seconds=seconds,
        provenance=provenance("generate", process=config.process, config=config,
                              executor=executor, generator="hzx-pythia8",
                              variations=blocks[0]["variations"],
                              batch_jobs=dict(sorted(batch_jobs.items())) or None),
    )
    manifest.write(out_dir / f"{tag}{MANIFEST_SUFFIX}")
    return manifest


def fileset_from_manifest(directory: str | Path, lumi_fb: float = 10.0) -> dict[str, Any]:
    """A coffea fileset of every manifest in ``directory`` (or of one manifest file):
    ``{dataset: {"files": {path: tree}, "metadata": {role, xsec_pb, sumw, red_eff, lumi_fb,
    process, generator}}}``."""
    where = Path(directory)
    paths = [where] if where.is_file() else sorted(where.glob(f"*{MANIFEST_SUFFIX}"))
    if not paths:
        raise InputFileError(str(where), "no generation manifest (*.manifest.json) here")
    fileset: dict[str, Any] = {}
    for path in paths:
        m = Manifest.load(path)
        fileset[m.dataset] = {
            "files": {p: m.treename for p in m.file_paths},
            "metadata": {"role": m.role, "xsec_pb": m.xsec_pb, "sumw": m.sumw, "red_eff": 1.0,
                         "lumi_fb": lumi_fb, "process": m.process, "generator": "hzx-pythia8",
                         "events": m.events},
        }
    return fileset
