"""hzx's fast detector simulation: the Delphes CMS card's chain of modules, columnar over a block.

The chain is the card's ``ExecutionPath`` (``cards/delphes_card_CMS.tcl``), each step a function of
:mod:`hzx.generation.delphes_modules` with its parameters in :class:`DetectorCard`:

ParticlePropagator → tracking efficiency (hadrons, electrons, muons) → momentum smearing → ECal
and HCal (SimpleCalorimeter: towers, energy flow, track rescaling) → EFlowMerger and EFlowFilter
(no e, μ tracks in isolation) → photon, electron, muon efficiency and isolation → MissingET →
gen-jets on stable non-neutrinos → anti-kT on energy flow (raw pT cut) → JetEnergyScale →
JetFlavorAssociation → BTagging → TauTagging → UniqueObjectFinder (photons, electrons, muons,
jets) → ScalarHT.

Input: a :class:`~hzx.generation.pythia_driver.TruthBlock`. Output: a dict of collections, each
``{"counts": int array (events), "fields": {Delphes field name: flat array}}``, with Delphes'
names (``Track``, ``Tower``, ``EFlowTrack``, ``EFlowPhoton``, ``EFlowNeutralHadron``, ``Jet``,
``GenJet``, ``Electron``, ``Muon``, ``Photon``, ``MissingET``, ``GenMissingET``, ``ScalarHT``).
Entries whose names start with ``_`` are not Delphes output: ``_LeptonCandidates`` (identified
leptons before isolation with ATLAS-style cone sums, for the 4ℓ mini trees), ``_MET`` and
``_stages`` (truth indices of the leptons surviving each module, for validation).

Not simulated (absent from the card or from hzx's inputs): pile-up, the FatJet collection,
the physics/algorithmic flavour definitions that need LHE partons (``FlavorAlgo``,
``FlavorPhys`` are 0 as with Delphes' HepMC reader), references (``Track.Particle``,
``Jet.Constituents``). Units: GeV, mm.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from hzx.generation import delphes_modules as dm
from hzx.generation.delphes_card import CMS_CARD, DetectorCard, mini_tree_card
from hzx.processors import kinematics as kin

__all__ = ["CMS_CARD", "DetectorCard", "kinematics", "mini_tree_card", "simulate"]

NEUTRINOS = (12, 14, 16)


def kinematics(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, ...]:
    """pT, η, φ of momenta (η = ±999.9 where pT = 0, as Delphes)."""
    pt = np.hypot(px, py)
    return pt, dm.pseudorapidity(pt, pz), np.arctan2(py, px)


#: three times the charge of quarks d, u, s, c, b, t
_QUARK_THIRDS = np.array([0, -1, 2, -1, 2, -1, 2])


def delphes_charge(pid: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Charges as Delphes' readers set them, ``int(Q/3)`` of the charge in units of e/3: quarks
    (±1/3, ±2/3) are neutral, diquarks keep the integer part (uu: +1); other particles keep
    ``charge``. (Final-state partons exist only without hadronisation.)"""
    apid = np.abs(pid)
    out = np.asarray(charge, dtype=np.int64).copy()
    sign = np.sign(pid)
    quark = (apid >= 1) & (apid <= 6)
    out[quark] = 0
    diquark = (apid > 1000) & (apid < 6000) & ((apid // 10) % 10 == 0)
    thirds = sign[diquark] * (_QUARK_THIRDS[apid[diquark] // 1000]
                              + _QUARK_THIRDS[(apid[diquark] // 100) % 10])
    out[diquark] = np.trunc(thirds / 3).astype(np.int64)
    return out


@functools.lru_cache(maxsize=8)
def _grid(bins: tuple) -> dm.TowerGrid:
    return dm.TowerGrid.from_card(bins)


def _csr(owner: np.ndarray, values: np.ndarray, n_owners: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, values) of ``values`` grouped by ``owner`` (−1: none)."""
    ok = owner >= 0
    order = np.argsort(owner[ok], kind="stable")
    return dm.offsets(np.bincount(owner[ok], minlength=n_owners)), values[ok][order]


def _gather_csr(off: np.ndarray, vals: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, ...]:
    """The CSR lists of the rows ``which``, concatenated (offsets, values)."""
    lengths = off[which + 1] - off[which]
    new_off = dm.offsets(lengths)
    take = np.repeat(off[which] - new_off[:-1], lengths) + np.arange(lengths.sum())
    return new_off, vals[take]


def simulate(truth: Any, rng: np.random.Generator, card: DetectorCard = CMS_CARD,
             event_weights: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Run the card's chain on a :class:`TruthBlock`; return Delphes-named collections."""
    del event_weights  # kept for callers; weights travel in the Event branch
    f = truth.fields
    n_events = len(truth.counts)
    evt_all = np.repeat(np.arange(n_events), truth.counts)
    n_particles = len(evt_all)
    pid = f["PID"].astype(np.int64)
    apid = np.abs(pid)
    charge = delphes_charge(pid, f["Charge"])
    px, py, pz, energy, mass = f["Px"], f["Py"], f["Pz"], f["E"], f["Mass"]
    pt, eta, phi = kinematics(px, py, pz)
    stable = np.flatnonzero(f["Status"] == 1)

    # --- ParticlePropagator ----------------------------------------------------------------
    prop = dm.propagate(px[stable], py[stable], pz[stable], energy[stable], charge[stable],
                        f["X"][stable], f["Y"][stable], f["Z"][stable], card.propagator)
    pp = stable[prop.index]  # propagated particles (truth indices)

    # --- tracking efficiency, momentum smearing, TrackMerger ---------------------------------
    kind = np.where(apid[pp] == 11, 1, np.where(apid[pp] == 13, 2, 0))  # 0 hadron, 1 e, 2 μ
    is_charged = charge[pp] != 0
    eff = np.zeros(len(pp))
    res = np.zeros(len(pp))
    for k, (eff_card, res_card) in enumerate((
            (card.charged_hadron_tracking, card.charged_hadron_resolution),
            (card.electron_tracking, card.electron_resolution),
            (card.muon_tracking, card.muon_resolution))):
        sel = is_charged & (kind == k)
        eff[sel] = dm.binned_efficiency(eff_card, pt[pp][sel], prop.eta[sel])
        res[sel] = dm.relative_resolution(res_card, pt[pp][sel], prop.eta[sel])
    tracked = is_charged & dm.keep_with_probability(rng, eff)
    # TrackMerger's order: charged hadrons, electrons, muons, each in particle order
    tsel = np.flatnonzero(tracked)
    tsel = tsel[np.lexsort((pp[tsel], kind[tsel], evt_all[pp[tsel]]))]
    ti = pp[tsel]  # truth index of each track
    t_evt, t_kind, t_res = evt_all[ti], kind[tsel], res[tsel]
    t_pt = dm.lognormal(rng, pt[ti], t_res * pt[ti])
    t_eta, t_phi = eta[ti], prop.momentum_phi[tsel]
    t_mass = mass[ti]
    t_e = kin.energy(t_pt, t_eta, t_mass)
    t_d0, t_dz = prop.d0[tsel], prop.dz[tsel]
    ip = card.impact_parameters
    err_d0 = np.zeros(len(ti))
    err_dz = np.zeros(len(ti))
    if ip.enabled:
        err_d0 = np.sqrt(ip.a_mm**2 + (ip.b_mm_gev / t_pt) ** 2)
        err_dz = ip.dz_factor * err_d0
        t_d0 = t_d0 + err_d0 * rng.standard_normal(len(ti))
        t_dz = t_dz + err_dz * rng.standard_normal(len(ti))
    t_pos_eta, t_pos_phi = prop.eta[tsel], prop.phi[tsel]

    # --- ECal, HCal (SimpleCalorimeter with energy flow) --------------------------------------
    p_args = {"p_evt": evt_all[pp], "p_eta": prop.eta, "p_phi": prop.phi,
              "p_energy": energy[pp], "p_abs_pid": apid[pp]}
    ecal = dm.simple_calorimeter(card.ecal, _grid(card.ecal.eta_phi_bins), rng, **p_args,
                                 t_evt=t_evt, t_eta=t_pos_eta, t_phi=t_pos_phi, t_energy=t_e,
                                 t_abs_pid=apid[ti], t_resolution=t_res)
    after_ecal = np.flatnonzero(ecal.track_kept)
    pt_e = t_pt[after_ecal] * ecal.track_scale[after_ecal]
    e_e = kin.energy(pt_e, t_eta[after_ecal], t_mass[after_ecal])
    hcal = dm.simple_calorimeter(card.hcal, _grid(card.hcal.eta_phi_bins), rng, **p_args,
                                 t_evt=t_evt[after_ecal], t_eta=t_pos_eta[after_ecal],
                                 t_phi=t_pos_phi[after_ecal], t_energy=e_e,
                                 t_abs_pid=apid[ti][after_ecal],
                                 t_resolution=t_res[after_ecal])
    ef = after_ecal[hcal.track_kept]  # e-flow tracks (indices into the tracks)
    ef_pt = pt_e[hcal.track_kept] * hcal.track_scale[hcal.track_kept]
    ef_e = kin.energy(ef_pt, t_eta[ef], t_mass[ef])

    def neutral(calo: dm.CalorimeterOutput) -> dict[str, np.ndarray]:
        m = calo.tower_eflow
        e = calo.tower_neutral[m]
        return {"evt": calo.tower_evt[m], "row": np.flatnonzero(m), "E": e,
                "Eta": calo.tower_eta[m], "Phi": calo.tower_phi[m],
                "ET": e / np.cosh(calo.tower_eta[m])}

    pho, nh = neutral(ecal), neutral(hcal)

    # --- EFlowMerger (tracks, photons, neutral hadrons) and the e-flow objects' particles -----
    n_ef, n_pho, n_nh = len(ef), len(pho["E"]), len(nh["E"])
    flow = {
        "evt": np.concatenate([t_evt[ef], pho["evt"], nh["evt"]]),
        "pt": np.concatenate([ef_pt, pho["ET"], nh["ET"]]),
        "eta": np.concatenate([t_eta[ef], pho["Eta"], nh["Eta"]]),
        "phi": np.concatenate([t_phi[ef], pho["Phi"], nh["Phi"]]),
        "e": np.concatenate([ef_e, pho["E"], nh["E"]]),
        "charge": np.concatenate([charge[ti][ef], np.zeros(n_pho + n_nh, np.int64)]),
        "abs_pid": np.concatenate([apid[ti][ef], np.full(n_pho, 22), np.zeros(n_nh, np.int64)]),
        "eem": np.concatenate([np.zeros(n_ef), pho["E"], np.zeros(n_nh)]),
        "ehad": np.concatenate([np.zeros(n_ef + n_pho), nh["E"]]),
        # a uid per e-flow object (Delphes' UniqueID): tracks by their particle, towers apart
        "uid": np.concatenate([ti[ef], n_particles + np.arange(n_pho + n_nh)]),
    }
    order = np.argsort(flow["evt"], kind="stable")
    flow = {k: v[order] for k, v in flow.items()}
    flow_off = dm.offsets(np.bincount(flow["evt"], minlength=n_events))
    # the truth particles behind each e-flow object (tracks: one; towers: all deposits)
    ecal_off, ecal_parts = _csr(ecal.particle_tower, pp, len(ecal.tower_e))
    hcal_off, hcal_parts = _csr(hcal.particle_tower, pp, len(hcal.tower_e))
    pho_off, pho_parts = _gather_csr(ecal_off, ecal_parts, pho["row"])
    nh_off, nh_parts = _gather_csr(hcal_off, hcal_parts, nh["row"])
    obj_off = dm.offsets(np.concatenate([np.ones(n_ef, np.int64), np.diff(pho_off),
                                         np.diff(nh_off)]))
    obj_parts = np.concatenate([ti[ef], pho_parts, nh_parts])
    flow_part_off, flow_parts = _gather_csr(obj_off, obj_parts, order)

    # EFlowFilter: the isolation objects have no electron or muon tracks
    iso_mask = ~np.isin(flow["abs_pid"], (11, 13)) | (flow["charge"] == 0)
    iso = {k: v[iso_mask] for k, v in flow.items()}
    iso_off = dm.offsets(np.bincount(iso["evt"], minlength=n_events))

    def isolate(iso_card, evt, e_, p_, pt_, uid):
        return dm.isolation(iso_card, evt, e_, p_, pt_, uid, iso_off, iso["eta"], iso["phi"],
                            iso["pt"], iso["charge"], iso["uid"])

    stages: dict[str, np.ndarray] = {
        "electron_track": ti[t_kind == 1], "muon_track": ti[t_kind == 2],
        "electron_eflow": ti[ef][apid[ti][ef] == 11]}

    # --- photons: ECal e-flow photons → efficiency → isolation ---------------------------------
    g_keep = dm.keep_with_probability(rng, dm.binned_efficiency(
        card.photon_efficiency, pho["ET"], pho["Eta"]))
    g = {k: v[g_keep] for k, v in pho.items()}
    g_uid = n_particles + np.flatnonzero(g_keep)
    g_iso = isolate(card.photon_isolation, g["evt"], g["Eta"], g["Phi"], g["ET"], g_uid)

    # --- electrons: e-flow electron tracks → efficiency → isolation -----------------------------
    e_rows = np.flatnonzero(apid[ti][ef] == 11)  # rows of ef
    e_trk = ef[e_rows]
    e_pt = ef_pt[e_rows]
    id_inputs = {"electron": {"truth": ti[e_trk], "pt": e_pt, "eta": t_pos_eta[e_trk]}}
    e_eff = dm.binned_efficiency(card.electron_efficiency, e_pt, t_pos_eta[e_trk])
    e_keep = dm.keep_with_probability(rng, e_eff)
    e_trk, e_pt, e_e = e_trk[e_keep], e_pt[e_keep], ef_e[e_rows][e_keep]
    stages["electron_id"] = ti[e_trk]
    e_iso = isolate(card.electron_isolation, t_evt[e_trk], t_eta[e_trk], t_phi[e_trk], e_pt,
                    ti[e_trk])

    # --- muons: smeared muon tracks → efficiency → isolation ---------------------------------
    m_trk = np.flatnonzero(t_kind == 2)
    id_inputs["muon"] = {"truth": ti[m_trk], "pt": t_pt[m_trk], "eta": t_pos_eta[m_trk]}
    m_keep = dm.keep_with_probability(rng, dm.binned_efficiency(
        card.muon_efficiency, t_pt[m_trk], t_pos_eta[m_trk]))
    m_trk = m_trk[m_keep]
    stages["muon_id"] = ti[m_trk]
    m_iso = isolate(card.muon_isolation, t_evt[m_trk], t_eta[m_trk], t_phi[m_trk], t_pt[m_trk],
                    ti[m_trk])

    # --- MissingET (all e-flow), gen-jets and GenMissingET (stable non-neutrinos) -------------
    fpx, fpy, fpz = kin.momentum(flow["pt"], flow["eta"], flow["phi"])
    met = dm.merged_sum(flow["evt"], fpx, fpy, fpz, n_events)
    gen = stable[~np.isin(apid[stable], NEUTRINOS)]
    gen_met = dm.merged_sum(evt_all[gen], px[gen], py[gen], pz[gen], n_events)
    gj = dm.cluster_antikt(np.bincount(evt_all[gen], minlength=n_events), px[gen], py[gen],
                           pz[gen], energy[gen], card.gen_jets.radius, card.gen_jets.pt_min)
    genjet_fields = _jet_fields(gj, charge[gen], energy[gen], eta[gen], phi[gen],
                                np.zeros(len(gen)), np.zeros(len(gen)))
    genjet_fields.update(Flavor=np.zeros(len(gj["evt"]), np.int32),
                         BTag=np.zeros(len(gj["evt"]), np.int32),
                         TauTag=np.zeros(len(gj["evt"]), np.int32))

    # --- FastJetFinder on e-flow (raw pT cut), JetEnergyScale ----------------------------------
    jets = dm.cluster_antikt(np.diff(flow_off), fpx, fpy, fpz, flow["e"], card.jets.radius,
                             card.jets.pt_min)
    j_fields = _jet_fields(jets, flow["charge"], flow["e"], flow["eta"], flow["phi"],
                           flow["eem"], flow["ehad"])
    raw_pt = j_fields["PT"]
    scale = (dm.jet_energy_scale(raw_pt, j_fields["Eta"], card.jets.jes_a, card.jets.jes_b)
             if card.jets.apply_energy_scale else np.ones(len(raw_pt)))
    scale = np.where(scale > 0, scale, 1.0)
    j_fields["PT"] = raw_pt * scale
    j_fields["Mass"] = j_fields["Mass"] * scale
    j_evt = jets["evt"]
    n_jets = len(j_evt)

    # --- JetFlavorAssociation, BTagging, TauTagging ------------------------------------------
    non_final = f["Status"] != 1
    partons = np.flatnonzero(non_final & ((apid <= 5) | (apid == 21) | (apid == 15)))
    p_off = dm.offsets(np.bincount(evt_all[partons], minlength=n_events))
    flavour = dm.jet_flavour(card.flavour, j_evt, j_fields["Eta"], j_fields["Phi"], p_off,
                             pt[partons], eta[partons], phi[partons], apid[partons])
    zeros = np.zeros(n_jets, np.int32)
    j_pt = j_fields["PT"]
    btag = (rng.random(n_jets) <= card.btag_efficiency(flavour, j_pt)).astype(np.int32)
    btag_algo = (rng.random(n_jets) <= card.btag_efficiency(zeros, j_pt)).astype(np.int32)
    btag_phys = (rng.random(n_jets) <= card.btag_efficiency(zeros, j_pt)).astype(np.int32)
    taus = _visible_taus(card, f, apid, pt, eta, evt_all, dm.offsets(truth.counts)[:-1])
    tau = dm.tau_tags(card.tau_tagging, rng, j_evt, j_fields["Eta"], j_fields["Phi"],
                      taus["evt"], taus["eta"], taus["phi"], taus["charge"], n_events)
    j_fields.update(Flavor=flavour, FlavorAlgo=zeros, FlavorPhys=zeros, BTag=btag,
                    BTagAlgo=btag_algo, BTagPhys=btag_phys, **tau)

    # --- UniqueObjectFinder: photons, electrons, muons, jets ---------------------------------
    g_final = np.flatnonzero(g_iso.passed)
    g_parts = _gather_csr(pho_off, pho_parts, np.flatnonzero(g_keep)[g_final])
    e_final = np.flatnonzero(e_iso.passed)
    m_final = np.flatnonzero(m_iso.passed)
    one = dm.offsets
    const_part_off, jet_parts = _gather_csr(flow_part_off, flow_parts, jets["const_index"])
    jet_part_off = const_part_off[jets["const_offsets"]]
    keep_g, keep_e, keep_m, keep_j = dm.unique_objects(n_particles, [
        g_parts,
        (one(np.ones(len(e_final), np.int64)), ti[e_trk][e_final]),
        (one(np.ones(len(m_final), np.int64)), ti[m_trk][m_final]),
        (jet_part_off, jet_parts),
    ])
    g_final, e_final, m_final = g_final[keep_g], e_final[keep_e], m_final[keep_m]
    stages["electron_isolated"] = ti[e_trk][np.flatnonzero(e_iso.passed)]
    stages["muon_isolated"] = ti[m_trk][np.flatnonzero(m_iso.passed)]
    stages["electron_final"] = ti[e_trk][e_final]
    stages["muon_final"] = ti[m_trk][m_final]

    # --- ScalarHT --------------------------------------------------------------------------
    ht = (np.bincount(j_evt[keep_j], weights=j_pt[keep_j], minlength=n_events)
          + np.bincount(t_evt[e_trk][e_final], weights=e_pt[e_final], minlength=n_events)
          + np.bincount(g["evt"][g_final], weights=g["ET"][g_final], minlength=n_events)
          + np.bincount(t_evt[m_trk][m_final], weights=t_pt[m_trk][m_final],
                        minlength=n_events))

    # --- output collections ------------------------------------------------------------------
    def track_fields(rows: np.ndarray, pt_: np.ndarray) -> dict[str, np.ndarray]:
        n = len(rows)
        return {
            "PID": pid[ti][rows].astype(np.int32), "Charge": charge[ti][rows].astype(np.int32),
            "P": pt_ * np.cosh(t_eta[rows]), "PT": pt_, "Eta": t_eta[rows], "Phi": t_phi[rows],
            "CtgTheta": np.sinh(t_eta[rows]), "C": np.zeros(n), "Mass": t_mass[rows],
            "EtaOuter": t_pos_eta[rows], "PhiOuter": t_pos_phi[rows],
            "XOuter": prop.x[tsel][rows], "YOuter": prop.y[tsel][rows],
            "ZOuter": prop.z[tsel][rows], "T": np.zeros(n),
            "X": f["X"][ti][rows], "Y": f["Y"][ti][rows], "Z": f["Z"][ti][rows],
            "D0": t_d0[rows], "DZ": t_dz[rows], "ErrorPT": np.zeros(n), "ErrorD0": err_d0[rows],
            "ErrorDZ": err_dz[rows], "ErrorP": np.zeros(n), "ErrorPhi": np.zeros(n),
            "ErrorCtgTheta": np.zeros(n), "VertexIndex": np.zeros(n, np.int32),
        }

    def towers(calo: dm.CalorimeterOutput, em: bool) -> tuple[np.ndarray, dict]:
        m = calo.tower_kept
        e = calo.tower_e[m]
        z = np.zeros(m.sum())
        return calo.tower_evt[m], {
            "ET": e / np.cosh(calo.tower_eta[m]), "Eta": calo.tower_eta[m],
            "Phi": calo.tower_phi[m], "E": e, "T": z, "NTimeHits": np.zeros(m.sum(), np.int32),
            "Eem": e if em else z, "Ehad": z if em else e}

    def lepton_fields(rows: np.ndarray, pt_: np.ndarray, sums: dm.IsolationSums,
                      keep: np.ndarray) -> dict[str, np.ndarray]:
        r = rows[keep]
        n = len(r)
        return {"PT": pt_[keep], "Eta": t_eta[r], "Phi": t_phi[r], "T": np.zeros(n),
                "Charge": charge[ti][r].astype(np.int32), "EhadOverEem": np.zeros(n),
                "IsolationVar": sums.ratio[keep], "IsolationVarRhoCorr": sums.ratio[keep],
                "SumPtCharged": sums.sum_charged[keep], "SumPtNeutral": sums.sum_neutral[keep],
                "SumPtChargedPU": np.zeros(n), "SumPt": sums.sum_all[keep],
                "D0": t_d0[r], "DZ": t_dz[r], "ErrorD0": err_d0[r], "ErrorDZ": err_dz[r]}

    ecal_evt, ecal_fields = towers(ecal, True)
    hcal_evt, hcal_fields = towers(hcal, False)
    tower_fields = {k: np.concatenate([ecal_fields[k], hcal_fields[k]]) for k in ecal_fields}
    tower_evt = np.concatenate([ecal_evt, hcal_evt])
    tower_order = np.argsort(tower_evt, kind="stable")  # per event: ECal towers, then HCal
    every = np.arange(n_events)
    e_out = lepton_fields(e_trk, e_pt, e_iso, e_final)
    m_out = lepton_fields(m_trk, t_pt[m_trk], m_iso, m_final)
    del m_out["EhadOverEem"]
    g_out = {"PT": g["ET"][g_final], "Eta": g["Eta"][g_final], "Phi": g["Phi"][g_final],
             "E": g["E"][g_final], "T": np.zeros(len(g_final)),
             "EhadOverEem": np.zeros(len(g_final)),
             "IsolationVar": g_iso.ratio[g_final], "IsolationVarRhoCorr": g_iso.ratio[g_final],
             "SumPtCharged": g_iso.sum_charged[g_final],
             "SumPtNeutral": g_iso.sum_neutral[g_final],
             "SumPtChargedPU": np.zeros(len(g_final)), "SumPt": g_iso.sum_all[g_final],
             "Status": np.zeros(len(g_final), np.int32)}
    neutral_fields = {
        "EFlowPhoton": (pho, True), "EFlowNeutralHadron": (nh, False)}
    out: dict[str, Any] = {
        "Track": dm.group(t_evt, n_events, track_fields(np.arange(len(ti)), t_pt)),
        "Tower": dm.group(tower_evt[tower_order], n_events,
                          {k: v[tower_order] for k, v in tower_fields.items()}),
        "EFlowTrack": dm.group(t_evt[ef], n_events, track_fields(ef, ef_pt)),
    }
    for name, (obj, em) in neutral_fields.items():
        zn = np.zeros(len(obj["E"]))
        out[name] = dm.group(obj["evt"], n_events, {
            "ET": obj["ET"], "Eta": obj["Eta"], "Phi": obj["Phi"], "E": obj["E"], "T": zn,
            "NTimeHits": np.zeros(len(zn), np.int32), "Eem": obj["E"] if em else zn,
            "Ehad": zn if em else obj["E"]})
    out.update({
        "Jet": dm.group(j_evt[keep_j], n_events, {k: v[keep_j] for k, v in j_fields.items()},
                        j_pt[keep_j]),
        "GenJet": dm.group(gj["evt"], n_events, genjet_fields, genjet_fields["PT"]),
        "Electron": dm.group(t_evt[e_trk][e_final], n_events, e_out, e_out["PT"]),
        "Muon": dm.group(t_evt[m_trk][m_final], n_events, m_out, m_out["PT"]),
        "Photon": dm.group(g["evt"][g_final], n_events, g_out, g_out["PT"]),
        "MissingET": dm.group(every, n_events, met),
        "GenMissingET": dm.group(every, n_events, gen_met),
        "ScalarHT": dm.group(every, n_events, {"HT": ht}),
    })
    out["_LeptonCandidates"] = _lepton_candidates(
        e_trk, e_pt, e_e, e_iso.passed, m_trk, m_iso.passed, t_evt, t_pt, t_e, t_eta, t_phi,
        ti, charge, t_d0, t_dz, err_d0, err_dz, flow, flow_off, n_events)
    out["_MET"] = {"met": met["MET"], "phi": met["Phi"]}
    out["_stages"] = stages
    out["_id_inputs"] = id_inputs
    return out


def _jet_fields(jets: dict[str, np.ndarray], c_charge: np.ndarray, c_e: np.ndarray,
                c_eta: np.ndarray, c_phi: np.ndarray, c_eem: np.ndarray,
                c_ehad: np.ndarray) -> dict[str, np.ndarray]:
    """FastJetFinder's per-jet quantities from the constituents (raw jet momentum)."""
    pt, eta, phi = kinematics(jets["px"], jets["py"], jets["pz"])
    n = len(pt)
    cidx, coff = jets["const_index"], jets["const_offsets"]
    owner = np.repeat(np.arange(n), np.diff(coff))
    charged = c_charge[cidx] != 0
    e_jet = jets["E"]
    deta = np.zeros(n)
    dphi = np.zeros(n)
    if len(cidx):
        np.maximum.at(deta, owner, np.abs(eta[owner] - c_eta[cidx]))
        np.maximum.at(dphi, owner, np.abs(kin.delta_phi(phi[owner], c_phi[cidx])))
    e_ch = np.bincount(owner, weights=np.where(charged, c_e[cidx], 0.0), minlength=n)
    e_ne = np.bincount(owner, weights=np.where(charged, 0.0, c_e[cidx]), minlength=n)
    eem = np.bincount(owner, weights=c_eem[cidx], minlength=n)
    ehad = np.bincount(owner, weights=c_ehad[cidx], minlength=n)
    n_ch = np.bincount(owner, weights=charged, minlength=n).astype(np.int32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "PT": pt, "Eta": eta, "Phi": phi, "T": np.zeros(n),
            "Mass": kin.invariant_mass(jets["px"], jets["py"], jets["pz"], e_jet, signed=True),
            "DeltaEta": deta, "DeltaPhi": dphi,
            "Charge": np.bincount(owner, weights=c_charge[cidx], minlength=n).astype(np.int32),
            "EhadOverEem": np.where(eem > 0, ehad / np.where(eem > 0, eem, 1.0), 999.9),
            "NCharged": n_ch, "NNeutrals": (np.diff(coff) - n_ch).astype(np.int32),
            "NeutralEnergyFraction": np.where(e_jet > 0, e_ne / e_jet, 0.0),
            "ChargedEnergyFraction": np.where(e_jet > 0, e_ch / e_jet, 0.0),
        }


def _visible_taus(card: DetectorCard, f: dict, apid: np.ndarray, pt: np.ndarray,
                  eta: np.ndarray, evt_all: np.ndarray,
                  first: np.ndarray) -> dict[str, np.ndarray]:
    """TauTagging's τ list: non-final τ's (Delphes' parton list) with pT > tau_pt_min,
    |η| ≤ tau_eta_max and daughters D1 ≤ D2, with the visible momentum of their daughters (all
    but ν_τ); τ's with a W daughter decaying to e or μ are skipped, as the module does."""
    cfg = card.tau_tagging
    tau = np.flatnonzero((apid == 15) & (f["Status"] != 1) & (pt > cfg.tau_pt_min)
                         & (np.abs(eta) <= cfg.tau_eta_max) & (f["D1"] >= 0)
                         & (f["D2"] >= f["D1"]))
    base = first[evt_all[tau]]
    d1, d2 = f["D1"][tau] + base, f["D2"][tau] + base
    n_d = d2 - d1 + 1
    owner = np.repeat(np.arange(len(tau)), n_d)
    dau = np.repeat(d1, n_d) + np.arange(n_d.sum()) - np.repeat(dm.offsets(n_d)[:-1], n_d)
    w_lepton = np.zeros(len(tau), bool)
    w = np.flatnonzero(apid[dau] == 24)
    if len(w):
        for k in w:  # rare: Pythia's τ decays have no W; kept for the module's rule
            i = dau[k]
            lo, hi = f["D1"][i] + first[evt_all[i]], f["D2"][i] + first[evt_all[i]]
            if f["D1"][i] < 0 or np.isin(apid[lo:hi + 1], (11, 13)).any():
                w_lepton[owner[k]] = True
    visible = apid[dau] != 16
    vpx = np.bincount(owner, weights=np.where(visible, f["Px"][dau], 0), minlength=len(tau))
    vpy = np.bincount(owner, weights=np.where(visible, f["Py"][dau], 0), minlength=len(tau))
    vpz = np.bincount(owner, weights=np.where(visible, f["Pz"][dau], 0), minlength=len(tau))
    _, veta, vphi = kinematics(vpx, vpy, vpz)
    keep = ~w_lepton
    return {"evt": evt_all[tau][keep], "eta": veta[keep], "phi": vphi[keep],
            "charge": f["Charge"][tau][keep].astype(np.int32)}


def _lepton_candidates(e_trk, e_pt, e_e, e_isolated, m_trk, m_isolated, t_evt, t_pt, t_e, t_eta,
                       t_phi, ti, charge, t_d0, t_dz, err_d0, err_dz, flow, flow_off,
                       n_events) -> dict[str, Any]:
    """Identified leptons before isolation, with ATLAS-style cone sums for the mini trees:
    ``ptcone30`` = Σ pT of other charged e-flow objects with pT > 1 GeV in ΔR < 0.3,
    ``etcone20`` = Σ ET of neutral e-flow objects in ΔR < 0.2 (electrons: outside the core
    ΔR < 0.05, their own cluster)."""
    rows = np.concatenate([e_trk, m_trk])
    kind = np.concatenate([np.full(len(e_trk), 11), np.full(len(m_trk), 13)])
    lpt = np.concatenate([e_pt, t_pt[m_trk]])
    evt, eta, phi = t_evt[rows], t_eta[rows], t_phi[rows]
    cand, obj = dm.pairs_in_event(evt, flow_off)
    dr2 = kin.delta_r2(eta[cand], phi[cand], flow["eta"][obj], flow["phi"][obj])
    own = flow["uid"][obj] == ti[rows][cand]
    charged = flow["charge"][obj] != 0
    core = np.where(kind[cand] == 11, 0.05**2, 0.0)
    c30 = charged & ~own & (flow["pt"][obj] > 1.0) & (dr2 < 0.3**2)
    n20 = ~charged & (dr2 < 0.2**2) & (dr2 >= core)
    m = len(rows)
    fields = {
        "evt": evt, "type": kind, "PT": lpt, "Eta": eta, "Phi": phi,
        "E": np.concatenate([e_e, t_e[m_trk]]), "Charge": charge[ti][rows].astype(np.int32),
        "D0": t_d0[rows], "DZ": t_dz[rows], "ErrorD0": err_d0[rows], "ErrorDZ": err_dz[rows],
        "ptcone30": np.bincount(cand[c30], weights=flow["pt"][obj][c30], minlength=m),
        "etcone20": np.bincount(cand[n20], weights=flow["pt"][obj][n20], minlength=m),
        "truth": ti[rows], "isolated": np.concatenate([e_isolated, m_isolated]),
    }
    return dm.group(evt, n_events, fields, lpt)
