"""Small Delphes-layout ROOT files built at test time, and per-jet / per-event reference code.

The files mirror Delphes's own layout (tree ``Delphes``, counters ``<C>_size``, branches
``<C>.<Field>``, or ``<C>/<C>.<Field>`` with ``layout="coffea"``: see
:mod:`hzx.generation.writers`), read by hzx's schema like real Delphes output.
The events are toy physics, but with what the analyses look at: a Z → ℓℓ in most events, jets with
collimated tracks around them (some exactly on the jet axis), a light resonance (a, J/ψ or η_c)
inside the leading jet, and a Pythia-like particle record (copies, mothers, daughters).

The ``ref_*`` functions are straightforward loop implementations of
``../shared/spec/ghost-track-observables.md`` and ``../shared/spec/hza2018-selection.md``,
written independently of the columnar code; the tests and the benchmark compare against them.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from hzx.generation.writers import write_delphes_tree
from hzx.processors.delphes import canonical_keys

SENTINEL = -999999.0
Z_MASS = 91.1876
TRACK_FIELDS = ("PT", "Eta", "Phi", "Mass", "Charge", "PID", "D0", "DZ")


# ---------------------------------------------------------------------------------------------
# Event building
# ---------------------------------------------------------------------------------------------


def _eta_from_p(px: float, py: float, pz: float) -> float:
    pt = math.hypot(px, py)
    return math.asinh(pz / pt)


def _z_decay(rng: np.random.Generator) -> tuple[list[tuple[float, float, float, int]], tuple]:
    """A Z boson (pt, eta, phi, mass) and its two massless daughters (pt, eta, phi, charge sign)."""
    mass = float(np.clip(Z_MASS + 2.5 * rng.standard_cauchy(), 50.0, 140.0))
    zpt = float(rng.exponential(25.0)) + 0.5
    zeta = float(rng.uniform(-2.0, 2.0))
    zphi = float(rng.uniform(-math.pi, math.pi))
    zpx, zpy, zpz = zpt * math.cos(zphi), zpt * math.sin(zphi), zpt * math.sinh(zeta)
    ze = math.sqrt(zpx**2 + zpy**2 + zpz**2 + mass**2)
    cos_t = rng.uniform(-1, 1)
    sin_t = math.sqrt(1 - cos_t**2)
    ph = rng.uniform(0, 2 * math.pi)
    p = mass / 2
    daughters = []
    for sign in (1, -1):
        kx, ky, kz = sign * p * sin_t * math.cos(ph), sign * p * sin_t * math.sin(ph), sign * p * cos_t
        # boost (kx, ky, kz, p) by the Z velocity
        bx, by, bz = zpx / ze, zpy / ze, zpz / ze
        b2 = bx * bx + by * by + bz * bz
        gamma = 1 / math.sqrt(1 - b2)
        bp = bx * kx + by * ky + bz * kz
        g2 = (gamma - 1) / b2 if b2 > 0 else 0.0
        ex, ey, ez = (kx + g2 * bp * bx + gamma * bx * p,
                      ky + g2 * bp * by + gamma * by * p,
                      kz + g2 * bp * bz + gamma * bz * p)
        daughters.append((math.hypot(ex, ey), _eta_from_p(ex, ey, ez), math.atan2(ey, ex), sign))
    return daughters, (zpt, zeta, zphi, mass)


def _wrap(phi: float) -> float:
    return math.atan2(math.sin(phi), math.cos(phi))


def make_events(n_events: int, seed: int = 1, signal_pid: int = 36, signal_mass: float = 2.0,
                z_fraction: float = 0.85, tracks_per_jet: float = 6.0
                ) -> dict[str, list[list[dict[str, Any]]]]:
    """Toy events as ``{collection: [event][object]{Field: value}}`` with Delphes field names.

    ``tracks_per_jet``: mean number of tracks generated around each jet axis (Poisson).
    """
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {c: [] for c in ("Event", "Particle", "Track", "Jet", "Electron", "Muon")}
    for number in range(n_events):
        particles: list[dict[str, Any]] = []

        def add(pid, status, pt, eta, phi, mass, m1=-1, charge=0, particles=particles):
            particles.append({"PID": pid, "Status": status, "PT": pt, "Eta": eta, "Phi": phi,
                              "Mass": mass, "M1": m1, "M2": -1, "D1": -1, "D2": -1,
                              "Charge": charge})
            return len(particles) - 1

        add(2212, 4, 0.0, 0.0, 0.0, 0.938)
        add(2212, 4, 0.0, 0.0, 0.0, 0.938)
        electrons, muons = [], []
        if rng.uniform() < z_fraction:
            daughters, (zpt, zeta, zphi, zmass) = _z_decay(rng)
            higgs = add(25, 22, zpt * 0.7, zeta, _wrap(zphi + math.pi), 125.0, 0)
            z1 = add(23, 22, zpt, zeta, zphi, zmass, higgs)
            z2 = add(23, 62, zpt, zeta, zphi, zmass, z1)
            particles[z1]["D1"] = particles[z1]["D2"] = z2
            flavour = 11 if rng.uniform() < 0.5 else 13
            first = len(particles)
            for pt, eta, phi, sign in daughters:
                add(-sign * flavour, 1, pt, eta, phi, 0.000511 if flavour == 11 else 0.10566, z2,
                    charge=-sign)
                lep = {"PT": pt * rng.normal(1, 0.02), "Eta": eta, "Phi": phi, "Charge": -sign}
                (electrons if flavour == 11 else muons).append(lep)
            particles[z2]["D1"], particles[z2]["D2"] = first, first + 1
        for coll in (electrons, muons):
            for _ in range(rng.poisson(0.4)):
                coll.append({"PT": 10 + rng.exponential(25), "Eta": rng.uniform(-3, 3),
                             "Phi": rng.uniform(-math.pi, math.pi),
                             "Charge": int(rng.choice([-1, 1]))})
        jets, tracks = [], []
        for _ in range(rng.poisson(3.0)):
            jpt = 12 + float(rng.exponential(45))
            jets.append({"PT": jpt, "Eta": float(rng.uniform(-3, 3)),
                         "Phi": float(rng.uniform(-math.pi, math.pi)),
                         "Mass": float(rng.uniform(0.0, 0.12) * jpt),
                         "BTag": int(rng.uniform() < 0.1), "TauTag": int(rng.uniform() < 0.05),
                         "Flavor": int(rng.choice([0, 0, 1, 2, 3, 4, 5, 21]))})
        jets.sort(key=lambda j: -j["PT"])
        for ij, jet in enumerate(jets):
            for it in range(rng.poisson(tracks_per_jet)):
                on_axis = ij == 0 and it == 0 and rng.uniform() < 0.2  # ΔR = 0 exactly
                deta = 0.0 if on_axis else float(rng.normal(0, 0.12))
                dphi = 0.0 if on_axis else float(rng.normal(0, 0.12))
                tracks.append(_track(rng, jet["PT"] * rng.uniform(0.01, 0.4), jet["Eta"] + deta,
                                     _wrap(jet["Phi"] + dphi) if not on_axis else jet["Phi"]))
            if ij == 0 and signal_pid:
                # the light resonance inside the leading jet: a status-22 copy then a status-2 one
                eta, phi = jet["Eta"] + rng.normal(0, 0.05), _wrap(jet["Phi"] + rng.normal(0, 0.05))
                s1 = add(signal_pid, 22, jet["PT"] * 0.9, eta, phi, signal_mass, 0)
                s2 = add(signal_pid, 2, jet["PT"] * 0.9, eta, phi, signal_mass, s1)
                particles[s1]["D1"] = particles[s1]["D2"] = s2
        for _ in range(rng.poisson(5.0)):
            tracks.append(_track(rng, 0.5 + rng.exponential(3), rng.uniform(-2.5, 2.5),
                                 rng.uniform(-math.pi, math.pi)))
        for t in tracks:
            add(int(t["PID"]), 1, t["PT"], t["Eta"], t["Phi"], 0.13957, 0, charge=int(t["Charge"]))
        out["Event"].append([{"Number": number, "Weight": float(rng.uniform(0.5, 1.5))}])
        out["Particle"].append(particles)
        out["Track"].append(tracks)
        out["Jet"].append(jets)
        out["Electron"].append(electrons)
        out["Muon"].append(muons)
    return out


def _track(rng: np.random.Generator, pt: float, eta: float, phi: float) -> dict[str, Any]:
    charge = int(rng.choice([-1, 1]))
    return {"PT": float(pt), "Eta": float(eta), "Phi": float(phi), "Mass": 0.13957,
            "Charge": charge, "PID": 211 * charge, "D0": float(rng.normal(0, 0.05)),
            "DZ": float(rng.normal(0, 0.1))}


_INT_FIELDS = {"PID", "Status", "Charge", "M1", "M2", "D1", "D2", "BTag", "TauTag", "Flavor",
               "Number"}


def _typed(events: list[list[dict[str, Any]]], fields: list[str]) -> ak.Array:
    columns = {}
    for f in fields:
        dtype = np.int32 if f in _INT_FIELDS else np.float32
        counts = [len(e) for e in events]
        flat = np.array([o[f] for e in events for o in e], dtype=dtype)
        columns[f] = ak.unflatten(flat, counts)
    return ak.zip(columns)


def write_delphes(path: str | Path, events: dict[str, list], drop: dict[str, tuple[str, ...]] | None = None,
                  collections: tuple[str, ...] | None = None, rename: dict[str, str] | None = None,
                  layout: str = "study") -> Path:
    """Write toy events to a Delphes-layout ROOT file (``layout``: "study" or "coffea").

    ``drop`` removes fields per collection (e.g. ``{"Track": ("Mass",)}`` for pre-3.5 files),
    ``collections`` keeps only those collections, ``rename`` renames one (``Track`` → ``EFlowTrack``).
    """
    drop = drop or {}
    rename = rename or {}
    path = Path(path)
    branches = {}
    for name, per_event in events.items():
        if collections is not None and name not in collections:
            continue
        fields = sorted({k for e in per_event for o in e for k in o}) or ["PT"]
        fields = [f for f in fields if f not in drop.get(name, ())]
        branches[rename.get(name, name)] = _typed(per_event, fields)
    return write_delphes_tree(path, branches, layout=layout)


def read_events(path: str | Path) -> dict[str, list]:
    """A Delphes-layout file back as ``{collection: [event][object]{Field: value}}`` (Python)."""
    tree = uproot.open(path)["Delphes"]
    keys = canonical_keys(tree.keys())  # full path → the file's own name, any layout
    names = sorted({k.split("/")[0] for k in keys if "/" in k})
    out = {}
    for name in names:
        own = [keys[k] for k in keys if k.startswith(f"{name}/")]
        arrays = tree.arrays(own, library="ak")
        fields = {k.split(".", 1)[1]: arrays[k] for k in own}
        out[name] = ak.zip(fields).tolist() if fields else []
    return out


# ---------------------------------------------------------------------------------------------
# Per-jet reference of the track observables (loops, straight from the spec)
# ---------------------------------------------------------------------------------------------


def ref_delta_phi(a: float, b: float) -> float:
    return math.atan2(math.sin(a - b), math.cos(a - b))


def ref_delta_r(eta1: float, phi1: float, eta2: float, phi2: float) -> float:
    deta = eta1 - eta2
    dphi = ref_delta_phi(phi1, phi2)
    return math.sqrt(deta * deta + dphi * dphi)


def ref_associate(jet: dict, tracks: list[dict], r_assoc: float = 0.4, n_max: int = 50) -> list[dict]:
    """Tracks with ΔR(track, jet) < r_assoc, sorted by pT descending (stable), first n_max."""
    inside = [t for t in tracks
              if ref_delta_r(t["eta"], t["phi"], jet["eta"], jet["phi"]) < r_assoc]
    return sorted(inside, key=lambda t: -t["pt"])[:n_max]


def _wrap_pi(x: float) -> float:
    while x > math.pi:
        x -= 2 * math.pi
    while x < -math.pi:
        x += 2 * math.pi
    return x


def ref_tau2_axes(tracks: list[dict], r_sub: float = 0.2) -> list[tuple[float, float, float]]:
    """Exclusive kT clustering to two axes, loops over all distances (spec order of ties)."""
    objs = [[t["pt"], t["eta"], t["phi"]] for t in tracks]
    while len(objs) > 2:
        best, bi, bj = math.inf, -1, -1
        for i in range(len(objs)):
            if objs[i][0] ** 2 < best:
                best, bi, bj = objs[i][0] ** 2, i, -1
            for j in range(i + 1, len(objs)):
                dr = ref_delta_r(objs[i][1], objs[i][2], objs[j][1], objs[j][2])
                dij = min(objs[i][0], objs[j][0]) ** 2 * (dr / r_sub) ** 2
                if dij < best:
                    best, bi, bj = dij, i, j
        if bj < 0:
            del objs[bi]
        else:
            pi, ei, fi = objs[bi]
            pj, ej, fj = objs[bj]
            pt = pi + pj
            eta = (pi * ei + pj * ej) / pt
            phi = _wrap_pi(fi + _wrap_pi(fj - fi) * pj / pt)
            objs[bi] = [pt, eta, phi]
            del objs[bj]
    return [tuple(o) for o in objs]


def ref_mass_squared_pairwise(tracks: list[dict]) -> float:
    """Invariant mass² of the tracks as Σ m_i² + 2 Σ_{i<j} (E_i E_j − p_i·p_j), each pair term
    written without cancellation (see hzx.processors.track_observables.track_system_mass_squared)."""
    m2 = sum(t["mass"] ** 2 for t in tracks)
    for a, b in itertools.combinations(tracks, 2):
        mta = math.sqrt(a["pt"] ** 2 + a["mass"] ** 2)
        mtb = math.sqrt(b["pt"] ** 2 + b["mass"] ** 2)
        ya = a["eta"] if a["mass"] == 0 else math.asinh(a["pt"] * math.sinh(a["eta"]) / mta)
        yb = b["eta"] if b["mass"] == 0 else math.asinh(b["pt"] * math.sinh(b["eta"]) / mtb)
        denominator = mta * mtb + a["pt"] * b["pt"]
        mass_term = ((a["mass"] ** 2 * b["pt"] ** 2 + b["mass"] ** 2 * a["pt"] ** 2
                      + a["mass"] ** 2 * b["mass"] ** 2) / denominator) if denominator > 0 else 0.0
        m2 += 2 * (2 * mta * mtb * math.sinh((ya - yb) / 2) ** 2 + mass_term
                   + 2 * a["pt"] * b["pt"] * math.sin((a["phi"] - b["phi"]) / 2) ** 2)
    return m2


def ref_observables(jet: dict, tracks: list[dict], radius: float = 0.4,
                    mass_form: str = "pairwise") -> list[float]:
    """The seven observables of one jet from its (pT-sorted) track list, per the spec.

    ``mass_form="literal"`` computes the track system's mass as the spec writes it, E² − p² of
    the summed four-vector (exact where it does not cancel); ``"pairwise"`` (default) the same
    quantity in cancellation-free form.
    """
    n = len(tracks)
    if n == 0:
        return [0.0] + [SENTINEL] * 6
    total = sum(t["pt"] for t in tracks)
    lead = tracks[0]
    dr_lead = ref_delta_r(jet["eta"], jet["phi"], lead["eta"], lead["phi"])
    ratio = lead["pt"] / total if total > 0 else SENTINEL

    se = spx = spy = spz = 0.0
    numerator = 0.0
    for t in tracks:
        px = t["pt"] * math.cos(t["phi"])
        py = t["pt"] * math.sin(t["phi"])
        pz = t["pt"] * math.sinh(t["eta"])
        se += math.sqrt(px * px + py * py + pz * pz + t["mass"] * t["mass"])
        spx += px
        spy += py
        spz += pz
        a = math.pi * ref_delta_r(t["eta"], t["phi"], jet["eta"], jet["phi"]) / (2 * radius)
        if 1 - math.cos(a) > 0:
            numerator += t["pt"] * math.sin(a) ** 2 / (1 - math.cos(a))
    if mass_form == "literal":
        m2 = se * se - (spx * spx + spy * spy + spz * spz)
    else:
        m2 = ref_mass_squared_pairwise(tracks)
    m_sys = math.sqrt(m2) if m2 > 0 else 0.0
    angularity = numerator / m_sys if (total > 0 and m_sys > 0) else SENTINEL

    def ecf(k: int, beta: float) -> float:
        if n < k:
            return 0.0
        value = 0.0
        for subset in itertools.combinations(tracks, k):
            weight = 1.0
            for t in subset:
                weight *= t["pt"]
            angle = min(ref_delta_r(a["eta"], a["phi"], b["eta"], b["phi"])
                        for a, b in itertools.combinations(subset, 2))
            value += weight * angle**beta
        return value / total**k

    e2_07 = ecf(2, 0.7)
    e2_03 = ecf(2, 0.3)
    u1 = e2_07 if e2_07 > 0 else SENTINEL
    m2_03 = ecf(3, 0.3) / e2_03 if e2_03 > 0 else SENTINEL

    if n < 2:
        tau = SENTINEL
    else:
        axes = ref_tau2_axes(tracks)
        tau = sum(t["pt"] * min(ref_delta_r(t["eta"], t["phi"], ax[1], ax[2]) for ax in axes)
                  for t in tracks) / (total * radius)
    return [float(n), dr_lead, ratio, angularity, u1, m2_03, tau]


def lower_tracks(tracks: list[dict]) -> list[dict]:
    """Delphes-named track dicts → {pt, eta, phi, mass} (Mass 0 when absent)."""
    return [{"pt": t["PT"], "eta": t["Eta"], "phi": t["Phi"], "mass": t.get("Mass", 0.0)}
            for t in tracks]


def ref_truth(jet: dict, particles: list[dict]) -> tuple[int, float]:
    """(label, target) of one jet: first matching particle in record order, else (Flavor or 0, NaN)."""
    for p in particles:
        if p["Status"] in (1, 2, 22) and p["PID"] in (36, 35, 25, 443, 441):
            if ref_delta_r(jet["Eta"], jet["Phi"], p["Eta"], p["Phi"]) < 0.3:
                label = 25 if p["PID"] in (25, 35) else p["PID"]
                return label, float(p["Mass"])
    flavor = jet.get("Flavor", 0)
    return (flavor if flavor > 0 else 0), math.nan


def rel_close(a: float, b: float, rel: float = 1e-9) -> bool:
    """|a − b| ≤ rel·max(|a|, |b|) (exact equality for sentinels and zeros)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * max(abs(a), abs(b))


