"""Named generation processes and their Pythia 8 settings (the pheno study's configuration).

Every process is a :class:`ProcessDefinition` (name, description, role, output layout); one job
is a :class:`GenerationConfig` (frozen): process, number of events, job seed and all physics
switches. :func:`pythia_settings` turns a configuration into the list of Pythia ``readString``
lines; :func:`validate` checks everything before any work starts.

Units: masses, widths and energies in GeV; cross-sections as Pythia gives them (mb) unless the
name says ``_pb``.
"""

from __future__ import annotations

import dataclasses
import math

from hzx.errors import ConfigurationError

#: Centre-of-mass energy of the study, GeV.
SQRT_S_GEV = 13000.0

#: m_a points of the study (ATLAS job options 600974–600984), GeV.
MA_POINTS_GEV = (0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 8.0)

#: Higgs mass and width of the study, GeV.
M_H_GEV = 125.0
WIDTH_H_GEV = 4.07e-3
M_Z_GEV = 91.1876
M_PI_CHARGED_GEV = 0.13957

#: LHCHXSWG N3LO gg → H cross-section at 13 TeV for m_H = 125 GeV, pb (YR4). Used to normalise
#: the 4ℓ signal: Pythia's LO σ(gg → H) is rescaled to it (the k-factor is in the manifest).
SIGMA_GGH_N3LO_PB = 48.61

#: Tune:ee = 7, Tune:pp = 14, then the A14 parameters written out (as the study does).
A14_SETTINGS = (
    "Tune:ee = 7",
    "Tune:pp = 14",
    "SpaceShower:rapidityOrder = on",
    "SigmaProcess:alphaSvalue = 0.140",
    "SpaceShower:pT0Ref = 1.56",
    "SpaceShower:pTmaxFudge = 0.91",
    "SpaceShower:pTdampFudge = 1.05",
    "SpaceShower:alphaSvalue = 0.127",
    "TimeShower:alphaSvalue = 0.127",
    "BeamRemnants:primordialKThard = 1.88",
    "ColourReconnection:range = 1.71",
    "MultipartonInteractions:pT0Ref = 2.09",
    "MultipartonInteractions:alphaSvalue = 0.126",
)

#: POWHEG matching of the study: the shower starts at the kinematical limit and the POWHEG hooks
#: veto emissions harder than POWHEG's (pTmaxMatch = 2 with POWHEG:veto = 1).
STUDY_POWHEG_SETTINGS = (
    "SpaceShower:pTmaxMatch = 2",
    "TimeShower:pTmaxMatch = 2",
    "POWHEG:veto = 1",
)

#: What hzx uses: the Python bindings of Pythia (pythia8mc) do not ship the PowhegHooks plugin,
#: so the veto of the study's settings would never run and a shower starting at the kinematical
#: limit would double-count the hardest emission. Without the hooks the consistent choice is to
#: start the shower at the LHE scale (SCALUP), pTmaxMatch = 1 — the standard POWHEG + Pythia
#: matching when no veto is available. The manifest records these settings.
POWHEG_SETTINGS = (
    "SpaceShower:pTmaxMatch = 1",
    "TimeShower:pTmaxMatch = 1",
)

#: POWHEG Z+jets of the study (main_PowhegPy8_Zjets.cc): the A14 settings with
#: ``BeamRemnants:primordialKThard = 1.4`` (ATLAS's AZNLO-inspired value) instead of 1.88, and no
#: pTmaxMatch / POWHEG hook settings at all (Pythia's defaults: the shower starts at SCALUP).
ZJETS_POWHEG_PRIMORDIAL_KT_HARD = 1.4


def _muR(isr: str, fsr: str) -> tuple[str, str]:
    return f"isr:muRfac={isr}_fsr:muRfac={fsr}", f"isr:muRfac={isr} fsr:muRfac={fsr}"


#: The study's 22 UncertaintyBands variations (label, settings), in the order of its drivers
#: (main_PhPy8_HZA.cc, main_PhPy8_HZJpsi.cc, main_PhPy8_HZetac.cc, main_MG5Py8_Zjets.cc …):
#: the A14 Var3c ISR pair, then ISR × FSR μR factors.
STUDY_VARIATIONS: tuple[tuple[str, str], ...] = (
    ("Var3cUp", "isr:muRfac=0.549241"),
    ("Var3Down", "isr:muRfac=1.960832"),
    *(_muR(i, f) for i, f in (
        ("2.0", "2.0"), ("2.0", "1.0"), ("2.0", "0.5"), ("1.0", "2.0"), ("1.0", "0.5"),
        ("0.5", "2.0"), ("0.5", "1.0"), ("0.5", "0.5"), ("1.75", "1.0"), ("1.5", "1.0"),
        ("1.25", "1.0"), ("0.625", "1.0"), ("0.75", "1.0"), ("0.875", "1.0"), ("1.0", "1.75"),
        ("1.0", "1.5"), ("1.0", "1.25"), ("1.0", "0.625"), ("1.0", "0.75"), ("1.0", "0.875"),
    )),
)

