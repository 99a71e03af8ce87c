"""The modules of Delphes' CMS chain as pure functions on flat numpy arrays (one block of events).

Each function does what its Delphes counterpart (``modules/<Name>.cc``) does, with the card's
parameters from :mod:`hzx.generation.delphes_card`: the same formulas, evaluated at the same η
(Delphes' Efficiency and MomentumSmearing read the candidate's *position*, the calorimeter entry
point for tracks), the same inclusive/exclusive comparisons, the same order of operations.
Objects are identified across modules by the truth particles they are built from, which is what
Delphes' ``Candidate::Overlaps`` compares for the unique-object finder.

Units: GeV, mm for positions and impact parameters (the card's solenoid in m).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hzx.generation.delphes_card import (
    BinnedEfficiency,
    Calorimeter,
    FlavourAssociation,
    Isolation,
    MomentumResolution,
    Propagator,
    TauTagging,
)
from hzx.processors.kinematics import delta_r2

C_LIGHT_M_S = 2.99792458e8


def pseudorapidity(pt: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """η of momenta or positions; ±999.9 where pT = 0 (Delphes' TreeWriter convention)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pt > 0, np.arcsinh(np.divide(pz, pt, where=pt > 0,
                                                     out=np.zeros_like(pt))),
                        np.copysign(999.9, pz))


def offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# ParticlePropagator
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Propagated:
    """Particles that reach the calorimeter (``index`` into the input arrays) with their entry
    point (mm) and, for charged ones, the helix parameters at the closest approach to the beam:
    momentum φ, d0, dz (mm)."""

    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    momentum_phi: np.ndarray
    d0: np.ndarray
    dz: np.ndarray


def propagate(px: np.ndarray, py: np.ndarray, pz: np.ndarray, energy: np.ndarray,
              charge: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, z_mm: np.ndarray,
              card: Propagator) -> Propagated:
    """ParticlePropagator: straight lines for neutrals, helices in B_z for charged particles, to
    the cylinder's side or end caps. Dropped: particles produced outside the cylinder, with
    pT² < 1e−9 GeV², charged ones whose end point lies on the beam line."""
    x, y, z = x_mm * 1e-3, y_mm * 1e-3, z_mm * 1e-3
    radius, half = card.radius_m, card.half_length_m
    pt2 = px**2 + py**2
    inside = (np.hypot(x, y) <= radius) & (np.abs(z) <= half) & (pt2 >= 1e-9)
    charged = (np.abs(charge) > 1e-9) & (abs(card.bz_tesla) > 1e-9)
    xt, yt, zt = np.zeros_like(px), np.zeros_like(px), np.zeros_like(px)
    mphi = np.arctan2(py, px)
    d0 = np.zeros_like(px)
    dz = np.zeros_like(px)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # neutral: solve pT²t² + 2(px x + py y)t − (R² − x² − y²) = 0
        n = np.flatnonzero(inside & ~charged)
        nx, ny, nz, npx, npy, npz, npt2 = x[n], y[n], z[n], px[n], py[n], pz[n], pt2[n]
        tmp = npx * ny - npy * nx
        t_r = (np.sqrt(npt2 * radius**2 - tmp**2) - npx * nx - npy * ny) / npt2
        t_z = (np.copysign(half, npz) - nz) / npz
        t = np.fmin(t_r, t_z)
        xt[n], yt[n], zt[n] = nx + npx * t, ny + npy * t, nz + npz * t
        # charged: the helix
        c = np.flatnonzero(inside & charged)
        cx, cy, cz, cpx, cpy, cpz = x[c], y[c], z[c], px[c], py[c], pz[c]
        q, e = charge[c].astype(np.float64), energy[c]
        pt = np.sqrt(pt2[c])
        gammam = e * 1.0e9 / C_LIGHT_M_S**2
        omega = q * card.bz_tesla / gammam
        r = pt / (q * card.bz_tesla) * 1.0e9 / C_LIGHT_M_S
        phi0 = np.arctan2(cpy, cpx)
        xc = cx + r * np.sin(phi0)
        yc = cy - r * np.cos(phi0)
        rc = np.hypot(xc, yc)
        td = (phi0 + np.arctan2(xc, yc)) / omega
        pio = np.abs(np.pi / omega)
        turns = np.where(np.abs(td) > 0.5 * pio, np.ceil((np.abs(td) - 0.5 * pio) / pio), 0.0)
        td = td - np.sign(td) * turns * pio
        vz = cpz * C_LIGHT_M_S / e
        phid = phi0 - omega * td
        sin_d, cos_d = np.sin(phid), np.cos(phid)
        xd = xc - r * sin_d
        yd = yc + r * cos_d
        tz_c = np.where(vz == 0.0, 1.0e99, (np.copysign(half, cpz) - cz) / vz)
        cos_alpha = np.clip((r**2 + rc**2 - radius**2) / (2 * np.abs(r) * rc), -1.0, 1.0)
        tr_c = td + np.abs(np.arccos(cos_alpha) / omega)
        tc = np.where(rc + np.abs(r) < radius, tz_c, np.fmin(tr_c, tz_c))
        phit = phi0 - omega * tc
        xt[c] = xc - r * np.sin(phit)
        yt[c] = yc + r * np.cos(phit)
        zt[c] = cz + vz * tc
        mphi[c] = np.arctan2(sin_d, cos_d)
        d0[c] = (xd * sin_d - yd * cos_d) * 1e3
        dz[c] = (cz + vz * td) * 1e3
    reached = inside & (~charged | (np.hypot(xt, yt) > 0))
    idx = np.flatnonzero(reached)
    xt, yt, zt = xt[idx] * 1e3, yt[idx] * 1e3, zt[idx] * 1e3
    rho = np.hypot(xt, yt)
    return Propagated(index=idx, x=xt, y=yt, z=zt, eta=pseudorapidity(rho, zt),
                      phi=np.arctan2(yt, xt), momentum_phi=mphi[idx], d0=d0[idx], dz=dz[idx])