# ---------------------------------------------------------------------------------------------
# Per-event reference of the HZa2018 selection
# ---------------------------------------------------------------------------------------------


def _p4(pt: float, eta: float, phi: float, mass: float) -> tuple[float, float, float, float]:
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return (px, py, pz, math.sqrt(px * px + py * py + pz * pz + mass * mass))


def _mass(*vectors) -> float:
    px = sum(v[0] for v in vectors)
    py = sum(v[1] for v in vectors)
    pz = sum(v[2] for v in vectors)
    e = sum(v[3] for v in vectors)
    m2 = e * e - (px * px + py * py + pz * pz)
    return math.sqrt(m2) if m2 > 0 else 0.0


def ref_hza2018_event(event: dict[str, list[dict]], z_mode: str = "study") -> dict[str, Any]:
    """Per-event HZa2018 (spec order): the last cut passed and the values each histogram gets."""
    fills: dict[str, list[float]] = {}
    jets = sorted([j for j in event["Jet"] if j["PT"] > 20 and abs(j["Eta"]) < 2.5],
                  key=lambda j: -j["PT"])
    mus = [m for m in event["Muon"] if m["PT"] > 18 and abs(m["Eta"]) < 2.7]
    els = [e for e in event["Electron"] if e["PT"] > 18 and abs(e["Eta"]) < 2.47]
    fills["hist_muon_pt"] = [m["PT"] for m in mus]
    fills["hist_electron_pt"] = [e["PT"] for e in els]
    passed = ["Inclusive"]
    result = {"passed": passed, "fills": fills}
    if not (len(mus) >= 2 or len(els) >= 2):
        return result
    passed.append("two_leptons")

    def best_pair(leptons):
        best = None
        for a, b in itertools.combinations(leptons, 2):
            if a["Charge"] * b["Charge"] >= 0:
                continue
            m = _mass(_p4(a["PT"], a["Eta"], a["Phi"], 0.0), _p4(b["PT"], b["Eta"], b["Phi"], 0.0))
            if best is None or abs(m - Z_MASS) < abs(best[0] - Z_MASS):
                best = (m, a, b)
        return best

    ee, mm = best_pair(els), best_pair(mus)
    if z_mode == "study":
        cand = ee if ee is not None else mm
    else:
        options = [c for c in (ee, mm) if c is not None]
        cand = min(options, key=lambda c: abs(c[0] - Z_MASS)) if options else None
    if cand is None:
        return result
    passed.append("z_candidate")
    mll, l1, l2 = cand
    if mll < 81 or mll > 101:
        return result
    passed.append("z_mass_window")
    if max(l1["PT"], l2["PT"]) < 27:
        return result
    passed.append("z_lepton_pt")
    fills["hist_z_mass"] = [mll]
    if not jets:
        return result
    passed.append("one_jet")
    for i, j in enumerate(jets[:4]):
        fills[f"hist_jet{i + 1}pt"] = [j["PT"]]
    j1 = jets[0]
    mllj = _mass(_p4(l1["PT"], l1["Eta"], l1["Phi"], 0.0), _p4(l2["PT"], l2["Eta"], l2["Phi"], 0.0),
                 _p4(j1["PT"], j1["Eta"], j1["Phi"], j1["Mass"]))
    if mllj < 50 or mllj > 250:
        return result
    passed.append("mllj_window")
    fills["hist_mllj"] = [mllj]
    fills["hist_jet1mass"] = [j1["Mass"]]
    passed.append("SR")
    return result