#: hzx's earlier short list: ISR and FSR μR factors 0.5 and 2, one at a time.
BASIC_VARIATIONS: tuple[tuple[str, str], ...] = (
    ("isrmuRfac=0.5", "isr:muRfac=0.5"), ("isrmuRfac=2.0", "isr:muRfac=2.0"),
    ("fsrmuRfac=0.5", "fsr:muRfac=0.5"), ("fsrmuRfac=2.0", "fsr:muRfac=2.0"),
)

#: ``--shower-variations`` choices → variation list (``auto``: as the study's driver of the job,
#: see :meth:`GenerationConfig.variation_list`; ``off``: none).
VARIATION_LISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "study": STUDY_VARIATIONS, "basic": BASIC_VARIATIONS, "off": (),
}
VARIATION_CHOICES = ("auto", *VARIATION_LISTS)


def uncertainty_band_settings(variations: tuple[tuple[str, str], ...]) -> list[str]:
    """Pythia ``UncertaintyBands`` lines of a variation list (empty list: none)."""
    if not variations:
        return []
    body = ", ".join(f"{label} {settings}" for label, settings in variations)
    return ["UncertaintyBands:doVariations = on", f"UncertaintyBands:List = {{{body}}}"]


#: Matching of MadGraph LHE files: ``none`` (the study's main_MG5Py8_Zjets.cc: shower only) or
#: ``mlm`` (Pythia's JetMatchingMadgraph hook; MLM-generated files, ickkw = 1, only).
MATCHING_CHOICES = ("none", "mlm")

#: Z decay modes: name → lepton PDG ids the Z may decay to.
Z_DECAYS: dict[str, tuple[int, ...]] = {
    "ll": (11, 13, 15),
    "emu": (11, 13),
    "ee": (11,),
    "mumu": (13,),
    "tautau": (15,),
}


@dataclasses.dataclass(frozen=True)
class ProcessDefinition:
    """A named process.

    Attributes
    ----------
    name : str
        The name of ``hzx generate NAME``.
    description : str
        One line for ``hzx generate --list``.
    role : {"signal", "background"}
    output : {"delphes", "mini"}
        Delphes tree (CMS-like fast simulation) or ATLAS Open Data ``mini`` tree.
    lhe : tuple of str
        Which LHE inputs it accepts (``"powheg"``, ``"madgraph"``); empty: none.
    default_z_decays : str
        Key of :data:`Z_DECAYS`.
    """

    name: str
    description: str
    role: str
    output: str
    lhe: tuple[str, ...]
    default_z_decays: str


