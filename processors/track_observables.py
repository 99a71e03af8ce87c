"""The seven track observables of a jet, columnar (``../shared/spec/ghost-track-observables.md``).

Pure functions on awkward arrays. Conventions:

- ``jets``: a flat (one entry per jet) or per-event jagged record array with ``pt, eta, phi``;
- ``tracks``: per-jet track lists ``[jet][track]`` with ``pt`` (GeV), ``eta``, ``phi``, ``mass``
  (GeV), sorted by pT descending (as :func:`associate_by_delta_r` returns them).

Everything is computed in float64. Undefined values are :data:`SENTINEL`. The work is done by
numba kernels that loop over jets on flat arrays (per-jet offsets + the tracks' pt, eta, phi, mass):
one pass per jet computes all seven observables, with the jet's pairwise ΔR matrix computed once
and shared by the energy correlators (pairs, and triplets in the lexicographic order of
``itertools.combinations``) and the exclusive-kT clustering of ``tau2``. The association
(:func:`associate_by_delta_r`) is a numba kernel per event over jets × tracks.
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


def _flat_float64(array: ak.Array) -> np.ndarray:
    return np.ascontiguousarray(ak.to_numpy(ak.flatten(array, axis=1)), dtype=np.float64)


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def associated_track_indices(jets: ak.Array, tracks: ak.Array, r_assoc: float = 0.4,
                             max_tracks: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Flat form of :func:`associate_by_delta_r`: (tracks per jet, indices into
    ``ak.flatten(tracks, axis=1)``), jets in ``ak.flatten(jets, axis=1)`` order, each jet's
    tracks in pT order. A numba kernel per event over jets × tracks."""
    jet_counts = np.asarray(ak.to_numpy(ak.num(jets, axis=1)), dtype=np.int64)
    trk_counts = np.asarray(ak.to_numpy(ak.num(tracks, axis=1)), dtype=np.int64)
    if len(jet_counts) != len(trk_counts):
        raise ValueError("associate_by_delta_r: jets and tracks have different numbers of events")
    jet_offsets, trk_offsets = _offsets(jet_counts), _offsets(trk_counts)
    counts = np.zeros(int(jet_offsets[-1]), dtype=np.int64)
    # capacity: each jet takes at most min(tracks of its event, max_tracks)
    capacity = int(np.sum(jet_counts * np.minimum(trk_counts, max_tracks)))
    index = np.empty(capacity, dtype=np.int64)
    if capacity:
        written = _associate_kernel(jet_offsets, _flat_float64(jets.eta), _flat_float64(jets.phi),
                                    trk_offsets, _flat_float64(tracks.pt),
                                    _flat_float64(tracks.eta), _flat_float64(tracks.phi),
                                    float(r_assoc), int(max_tracks), counts, index)
        index = index[:written]
    return counts, index


def associate_by_delta_r(jets: ak.Array, tracks: ak.Array, r_assoc: float = 0.4,
                         max_tracks: int = 50) -> ak.Array:
    """Tracks of each jet: ΔR(track, jet) < ``r_assoc``, sorted by pT descending, first ``max_tracks``.

    ``jets`` and ``tracks`` are per-event jagged records (``[event][jet]``, ``[event][track]``)
    with ``pt, eta, phi``. Returns ``[event][jet][track]`` track records (a track may belong to
    several jets). The sort is stable: tracks of equal pT keep their file order. The selection is
    :func:`associated_track_indices` (numba); the records are then gathered by index.
    """
    counts, index = associated_track_indices(jets, tracks, r_assoc, max_tracks)
    jet_offsets = _offsets(np.asarray(ak.to_numpy(ak.num(jets, axis=1)), dtype=np.int64))
    selected = ak.flatten(tracks, axis=1)[index]
    inner = ak.contents.ListOffsetArray(ak.index.Index64(_offsets(counts)), selected.layout)
    outer = ak.contents.ListOffsetArray(ak.index.Index64(jet_offsets), inner)
    return ak.Array(outer, behavior=tracks.behavior)


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


