"""The Delphes CMS card (``cards/delphes_card_CMS.tcl``) as frozen configuration, one dataclass per
module of the card's execution path; defaults are the card's numbers.

Units: GeV for pT and energies, m and T for the solenoid. Where the card writes a formula, the
dataclass holds its numbers and :mod:`hzx.generation.delphes_modules` evaluates it the way Delphes
does (including which η it is evaluated at).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

# ---------------------------------------------------------------------------------------------
# Formulas of the card (module-level so that cards pickle to Dask workers)
# ---------------------------------------------------------------------------------------------


def cms_ecal_resolution(eta: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """σ(E) of the CMS ECAL (GeV), evaluated at the tower centre's η as SimpleCalorimeter does;
    0 beyond |η| = 5."""
    aeta = np.abs(eta)
    core = np.sqrt(energy**2 * 0.008**2 + energy * 0.11**2 + 0.40**2)
    return ((aeta <= 1.5) * (1 + 0.64 * eta**2) * core
            + ((aeta > 1.5) & (aeta <= 2.5)) * (2.16 + 5.6 * (aeta - 2) ** 2) * core
            + ((aeta > 2.5) & (aeta <= 5.0)) * np.sqrt(energy**2 * 0.107**2 + energy * 2.08**2))


def cms_hcal_resolution(eta: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """σ(E) of the CMS HCAL (GeV); 0 beyond |η| = 5."""
    aeta = np.abs(eta)
    return ((aeta <= 3.0) * np.sqrt(energy**2 * 0.050**2 + energy * 1.50**2)
            + ((aeta > 3.0) & (aeta <= 5.0)) * np.sqrt(energy**2 * 0.130**2 + energy * 2.70**2))


def cms_btag_efficiency(flavour: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """BTagging efficiency by flavour (5: b, 4: c, anything else: the card's entry 0)."""
    b = 0.85 * np.tanh(0.0025 * pt) * (25.0 / (1 + 0.063 * pt))
    c = 0.25 * np.tanh(0.018 * pt) * (1 / (1 + 0.0013 * pt))
    light = 0.01 + 0.000038 * pt
    return np.where(flavour == 5, b, np.where(flavour == 4, c, light))


# ---------------------------------------------------------------------------------------------
# Calorimeter segmentation, written as the card writes it
# ---------------------------------------------------------------------------------------------


def _cms_ecal_bins() -> tuple[tuple[tuple[float, ...], int], ...]:
    barrel = tuple(i * 0.0174 for i in range(-85, 87))
    endcap = tuple(-2.958 + i * 0.0174 for i in range(1, 85)) + tuple(
        1.4964 + i * 0.0174 for i in range(1, 85))
    forward = (-5, -4.7, -4.525, -4.35, -4.175, -4, -3.825, -3.65, -3.475, -3.3, -3.125, -2.958,
               3.125, 3.3, 3.475, 3.65, 3.825, 4, 4.175, 4.35, 4.525, 4.7, 5)
    return ((barrel, 360), (endcap, 360), (tuple(float(x) for x in forward), 36))


def _cms_hcal_bins() -> tuple[tuple[tuple[float, ...], int], ...]:
    five_degrees = (-1.566, -1.479, -1.392, -1.305, -1.218, -1.131, -1.044, -0.957, -0.87, -0.783,
                    -0.696, -0.609, -0.522, -0.435, -0.348, -0.261, -0.174, -0.087, 0, 0.087,
                    0.174, 0.261, 0.348, 0.435, 0.522, 0.609, 0.696, 0.783, 0.87, 0.957, 1.044,
                    1.131, 1.218, 1.305, 1.392, 1.479, 1.566, 1.653)
    ten_degrees = (-4.35, -4.175, -4, -3.825, -3.65, -3.475, -3.3, -3.125, -2.95, -2.868, -2.65,
                   -2.5, -2.322, -2.172, -2.043, -1.93, -1.83, -1.74, -1.653, 1.74, 1.83, 1.93,
                   2.043, 2.172, 2.322, 2.5, 2.65, 2.868, 2.95, 3.125, 3.3, 3.475, 3.65, 3.825,
                   4, 4.175, 4.35, 4.525)
    twenty_degrees = (-5, -4.7, -4.525, 4.7, 5)
    return tuple((tuple(float(x) for x in edges), n) for edges, n in (
        (five_degrees, 72), (ten_degrees, 36), (twenty_degrees, 18)))


_NEUTRAL_INVISIBLE = ((12, 0.0), (13, 0.0), (14, 0.0), (16, 0.0), (1000022, 0.0),
                      (1000023, 0.0), (1000025, 0.0), (1000035, 0.0), (1000045, 0.0))


# ---------------------------------------------------------------------------------------------
# One dataclass per module
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Propagator:
    """ParticlePropagator: a solenoid of radius ``radius_m``, half-length ``half_length_m`` and
    field ``bz_tesla``; particles produced outside it are dropped."""

    radius_m: float = 1.29
    half_length_m: float = 3.00
    bz_tesla: float = 3.8


@dataclasses.dataclass(frozen=True)
class BinnedEfficiency:
    """A card efficiency ``Σ (|η| bin) · (pT bin) · value``, evaluated at the candidate's
    *position* η (Delphes' Efficiency module; the calorimeter entry point for tracks).

    ``eta_edges``: upper |η| edges of the bins (lower edge of the first is 0, ``|η| ≤ edge``).
    ``pt_edges``: pT thresholds; bin *j* is ``pt_edges[j] < pT ≤ pt_edges[j+1]`` (the last bin is
    open); below ``pt_edges[0]`` the efficiency is 0. ``values[i][j]`` for |η| bin *i*, pT bin *j*.
    ``falloff_last_bin``: the muon tracking tail, value · exp(0.5 − pT·5e−4) in the last pT bin.
    """

    eta_edges: tuple[float, ...]
    pt_edges: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]
    falloff_last_bin: bool = False


