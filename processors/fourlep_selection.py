"""The 4-lepton (H → ZZ* → 4ℓ) selection of the 'How much Higgs?' notebook, as pure functions.

Every function takes the leptons of a chunk of events in GeV — a
:class:`~hzx.processors.atlas_objects.Leptons` table or a jagged awkward record array with
fields pt, eta, phi, energy, charge, type, ptcone30 (etcone20) — and returns a boolean numpy mask
per event. Defaults reproduce the notebook, quirks included (see ``spec/fourlep-selection.md``):

- the kinematic cut looks at max/min over *all* leptons of the event;
- the isolation cut applies ``ptcone30/pt < 0.3`` only (the notebook writes it twice and never the
  ``etcone20`` one) — :func:`etcone20_isolation` is the evident intention, off by default;
- the trigger (``trigE or trigM``) is computed but not required by default.

Events without leptons fail every cut that looks at lepton values.
"""

from __future__ import annotations

import dataclasses

import awkward as ak
import numba
import numpy as np

from hzx.processors import fastmath
from hzx.processors.atlas_objects import Leptons
from hzx.processors.kinematics import invariant_mass, momentum

#: Σ lep_type of the accepted flavour combinations (11 = e, 13 = μ) and their names.
CHANNELS: dict[int, str] = {44: "4e", 48: "2e2mu", 52: "4mu"}


def _table(leptons) -> Leptons:
    return leptons if isinstance(leptons, Leptons) else Leptons.from_awkward(leptons)


# Per-event reductions over the leptons: one compiled pass each (numpy's ufunc.reduceat costs
# several times more, and was the largest part of the selection's run time).
# Kept beside awkward's reductions because benchmarks/bench_fourlep_kernels.py measures the
# gain: the whole selection and m4ℓ on the same 10⁶ events (the real files repeated), Leptons
# table + these kernels 0.10–0.13 s against 0.13–0.20 s for ak.max/ak.min/ak.sum on the jagged
# array — awkward 1.16–1.63× slower (three runs, 2-core machine under load), with identical
# events selected and m4ℓ equal to 1e-12. The selection runs three times per simulated chunk
# (nominal, lepton scale up and down), so awkward would make the 4ℓ processor slower.
#     python benchmarks/bench_fourlep_kernels.py --events 1000000 --repeat 7
@numba.njit(cache=True)
def _segment_max(values, offsets, empty):  # pragma: no cover - compiled
    out = np.empty(len(offsets) - 1)
    for i in range(len(offsets) - 1):
        best = empty
        for j in range(offsets[i], offsets[i + 1]):
            if values[j] > best:
                best = values[j]
        out[i] = best
    return out


@numba.njit(cache=True)
def _segment_min(values, offsets, empty):  # pragma: no cover - compiled
    out = np.empty(len(offsets) - 1)
    for i in range(len(offsets) - 1):
        best = empty
        for j in range(offsets[i], offsets[i + 1]):
            if values[j] < best:
                best = values[j]
        out[i] = best
    return out


@numba.njit(cache=True)
def _segment_sum(values, offsets):  # pragma: no cover - compiled
    out = np.zeros(len(offsets) - 1, dtype=values.dtype)
    for i in range(len(offsets) - 1):
        for j in range(offsets[i], offsets[i + 1]):
            out[i] += values[j]
    return out


def segment_max(values, offsets):
    """Per-event maximum (−inf for events without leptons), float64."""
    return _segment_max(np.asarray(values, dtype=np.float64), np.asarray(offsets, np.int64),
                        -np.inf)


def segment_min(values, offsets):
    """Per-event minimum (+inf for events without leptons), float64."""
    return _segment_min(np.asarray(values, dtype=np.float64), np.asarray(offsets, np.int64),
                        np.inf)


def segment_sum(values, offsets):
    """Per-event sum (0 for events without leptons), in the values' type (int64 for integers)."""
    values = np.asarray(values)
    values = values.astype(np.int64 if values.dtype.kind in "iub" else np.float64, copy=False)
    return _segment_sum(values, np.asarray(offsets, np.int64))


def lepton_kinematics(leptons, lead_pt_min: float = 20.0, pt_min: float = 7.0,
                      eta_max: float = 2.5) -> np.ndarray:
    """max pT > ``lead_pt_min`` and min pT > ``pt_min`` (GeV) and every |η| < ``eta_max``.

    As the notebook: ``min(eta) > -eta_max and max(eta) < eta_max`` over all leptons.
    """
    lep = _table(leptons)
    o = lep.offsets
    return ((lep.counts > 0)
            & (segment_max(lep.pt, o) > lead_pt_min) & (segment_min(lep.pt, o) > pt_min)
            & (segment_min(lep.eta, o) > -eta_max) & (segment_max(lep.eta, o) < eta_max))


