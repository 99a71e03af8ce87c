"""The seven track observables of a jet, columnar (``../shared/spec/ghost-track-observables.md``).

Pure functions on awkward arrays. Conventions:

- ``jets``: a flat (one entry per jet) or per-event jagged record array with ``pt, eta, phi``;
- ``tracks``: per-jet track lists ``[jet][track]`` with ``pt`` (GeV), ``eta``, ``phi``, ``mass``
  (GeV), sorted by pT descending (as :func:`associate_by_delta_r` returns them).

Everything is computed in float64. Undefined values are :data:`SENTINEL`. Pairs and triplets use
``ak.combinations`` (the same lexicographic order as ``itertools.combinations``); the sequential
two-axis kT clustering of ``tau2`` is a numba kernel over the flat track arrays.
"""

from __future__ import annotations

import dataclasses
import math

import awkward as ak
import numba
import numpy as np

#: Value of an undefined observable (the study's).
SENTINEL = -999999.0

#: Observables in the order of the HDF5 ``ghost_track_vars`` columns.
OBSERVABLE_NAMES = (
    "nTracks",
    "deltaRLeadTrack",
    "leadTrackPtRatio",
    "angularity_2",
    "U1_0p7",
    "M2_0p3",
    "tau2",
)

#: Jet radius R of the observables' normalisations (angularity, tau2).
JET_RADIUS = 0.4
#: Radius of the exclusive kT clustering that finds the two tau2 axes.
SUBJET_RADIUS = 0.2


def delta_phi(phi1, phi2):
    """φ1 − φ2 wrapped into [−π, π] as atan2(sin, cos) (works on numpy and awkward arrays)."""
    d = phi1 - phi2
    return np.arctan2(np.sin(d), np.cos(d))


def delta_r(eta1, phi1, eta2, phi2):
    """ΔR = √(Δη² + Δφ²) with Δφ from :func:`delta_phi`."""
    deta = eta1 - eta2
    dphi = delta_phi(phi1, phi2)
    return np.sqrt(deta * deta + dphi * dphi)


def associate_by_delta_r(jets: ak.Array, tracks: ak.Array, r_assoc: float = 0.4,
                         max_tracks: int = 50) -> ak.Array:
    """Tracks of each jet: ΔR(track, jet) < ``r_assoc``, sorted by pT descending, first ``max_tracks``.

    ``jets`` and ``tracks`` are per-event jagged records (``[event][jet]``, ``[event][track]``)
    with ``pt, eta, phi``. Returns ``[event][jet][track]`` track records (a track may belong to
    several jets). The sort is stable: tracks of equal pT keep their file order.
    """
    pairs = ak.cartesian({"jet": jets, "track": tracks}, axis=1, nested=True)
    dr = delta_r(pairs.track.eta, pairs.track.phi, pairs.jet.eta, pairs.jet.phi)
    inside = pairs.track[dr < r_assoc]
    order = ak.argsort(inside.pt, axis=-1, ascending=False, stable=True)
    return inside[order][:, :, :max_tracks]


