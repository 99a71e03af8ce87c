"""The seven track observables of a jet, columnar (``../shared/spec/ghost-track-observables.md``).

Pure functions on awkward arrays. Conventions:

- ``jets``: a flat (one entry per jet) or per-event jagged record array with ``pt, eta, phi``;
- ``tracks``: per-event ``[event][track]`` records for the association, or per-jet track lists
  ``[jet][track]`` with ``pt`` (GeV), ``eta``, ``phi``, ``mass`` (GeV), sorted by pT descending
  (as :func:`associate_by_delta_r` returns them) for the observables.

Everything is computed in float64. Undefined values are :data:`SENTINEL`. The work is done by
the compiled kernels of :mod:`hzx.processors.track_kernels`: jets split into blocks run on all
numba threads, each block worked through in batches of jets, stage by stage over contiguous
buffers (the pair terms of a whole batch in one vectorised loop). :func:`delta_r_track_observables`
associates and computes in the same pass, without building the per-jet track lists.
"""

from __future__ import annotations

import dataclasses

import awkward as ak
import numba
import numpy as np

from hzx.processors import track_kernels as kernels
from hzx.processors.kinematics import delta_r

#: Value of an undefined observable (the study's).
SENTINEL = kernels.SENTINEL

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

#: Jets per parallel block below which one thread does the work.
_JETS_PER_BLOCK = 256