@dataclasses.dataclass(frozen=True)
class MomentumResolution:
    """MomentumSmearing: σ(pT)/pT = √(a² + pT²·b²) per |η| bin (``|η| ≤ edge``), for pT > 0.1
    GeV, evaluated at the position η; clipped at 1; applied log-normally to pT."""

    eta_edges: tuple[float, ...]
    ab: tuple[tuple[float, float], ...]
    pt_min: float = 0.1


@dataclasses.dataclass(frozen=True)
class Calorimeter:
    """SimpleCalorimeter: towers on ``eta_phi_bins`` (entries of (η edges, φ bins); a bin takes
    the φ division listed with its upper η edge), ``energy_fractions`` ((|PID|, fraction) pairs,
    ``default_fraction`` for the rest), log-normal smearing with ``resolution(η, E)``, towers kept
    above ``energy_min`` and ``significance_min`` σ, tower centres smeared uniformly inside the
    tower (``smear_tower_center``), and energy flow: a neutral excess over the tracks is an
    e-flow tower when > ``energy_min`` and > ``significance_min`` · √(σ_trk² + σ²), otherwise the
    tracks are rescaled to the weighted mean of the track and calorimeter measurements."""

    is_ecal: bool
    eta_phi_bins: tuple[tuple[tuple[float, ...], int], ...]
    energy_fractions: tuple[tuple[int, float], ...]
    default_fraction: float
    energy_min: float
    significance_min: float
    resolution: Callable[[np.ndarray, np.ndarray], np.ndarray]
    smear_tower_center: bool = True

    def fraction(self, abs_pid: np.ndarray) -> np.ndarray:
        """The energy fraction deposited here by particles of each |PID|."""
        out = np.full(np.shape(abs_pid), self.default_fraction, dtype=np.float64)
        for pid, value in self.energy_fractions:
            out[abs_pid == pid] = value
        return out


@dataclasses.dataclass(frozen=True)
class Isolation:
    """Isolation: Σ pT of e-flow objects with pT ≥ ``pt_min`` within ΔR ≤ ``delta_r_max`` (the
    candidate itself excluded), relative to the candidate's pT, ≤ ``pt_ratio_max`` (no pile-up:
    the ρ and Δβ corrections vanish)."""

    delta_r_max: float = 0.5
    pt_min: float = 0.5
    pt_ratio_max: float = 0.12


@dataclasses.dataclass(frozen=True)
class JetFinder:
    """FastJetFinder (anti-kT, ``radius``, jets with raw pT ≥ ``pt_min``) and, for reconstructed
    jets, the EnergyScale √((a − b|η|)²/pT + 1)."""

    radius: float = 0.5
    pt_min: float = 20.0
    jes_a: float = 2.5
    jes_b: float = 0.15
    apply_energy_scale: bool = True


@dataclasses.dataclass(frozen=True)
class FlavourAssociation:
    """JetFlavorAssociation (Delphes' default ``Flavor``): the largest |PID| of partons (quarks
    1–5, gluons counted below quarks) with pT > ``parton_pt_min`` and |η| ≤ ``parton_eta_max``
    within ΔR ≤ ``delta_r``."""

    delta_r: float = 0.5
    parton_pt_min: float = 1.0
    parton_eta_max: float = 2.5


@dataclasses.dataclass(frozen=True)
class TauTagging:
    """TauTagging: a jet within ΔR ≤ ``delta_r`` of a τ's visible decay products (τ with
    pT > ``tau_pt_min``, |η| ≤ ``tau_eta_max``) is tagged with ``efficiency_tau``, any other jet
    with ``efficiency_other``; the jet's ``Charge`` becomes the τ's, or ±1 at random."""

    delta_r: float = 0.5
    tau_pt_min: float = 1.0
    tau_eta_max: float = 2.5
    efficiency_tau: float = 0.6
    efficiency_other: float = 0.01


