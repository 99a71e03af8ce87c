"""Run Pythia 8 for one block of events and return the truth record as flat arrays.

The record follows Delphes's ``Particle`` conventions: Pythia's system entry 0 is dropped,
indices are 0-based into the event's particle list, −1 means none, ``Status`` is the HepMC
status (1 final, 2 decayed, 4 beam, otherwise |Pythia status|). Momenta and masses in GeV,
production vertices in mm.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

#: Fields of the truth record, in order, with their dtypes.
TRUTH_FIELDS: dict[str, Any] = {
    "PID": np.int32, "Status": np.int32, "M1": np.int32, "M2": np.int32,
    "D1": np.int32, "D2": np.int32, "Px": np.float64, "Py": np.float64,
    "Pz": np.float64, "E": np.float64, "Mass": np.float64,
}


@dataclasses.dataclass
class TruthBlock:
    """The truth record of a block: flat per-particle arrays and per-event counts.

    Attributes
    ----------
    counts : ndarray of int64
        Particles per event.
    fields : dict of str → ndarray
        :data:`TRUTH_FIELDS` plus ``Charge`` (int32, units of e) and ``X``, ``Y``, ``Z``
        (production vertex, mm; filled for final-state charged particles, 0 otherwise).
    weights : ndarray of float64
        Nominal event weights.
    variation_weights : ndarray (events × variations) of float64
        Shower-variation weights (empty second axis without variations).
    variation_names : list of str
    lhe_index : ndarray of int64
        Index of the LHE event each event came from (−1 without LHE).
    sigma_mb, sigma_err_mb : float
        Pythia's cross-section estimate for this block and its uncertainty, mb.
    n_tried, n_accepted : int
    seconds : float
        Wall time of generation and record extraction.
    extract_seconds : float
        Part of ``seconds`` spent copying the record out of Pythia.
    """

    counts: np.ndarray
    fields: dict[str, np.ndarray]
    weights: np.ndarray
    variation_weights: np.ndarray
    variation_names: list[str]
    lhe_index: np.ndarray
    sigma_mb: float
    sigma_err_mb: float
    n_tried: int
    n_accepted: int
    seconds: float
    extract_seconds: float
    forced_br: float = 1.0
    init_seconds: float = 0.0


class _ChargeTable:
    """PDG id → charge (e), cached from Pythia's particle data."""

    def __init__(self, particle_data: Any):
        self.data = particle_data
        self.cache: dict[int, int] = {}

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """Three times the charge (Pythia's chargeType) of each id."""
        uniq = np.unique(ids)
        for pid in uniq.tolist():
            if pid not in self.cache:
                self.cache[pid] = int(self.data.chargeType(pid))
        lut_keys = np.fromiter(self.cache.keys(), dtype=np.int64)
        lut_vals = np.fromiter(self.cache.values(), dtype=np.int32)
        order = np.argsort(lut_keys)
        pos = np.searchsorted(lut_keys[order], ids)
        return lut_vals[order][pos]


def forced_branching_fraction(pythia: Any, process: str) -> float:
    """The product of branching fractions that Pythia's σ already contains for the forced decay
    chain of ``process`` (from Pythia's particle data after ``init``). ggh4l: BR(H → ZZ*) ×
    BR(Z → open)²; otherwise 1 (not needed)."""
    if process != "ggh4l":
        return 1.0
    data = pythia.particleData
    higgs = data.particleDataEntryPtr(25)
    br_zz = 0.0
    for i in range(higgs.sizeChannels()):
        ch = higgs.channel(i)
        products = sorted(ch.product(j) for j in range(ch.multiplicity()))
        if products == [23, 23]:
            br_zz += ch.bRatio()
    z = data.particleDataEntryPtr(23)
    total = sum(z.channel(i).bRatio() for i in range(z.sizeChannels()))
    open_z = sum(z.channel(i).bRatio() for i in range(z.sizeChannels())
                 if z.channel(i).onMode() > 0)
    return br_zz * (open_z / total) ** 2 if total > 0 else br_zz


def make_pythia(settings: list[str], seed: int, lhe_generator: str | None = None,
                skip_lhe: int = 0) -> tuple[Any, Any]:
    """An initialised Pythia with ``settings`` and ``Random:seed = seed`` (1..900000000).

    Returns ``(pythia, hook)``; ``hook`` keeps the MLM matching hook alive. The hook is set
    for MadGraph input whose settings switch MLM matching on (``JetMatching:merge = on``);
    without it MadGraph events are showered as they are (the study's main_MG5Py8_Zjets.cc)."""
    import pythia8mc

    if not 1 <= seed <= 900_000_000:
        raise ValueError(f"Pythia seed {seed} outside 1..900000000")
    pythia = pythia8mc.Pythia("", False)
    lines = [*settings, "Random:setSeed = on", f"Random:seed = {seed}"]
    if skip_lhe:
        lines.append(f"Beams:nSkipLHEFatInit = {skip_lhe}")
    for line in lines:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    hook = None
    if lhe_generator == "madgraph" and "JetMatching:merge = on" in settings:
        hook = pythia8mc.JetMatchingMadgraph()
        pythia.setUserHooksPtr(hook)
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed (see its log above)")
    return pythia, hook