PROCESSES: dict[str, ProcessDefinition] = {
    p.name: p
    for p in (
        ProcessDefinition("hza", "gg → H(125) → Z a, a → all (BSM H 35, --ma m_a in GeV, Γ_a = m_a/1000)",
                          "signal", "delphes", ("powheg",), "ll"),
        ProcessDefinition("hzjpsi", "gg → H(125) → Z J/ψ (BR 0.002, forced), J/ψ → all",
                          "signal", "delphes", ("powheg",), "ll"),
        ProcessDefinition("hzetac", "gg → H(125) → Z η_c (BR 0.002, forced), η_c → all",
                          "signal", "delphes", ("powheg",), "ll"),
        ProcessDefinition("zjets", "Z(→ ℓℓ) + jets: Pythia's q q̄ → Z g, q g → Z q (or POWHEG / MadGraph LHE, --matching mlm)",
                          "background", "delphes", ("powheg", "madgraph"), "ll"),
        ProcessDefinition("ggh4l", "gg → H(125) → ZZ* → 4ℓ (ℓ = e, μ), ATLAS Open Data mini tree",
                          "signal", "mini", (), "emu"),
        ProcessDefinition("zz4l", "q q̄ → ZZ → 4ℓ (ℓ = e, μ), ATLAS Open Data mini tree",
                          "background", "mini", (), "emu"),
    )
}


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """One generation job. All options of ``hzx generate``.

    Attributes
    ----------
    process : str
        A key of :data:`PROCESSES`.
    events : int
        Events to generate (with an LHE file: LHE events to read, ≤ 0 every event of the file as
        the study's ``main_PowhegPy8_Zjets.cc IN OUT 0``; MLM matching may veto some).
    seed : int
        Job seed (≥ 0); block seeds derive from it and the block index.
    ma : float or None
        m_a in GeV (``hza`` only; default 1.0).
    z_decays : str or None
        Key of :data:`Z_DECAYS`; ``None`` takes the process's default.
    mpi, isr, fsr, hadronisation : bool
        Multiparton interactions, initial/final-state showers, hadron level (the study's
        ``--MPIoff`` … ``--HADoff``: ``PartonLevel:MPI/ISR/FSR = off``, ``HadronLevel:all = off``).
    shower_variations : str
        One of :data:`VARIATION_CHOICES`: ``auto`` (default) runs the study's 22 UncertaintyBands
        variations where the study's driver does (hza, hzjpsi, hzetac, MadGraph Z+jets) and none
        elsewhere (POWHEG or Pythia Z+jets, 4ℓ); ``study``, ``basic`` (ISR/FSR μR 0.5, 2) or
        ``off``. ``True``/``False`` mean ``study``/``off``.
    lhe : str or None
        LHE file (POWHEG-BOX or MadGraph, ``.lhe`` or ``.lhe.gz``) to shower instead of Pythia's
        own hard process.
    jet_radius : float
        Anti-kT R of the fast simulation's jets (CMS card: 0.5; ATLAS: 0.4).
    block_size : int
        Events per block (the unit of parallel work and of output files).
    hepmc : bool
        Also write HepMC3 files (one per block) for real Delphes.
    pthat_min : float
        Minimum p̂T of Pythia's own Z+jet process, GeV.
    matching : str
        MadGraph LHE: ``none`` (shower only, the study's driver) or ``mlm`` (files made with MLM,
        ickkw = 1; refused on CKKW-L and unmatched files).
    mlm_qcut : float
        MLM matching scale (GeV, ``--matching mlm``); 0 takes 1.5 × xqcut of the file (≥ 30 GeV).
    k_factor : float or None
        Multiplies Pythia's σ in the recorded cross-section; ``None``: the process default
        (ggh4l: N3LO σ(gg → H)/Pythia's LO σ(gg → H); else 1).
    delphes_layout : str
        Branch names of the Delphes-layout files (``study``: ``Jet.PT``; ``coffea``:
        ``Jet/Jet.PT``), see :mod:`hzx.generation.writers`.
    truelep : bool
        The study's ``--truelep`` analysis flag (its drivers generate the same events with it;
        main_PhPy8_HZA_dohist.cc then takes the Z's hard-process leptons): recorded only.
    decay_to_lhef : bool
        The study's main_PhPy8_HZA_decay_to_lhef.cc: hard process and resonance decays only (MPI,
        ISR, FSR and hadron level off) written as LHEF 3 files (``.lhe``, one per block) of the
        decayed event record, instead of Delphes files.
    """

    process: str
    events: int = 100
    seed: int = 1
    ma: float | None = None
    z_decays: str | None = None
    mpi: bool = True
    isr: bool = True
    fsr: bool = True
    hadronisation: bool = True
    shower_variations: str | bool = "auto"
    lhe: str | None = None
    jet_radius: float = 0.5
    block_size: int = 100
    hepmc: bool = False
    pthat_min: float = 10.0
    mlm_qcut: float = 0.0
    k_factor: float | None = None
    matching: str = "none"
    delphes_layout: str = "study"
    truelep: bool = False
    decay_to_lhef: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.shower_variations, bool):
            object.__setattr__(self, "shower_variations",
                               "study" if self.shower_variations else "off")
        if self.decay_to_lhef:  # the study's LHEF driver: hard process and decays only
            for name in ("mpi", "isr", "fsr", "hadronisation"):
                object.__setattr__(self, name, False)

    def variation_list(self, lhe_generator: str | None = None) -> tuple[tuple[str, str], ...]:
        """The UncertaintyBands variations of this job (``lhe_generator``: of its LHE file)."""
        choice = self.shower_variations
        if choice == "auto":
            study_driver = self.process in ("hza", "hzjpsi", "hzetac") or (
                self.process == "zjets" and lhe_generator == "madgraph")
            choice = "study" if study_driver and not self.decay_to_lhef else "off"
        return VARIATION_LISTS[choice]

    @property
    def definition(self) -> ProcessDefinition:
        return PROCESSES[self.process]

    @property
    def m_a(self) -> float:
        """m_a in GeV (hza; 1.0 when not given)."""
        return 1.0 if self.ma is None else float(self.ma)

    @property
    def z_mode(self) -> str:
        return self.z_decays or self.definition.default_z_decays

    @property
    def switches_tag(self) -> str:
        """The study's ``MPIon_ISRon_FSRon_HADon`` suffix."""
        def on(flag: bool) -> str:
            return "on" if flag else "off"
        return (f"MPI{on(self.mpi)}_ISR{on(self.isr)}_FSR{on(self.fsr)}"
                f"_HAD{on(self.hadronisation)}")

    @property
    def tag(self) -> str:
        """Dataset name and file stem, e.g. ``hza_mA1.00GeV_MPIon_ISRon_FSRon_HADon``.

        The m_a part is the study's (``HZA_mA1.00GeV``), so that the study's file-name rule
        (:func:`hzx.samples.identity.infer_sample_info`) reads m_a and the class key back exactly.
        """
        from hzx.samples.identity import mass_name_tag

        if self.process == "ggh4l":
            return "mc_hzx.ggH125_ZZ4lep"
        if self.process == "zz4l":
            return "mc_hzx.ZZllll"
        stem = self.process
        if self.process == "hza":
            stem += "_" + mass_name_tag(self.m_a)
        if self.lhe:
            stem += "_lhe"
        return f"{stem}_{self.switches_tag}"


