"""Write small ATLAS-Open-Data-like ``mini`` trees for tests (uproot, at run time)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

LEPTON_FIELDS = ("pt", "eta", "phi", "E", "charge", "type", "ptcone30", "etcone20")
EVENT_FIELDS = ("mcWeight", "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON",
                "scaleFactor_LepTRIGGER", "trigE", "trigM")


def read_mini(path: str | Path) -> ak.Array:
    """The branches the 4-lepton selection reads, as one awkward record array."""
    tree = uproot.open(path)["mini"]
    names = [f"lep_{f}" for f in LEPTON_FIELDS] + list(EVENT_FIELDS)
    return tree.arrays(names)


def write_mini(path: str | Path, arrays: ak.Array, drop: tuple[str, ...] = ()) -> Path:
    """Write ``arrays`` (fields as :func:`read_mini`) as a ``mini`` tree; leave out ``drop``."""
    lep = {f: arrays[f"lep_{f}"] for f in LEPTON_FIELDS if f"lep_{f}" not in drop}
    branches = {name: ak.to_numpy(arrays[name]) for name in EVENT_FIELDS if name not in drop}
    branches["lep"] = ak.zip(lep)
    with uproot.recreate(path) as file:
        # lep_pt, lep_eta … sharing the counter lep_n, as in the real files
        file.mktree("mini", {k: v.type if isinstance(v, ak.Array) else v.dtype
                             for k, v in branches.items()},
                    counter_name=lambda counted: f"{counted}_n",
                    field_name=lambda outer, inner: f"{outer}_{inner}")
        file["mini"].extend(branches)
    return Path(path)


def make_events(leptons: list[list[dict]], **event_fields) -> ak.Array:
    """Hand-built events: ``leptons`` per event as dicts of (GeV) pt, eta, phi, E, charge, type,
    ptcone30, etcone20 (missing isolation → 0). Values are stored in MeV as the real files."""
    records = []
    for event in leptons:
        rec = {f"lep_{f}": [] for f in LEPTON_FIELDS}
        for lep in event:
            for f in LEPTON_FIELDS:
                value = lep.get(f, 0.0)
                if f in ("pt", "E", "ptcone30", "etcone20"):
                    value = value * 1000.0
                rec[f"lep_{f}"].append(value)
        records.append(rec)
    n = len(records)
    arr = ak.Array(records)
    fields = {f"lep_{f}": ak.values_astype(arr[f"lep_{f}"], np.int32 if f == "charge" else
                                           np.uint32 if f == "type" else np.float32)
              for f in LEPTON_FIELDS}
    defaults = {"mcWeight": 1.0, "scaleFactor_PILEUP": 1.0, "scaleFactor_ELE": 1.0,
                "scaleFactor_MUON": 1.0, "scaleFactor_LepTRIGGER": 1.0, "trigE": True,
                "trigM": False}
    for name, default in defaults.items():
        value = event_fields.get(name, default)
        dtype = bool if name.startswith("trig") else np.float32
        fields[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    return ak.zip(fields, depth_limit=1)


def weighted_replica(source: str | Path, path: str | Path, n_events: int, seed: int = 1) -> Path:
    """The events of ``source`` repeated to ``n_events``, with random mcWeight and scale factors
    (so weighted sums have many significant digits), written as a ``mini`` tree."""
    arrays = read_mini(source)
    arrays = arrays[np.arange(n_events) % len(arrays)]
    rng = np.random.default_rng(seed)
    for name in ("mcWeight", "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON",
                 "scaleFactor_LepTRIGGER"):
        arrays[name] = rng.uniform(0.5, 1.5, n_events).astype(np.float32)
    return write_mini(path, arrays)


#: Samples of the release written by :func:`write_mc_folder` and their expected events at
#: 2.4 fb⁻¹ (periods A+B) in the whole file, before any cut: about the data's size after the
#: selection (about 40 % of the replicated data events pass).
MC_FOLDER_YIELDS = {"ggH125_ZZ4lep": 15.0, "VBFH125_ZZ4lep": 1.5, "llll": 60.0, "Zee": 20.0,
                    "Zmumu": 20.0, "ttbar_lep": 5.0}


def write_mc_folder(directory: str | Path, source: str | Path, lumi_fb: float = 2.4,
                    n_events: int = 300, yields: dict[str, float] | None = None,
                    seed: int = 5) -> Path:
    """A folder ``MC/`` of the release's file names, each a :func:`weighted_replica` of
    ``source`` whose mcWeight is rescaled so that the catalogue's normalisation at ``lumi_fb``
    gives ``yields[sample]`` events before any cut (a stand-in for the real simulation)."""
    from hzx.samples import get_sample
    from hzx.samples.normalisation import xsec_weight

    folder = Path(directory) / "MC"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, target) in enumerate((yields or MC_FOLDER_YIELDS).items()):
        sample = get_sample(name)
        path = folder / sample.filename
        weighted_replica(source, path, n_events, seed=seed + i)
        arrays = read_mini(path)
        norm = xsec_weight(sample.xsec_pb, sample.sumw, lumi_fb, sample.red_eff)
        per_event = np.prod([ak.to_numpy(arrays[n]).astype(np.float64) for n in (
            "mcWeight", "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON",
            "scaleFactor_LepTRIGGER")], axis=0)
        arrays["mcWeight"] = (ak.to_numpy(arrays["mcWeight"]) * target
                              / (norm * per_event.sum())).astype(np.float32)
        write_mini(path, arrays)
    return folder.parent


def write_damaged_basket(path: str | Path, arrays: ak.Array) -> Path:
    """``arrays`` as a ``mini`` tree whose first ``lep_pt`` basket is damaged after writing:
    the file opens and passes the pre-run check, that basket cannot be inflated."""
    path = write_mini(path, arrays)
    seek = int(uproot.open(path)["mini"]["lep_pt"].member("fBasketSeek")[0])
    compressed = path.read_bytes().find(b"ZL", seek)  # the basket's zlib block
    with open(path, "r+b") as file:
        file.seek(compressed + 30)
        file.write(b"\xff" * 30)
    return path
