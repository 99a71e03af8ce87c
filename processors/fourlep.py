"""``FourLeptonProcessor``: the H → ZZ* → 4ℓ analysis of the 'How much Higgs?' notebook."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import awkward as ak
import hist
import numpy as np

from hzx.errors import ConfigurationError
from hzx.processors import backend
from hzx.processors import fourlep_selection as sel
from hzx.processors.atlas_objects import stored_leptons
from hzx.processors.base import HzxProcessor
from hzx.samples.normalisation import weight_from_metadata

#: Scale-factor branches multiplied into the weight of simulated events (as the notebook).
SCALE_FACTORS = ("scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON",
                 "scaleFactor_LepTRIGGER")


@dataclasses.dataclass(frozen=True)
class FourLeptonOptions:
    """Options of the 4-lepton selection; defaults reproduce the notebook exactly.

    Attributes
    ----------
    lead_pt_min_gev, pt_min_gev : float
        Leading-lepton and every-lepton pT thresholds (strict >), GeV.
    eta_max : float
        Every lepton |η| < eta_max.
    ptcone30_max : float
        Track isolation: max over leptons of ptcone30/pT < this.
    apply_etcone20_isolation : bool
        Also require max etcone20/pT < ``etcone20_max`` — the notebook computes it but never
        applies it (off by default to reproduce the notebook).
    etcone20_max : float
    require_trigger : bool
        Require ``trigE or trigM`` — computed but not applied by the notebook (off by default).
    m4l_bins, m4l_min_gev, m4l_max_gev
        Binning of the m4ℓ histogram (the notebook: 34 bins, 80–250 GeV).
    lumi_fb : float or None
        Luminosity for simulated samples in fb⁻¹; ``None`` takes the fileset metadata's.
    systematics : bool
        Fill ``m4l_syst`` with the systematic variations of :data:`VARIATIONS` (simulation only;
        the nominal histograms do not change).
    sf_electron_rel, sf_muon_rel : float
        Relative uncertainty of each electron's / muon's efficiency scale factor: the
        ``lep_sf_up/down`` weights are ``(1 ± δ_e)^{n_e} (1 ± δ_μ)^{n_μ}`` (the mini trees carry
        no scale-factor uncertainties; these are assumed, typical Run-2 sizes).
    scale_electron_rel, scale_muon_rel : float
        Relative electron / muon energy-momentum scale shifts of ``lep_scale_up/down``: every
        lepton's pT and E are scaled and the whole selection is redone (a shape variation).
    lumi_rel : float
        Relative luminosity uncertainty (``lumi_up/down``, all simulated samples alike).
    xsec_rel : float
        Relative cross-section uncertainty of each simulated sample (``xsec_up/down``) when the
        fileset metadata has no ``xsec_rel``.
    """

    lead_pt_min_gev: float = 20.0
    pt_min_gev: float = 7.0
    eta_max: float = 2.5
    ptcone30_max: float = 0.3
    apply_etcone20_isolation: bool = False
    etcone20_max: float = 0.3
    require_trigger: bool = False
    m4l_bins: int = 34
    m4l_min_gev: float = 80.0
    m4l_max_gev: float = 250.0
    lumi_fb: float | None = None
    systematics: bool = True
    sf_electron_rel: float = 0.02
    sf_muon_rel: float = 0.01
    scale_electron_rel: float = 0.005
    scale_muon_rel: float = 0.003
    lumi_rel: float = 0.017
    xsec_rel: float = 0.05

    def __post_init__(self) -> None:
        if self.m4l_bins < 1 or not self.m4l_min_gev < self.m4l_max_gev:
            raise ConfigurationError(
                f"wrong m4l binning: {self.m4l_bins} bins from {self.m4l_min_gev} to "
                f"{self.m4l_max_gev} GeV (need ≥ 1 bin and min < max)"
            )
        if self.lumi_fb is not None and not self.lumi_fb > 0:
            raise ConfigurationError(f"lumi_fb must be > 0, got {self.lumi_fb}")
        for name in ("sf_electron_rel", "sf_muon_rel", "scale_electron_rel", "scale_muon_rel",
                     "lumi_rel", "xsec_rel"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigurationError(f"{name} must be in [0, 1), got {value}")

    @property
    def cut_names(self) -> tuple[str, ...]:
        """Cutflow entries, in the order the cuts are applied."""
        cuts = ["all", "lepton_kinematics", "lepton_flavour", "ptcone30_isolation"]
        if self.apply_etcone20_isolation:
            cuts.append("etcone20_isolation")
        cuts += ["four_leptons", "charge_sum_zero"]
        if self.require_trigger:
            cuts.append("trigger")
        cuts.append("m4l_window")
        return tuple(cuts)


#: Entries of the ``syst`` axis of ``m4l_syst``: the nominal, then up/down pairs.
VARIATIONS = ("nominal", "lep_sf_up", "lep_sf_down", "lep_scale_up", "lep_scale_down",
              "lumi_up", "lumi_down", "xsec_up", "xsec_down")

#: Shape variations (histosys in a likelihood) and pure normalisation ones (normsys).
SHAPE_SYSTEMATICS = ("lep_sf", "lep_scale")
NORM_SYSTEMATICS = ("lumi", "xsec")


def sf_variation_weights(n_electrons: np.ndarray, n_muons: np.ndarray, electron_rel: float,
                         muon_rel: float) -> np.ndarray:
    """Per event (1 + δ_e)^{n_e} (1 + δ_μ)^{n_μ}: a coherent shift of every lepton's
    efficiency scale factor (negative δ for the down variation)."""
    return (1.0 + electron_rel) ** n_electrons.astype(np.int64) \
        * (1.0 + muon_rel) ** n_muons.astype(np.int64)


def _lists_of_passed(n_events: int, index: np.ndarray, fields: dict[str, np.ndarray]
                     ) -> ak.Array:
    """Per event a list holding one record (``fields``, given for the events ``index`` only,
    increasing) for those events, none elsewhere: the compact form of "these values, for the
    passed events" that flattens back to the records on either backend."""
    offsets = sel.offsets_of_index(n_events, index)
    n = len(index)
    record = ak.contents.RecordArray(
        [ak.contents.NumpyArray(np.ascontiguousarray(v)) for v in fields.values()],
        list(fields), length=n)
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), record))