def _wrap_phi(x: float) -> float:
    """Bring an angle into [−π, π] by whole turns (exact when already inside)."""
    while x > math.pi:
        x -= 2.0 * math.pi
    while x < -math.pi:
        x += 2.0 * math.pi
    return x


_wrap_phi_nb = numba.njit(cache=True)(_wrap_phi)


# ---------------------------------------------------------------------------------------------
# numba kernels: per-jet loops over flat arrays (offsets + track fields), one pass per jet
# ---------------------------------------------------------------------------------------------

@numba.njit(cache=True)
def _dphi_nb(phi1, phi2):  # pragma: no cover - numba
    """φ1 − φ2 as atan2(sin, cos): the spec's (and the reference's) formula, bit for bit."""
    d = phi1 - phi2
    return math.atan2(math.sin(d), math.cos(d))


@numba.njit(cache=True)
def _dr_nb(eta1, phi1, eta2, phi2):  # pragma: no cover - numba
    deta = eta1 - eta2
    dphi = _dphi_nb(phi1, phi2)
    return math.sqrt(deta * deta + dphi * dphi)


@numba.njit(cache=True)
def _fast_dr(eta1, phi1, eta2, phi2):  # pragma: no cover - numba
    """ΔR with Δφ = φ1 − φ2 taken as is when it lies in [−π, π] (atan2(sin, cos) returns it to
    within an ulp or two there, and 0 exactly for 0), else the exact formula."""
    deta = eta1 - eta2
    d = phi1 - phi2
    if d > math.pi or d < -math.pi:
        d = math.atan2(math.sin(d), math.cos(d))
    return math.sqrt(deta * deta + d * d)


@numba.njit(cache=True)
def _sinh_small(x):  # pragma: no cover - numba
    """sinh x to ~1 ulp: Taylor series for |x| ≤ 0.5 (terms to x¹⁷), else math.sinh."""
    if abs(x) > 0.5:
        return math.sinh(x)
    x2 = x * x
    return x * (1.0 + x2 * (1 / 6) * (1.0 + x2 * (1 / 20) * (1.0 + x2 * (1 / 42) * (
        1.0 + x2 * (1 / 72) * (1.0 + x2 * (1 / 110) * (1.0 + x2 * (1 / 156) * (
            1.0 + x2 * (1 / 210) * (1.0 + x2 * (1 / 272)))))))))


@numba.njit(cache=True)
def _sin_small(x):  # pragma: no cover - numba
    """sin x to ~1 ulp: Taylor series for |x| ≤ 0.5 (terms to x¹⁷), else math.sin."""
    if abs(x) > 0.5:
        return math.sin(x)
    x2 = x * x
    return x * (1.0 - x2 * (1 / 6) * (1.0 - x2 * (1 / 20) * (1.0 - x2 * (1 / 42) * (
        1.0 - x2 * (1 / 72) * (1.0 - x2 * (1 / 110) * (1.0 - x2 * (1 / 156) * (
            1.0 - x2 * (1 / 210) * (1.0 - x2 * (1 / 272)))))))))


@numba.njit(cache=True)
def _inside_cone(eta1, phi1, eta2, phi2, r):  # pragma: no cover - numba
    """ΔR(1, 2) < r, decided exactly as :func:`_dr_nb` would, but without trigonometry unless
    the distance is within a relative 1e-9 of r (the wrap by ±2π differs from atan2(sin, cos)
    by ~1e-15 only, so far from the edge the cheap value decides the same way)."""
    deta = eta1 - eta2
    if abs(deta) > r * (1.0 + 1e-9):
        return False
    d = phi1 - phi2
    if d > math.pi:
        d -= 2.0 * math.pi
    elif d < -math.pi:
        d += 2.0 * math.pi
    if abs(d) <= math.pi:
        approx = math.sqrt(deta * deta + d * d)
        if approx > r * (1.0 + 1e-9):
            return False
        if approx < r * (1.0 - 1e-9):
            return True
    return _dr_nb(eta1, phi1, eta2, phi2) < r


