"""Track observables of every jet, truth labels and per-jet training columns (Delphes input).

Wires :mod:`hzx.processors.track_observables` to Delphes events. Per dataset the output holds

- ``obs_<name>``: a histogram of each of the seven observables (defined values only; the
  sentinel −999999 is not filled), with a ``truth`` axis (0: unmatched, 1: matched to a, h,
  J/ψ or η_c);
- ``cutflow``: events, jets, selected jets;
- ``columns``: the per-jet training columns, ``{"chunks": [...], "files": [...]}``. With
  ``columns_dir`` set (``hzx run tracks --out OUT`` sets ``OUT.columns/``) each worker writes its
  chunk's arrays to one HDF5 file there (:mod:`hzx.processors.columns`) and ``files`` holds one
  small reference per chunk (path, jets, size, SHA-256): the accumulator stays small whatever the
  number of events. Without a ``columns_dir`` (the Python API's default, for small runs and
  tests) or with ``columns_storage="memory"``, ``chunks`` holds one dict of numpy arrays per
  chunk instead. Chunks arrive in no fixed order with Dask: the HDF5 writer (``hzx h5``) sorts
  them by (file, first entry); inside a chunk rows are ordered by (entry, jet index).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import awkward as ak
import hist
import numpy as np

from hzx.errors import ConfigurationError
from hzx.processors import backend
from hzx.processors.base import HzxProcessor
from hzx.processors.delphes import (
    choose_track_collection,
    require_collections,
    to_float64,
)
from hzx.processors.kinematics import delta_r, energy
from hzx.processors.track_observables import (
    OBSERVABLE_NAMES,
    associate_by_delta_r,
    delta_r_track_observables,
    jet_track_observables,
    observables_matrix,
    tracks_of_jets,
    truth_match,
)

#: Per-track features of ``track_features`` (HDF5 order).
TRACK_FEATURES = ("pt", "eta", "phi", "charge", "pid", "d0", "dz", "mass")
#: Per-jet features of ``jet_features``.
JET_FEATURES = ("pt", "eta", "phi", "mass", "btag", "tau_tag")
#: Per-constituent features of ``constituent_features``.
CONSTITUENT_FEATURES = ("pt", "eta", "phi", "energy", "charge", "is_track")

#: Histogram binnings of the observables: name → (bins, low, high).
OBSERVABLE_BINNING = {
    "nTracks": (50, 0.0, 50.0),
    "deltaRLeadTrack": (40, 0.0, 0.4),
    "leadTrackPtRatio": (50, 0.0, 1.0),
    "angularity_2": (60, 0.0, 60.0),
    "U1_0p7": (50, 0.0, 0.5),
    "M2_0p3": (50, 0.0, 1.0),
    "tau2": (50, 0.0, 1.0),
}

ASSOCIATIONS = ("delta_r", "ghost")
COLUMN_STORAGES = ("auto", "disk", "memory")


@dataclasses.dataclass(frozen=True)
class TrackObservablesOptions:
    """Options of the track-observable processor; defaults are the study's converter.

    Attributes
    ----------
    association : {"delta_r", "ghost"}
        ``delta_r``: tracks with ΔR(track, jet) < ``r_assoc``; ``ghost``: tracks clustered as
        ghosts together with the event's particle-flow objects (anti-kT, ``r_assoc``; fastjet),
        then given to the Delphes jet that the ghost's clustered jet matches (ΔR < 0.2).
    r_assoc : float
        Association radius (the study's ``--ghost-dr``), 0.4.
    observable_radius : float
        R of the observables' normalisations (angularity, τ₂), 0.4 whatever ``r_assoc`` is (the
        study's converter fixes it).
    max_tracks : int
        Tracks per jet kept (highest pT first), 50.
    max_constituents : int
        Constituents per jet in the training columns (the study's ``--max-constituents``), 100.
    track_collection : str
        ``auto`` (``Track``, else ``EFlowTrack``) or a collection name.
    jet_collection : str
        Jet collection, ``Jet``.
    jet_pt_min, jet_abs_eta_max : float
        Optional jet selection (GeV); the study keeps every jet (0, ∞).
    leading_jet_only : bool
        Keep only the highest-pT selected jet of each event.
    require_hza2018 : bool
        Keep only events in the HZa2018 signal region (study default options).
    truth_max_dr : float
        ΔR of the truth matching, 0.3.
    store_columns : bool
        Keep per-jet training columns in the output (needed by ``hzx h5``).
    columns_dir : str or None
        Folder of the per-chunk column files (made absolute: the workers write there, so on a
        batch cluster it must be on a file system that they and the client share). ``hzx run
        tracks --out OUT`` sets ``OUT.columns`` unless given. ``None``: columns in memory.
    columns_storage : {"auto", "disk", "memory"}
        ``auto``: on disk when ``columns_dir`` is set, else in the accumulator; ``memory``: in the
        accumulator even with a ``columns_dir`` (small runs); ``disk``: a ``columns_dir`` is
        required.
    """

    association: str = "delta_r"
    r_assoc: float = 0.4
    observable_radius: float = 0.4
    max_tracks: int = 50
    max_constituents: int = 100
    track_collection: str = "auto"
    jet_collection: str = "Jet"
    jet_pt_min: float = 0.0
    jet_abs_eta_max: float = math.inf
    leading_jet_only: bool = False
    require_hza2018: bool = False
    truth_max_dr: float = 0.3
    store_columns: bool = True
    columns_dir: str | None = None
    columns_storage: str = "auto"

    def __post_init__(self) -> None:
        if self.columns_storage not in COLUMN_STORAGES:
            raise ConfigurationError(f"columns_storage must be one of {', '.join(COLUMN_STORAGES)}"
                                     f", got {self.columns_storage!r}")
        if self.columns_storage == "disk" and not self.columns_dir:
            raise ConfigurationError("columns_storage=disk needs a columns_dir")
        if self.columns_dir:
            object.__setattr__(self, "columns_dir", os.path.abspath(str(self.columns_dir)))
        if self.association not in ASSOCIATIONS:
            raise ConfigurationError(
                f"association must be one of {', '.join(ASSOCIATIONS)}, got {self.association!r}"
            )
        if (self.r_assoc <= 0 or self.observable_radius <= 0 or self.max_tracks < 1
                or self.max_constituents < 0):
            raise ConfigurationError("r_assoc and observable_radius must be > 0, max_tracks ≥ 1, "
                                     "max_constituents ≥ 0")


def _field(collection: ak.Array, name: str, default: float = 0.0) -> ak.Array:
    if name in ak.fields(collection):
        return to_float64(collection[name])
    return ak.values_astype(ak.zeros_like(collection[ak.fields(collection)[0]]), np.float64) + default


def track_records(collection: ak.Array) -> ak.Array:
    """Delphes tracks as float64 records with :data:`TRACK_FEATURES` (absent fields: 0)."""
    return ak.zip({
        "pt": _field(collection, "PT"), "eta": _field(collection, "Eta"),
        "phi": _field(collection, "Phi"), "charge": _field(collection, "Charge"),
        "pid": _field(collection, "PID"), "d0": _field(collection, "D0"),
        "dz": _field(collection, "DZ"), "mass": _field(collection, "Mass"),
    })


def constituent_candidates(events: Any, track_name: str) -> ak.Array:
    """Particle-flow-like objects of each event: tracks plus neutral objects, as float64 records.

    Neutral objects: ``EFlowPhoton`` and ``EFlowNeutralHadron`` when present, else ``Tower``
    (tracks and towers then double count charged energy, as in a track + calorimeter picture).
    Fields: :data:`CONSTITUENT_FEATURES`. Energies in GeV; tracks use E = √(p² + m²).
    """
    present = set(events.fields)
    tracks = events[track_name]
    t_pt, t_eta = _field(tracks, "PT"), _field(tracks, "Eta")
    t_mass = _field(tracks, "Mass")
    parts = [ak.zip({"pt": t_pt, "eta": t_eta, "phi": _field(tracks, "Phi"),
                     "energy": energy(t_pt, t_eta, t_mass),
                     "charge": _field(tracks, "Charge"), "is_track": ak.ones_like(t_pt)})]
    neutral_names = [n for n in ("EFlowPhoton", "EFlowNeutralHadron") if n in present]
    if not neutral_names and "Tower" in present:
        neutral_names = ["Tower"]
    for name in neutral_names:
        c = events[name]
        pt = _field(c, "ET")
        parts.append(ak.zip({"pt": pt, "eta": _field(c, "Eta"), "phi": _field(c, "Phi"),
                             "energy": _field(c, "E"), "charge": ak.zeros_like(pt),
                             "is_track": ak.zeros_like(pt)}))
    return ak.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def padded(lists: ak.Array, fields: tuple[str, ...], length: int) -> tuple[np.ndarray, np.ndarray]:
    """``[jet][object]`` records → (N, length, len(fields)) float32 zero-padded array and mask."""
    n = len(lists)
    out = np.zeros((n, length, len(fields)), dtype=np.float32)
    mask = np.zeros((n, length), dtype=bool)
    if n == 0 or length == 0:
        return out, mask
    cut = lists[:, :length]
    counts = ak.to_numpy(ak.num(cut, axis=1))
    rows = np.repeat(np.arange(n), counts)
    cols = ak.to_numpy(ak.flatten(ak.local_index(cut, axis=1)))
    for k, f in enumerate(fields):
        out[rows, cols, k] = ak.to_numpy(ak.flatten(cut[f]))
    mask[rows, cols] = True
    return out, mask


def _new_histogram(name: str) -> hist.Hist:
    bins, low, high = OBSERVABLE_BINNING[name]
    return hist.Hist(hist.axis.Regular(bins, low, high, name="x", label=name),
                     hist.axis.Integer(0, 2, name="truth", label="matched to signal particle",
                                       underflow=False, overflow=False),
                     storage=hist.storage.Double(), name=f"obs_{name}")


class TrackObservablesProcessor(HzxProcessor):
    """The seven track observables of every (selected) jet, truth labels and training columns."""

    options_class = TrackObservablesOptions
    dask_awkward_ready = True  # histograms and cutflow; training columns need the Runner

    @property
    def columns_on_disk(self) -> bool:
        o = self.options
        return o.store_columns and o.columns_storage != "memory" and bool(o.columns_dir)

    def with_output(self, out_path: str) -> TrackObservablesProcessor:
        """This processor writing its training columns beside the output ``out_path``
        (``<out_path>.columns/``), unless a ``columns_dir`` or in-memory columns were asked for.
        The folder is made now: one that cannot be is an error before any work."""
        o = self.options
        if not o.store_columns or o.columns_storage == "memory":
            return self
        processor = self if o.columns_dir else \
            type(self)(dataclasses.replace(o, columns_dir=f"{out_path}.columns"))
        folder = processor.options.columns_dir
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise ConfigurationError(f"training columns folder {folder}: cannot create it "
                                     f"({err.strerror or err}); choose another with the "
                                     "option columns_dir=DIR") from None
        if not os.access(folder, os.W_OK):
            raise ConfigurationError(f"training columns folder {folder} is not writable; "
                                     "choose another with the option columns_dir=DIR")
        return processor

    def required_branches(self) -> tuple[str, ...]:
        """Jet kinematics and the truth record; the track collection (Track or EFlowTrack) is
        checked per chunk, since either will do."""
        jet = self.options.jet_collection
        out = [f"{jet}/{jet}.{f}" for f in ("PT", "Eta", "Phi")]
        out += [f"Particle/Particle.{f}" for f in ("PID", "Status", "Eta", "Phi")]
        if self.options.require_hza2018:
            from hzx.processors.hza2018 import HZa2018Processor

            out += [b for b in HZa2018Processor().required_branches() if b not in out]
        return tuple(out)

    def accumulator(self, dataset: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {f"obs_{n}": _new_histogram(n) for n in OBSERVABLE_NAMES}
        out["cutflow"] = {c: {"raw": 0, "weighted": 0.0}
                          for c in ("events", "events_selected", "jets", "jets_selected")}
        out["columns"] = {"chunks": [], "files": []}
        return out

    # -- pieces ---------------------------------------------------------------------------------

    def select_jets(self, events: Any) -> tuple[ak.Array, np.ndarray]:
        """Selected jets per event (float64 records with their index in the file) and event mask."""
        o = self.options
        raw = events[o.jet_collection]
        jets = ak.zip({
            "pt": _field(raw, "PT"), "eta": _field(raw, "Eta"), "phi": _field(raw, "Phi"),
            "mass": _field(raw, "Mass"), "btag": _field(raw, "BTag"),
            "tau_tag": _field(raw, "TauTag"),
            "flavor": _field(raw, "Flavor") if "Flavor" in ak.fields(raw) else _field(raw, "PT") * 0,
            "index": ak.local_index(raw.PT, axis=1),
        })
        jets = jets[(jets.pt > o.jet_pt_min) & (np.abs(jets.eta) < o.jet_abs_eta_max)]
        if o.leading_jet_only:
            jets = jets[ak.argsort(jets.pt, axis=1, ascending=False, stable=True)][:, :1]
        event_mask = np.ones(len(events), dtype=bool)
        if o.require_hza2018:
            from hzx.processors.hza2018 import HZa2018Options, hza2018_selection

            event_mask = hza2018_selection(events.Jet, events.Muon, events.Electron,
                                           HZa2018Options())["cuts"]["SR"]
            jets = jets[event_mask]
        return jets, event_mask

    def associate(self, events: Any, jets: ak.Array, tracks: ak.Array) -> ak.Array:
        """Tracks of each jet ``[event][jet][track]``, pT-ordered, at most ``max_tracks``."""
        o = self.options
        if o.association == "delta_r":
            return associate_by_delta_r(jets, tracks, o.r_assoc, o.max_tracks)
        from hzx.processors.ghost import associate_by_ghosts

        return associate_by_ghosts(jets, tracks, constituent_candidates_for_ghosts(events, o),
                                   o.r_assoc, o.max_tracks)

    def observables(self, events: Any, jets: ak.Array,
                    tracks: ak.Array) -> tuple[np.ndarray, Callable[[], ak.Array]]:
        """(N_jets, 7) observables and a function returning the jets' tracks ``[jet][track]``
        (built only when the training columns need them). ΔR association runs fused with the
        observables, without building the per-jet track lists."""
        o = self.options
        if o.association == "delta_r":
            counts, index, matrix = delta_r_track_observables(jets, tracks, o.r_assoc,
                                                              o.max_tracks, o.observable_radius)
            return matrix, lambda: ak.flatten(tracks_of_jets(jets, tracks, counts, index), axis=1)
        flat_jets = ak.flatten(jets, axis=1)
        flat_tracks = ak.flatten(self.associate(events, jets, tracks), axis=1)
        values = jet_track_observables(flat_jets.eta, flat_jets.phi, flat_tracks,
                                       o.observable_radius)
        return observables_matrix(values), lambda: flat_tracks

    def analyse(self, events: Any) -> dict[str, Any]:
        """One chunk's (or partition's) selected jets, their observables and truth: the part of
        :meth:`fill` both backends share. Keys: ``track_name``, ``jets``, ``event_mask``,
        ``selected`` (the selected events), ``matrix`` ((N_jets, 7) observables), ``jet_tracks``
        (function, as :meth:`observables`), ``labels``, ``targets``, ``matched``."""
        o = self.options
        track_name = choose_track_collection(events, o.track_collection)
        jets, event_mask = self.select_jets(events)
        sel = events[event_mask] if not event_mask.all() else events
        tracks = track_records(sel[track_name])
        matrix, jet_tracks = self.observables(sel, jets, tracks)

        particles = sel.Particle
        truth_particles = ak.zip({"pid": particles.PID, "status": particles.Status,
                                  "eta": to_float64(particles.Eta),
                                  "phi": to_float64(particles.Phi),
                                  "mass": _field(particles, "Mass")})
        flavor = ak.values_astype(jets.flavor, np.int32)
        labels, targets = truth_match(jets, truth_particles, o.truth_max_dr, flavor)
        labels = ak.to_numpy(ak.flatten(labels))
        targets = ak.to_numpy(ak.flatten(targets))
        return {"track_name": track_name, "jets": jets, "event_mask": event_mask,
                "selected": sel, "matrix": matrix, "jet_tracks": jet_tracks, "labels": labels,
                "targets": targets, "matched": ~np.isnan(targets)}

    def event_table(self, events: Any, metadata: Mapping[str, Any]) -> ak.Array:
        """Per event (dask-awkward backend): ``selected`` (event mask), ``n_jets`` (all jets),
        and per selected jet (jagged) ``obs_<name>`` and ``matched`` (0/1)."""
        a = self.analyse(events)
        counts = np.zeros(len(events), dtype=np.int64)
        counts[a["event_mask"]] = ak.to_numpy(ak.num(a["jets"].pt, axis=1))
        columns: dict[str, Any] = {
            "selected": np.asarray(a["event_mask"], dtype=bool),
            "n_jets": ak.to_numpy(ak.num(events[self.options.jet_collection].PT, axis=1)),
            "matched": ak.unflatten(a["matched"].astype(np.int64), counts),
        }
        for k, name in enumerate(OBSERVABLE_NAMES):
            columns[f"obs_{name}"] = ak.unflatten(np.ascontiguousarray(a["matrix"][:, k]),
                                                  counts)
        return ak.zip(columns, depth_limit=1)

    def event_collections(self, events: Any) -> tuple[tuple[str], ...]:
        """The collections :meth:`event_table` reads (the dask-awkward backend reads only
        theirs)."""
        o = self.options
        names = [o.jet_collection, choose_track_collection(events, o.track_collection),
                 "Particle"]
        if o.require_hza2018:
            names += ["Jet", "Muon", "Electron"]
        if o.association != "delta_r":  # ghosts: the neutral particle-flow candidates too
            names += [n for n in ("EFlowPhoton", "EFlowNeutralHadron", "Tower")
                      if n in events.fields]
        return tuple((n,) for n in dict.fromkeys(names))

    def _fill_lazily(self, events: Any, out: dict[str, Any]) -> None:
        """The histograms and cutflow from a dask-awkward collection (no training columns)."""
        if self.options.store_columns:
            raise ConfigurationError("store_columns needs backend 'runner': the dask-awkward "
                                     "backend fills the histograms and cutflow only")
        table = backend.per_event(self.event_table, events, {},
                                  touch=self.event_collections(events))
        truth = backend.flatten(table.matched)
        for name in OBSERVABLE_NAMES:
            column = backend.flatten(table[f"obs_{name}"])
            ok = column != -999999.0
            out[f"obs_{name}"].fill(x=column[ok], truth=truth[ok])
        n = backend.count_events(table)
        selected = backend.count(table.selected)
        n_jets, jets_selected = backend.total(table.n_jets), backend.count_events(truth)
        # unweighted, as the Runner backend's: "weighted" holds the count as a float
        out["cutflow"] = {"events": {"raw": n, "weighted": n * 1.0},
                          "events_selected": {"raw": selected, "weighted": selected * 1.0},
                          "jets": {"raw": n_jets, "weighted": n_jets * 1.0},
                          "jets_selected": {"raw": jets_selected,
                                            "weighted": jets_selected * 1.0}}
        out["metadata"]["track_collections"] = {
            choose_track_collection(events, self.options.track_collection)}

    def fill(self, events: Any, out: dict[str, Any], metadata: Mapping[str, Any]) -> None:
        o = self.options
        dataset = metadata["dataset"]
        filename = metadata["filename"]
        require_collections(events, (o.jet_collection, "Particle"), "the track observables")
        if backend.is_dask(events):
            return self._fill_lazily(events, out)

        a = self.analyse(events)
        track_name, jets, event_mask = a["track_name"], a["jets"], a["event_mask"]
        sel, matrix, jet_tracks = a["selected"], a["matrix"], a["jet_tracks"]
        labels, targets, matched = a["labels"], a["targets"], a["matched"]
        entry_start = int(events.metadata.get("entrystart", 0))
        entries = np.arange(len(events), dtype=np.int64)[event_mask] + entry_start
        flat_jets = ak.flatten(jets, axis=1)

        for k, name in enumerate(OBSERVABLE_NAMES):
            column = matrix[:, k]
            ok = column != -999999.0
            out[f"obs_{name}"].fill(x=column[ok], truth=matched[ok].astype(int))

        # Not a PackedSelection cutflow: two of its four entries count jets, not events (an
        # object-level cut), and the one event-level cut is the HZa2018 SR mask, whose own
        # cutflow is the HZa2018 processor's; the counts are unweighted.
        n_jets_all = int(ak.sum(ak.num(events[o.jet_collection].PT)))
        out["cutflow"] = {
            "events": {"raw": len(events), "weighted": float(len(events))},
            "events_selected": {"raw": int(event_mask.sum()), "weighted": float(event_mask.sum())},
            "jets": {"raw": n_jets_all, "weighted": float(n_jets_all)},
            "jets_selected": {"raw": len(flat_jets), "weighted": float(len(flat_jets))},
        }
        if o.store_columns:
            n_per_event = ak.to_numpy(ak.num(jets.pt))
            constituents_per_jet = self.constituents(sel, jets, track_name)
            track_feats, track_mask = padded(jet_tracks(), TRACK_FEATURES, o.max_tracks)
            cons_feats, cons_mask = padded(constituents_per_jet, CONSTITUENT_FEATURES,
                                           o.max_constituents)
            chunk = {
                "dataset": dataset,
                "file": filename,
                "entry_start": entry_start,
                "entry_stop": int(events.metadata.get("entrystop", entry_start + len(events))),
                "role": events.metadata.get("role"),
                "sample_mass_GeV": _sample_mass_of(events.metadata),
                "entry": np.repeat(entries, n_per_event),
                "jet_index": ak.to_numpy(flat_jets.index).astype(np.int32),
                "jet_features": np.stack([ak.to_numpy(flat_jets[f]) for f in JET_FEATURES],
                                         axis=1).astype(np.float32),
                "ghost_track_vars": matrix,
                "track_features": track_feats,
                "track_mask": track_mask,
                "constituent_features": cons_feats,
                "constituent_mask": cons_mask,
                "labels": labels.astype(np.int32),
                "targets": targets.astype(np.float64),
            }
            if self.columns_on_disk:
                from hzx.processors.columns import write_chunk

                out["columns"]["files"].append(write_chunk(o.columns_dir, chunk))
            else:
                out["columns"]["chunks"].append(chunk)
        out["metadata"]["track_collections"] = {track_name}

    def constituents(self, events: Any, jets: ak.Array, track_name: str) -> ak.Array:
        """Per-jet constituents ``[jet][object]``: particle-flow-like objects within ``r_assoc``
        of the jet axis, pT-ordered (Delphes's constituent references are not read)."""
        cands = constituent_candidates(events, track_name)
        pairs = ak.cartesian({"jet": jets, "c": cands}, axis=1, nested=True)
        dr = delta_r(pairs.c.eta, pairs.c.phi, pairs.jet.eta, pairs.jet.phi)
        inside = pairs.c[dr < self.options.r_assoc]
        inside = inside[ak.argsort(inside.pt, axis=-1, ascending=False, stable=True)]
        return ak.flatten(inside[:, :, : self.options.max_constituents], axis=1)


#: Fileset metadata keys of a signal sample's resonance mass (GeV), in order of preference.
SAMPLE_MASS_KEYS = ("signal_mass_GeV", "signal_mass", "mass_a", "mass")


def _sample_mass_of(metadata: Any) -> float:
    """The sample's resonance mass from its fileset metadata (NaN when none is given)."""
    for key in SAMPLE_MASS_KEYS:
        value = metadata.get(key) if metadata is not None else None
        if value is not None:
            return float(value)
    return math.nan


def constituent_candidates_for_ghosts(events: Any, options: TrackObservablesOptions) -> ak.Array:
    """Objects clustered with the ghosts: the particle-flow-like candidates of the event."""
    return constituent_candidates(events, choose_track_collection(events, options.track_collection))