@dataclasses.dataclass(frozen=True)
class ImpactParameterSmearing:
    """Not in the CMS card (its tracks carry the true helix d0, dz and ErrorD0 = 0): an optional
    Gaussian smearing σ(d0) = √(a² + (b/pT)²) mm, σ(dz) = ``dz_factor``·σ(d0), used for the ATLAS
    Open Data mini trees, whose d0 significance needs an error."""

    enabled: bool = False
    a_mm: float = 0.010
    b_mm_gev: float = 0.100
    dz_factor: float = 1.5


_HADRON_TRACKING = BinnedEfficiency((1.5, 2.5), (0.1, 1.0), ((0.70, 0.95), (0.60, 0.85)))
_ELECTRON_TRACKING = BinnedEfficiency((1.5, 2.5), (0.1, 1.0, 1.0e2),
                                      ((0.73, 0.95, 0.99), (0.50, 0.83, 0.90)))
_MUON_TRACKING = BinnedEfficiency((1.5, 2.5), (0.1, 1.0, 1.0e3),
                                  ((0.75, 0.99, 0.99), (0.70, 0.98, 0.98)), falloff_last_bin=True)
_EGAMMA_ID = BinnedEfficiency((1.5, 2.5), (10.0,), ((0.95,), (0.85,)))
_MUON_ID = BinnedEfficiency((1.5, 2.4), (10.0,), ((0.95,), (0.95,)))


@dataclasses.dataclass(frozen=True)
class DetectorCard:
    """The card's chain, module by module (the defaults are ``delphes_card_CMS.tcl``)."""

    propagator: Propagator = Propagator()
    charged_hadron_tracking: BinnedEfficiency = _HADRON_TRACKING
    electron_tracking: BinnedEfficiency = _ELECTRON_TRACKING
    muon_tracking: BinnedEfficiency = _MUON_TRACKING
    charged_hadron_resolution: MomentumResolution = MomentumResolution(
        (0.5, 1.5, 2.5), ((0.06, 1.3e-3), (0.10, 1.7e-3), (0.25, 3.1e-3)))
    electron_resolution: MomentumResolution = MomentumResolution(
        (0.5, 1.5, 2.5), ((0.03, 1.3e-3), (0.05, 1.7e-3), (0.15, 3.1e-3)))
    muon_resolution: MomentumResolution = MomentumResolution(
        (0.5, 1.5, 2.5), ((0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4)))
    ecal: Calorimeter = Calorimeter(
        is_ecal=True, eta_phi_bins=_cms_ecal_bins(),
        energy_fractions=((11, 1.0), (22, 1.0), (111, 1.0), *_NEUTRAL_INVISIBLE,
                          (310, 0.3), (3122, 0.3)),
        default_fraction=0.0, energy_min=0.5, significance_min=2.0,
        resolution=cms_ecal_resolution)
    hcal: Calorimeter = Calorimeter(
        is_ecal=False, eta_phi_bins=_cms_hcal_bins(),
        energy_fractions=((11, 0.0), (22, 0.0), (111, 0.0), *_NEUTRAL_INVISIBLE,
                          (310, 0.7), (3122, 0.7)),
        default_fraction=1.0, energy_min=1.0, significance_min=1.0,
        resolution=cms_hcal_resolution)
    photon_efficiency: BinnedEfficiency = _EGAMMA_ID
    electron_efficiency: BinnedEfficiency = _EGAMMA_ID
    muon_efficiency: BinnedEfficiency = _MUON_ID
    photon_isolation: Isolation = Isolation(pt_ratio_max=0.12)
    electron_isolation: Isolation = Isolation(pt_ratio_max=0.12)
    muon_isolation: Isolation = Isolation(pt_ratio_max=0.25)
    jets: JetFinder = JetFinder()
    gen_jets: JetFinder = JetFinder(apply_energy_scale=False)
    flavour: FlavourAssociation = FlavourAssociation()
    btag_efficiency: Callable[[np.ndarray, np.ndarray], np.ndarray] = cms_btag_efficiency
    tau_tagging: TauTagging = TauTagging()
    impact_parameters: ImpactParameterSmearing = ImpactParameterSmearing()

    def with_jet_radius(self, radius: float) -> DetectorCard:
        """The same card with reconstructed and generator jets of ``radius``."""
        return dataclasses.replace(
            self, jets=dataclasses.replace(self.jets, radius=radius),
            gen_jets=dataclasses.replace(self.gen_jets, radius=radius))


CMS_CARD = DetectorCard()


def mini_tree_card(jet_radius: float = 0.4) -> DetectorCard:
    """The card behind the ATLAS Open Data ``mini`` trees hzx writes for the 4ℓ analysis: the
    CMS chain with lepton identification down to the Open Data thresholds (electrons pT > 7 GeV,
    muons pT > 5 GeV to |η| 2.5) and d0 errors for the d0 significance."""
    return dataclasses.replace(
        CMS_CARD.with_jet_radius(jet_radius),
        electron_efficiency=dataclasses.replace(_EGAMMA_ID, pt_edges=(7.0,)),
        muon_efficiency=dataclasses.replace(_MUON_ID, eta_edges=(1.5, 2.5), pt_edges=(5.0,)),
        impact_parameters=ImpactParameterSmearing(enabled=True))
