"""The 4-lepton (H → ZZ* → 4ℓ) selection of the 'How much Higgs?' notebook, as pure functions.

Every function takes awkward arrays in GeV (see :mod:`hzx.processors.atlas_objects`) and returns
a boolean mask per event. Defaults reproduce the notebook, quirks included (see
``spec/fourlep-selection.md``):

- the kinematic cut looks at max/min over *all* leptons of the event;
- the isolation cut applies ``ptcone30/pt < 0.3`` only (the notebook writes it twice and never the
  ``etcone20`` one) — :func:`etcone20_isolation` is the evident intention, off by default;
- the trigger (``trigE or trigM``) is computed but not required by default.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

#: Σ lep_type of the accepted flavour combinations (11 = e, 13 = μ) and their names.
CHANNELS: dict[int, str] = {44: "4e", 48: "2e2mu", 52: "4mu"}


def _fill(mask: ak.Array) -> np.ndarray:
    """Events without leptons give None for max/min: they fail."""
    return ak.to_numpy(ak.fill_none(mask, False)).astype(bool)


def lepton_kinematics(leptons: ak.Array, lead_pt_min: float = 20.0, pt_min: float = 7.0,
                      eta_max: float = 2.5) -> np.ndarray:
    """max pT > ``lead_pt_min`` and min pT > ``pt_min`` (GeV) and every |η| < ``eta_max``.

    As the notebook: ``min(eta) > -eta_max and max(eta) < eta_max`` over all leptons.
    """
    pt, eta = leptons.pt, leptons.eta
    return _fill((ak.max(pt, axis=1) > lead_pt_min) & (ak.min(pt, axis=1) > pt_min)
                 & (ak.min(eta, axis=1) > -eta_max) & (ak.max(eta, axis=1) < eta_max))


def lepton_flavour(leptons: ak.Array) -> np.ndarray:
    """Σ lep_type ∈ {44, 48, 52}: the sums of 4e, 2e2μ, 4μ."""
    total = ak.to_numpy(ak.sum(leptons["type"], axis=1))
    return np.isin(total, list(CHANNELS))


def channel_index(leptons: ak.Array) -> np.ndarray:
    """0, 1, 2 for 4e, 2e2μ, 4μ (Σ lep_type 44, 48, 52); −1 for anything else."""
    total = ak.to_numpy(ak.sum(leptons["type"], axis=1))
    out = np.full(len(total), -1, dtype=np.int64)
    for i, value in enumerate(CHANNELS):
        out[total == value] = i
    return out


def ptcone30_isolation(leptons: ak.Array, max_relative: float = 0.3) -> np.ndarray:
    """max over leptons of ptcone30/pt < ``max_relative`` (track isolation, the notebook's cut)."""
    return _fill(ak.max(leptons.ptcone30 / leptons.pt, axis=1) < max_relative)


def etcone20_isolation(leptons: ak.Array, max_relative: float = 0.3) -> np.ndarray:
    """max over leptons of etcone20/pt < ``max_relative`` (calorimeter isolation; the notebook
    computes it but never applies it)."""
    return _fill(ak.max(leptons.etcone20 / leptons.pt, axis=1) < max_relative)


def lepton_multiplicity(leptons: ak.Array, n: int = 4) -> np.ndarray:
    """Exactly ``n`` leptons."""
    return ak.to_numpy(ak.num(leptons, axis=1)) == n


def charge_neutral(leptons: ak.Array) -> np.ndarray:
    """Σ lepton charge = 0."""
    return ak.to_numpy(ak.sum(leptons.charge, axis=1)) == 0


def trigger(trig_e: ak.Array, trig_m: ak.Array) -> np.ndarray:
    """Single-electron or single-muon trigger fired (``trigE or trigM``)."""
    return ak.to_numpy(trig_e).astype(bool) | ak.to_numpy(trig_m).astype(bool)


def four_lepton_mass(leptons: ak.Array) -> np.ndarray:
    """Invariant mass (GeV) of the sum of the first four leptons of events with ≥ 4 leptons.

    Computed from (pt, eta, phi, E) in float64; a slightly negative m² (rounding) gives 0.
    """
    if len(leptons) and ak.min(ak.num(leptons, axis=1)) < 4:
        raise ValueError("four_lepton_mass needs events with at least four leptons")
    first4 = leptons[:, :4]
    pt = ak.to_numpy(ak.flatten(first4.pt)).reshape(-1, 4)
    eta = ak.to_numpy(ak.flatten(first4.eta)).reshape(-1, 4)
    phi = ak.to_numpy(ak.flatten(first4.phi)).reshape(-1, 4)
    energy = ak.to_numpy(ak.flatten(first4.energy)).reshape(-1, 4)
    px = (pt * np.cos(phi)).sum(axis=1)
    py = (pt * np.sin(phi)).sum(axis=1)
    pz = (pt * np.sinh(eta)).sum(axis=1)
    e = energy.sum(axis=1)
    return np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