def flavour_sum(leptons) -> np.ndarray:
    """Σ lep_type per event (44 = 4e, 48 = 2e2μ, 52 = 4μ for four leptons)."""
    lep = _table(leptons)
    return segment_sum(lep.type, lep.offsets)


def lepton_flavour(leptons) -> np.ndarray:
    """Σ lep_type ∈ {44, 48, 52}: the sums of 4e, 2e2μ, 4μ."""
    return np.isin(flavour_sum(leptons), list(CHANNELS))


def channel_index(leptons) -> np.ndarray:
    """0, 1, 2 for 4e, 2e2μ, 4μ (Σ lep_type 44, 48, 52); −1 for anything else."""
    total = flavour_sum(leptons)
    out = np.full(len(total), -1, dtype=np.int64)
    for i, value in enumerate(CHANNELS):
        out[total == value] = i
    return out


def ptcone30_isolation(leptons, max_relative: float = 0.3) -> np.ndarray:
    """max over leptons of ptcone30/pt < ``max_relative`` (track isolation, the notebook's cut)."""
    lep = _table(leptons)
    return (lep.counts > 0) & (segment_max(lep.ptcone30 / lep.pt, lep.offsets) < max_relative)


def etcone20_isolation(leptons, max_relative: float = 0.3) -> np.ndarray:
    """max over leptons of etcone20/pt < ``max_relative`` (calorimeter isolation; the notebook
    computes it but never applies it)."""
    lep = _table(leptons)
    if lep.etcone20 is None:
        raise ValueError("etcone20 was not read: build the leptons with with_etcone20=True")
    return (lep.counts > 0) & (segment_max(lep.etcone20 / lep.pt, lep.offsets) < max_relative)


def lepton_multiplicity(leptons, n: int = 4) -> np.ndarray:
    """Exactly ``n`` leptons."""
    return _table(leptons).counts == n


def charge_neutral(leptons) -> np.ndarray:
    """Σ lepton charge = 0."""
    lep = _table(leptons)
    return segment_sum(lep.charge, lep.offsets) == 0


def trigger(trig_e, trig_m) -> np.ndarray:
    """Single-electron or single-muon trigger fired (``trigE or trigM``)."""
    return ak.to_numpy(trig_e).astype(bool) | ak.to_numpy(trig_m).astype(bool)


def first_four(leptons, events: np.ndarray | None = None) -> np.ndarray:
    """Flat indices of the first four leptons of each chosen event (all events by default),
    four per event in order; events with fewer than four leptons are an error."""
    lep = _table(leptons)
    starts = lep.offsets[:-1] if events is None else lep.offsets[:-1][events]
    counts = lep.counts if events is None else lep.counts[events]
    if len(counts) and counts.min() < 4:
        raise ValueError("four_lepton_mass needs events with at least four leptons")
    return (starts[:, None] + np.arange(4)).ravel()


def four_lepton_mass(leptons, events: np.ndarray | None = None) -> np.ndarray:
    """Invariant mass (GeV) of the sum of the first four leptons of each chosen event
    (a boolean mask or indices; all events by default), which must have ≥ 4 leptons.

    Computed from (pt, eta, phi, E) in float64; a slightly negative m² (rounding) gives 0.
    """
    lep = _table(leptons)
    index = first_four(lep, events)
    px, py, pz = (c.reshape(-1, 4).sum(axis=1)
                  for c in momentum(lep.pt[index], lep.eta[index], lep.phi[index]))
    return invariant_mass(px, py, pz, lep.energy[index].reshape(-1, 4).sum(axis=1))


# -- the whole selection in one compiled pass ----------------------------------------------------
# The functions above state the cuts one by one (and the tests pin each); the processor runs them
# fused: one pass over the stored columns (float32 MeV, no converted copies), every cut and m4ℓ
# per event, with the arithmetic of the functions above (pT/1000 in float64 then the scale
# factor, ptcone30/1000 over that pT, the same comparisons) so the same events pass. m4ℓ takes
# sin, cos and sinh from hzx.processors.fastmath (≤ 1 ulp from libm, 5–8 ns instead of 25–40 ns:
# with three per lepton, libm's were the largest cost of the processor after reading).


@dataclasses.dataclass(frozen=True)
class StoredLeptons:
    """The ``lep_*`` branches of a chunk as stored (momenta and energies in MeV, float32;
    ``type``, ``charge`` integers): ``offsets[i]:offsets[i + 1]`` index event ``i``'s leptons
    in every column. Views of the read buffers, nothing converted."""

    offsets: np.ndarray
    pt_mev: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    energy_mev: np.ndarray
    charge: np.ndarray
    type: np.ndarray
    ptcone30_mev: np.ndarray
    etcone20_mev: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1