@numba.njit(cache=True)
def _associate_kernel(jet_offsets, jet_eta, jet_phi, trk_offsets, trk_pt, trk_eta, trk_phi,
                      r_assoc, max_tracks, counts, index):  # pragma: no cover - numba
    """Per event: order the tracks by pT (descending, stable) once, then give each jet the first
    ``max_tracks`` of them inside ΔR < ``r_assoc``. Fills ``counts`` (per jet) and ``index``
    (flat track indices, jet after jet); returns how many indices were written."""
    pos = 0
    for e in range(len(jet_offsets) - 1):
        ts, te = trk_offsets[e], trk_offsets[e + 1]
        if te == ts:
            for j in range(jet_offsets[e], jet_offsets[e + 1]):
                counts[j] = 0
            continue
        order = np.argsort(-trk_pt[ts:te], kind="mergesort")
        for j in range(jet_offsets[e], jet_offsets[e + 1]):
            c = 0
            je, jp = jet_eta[j], jet_phi[j]
            for o in order:
                if c >= max_tracks:
                    break
                t = ts + o
                if _inside_cone(trk_eta[t], trk_phi[t], je, jp, r_assoc):
                    index[pos] = t
                    pos += 1
                    c += 1
            counts[j] = c
    return pos


@numba.njit(cache=True)
def _pair_delta_r(eta, phi, start, n, dr):  # pragma: no cover - numba
    """dr[i, k] (i < k) = ΔR of tracks start+i, start+k (:func:`_fast_dr`), once per jet."""
    for i in range(n):
        ei, fi = eta[start + i], phi[start + i]
        for k in range(i + 1, n):
            dr[i, k] = _fast_dr(ei, fi, eta[start + k], phi[start + k])


@numba.njit(cache=True)
def _pair_angles(eta, phi, start, n, dr, ang07, ang03):  # pragma: no cover - numba
    """ΔR matrix plus ΔR^0.7 and ΔR^0.3 of every pair: x^0.3 = exp(0.3 ln x), x^0.7 = x / x^0.3
    (one log and one exp per pair instead of two pow; a few ulp)."""
    for i in range(n):
        ei, fi = eta[start + i], phi[start + i]
        for k in range(i + 1, n):
            d = _fast_dr(ei, fi, eta[start + k], phi[start + k])
            dr[i, k] = d
            if d > 0:
                p03 = math.exp(0.3 * math.log(d))
                ang03[i, k] = p03
                ang07[i, k] = d / p03
            else:
                ang03[i, k] = d**0.3
                ang07[i, k] = d**0.7


@numba.njit(cache=True)
def _mass2_jet(pt, eta, phi, mass, start, n, mt, rap):  # pragma: no cover - numba
    """Invariant mass² of the tracks start:start+n in the cancellation-free pairwise form of
    :func:`track_system_mass_squared`."""
    m_sum = 0.0
    for i in range(n):
        t = start + i
        m = mass[t]
        mt[i] = math.sqrt(pt[t] * pt[t] + m * m)
        rap[i] = eta[t] if m == 0 else math.asinh(pt[t] * math.sinh(eta[t]) / mt[i])
        m_sum += m * m
    pair_sum = 0.0
    for i in range(n):
        a = start + i
        pa, ma = pt[a], mass[a]
        for k in range(i + 1, n):
            b = start + k
            pb, mb = pt[b], mass[b]
            sinh_dy = _sinh_small(0.5 * (rap[i] - rap[k]))
            sin_dphi = _sin_small(0.5 * (phi[a] - phi[b]))
            denominator = mt[i] * mt[k] + pa * pb
            mass_term = 0.0
            if denominator > 0:  # both tracks at pT = m = 0: the term is 0
                mass_term = (ma * ma * (pb * pb) + mb * mb * (pa * pa) + ma * ma * (mb * mb)) \
                    / denominator
            pair_sum += (2.0 * mt[i] * mt[k] * sinh_dy * sinh_dy + mass_term
                         + 2.0 * pa * pb * sin_dphi * sin_dphi)
    return m_sum + 2.0 * pair_sum


