"""The fast simulation's modules against the behaviour of their Delphes counterparts, on
hand-built inputs (single particles, a π⁺ with a photon in its tower, an FSR photon at ΔR 0.01,
a lepton inside a jet …)."""

from __future__ import annotations

import dataclasses
import math
import types

import numpy as np
import pytest

from hzx.generation import delphes_modules as dm
from hzx.generation.delphes_card import (
    CMS_CARD,
    Calorimeter,
    Isolation,
    cms_btag_efficiency,
    cms_ecal_resolution,
    cms_hcal_resolution,
    mini_tree_card,
)
from hzx.generation.fastsim import simulate

C = 0.299792458  # GeV per (T m)


def _propagate(px, py, pz, q, x=0.0, y=0.0, z=0.0, m=0.13957):
    px, py, pz = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (px, py, pz))
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    n = len(px)
    return dm.propagate(px, py, pz, e, np.full(n, float(q)), np.full(n, x), np.full(n, y),
                        np.full(n, z), CMS_CARD.propagator)


# --- ParticlePropagator ------------------------------------------------------------------------


def test_neutral_particles_reach_the_barrel_or_the_end_cap_on_straight_lines():
    p = _propagate([10.0, 1.0], [0.0, 0.0], [0.0, math.sinh(3.0)], 0, m=0.0)
    assert p.x[0] == pytest.approx(1290.0) and p.z[0] == pytest.approx(0.0, abs=1e-9)
    assert p.z[1] == pytest.approx(3000.0)  # η = 3: through the end cap at 3 m
    assert p.eta[1] == pytest.approx(3.0, rel=1e-12)


def test_charged_track_bends_in_the_solenoid_and_keeps_its_true_direction():
    pt = 10.0
    p = _propagate([pt], [0.0], [0.0], +1)
    r = pt / (C * 3.8)  # helix radius, m
    assert np.hypot(p.x, p.y)[0] == pytest.approx(1290.0, rel=1e-9)
    # a chord of length R on a circle of radius r turns the position by asin(R/2r)
    assert p.phi[0] == pytest.approx(-math.asin(1.29 / (2 * r)), rel=1e-7)
    assert p.momentum_phi[0] == pytest.approx(0.0, abs=1e-12)
    assert p.d0[0] == pytest.approx(0.0, abs=1e-9) and p.dz[0] == pytest.approx(0.0, abs=1e-9)
    # the opposite charge bends the other way
    assert _propagate([pt], [0.0], [0.0], -1).phi[0] == pytest.approx(-p.phi[0], rel=1e-9)


def test_loopers_leave_through_the_end_cap_and_displaced_tracks_get_their_impact_parameter():
    pt = 0.3  # 2r = 0.53 m < 1.29 m: never reaches the barrel
    p = _propagate([pt], [0.0], [pt * math.sinh(0.5)], +1)
    assert p.z[0] == pytest.approx(3000.0)
    assert np.hypot(p.x, p.y)[0] <= 2 * pt / (C * 3.8) * 1e3 + 1e-6
    # the position η the tracking efficiency sees: at least asinh(3 m / 2r), not the 0.5 of
    # the momentum
    rho = np.hypot(p.x, p.y)[0]
    assert p.eta[0] == pytest.approx(math.asinh(3000.0 / rho), rel=1e-12)
    assert p.eta[0] >= math.asinh(3.0 / (2 * pt / (C * 3.8)))
    # produced 5 mm off the beam line, flying along +x: |d0| = 5 mm
    q = _propagate([50.0], [0.0], [0.0], +1, y=5.0)
    assert abs(q.d0[0]) == pytest.approx(5.0, rel=1e-4)


def test_particles_produced_outside_the_solenoid_or_along_the_beam_are_dropped():
    out = dm.propagate(np.array([5.0, 5.0, 0.0]), np.zeros(3), np.array([1.0, 1.0, 3.0]),
                       np.array([5.1, 5.1, 3.0]), np.zeros(3), np.array([0.0, 1300.0, 0.0]),
                       np.zeros(3), np.zeros(3), CMS_CARD.propagator)
    assert out.index.tolist() == [0]  # 1: produced at 1.3 m; 2: pT = 0


