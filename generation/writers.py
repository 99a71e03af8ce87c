"""Writers: Delphes-layout ROOT files, ATLAS Open Data ``mini`` trees and HepMC3.

Delphes layout: tree ``Delphes``; per collection a counter ``<Name>_size`` (int32) and one branch
per field with Delphes's field names, float32 / int32 as Delphes writes them. Real Delphes files
hold each collection as a split ``TBranchElement`` ``<Name>`` whose sub-branches (leaves) are
``<Name>.<Field>``: uproot finds them as ``tree["Jet.PT"]`` (by leaf name) and as
``tree["Jet/Jet.PT"]`` (full path), and coffea's ``DelphesSchema`` groups them by the full path.
uproot can only *write* flat ``TBranch`` lists (every branch's sub-branch list is empty), so a
written file has one of the two spellings, chosen by ``layout`` (:data:`DELPHES_LAYOUTS`):

``"study"`` (default)
    branches ``Jet.PT``: ``tree["Jet.PT"]``, ``"Jet.PT" in tree`` (the pheno study's converter and
    plain uproot code) and hzx's :class:`~hzx.processors.delphes.HzxDelphesSchema` read them;
    coffea's stock ``DelphesSchema`` does not (it takes the collection name from before a ``/``).
``"coffea"``
    branches literally named ``Jet/Jet.PT``: coffea's stock ``DelphesSchema`` and hzx read them,
    ``tree["Jet/Jet.PT"]`` works, ``tree["Jet.PT"]`` does not.

No ``TRef`` cross-references are written (``Track.Particle``, ``Jet.Constituents`` …); truth
links are in ``Particle.M1/M2/D1/D2`` (0-based, −1 for none).

Mini trees: the branch names and element types of the ATLAS Open Data 2020 4lep files, momenta
and energies in MeV. uproot cannot write ``std::vector`` branches or unsigned counters, so
jagged branches are counted arrays (``float[]``) whose counters are ``lep_n``, ``jet_n``,
``photon_n``, ``tau_n``, ``largeRjet_n`` (int32 instead of uint32); values and element types
match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hzx.processors import kinematics as kin

MEV = 1000.0  # MeV per GeV

#: Delphes-layout spellings of a collection's field branches: layout → what it is read by.
DELPHES_LAYOUTS: dict[str, str] = {
    "study": "branches <C>.<Field>: tree['Jet.PT'] (the study's converter, uproot) and hzx",
    "coffea": "branches <C>/<C>.<Field>: coffea's stock DelphesSchema and hzx",
}
DEFAULT_DELPHES_LAYOUT = "study"


def delphes_branch_name(collection: str, field: str, layout: str = DEFAULT_DELPHES_LAYOUT) -> str:
    """The name of the branch of ``field`` of ``collection`` in a file written with ``layout``."""
    if layout == "study":
        return f"{collection}.{field}"
    if layout == "coffea":
        return f"{collection}/{collection}.{field}"
    raise ValueError(f"unknown Delphes layout {layout!r}; choose one of {', '.join(DELPHES_LAYOUTS)}")


def _jagged(counts: np.ndarray, fields: dict[str, np.ndarray]) -> Any:
    import awkward as ak

    def cast(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v)
        if v.dtype.kind == "f":
            return v.astype(np.float32)
        if v.dtype.kind == "b":
            return v.astype(np.bool_)
        if v.dtype == np.uint32:
            return v
        return v.astype(np.int32)

    return ak.unflatten(ak.zip({k: cast(v) for k, v in fields.items()}, depth_limit=1), counts)


def particle_collection(truth: Any) -> dict[str, Any]:
    """Delphes ``Particle`` fields from the truth record (GeV, mm)."""
    from hzx.generation.fastsim import kinematics

    f = truth.fields
    pt, eta, phi = kinematics(f["Px"], f["Py"], f["Pz"])
    p = np.sqrt(f["Px"] ** 2 + f["Py"] ** 2 + f["Pz"] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rap = np.where(f["E"] > np.abs(f["Pz"]),
                       0.5 * np.log((f["E"] + f["Pz"]) / np.maximum(f["E"] - f["Pz"], 1e-300)),
                       np.copysign(999.9, f["Pz"]))
    n = len(pt)
    fields = {
        "PID": f["PID"], "Status": f["Status"], "IsPU": np.zeros(n, np.int32),
        "M1": f["M1"], "M2": f["M2"], "D1": f["D1"], "D2": f["D2"], "Charge": f["Charge"],
        "Mass": f["Mass"], "E": f["E"], "Px": f["Px"], "Py": f["Py"], "Pz": f["Pz"], "P": p,
        "PT": pt, "Eta": eta, "Phi": phi, "Rapidity": rap, "T": np.zeros(n),
        "X": f["X"], "Y": f["Y"], "Z": f["Z"],
    }
    return {"counts": truth.counts, "fields": fields}


def write_delphes(path: str | Path, truth: Any, sim: dict[str, Any], *, first_event: int,
                  cross_section_pb: float, layout: str = DEFAULT_DELPHES_LAYOUT) -> None:
    """Write one block as a Delphes-layout ROOT file (``layout``: :data:`DELPHES_LAYOUTS`)."""
    n = len(truth.counts)
    every = np.ones(n, dtype=np.int64)
    collections: dict[str, Any] = {
        "Event": {"counts": every, "fields": {
            "Number": np.arange(first_event, first_event + n, dtype=np.int64),
            "ProcessID": np.zeros(n, np.int32), "Weight": truth.weights,
            "CrossSection": np.full(n, cross_section_pb)}},
    }
    n_var = truth.variation_weights.shape[1]
    if n_var:
        w = np.concatenate([truth.weights[:, None], truth.variation_weights], axis=1)
        collections["Weight"] = {"counts": np.full(n, n_var + 1, np.int64), "fields": {
            "Weight": w.ravel(), "ID": np.tile(np.arange(n_var + 1, dtype=np.int32), n)}}
    collections["Particle"] = particle_collection(truth)
    for name, col in sim.items():
        if not name.startswith("_"):
            collections[name] = col
    import awkward as ak

    arrays = {name: _jagged(col["counts"], col["fields"]) for name, col in collections.items()}
    # Event.Number is int64 in Delphes
    arrays["Event"] = ak.with_field(arrays["Event"], ak.unflatten(
        collections["Event"]["fields"]["Number"].astype(np.int64), every), "Number")
    write_delphes_tree(path, arrays, layout=layout)


def write_delphes_tree(path: str | Path, collections: dict[str, Any],
                       layout: str = DEFAULT_DELPHES_LAYOUT) -> Path:
    """Write ``collections`` (name → jagged awkward record array, one list per event) as the
    ``Delphes`` tree of a new ROOT file at ``path``: counters ``<Name>_size`` and one branch per
    field, named as ``layout`` says (:func:`delphes_branch_name`), each field with the type it
    has in the arrays."""
    import uproot

    delphes_branch_name("Jet", "PT", layout)  # unknown layout: ValueError before any file
    with uproot.recreate(path) as out:
        out.mktree("Delphes", {k: v.type.content for k, v in collections.items()},
                   counter_name=lambda name: f"{name}_size",
                   field_name=lambda outer, inner: delphes_branch_name(outer, inner, layout),
                   title="Analysis tree")
        out["Delphes"].extend(collections)
    return Path(path)


def mini_arrays(truth: Any, sim: dict[str, Any], *, first_event: int, channel_number: int,
                xsec_pb: float, sumw: float) -> dict[str, Any]:
    """ATLAS Open Data 4lep ``mini`` branches (MeV) from the fast simulation of one block.

    Leptons: electrons (pT > 7 GeV, |η| < 2.47) and muons (pT > 5 GeV, |η| < 2.5) reconstructed
    by the fast simulation, before isolation; ``lep_ptcone30`` = Σ pT of other tracks with
    pT > 1 GeV in ΔR < 0.3, ``lep_etcone20`` = Σ ET of neutral energy-flow objects in ΔR < 0.2.
    Triggers: ``trigE`` = an electron with pT > 25 GeV or two with pT > 12 GeV; ``trigM`` = a
    muon with pT > 21 GeV or two with pT > 10 GeV. Jets: pT > 25 GeV, |η| < 2.5, ``jet_MV2c10``
    0.95 for b-tagged jets, 0.05 otherwise (the 77 % working point cuts at 0.6459).
    """
    n = len(truth.counts)
    lc = sim["_LeptonCandidates"]
    lf = lc["fields"]
    lep_evt = np.repeat(np.arange(n), lc["counts"])
    keep = np.where(lf["type"] == 11, (lf["PT"] > 7) & (np.abs(lf["Eta"]) < 2.47),
                    (lf["PT"] > 5) & (np.abs(lf["Eta"]) < 2.5))
    lep_evt = lep_evt[keep]
    L = {k: v[keep] for k, v in lf.items()}
    lep_counts = np.bincount(lep_evt, minlength=n)
    is_e, is_m = L["type"] == 11, L["type"] == 13
    e_pt = np.where(is_e, L["PT"], 0)
    m_pt = np.where(is_m, L["PT"], 0)
    trig_e = (np.bincount(lep_evt, e_pt > 25, minlength=n) >= 1) | \
        (np.bincount(lep_evt, e_pt > 12, minlength=n) >= 2)
    trig_m = (np.bincount(lep_evt, m_pt > 21, minlength=n) >= 1) | \
        (np.bincount(lep_evt, m_pt > 10, minlength=n) >= 2)
    nl = len(lep_evt)
    lep = {
        "truthMatched": np.ones(nl, np.bool_), "trigMatched": (e_pt > 25) | (m_pt > 21),
        "pt": L["PT"] * MEV, "eta": L["Eta"], "phi": L["Phi"], "E": L["E"] * MEV,
        "z0": L["DZ"], "charge": L["Charge"].astype(np.int32), "type": L["type"].astype(np.uint32),
        "isTightID": np.ones(nl, np.bool_), "ptcone30": L["ptcone30"] * MEV,
        "etcone20": L["etcone20"] * MEV, "trackd0pvunbiased": L["D0"],
        "tracksigd0pvunbiased": np.abs(L["D0"]) / L["ErrorD0"], "pt_syst": np.zeros(nl),
    }
    jc = sim["Jet"]
    jf = jc["fields"]
    jet_evt = np.repeat(np.arange(n), jc["counts"])
    jkeep = (jf["PT"] > 25) & (np.abs(jf["Eta"]) < 2.5)
    J = {k: v[jkeep] for k, v in jf.items()}
    jet_evt = jet_evt[jkeep]
    nj = len(jet_evt)
    jet_e = kin.energy(J["PT"], J["Eta"], J["Mass"])
    jet = {"pt": J["PT"] * MEV, "eta": J["Eta"], "phi": J["Phi"], "E": jet_e * MEV,
           "jvt": np.ones(nj), "trueflav": J["Flavor"].astype(np.int32),
           "truthMatched": np.ones(nj, np.bool_),
           "MV2c10": np.where(J["BTag"] > 0, 0.95, 0.05), "pt_syst": np.zeros(nj)}
    zeros_n = np.zeros(n, np.int64)

    def empty(fields: dict[str, Any]) -> dict[str, np.ndarray]:
        return {k: np.zeros(0, dtype=v) for k, v in fields.items()}

    photon = empty({"truthMatched": np.bool_, "trigMatched": np.bool_, "pt": np.float32,
                    "eta": np.float32, "phi": np.float32, "E": np.float32,
                    "isTightID": np.bool_, "ptcone30": np.float32, "etcone20": np.float32,
                    "convType": np.int32, "pt_syst": np.float32})
    tau = empty({"pt": np.float32, "eta": np.float32, "phi": np.float32, "E": np.float32,
                 "isTightID": np.bool_, "truthMatched": np.bool_, "trigMatched": np.bool_,
                 "nTracks": np.int32, "BDTid": np.float32, "pt_syst": np.float32,
                 "charge": np.int32})
    large = empty({"pt": np.float32, "eta": np.float32, "phi": np.float32, "E": np.float32,
                   "m": np.float32, "truthMatched": np.float32, "D2": np.float32,
                   "tau32": np.float32, "pt_syst": np.float32})
    f32 = np.float32
    met = sim["_MET"]
    scalars = {
        "runNumber": np.full(n, 284500, np.int32),
        "eventNumber": np.arange(first_event, first_event + n, dtype=np.int32),
        "channelNumber": np.full(n, channel_number, np.int32),
        "mcWeight": truth.weights.astype(f32),
        **{f"scaleFactor_{s}": np.ones(n, f32) for s in (
            "PILEUP", "ELE", "MUON", "PHOTON", "TAU", "BTAG", "LepTRIGGER", "PhotonTRIGGER")},
        "trigE": trig_e, "trigM": trig_m, "trigP": np.zeros(n, np.bool_),
        "met_et": (met["met"] * MEV).astype(f32), "met_phi": met["phi"].astype(f32),
        "ditau_m": np.zeros(n, f32), "met_et_syst": np.zeros(n, f32),
        "XSection": np.full(n, xsec_pb, f32), "SumWeights": np.full(n, sumw, f32),
    }
    return {"scalars": scalars,
            "groups": {"lep": (lep_counts, lep), "jet": (np.bincount(jet_evt, minlength=n), jet),
                       "photon": (zeros_n, photon), "tau": (zeros_n, tau),
                       "largeRjet": (zeros_n, large)}}


def write_mini(path: str | Path, arrays: dict[str, Any]) -> None:
    """Write :func:`mini_arrays` output as a ``mini`` tree."""
    import uproot

    data: dict[str, Any] = dict(arrays["scalars"])
    for name, (counts, fields) in arrays["groups"].items():
        data[name] = _jagged(np.asarray(counts), fields)
    types = {k: (v.type.content if hasattr(v, "type") else v.dtype) for k, v in data.items()}
    with uproot.recreate(path) as out:
        out.mktree("mini", types, counter_name=lambda name: f"{name}_n",
                   field_name=lambda outer, inner: f"{outer}_{inner}", title="4lep")
        out["mini"].extend(data)


def set_mini_normalisation(path: str | Path, xsec_pb: float, sumw: float) -> None:
    """Rewrite a mini file with the job's final ``XSection`` and ``SumWeights``."""
    import awkward as ak
    import uproot

    with uproot.open(path) as f:
        tree = f["mini"]
        raw = tree.arrays(library="ak")
        names = tree.keys()
    n = len(raw)
    scalars: dict[str, Any] = {}
    groups: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for name in names:
        if name.endswith("_n"):
            continue
        prefix = name.split("_")[0]
        if prefix in ("lep", "jet", "photon", "tau", "largeRjet") and f"{prefix}_n" in names:
            _counts, fields = groups.setdefault(prefix, (ak.to_numpy(raw[f"{prefix}_n"]), {}))
            fields[name[len(prefix) + 1:]] = ak.to_numpy(ak.flatten(raw[name]))
        else:
            scalars[name] = ak.to_numpy(raw[name])
    scalars["XSection"] = np.full(n, xsec_pb, np.float32)
    scalars["SumWeights"] = np.full(n, sumw, np.float32)
    write_mini(path, {"scalars": scalars, "groups": groups})


def write_hepmc(path: str | Path, truth: Any, *, first_event: int, cross_section_pb: float,
                cross_section_err_pb: float) -> None:
    """Write one block's truth record as HepMC3 ASCII (GeV, mm) for real Delphes."""
    import pyhepmc

    f = truth.fields
    off = np.concatenate([[0], np.cumsum(truth.counts)])
    with pyhepmc.open(str(path), "w") as out:
        for i in range(len(truth.counts)):
            s = slice(off[i], off[i + 1])
            evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
            children = np.stack([f["D1"][s], f["D2"][s]], axis=1)
            evt.from_hepevt(first_event + i, f["Px"][s], f["Py"][s], f["Pz"][s], f["E"][s],
                            f["Mass"][s], f["PID"][s].astype(np.int32),
                            f["Status"][s].astype(np.int32), children=children, fortran=False)
            evt.weights = [float(truth.weights[i])]
            xs = pyhepmc.GenCrossSection()
            xs.set_cross_section(cross_section_pb, cross_section_err_pb)
            evt.cross_section = xs
            out.write(evt)