@dataclasses.dataclass
class FlatTracks:
    """Tracks of N jets as flat float64 numpy arrays with per-jet counts (the columnar layout).

    ``jet[t]`` is the jet of track ``t``; the tracks of jet ``j`` are ``offsets[j]:offsets[j+1]``
    in their pT order.
    """

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    counts: np.ndarray
    offsets: np.ndarray
    jet: np.ndarray

    @classmethod
    def from_awkward(cls, tracks: ak.Array) -> FlatTracks:
        counts = ak.to_numpy(ak.num(tracks.pt, axis=1)).astype(np.int64)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])

        def flat(field: str) -> np.ndarray:
            values = ak.flatten(tracks[field], axis=1)
            return np.ascontiguousarray(ak.to_numpy(values), dtype=np.float64)

        mass = flat("mass") if "mass" in ak.fields(tracks) else np.zeros(int(offsets[-1]))
        return cls(flat("pt"), flat("eta"), flat("phi"), mass, counts, offsets,
                   np.repeat(np.arange(len(counts)), counts))

    @property
    def n_jets(self) -> int:
        return len(self.counts)

    def per_jet_sum(self, values: np.ndarray, jet_of_value: np.ndarray | None = None) -> np.ndarray:
        """Sum per jet, adding in array order (as a loop over the jet's tracks would)."""
        index = self.jet if jet_of_value is None else jet_of_value
        return np.bincount(index, weights=values, minlength=self.n_jets)

    def combinations(self, k: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """(jet of each k-subset, flat track indices of its members), subsets in the lexicographic
        order of ``itertools.combinations`` — built with ``ak.combinations``; cached."""
        cache = self.__dict__.setdefault("_combinations", {})
        if k not in cache:
            index = ak.unflatten(np.arange(len(self.pt), dtype=np.int64), self.counts)
            combos = ak.combinations(index, k, axis=1)
            members = [ak.to_numpy(ak.flatten(c, axis=1)) for c in ak.unzip(combos)]
            jets = np.repeat(np.arange(self.n_jets), ak.to_numpy(ak.num(combos, axis=1)))
            cache[k] = (jets, members)
        return cache[k]

    def pair_delta_r(self) -> np.ndarray:
        """ΔR of every track pair of :meth:`combinations` (2), computed once."""
        if "_pair_dr" not in self.__dict__:
            _, (a, b) = self.combinations(2)
            self.__dict__["_pair_dr"] = delta_r(self.eta[a], self.phi[a], self.eta[b], self.phi[b])
        return self.__dict__["_pair_dr"]

    def pair_index(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Position in :meth:`combinations` (2) of the pairs of flat track indices i < j."""
        counts = self.counts
        pair_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts * (counts - 1) // 2, out=pair_offsets[1:])
        jet = self.jet[i]
        n = counts[jet]
        li = i - self.offsets[jet]
        lj = j - self.offsets[jet]
        return pair_offsets[jet] + li * (2 * n - li - 1) // 2 + (lj - li - 1)


def energy_correlator(tracks: ak.Array | FlatTracks, k: int, beta: float) -> np.ndarray:
    """Generalised energy correlator e_k^{(1,β)} of each jet's track set (k = 2 or 3).

    Σ over k-subsets of (Π pT) · (min pairwise ΔR)^β, divided by (Σ pT)^k; 0 when n < k.
    The pairs' ΔR^β are computed once and looked up for the triplets (x ↦ x^β is monotone, so
    the minimum of the powers is the power of the minimum).
    """
    flat = tracks if isinstance(tracks, FlatTracks) else FlatTracks.from_awkward(tracks)
    total = flat.per_jet_sum(flat.pt)
    pair_jets, (a, b) = flat.combinations(2)
    angle_beta = flat.pair_delta_r() ** beta
    if k == 2:
        jets = pair_jets
        term = flat.pt[a] * flat.pt[b] * angle_beta
    elif k == 3:
        jets, (a, b, c) = flat.combinations(3)
        smallest = np.minimum(np.minimum(angle_beta[flat.pair_index(a, b)],
                                         angle_beta[flat.pair_index(a, c)]),
                              angle_beta[flat.pair_index(b, c)])
        term = flat.pt[a] * flat.pt[b] * flat.pt[c] * smallest
    else:
        raise ValueError(f"energy_correlator: k must be 2 or 3, got {k}")
    numerator = flat.per_jet_sum(term, jets)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = numerator / total**k
    return np.where(flat.counts < k, 0.0, value)


def track_system_mass_squared(flat: FlatTracks) -> np.ndarray:
    """Invariant mass² (GeV²) of each jet's tracks (p = pT(cos φ, sin φ, sinh η), E = √(p² + m²)).

    Computed as Σ m_i² + 2 Σ_{i<j} (E_i E_j − p_i·p_j) with each pair term in a form free of
    cancellation — m_T,i m_T,j·2 sinh²(Δy/2) + (m_i² pT_j² + m_j² pT_i² + m_i² m_j²) /
    (m_T,i m_T,j + pT_i pT_j) + pT_i pT_j·2 sin²(Δφ/2), y the rapidity — so that it equals the
    spec's E² − p² of the summed four-vector exactly in exact arithmetic, and does not turn into
    rounding noise for (nearly) collinear massless tracks, where E² − p² cancels: there it is 0.
    """
    pt, m = flat.pt, flat.mass
    mt = np.sqrt(pt * pt + m * m)
    with np.errstate(divide="ignore", invalid="ignore"):
        rapidity = np.where(m == 0, flat.eta, np.arcsinh(pt * np.sinh(flat.eta) / mt))
    jets, (a, b) = flat.combinations(2)
    half_dy = 0.5 * (rapidity[a] - rapidity[b])
    half_dphi = 0.5 * (flat.phi[a] - flat.phi[b])
    sinh_dy = np.sinh(half_dy)
    sin_dphi = np.sin(half_dphi)
    with np.errstate(divide="ignore", invalid="ignore"):
        mass_term = (m[a] ** 2 * pt[b] ** 2 + m[b] ** 2 * pt[a] ** 2 + m[a] ** 2 * m[b] ** 2) / (
            mt[a] * mt[b] + pt[a] * pt[b])
    mass_term = np.where(np.isfinite(mass_term), mass_term, 0.0)  # both tracks at pT = m = 0
    pair = (2.0 * mt[a] * mt[b] * sinh_dy * sinh_dy + mass_term
            + 2.0 * pt[a] * pt[b] * sin_dphi * sin_dphi)
    return flat.per_jet_sum(m * m) + 2.0 * flat.per_jet_sum(pair, jets)


def _wrap_phi(x: float) -> float:
    """Bring an angle into [−π, π] by whole turns (exact when already inside)."""
    while x > math.pi:
        x -= 2.0 * math.pi
    while x < -math.pi:
        x += 2.0 * math.pi
    return x


_wrap_phi_nb = numba.njit(cache=True)(_wrap_phi)


@numba.njit(cache=True)
def _tau2_kernel(offsets, pt, eta, phi, r_sub, radius, out):  # pragma: no cover - numba
    """2-subjettiness of each jet's tracks (flat arrays + offsets); see :func:`tau2`."""
    for j in range(len(offsets) - 1):
        start, stop = offsets[j], offsets[j + 1]
        n = stop - start
        if n < 2:
            out[j] = SENTINEL
            continue
        opt = pt[start:stop].copy()
        oeta = eta[start:stop].copy()
        ophi = phi[start:stop].copy()
        alive = np.ones(n, dtype=np.bool_)
        remaining = n
        while remaining > 2:
            best = np.inf
            best_i = -1
            best_j = -1
            # Ties: the first smallest distance met in this order wins (i ascending, d_iB before
            # the d_ij of the same i, j ascending) — the reference implementation's order.
            for i in range(n):
                if not alive[i]:
                    continue
                d_ib = opt[i] * opt[i]
                if d_ib < best:
                    best = d_ib
                    best_i = i
                    best_j = -1
                for k in range(i + 1, n):
                    if not alive[k]:
                        continue
                    d = ophi[i] - ophi[k]
                    dphi = math.atan2(math.sin(d), math.cos(d))
                    deta = oeta[i] - oeta[k]
                    dr = math.sqrt(deta * deta + dphi * dphi)
                    soft = min(opt[i], opt[k])
                    ratio = dr / r_sub
                    d_ij = soft * soft * (ratio * ratio)
                    if d_ij < best:
                        best = d_ij
                        best_i = i
                        best_j = k
            if best_j < 0:
                alive[best_i] = False
            else:
                pt_sum = opt[best_i] + opt[best_j]
                eta_new = (opt[best_i] * oeta[best_i] + opt[best_j] * oeta[best_j]) / pt_sum
                dphi_ij = _wrap_phi_nb(ophi[best_j] - ophi[best_i])
                phi_new = _wrap_phi_nb(ophi[best_i] + dphi_ij * opt[best_j] / pt_sum)
                opt[best_i] = pt_sum
                oeta[best_i] = eta_new
                ophi[best_i] = phi_new
                alive[best_j] = False
            remaining -= 1
        axes = np.nonzero(alive)[0]
        a1, a2 = axes[0], axes[1]
        numerator = 0.0
        total = 0.0
        for t in range(start, stop):
            d1 = phi[t] - ophi[a1]
            dphi1 = math.atan2(math.sin(d1), math.cos(d1))
            deta1 = eta[t] - oeta[a1]
            dr1 = math.sqrt(deta1 * deta1 + dphi1 * dphi1)
            d2 = phi[t] - ophi[a2]
            dphi2 = math.atan2(math.sin(d2), math.cos(d2))
            deta2 = eta[t] - oeta[a2]
            dr2 = math.sqrt(deta2 * deta2 + dphi2 * dphi2)
            numerator += pt[t] * min(dr1, dr2)
            total += pt[t]
        out[j] = numerator / (total * radius) if total > 0 else SENTINEL


def tau2(tracks: ak.Array | FlatTracks, r_sub: float = SUBJET_RADIUS,
         radius: float = JET_RADIUS) -> np.ndarray:
    """2-subjettiness τ₂ of each jet's tracks; :data:`SENTINEL` when a jet has fewer than 2 tracks.

    Axes: exclusive kT clustering of the tracks as massless (pT, η, φ) objects with R_sub = 0.2
    and pT-weighted (BIpt) recombination until two objects remain. τ₂ = Σ pT·min ΔR(axis) / (S·R).
    """
    flat = tracks if isinstance(tracks, FlatTracks) else FlatTracks.from_awkward(tracks)
    out = np.empty(flat.n_jets, dtype=np.float64)
    _tau2_kernel(flat.offsets, flat.pt, flat.eta, flat.phi, float(r_sub), float(radius), out)
    return out


def jet_track_observables(jet_eta, jet_phi, tracks: ak.Array,
                          radius: float = JET_RADIUS) -> dict[str, np.ndarray]:
    """The seven observables of every jet, as numpy float64 arrays keyed by :data:`OBSERVABLE_NAMES`.

    Parameters
    ----------
    jet_eta, jet_phi : array-like, one entry per jet
    tracks : ak.Array ``[jet][track]`` with ``pt`` (GeV), ``eta``, ``phi``, ``mass`` (GeV),
        sorted by pT descending (the leading track is the first).
    radius : float
        R of the angularity and τ₂ normalisations (0.4, the study's).

    Notes
    -----
    Two quantities use algebraically identical but numerically stable forms of the spec's
    formulas: the track system's mass (:func:`track_system_mass_squared`) and the angularity
    term pT·sin²a/(1 − cos a) = pT·(1 + cos a) (for 1 − cos a > 0, else skipped, as specified).
    """
    jet_eta = np.asarray(ak.to_numpy(jet_eta), dtype=np.float64)
    jet_phi = np.asarray(ak.to_numpy(jet_phi), dtype=np.float64)
    flat = FlatTracks.from_awkward(tracks)
    n = flat.counts
    has_tracks = n > 0
    total_pt = flat.per_jet_sum(flat.pt)

    # Leading track (the list is pT-ordered): distance to the jet axis and pT share.
    first = np.minimum(flat.offsets[:-1], max(len(flat.pt) - 1, 0))
    if len(flat.pt):
        lead_pt, lead_eta, lead_phi = flat.pt[first], flat.eta[first], flat.phi[first]
    else:
        lead_pt = lead_eta = lead_phi = np.zeros(flat.n_jets)
    dr_lead = np.where(has_tracks, delta_r(jet_eta, jet_phi, lead_eta, lead_phi), SENTINEL)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_tracks & (total_pt > 0), lead_pt / total_pt, SENTINEL)

    # Angularity: Σ pT sin²a / (1 − cos a) over tracks, divided by the track system's mass.
    a = math.pi * delta_r(flat.eta, flat.phi, jet_eta[flat.jet], jet_phi[flat.jet]) / (2.0 * radius)
    cos_a = np.cos(a)
    terms = np.where(1.0 - cos_a > 0, flat.pt * (1.0 + cos_a), 0.0)
    m2 = track_system_mass_squared(flat)
    m_sys = np.sqrt(np.where(m2 > 0, m2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        angularity = np.where(has_tracks & (total_pt > 0) & (m_sys > 0),
                              flat.per_jet_sum(terms) / m_sys, SENTINEL)

    e2_07 = energy_correlator(flat, 2, 0.7)
    e2_03 = energy_correlator(flat, 2, 0.3)
    e3_03 = energy_correlator(flat, 3, 0.3)
    u1 = np.where(e2_07 > 0, e2_07, SENTINEL)
    with np.errstate(divide="ignore", invalid="ignore"):
        m2_03 = np.where(e2_03 > 0, e3_03 / e2_03, SENTINEL)

    values = {
        "nTracks": n.astype(np.float64),
        "deltaRLeadTrack": dr_lead,
        "leadTrackPtRatio": ratio,
        "angularity_2": angularity,
        "U1_0p7": u1,
        "M2_0p3": m2_03,
        "tau2": tau2(flat, SUBJET_RADIUS, radius),
    }
    # n = 0: every observable but nTracks is undefined (ECFs are 0 there, so force the sentinel).
    for name in OBSERVABLE_NAMES[1:]:
        values[name] = np.where(has_tracks, values[name], SENTINEL)
    return values


def observables_matrix(values: dict[str, np.ndarray]) -> np.ndarray:
    """Stack observables into an (N, 7) float64 matrix in :data:`OBSERVABLE_NAMES` order."""
    return np.stack([np.asarray(values[name], dtype=np.float64) for name in OBSERVABLE_NAMES],
                    axis=1)


# ---------------------------------------------------------------------------------------------
# Truth matching
# ---------------------------------------------------------------------------------------------

#: Truth particles a jet can be matched to (PDG ids) and the statuses they may have.
TRUTH_PIDS = (36, 35, 25, 443, 441)
TRUTH_STATUSES = (1, 2, 22)


def truth_match(jets: ak.Array, particles: ak.Array, max_dr: float = 0.3,
                flavor: ak.Array | None = None) -> tuple[ak.Array, ak.Array]:
    """Label and target (GeV) of each jet, per event (``[event][jet]``).

    The jet is matched to the first particle, in the event's record order, with Status in
    :data:`TRUTH_STATUSES`, PID in :data:`TRUTH_PIDS` and ΔR(jet, particle) < ``max_dr``. Label:
    36 (a), 25 (for 25 or 35), 443 (J/ψ) or 441 (η_c); target: that particle's mass. Unmatched
    jets: label ``flavor`` when given and > 0, else 0; target NaN.

    ``jets``: records with ``eta, phi``; ``particles``: records with ``pid, status, eta, phi, mass``.
    """
    keep = np.isin(ak.flatten(particles.status), TRUTH_STATUSES) & \
        np.isin(ak.flatten(particles.pid), TRUTH_PIDS)
    candidates = particles[ak.unflatten(keep, ak.num(particles.pid))]
    pairs = ak.cartesian({"jet": jets, "p": candidates}, axis=1, nested=True)
    dr = delta_r(pairs.jet.eta, pairs.jet.phi, pairs.p.eta, pairs.p.phi)
    first = ak.firsts(pairs.p[dr < max_dr], axis=2)
    pid = ak.fill_none(first.pid, 0)
    label = ak.where((pid == 35) | (pid == 25), 25, pid)
    if flavor is not None:
        label = ak.where((pid == 0) & (flavor > 0), flavor, label)
    target = ak.fill_none(ak.values_astype(first.mass, np.float64), np.nan)
    return ak.values_astype(label, np.int32), target
