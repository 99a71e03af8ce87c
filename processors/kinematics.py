"""Kinematics as pure functions: Δφ, ΔR and four-momentum sums — one copy for every module.

All functions work element-wise on numpy arrays, awkward arrays (jagged or option-typed: the
structure is kept) and plain floats, in the inputs' float type. Energies, momenta and masses in
GeV; angles in radians.

Conventions (the ones the specs name):

- Δφ = atan2(sin(φ1 − φ2), cos(φ1 − φ2)) ∈ [−π, π] (``spec/ghost-track-observables.md``); for
  |φ1 − φ2| ≤ π it is φ1 − φ2 to 1 ulp, and exactly ±π stays ±π with its sign. The compiled
  kernels of :mod:`hzx.processors.track_kernels` reproduce this formula where a comparison
  could depend on the last bit.
- Masses from ``m² = E² − px² − py² − pz²`` evaluated left to right; a space-like m² (rounding,
  or a smeared object) gives 0 by default, or −√(−m²) with ``signed=True`` — ROOT's
  ``TLorentzVector::M`` and Pythia's ``Vec4::mCalc``, which the fast simulation and the
  generator-level histograms reproduce.
"""

from __future__ import annotations

import numpy as np


def delta_phi(phi1, phi2):
    """φ1 − φ2 wrapped into [−π, π] as atan2(sin, cos)."""
    d = phi1 - phi2
    return np.arctan2(np.sin(d), np.cos(d))


def delta_r2(eta1, phi1, eta2, phi2):
    """ΔR² = Δη² + Δφ² (Δφ from :func:`delta_phi`)."""
    deta = eta1 - eta2
    dphi = delta_phi(phi1, phi2)
    return deta * deta + dphi * dphi


def delta_r(eta1, phi1, eta2, phi2):
    """ΔR = √(Δη² + Δφ²) (Δφ from :func:`delta_phi`)."""
    return np.sqrt(delta_r2(eta1, phi1, eta2, phi2))


def momentum(pt, eta, phi):
    """(px, py, pz) from (pT, η, φ)."""
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)


def energy(pt, eta, mass):
    """E = √(p² + m²) with p = pT·cosh η (the form Delphes' candidates and tracks use)."""
    p = pt * np.cosh(eta)
    return np.sqrt(p * p + mass * mass)


def four_momentum(pt, eta, phi, mass):
    """(px, py, pz, E) from (pT, η, φ, m), E = √(px² + py² + pz² + m²) (ROOT's
    ``SetPtEtaPhiM``, which the HZa2018 study uses; :func:`energy` differs in the last bits)."""
    px, py, pz = momentum(pt, eta, phi)
    return px, py, pz, np.sqrt(px * px + py * py + pz * pz + mass * mass)


def mass_squared(px, py, pz, e):
    """m² = E² − px² − py² − pz² (left to right)."""
    return e * e - px * px - py * py - pz * pz


def invariant_mass(px, py, pz, e, *, signed: bool = False):
    """√m² of a four-momentum (or of a sum of them: add the components first).

    A space-like m² gives 0, or −√(−m²) when ``signed`` (ROOT's and Pythia's convention).
    NaN components give NaN.
    """
    m2 = mass_squared(px, py, pz, e)
    if signed:
        return np.sign(m2) * np.sqrt(np.abs(m2))
    return np.sqrt(np.maximum(m2, 0.0))