# ---------------------------------------------------------------------------------------------
# Efficiency, MomentumSmearing
# ---------------------------------------------------------------------------------------------


def binned_efficiency(card: BinnedEfficiency, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's efficiency formula at (pT, η); 0 outside its |η| and pT ranges."""
    aeta = np.abs(eta)
    out = np.zeros(np.shape(pt), dtype=np.float64)
    lows = (0.0, *card.eta_edges[:-1])
    for i, (lo, hi) in enumerate(zip(lows, card.eta_edges, strict=True)):
        in_eta = (aeta <= hi) if i == 0 else ((aeta > lo) & (aeta <= hi))
        for j, value in enumerate(card.values[i]):
            low = card.pt_edges[j]
            last = j + 1 == len(card.pt_edges)
            in_pt = (pt > low) if last else ((pt > low) & (pt <= card.pt_edges[j + 1]))
            v = value * np.exp(0.5 - pt * 5.0e-4) if (last and card.falloff_last_bin) else value
            out = np.where(in_eta & in_pt, v, out)
    return out


def keep_with_probability(rng: np.random.Generator, efficiency: np.ndarray) -> np.ndarray:
    """Efficiency: a candidate is kept unless a uniform draw exceeds its efficiency."""
    return ~(rng.random(np.shape(efficiency)) > efficiency)


def relative_resolution(card: MomentumResolution, pt: np.ndarray,
                        eta: np.ndarray) -> np.ndarray:
    """σ(pT)/pT of the card at (pT, position η), clipped at 1 as MomentumSmearing does."""
    aeta = np.abs(eta)
    out = np.zeros(np.shape(pt), dtype=np.float64)
    lows = (0.0, *card.eta_edges[:-1])
    for i, ((a, b), lo, hi) in enumerate(zip(card.ab, lows, card.eta_edges, strict=True)):
        in_eta = (aeta <= hi) if i == 0 else ((aeta > lo) & (aeta <= hi))
        out = np.where(in_eta & (pt > card.pt_min), np.sqrt(a**2 + pt**2 * b**2), out)
    return np.minimum(out, 1.0)


def lognormal(rng: np.random.Generator, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Delphes' LogNormal: a log-normal variate of the given mean and σ; 0 where mean ≤ 0."""
    mean = np.asarray(mean, dtype=np.float64)
    positive = mean > 0
    safe = np.where(positive, mean, 1.0)
    b = np.sqrt(np.log1p((np.asarray(sigma) / safe) ** 2))
    a = np.log(safe) - 0.5 * b * b
    draws = rng.standard_normal(mean.shape)
    return np.where(positive, np.exp(a + b * draws), 0.0)


# ---------------------------------------------------------------------------------------------
# SimpleCalorimeter
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TowerGrid:
    """The η–φ segmentation of a calorimeter: ``eta_edges`` (sorted) and, per η bin, its φ
    edges (flat ``phi_edges`` with ``phi_offsets``). Bin *k* is (edge[k], edge[k+1]] in η and
    likewise in φ (Delphes locates with ``lower_bound``)."""

    eta_edges: np.ndarray
    phi_edges: np.ndarray
    phi_offsets: np.ndarray

    @staticmethod
    def from_card(eta_phi_bins: tuple[tuple[tuple[float, ...], int], ...]) -> TowerGrid:
        """From the card's ``add EtaPhiBins`` entries; an η edge given twice takes the union."""
        table: dict[float, set[float]] = {}
        for edges, n_phi in eta_phi_bins:
            half = n_phi // 2
            phis = [i * np.pi / float(half) for i in range(-half, half + 1)]
            for eta in edges:
                table.setdefault(float(eta), set()).update(phis)
        etas = sorted(table)
        # a bin takes the φ edges listed with its upper η edge
        per_bin = [np.asarray(sorted(table[e])) for e in etas[1:]]
        sizes = np.asarray([len(p) for p in per_bin])
        return TowerGrid(np.asarray(etas), np.concatenate(per_bin), offsets(sizes))

    @property
    def n_towers(self) -> int:
        return int(np.sum(np.diff(self.phi_offsets) - 1))

    def locate(self, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(tower number, inside): the tower of each (η, φ) and whether it is in the grid."""
        k = np.searchsorted(self.eta_edges, eta, side="left")
        inside = (k > 0) & (k < len(self.eta_edges))
        kb = np.clip(k - 1, 0, len(self.eta_edges) - 2)
        lo, hi = self.phi_offsets[kb], self.phi_offsets[kb + 1]
        n_bins = hi - lo - 1
        # φ divisions are uniform from −π to π: guess the bin, then settle it on the card's
        # edges (lower_bound: the first edge ≥ φ)
        j = np.clip(np.floor((phi + np.pi) / (2 * np.pi) * n_bins).astype(np.int64) + 1, 1,
                    np.maximum(n_bins, 1))
        last = len(self.phi_edges) - 1
        for _ in range(2):
            j = np.where(phi > self.phi_edges[np.minimum(lo + j, last)], j + 1, j)
            j = np.where((j > 0) & (phi <= self.phi_edges[np.minimum(lo + j - 1, last)]), j - 1, j)
        inside &= (j > 0) & (j <= n_bins)
        n_per_bin = np.diff(self.phi_offsets) - 1
        first = offsets(n_per_bin)[kb]
        return np.where(inside, first + j - 1, -1), inside

    def edges(self, tower: np.ndarray) -> tuple[np.ndarray, ...]:
        """(η low, η high, φ low, φ high) of tower numbers."""
        n_per_bin = np.diff(self.phi_offsets) - 1
        first = offsets(n_per_bin)
        kb = np.searchsorted(first, tower, side="right") - 1
        j = tower - first[kb]
        base = self.phi_offsets[kb]
        return (self.eta_edges[kb], self.eta_edges[kb + 1], self.phi_edges[base + j],
                self.phi_edges[base + j + 1])


@dataclasses.dataclass
class CalorimeterOutput:
    """Result of one SimpleCalorimeter on a block.

    ``tower_*``: every tower that was hit (``tower_evt``, ``tower_id``: the event and the tower
    number), its measured energy ``tower_e`` (0 if below threshold), smeared position, summed
    track energy ``tower_etrk``; ``tower_kept``: towers in the Tower output (energy > 0);
    ``tower_eflow``: towers giving an e-flow neutral of energy ``tower_neutral``.
    ``particle_tower``: for each input particle, the row of its tower (−1: no deposit here).
    ``track_scale``: the factor applied to each input track's pT (1 unless rescaled);
    ``track_kept``: tracks passed on to the e-flow output (those that hit a tower).
    """

    tower_evt: np.ndarray
    tower_id: np.ndarray
    tower_e: np.ndarray
    tower_eta: np.ndarray
    tower_phi: np.ndarray
    tower_etrk: np.ndarray
    tower_kept: np.ndarray
    tower_eflow: np.ndarray
    tower_neutral: np.ndarray
    particle_tower: np.ndarray
    track_scale: np.ndarray
    track_kept: np.ndarray


def simple_calorimeter(card: Calorimeter, grid: TowerGrid, rng: np.random.Generator, *,
                       p_evt: np.ndarray, p_eta: np.ndarray, p_phi: np.ndarray,
                       p_energy: np.ndarray, p_abs_pid: np.ndarray,
                       t_evt: np.ndarray, t_eta: np.ndarray, t_phi: np.ndarray,
                       t_energy: np.ndarray, t_abs_pid: np.ndarray,
                       t_resolution: np.ndarray) -> CalorimeterOutput:
    """SimpleCalorimeter on particles (entry points ``p_eta``, ``p_phi``) and tracks (their
    entry points, energies from the smeared momenta, relative resolutions ``t_resolution``)."""
    n_towers = grid.n_towers
    p_frac = card.fraction(p_abs_pid)
    t_frac = card.fraction(t_abs_pid)
    p_tow, p_in = grid.locate(p_eta, p_phi)
    t_tow, t_in = grid.locate(t_eta, t_phi)
    p_hit = p_in & (p_frac >= 1.0e-9)
    t_dep = t_in & (t_frac > 1.0e-9)
    p_key = np.where(p_hit, p_evt * n_towers + p_tow, -1)
    t_key = np.where(t_in, t_evt * n_towers + t_tow, -1)
    keys = np.unique(np.concatenate([p_key[p_hit], t_key[t_dep]]))
    n = len(keys)
    p_row = np.where(p_hit, np.searchsorted(keys, p_key), -1)
    t_row = np.where(t_dep, np.searchsorted(keys, t_key), -1)
    tower_evt, tower_id = keys // n_towers, keys % n_towers
    eta_lo, eta_hi, phi_lo, phi_hi = grid.edges(tower_id)
    centre_eta = 0.5 * (eta_lo + eta_hi)
    e_true = np.bincount(p_row[p_hit], weights=(p_energy * p_frac)[p_hit], minlength=n)
    dep_e = (t_energy * t_frac)[t_dep]
    e_trk = np.bincount(t_row[t_dep], weights=dep_e, minlength=n)
    # track σ: the track's resolution times its deposited energy, or its full energy when the
    # calorimeter would measure it better (SimpleCalorimeter's energyGuess)
    rows = t_row[t_dep]
    sigma_cal_trk = card.resolution(centre_eta[rows], t_energy[t_dep])
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(sigma_cal_trk / t_energy[t_dep] < t_resolution[t_dep], dep_e,
                         t_energy[t_dep])
    sigma_trk = np.sqrt(np.bincount(rows, weights=(t_resolution[t_dep] * guess) ** 2,
                                    minlength=n))
    sigma = card.resolution(centre_eta, e_true)
    energy = lognormal(rng, e_true, sigma)
    sigma = card.resolution(centre_eta, energy)
    energy = np.where((energy < card.energy_min) | (energy < card.significance_min * sigma),
                      0.0, energy)
    if card.smear_tower_center:
        eta = rng.uniform(eta_lo, eta_hi)
        phi = rng.uniform(phi_lo, phi_hi)
    else:
        eta, phi = centre_eta, 0.5 * (phi_lo + phi_hi)
    neutral = np.maximum(energy - e_trk, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        significance = neutral / np.sqrt(sigma_trk**2 + sigma**2)
        eflow = (neutral > card.energy_min) & (significance > card.significance_min)
        w_trk = np.where(sigma_trk > 0, 1.0 / sigma_trk**2, 0.0)
        w_cal = np.where(sigma > 0, 1.0 / sigma**2, 0.0)
        best = (w_trk * e_trk + w_cal * energy) / (w_trk + w_cal)
        scale_row = np.where(~eflow & (e_trk > 0), best / e_trk, 1.0)
    track_scale = np.ones(len(t_evt))
    track_scale[t_dep] = scale_row[rows]
    return CalorimeterOutput(
        tower_evt=tower_evt, tower_id=tower_id, tower_e=energy, tower_eta=eta, tower_phi=phi,
        tower_etrk=e_trk, tower_kept=energy > 0, tower_eflow=eflow,
        tower_neutral=np.where(eflow, neutral, 0.0), particle_tower=p_row,
        track_scale=track_scale, track_kept=t_in)


# ---------------------------------------------------------------------------------------------
# Isolation
# ---------------------------------------------------------------------------------------------


def pairs_in_event(c_evt: np.ndarray, o_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (candidate, object) pair of the same event: flat candidate and object indices."""
    start, stop = o_offsets[c_evt], o_offsets[c_evt + 1]
    n = stop - start
    cand = np.repeat(np.arange(len(c_evt)), n)
    obj = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
    return cand, obj


@dataclasses.dataclass
class IsolationSums:
    """Isolation module's sums (GeV) and ratio per candidate; ``passed``: ratio ≤ maximum."""

    sum_charged: np.ndarray
    sum_neutral: np.ndarray
    sum_all: np.ndarray
    ratio: np.ndarray
    passed: np.ndarray


def isolation(card: Isolation, c_evt: np.ndarray, c_eta: np.ndarray, c_phi: np.ndarray,
              c_pt: np.ndarray, c_uid: np.ndarray, o_offsets: np.ndarray, o_eta: np.ndarray,
              o_phi: np.ndarray, o_pt: np.ndarray, o_charge: np.ndarray,
              o_uid: np.ndarray) -> IsolationSums:
    """Isolation of candidates against e-flow objects (grouped by event with ``o_offsets``):
    objects with pT ≥ pt_min within ΔR ≤ delta_r_max, the candidate's own object (same
    ``uid``, ≥ 0) excluded."""
    cand, obj = pairs_in_event(c_evt, o_offsets)
    use = delta_r2(c_eta[cand], c_phi[cand], o_eta[obj], o_phi[obj]) <= card.delta_r_max**2
    use &= ~(o_pt[obj] < card.pt_min)
    use &= ~((o_uid[obj] == c_uid[cand]) & (c_uid[cand] >= 0))
    m = len(c_evt)
    charged = o_charge[obj] != 0
    s_ch = np.bincount(cand[use & charged], weights=o_pt[obj][use & charged], minlength=m)
    s_ne = np.bincount(cand[use & ~charged], weights=o_pt[obj][use & ~charged], minlength=m)
    s_all = np.bincount(cand[use], weights=o_pt[obj][use], minlength=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (s_ch + s_ne) / c_pt
    return IsolationSums(s_ch, s_ne, s_all, ratio, ~(ratio > card.pt_ratio_max))


# ---------------------------------------------------------------------------------------------
# FastJetFinder, EnergyScale
# ---------------------------------------------------------------------------------------------


def cluster_antikt(counts: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
                   e: np.ndarray, radius: float, pt_min: float) -> dict[str, np.ndarray]:
    """Anti-kT jets with pT ≥ ``pt_min`` per event (fastjet's vectorised interface).

    Returns flat jet arrays ``px, py, pz, E, evt`` (pT-ordered within an event) and, per jet,
    the constituents as ``const_offsets`` into ``const_index`` (flat input-object indices)."""
    import awkward as ak
    import fastjet
    import vector

    vector.register_awkward()
    empty = {"px": np.zeros(0), "py": np.zeros(0), "pz": np.zeros(0), "E": np.zeros(0),
             "evt": np.zeros(0, np.int64), "const_offsets": np.zeros(1, np.int64),
             "const_index": np.zeros(0, np.int64)}
    if counts.sum() == 0:
        return empty
    arr = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"),
                       counts)
    seq = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = seq.inclusive_jets(min_pt=pt_min)
    consts = seq.constituent_index(min_pt=pt_min)
    flat = {k: ak.to_numpy(ak.flatten(getattr(jets, k))) for k in ("px", "py", "pz", "E")}
    n_jets = ak.to_numpy(ak.num(jets.px))
    evt = np.repeat(np.arange(len(counts)), n_jets)
    per_jet = ak.flatten(consts)
    n_const = ak.to_numpy(ak.num(per_jet))
    local = ak.to_numpy(ak.flatten(per_jet)).astype(np.int64)
    global_index = local + offsets(counts)[np.repeat(evt, n_const)]
    order = np.lexsort((-np.hypot(flat["px"], flat["py"]), evt))
    # reorder the constituent lists with the jets
    starts = offsets(n_const)
    new_counts = n_const[order]
    take = np.repeat(starts[order] - offsets(new_counts)[:-1], new_counts) + np.arange(
        new_counts.sum())
    return {**{k: v[order] for k, v in flat.items()}, "evt": evt[order],
            "const_offsets": offsets(new_counts), "const_index": global_index[take]}


def jet_energy_scale(pt: np.ndarray, eta: np.ndarray, a: float, b: float) -> np.ndarray:
    """EnergyScale factor √((a − b|η|)²/pT + 1) of the raw jet (its four-momentum is scaled)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((a - b * np.abs(eta)) ** 2 / pt + 1.0)


# ---------------------------------------------------------------------------------------------
# JetFlavorAssociation, BTagging, TauTagging
# ---------------------------------------------------------------------------------------------


def jet_flavour(card: FlavourAssociation, j_evt: np.ndarray, j_eta: np.ndarray,
                j_phi: np.ndarray, p_offsets: np.ndarray, p_pt: np.ndarray, p_eta: np.ndarray,
                p_phi: np.ndarray, p_abs_pid: np.ndarray) -> np.ndarray:
    """Delphes' default ``Flavor``: the largest |PID| of the partons within ΔR ≤ delta_r, gluons
    (21) below quarks, 0 without any; partons are quarks 1–5 and gluons with pT > pt_min and
    |η| ≤ eta_max (the caller passes the non-final quarks, gluons and τ's, as Delphes' reader)."""
    out = np.zeros(len(j_evt), dtype=np.int32)
    if len(j_evt) == 0:
        return out
    p_evt = np.repeat(np.arange(len(p_offsets) - 1), np.diff(p_offsets))
    sel = np.flatnonzero((p_pt > card.parton_pt_min) & (np.abs(p_eta) <= card.parton_eta_max)
                         & ((p_abs_pid == 21) | (p_abs_pid <= 5)))
    p_offsets = offsets(np.bincount(p_evt[sel], minlength=len(p_offsets) - 1))
    p_eta, p_phi, p_abs_pid = p_eta[sel], p_phi[sel], p_abs_pid[sel]
    jet, obj = pairs_in_event(j_evt, p_offsets)
    ok = delta_r2(j_eta[jet], j_phi[jet], p_eta[obj], p_phi[obj]) <= card.delta_r**2
    code = np.where(p_abs_pid[obj] == 21, 0, p_abs_pid[obj])
    best = np.full(len(j_evt), -1, dtype=np.int64)
    np.maximum.at(best, jet[ok], code[ok])
    return np.where(best == 0, 21, np.maximum(best, 0)).astype(np.int32)


def tau_tags(card: TauTagging, rng: np.random.Generator, j_evt: np.ndarray, j_eta: np.ndarray,
             j_phi: np.ndarray, tau_evt: np.ndarray, tau_eta: np.ndarray, tau_phi: np.ndarray,
             tau_charge: np.ndarray, n_events: int) -> dict[str, np.ndarray]:
    """TauTagging of jets against the visible momenta of τ's (already selected: pT > tau_pt_min,
    |η| ≤ tau_eta_max of the τ, visible = its daughters less ν_τ). Returns ``TauTag``,
    ``TauFlavor`` (15 or 0), ``TauWeight`` and the jet ``Charge`` the module sets: the last
    matching τ's, otherwise ±1 at random. (The card's fake-lepton branch never fires: Delphes'
    parton list holds no electrons or muons.)"""
    n = len(j_evt)
    charge = np.where(rng.random(n) > 0.5, 1, -1).astype(np.int32)
    flavour = np.zeros(n, np.int32)
    order = np.argsort(tau_evt, kind="stable")
    t_off = offsets(np.bincount(tau_evt, minlength=n_events))
    jet, obj = pairs_in_event(j_evt, t_off)
    obj = order[obj]
    match = delta_r2(j_eta[jet], j_phi[jet], tau_eta[obj], tau_phi[obj]) <= card.delta_r**2
    # the last matching τ in the list sets the charge
    last = np.full(n, -1, np.int64)
    np.maximum.at(last, jet[match], np.arange(len(jet))[match])
    has = last >= 0
    flavour[has] = 15
    charge[has] = tau_charge[obj[last[has]]]
    eff = np.where(has, card.efficiency_tau, card.efficiency_other)
    tag = (rng.random(n) <= eff).astype(np.int32)
    return {"TauTag": tag, "TauFlavor": flavour, "TauWeight": eff, "Charge": charge}


# ---------------------------------------------------------------------------------------------
# UniqueObjectFinder
# ---------------------------------------------------------------------------------------------


def unique_objects(n_particles: int, collections: list[tuple[np.ndarray, np.ndarray]]
                   ) -> list[np.ndarray]:
    """UniqueObjectFinder: collections in priority order, each as (particle offsets, particle
    indices) per object; an object is kept unless it shares a truth particle with an object
    kept from an earlier collection (Delphes' ``Candidate::Overlaps`` on their histories).
    Returns a keep mask per collection."""
    used = np.zeros(n_particles, dtype=bool)
    masks: list[np.ndarray] = []
    for obj_offsets, particles in collections:
        n_obj = len(obj_offsets) - 1
        owner = np.repeat(np.arange(n_obj), np.diff(obj_offsets))
        clash = np.bincount(owner, weights=used[particles], minlength=n_obj) > 0
        keep = ~clash
        used[particles[keep[owner]]] = True
        masks.append(keep)
    return masks


def merged_sum(evt: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
               n_events: int) -> dict[str, np.ndarray]:
    """Merger's momentum sum as Delphes' MissingET: MET = |Σ pT|, η and φ of −Σ p."""
    sx = np.bincount(evt, weights=px, minlength=n_events)
    sy = np.bincount(evt, weights=py, minlength=n_events)
    sz = np.bincount(evt, weights=pz, minlength=n_events)
    met = np.hypot(sx, sy)
    return {"MET": met, "Eta": pseudorapidity(met, -sz), "Phi": np.arctan2(-sy, -sx)}


def group(evt: np.ndarray, n_events: int, fields: dict[str, np.ndarray],
          sort_key: np.ndarray | None = None) -> dict[str, Any]:
    """A collection: objects grouped by event (stable), optionally by −sort_key within it."""
    order = (np.argsort(evt, kind="stable") if sort_key is None
             else np.lexsort((-sort_key, evt)))
    return {"counts": np.bincount(evt, minlength=n_events).astype(np.int64),
            "fields": {k: np.asarray(v)[order] for k, v in fields.items()}}
