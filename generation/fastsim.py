"""A CMS-like fast detector simulation, columnar (numpy per block of events), after the Delphes
CMS card (numbers in :class:`DetectorCard`; the spec lists them).

Input: a :class:`~hzx.generation.pythia_driver.TruthBlock`. Output: a dict of collections, each
``{"counts": int array (events), "fields": {Delphes field name: flat array}}``, in Delphes's
names (``Track``, ``Tower``, ``EFlowTrack``, ``EFlowPhoton``, ``EFlowNeutralHadron``, ``Jet``,
``GenJet``, ``Electron``, ``Muon``, ``Photon``, ``MissingET``, ``ScalarHT``); see
:func:`simulate`. Lepton candidates before isolation, with ATLAS-style cone sums, are returned
under ``_LeptonCandidates`` for the 4ℓ mini trees.

Units: GeV, mm (vertices, impact parameters), m and T for the magnetic field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

C_LIGHT = 0.299792458  # GeV / (T m) per unit charge


@dataclasses.dataclass(frozen=True)
class DetectorCard:
    """The detector's numbers (pT, E in GeV; lengths in m unless noted)."""

    radius_m: float = 1.29
    half_length_m: float = 3.0
    bz_tesla: float = 3.8
    tracker_eta_max: float = 2.5
    track_pt_min: float = 0.1
    calo_eta_max: float = 5.0
    ecal_e_min: float = 0.5
    ecal_significance: float = 2.0
    hcal_e_min: float = 1.0
    hcal_significance: float = 1.0
    electron_pt_min: float = 10.0
    muon_pt_min: float = 10.0
    photon_pt_min: float = 10.0
    muon_eta_max: float = 2.4
    isolation_dr: float = 0.5
    isolation_pt_min: float = 0.5
    electron_isolation_max: float = 0.12
    photon_isolation_max: float = 0.12
    muon_isolation_max: float = 0.25
    jet_radius: float = 0.5
    jet_pt_min: float = 20.0
    genjet_pt_min: float = 20.0
    #: impact-parameter resolution σ(d0) = √(a² + (b/pT)²) in mm (a, b·GeV); σ(dz) = 1.5 σ(d0)
    d0_resolution: tuple[float, float] = (0.010, 0.100)
    #: b-tagging parton association cone
    flavour_dr: float = 0.5


CMS_CARD = DetectorCard()

NEUTRINOS = (12, 14, 16)


# ---------------------------------------------------------------------------------------------
# Pure physics functions on arrays
# ---------------------------------------------------------------------------------------------


def kinematics(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, ...]:
    """pT, η, φ of momenta (η = ±999.9 where pT = 0, as Delphes)."""
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(np.divide(pz, pt, where=pt > 0, out=np.zeros_like(pt))),
                       np.copysign(999.9, pz))
    phi = np.arctan2(py, px)
    return pt, eta, phi