# --- Efficiency, MomentumSmearing ------------------------------------------------------------


def test_tracking_efficiencies_are_the_cards_with_inclusive_edges():
    pt = np.array([0.1, 0.5, 1.0, 1.01, 5.0, 5.0, 5.0, 5.0])
    eta = np.array([0.0, 0.0, 0.0, 0.0, 1.5, 1.51, 2.5, 2.51])
    eff = dm.binned_efficiency(CMS_CARD.charged_hadron_tracking, pt, eta)
    assert eff.tolist() == [0.0, 0.70, 0.70, 0.95, 0.95, 0.85, 0.85, 0.0]
    e = dm.binned_efficiency(CMS_CARD.electron_tracking, np.array([50.0, 100.0, 150.0, 150.0]),
                             np.array([0.0, 0.0, 0.0, -2.0]))
    assert e.tolist() == [0.95, 0.95, 0.99, 0.90]
    mu = dm.binned_efficiency(CMS_CARD.muon_tracking, np.array([500.0, 2000.0, 2000.0]),
                              np.array([0.0, 0.0, 2.0]))
    assert mu[0] == 0.99
    assert mu[1] == pytest.approx(0.99 * math.exp(0.5 - 2000 * 5e-4))
    assert mu[2] == pytest.approx(0.98 * math.exp(0.5 - 2000 * 5e-4))


def test_identification_efficiencies_and_thresholds():
    pt = np.array([10.0, 10.5, 10.5, 10.5, 10.5])
    eta = np.array([0.0, 1.5, 2.4, 2.45, 2.6])
    assert dm.binned_efficiency(CMS_CARD.electron_efficiency, pt, eta).tolist() == \
        [0.0, 0.95, 0.85, 0.85, 0.0]
    assert dm.binned_efficiency(CMS_CARD.muon_efficiency, pt, eta).tolist() == \
        [0.0, 0.95, 0.95, 0.0, 0.0]
    mini = mini_tree_card()
    assert dm.binned_efficiency(mini.muon_efficiency, np.array([6.0]), np.array([2.45]))[0] == 0.95


def test_momentum_resolution_table_and_clip():
    pt = np.array([10.0, 10.0, 10.0, 0.05, 200.0])
    eta = np.array([0.5, 1.0, 2.0, 0.0, 2.0])
    res = dm.relative_resolution(CMS_CARD.charged_hadron_resolution, pt, eta)
    assert res[0] == pytest.approx(math.sqrt(0.06**2 + 100 * 1.3e-3**2))
    assert res[1] == pytest.approx(math.sqrt(0.10**2 + 100 * 1.7e-3**2))
    assert res[2] == pytest.approx(math.sqrt(0.25**2 + 100 * 3.1e-3**2))
    assert res[3] == 0.0  # pT ≤ 0.1 GeV: no smearing term
    assert res[4] == pytest.approx(math.sqrt(0.25**2 + 200**2 * 3.1e-3**2))
    wide = dataclasses.replace(CMS_CARD.charged_hadron_resolution, ab=((2.0, 0.0),) * 3)
    assert dm.relative_resolution(wide, np.array([5.0]), np.array([0.0]))[0] == 1.0


def test_lognormal_keeps_the_mean_and_width():
    rng = np.random.default_rng(3)
    x = dm.lognormal(rng, np.full(400_000, 20.0), np.full(400_000, 3.0))
    assert x.mean() == pytest.approx(20.0, rel=2e-3)
    assert x.std() == pytest.approx(3.0, rel=5e-3)
    assert np.all(x > 0)
    assert dm.lognormal(rng, np.array([0.0, -1.0]), np.array([1.0, 1.0])).tolist() == [0.0, 0.0]


# --- SimpleCalorimeter ---------------------------------------------------------------------


def _grid(card: Calorimeter) -> dm.TowerGrid:
    return dm.TowerGrid.from_card(card.eta_phi_bins)