def generate_block(settings: list[str], seed: int, events: int, *, process: str = "",
                   lhe_generator: str | None = None, lhe_start: int = 0,
                   max_errors: int = 50, lhef_path: str | None = None) -> TruthBlock:
    """Generate ``events`` events (with LHE: shower LHE events ``lhe_start`` … ``lhe_start +
    events − 1``, keeping those that pass matching) and copy out their truth record.

    ``lhef_path``: also write the accepted events' full event record as an LHEF 3 file there
    (Pythia's ``LHEF3FromPythia8``; the cross-section in ``<init>`` is updated at the end)."""
    t0 = time.perf_counter()
    pythia, _hook = make_pythia(settings, seed, lhe_generator, skip_lhe=lhe_start)
    lhef = None
    if lhef_path is not None:
        import pythia8mc

        lhef = pythia8mc.LHEF3FromPythia8(pythia, 15, True)
        lhef.openLHEF(str(lhef_path))
        lhef.setInit()
    t_init = time.perf_counter() - t0
    charge = _ChargeTable(pythia.particleData)
    event = pythia.event
    chunks: list[np.ndarray] = []
    vertex_rows: list[list[tuple[float, float, float]]] = []
    counts: list[int] = []
    weights: list[float] = []
    variations: list[list[float]] = []
    lhe_index: list[int] = []
    errors = 0
    extract = 0.0
    n_var = 0
    names: list[str] = []
    while True:
        info = pythia.infoPython()  # a snapshot: fetch it again after every next()
        if lhe_generator is None and len(counts) >= events:
            break
        if lhe_generator is not None and info.nTried() >= events:
            break
        if not pythia.next():
            if lhe_generator is not None and info.atEndOfFile():
                break
            errors += 1
            if errors > max_errors:
                raise RuntimeError(f"Pythia failed {errors} times in this block; giving up")
            continue
        info = pythia.infoPython()
        if lhe_generator is not None and info.nTried() > events:
            break  # accepted event came from the next block's LHE slice
        if lhef is not None:
            lhef.setEvent()
        t1 = time.perf_counter()
        rows = [(q.id(), q.statusHepMC(), q.mother1(), q.mother2(), q.daughter1(),
                 q.daughter2(), q.px(), q.py(), q.pz(), q.e(), q.m())
                for q in event]
        arr = np.array(rows[1:], dtype=np.float64)
        wanted = np.flatnonzero((arr[:, 1] == 1) & (charge(arr[:, 0].astype(np.int64)) != 0)) + 1
        final_charged = [(q.xProd(), q.yProd(), q.zProd())
                         for q in (event[int(i)] for i in wanted)]
        extract += time.perf_counter() - t1
        chunks.append(arr)
        vertex_rows.append(final_charged)
        counts.append(arr.shape[0])
        weights.append(info.weight())
        if not names and info.numberOfWeights() > 1:
            names = [info.weightNameByIndex(i) for i in range(1, info.numberOfWeights())]
            n_var = len(names)
        variations.append([info.weightValueByIndex(i) for i in range(1, 1 + n_var)])
        lhe_index.append(lhe_start + info.nTried() - 1 if lhe_generator else -1)
    if lhef is not None:
        lhef.closeLHEF(True)
    t1 = time.perf_counter()
    table = np.concatenate(chunks) if chunks else np.zeros((0, len(TRUTH_FIELDS)))
    fields: dict[str, np.ndarray] = {}
    for i, (name, dtype) in enumerate(TRUTH_FIELDS.items()):
        fields[name] = table[:, i].astype(dtype)
    # Pythia indices (entry 0 is the system) → 0-based Delphes indices, −1 for none
    for name in ("M1", "M2", "D1", "D2"):
        fields[name] = fields[name] - 1
    d1, d2 = fields["D1"], fields["D2"]
    single = (d1 >= 0) & (d2 < 0)
    d2 = np.where(single, d1, d2)
    swap = (d2 >= 0) & (d2 < d1)
    fields["D1"], fields["D2"] = np.where(swap, d2, d1), np.where(swap, d1, d2)
    charge_type = charge(fields["PID"])
    fields["Charge"] = np.rint(charge_type / 3.0).astype(np.int32)
    xyz = np.zeros((table.shape[0], 3))
    final_charged = (fields["Status"] == 1) & (charge_type != 0)
    flat_vertices = [v for rows in vertex_rows for v in rows]
    if flat_vertices:
        xyz[final_charged] = np.asarray(flat_vertices, dtype=np.float64)
    fields["X"], fields["Y"], fields["Z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    extract += time.perf_counter() - t1
    info = pythia.infoPython()
    forced = forced_branching_fraction(pythia, process)
    block = TruthBlock(
        counts=np.asarray(counts, dtype=np.int64), fields=fields,
        weights=np.asarray(weights, dtype=np.float64),
        variation_weights=np.asarray(variations, dtype=np.float64).reshape(len(counts), n_var),
        variation_names=names, lhe_index=np.asarray(lhe_index, dtype=np.int64),
        sigma_mb=float(info.sigmaGen()), sigma_err_mb=float(info.sigmaErr()),
        n_tried=int(info.nTried()), n_accepted=int(info.nAccepted()),
        seconds=time.perf_counter() - t0, extract_seconds=extract, forced_br=forced,
        init_seconds=t_init,
    )
    return block
