"""``hzx generate PROCESS``: Pythia 8 events and a CMS-like fast simulation, in parallel blocks.

Examples::

    hzx generate --list
    hzx generate hza --ma 1.0 --events 1000 --seed 7 --out gen/ --workers 2 --executor dask
    hzx generate zjets --lhe ../shared/data/lhe/madgraph-2.2.1-Z-mlm.lhe.gz --events 500 --out gen/
    hzx generate zjets --lhe ../shared/data/lhe/madgraph-2.2.1-Z-mlm.lhe.gz --matching mlm
    hzx generate ggh4l --events 2000 --out gen/   # ATLAS Open Data mini trees

The study's driver flags are accepted as they are: ``-Amass M`` (= ``--ma``), ``--MPIoff``,
``--ISRoff``, ``--FSRoff``, ``--HADoff``, ``--truelep``; ``--decay-to-lhef`` is
main_PhPy8_HZA_decay_to_lhef.cc.
"""

from __future__ import annotations

import argparse

from hzx.generation.processes import MATCHING_CHOICES, VARIATION_CHOICES
from hzx.generation.writers import DELPHES_LAYOUTS
from hzx.scripts.common import add_executor_arguments, executor_options_from_args
from hzx.scripts.flags import as_flags, flag_names


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate", help="generate events (Pythia 8 + CMS-like fast simulation)",
        description="Generate events of a named process with Pythia 8, simulate a CMS-like "
                    "detector and write Delphes-layout ROOT files (4ℓ processes: ATLAS Open "
                    "Data mini trees) and a JSON manifest into --out.")
    p.add_argument("process", nargs="?", help="process name (see --list)")
    p.add_argument("--list", action="store_true", help="list the processes and exit")
    p.add_argument("--events", type=int, default=1000, help="events (with --lhe: LHE events read; 0: all of them)")
    p.add_argument("--seed", type=int, default=1, help="job seed (block seeds derive from it)")
    p.add_argument("--out", default="generated", help="output folder")
    p.add_argument("--lhe", default=None, help="LHE file (POWHEG-BOX or MadGraph) to shower")
    p.add_argument("--ma", "-Amass", dest="ma", type=float, default=None,
                   help="m_a in GeV (hza; -Amass as the study's drivers)")
    p.add_argument("--z-decays", default=None, help="Z decays: ll, emu, ee, mumu, tautau")
    p.add_argument("--jet-radius", type=float, default=0.5, help="anti-kT R (CMS card 0.5)")
    for name, study in (("mpi", "MPI"), ("isr", "ISR"), ("fsr", "FSR"), ("hadronisation", "HAD")):
        p.add_argument(f"--{name}", dest=name, action=argparse.BooleanOptionalAction,
                       default=True, help=f"switch {name.upper()} on/off (--no-{name} = "
                                          f"--{study}off)")
        p.add_argument(f"--{study}off", dest=name, action="store_false", default=True,
                       help=argparse.SUPPRESS if name != "hadronisation" else
                       "the study's --MPIoff, --ISRoff, --FSRoff, --HADoff (HadronLevel:all = off)")
    p.add_argument("--shower-variations", nargs="?", const="study", default="auto",
                   choices=VARIATION_CHOICES,
                   help="UncertaintyBands weights: auto (default: the study's 22 where its driver "
                        "runs them: hza, hzjpsi, hzetac, MadGraph zjets), study (the 22; the "
                        "default of a bare --shower-variations), basic (ISR/FSR μR 0.5, 2), off")
    p.add_argument("--no-shower-variations", dest="shower_variations", action="store_const",
                   const="off", help="no variation weights (= --shower-variations off)")
    p.add_argument("--matching", choices=MATCHING_CHOICES, default="none",
                   help="MadGraph LHE: none (default, shower only as the study) or mlm (MLM "
                        "files only, ickkw = 1; refused on CKKW-L files)")
    p.add_argument("--qcut", "--mlm-qcut", dest="mlm_qcut", type=float, default=0.0,
                   help="MLM qCut, GeV (--matching mlm; default max(30, 1.5 × xqcut))")
    p.add_argument("--delphes-layout", choices=tuple(DELPHES_LAYOUTS), default="study",
                   help="Delphes branch names: study (Jet.PT: tree['Jet.PT'], the study's "
                        "converter; default) or coffea (Jet/Jet.PT: coffea's stock "
                        "DelphesSchema); hzx reads both")
    p.add_argument("--truelep", action="store_true",
                   help="the study's analysis flag (recorded in the manifest; same events)")
    p.add_argument("--decay-to-lhef", action="store_true",
                   help="write LHEF 3 files of the decayed hard process (MPI, ISR, FSR, hadron "
                        "level off) instead of Delphes files (main_PhPy8_HZA_decay_to_lhef.cc)")
    p.add_argument("--dohist", action="store_true",
                   help="hza: the study's generator-level histograms (main_PhPy8_HZA_dohist.cc: "
                        "Z, jet and ghost-track-proxy .dat tables) into --out, no event files")
    p.add_argument("--hepmc", action="store_true", help="also write HepMC3 files")
    p.add_argument("--block-size", type=int, default=200, help="events per block (and file)")
    p.add_argument("--k-factor", type=float, default=None, help="multiply Pythia's σ by this")
    add_executor_arguments(p, retries=2)
    p.set_defaults(func=as_flags(FLAGS)(main))