def test_tower_grids_are_the_cards_segmentation():
    ecal, hcal = _grid(CMS_CARD.ecal), _grid(CMS_CARD.hcal)
    # ECAL: 0.0174 × 1° from −2.958 to 2.958, 10° cells to |η| 5
    widths = np.diff(ecal.eta_edges)
    central = (ecal.eta_edges[:-1] >= -2.958 - 1e-9) & (ecal.eta_edges[1:] <= 2.958 + 1e-9)
    assert np.allclose(widths[central], 0.0174)
    n_phi = np.diff(ecal.phi_offsets) - 1
    assert set(n_phi[central].tolist()) == {360} and set(n_phi[~central].tolist()) == {36}
    assert ecal.eta_edges[0] == -5 and ecal.eta_edges[-1] == 5
    # HCAL: 5° to |η| 1.65, 10° to 4.525, 20° beyond
    hcal_phi = np.diff(hcal.phi_offsets) - 1
    lo, hi = hcal.eta_edges[:-1], hcal.eta_edges[1:]
    assert set(hcal_phi[(lo >= -1.653) & (hi <= 1.653)].tolist()) == {72}
    assert hcal_phi[np.argmin(np.abs(lo - 4.7))] == 18
    assert hcal_phi[np.argmin(np.abs(lo - 3.3))] == 36
    tower, inside = ecal.locate(np.array([0.0001, 5.1, -0.0001]), np.array([0.001, 0.0, -3.0]))
    assert inside.tolist() == [True, False, True]
    e_lo, e_hi, p_lo, p_hi = ecal.edges(tower[[0, 2]])
    assert e_lo[0] < 0.0001 <= e_hi[0] and p_lo[0] < 0.001 <= p_hi[0]
    assert e_lo[1] < -0.0001 <= e_hi[1] and p_lo[1] < -3.0 <= p_hi[1]


def _calorimeter(card, rng, particles, tracks):
    p = {k: np.asarray(v, dtype=float) for k, v in particles.items()}
    t = {k: np.asarray(v, dtype=float) for k, v in tracks.items()}
    return dm.simple_calorimeter(
        card, _grid(card), rng, p_evt=np.zeros(len(p["E"]), np.int64), p_eta=p["eta"],
        p_phi=p["phi"], p_energy=p["E"], p_abs_pid=p["pid"].astype(np.int64),
        t_evt=np.zeros(len(t["E"]), np.int64), t_eta=t["eta"], t_phi=t["phi"],
        t_energy=t["E"], t_abs_pid=t["pid"].astype(np.int64), t_resolution=t["res"])


def test_a_single_electron_is_its_track_rescaled_with_the_ecal_measurement():
    rng = np.random.default_rng(11)
    out = _calorimeter(CMS_CARD.ecal, rng, {"eta": [0.3], "phi": [0.5], "E": [50.0],
                                             "pid": [11]},
                       {"eta": [0.3], "phi": [0.5], "E": [51.0], "pid": [11], "res": [0.03]})
    assert out.tower_kept.tolist() == [True] and out.tower_eflow.tolist() == [False]
    centre = 0.5 * sum(_grid(CMS_CARD.ecal).edges(out.tower_id)[:2])
    sigma_cal = cms_ecal_resolution(centre, out.tower_e)[0]
    sigma_trk = 0.03 * 51.0
    best = (51.0 / sigma_trk**2 + out.tower_e[0] / sigma_cal**2) / (
        1 / sigma_trk**2 + 1 / sigma_cal**2)
    assert out.track_scale[0] == pytest.approx(best / 51.0, rel=1e-12)
    assert out.tower_etrk[0] == 51.0