@numba.njit(cache=True)
def _angle_powers(dr, n, beta, out):  # pragma: no cover - numba
    for i in range(n):
        for k in range(i + 1, n):
            out[i, k] = dr[i, k] ** beta


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def _e2_sum(pt, start, n, ang):  # pragma: no cover - numba
    """Σ_{i<k} pT_i pT_k ang[i, k] (not normalised; terms ≥ 0, so the sum may be reassociated
    — vectorised — at no cost in accuracy)."""
    s = 0.0
    for i in range(n):
        pi = pt[start + i]
        for k in range(i + 1, n):
            s += pi * pt[start + k] * ang[i, k]
    return s


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def _e3_sum(pt, start, n, ang):  # pragma: no cover - numba
    """Σ_{i<j<k} pT_i pT_j pT_k min(ang[i, j], ang[i, k], ang[j, k]) (not normalised); ang is
    ΔR^β, and the minimum of the powers is the power of the minimum (x ↦ x^β is monotone)."""
    s = 0.0
    for i in range(n - 2):
        pi = pt[start + i]
        for j in range(i + 1, n - 1):
            w = pi * pt[start + j]
            aij = ang[i, j]
            inner = 0.0
            for k in range(j + 1, n):
                m = aij
                if ang[i, k] < m:
                    m = ang[i, k]
                if ang[j, k] < m:
                    m = ang[j, k]
                inner += pt[start + k] * m
            s += w * inner
    return s


@numba.njit(cache=True)
def _nn_row(i, n, alive, dij, nnd, nnk):  # pragma: no cover - numba
    """Nearest alive partner k > i of object i: smallest dij[i, k], first k on ties."""
    best = np.inf
    best_k = -1
    for k in range(i + 1, n):
        if alive[k] and dij[i, k] < best:
            best = dij[i, k]
            best_k = k
    nnd[i] = best
    nnk[i] = best_k