@dataclasses.dataclass(frozen=True)
class SelectionResult:
    """``level``, per event: how many of the cuts after ``all`` it passes in a row, in the order
    of ``FourLeptonOptions.cut_names``, the m4ℓ window last. ``index``: the events passing every
    cut before the window (increasing), and for those, in that order, ``m4l`` (GeV),
    ``lead_pt`` (GeV) and ``lead_eta`` of their first four leptons (shape (4, events): row
    ``r``, the lepton at position ``r``), ``channel`` (0, 1, 2 for 4e, 2e2μ, 4μ),
    ``n_electrons`` and ``n_muons``. pT and E with the scale shift applied."""

    level: np.ndarray
    index: np.ndarray
    m4l: np.ndarray
    lead_pt: np.ndarray
    lead_eta: np.ndarray
    channel: np.ndarray
    n_electrons: np.ndarray
    n_muons: np.ndarray


#: events per block of the m4ℓ pass (its buffers stay in the L1/L2 caches)
_BLOCK = 512


@numba.njit(cache=True, error_model="numpy", fastmath=set(fastmath.FLAGS))
def _select(offsets, pt_mev, eta, phi, energy_mev, charge, ltype, ptcone30_mev, etcone20_mev,
            use_etcone20, trigger, use_trigger, mev_per_gev, lead_pt_min, pt_min, eta_max,
            ptcone30_max, etcone20_max, electron_factor, muon_factor, m4l_min, m4l_max,
            level):  # pragma: no cover - compiled
    n = len(offsets) - 1
    index = np.empty(n, np.int64)
    chosen = 0
    # In MeV, as stored: pT/1000 rounds monotonically, so the event's largest and smallest pT
    # in GeV are its stored extremes divided once (two divisions per event, not one per
    # lepton: divisions bound this loop); ptcone30/pT is a ratio of two MeV values, divided
    # once per lepton
    for i in range(n):
        lo = offsets[i]
        hi = offsets[i + 1]
        pt_hi = -np.inf
        pt_lo = np.inf
        eta_hi = -np.inf
        eta_lo = np.inf
        iso30 = -np.inf
        iso20 = -np.inf
        type_sum = 0
        charge_sum = 0
        for j in range(lo, hi):
            t = ltype[j]
            factor = electron_factor if t == 11 else (muon_factor if t == 13 else 1.0)
            pt = np.float64(pt_mev[j]) * factor
            pt_hi = pt if pt > pt_hi else pt_hi
            pt_lo = pt if pt < pt_lo else pt_lo
            e = np.float64(eta[j])
            eta_hi = e if e > eta_hi else eta_hi
            eta_lo = e if e < eta_lo else eta_lo
            r = np.float64(ptcone30_mev[j]) / pt
            iso30 = r if r > iso30 else iso30
            if use_etcone20:
                r = np.float64(etcone20_mev[j]) / pt
                iso20 = r if r > iso20 else iso20
            type_sum += t
            charge_sum += charge[j]
        pt_hi = pt_hi / mev_per_gev
        pt_lo = pt_lo / mev_per_gev
        flavour = type_sum == 44 or type_sum == 48 or type_sum == 52
        count = hi - lo
        passed = 0
        ok = (count > 0 and pt_hi > lead_pt_min and pt_lo > pt_min and eta_lo > -eta_max
              and eta_hi < eta_max)
        passed += ok
        ok = ok and flavour
        passed += ok
        ok = ok and iso30 < ptcone30_max
        passed += ok
        if use_etcone20:
            ok = ok and iso20 < etcone20_max
            passed += ok
        ok = ok and count == 4
        passed += ok
        ok = ok and charge_sum == 0
        passed += ok
        if use_trigger:
            ok = ok and trigger[i]
            passed += ok
        level[i] = passed
        if ok:
            index[chosen] = i
            chosen += 1
    index = index[:chosen].copy()

    # m4ℓ of the chosen events (exactly four leptons each) in blocks: per block the four
    # leptons' (pT, φ, η) are gathered and their momenta computed in one flat loop of
    # independent iterations, where fastmath's latency-bound polynomials overlap (~6 ns per
    # call; ~60 ns inside the per-event loop), into small buffers that stay in cache (fresh
    # arrays of the chunk's size cost a page fault per 4 kB)
    m4l = np.empty(chosen)
    lead_pt = np.empty((4, chosen))
    lead_eta = np.empty((4, chosen))
    channel = np.empty(chosen, np.int8)
    n_electrons = np.empty(chosen, np.int8)
    n_muons = np.empty(chosen, np.int8)
    pt = np.empty(4 * _BLOCK)
    angle = np.empty(4 * _BLOCK)
    rapidity = np.empty(4 * _BLOCK)
    energy = np.empty(4 * _BLOCK)
    px = np.empty(4 * _BLOCK)
    py = np.empty(4 * _BLOCK)
    pz = np.empty(4 * _BLOCK)
    for first in range(0, chosen, _BLOCK):
        size = min(_BLOCK, chosen - first)
        for k in range(size):
            start = offsets[index[first + k]]
            type_sum = 0
            n_e = 0
            n_mu = 0
            for r in range(4):
                j = start + r
                t = ltype[j]
                type_sum += t
                n_e += t == 11
                n_mu += t == 13
                factor = electron_factor if t == 11 else (muon_factor if t == 13 else 1.0)
                pt[4 * k + r] = (np.float64(pt_mev[j]) * factor) / mev_per_gev
                angle[4 * k + r] = phi[j]
                rapidity[4 * k + r] = eta[j]
                lead_pt[r, first + k] = pt[4 * k + r]
                lead_eta[r, first + k] = rapidity[4 * k + r]
                energy[4 * k + r] = (np.float64(energy_mev[j]) * factor) / mev_per_gev
            channel[first + k] = 0 if type_sum == 44 else (1 if type_sum == 48 else 2)
            n_electrons[first + k] = n_e
            n_muons[first + k] = n_mu
        for q in range(4 * size):
            s, c = fastmath.sin_cos(angle[q])
            px[q] = pt[q] * c
            py[q] = pt[q] * s
            pz[q] = pt[q] * fastmath.sinh(rapidity[q])
        for k in range(size):
            x = 0.0
            y = 0.0
            z = 0.0
            e = 0.0
            for r in range(4):
                x += px[4 * k + r]
                y += py[4 * k + r]
                z += pz[4 * k + r]
                e += energy[4 * k + r]
            mass = np.sqrt(max(e * e - x * x - y * y - z * z, 0.0))
            m4l[first + k] = mass
            level[index[first + k]] += mass >= m4l_min and mass < m4l_max
    return index, m4l, lead_pt, lead_eta, channel, n_electrons, n_muons