def test_a_photon_in_the_tower_of_a_charged_pion_stays_a_photon():
    """The π⁺ leaves no energy in the ECAL: its track passes through, the photon's tower is
    all neutral; in the HCAL the pion's track and its own deposit meet in one tower."""
    rng = np.random.default_rng(5)
    particles = {"eta": [0.2, 0.2], "phi": [1.0, 1.0], "E": [20.0, 30.0], "pid": [22, 211]}
    tracks = {"eta": [0.2], "phi": [1.0], "E": [30.0], "pid": [211], "res": [0.06]}
    ecal = _calorimeter(CMS_CARD.ecal, rng, particles, tracks)
    assert ecal.tower_eflow.tolist() == [True]
    assert ecal.tower_neutral[0] == ecal.tower_e[0]  # no track energy subtracted
    assert ecal.track_scale.tolist() == [1.0] and ecal.track_kept.tolist() == [True]
    assert ecal.particle_tower.tolist() == [0, -1]  # the pion has no ECAL deposit
    hcal = _calorimeter(CMS_CARD.hcal, rng, particles, tracks)
    assert hcal.particle_tower.tolist() == [-1, 0]
    assert hcal.tower_etrk.tolist() == [30.0]


def _quiet(card: Calorimeter) -> Calorimeter:
    """The card with a negligible calorimeter resolution (deterministic energies)."""
    return dataclasses.replace(card, resolution=lambda eta, e: 1e-9 * np.ones_like(e),
                               significance_min=1.0, energy_min=1.0)


@pytest.mark.parametrize(("neutral_gev", "eflow"), [(1.5, True), (0.8, False)])
def test_neutral_excess_is_an_eflow_tower_only_when_significant(neutral_gev, eflow):
    """HCAL-like thresholds (E_min 1, 1 σ): a π⁺ of 10 GeV (σ_trk = 1 GeV) with a K_L beside it.
    Above threshold: a neutral hadron of the excess and the track untouched; below: no neutral
    and the track rescaled to the (here exact) calorimeter energy."""
    card = _quiet(CMS_CARD.hcal)
    rng = np.random.default_rng(1)
    out = _calorimeter(card, rng, {"eta": [0.1, 0.1], "phi": [0.2, 0.2],
                                   "E": [10.0, neutral_gev], "pid": [211, 130]},
                       {"eta": [0.1], "phi": [0.2], "E": [10.0], "pid": [211], "res": [0.1]})
    assert out.tower_eflow.tolist() == [eflow]
    if eflow:
        assert out.tower_neutral[0] == pytest.approx(neutral_gev, rel=1e-6)
        assert out.track_scale[0] == 1.0
    else:
        assert out.tower_neutral[0] == 0.0
        assert out.track_scale[0] == pytest.approx((10.0 + neutral_gev) / 10.0, rel=1e-6)


def test_tower_energy_thresholds_and_significance():
    card = CMS_CARD.ecal
    rng = np.random.default_rng(2)
    energies = np.full(2000, 0.8)
    # one photon per tower
    out = _calorimeter(card, rng, {"eta": np.linspace(-1, 1, 2000),
                                   "phi": np.linspace(-3, 3, 2000),
                                   "E": energies, "pid": np.full(2000, 22)},
                       {"eta": [], "phi": [], "E": [], "pid": [], "res": []})
    centre = 0.5 * sum(_grid(card).edges(out.tower_id)[:2])
    kept = out.tower_kept
    assert kept.any() and not kept.all()
    assert np.all(out.tower_e[kept] >= 0.5)
    # the significance test uses σ at the measured energy, at the tower centre
    assert np.all(out.tower_e[kept] >= 2.0 * cms_ecal_resolution(centre[kept], out.tower_e[kept]))
    assert cms_hcal_resolution(np.array([3.5]), np.array([100.0]))[0] == pytest.approx(
        math.sqrt((0.130 * 100) ** 2 + 100 * 2.70**2))


# --- Isolation ---------------------------------------------------------------------------------


def _isolation(card, objects):
    o = {k: np.asarray(v, dtype=float) for k, v in objects.items()}
    n = len(o["pt"])
    return dm.isolation(card, np.zeros(1, np.int64), np.array([0.0]), np.array([0.0]),
                        np.array([20.0]), np.array([7]), np.array([0, n]), o["eta"], o["phi"],
                        o["pt"], o["charge"].astype(np.int64), o["uid"].astype(np.int64))


