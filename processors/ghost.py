"""Ghost association of tracks to jets (fastjet), the alternative to ΔR < 0.4.

Each track enters the clustering a second time as a *ghost*: its four-momentum scaled by
:data:`GHOST_SCALE`, so it cannot change the jets. The event's particle-flow candidates plus the
ghosts are clustered with anti-kT (R = 0.4 by default); a track belongs to the jet that its ghost
ends up in. The Delphes jets are not re-clustered here: each Delphes jet takes the ghosts of the
clustered jet nearest to it within ΔR < ``match_dr`` (0.2), and none if there is no such jet.
Unlike the ΔR association a track belongs to at most one jet, and jet areas follow the actual
anti-kT boundaries.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hzx.processors.kinematics import delta_r, momentum

#: Factor applied to a track's four-momentum to make its ghost.
GHOST_SCALE = 1e-10


def _four_vectors(pt, eta, phi, energy=None) -> ak.Array:
    px, py, pz = momentum(pt, eta, phi)
    p = np.sqrt(px * px + py * py + pz * pz)
    e = p if energy is None else np.maximum(energy, p)  # no space-like inputs for fastjet
    return ak.zip({"px": px, "py": py, "pz": pz, "E": e})


def ghost_track_indices(jets: ak.Array, tracks: ak.Array, candidates: ak.Array,
                        radius: float = 0.4, match_dr: float = 0.2) -> ak.Array:
    """Indices ``[event][jet][k]`` into ``tracks`` of the ghosts clustered into each jet.

    ``jets``: ``[event][jet]`` with ``eta, phi``; ``tracks``: ``[event][track]`` with
    ``pt, eta, phi``; ``candidates``: ``[event][object]`` with ``pt, eta, phi, energy`` (GeV).
    """
    import fastjet

    real = _four_vectors(candidates.pt, candidates.eta, candidates.phi, candidates.energy)
    ghosts = _four_vectors(tracks.pt * GHOST_SCALE, tracks.eta, tracks.phi)
    n_real = ak.num(real, axis=1)
    inputs = ak.concatenate([real, ghosts], axis=1)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    sequence = fastjet.ClusterSequence(inputs, definition)
    clustered = sequence.inclusive_jets()
    members = sequence.constituent_index()  # [event][clustered jet][input index]
    c_pt = np.hypot(clustered.px, clustered.py)
    c_eta = np.arcsinh(clustered.pz / ak.where(c_pt > 0, c_pt, 1.0))
    c_phi = np.arctan2(clustered.py, clustered.px)
    pairs = ak.cartesian({"jet": jets, "c": ak.zip({"eta": c_eta, "phi": c_phi})}, axis=1,
                         nested=True)
    dr = delta_r(pairs.jet.eta, pairs.jet.phi, pairs.c.eta, pairs.c.phi)
    nearest = ak.argmin(dr, axis=2, keepdims=True)
    best_dr = ak.firsts(dr[nearest], axis=2)
    matched = ak.fill_none(best_dr < match_dr, False)
    nearest = ak.fill_none(ak.firsts(nearest, axis=2), 0)
    ghosts_of_clustered = members[members >= n_real] - n_real
    chosen = ghosts_of_clustered[nearest]
    keep = ak.broadcast_arrays(matched, chosen)[0]
    return chosen[keep]


def associate_by_ghosts(jets: ak.Array, tracks: ak.Array, candidates: ak.Array,
                        radius: float = 0.4, max_tracks: int = 50,
                        match_dr: float = 0.2) -> ak.Array:
    """Ghost-associated tracks ``[event][jet][track]`` (records of ``tracks``), sorted by pT
    descending (stable) and cut to ``max_tracks`` — the same form as the ΔR association."""
    index = ghost_track_indices(jets, tracks, candidates, radius, match_dr)
    index = ak.sort(index, axis=-1)  # file order before the stable pT sort, as for ΔR
    flat_counts = ak.num(index, axis=2)
    per_event = ak.flatten(index, axis=2)
    gathered = tracks[per_event]
    assoc = ak.unflatten(gathered, ak.flatten(flat_counts), axis=1)
    order = ak.argsort(assoc.pt, axis=-1, ascending=False, stable=True)
    return assoc[order][:, :, :max_tracks]