def select_events(leptons: StoredLeptons, options, trigger: np.ndarray | None = None,
                  electron_scale: float = 0.0, muon_scale: float = 0.0) -> SelectionResult:
    """Every cut of ``options`` (a ``FourLeptonOptions``) and m4ℓ, in one pass.

    ``trigger``: per event ``trigE or trigM`` (needed when ``options.require_trigger``).
    ``electron_scale``/``muon_scale``: relative pT and E shifts (the lepton-scale systematic,
    every lepton's pT and E times 1 + shift, directions unchanged); 0 for the nominal selection.
    """
    from hzx.processors.atlas_objects import MEV_PER_GEV

    n = len(leptons)
    if options.apply_etcone20_isolation and leptons.etcone20_mev is None:
        raise ValueError("etcone20 was not read: build the leptons with with_etcone20=True")
    if options.require_trigger and trigger is None:
        raise ValueError("the trigger cut needs the per-event trigger decision")
    empty = np.zeros(0, dtype=np.float32)
    level = np.empty(n, np.int8)
    index, m4l, lead_pt, lead_eta, channel, n_electrons, n_muons = _select(
        np.asarray(leptons.offsets, np.int64), leptons.pt_mev, leptons.eta, leptons.phi,
        leptons.energy_mev, leptons.charge, leptons.type, leptons.ptcone30_mev,
        leptons.etcone20_mev if options.apply_etcone20_isolation else empty,
        bool(options.apply_etcone20_isolation),
        (np.asarray(trigger, dtype=np.bool_) if options.require_trigger
         else np.zeros(0, np.bool_)),
        bool(options.require_trigger), MEV_PER_GEV, float(options.lead_pt_min_gev),
        float(options.pt_min_gev), float(options.eta_max), float(options.ptcone30_max),
        float(options.etcone20_max), 1.0 + electron_scale, 1.0 + muon_scale,
        float(options.m4l_min_gev), float(options.m4l_max_gev), level)
    return SelectionResult(level=level, index=index, m4l=m4l, lead_pt=lead_pt,
                           lead_eta=lead_eta, channel=channel, n_electrons=n_electrons,
                           n_muons=n_muons)


@numba.njit(cache=True)
def _offsets_of_index(n_events, index, offsets):  # pragma: no cover - compiled
    k = 0
    offsets[0] = 0
    for i in range(n_events):
        if k < len(index) and index[k] == i:
            k += 1
        offsets[i + 1] = k


def offsets_of_index(n_events: int, index: np.ndarray) -> np.ndarray:
    """Offsets (``n_events + 1``) of per-event lists holding one entry for each event of
    ``index`` (increasing, no repeats) and none for the others."""
    offsets = np.empty(n_events + 1, dtype=np.int64)
    _offsets_of_index(n_events, np.asarray(index, dtype=np.int64), offsets)
    return offsets