def test_an_fsr_photon_at_delta_r_001_counts_in_the_isolation():
    card = CMS_CARD.electron_isolation
    res = _isolation(card, {"eta": [0.01], "phi": [0.0], "pt": [3.0], "charge": [0],
                            "uid": [100]})
    assert res.sum_neutral[0] == 3.0 and res.ratio[0] == pytest.approx(0.15)
    assert res.passed.tolist() == [False]  # 0.15 > 0.12: no inner veto cone in Delphes


def test_isolation_cone_edges_threshold_and_the_candidate_itself():
    card = Isolation(delta_r_max=0.5, pt_min=0.5, pt_ratio_max=0.12)
    res = _isolation(card, {
        "eta": [0.5, 0.0, 0.3, 0.0, 0.5000001], "phi": [0.0, 0.2, 0.0, 0.0, 0.0],
        "pt": [1.0, 0.5, 0.49, 5.0, 9.0], "charge": [1, 0, 1, 1, 0],
        "uid": [1, 2, 3, 7, 4]})
    # ΔR = 0.5 is inside (≤), pT = 0.5 counts (≥), 0.49 does not, uid 7 is the candidate
    assert res.sum_charged[0] == pytest.approx(1.0)
    assert res.sum_neutral[0] == pytest.approx(0.5)
    assert res.sum_all[0] == pytest.approx(1.5)
    exact = _isolation(card, {"eta": [0.0], "phi": [0.1], "pt": [2.4], "charge": [0],
                              "uid": [9]})
    assert exact.passed.tolist() == [True]  # ratio = 0.12 passes (fails only above)


# --- unique objects, flavour, b and τ tagging, JES ---------------------------------------------


def test_unique_object_finder_removes_later_objects_sharing_a_particle():
    csr = dm.offsets
    photons = (csr(np.array([2])), np.array([10, 11]))  # a photon tower: particles 10, 11
    electrons = (csr(np.array([1, 1])), np.array([11, 20]))  # e 11 shares the photon's tower
    muons = (csr(np.array([1])), np.array([30]))
    jets = (csr(np.array([3, 2])), np.array([20, 40, 41, 50, 51]))  # jet 0 holds electron 20
    keep = dm.unique_objects(60, [photons, electrons, muons, jets])
    assert [k.tolist() for k in keep] == [[True], [False, True], [True], [False, True]]


def test_jet_flavour_is_the_heaviest_parton_within_the_cone():
    card = CMS_CARD.flavour
    j = (np.array([0, 0, 0]), np.array([0.0, 2.0, -1.0]), np.array([0.0, 0.0, 2.0]))
    partons = {"pt": [5.0, 5.0, 5.0, 0.9, 5.0], "eta": [0.3, 0.4, 2.0, -1.0, -1.0],
               "phi": [0.4, 0.0, 0.5, 2.0, 2.0 + 0.5], "pid": [21, 2, 5, 4, 21]}
    p = {k: np.asarray(v) for k, v in partons.items()}
    flav = dm.jet_flavour(card, *j, np.array([0, 5]), p["pt"], p["eta"], p["phi"],
                          p["pid"].astype(np.int64))
    # jet 0: gluon (ΔR 0.5, inclusive) and u → 2; jet 1: the b at |η| = 2 → 5;
    # jet 2: the c has pT 0.9 < 1 → only the gluon at ΔR 0.5 → 21
    assert flav.tolist() == [2, 5, 21]
    assert dm.jet_flavour(card, np.array([0]), np.array([2.55]), np.array([0.0]),
                          np.array([0, 1]), np.array([50.0]), np.array([2.6]), np.array([0.0]),
                          np.array([5]))[0] == 0  # parton beyond |η| 2.5


def test_btag_and_jet_energy_scale_formulas():
    pt = np.array([50.0, 50.0, 50.0, 50.0])
    eff = cms_btag_efficiency(np.array([5, 4, 0, 21]), pt)
    assert eff[0] == pytest.approx(0.85 * math.tanh(0.125) * 25 / (1 + 3.15))
    assert eff[1] == pytest.approx(0.25 * math.tanh(0.9) / (1 + 0.065))
    assert eff[2] == eff[3] == pytest.approx(0.01 + 0.000038 * 50)
    assert dm.jet_energy_scale(np.array([19.0]), np.array([1.0]), 2.5, 0.15)[0] == \
        pytest.approx(math.sqrt(2.35**2 / 19 + 1))