@numba.njit(cache=True)
def _tau2_jet(pt, eta, phi, start, n, dr, r_sub, radius, opt, oeta, ophi, alive, dij, nnd,
              nnk):  # pragma: no cover - numba
    """τ₂ of the tracks start:start+n (ΔR matrix ``dr`` of the jet given); see :func:`tau2`.

    Exclusive kT with cached pair distances d_ij and, per object i, its nearest partner k > i:
    each step scans the objects once (O(n)) and updates only the distances of the merged object.
    The winner is the first smallest distance in the order of the spec's reference loop (i
    ascending, d_iB before the d_ij of the same i, j ascending), exactly as a full scan.
    """
    if n < 2:
        return SENTINEL
    for i in range(n):
        opt[i] = pt[start + i]
        oeta[i] = eta[start + i]
        ophi[i] = phi[start + i]
        alive[i] = True
    for i in range(n):
        for k in range(i + 1, n):
            soft = min(opt[i], opt[k])
            ratio = dr[i, k] / r_sub
            dij[i, k] = soft * soft * (ratio * ratio)
    for i in range(n):
        _nn_row(i, n, alive, dij, nnd, nnk)
    remaining = n
    while remaining > 2:
        best = np.inf
        second = np.inf
        bi = -1
        bj = -1
        for i in range(n):
            if not alive[i]:
                continue
            d_ib = opt[i] * opt[i]
            if d_ib < best:
                second = best
                best = d_ib
                bi = i
                bj = -1
            elif d_ib < second:
                second = d_ib
            if nnd[i] < best:
                second = best
                best = nnd[i]
                bi = i
                bj = nnk[i]
            elif nnd[i] < second:
                second = nnd[i]
        if bi < 0:  # only NaN distances left
            break
        for k in range(bi + 1, n):  # the runner-up may share the winner's row
            if alive[k] and k != bj and dij[bi, k] < second:
                second = dij[bi, k]
        if second <= best * (1.0 + 1e-10):
            # Near tie: the cached d_ij use the cheap Δφ (an ulp or two from atan2(sin, cos)), so
            # decide this step on the exact distances, in the reference loop's order.
            best = np.inf
            bi = -1
            bj = -1
            for i in range(n):
                if not alive[i]:
                    continue
                d_ib = opt[i] * opt[i]
                if d_ib < best:
                    best = d_ib
                    bi = i
                    bj = -1
                for k in range(i + 1, n):
                    if not alive[k]:
                        continue
                    soft = min(opt[i], opt[k])
                    ratio = _dr_nb(oeta[i], ophi[i], oeta[k], ophi[k]) / r_sub
                    d_ik = soft * soft * (ratio * ratio)
                    if d_ik < best:
                        best = d_ik
                        bi = i
                        bj = k
        if bj < 0:
            alive[bi] = False
            for i in range(bi):
                if alive[i] and nnk[i] == bi:
                    _nn_row(i, n, alive, dij, nnd, nnk)
        else:
            pt_sum = opt[bi] + opt[bj]
            eta_new = (opt[bi] * oeta[bi] + opt[bj] * oeta[bj]) / pt_sum
            dphi_ij = _wrap_phi_nb(ophi[bj] - ophi[bi])
            phi_new = _wrap_phi_nb(ophi[bi] + dphi_ij * opt[bj] / pt_sum)
            opt[bi] = pt_sum
            oeta[bi] = eta_new
            ophi[bi] = phi_new
            alive[bj] = False
            for x in range(n):
                if not alive[x] or x == bi:
                    continue
                lo, hi = (x, bi) if x < bi else (bi, x)
                d = _fast_dr(oeta[lo], ophi[lo], oeta[hi], ophi[hi])
                soft = min(opt[lo], opt[hi])
                ratio = d / r_sub
                dij[lo, hi] = soft * soft * (ratio * ratio)
            _nn_row(bi, n, alive, dij, nnd, nnk)
            for i in range(bi):
                if not alive[i]:
                    continue
                if nnk[i] == bi or nnk[i] == bj:
                    _nn_row(i, n, alive, dij, nnd, nnk)
                else:
                    v = dij[i, bi]
                    if v < nnd[i] or (v == nnd[i] and bi < nnk[i]):
                        nnd[i] = v
                        nnk[i] = bi
            for i in range(bi + 1, bj):
                if alive[i] and nnk[i] == bj:
                    _nn_row(i, n, alive, dij, nnd, nnk)
        remaining -= 1
    a1 = -1
    a2 = -1
    for i in range(n):
        if alive[i]:
            if a1 < 0:
                a1 = i
            elif a2 < 0:
                a2 = i
    numerator = 0.0
    total = 0.0
    for t in range(start, start + n):
        dr1 = _fast_dr(eta[t], phi[t], oeta[a1], ophi[a1])
        dr2 = _fast_dr(eta[t], phi[t], oeta[a2], ophi[a2])
        numerator += pt[t] * min(dr1, dr2)
        total += pt[t]
    return numerator / (total * radius) if total > 0 else SENTINEL


