"""HZa2018: the H → Z(ℓℓ) a(→ hadrons) selection of the study, columnar (``hza2018-selection.md``).

Physics in pure functions on awkward arrays (:func:`select_objects`, :func:`z_candidate`,
:func:`hza2018_selection`); :class:`HZa2018Processor` only wires them to Delphes events and fills
the spec's histograms and the cutflow. Energies and momenta in GeV. Leptons are treated as
massless (Delphes stores no lepton mass); jets carry their Delphes mass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import awkward as ak
import hist
import numpy as np
from coffea.analysis_tools import PackedSelection

from hzx.errors import ConfigurationError
from hzx.processors import backend
from hzx.processors.base import HzxProcessor
from hzx.processors.delphes import require_collections, to_float64
from hzx.processors.kinematics import four_momentum, invariant_mass

Z_MASS = 91.1876  # GeV, the study's reference mass for the Z candidate

#: Cutflow steps in order; ``Inclusive`` and ``SR`` are the study's regions.
CUTS = ("Inclusive", "two_leptons", "z_candidate", "z_mass_window", "z_lepton_pt", "one_jet",
        "mllj_window", "SR")

#: Histograms of the spec: name → (bins, low, high, axis label).
HISTOGRAMS = {
    "hist_muon_pt": (100, 0.0, 500.0, r"muon $p_T$ [GeV]"),
    "hist_electron_pt": (100, 0.0, 500.0, r"electron $p_T$ [GeV]"),
    "hist_z_mass": (60, 60.0, 120.0, r"$m_{\ell\ell}$ [GeV]"),
    "hist_jet1pt": (100, 0.0, 2000.0, r"leading jet $p_T$ [GeV]"),
    "hist_jet2pt": (100, 0.0, 2000.0, r"second jet $p_T$ [GeV]"),
    "hist_jet3pt": (100, 0.0, 2000.0, r"third jet $p_T$ [GeV]"),
    "hist_jet4pt": (100, 0.0, 2000.0, r"fourth jet $p_T$ [GeV]"),
    "hist_mllj": (100, 0.0, 300.0, r"$m_{\ell\ell j}$ [GeV]"),
    "hist_jet1mass": (40, 0.0, 20.0, r"leading jet mass [GeV]"),
}

Z_MODES = ("study", "closest")


@dataclasses.dataclass(frozen=True)
class HZa2018Options:
    """Options of the HZa2018 selection; defaults are the study's (GeV).

    Attributes
    ----------
    z_candidate : {"study", "closest"}
        ``study``: an opposite-charge electron pair, if any exists, is the candidate (closest to
        m_Z among electron pairs) and muon pairs are ignored; ``closest``: the opposite-charge
        same-flavour pair closest to m_Z over both flavours (the evident intention).
    jet_pt_min, jet_abs_eta_max, muon_pt_min, muon_abs_eta_max, electron_pt_min,
    electron_abs_eta_max : float
        Object selection.
    mll_min, mll_max : float
        Z-mass window (inclusive edges: the study rejects < 81 and > 101).
    z_lepton_pt_min : float
        Minimum of the larger Z-lepton pT (the study rejects < 27).
    mllj_min, mllj_max : float
        Window of the Z + leading-jet mass (the study rejects < 50 and > 250).
    use_event_weight : bool
        Weight events by ``Event.Weight`` (default: unit weights, as SimpleAnalysis counts).
    """

    z_candidate: str = "study"
    jet_pt_min: float = 20.0
    jet_abs_eta_max: float = 2.5
    muon_pt_min: float = 18.0
    muon_abs_eta_max: float = 2.7
    electron_pt_min: float = 18.0
    electron_abs_eta_max: float = 2.47
    mll_min: float = 81.0
    mll_max: float = 101.0
    z_lepton_pt_min: float = 27.0
    mllj_min: float = 50.0
    mllj_max: float = 250.0
    use_event_weight: bool = False

    def __post_init__(self) -> None:
        if self.z_candidate not in Z_MODES:
            raise ConfigurationError(
                f"z_candidate must be one of {', '.join(Z_MODES)}, got {self.z_candidate!r}"
            )


# ---------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------


def select_objects(collection: ak.Array, pt_min: float, abs_eta_max: float,
                   with_mass: bool = False) -> ak.Array:
    """Objects with pT > pt_min and |η| < abs_eta_max as float64 records, ordered by pT (stable).

    Fields: ``pt, eta, phi, mass`` (mass 0 unless ``with_mass``), ``charge`` where present.
    """
    fields = ak.fields(collection)
    record = {
        "pt": to_float64(collection["PT"]),
        "eta": to_float64(collection["Eta"]),
        "phi": to_float64(collection["Phi"]),
    }
    record["mass"] = to_float64(collection["Mass"]) if with_mass else ak.zeros_like(record["pt"])
    if "Charge" in fields:
        record["charge"] = collection["Charge"]
    objects = ak.zip(record)
    objects = objects[(objects.pt > pt_min) & (np.abs(objects.eta) < abs_eta_max)]
    return objects[ak.argsort(objects.pt, axis=1, ascending=False, stable=True)]


def best_opposite_charge_pair(leptons: ak.Array) -> ak.Array:
    """Per event, the opposite-charge pair with mass closest to m_Z (None when there is none).

    Pairs in ``ak.combinations`` order; of equally close pairs the first wins. Fields: ``mass``,
    ``pt1``, ``pt2`` and the pair's ``px, py, pz, e`` (massless leptons).
    """
    a, b = ak.unzip(ak.combinations(leptons, 2, axis=1))
    opposite = a.charge * b.charge < 0
    a, b = a[opposite], b[opposite]
    ax, ay, az, ae = four_momentum(a.pt, a.eta, a.phi, 0.0)
    bx, by, bz, be = four_momentum(b.pt, b.eta, b.phi, 0.0)
    px, py, pz, e = ax + bx, ay + by, az + bz, ae + be
    pairs = ak.zip({"mass": invariant_mass(px, py, pz, e), "pt1": a.pt, "pt2": b.pt,
                    "px": px, "py": py, "pz": pz, "e": e})
    best = ak.argmin(np.abs(pairs.mass - Z_MASS), axis=1, keepdims=True)
    return ak.firsts(pairs[best], axis=1)


def z_candidate(electrons: ak.Array, muons: ak.Array, mode: str = "study") -> ak.Array:
    """The Z candidate of each event (None where no opposite-charge same-flavour pair exists).

    ``mode="study"``: the best electron pair whenever one exists, else the best muon pair;
    ``mode="closest"``: the better of the two by |m − m_Z| (electrons win exact ties).
    """
    ee = best_opposite_charge_pair(electrons)
    mm = best_opposite_charge_pair(muons)
    has_ee = ~ak.is_none(ee)
    has_mm = ~ak.is_none(mm)
    if mode == "study":
        use_ee = has_ee
    elif mode == "closest":
        d_ee = ak.fill_none(np.abs(ee.mass - Z_MASS), np.inf)
        d_mm = ak.fill_none(np.abs(mm.mass - Z_MASS), np.inf)
        use_ee = has_ee & ~(has_mm & (d_mm < d_ee))
    else:
        raise ConfigurationError(f"unknown z_candidate mode {mode!r}")
    return ak.where(use_ee, ee, mm)


def hza2018_selection(jets: ak.Array, muons: ak.Array, electrons: ak.Array,
                      options: HZa2018Options) -> dict[str, Any]:
    """Apply HZa2018 to raw Delphes ``Jet``, ``Muon``, ``Electron`` collections (per event).

    Returns ``{"selection": PackedSelection of the cuts of :data:`CUTS` (each on its own),
    "cuts": {cut: bool mask (cumulative)}, "jets", "muons", "electrons", "z", "mllj", "mll"}`` —
    selected objects, Z candidate (None-able), m_ℓℓ and m_ℓℓj (GeV, NaN where undefined).
    """
    o = options
    jets = select_objects(jets, o.jet_pt_min, o.jet_abs_eta_max, with_mass=True)
    muons = select_objects(muons, o.muon_pt_min, o.muon_abs_eta_max)
    electrons = select_objects(electrons, o.electron_pt_min, o.electron_abs_eta_max)
    n = len(jets)
    z = z_candidate(electrons, muons, o.z_candidate)
    mll = ak.to_numpy(ak.fill_none(z.mass, np.nan))
    lead_lep = ak.to_numpy(ak.fill_none(np.maximum(z.pt1, z.pt2), np.nan))
    j1 = ak.firsts(jets, axis=1)
    jx, jy, jz, je = four_momentum(j1.pt, j1.eta, j1.phi, j1.mass)
    mllj = invariant_mass(z.px + jx, z.py + jy, z.pz + jz, z.e + je)
    mllj = ak.to_numpy(ak.fill_none(mllj, np.nan))

    selection = PackedSelection()
    selection.add("Inclusive", np.ones(n, dtype=bool))
    selection.add("two_leptons", ak.to_numpy((ak.num(muons) >= 2) | (ak.num(electrons) >= 2)))
    selection.add("z_candidate", ~np.isnan(mll))
    with np.errstate(invalid="ignore"):  # NaN (no candidate, no jet) fails every comparison
        selection.add("z_mass_window", (mll >= o.mll_min) & (mll <= o.mll_max))
        selection.add("z_lepton_pt", lead_lep >= o.z_lepton_pt_min)
        selection.add("one_jet", ak.to_numpy(ak.num(jets) >= 1))
        selection.add("mllj_window", (mllj >= o.mllj_min) & (mllj <= o.mllj_max))
    selection.add("SR", np.ones(n, dtype=bool))  # the study's NN-score placeholder would go here
    cuts = {cut: selection.all(*CUTS[:i + 1]) for i, cut in enumerate(CUTS)}
    return {"selection": selection, "cuts": cuts, "jets": jets, "muons": muons,
            "electrons": electrons, "z": z, "mllj": mllj, "mll": mll}


# ---------------------------------------------------------------------------------------------
# Processor
# ---------------------------------------------------------------------------------------------


def _new_histogram(name: str) -> hist.Hist:
    bins, low, high, label = HISTOGRAMS[name]
    return hist.Hist(hist.axis.Regular(bins, low, high, name="x", label=label),
                     storage=hist.storage.Weight(), name=name)


class HZa2018Processor(HzxProcessor):
    """HZa2018 on Delphes events: the spec's histograms and cutflow per dataset."""

    options_class = HZa2018Options
    dask_awkward_ready = True

    def required_branches(self) -> tuple[str, ...]:
        """Branches every input needs: jet, muon and electron kinematics (and charges)."""
        out = [f"Jet/Jet.{f}" for f in ("PT", "Eta", "Phi", "Mass")]
        for c in ("Muon", "Electron"):
            out += [f"{c}/{c}.{f}" for f in ("PT", "Eta", "Phi", "Charge")]
        if self.options.use_event_weight:
            out.append("Event/Event.Weight")
        return tuple(out)

    def accumulator(self, dataset: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {name: _new_histogram(name) for name in HISTOGRAMS}
        out["cutflow"] = {cut: {"raw": 0, "weighted": 0.0, "sumw2": 0.0} for cut in CUTS}
        out["entries"] = {name: 0 for name in HISTOGRAMS}  # fills per histogram (a TH1's fEntries)
        return out

    def event_fields(self) -> tuple[tuple[str, ...], ...]:
        """The NanoEvents fields :meth:`event_table` reads (the dask-awkward backend reads
        only their branches)."""
        fields = [("Jet", f) for f in ("PT", "Eta", "Phi", "Mass")]
        for c in ("Muon", "Electron"):
            fields += [(c, f) for f in ("PT", "Eta", "Phi", "Charge")]
        if self.options.use_event_weight:
            fields.append(("Event", "Weight"))
        return tuple(fields)

    def event_table(self, events: Any, metadata: Mapping[str, Any]) -> ak.Array:
        """Per event: ``weight``; ``cut_<cut>`` cumulative masks of :data:`CUTS`; ``mll``,
        ``mllj`` (GeV, NaN where undefined); ``jet1pt``…``jet4pt`` and ``jet1mass`` of the
        selected jets (NaN where absent); the selected muons' and electrons' pT as jagged
        ``muon_pt``/``electron_pt`` with the event weight beside each (``muon_w``,
        ``electron_w``)."""
        n = len(events)
        if self.options.use_event_weight:
            raw = events.Event.Weight  # DelphesSchema flattens the one-entry Event collection
            raw = ak.firsts(raw, axis=1) if raw.ndim > 1 else raw
            weight = ak.to_numpy(to_float64(raw))
        else:
            weight = np.ones(n)
        sel = hza2018_selection(events.Jet, events.Muon, events.Electron, self.options)
        columns: dict[str, Any] = {"weight": weight}
        for cut in CUTS:
            columns[f"cut_{cut}"] = np.asarray(sel["cuts"][cut])
        columns["mll"], columns["mllj"] = sel["mll"], sel["mllj"]
        jets = sel["jets"]
        for i in range(4):
            columns[f"jet{i + 1}pt"] = ak.to_numpy(
                ak.fill_none(ak.pad_none(jets.pt, i + 1, axis=1)[:, i], np.nan))
        columns["jet1mass"] = ak.to_numpy(ak.fill_none(ak.firsts(jets.mass, axis=1), np.nan))
        for name in ("muon", "electron"):
            pt = sel[f"{name}s"].pt
            columns[f"{name}_pt"] = pt
            columns[f"{name}_w"] = ak.broadcast_arrays(weight, pt)[0]
        return ak.zip(columns, depth_limit=1)

    def fill(self, events: Any, out: dict[str, Any], metadata: Mapping[str, Any]) -> None:
        # one code path for an eager chunk and a dask-awkward collection: the per-event table,
        # then fills and sums that take either (hzx.processors.backend)
        require_collections(events, ("Jet", "Muon", "Electron"), "the HZa2018 selection")
        table = backend.per_event(self.event_table, events, dict(metadata),
                                  touch=self.event_fields())
        for cut in CUTS:
            passed = table[table[f"cut_{cut}"]]
            out["cutflow"][cut] = {"raw": backend.count_events(passed),
                                   "weighted": backend.total(passed.weight),
                                   "sumw2": backend.total(passed.weight ** 2)}

        def fill(name: str, x: Any, w: Any) -> None:
            out[name].fill(x=x, weight=w)
            out["entries"][name] = backend.count_events(x)

        for name in ("muon", "electron"):
            fill(f"hist_{name}_pt", backend.flatten(table[f"{name}_pt"]),
                 backend.flatten(table[f"{name}_w"]))
        z = table[table.cut_z_lepton_pt]
        fill("hist_z_mass", z.mll, z.weight)
        with_jet = table[table.cut_one_jet]
        for i in range(4):
            ith = with_jet[~np.isnan(with_jet[f"jet{i + 1}pt"])]
            fill(f"hist_jet{i + 1}pt", ith[f"jet{i + 1}pt"], ith.weight)
        signal = table[table.cut_SR]
        fill("hist_mllj", signal.mllj, signal.weight)
        fill("hist_jet1mass", signal.jet1mass, signal.weight)