def lightest_open_decay_gev(pdg_id: int) -> tuple[float, tuple[int, ...]]:
    """Threshold (GeV) and products of the lightest decay channel of ``pdg_id`` in Pythia's
    particle data (channels switched on): Σ nominal masses, at least 2 m_π± for partons; a pure
    γγ channel does not count."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    data = pythia.particleData
    entry = data.particleDataEntryPtr(pdg_id)
    best = (math.inf, ())
    for i in range(entry.sizeChannels()):
        channel = entry.channel(i)
        if channel.onMode() <= 0:
            continue
        products = tuple(channel.product(j) for j in range(channel.multiplicity()))
        if all(p == 22 for p in products):
            continue  # the loop-induced γγ mode has no threshold; it alone is not "open"
        threshold = sum(data.m0(abs(p)) for p in products)
        if any(abs(p) <= 6 or p == 21 for p in products):
            threshold = max(threshold, 2 * M_PI_CHARGED_GEV)  # partons must form two hadrons
        best = min(best, (threshold, products))
    return best


def validate(config: GenerationConfig) -> None:
    """Raise :class:`~hzx.errors.ConfigurationError` (or ``InputFileError`` for the LHE file)
    for anything wrong with ``config`` — before any work starts."""
    if config.process not in PROCESSES:
        raise ConfigurationError(
            f"unknown process {config.process!r}; choose one of {', '.join(PROCESSES)} "
            "(describe_processes() describes them)"
        )
    if isinstance(config.events, bool) or not isinstance(config.events, int) or (
            config.events < 1 and config.lhe is None):
        raise ConfigurationError(f"events must be a positive integer, got {config.events!r} "
                                 "(with lhe: 0 or less means every LHE event)")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ConfigurationError(f"seed must be an integer ≥ 0, got {config.seed!r}")
    if not isinstance(config.block_size, int) or config.block_size < 1:
        raise ConfigurationError(f"block_size must be a positive integer, got {config.block_size!r}")
    if not 0.05 <= config.jet_radius <= 2.0:
        raise ConfigurationError(f"jet_radius must be within 0.05–2.0, got {config.jet_radius}")
    if config.z_decays is not None and config.z_decays not in Z_DECAYS:
        raise ConfigurationError(
            f"unknown Z decay mode {config.z_decays!r}; choose one of {', '.join(Z_DECAYS)}"
        )
    if config.definition.output == "mini" and config.z_mode not in ("emu", "ee", "mumu"):
        raise ConfigurationError(f"{config.process} is a 4ℓ (e, μ) process; Z decays "
                                 f"{config.z_mode!r} are not allowed")
    if config.pthat_min < 0 or config.mlm_qcut < 0:
        raise ConfigurationError("pthat_min and mlm_qcut must be ≥ 0")
    if config.shower_variations not in VARIATION_CHOICES:
        raise ConfigurationError(f"shower_variations {config.shower_variations!r}: choose one "
                                 f"of {', '.join(VARIATION_CHOICES)}")
    if config.matching not in MATCHING_CHOICES:
        raise ConfigurationError(f"matching {config.matching!r}: choose one of "
                                 f"{', '.join(MATCHING_CHOICES)}")
    from hzx.generation.writers import DELPHES_LAYOUTS

    if config.delphes_layout not in DELPHES_LAYOUTS:
        raise ConfigurationError(f"delphes_layout {config.delphes_layout!r}: choose one of "
                                 f"{', '.join(DELPHES_LAYOUTS)}")
    if config.mlm_qcut and config.matching != "mlm":
        raise ConfigurationError("mlm_qcut is the MLM merging scale (qCut): it needs matching 'mlm'")
    if config.matching == "mlm" and config.lhe is None:
        raise ConfigurationError("matching 'mlm' needs a MadGraph MLM LHE file (lhe)")
    if config.decay_to_lhef and config.definition.output != "delphes":
        raise ConfigurationError(f"decay_to_lhef: {config.process} writes mini trees; it "
                                 "applies to the Delphes-output processes")
    if config.k_factor is not None and not config.k_factor > 0:
        raise ConfigurationError(f"k_factor must be > 0, got {config.k_factor}")
    if config.ma is not None and config.process != "hza":
        raise ConfigurationError(f"ma applies to the hza process only, not {config.process!r}")
    if config.process == "hza":
        m_a = config.m_a
        if not math.isfinite(m_a) or m_a <= 0:
            raise ConfigurationError(f"ma must be a positive mass in GeV, got {config.ma!r}")
        limit = M_H_GEV - M_Z_GEV
        if m_a >= limit:
            raise ConfigurationError(
                f"ma = {m_a} GeV: H → Z a needs m_a < m_H − m_Z = {limit:.1f} GeV")
        threshold, products = lightest_open_decay_gev(36)
        if m_a * 0.9 <= threshold:  # the mass window reaches down to m_a − 100 Γ = 0.9 m_a
            raise ConfigurationError(
                f"ma = {m_a} GeV is below the lightest open decay of a (36 → "
                f"{' '.join(map(str, products))}, threshold {threshold:.4g} GeV, mass window "
                f"down to 0.9 m_a)")
    if config.lhe is not None:
        from hzx.generation.lhe import inspect_lhe

        if not config.definition.lhe:
            raise ConfigurationError(f"{config.process} takes no LHE input (Pythia's own process)")
        info = inspect_lhe(config.lhe)
        if info.generator not in config.definition.lhe:
            raise ConfigurationError(
                f"{config.lhe}: a {info.generator} LHE file, but {config.process} accepts "
                f"{' or '.join(config.definition.lhe)} input")
        if config.process in ("hza", "hzjpsi", "hzetac") and not info.has_higgs:
            raise ConfigurationError(
                f"{config.lhe}: no Higgs boson (25 or 35) in its events; {config.process} needs "
                "POWHEG gg → H events")
        if config.matching == "mlm" and info.merging != "mlm":
            if info.merging == "ckkwl":
                scales = " / ".join(f"{name} = {value:g}" for name, value in (
                    ("ktdurham", info.ktdurham_gev), ("ptlund", info.ptlund_gev))
                    if value is not None and value > 0)
                what = f"a CKKW-L sample (ickkw = 0 with a merging scale {scales})"
            elif info.merging == "ckkw":
                what = "a CKKW sample (ickkw = 2)"
            elif info.generator != "madgraph":
                what = f"a {info.generator} file"
            else:
                what = "not made for matching (no ickkw = 1 in its run card)"
            raise ConfigurationError(
                f"{config.lhe}: matching 'mlm' needs an MLM sample (ickkw = 1), but this is "
                f"{what}; MLM would veto events by the wrong criterion. Shower it with "
                "matching 'none' (the default, as the study's main_MG5Py8_Zjets.cc)")


def pythia_settings(config: GenerationConfig, lhe_path: str | None = None,
                    lhe_generator: str | None = None, xqcut: float | None = None) -> list[str]:
    """Pythia ``readString`` lines of ``config`` (without the seed).

    ``lhe_path`` is the LHE file that Pythia reads (for ``hza`` a copy with 25 → 35).
    """
    s: list[str] = ["Print:quiet = on", "Next:numberShowEvent = 0", "Next:numberCount = 0",
                    "Init:showChangedSettings = off", "Init:showProcesses = off"]
    powheg_zjets = config.process == "zjets" and lhe_generator == "powheg"
    if powheg_zjets:  # main_PowhegPy8_Zjets.cc
        s += [line for line in A14_SETTINGS if not line.startswith("BeamRemnants:primordialKThard")]
        s += [f"BeamRemnants:primordialKThard = {ZJETS_POWHEG_PRIMORDIAL_KT_HARD:g}"]
    else:
        s += list(A14_SETTINGS)
    if lhe_path is None:
        s += ["Beams:idA = 2212", "Beams:idB = 2212", f"Beams:eCM = {SQRT_S_GEV:g}"]
    else:
        s += ["Beams:frameType = 4", f"Beams:LHEF = {lhe_path}"]
        if lhe_generator == "powheg" and not powheg_zjets:
            s += list(POWHEG_SETTINGS)
        elif lhe_generator == "madgraph" and config.matching == "mlm":
            qcut = config.mlm_qcut or max(30.0, 1.5 * (xqcut or 20.0))
            s += ["JetMatching:merge = on", "JetMatching:scheme = 1", "JetMatching:setMad = off",
                  f"JetMatching:qCut = {qcut:g}", "JetMatching:coneRadius = 1.0",
                  "JetMatching:etaJetMax = 10.0", "JetMatching:nJetMax = 2",
                  "JetMatching:nQmatch = 5", "JetMatching:clFact = 1.0"]
    s += [f"PartonLevel:MPI = {'on' if config.mpi else 'off'}",
          f"PartonLevel:ISR = {'on' if config.isr else 'off'}",
          f"PartonLevel:FSR = {'on' if config.fsr else 'off'}",
          f"HadronLevel:all = {'on' if config.hadronisation else 'off'}"]
    s += uncertainty_band_settings(config.variation_list(lhe_generator))
    leptons = Z_DECAYS[config.z_mode]
    z_decay = ["23:onMode = off", "23:onIfAny = " + " ".join(map(str, leptons))]
    p = config.process
    if p == "hza":
        m_a = config.m_a
        width = m_a / 1000.0
        if lhe_path is None:
            s += ["HiggsBSM:gg2H2 = on"]
        s += ["Higgs:useBSM = on",
              f"35:m0 = {M_H_GEV:g}", f"35:mWidth = {WIDTH_H_GEV:g}", "35:doForceWidth = on",
              f"35:mMin = {M_H_GEV - 50 * WIDTH_H_GEV:g}", f"35:mMax = {M_H_GEV + 50 * WIDTH_H_GEV:g}",
              "35:onMode = off", "35:onIfMatch = 23 36",
              f"36:m0 = {m_a:g}", f"36:mWidth = {width:g}", "36:doForceWidth = on",
              f"36:mMin = {m_a - 100 * width:g}", f"36:mMax = {m_a + 100 * width:g}",
              "36:onMode = on"]
        s += z_decay
    elif p in ("hzjpsi", "hzetac"):
        meson = 443 if p == "hzjpsi" else 441
        if lhe_path is None:
            s += ["HiggsSM:gg2H = on"]
        s += [f"25:m0 = {M_H_GEV:g}", "25:onMode = off",
              f"25:addChannel = 1 0.002 100 {meson} 23"]
        s += z_decay
    elif p == "zjets":
        if lhe_path is None:
            s += ["WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
                  "WeakZ0:gmZmode = 2", f"PhaseSpace:pTHatMin = {config.pthat_min:g}"]
        s += z_decay
    elif p == "ggh4l":
        s += ["HiggsSM:gg2H = on", f"25:m0 = {M_H_GEV:g}", "25:onMode = off",
              "25:onIfMatch = 23 23"]
        s += z_decay
    elif p == "zz4l":
        # full γ*/Z interference (as ATLAS's llll sample): populates m4ℓ below the ZZ threshold
        s += ["WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 0",
              "23:mMin = 12.0"]
        s += z_decay
    return s


def describe_processes() -> str:
    """The table of ``hzx generate --list``."""
    rows = [("NAME", "ROLE", "OUTPUT", "LHE", "DESCRIPTION")]
    for p in PROCESSES.values():
        rows.append((p.name, p.role, "Delphes" if p.output == "delphes" else "mini",
                     ",".join(p.lhe) or "-", p.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    lines.append("")
    lines.append("hza m_a points of the study (GeV): " + ", ".join(f"{m:g}" for m in MA_POINTS_GEV))
    return "\n".join(lines)