def test_tau_tagging_sets_flavour_weight_and_charge():
    rng = np.random.default_rng(0)
    out = dm.tau_tags(CMS_CARD.tau_tagging, rng, np.array([0, 0, 1]), np.array([0.0, 2.0, 0.0]),
                      np.array([0.0, 0.0, 0.0]), np.array([0]), np.array([0.1]),
                      np.array([0.2]), np.array([-1]), n_events=2)
    assert out["TauFlavor"].tolist() == [15, 0, 0]
    assert out["TauWeight"].tolist() == [0.6, 0.01, 0.01]
    assert out["Charge"][0] == -1 and set(out["Charge"][1:].tolist()) <= {-1, 1}


# --- the whole chain on hand-built events ------------------------------------------------------


def _truth(particles: list[list[tuple]]):
    """A TruthBlock-like record from per-event lists of (PID, px, py, pz, mass, charge)."""
    rows = [p for event in particles for p in event]
    pid = np.array([r[0] for r in rows], np.int32)
    px, py, pz, m = (np.array([r[i] for r in rows], float) for i in (1, 2, 3, 4))
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    n = len(rows)
    fields = {"PID": pid, "Status": np.ones(n, np.int32), "M1": np.full(n, -1, np.int32),
              "M2": np.full(n, -1, np.int32), "D1": np.full(n, -1, np.int32),
              "D2": np.full(n, -1, np.int32), "Px": px, "Py": py, "Pz": pz, "E": e, "Mass": m,
              "Charge": np.array([r[5] for r in rows], np.int32),
              "X": np.zeros(n), "Y": np.zeros(n), "Z": np.zeros(n)}
    return types.SimpleNamespace(counts=np.array([len(ev) for ev in particles]), fields=fields)


def _lepton(pid, pt, eta, phi, q, m=0.000511):
    return (pid, pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta), m, q)


def test_raw_jet_threshold_before_the_energy_scale():
    """A lone K_L of pT 19 GeV makes a raw jet below 20 GeV: no jet, although the energy scale
    would lift it to 21.9 GeV; one of 21 GeV is a jet with the scaled pT."""
    card = dataclasses.replace(CMS_CARD, hcal=_quiet(CMS_CARD.hcal))
    low = simulate(_truth([[(130, 19.0, 0.0, 0.0, 0.4976, 0)]]), np.random.default_rng(1), card)
    assert low["Jet"]["counts"].tolist() == [0]
    high = simulate(_truth([[(130, 21.0, 0.0, 0.0, 0.4976, 0)]]), np.random.default_rng(1), card)
    jet = high["Jet"]["fields"]
    raw = high["EFlowNeutralHadron"]["fields"]["ET"][0]
    assert high["Jet"]["counts"].tolist() == [1]
    assert jet["PT"][0] == pytest.approx(raw * math.sqrt((2.5 - 0.15 * abs(jet["Eta"][0])) ** 2
                                                         / raw + 1), rel=1e-9)