class FourLeptonProcessor(HzxProcessor):
    """Four-lepton selection, weights and histograms per dataset.

    Output per dataset:

    ``m4l``
        ``hist.Hist`` of m4ℓ (axis ``m4l``, GeV; Weight storage), events passing all cuts.
    ``m4l_channel``
        the same split by channel (axis ``channel``: 4e, 2e2mu, 4mu).
    ``lepton_pt``, ``lepton_eta``
        kinematics of the four leptons of selected events (any m4ℓ), axis ``rank`` 0–3 by
        position in the event's lepton list.
    ``m4l_syst``
        m4ℓ per systematic variation (axis ``syst``: :data:`VARIATIONS`, then ``m4l``); the
        ``nominal`` entry equals ``m4l``. Simulated datasets fill every variation; data only the
        nominal (with ``systematics=False`` the histogram is absent).
    ``cutflow``
        ``{cut: {"raw": int, "weighted": float}}`` cumulative, in the order of
        :attr:`FourLeptonOptions.cut_names`.
    ``metadata``
        role, events read, chunks, entries per file (skipped files are added by the runner).
    """

    options_class = FourLeptonOptions
    dask_awkward_ready = True
    #: decompressed bytes of its branches per automatic chunk (hzx.runner.auto_chunksize): its
    #: per-event work allocates about half as much again, so a chunk of 512 MiB peaks near 1 GB
    chunk_bytes = 512 * 2**20

    # -- framework contract ------------------------------------------------------------------
    def required_branches(self) -> tuple[str, ...]:
        branches = ["lep_pt", "lep_eta", "lep_phi", "lep_E", "lep_charge", "lep_type",
                    "lep_ptcone30", "mcWeight", *SCALE_FACTORS]
        if self.options.apply_etcone20_isolation:
            branches.append("lep_etcone20")
        if self.options.require_trigger:
            branches += ["trigE", "trigM"]
        return tuple(branches)

    def preload_branches(self, role: str | None) -> tuple[str, ...]:
        """Every branch :meth:`event_table` reads for ``role`` (data: no weights): each chunk
        reads them all, so they are read in bulk."""
        branches = self.required_branches()
        if role == "data":
            weights = {"mcWeight", *SCALE_FACTORS}
            branches = tuple(b for b in branches if b not in weights)
        return branches

    def validate_metadata(self, dataset: str, metadata: dict[str, Any]) -> None:
        """Before the run: a simulated dataset must carry what its normalisation needs."""
        if (metadata.get("role") or self.infer_role(dataset)) != "data":
            meta = dict(metadata)
            if self.options.lumi_fb is not None:
                meta["lumi_fb"] = self.options.lumi_fb
            weight_from_metadata(meta, dataset)

    def _histograms(self) -> dict[str, hist.Hist]:
        o = self.options
        m4l_axis = hist.axis.Regular(o.m4l_bins, o.m4l_min_gev, o.m4l_max_gev, name="m4l",
                                     label=r"$m_{4\ell}$ [GeV]")
        rank = hist.axis.Integer(0, 4, name="rank", label="lepton index")
        return {
            "m4l": hist.Hist(m4l_axis, storage=hist.storage.Weight()),
            **({"m4l_syst": hist.Hist(
                hist.axis.StrCategory(list(VARIATIONS), name="syst", label="variation"),
                m4l_axis, storage=hist.storage.Weight())} if o.systematics else {}),
            "m4l_channel": hist.Hist(
                hist.axis.StrCategory(list(sel.CHANNELS.values()), name="channel",
                                      label="channel"),
                m4l_axis, storage=hist.storage.Weight()),
            "lepton_pt": hist.Hist(rank, hist.axis.Regular(50, 0, 250, name="pt",
                                                           label=r"lepton $p_T$ [GeV]"),
                                   storage=hist.storage.Weight()),
            "lepton_eta": hist.Hist(rank, hist.axis.Regular(50, -2.5, 2.5, name="eta",
                                                            label=r"lepton $\eta$"),
                                    storage=hist.storage.Weight()),
        }

    def infer_role(self, dataset: str) -> str:
        """The notebook's name rule: ``data`` in the name → data, ``H125`` → signal, any other
        → background."""
        if "data" in dataset:
            return "data"
        return "signal" if "H125" in dataset else "background"

    def accumulator(self, dataset: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **self._histograms(),
            "cutflow": {cut: {"raw": 0, "weighted": 0.0} for cut in self.options.cut_names},
        }

    # -- the analysis --------------------------------------------------------------------------
    def event_weights(self, events: ak.Array, dataset: str, role: str,
                      metadata: Mapping[str, Any] | None = None) -> np.ndarray:
        """1 for data; lumi·1000·xsec/(sumw·red_eff)·mcWeight·Π scale factors for simulation.

        ``metadata``: the dataset's (``events.metadata`` when not given).
        """
        if role == "data":
            return np.ones(len(events))
        meta = dict(events.metadata if metadata is None else metadata)
        if self.options.lumi_fb is not None:
            meta["lumi_fb"] = self.options.lumi_fb
        weight = np.full(len(events), weight_from_metadata(meta, dataset))
        weight = weight * ak.to_numpy(events.mcWeight).astype(np.float64)
        for name in SCALE_FACTORS:
            weight = weight * ak.to_numpy(events[name]).astype(np.float64)
        return weight

    def event_fields(self, role: str | None = None) -> tuple[tuple[str, ...], ...]:
        """The NanoEvents fields :meth:`event_table` reads for a dataset of ``role`` (the
        dask-awkward backend reads only their branches; data reads no weights)."""
        o = self.options
        lepton = ["pt", "eta", "phi", "energy", "charge", "type", "ptcone30"]
        if o.apply_etcone20_isolation:
            lepton.append("etcone20")
        fields = [("Lepton", name) for name in lepton]
        if role != "data":
            fields += [("mcWeight",), *((name,) for name in SCALE_FACTORS)]
        if o.require_trigger:
            fields += [("trigE",), ("trigM",)]
        return tuple(fields)

    def event_table(self, events: ak.Array, metadata: Mapping[str, Any]) -> ak.Array:
        """Per event, everything the histograms and the cutflow need (the compiled selection
        runs here, on a concrete chunk or partition): ``weight`` (simulation only); ``level``, how many cuts
        after ``all`` the event passes in a row (:func:`~hzx.processors.fourlep_selection.
        select_events`); ``selected``, a list with one record for events passing every event
        cut (``m4l`` GeV, ``weight`` for simulation, ``channel`` 0/1/2 for 4e/2e2mu/4mu, ``pt0``…``pt3``
        and ``eta0``…``eta3`` of the first four leptons, with systematics ``sf_up``/
        ``sf_down`` weight factors), empty elsewhere; with systematics ``scale_up``/
        ``scale_down``, the same lists of (``m4l``, ``weight``) after the lepton-scale shift."""
        o = self.options
        dataset = metadata["dataset"]
        role = metadata.get("role") or self.infer_role(dataset)
        leptons = stored_leptons(events, with_etcone20=o.apply_etcone20_isolation)
        # data: no weights at all (every event counts 1; Weight-storage fills without weights
        # give the same sums and variances), so nothing per event is allocated for them
        weights = None if role == "data" else self.event_weights(events, dataset, role, metadata)
        trigger = (sel.trigger(events.trigE, events.trigM) if o.require_trigger else None)
        nominal = sel.select_events(leptons, o, trigger)
        index = nominal.index
        selected = {"m4l": nominal.m4l, "channel": nominal.channel}
        if weights is not None:
            selected["weight"] = weights[index]
        for rank in range(4):
            selected[f"pt{rank}"] = nominal.lead_pt[rank]
            selected[f"eta{rank}"] = nominal.lead_eta[rank]
        columns: dict[str, Any] = {"level": nominal.level}
        if weights is not None:
            columns["weight"] = weights
        if o.systematics and role != "data":
            for sign, suffix in ((1.0, "up"), (-1.0, "down")):
                selected[f"sf_{suffix}"] = sf_variation_weights(
                    nominal.n_electrons, nominal.n_muons, sign * o.sf_electron_rel,
                    sign * o.sf_muon_rel)
                shifted = sel.select_events(leptons, o, trigger, sign * o.scale_electron_rel,
                                            sign * o.scale_muon_rel)
                columns[f"scale_{suffix}"] = _lists_of_passed(
                    len(events), shifted.index,
                    {"m4l": shifted.m4l, "weight": weights[shifted.index]})
        columns["selected"] = _lists_of_passed(len(events), index, selected)
        return ak.zip(columns, depth_limit=1)

    def fill(self, events: ak.Array, out: dict[str, Any], metadata: Mapping[str, Any]) -> None:
        # one code path for an eager chunk and a dask-awkward collection: the per-event table
        # (compiled kernels), then fills and sums that take either (hzx.processors.backend)
        o = self.options
        role = metadata.get("role") or self.infer_role(metadata["dataset"])
        table = backend.per_event(self.event_table, events, dict(metadata),
                                  touch=self.event_fields(role))
        weighted = role != "data"
        flow = backend.cutflow(table.level, table.weight if weighted else None,
                               len(o.cut_names) - 1)
        out["cutflow"].update({name: {"raw": raw, "weighted": weighted}
                               for name, (raw, weighted) in zip(o.cut_names, flow,
                                                                strict=True)})

        p = backend.flatten(table.selected)
        w = p.weight if weighted else None
        backend.fill(out["m4l"], m4l=p.m4l, weight=w)
        for i, name in enumerate(sel.CHANNELS.values()):
            # the two fields it fills, not the record of every field
            in_channel = p.channel == i
            backend.fill(out["m4l_channel"], channel=name, m4l=p.m4l[in_channel],
                         weight=w[in_channel] if weighted else None)
        for rank in range(4):
            backend.fill(out["lepton_pt"], rank=rank, pt=p[f"pt{rank}"], weight=w)
            backend.fill(out["lepton_eta"], rank=rank, eta=p[f"eta{rank}"], weight=w)
        if o.systematics:
            self._fill_variations(out["m4l_syst"], table, p, role, metadata)

    def _fill_variations(self, h: Any, table: Any, p: Any, role: str,
                         metadata: Mapping[str, Any]) -> None:
        o = self.options
        if role == "data":
            backend.fill(h, syst="nominal", m4l=p.m4l)
            return
        backend.fill(h, syst="nominal", m4l=p.m4l, weight=p.weight)
        xsec_rel = float(metadata.get("xsec_rel") or o.xsec_rel)
        for sign, suffix in ((1.0, "up"), (-1.0, "down")):
            backend.fill(h, syst=f"lep_sf_{suffix}", m4l=p.m4l, weight=p.weight * p[f"sf_{suffix}"])
            shifted = backend.flatten(table[f"scale_{suffix}"])
            backend.fill(h, syst=f"lep_scale_{suffix}", m4l=shifted.m4l, weight=shifted.weight)
            backend.fill(h, syst=f"lumi_{suffix}", m4l=p.m4l,
                         weight=p.weight * (1.0 + sign * o.lumi_rel))
            backend.fill(h, syst=f"xsec_{suffix}", m4l=p.m4l,
                         weight=p.weight * (1.0 + sign * xsec_rel))