#: GenerationConfig fields (and functions) the library names in its errors → the flags that
#: set them here.
FLAGS = flag_names("events", "seed", "lhe", "ma", "jet_radius", "shower_variations", "matching",
                   "delphes_layout", "decay_to_lhef", "block_size", "k_factor", "z_decays",
                   mlm_qcut="--qcut", generator_histograms="--dohist")


def main(args: argparse.Namespace) -> int:
    from hzx.errors import ConfigurationError
    from hzx.generation.processes import describe_processes

    if args.list:
        print(describe_processes())
        return 0
    if not args.process:
        raise ConfigurationError("name a process (hzx generate --list shows them)")
    from hzx.generation.processes import PROCESSES

    if args.process not in PROCESSES:
        raise ConfigurationError(f"unknown process {args.process!r}; choose one of "
                                 f"{', '.join(PROCESSES)} (hzx generate --list describes them)")
    from hzx.generation.jobs import generate

    executor = executor_options_from_args(args)
    if args.dohist:
        from hzx.generation.genhist import generator_histograms

        chosen = {"shower_variations": args.shower_variations} \
            if args.shower_variations != "auto" else {}
        if args.z_decays:
            chosen["z_decays"] = args.z_decays
        summary = generator_histograms(
            args.process, events=args.events, seed=args.seed, out=args.out, executor=executor,
            lhe=args.lhe, ma=args.ma, mpi=args.mpi, isr=args.isr, fsr=args.fsr,
            hadronisation=args.hadronisation, truelep=args.truelep, block_size=args.block_size,
            **chosen)
        print(f"{summary['events_selected']} of {summary['events_generated']} events selected; "
              f"{len(summary['files'])} histograms *{summary['suffix']}.dat → {args.out}")
        return 0
    manifest = generate(
        args.process, events=args.events, seed=args.seed, out=args.out, executor=executor,
        lhe=args.lhe, ma=args.ma, z_decays=args.z_decays, jet_radius=args.jet_radius,
        mpi=args.mpi, isr=args.isr, fsr=args.fsr, hadronisation=args.hadronisation,
        shower_variations=args.shower_variations, hepmc=args.hepmc, block_size=args.block_size,
        k_factor=args.k_factor, matching=args.matching, mlm_qcut=args.mlm_qcut,
        delphes_layout=args.delphes_layout, truelep=args.truelep,
        decay_to_lhef=args.decay_to_lhef,
    )
    print(f"{manifest.dataset}: {manifest.events} events in {len(manifest.files)} file(s), "
          f"σ = {manifest.xsec_pb:.4g} ± {manifest.xsec_err_pb:.2g} pb, "
          f"Σw = {manifest.sumw:g} → {manifest.path}")
    variations = manifest.provenance.get("variations") or []
    if variations:
        print(f"  {len(variations)} shower-variation weights per event after the nominal one "
              "(names in the manifest; --no-shower-variations: none)")
    if args.matching == "mlm":
        print(f"  MLM matching kept {manifest.events} events of the "
              f"{manifest.config['events']} LHE events asked for")
    return 0