@numba.njit(cache=True, error_model="numpy")
def _observables_jet(jet_eta, jet_phi, j, offsets, pt, eta, phi, mass, radius, r_sub, out, dr,
                     ang07, ang03, dij, mt, rap, opt, oeta, ophi, nnd, nnk,
                     alive):  # pragma: no cover - numba
    start = offsets[j]
    n = offsets[j + 1] - start
    out[j, 0] = n
    if n == 0:
        for c in range(1, 7):
            out[j, c] = SENTINEL
        return
    je, jp = jet_eta[j], jet_phi[j]
    total = 0.0
    numerator = 0.0
    for t in range(start, start + n):
        total += pt[t]
        a = math.pi * _fast_dr(eta[t], phi[t], je, jp) / (2.0 * radius)
        if a < 1e-4:  # where cos a leaves 1: decide 1 − cos a > 0 on the exact ΔR
            a = math.pi * _dr_nb(eta[t], phi[t], je, jp) / (2.0 * radius)
        cos_a = math.cos(a)
        if 1.0 - cos_a > 0:  # pT sin²a / (1 − cos a) = pT (1 + cos a), stable near a = 0
            numerator += pt[t] * (1.0 + cos_a)
    out[j, 1] = _dr_nb(je, jp, eta[start], phi[start])
    out[j, 2] = pt[start] / total if total > 0 else SENTINEL
    m2 = _mass2_jet(pt, eta, phi, mass, start, n, mt, rap)
    m_sys = math.sqrt(m2) if m2 > 0 else 0.0
    out[j, 3] = numerator / m_sys if (total > 0 and m_sys > 0) else SENTINEL

    _pair_angles(eta, phi, start, n, dr, ang07, ang03)
    if n >= 2:
        e2_07 = _e2_sum(pt, start, n, ang07) / total**2
        e2_03 = _e2_sum(pt, start, n, ang03) / total**2
        e3_03 = _e3_sum(pt, start, n, ang03) / total**3 if n >= 3 else 0.0
    else:
        e2_07 = e2_03 = e3_03 = 0.0
    out[j, 4] = e2_07 if e2_07 > 0 else SENTINEL
    out[j, 5] = e3_03 / e2_03 if e2_03 > 0 else SENTINEL
    out[j, 6] = _tau2_jet(pt, eta, phi, start, n, dr, r_sub, radius, opt, oeta, ophi, alive,
                          dij, nnd, nnk)


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _observables_kernel(jet_eta, jet_phi, offsets, pt, eta, phi, mass, radius, r_sub,
                        out, n_blocks):  # pragma: no cover - numba
    """All seven observables of each jet in one pass (``out``: (N, 7), OBSERVABLE_NAMES order);
    the jets are split into ``n_blocks`` contiguous blocks run in parallel, each with its own
    workspace (every jet's result is independent of the blocking)."""
    n_jets = len(offsets) - 1
    max_n = 2
    for j in range(n_jets):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    for b in numba.prange(n_blocks):
        dr = np.zeros((max_n, max_n))
        ang07 = np.zeros((max_n, max_n))
        ang03 = np.zeros((max_n, max_n))
        dij = np.zeros((max_n, max_n))
        mt = np.empty(max_n)
        rap = np.empty(max_n)
        opt = np.empty(max_n)
        oeta = np.empty(max_n)
        ophi = np.empty(max_n)
        nnd = np.empty(max_n)
        nnk = np.empty(max_n, dtype=np.int64)
        alive = np.empty(max_n, dtype=np.bool_)
        for j in range(b * n_jets // n_blocks, (b + 1) * n_jets // n_blocks):
            _observables_jet(jet_eta, jet_phi, j, offsets, pt, eta, phi, mass, radius, r_sub,
                             out, dr, ang07, ang03, dij, mt, rap, opt, oeta, ophi, nnd, nnk,
                             alive)


@numba.njit(cache=True, error_model="numpy")
def _ecf_kernel(offsets, pt, eta, phi, k, beta, out):  # pragma: no cover - numba
    max_n = 2
    for j in range(len(offsets) - 1):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    dr = np.zeros((max_n, max_n))
    ang = np.zeros((max_n, max_n))
    for j in range(len(offsets) - 1):
        start = offsets[j]
        n = offsets[j + 1] - start
        if n < k:
            out[j] = 0.0
            continue
        total = 0.0
        for t in range(start, start + n):
            total += pt[t]
        _pair_delta_r(eta, phi, start, n, dr)
        _angle_powers(dr, n, beta, ang)
        if k == 2:
            out[j] = _e2_sum(pt, start, n, ang) / total**2
        else:
            out[j] = _e3_sum(pt, start, n, ang) / total**3


@numba.njit(cache=True)
def _mass2_kernel(offsets, pt, eta, phi, mass, out):  # pragma: no cover - numba
    max_n = 1
    for j in range(len(offsets) - 1):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    mt = np.empty(max_n)
    rap = np.empty(max_n)
    for j in range(len(offsets) - 1):
        out[j] = _mass2_jet(pt, eta, phi, mass, offsets[j], offsets[j + 1] - offsets[j], mt, rap)


@numba.njit(cache=True, error_model="numpy")
def _tau2_kernel(offsets, pt, eta, phi, r_sub, radius, out):  # pragma: no cover - numba
    """2-subjettiness of each jet's tracks (flat arrays + offsets); see :func:`tau2`."""
    max_n = 2
    for j in range(len(offsets) - 1):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    dr = np.zeros((max_n, max_n))
    dij = np.zeros((max_n, max_n))
    opt = np.empty(max_n)
    oeta = np.empty(max_n)
    ophi = np.empty(max_n)
    nnd = np.empty(max_n)
    nnk = np.empty(max_n, dtype=np.int64)
    alive = np.empty(max_n, dtype=np.bool_)
    for j in range(len(offsets) - 1):
        start = offsets[j]
        n = offsets[j + 1] - start
        _pair_delta_r(eta, phi, start, n, dr)
        out[j] = _tau2_jet(pt, eta, phi, start, n, dr, r_sub, radius, opt, oeta, ophi, alive,
                           dij, nnd, nnk)


def energy_correlator(tracks: ak.Array | FlatTracks, k: int, beta: float) -> np.ndarray:
    """Generalised energy correlator e_k^{(1,β)} of each jet's track set (k = 2 or 3).

    Σ over k-subsets of (Π pT) · (min pairwise ΔR)^β, divided by (Σ pT)^k; 0 when n < k.
    The pairs' ΔR^β are computed once per jet and looked up for the triplets (x ↦ x^β is
    monotone, so the minimum of the powers is the power of the minimum).
    """
    if k not in (2, 3):
        raise ValueError(f"energy_correlator: k must be 2 or 3, got {k}")
    flat = tracks if isinstance(tracks, FlatTracks) else FlatTracks.from_awkward(tracks)
    out = np.empty(flat.n_jets, dtype=np.float64)
    _ecf_kernel(flat.offsets, flat.pt, flat.eta, flat.phi, int(k), float(beta), out)
    return out


def track_system_mass_squared(flat: FlatTracks) -> np.ndarray:
    """Invariant mass² (GeV²) of each jet's tracks (p = pT(cos φ, sin φ, sinh η), E = √(p² + m²)).

    Computed as Σ m_i² + 2 Σ_{i<j} (E_i E_j − p_i·p_j) with each pair term in a form free of
    cancellation — m_T,i m_T,j·2 sinh²(Δy/2) + (m_i² pT_j² + m_j² pT_i² + m_i² m_j²) /
    (m_T,i m_T,j + pT_i pT_j) + pT_i pT_j·2 sin²(Δφ/2), y the rapidity — so that it equals the
    spec's E² − p² of the summed four-vector exactly in exact arithmetic, and does not turn into
    rounding noise for (nearly) collinear massless tracks, where E² − p² cancels: there it is 0.
    """
    out = np.empty(flat.n_jets, dtype=np.float64)
    _mass2_kernel(flat.offsets, flat.pt, flat.eta, flat.phi, flat.mass, out)
    return out


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


def flat_track_observables(jet_eta: np.ndarray, jet_phi: np.ndarray, flat: FlatTracks,
                           radius: float = JET_RADIUS) -> np.ndarray:
    """The seven observables of every jet as an (N, 7) float64 matrix (:data:`OBSERVABLE_NAMES`
    order) from flat track arrays: one numba pass per jet (see :func:`jet_track_observables`)."""
    jet_eta = np.ascontiguousarray(jet_eta, dtype=np.float64)
    jet_phi = np.ascontiguousarray(jet_phi, dtype=np.float64)
    if len(jet_eta) != flat.n_jets or len(jet_phi) != flat.n_jets:
        raise ValueError("flat_track_observables: one (eta, phi) per jet of the tracks expected")
    out = np.empty((flat.n_jets, len(OBSERVABLE_NAMES)), dtype=np.float64)
    n_blocks = max(1, min(numba.get_num_threads(), flat.n_jets // 256))
    _observables_kernel(jet_eta, jet_phi, flat.offsets, flat.pt, flat.eta, flat.phi, flat.mass,
                        float(radius), float(SUBJET_RADIUS), out, n_blocks)
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
    The literal forms lose every digit for collinear tracks and tracks close to the jet axis.
    """
    jet_eta = np.asarray(ak.to_numpy(jet_eta), dtype=np.float64)
    jet_phi = np.asarray(ak.to_numpy(jet_phi), dtype=np.float64)
    matrix = flat_track_observables(jet_eta, jet_phi, FlatTracks.from_awkward(tracks), radius)
    return {name: matrix[:, k] for k, name in enumerate(OBSERVABLE_NAMES)}


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