def _flat_float64(array: ak.Array) -> np.ndarray:
    return np.ascontiguousarray(ak.to_numpy(ak.flatten(array, axis=1)), dtype=np.float64)


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _n_blocks(n_jets: int) -> int:
    return max(1, min(numba.get_num_threads(), n_jets // _JETS_PER_BLOCK))


def _jagged_columns(records: ak.Array, fields: tuple[str, ...],
                    optional: tuple[str, ...] = ()) -> tuple[np.ndarray, list[np.ndarray]]:
    """(objects per entry, one contiguous float64 array per field) of ``[entry][object]``
    records; fields in ``optional`` that are absent come back as zeros. Plain layouts (list
    offsets over a record of numpy buffers) are read from the layout's nodes directly, a few µs
    in all (awkward's high-level functions cost tens of µs per call, which small chunks
    notice); anything else goes through awkward's flatten."""
    layout = records.layout if isinstance(records, ak.Array) else ak.to_layout(records)
    plain = (isinstance(layout, ak.contents.ListOffsetArray)
             and isinstance(layout.content, ak.contents.RecordArray))
    present = set(layout.content.fields) if plain else set(ak.fields(records))
    missing = [name for name in fields if name not in present]
    if missing:
        raise ValueError(f"track observables: the records have no field {missing[0]!r}"
                         f" (fields: {', '.join(sorted(present))})")
    if plain:
        offsets = np.asarray(layout.offsets.data)
        by_name = dict(zip(layout.content.fields, layout.content.contents, strict=True))
        contents = [by_name.get(name) for name in fields + optional]
        if all(c is None or (isinstance(c, ak.contents.NumpyArray) and c.data.ndim == 1)
               for c in contents):
            n = int(offsets[-1] - offsets[0])
            columns = [np.zeros(n) if c is None else np.ascontiguousarray(
                np.asarray(c.data)[offsets[0]:offsets[-1]], dtype=np.float64) for c in contents]
            return np.diff(offsets).astype(np.int64, copy=False), columns
    counts = np.asarray(ak.to_numpy(ak.num(records[fields[0]], axis=1)), dtype=np.int64)
    columns = [_flat_float64(records[name]) if name in present else np.zeros(int(counts.sum()))
               for name in fields + optional]
    return counts, columns


def _associate(jets: ak.Array, tracks: ak.Array, r_assoc: float, max_tracks: int,
               radius: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    jet_counts, (jet_eta, jet_phi) = _jagged_columns(jets, ("eta", "phi"))
    trk_counts, (pt, eta, phi, mass) = _jagged_columns(tracks, ("pt", "eta", "phi"), ("mass",))
    if len(jet_counts) != len(trk_counts):
        raise ValueError("associate_by_delta_r: jets and tracks have different numbers of events"
                         f" ({len(jet_counts)} and {len(trk_counts)})")
    if max_tracks < 0:
        raise ValueError(f"associate_by_delta_r: max_tracks must be ≥ 0, got {max_tracks}")
    n_jets = int(jet_counts.sum())
    jet_event = np.empty(n_jets, dtype=np.int64)
    # room for min(tracks of its event, max_tracks) indices per jet; each parallel block writes
    # its jets' indices packed from its first jet's offset on (untouched room costs nothing)
    slots = np.empty(n_jets + 1, dtype=np.int64)
    kernels.jet_layout(jet_counts, trk_counts, int(max_tracks), jet_event, slots)
    counts = np.zeros(n_jets, dtype=np.int64)
    index = np.empty(int(slots[-1]), dtype=np.int64)
    compute = radius is not None
    out = np.empty((n_jets if compute else 0, len(OBSERVABLE_NAMES)), dtype=np.float64)
    if not n_jets:
        return counts, index[:0], out if compute else None
    n_blocks = _n_blocks(n_jets)
    block_ranges = np.zeros((n_blocks, 2), dtype=np.int64)
    kernels.associate_and_observe(
        jet_event, jet_eta, jet_phi, _offsets(trk_counts), pt, eta, phi, mass,
        float(r_assoc), int(max_tracks), float(radius) if compute else JET_RADIUS,
        SUBJET_RADIUS, compute, counts, slots[:-1], index, block_ranges, out, n_blocks)
    packed = np.concatenate([index[start:stop] for start, stop in block_ranges])
    return counts, packed, out if compute else None


def associated_track_indices(jets: ak.Array, tracks: ak.Array, r_assoc: float = 0.4,
                             max_tracks: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Flat form of :func:`associate_by_delta_r`: (tracks per jet, indices into
    ``ak.flatten(tracks, axis=1)``), jets in ``ak.flatten(jets, axis=1)`` order, each jet's
    tracks in pT order."""
    counts, index, _ = _associate(jets, tracks, r_assoc, max_tracks, None)
    return counts, index


def tracks_of_jets(jets: ak.Array, tracks: ak.Array, counts: np.ndarray,
                   index: np.ndarray) -> ak.Array:
    """``[event][jet][track]`` records of ``tracks`` from the flat association
    (:func:`associated_track_indices`)."""
    jet_offsets = _offsets(np.asarray(ak.to_numpy(ak.num(jets, axis=1)), dtype=np.int64))
    selected = ak.flatten(tracks, axis=1)[index]
    inner = ak.contents.ListOffsetArray(ak.index.Index64(_offsets(counts)), selected.layout)
    outer = ak.contents.ListOffsetArray(ak.index.Index64(jet_offsets), inner)
    return ak.Array(outer, behavior=tracks.behavior)


def associate_by_delta_r(jets: ak.Array, tracks: ak.Array, r_assoc: float = 0.4,
                         max_tracks: int = 50) -> ak.Array:
    """Tracks of each jet: ΔR(track, jet) < ``r_assoc``, sorted by pT descending, first ``max_tracks``.

    ``jets`` and ``tracks`` are per-event jagged records (``[event][jet]``, ``[event][track]``)
    with ``pt, eta, phi``. Returns ``[event][jet][track]`` track records (a track may belong to
    several jets). The sort is stable: tracks of equal pT keep their file order.
    """
    counts, index = associated_track_indices(jets, tracks, r_assoc, max_tracks)
    return tracks_of_jets(jets, tracks, counts, index)


def delta_r_track_observables(jets: ak.Array, tracks: ak.Array, r_assoc: float = 0.4,
                              max_tracks: int = 50, radius: float = JET_RADIUS,
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ΔR association and the seven observables in one pass.

    Same association as :func:`associate_by_delta_r`, same values as :func:`jet_track_observables`
    on its output. Returns (tracks per jet, flat track indices as
    :func:`associated_track_indices`, (N_jets, 7) float64 matrix in :data:`OBSERVABLE_NAMES`
    order), jets in ``ak.flatten(jets, axis=1)`` order.
    """
    counts, index, matrix = _associate(jets, tracks, r_assoc, max_tracks, radius)
    return counts, index, matrix


@dataclasses.dataclass
class FlatTracks:
    """Tracks of N jets as flat float64 numpy arrays with per-jet counts (the columnar layout):
    the tracks of jet ``j`` are ``offsets[j]:offsets[j+1]``, in their pT order."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    counts: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_awkward(cls, tracks: ak.Array) -> FlatTracks:
        counts, (pt, eta, phi, mass) = _jagged_columns(tracks, ("pt", "eta", "phi"), ("mass",))
        return cls(pt, eta, phi, mass, counts, _offsets(counts))

    @property
    def n_jets(self) -> int:
        return len(self.counts)


def energy_correlator(tracks: ak.Array | FlatTracks, k: int, beta: float) -> np.ndarray:
    """Generalised energy correlator e_k^{(1,β)} of each jet's track set (k = 2 or 3), any β.

    Σ over k-subsets of (Π pT) · (min pairwise ΔR)^β, divided by (Σ pT)^k; 0 when n < k.
    """
    if k not in (2, 3):
        raise ValueError(f"energy_correlator: k must be 2 or 3, got {k}")
    flat = tracks if isinstance(tracks, FlatTracks) else FlatTracks.from_awkward(tracks)
    out = np.empty(flat.n_jets, dtype=np.float64)
    kernels.energy_correlators(flat.offsets, flat.pt, flat.eta, flat.phi, int(k), float(beta),
                               out)
    return out


def flat_track_observables(jet_eta: np.ndarray, jet_phi: np.ndarray, flat: FlatTracks,
                           radius: float = JET_RADIUS) -> np.ndarray:
    """The seven observables of every jet as an (N, 7) float64 matrix (:data:`OBSERVABLE_NAMES`
    order) from flat track arrays (see :func:`jet_track_observables`)."""
    jet_eta = np.ascontiguousarray(jet_eta, dtype=np.float64)
    jet_phi = np.ascontiguousarray(jet_phi, dtype=np.float64)
    if len(jet_eta) != flat.n_jets or len(jet_phi) != flat.n_jets:
        raise ValueError("flat_track_observables: one (eta, phi) per jet of the tracks expected,"
                         f" got {len(jet_eta)} jets and {flat.n_jets} track lists")
    out = np.empty((flat.n_jets, len(OBSERVABLE_NAMES)), dtype=np.float64)
    if flat.n_jets:
        kernels.listed_observables(jet_eta, jet_phi, flat.offsets, flat.pt, flat.eta, flat.phi,
                                   flat.mass, float(radius), SUBJET_RADIUS, out,
                                   _n_blocks(flat.n_jets))
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
    formulas: the track system's mass², Σ m_i² + 2 Σ_{i<j} (E_i E_j − p_i·p_j) with each pair
    term written without cancellation (see :func:`hzx.processors.track_kernels._pair_terms`), and
    the angularity term pT·sin²a/(1 − cos a) = pT·(1 + cos a) (for 1 − cos a > 0, else skipped,
    as specified). The literal forms lose every digit for collinear tracks and tracks close to
    the jet axis.
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
