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

import awkward as ak
import numba
import numpy as np

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