def test_isolated_leptons_are_not_jets_and_scalar_ht_counts_each_object_once():
    rng = np.random.default_rng(4)
    hadrons = [(211 if i % 2 else -211, 6.0 * math.cos(1.5 + 0.02 * i),
                6.0 * math.sin(1.5 + 0.02 * i), 6.0 * math.sinh(1.2), 0.13957, 1 if i % 2 else -1)
               for i in range(6)] + [(22, 5.0 * math.cos(1.55), 5.0 * math.sin(1.55),
                                      5.0 * math.sinh(1.25), 0.0, 0)]
    events = [[_lepton(11, 45.0, 0.3, 0.0, -1), _lepton(-11, 40.0, -0.5, 3.0, 1),
               _lepton(13, 30.0, 1.0, -1.5, -1, 0.10566), *hadrons] for _ in range(40)]
    sim = simulate(_truth(events), rng)
    n_e = sim["Electron"]["counts"]
    assert n_e.mean() > 1.4  # two electrons in most events (efficiency 0.95² × 0.95²)
    ef = sim["Electron"]["fields"]
    assert np.all(np.abs(ef["PT"] / np.where(ef["Charge"] < 0, 45.0, 40.0) - 1) < 0.1)
    j_evt = np.repeat(np.arange(40), sim["Jet"]["counts"])
    jf = sim["Jet"]["fields"]
    for name in ("Electron", "Muon", "Photon"):
        o_evt = np.repeat(np.arange(40), sim[name]["counts"])
        of = sim[name]["fields"]
        for k in range(len(o_evt)):
            sel = j_evt == o_evt[k]
            dr = np.sqrt(dm.delta_r2(jf["Eta"][sel], jf["Phi"][sel], of["Eta"][k], of["Phi"][k]))
            assert np.all(dr > 0.5), name
    # the hadrons' jet survives; a lepton lost to its efficiency is a jet of its own, as in Delphes
    all_found = (n_e == 2) & (sim["Muon"]["counts"] == 1)
    assert all_found.sum() > 25
    assert np.all(sim["Jet"]["counts"][all_found] == 1)
    assert np.all(sim["Jet"]["counts"] >= 1)
    total = np.zeros(40)
    for name in ("Jet", "Electron", "Muon", "Photon"):
        evt = np.repeat(np.arange(40), sim[name]["counts"])
        total += np.bincount(evt, weights=sim[name]["fields"]["PT"], minlength=40)
    assert np.allclose(sim["ScalarHT"]["fields"]["HT"], total, rtol=1e-12)
    # MissingET is the negative sum of every e-flow object's momentum (leptons included)
    sx, sy = np.zeros(40), np.zeros(40)
    for name, key in (("EFlowTrack", "PT"), ("EFlowPhoton", "ET"), ("EFlowNeutralHadron", "ET")):
        evt = np.repeat(np.arange(40), sim[name]["counts"])
        f = sim[name]["fields"]
        sx += np.bincount(evt, weights=f[key] * np.cos(f["Phi"]), minlength=40)
        sy += np.bincount(evt, weights=f[key] * np.sin(f["Phi"]), minlength=40)
    assert np.allclose(sim["MissingET"]["fields"]["MET"], np.hypot(sx, sy), rtol=1e-12)
    assert np.allclose(sim["MissingET"]["fields"]["Phi"], np.arctan2(-sy, -sx), rtol=1e-12)


def test_same_seed_same_output():
    events = [[_lepton(11, 45.0, 0.3, 0.0, -1), (130, 30.0, 5.0, 2.0, 0.4976, 0)]] * 10
    a = simulate(_truth(events), np.random.default_rng(9))
    b = simulate(_truth(events), np.random.default_rng(9))
    for name, col in a.items():
        if name.startswith("_"):
            continue
        for field, values in col["fields"].items():
            np.testing.assert_array_equal(values, b[name]["fields"][field], err_msg=name + field)


def test_partons_left_by_no_hadronisation_are_neutral_as_in_delphes():
    """Delphes' readers set Charge = int(Q/3) of the charge in e/3: quarks are neutral (they
    reach the HCAL, no track), the uu diquark keeps +1."""
    from hzx.generation.fastsim import delphes_charge

    pid = np.array([2, -2, 1, 21, 2203, 2101, 1103, -2203, 11, 211])
    naive = np.array([1, -1, 0, 0, 1, 0, -1, -1, -1, 1])  # rint(Q) as the truth record rounds
    assert delphes_charge(pid, naive).tolist() == [0, 0, 0, 0, 1, 0, 0, -1, -1, 1]
    sim = simulate(_truth([[(2, 30.0, 0.0, 3.0, 0.33, 1)]]), np.random.default_rng(3))
    assert sim["Track"]["counts"].tolist() == [0]
    assert sim["EFlowNeutralHadron"]["counts"].tolist() == [1]