def delta_phi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def tracking_efficiency(abs_pid: np.ndarray, pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    """Track-finding efficiency of the CMS card for hadrons, electrons and muons."""
    barrel = abs_eta <= 1.5
    endcap = (abs_eta > 1.5) & (abs_eta <= 2.5)
    hadron = np.where(barrel, np.where(pt > 1.0, 0.95, 0.70), np.where(pt > 1.0, 0.85, 0.60))
    electron = np.where(
        barrel, np.select([pt <= 1.0, pt <= 100.0], [0.73, 0.95], 0.99),
        np.select([pt <= 1.0, pt <= 100.0], [0.50, 0.83], 0.90))
    high = np.exp(0.5 - 5e-4 * pt)
    muon = np.where(
        barrel, np.select([pt <= 1.0, pt <= 1000.0], [0.75, 0.99], 0.99 * high),
        np.select([pt <= 1.0, pt <= 1000.0], [0.70, 0.98], 0.98 * high))
    eff = np.where(abs_pid == 11, electron, np.where(abs_pid == 13, muon, hadron))
    return np.where((pt > 0.1) & (barrel | endcap), eff, 0.0)


def track_pt_resolution(abs_pid: np.ndarray, pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    """Relative σ(pT)/pT = √(a² + (pT·b)²) of the CMS card."""
    bins = np.digitize(abs_eta, [0.5, 1.5])  # 0: ≤ 0.5, 1: 0.5–1.5, 2: > 1.5
    table = {
        "hadron": ((0.06, 1.3e-3), (0.10, 1.7e-3), (0.25, 3.1e-3)),
        "electron": ((0.03, 1.3e-3), (0.05, 1.7e-3), (0.15, 3.1e-3)),
        "muon": ((0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4)),
    }
    kind = np.where(abs_pid == 11, 1, np.where(abs_pid == 13, 2, 0))
    a = np.zeros_like(pt)
    b = np.zeros_like(pt)
    for k, name in enumerate(("hadron", "electron", "muon")):
        for j, (aa, bb) in enumerate(table[name]):
            sel = (kind == k) & (bins == j)
            a[sel], b[sel] = aa, bb
    return np.sqrt(a**2 + (pt * b) ** 2)


def ecal_resolution(energy: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    """Absolute σ(E) of the ECAL, GeV."""
    core = np.sqrt((0.008 * energy) ** 2 + 0.11**2 * energy + 0.40**2)
    return np.select(
        [abs_eta <= 1.5, abs_eta <= 2.5],
        [(1 + 0.64 * abs_eta**2) * core, (2.16 + 5.6 * (abs_eta - 2) ** 2) * core],
        np.sqrt((0.107 * energy) ** 2 + 2.08**2 * energy))


def hcal_resolution(energy: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    """Absolute σ(E) of the HCAL, GeV."""
    return np.where(abs_eta <= 3.0, np.sqrt((0.050 * energy) ** 2 + 1.50**2 * energy),
                    np.sqrt((0.130 * energy) ** 2 + 2.70**2 * energy))


def lognormal_smear(rng: np.random.Generator, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log-normal smearing with the given mean and absolute σ (as Delphes), always > 0."""
    mean = np.asarray(mean, dtype=np.float64)
    safe = np.maximum(mean, 1e-12)
    s2 = np.log1p((np.asarray(sigma) / safe) ** 2)
    return np.exp(np.log(safe) - 0.5 * s2 + np.sqrt(s2) * rng.standard_normal(mean.shape))


def jet_energy_scale(pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    """CMS card jet-energy-scale factor √((2.5 − 0.15|η|)²/pT + 1)."""
    return np.sqrt((2.5 - 0.15 * abs_eta) ** 2 / np.maximum(pt, 1e-9) + 1.0)


def btag_efficiency(flavour: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """b-tag probability by true flavour (5: b, 4: c, else light) of the CMS card."""
    b = 0.85 * np.tanh(0.0025 * pt) * 25.0 / (1 + 0.063 * pt)
    c = 0.25 * np.tanh(0.018 * pt) / (1 + 0.0013 * pt)
    light = 0.01 + 3.8e-5 * pt
    return np.where(flavour == 5, b, np.where(flavour == 4, c, light))


def calorimeter_position(charge: np.ndarray, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray,
                         card: DetectorCard) -> tuple[np.ndarray, np.ndarray]:
    """(η, φ) where a particle from the origin enters the calorimeter (helix in B_z)."""
    r_m = pt / (C_LIGHT * card.bz_tesla * np.maximum(np.abs(charge), 1))
    charged = charge != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = card.radius_m / (2 * r_m)
        turn_barrel = np.where(ratio <= 1, 2 * np.arcsin(np.minimum(ratio, 1.0)), np.inf)
        turn_endcap = card.half_length_m / (r_m * np.abs(np.sinh(eta)))
        turn = np.minimum(turn_barrel, turn_endcap)
        turn = np.where(np.isfinite(turn), turn, 0.0)
        rho = 2 * r_m * np.abs(np.sin(turn / 2))
        z = r_m * np.sinh(eta) * turn
        eta_out = np.where(rho > 0, np.arcsinh(z / np.where(rho > 0, rho, 1.0)), eta)
    phi_out = delta_phi(phi - np.sign(charge) * turn / 2, 0.0)
    return np.where(charged, eta_out, eta), np.where(charged, phi_out, phi)


@dataclasses.dataclass(frozen=True)
class TowerGrid:
    """η–φ segmentation: ``eta_edges`` (ascending, symmetric) and φ divisions per η bin."""

    eta_edges: np.ndarray
    n_phi: np.ndarray

    @staticmethod
    def build(segments: list[tuple[float, float, int, int]]) -> TowerGrid:
        """From (|η| low, |η| high, η bins, φ bins) segments, mirrored to negative η."""
        pos_edges = [0.0]
        pos_phi: list[int] = []
        for lo, hi, n_eta, n_phi in segments:
            edges = np.linspace(lo, hi, n_eta + 1)[1:]
            pos_edges += edges.tolist()
            pos_phi += [n_phi] * n_eta
        pos = np.asarray(pos_edges)
        edges = np.concatenate([-pos[::-1], pos[1:]])
        n_phi = np.asarray(pos_phi[::-1] + pos_phi, dtype=np.int64)
        return TowerGrid(edges, n_phi)

    @property
    def n_bins(self) -> int:
        return int(len(self.n_phi) * 360)

    def locate(self, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tower index (η bin × 360 + φ bin) and an in-acceptance mask."""
        ieta = np.searchsorted(self.eta_edges, eta, side="right") - 1
        inside = (ieta >= 0) & (ieta < len(self.n_phi))
        ieta = np.clip(ieta, 0, len(self.n_phi) - 1)
        nphi = self.n_phi[ieta]
        iphi = np.floor((phi + np.pi) / (2 * np.pi) * nphi).astype(np.int64) % nphi
        return ieta * 360 + iphi, inside

    def centre(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(η, φ, Δη, Δφ) of tower centres."""
        ieta, iphi = index // 360, index % 360
        lo, hi = self.eta_edges[ieta], self.eta_edges[ieta + 1]
        nphi = self.n_phi[ieta]
        width = 2 * np.pi / nphi
        return 0.5 * (lo + hi), -np.pi + (iphi + 0.5) * width, hi - lo, width


#: ECAL: 0.0174 × 1° to |η| 3, HF-like 0.175 × 20° to 5.
ECAL_GRID = TowerGrid.build([(0.0, 2.9928, 172, 360), (2.9928, 5.0, 11, 18)])
#: HCAL: 0.087 × 5° to |η| 1.74, ≈0.18 × 10° to 3, 0.18 × 10° to 4.5, then 20° to 5.
HCAL_GRID = TowerGrid.build([(0.0, 1.74, 20, 72), (1.74, 3.0, 7, 36), (3.0, 4.5, 8, 36),
                             (4.5, 5.0, 3, 18)])


def _group_sum(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=values, minlength=len(uniq))


def cone_sums(c_evt: np.ndarray, c_eta: np.ndarray, c_phi: np.ndarray, c_id: np.ndarray,
              o_offsets: np.ndarray, o_eta: np.ndarray, o_phi: np.ndarray, o_pt: np.ndarray,
              o_id: np.ndarray, dr_max: float, pt_min: float = 0.0,
              dr_min: float = 0.0) -> np.ndarray:
    """Σ pT of objects within ``dr_min ≤ ΔR < dr_max`` of each candidate (same event), skipping
    objects with ``pT ≤ pt_min`` and those with the candidate's own truth id (``o_id == c_id``,
    ids ≥ 0)."""
    start, stop = o_offsets[c_evt], o_offsets[c_evt + 1]
    n = stop - start
    if len(c_evt) == 0 or n.sum() == 0:
        return np.zeros(len(c_evt))
    cand = np.repeat(np.arange(len(c_evt)), n)
    obj = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
    dr2 = (o_eta[obj] - c_eta[cand]) ** 2 + delta_phi(o_phi[obj], c_phi[cand]) ** 2
    use = (dr2 < dr_max**2) & (dr2 >= dr_min**2) & (o_pt[obj] > pt_min)
    use &= ~((o_id[obj] == c_id[cand]) & (c_id[cand] >= 0))
    return np.bincount(cand[use], weights=o_pt[obj][use], minlength=len(c_evt))


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _collection(evt: np.ndarray, n_events: int, fields: dict[str, np.ndarray],
                sort_key: np.ndarray | None = None) -> dict[str, Any]:
    """Group flat objects by event (stable), optionally sorted by −sort_key within an event."""
    if sort_key is None:
        order = np.argsort(evt, kind="stable")
    else:
        order = np.lexsort((-sort_key, evt))
    return {"counts": np.bincount(evt, minlength=n_events).astype(np.int64),
            "fields": {k: np.asarray(v)[order] for k, v in fields.items()}}


# ---------------------------------------------------------------------------------------------
# Jets
# ---------------------------------------------------------------------------------------------


def cluster_antikt(counts: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
                   e: np.ndarray, radius: float, pt_min: float) -> dict[str, np.ndarray]:
    """Anti-kT jets per event with fastjet's vectorised interface.

    Returns flat jet arrays ``px, py, pz, E, evt`` (pT-ordered within an event) and, per jet,
    the constituents as ``const_offsets`` into ``const_index`` (flat input-object indices)."""
    import awkward as ak
    import fastjet
    import vector

    vector.register_awkward()
    n_events = len(counts)
    empty = {"px": np.zeros(0), "py": np.zeros(0), "pz": np.zeros(0), "E": np.zeros(0),
             "evt": np.zeros(0, np.int64), "const_offsets": np.zeros(1, np.int64),
             "const_index": np.zeros(0, np.int64)}
    if counts.sum() == 0:
        return empty
    arr = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"),
                       counts)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    seq = fastjet.ClusterSequence(arr, jetdef)
    jets = seq.inclusive_jets(min_pt=pt_min)
    consts = seq.constituent_index(min_pt=pt_min)
    jpx, jpy = ak.to_numpy(ak.flatten(jets.px)), ak.to_numpy(ak.flatten(jets.py))
    jpt = np.hypot(jpx, jpy)
    n_jets = ak.to_numpy(ak.num(jets.px))
    evt = np.repeat(np.arange(n_events), n_jets)
    flat_consts = ak.flatten(consts)  # jets × constituents (event-local indices)
    n_const = ak.to_numpy(ak.num(flat_consts))
    local = ak.to_numpy(ak.flatten(flat_consts)).astype(np.int64)
    const_evt = np.repeat(evt, n_const)
    global_index = local + _offsets(counts)[const_evt]
    order = np.lexsort((-jpt, evt))
    # reorder jets and their constituent lists
    starts = _offsets(n_const)
    new_counts = n_const[order]
    new_index = np.concatenate([global_index[starts[j]:starts[j + 1]] for j in order]) \
        if len(order) else np.zeros(0, np.int64)
    return {"px": jpx[order], "py": jpy[order],
            "pz": ak.to_numpy(ak.flatten(jets.pz))[order],
            "E": ak.to_numpy(ak.flatten(jets.E))[order], "evt": evt[order],
            "const_offsets": _offsets(new_counts), "const_index": new_index}


def jet_flavour(j_evt: np.ndarray, j_eta: np.ndarray, j_phi: np.ndarray, p_offsets: np.ndarray,
                p_eta: np.ndarray, p_phi: np.ndarray, p_pid: np.ndarray, dr: float) -> np.ndarray:
    """Delphes-like parton flavour: 5 if a b parton lies within ΔR < dr, else 4 for c, else the
    largest |PID| of light quarks (1–3) or 21 for gluons only, 0 without partons."""
    out = np.zeros(len(j_evt), dtype=np.int32)
    if len(j_evt) == 0:
        return out
    start, stop = p_offsets[j_evt], p_offsets[j_evt + 1]
    n = stop - start
    jet = np.repeat(np.arange(len(j_evt)), n)
    obj = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
    near = (p_eta[obj] - j_eta[jet]) ** 2 + delta_phi(p_phi[obj], j_phi[jet]) ** 2 < dr**2
    pid = np.abs(p_pid[obj][near])
    score = np.where(pid == 21, 0.5, pid)  # gluon below quarks
    best = np.zeros(len(j_evt))
    np.maximum.at(best, jet[near], score)
    return np.where(best == 0.5, 21, best).astype(np.int32)


# ---------------------------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------------------------


def simulate(truth: Any, rng: np.random.Generator, card: DetectorCard = CMS_CARD,
             event_weights: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Run the fast simulation on a :class:`TruthBlock`; return Delphes-named collections."""
    f = truth.fields
    counts = truth.counts
    n_events = len(counts)
    evt_all = np.repeat(np.arange(n_events), counts)
    local_all = np.arange(len(evt_all)) - np.repeat(_offsets(counts)[:-1], counts)
    pid = f["PID"].astype(np.int64)
    apid = np.abs(pid)
    pt, eta, phi = kinematics(f["Px"], f["Py"], f["Pz"])
    charge = f["Charge"].astype(np.int64)
    final = f["Status"] == 1
    coloured = (apid <= 8) | (apid == 21) | ((apid > 1000) & (apid < 6000) & ((apid // 10) % 10 == 0))
    visible = final & ~np.isin(apid, NEUTRINOS) & ~coloured & (apid < 1_000_000)
    aeta = np.abs(eta)

    # --- tracks ------------------------------------------------------------------------------
    is_trk_cand = visible & (charge != 0) & (aeta <= card.tracker_eta_max) & (pt > card.track_pt_min)
    ti = np.flatnonzero(is_trk_cand)
    eff = tracking_efficiency(apid[ti], pt[ti], aeta[ti])
    ti = ti[rng.random(len(ti)) < eff]
    rel = track_pt_resolution(apid[ti], pt[ti], aeta[ti])
    t_pt = lognormal_smear(rng, pt[ti], rel * pt[ti])
    t_eta, t_phi = eta[ti], phi[ti]
    t_p = t_pt * np.cosh(t_eta)
    t_mass = f["Mass"][ti]
    t_e = np.sqrt(t_p**2 + t_mass**2)
    x, y, z = f["X"][ti], f["Y"][ti], f["Z"][ti]
    px_u, py_u = np.cos(t_phi), np.sin(t_phi)
    d0_true = x * py_u - y * px_u
    dz_true = z - (x * px_u + y * py_u) * np.sinh(t_eta)
    a, b = card.d0_resolution
    err_d0 = np.sqrt(a**2 + (b / t_pt) ** 2)
    err_dz = 1.5 * err_d0
    t_d0 = d0_true + err_d0 * rng.standard_normal(len(ti))
    t_dz = dz_true + err_dz * rng.standard_normal(len(ti))
    t_eta_out, t_phi_out = calorimeter_position(charge[ti], t_pt, t_eta, t_phi, card)
    t_evt = evt_all[ti]
    track_fields = {
        "PID": pid[ti].astype(np.int32), "Charge": charge[ti].astype(np.int32),
        "P": t_p, "PT": t_pt, "Eta": t_eta, "Phi": t_phi,
        "CtgTheta": np.sinh(t_eta), "C": charge[ti] * C_LIGHT * card.bz_tesla / (2 * t_pt) * 1e-3,
        "Mass": t_mass, "EtaOuter": t_eta_out, "PhiOuter": t_phi_out,
        "T": np.zeros(len(ti)), "X": x, "Y": y, "Z": z,
        "D0": t_d0, "DZ": t_dz, "ErrorPT": rel * t_pt, "ErrorD0": err_d0, "ErrorDZ": err_dz,
        "ErrorP": rel * t_p, "ErrorPhi": np.full(len(ti), 1e-3),
        "ErrorCtgTheta": np.full(len(ti), 1e-3), "VertexIndex": np.zeros(len(ti), np.int32),
    }

    # --- calorimeters --------------------------------------------------------------------------
    ci = np.flatnonzero(visible & (aeta < card.calo_eta_max) & (apid != 13))
    c_eta, c_phi = calorimeter_position(charge[ci], pt[ci], eta[ci], phi[ci], card)
    energy = f["E"][ci]
    em_frac = np.where(np.isin(apid[ci], (11, 22, 111)), 1.0,
                       np.where(np.isin(apid[ci], (310, 3122)), 0.3, 0.0))
    c_evt = evt_all[ci]

    def towers(grid: TowerGrid, dep: np.ndarray, resolution, e_min: float, significance: float,
               trk_index: np.ndarray, trk_energy: np.ndarray):
        bins, inside = grid.locate(c_eta, c_phi)
        sel = inside & (dep > 0)
        keys, e_true = _group_sum(c_evt[sel] * grid.n_bins + bins[sel], dep[sel])
        t_evt_ = keys // grid.n_bins
        t_bin = keys % grid.n_bins
        teta, tphi, _deta, _dphi = grid.centre(t_bin)
        sigma = resolution(e_true, np.abs(teta))
        e_meas = lognormal_smear(rng, e_true, sigma)
        keep = (e_meas > e_min) & (e_meas >= significance * resolution(e_meas, np.abs(teta)))
        # energy flow: subtract the energy of tracks pointing into the tower
        tb, tin = grid.locate(t_eta_out[trk_index], t_phi_out[trk_index])
        tkeys, tsum = _group_sum(t_evt[trk_index][tin] * grid.n_bins + tb[tin], trk_energy[tin])
        pos = np.searchsorted(keys, tkeys)
        has = pos < len(keys)
        has[has] = keys[pos[has]] == tkeys[has]
        e_trk = np.zeros(len(keys))
        e_trk[pos[has]] = tsum[has]
        neutral = e_meas - e_trk
        res_n = resolution(np.maximum(neutral, 1e-9), np.abs(teta))
        eflow = keep & (neutral > np.maximum(e_min, significance * res_n))
        return {"evt": t_evt_, "eta": teta, "phi": tphi, "E": e_meas, "keep": keep,
                "neutral": np.where(eflow, neutral, 0.0), "eflow": eflow}

    electrons_trk = np.flatnonzero(apid[ti] == 11)
    hadrons_trk = np.flatnonzero((apid[ti] != 11) & (apid[ti] != 13))
    ecal = towers(ECAL_GRID, energy * em_frac, ecal_resolution, card.ecal_e_min,
                  card.ecal_significance, electrons_trk, t_e[electrons_trk])
    hcal = towers(HCAL_GRID, energy * (1 - em_frac), hcal_resolution, card.hcal_e_min,
                  card.hcal_significance, hadrons_trk, t_e[hadrons_trk])

    def tower_fields(t: dict, em: bool, mask: np.ndarray, e_key: str) -> dict[str, np.ndarray]:
        e = t[e_key][mask]
        et = e / np.cosh(t["eta"][mask])
        zeros = np.zeros(mask.sum())
        return {"ET": et, "Eta": t["eta"][mask], "Phi": t["phi"][mask], "E": e, "T": zeros,
                "NTimeHits": np.zeros(mask.sum(), np.int32),
                "Eem": e if em else zeros, "Ehad": zeros if em else e}

    ecal_fields = tower_fields(ecal, True, ecal["keep"], "E")
    hcal_fields = tower_fields(hcal, False, hcal["keep"], "E")
    tower = {k: np.concatenate([ecal_fields[k], hcal_fields[k]]) for k in ecal_fields}
    tower_evt = np.concatenate([ecal["evt"][ecal["keep"]], hcal["evt"][hcal["keep"]]])

    pho = tower_fields(ecal, True, ecal["eflow"], "neutral")
    nh = tower_fields(hcal, False, hcal["eflow"], "neutral")
    pho_evt, nh_evt = ecal["evt"][ecal["eflow"]], hcal["evt"][hcal["eflow"]]

    # --- energy-flow objects (tracks + photons + neutral hadrons), event-ordered --------------
    eflow_evt = np.concatenate([t_evt, pho_evt, nh_evt])
    eflow_pt = np.concatenate([t_pt, pho["ET"], nh["ET"]])
    eflow_eta = np.concatenate([t_eta, pho["Eta"], nh["Eta"]])
    eflow_phi = np.concatenate([t_phi, pho["Phi"], nh["Phi"]])
    eflow_e = np.concatenate([t_e, pho["E"], nh["E"]])
    eflow_truth = np.concatenate([ti, np.full(len(pho_evt) + len(nh_evt), -1)])
    eflow_kind = np.concatenate([np.zeros(len(ti), np.int8), np.ones(len(pho_evt), np.int8),
                                 np.full(len(nh_evt), 2, np.int8)])  # 0 track, 1 γ, 2 n. hadron
    eflow_charge = np.concatenate([charge[ti], np.zeros(len(pho_evt) + len(nh_evt), np.int64)])
    order = np.argsort(eflow_evt, kind="stable")
    eflow_evt, eflow_pt, eflow_eta, eflow_phi, eflow_e, eflow_truth, eflow_kind, eflow_charge = (
        a_[order] for a_ in (eflow_evt, eflow_pt, eflow_eta, eflow_phi, eflow_e, eflow_truth,
                             eflow_kind, eflow_charge))
    eflow_counts = np.bincount(eflow_evt, minlength=n_events)
    eflow_off = _offsets(eflow_counts)
    e_px, e_py = eflow_pt * np.cos(eflow_phi), eflow_pt * np.sin(eflow_phi)
    e_pz = eflow_pt * np.sinh(eflow_eta)

    # --- leptons and photons -----------------------------------------------------------------
    def lepton(abs_id: int, pt_min: float, eta_max: float, eff_barrel: float, eff_endcap: float,
               iso_max: float):
        sel = np.flatnonzero((apid[ti] == abs_id) & (t_pt > pt_min) & (np.abs(t_eta) <= eta_max))
        effs = np.where(np.abs(t_eta[sel]) <= 1.5, eff_barrel, eff_endcap)
        sel = sel[rng.random(len(sel)) < effs]
        truth_id = ti[sel]
        args = (t_evt[sel], t_eta[sel], t_phi[sel], truth_id, eflow_off, eflow_eta, eflow_phi,
                eflow_pt, eflow_truth)
        trk_mask = eflow_kind == 0
        neutral_pt = np.where(trk_mask, 0.0, eflow_pt)
        charged_pt = np.where(trk_mask, eflow_pt, 0.0)
        # the lepton's own calorimeter remnant (a tower or two around its impact) is vetoed
        veto = 0.05 if abs_id == 11 else 0.0
        sum_charged = cone_sums(*args[:7], charged_pt, eflow_truth, dr_max=card.isolation_dr,
                                pt_min=card.isolation_pt_min)
        sum_neutral = cone_sums(*args[:7], neutral_pt, eflow_truth, dr_max=card.isolation_dr,
                                pt_min=card.isolation_pt_min, dr_min=veto)
        iso_sum = sum_charged + sum_neutral
        ptcone30 = cone_sums(*args[:7], charged_pt, eflow_truth, dr_max=0.3, pt_min=1.0)
        etcone20 = cone_sums(*args[:7], neutral_pt, eflow_truth, dr_max=0.2, pt_min=0.0,
                             dr_min=veto)
        iso = iso_sum / t_pt[sel]
        fields = {
            "PT": t_pt[sel], "Eta": t_eta[sel], "Phi": t_phi[sel], "T": np.zeros(len(sel)),
            "Charge": charge[ti][sel].astype(np.int32), "EhadOverEem": np.zeros(len(sel)),
            "IsolationVar": iso, "IsolationVarRhoCorr": iso, "SumPtCharged": sum_charged,
            "SumPtNeutral": sum_neutral, "SumPtChargedPU": np.zeros(len(sel)), "SumPt": iso_sum,
            "D0": t_d0[sel], "DZ": t_dz[sel], "ErrorD0": err_d0[sel], "ErrorDZ": err_dz[sel],
        }
        candidate = {"evt": t_evt[sel], "type": np.full(len(sel), abs_id), "E": t_e[sel],
                     "ptcone30": ptcone30, "etcone20": etcone20, "truth": truth_id,
                     "isolated": iso < iso_max, **fields}
        return candidate

    ele = lepton(11, card.electron_pt_min, 2.5, 0.95, 0.85, card.electron_isolation_max)
    muo = lepton(13, card.muon_pt_min, card.muon_eta_max, 0.95, 0.95, card.muon_isolation_max)

    gi = np.flatnonzero(visible & (apid == 22) & (pt > card.photon_pt_min) & (aeta <= 2.5))
    geff = np.where(aeta[gi] <= 1.5, 0.95, 0.85)
    gi = gi[rng.random(len(gi)) < geff]
    g_e = lognormal_smear(rng, f["E"][gi], ecal_resolution(f["E"][gi], aeta[gi]))
    g_pt, g_eta, g_phi, g_evt = g_e / np.cosh(eta[gi]), eta[gi], phi[gi], evt_all[gi]
    g_sum = cone_sums(g_evt, g_eta, g_phi, np.full(len(gi), -1), eflow_off, eflow_eta,
                      eflow_phi, eflow_pt, eflow_truth, dr_max=card.isolation_dr,
                      pt_min=card.isolation_pt_min, dr_min=0.05)
    g_iso = g_sum / g_pt
    g_keep = g_iso < card.photon_isolation_max
    photon_fields = {"PT": g_pt, "Eta": g_eta, "Phi": g_phi, "E": g_e, "T": np.zeros(len(gi)),
                     "EhadOverEem": np.zeros(len(gi)), "IsolationVar": g_iso,
                     "IsolationVarRhoCorr": g_iso, "SumPt": g_sum,
                     "Status": np.ones(len(gi), np.int32)}

    # --- jets -------------------------------------------------------------------------------
    jets = cluster_antikt(eflow_counts, e_px, e_py, e_pz, eflow_e, card.jet_radius,
                          pt_min=max(card.jet_pt_min * 0.5, 1.0))
    j_pt_raw, j_eta, j_phi = kinematics(jets["px"], jets["py"], jets["pz"])
    scale = jet_energy_scale(j_pt_raw, np.abs(j_eta))
    j_pt = j_pt_raw * scale
    j_e = jets["E"] * scale
    j_mass = np.sqrt(np.maximum(j_e**2 - (j_pt * np.cosh(j_eta)) ** 2, 0.0))
    parton = (coloured & ((apid <= 5) | (apid == 21)) & (pt > 1.0)) & (f["Status"] != 4)
    p_i = np.flatnonzero(parton)
    p_off = _offsets(np.bincount(evt_all[p_i], minlength=n_events))
    flavour = jet_flavour(jets["evt"], j_eta, j_phi, p_off, eta[p_i], phi[p_i], pid[p_i],
                          card.flavour_dr)
    btag = (rng.random(len(j_pt)) < btag_efficiency(flavour, j_pt)).astype(np.int32)
    cidx = jets["const_index"]
    coff = jets["const_offsets"]
    jet_of_const = np.repeat(np.arange(len(j_pt)), np.diff(coff))
    n_charged = np.bincount(jet_of_const, weights=(eflow_kind[cidx] == 0), minlength=len(j_pt))
    q_sum = np.bincount(jet_of_const, weights=eflow_charge[cidx], minlength=len(j_pt))
    e_em = np.bincount(jet_of_const, weights=np.where(eflow_kind[cidx] == 1, eflow_e[cidx], 0),
                       minlength=len(j_pt))
    e_had = np.bincount(jet_of_const, weights=np.where(eflow_kind[cidx] == 2, eflow_e[cidx], 0),
                        minlength=len(j_pt))
    deta = np.zeros(len(j_pt))
    dphi = np.zeros(len(j_pt))
    if len(cidx):
        np.maximum.at(deta, jet_of_const, np.abs(eflow_eta[cidx] - j_eta[jet_of_const]))
        np.maximum.at(dphi, jet_of_const, np.abs(delta_phi(eflow_phi[cidx], j_phi[jet_of_const])))
    keep_jet = j_pt > card.jet_pt_min
    jet_fields = {
        "PT": j_pt, "Eta": j_eta, "Phi": j_phi, "T": np.zeros(len(j_pt)), "Mass": j_mass,
        "DeltaEta": deta, "DeltaPhi": dphi, "Flavor": flavour, "FlavorAlgo": flavour,
        "FlavorPhys": flavour, "BTag": btag, "BTagAlgo": btag, "BTagPhys": btag,
        "TauTag": np.zeros(len(j_pt), np.int32), "Charge": q_sum.astype(np.int32),
        "EhadOverEem": np.divide(e_had, e_em, out=np.full(len(j_pt), 999.9), where=e_em > 0),
        "NCharged": n_charged.astype(np.int32),
        "NNeutrals": (np.diff(coff) - n_charged).astype(np.int32),
    }
    jet_fields = {k: v[keep_jet] for k, v in jet_fields.items()}
    jet_evt = jets["evt"][keep_jet]

    # --- gen jets ------------------------------------------------------------------------------
    gen = np.flatnonzero(final & ~np.isin(apid, NEUTRINOS) & ~coloured & (aeta < card.calo_eta_max))
    gen_counts = np.bincount(evt_all[gen], minlength=n_events)
    gjets = cluster_antikt(gen_counts, f["Px"][gen], f["Py"][gen], f["Pz"][gen], f["E"][gen],
                           card.jet_radius, card.genjet_pt_min)
    gj_pt, gj_eta, gj_phi = kinematics(gjets["px"], gjets["py"], gjets["pz"])
    gj_mass = np.sqrt(np.maximum(gjets["E"] ** 2 - gjets["px"] ** 2 - gjets["py"] ** 2
                                 - gjets["pz"] ** 2, 0.0))
    gj_flav = jet_flavour(gjets["evt"], gj_eta, gj_phi, p_off, eta[p_i], phi[p_i], pid[p_i],
                          card.flavour_dr)
    genjet_fields = {"PT": gj_pt, "Eta": gj_eta, "Phi": gj_phi, "T": np.zeros(len(gj_pt)),
                     "Mass": gj_mass, "Flavor": gj_flav, "BTag": np.zeros(len(gj_pt), np.int32),
                     "TauTag": np.zeros(len(gj_pt), np.int32),
                     "Charge": np.zeros(len(gj_pt), np.int32)}

    # --- missing ET, HT -------------------------------------------------------------------------
    mpx = -np.bincount(eflow_evt, weights=e_px, minlength=n_events)
    mpy = -np.bincount(eflow_evt, weights=e_py, minlength=n_events)
    mpz = -np.bincount(eflow_evt, weights=e_pz, minlength=n_events)
    met, met_eta, met_phi = kinematics(mpx, mpy, mpz)
    ht = (np.bincount(jet_evt, weights=jet_fields["PT"], minlength=n_events)
          + np.bincount(ele["evt"][ele["isolated"]], weights=ele["PT"][ele["isolated"]],
                        minlength=n_events)
          + np.bincount(muo["evt"][muo["isolated"]], weights=muo["PT"][muo["isolated"]],
                        minlength=n_events)
          + np.bincount(g_evt[g_keep], weights=g_pt[g_keep], minlength=n_events))
    every = np.arange(n_events)

    def select(cand: dict, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        m = cand["isolated"]
        return {k: cand[k][m] for k in names}

    lep_names = tuple(k for k in ele if k[0].isupper() and k != "E")
    eflow_track = dict(track_fields)
    eflow_photon = {k: pho[k] for k in ("ET", "Eta", "Phi", "E", "T")}
    eflow_photon = {"PT": eflow_photon.pop("ET"), **eflow_photon,
                    "EhadOverEem": np.zeros(len(pho_evt))}
    out = {
        "Track": _collection(t_evt, n_events, track_fields, track_fields["PT"]),
        "Tower": _collection(tower_evt, n_events, tower, tower["ET"]),
        "EFlowTrack": _collection(t_evt, n_events, eflow_track, eflow_track["PT"]),
        "EFlowPhoton": _collection(pho_evt, n_events, eflow_photon, eflow_photon["PT"]),
        "EFlowNeutralHadron": _collection(nh_evt, n_events, nh, nh["ET"]),
        "Jet": _collection(jet_evt, n_events, jet_fields, jet_fields["PT"]),
        "GenJet": _collection(gjets["evt"], n_events, genjet_fields, genjet_fields["PT"]),
        "Electron": _collection(ele["evt"][ele["isolated"]], n_events,
                                select(ele, lep_names), ele["PT"][ele["isolated"]]),
        "Muon": _collection(muo["evt"][muo["isolated"]], n_events, select(muo, lep_names),
                            muo["PT"][muo["isolated"]]),
        "Photon": _collection(g_evt[g_keep], n_events, {k: v[g_keep] for k, v in
                                                        photon_fields.items()}, g_pt[g_keep]),
        "MissingET": _collection(every, n_events, {"MET": met, "Eta": met_eta, "Phi": met_phi}),
        "ScalarHT": _collection(every, n_events, {"HT": ht}),
    }
    # lepton candidates before isolation (for the 4ℓ mini trees)
    both = {k: np.concatenate([ele[k], muo[k]]) for k in ele}
    out["_LeptonCandidates"] = _collection(both["evt"], n_events, both, both["PT"])
    out["_MET"] = {"met": met, "phi": met_phi}
    _ = local_all
    return out
