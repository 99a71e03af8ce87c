"""Truth-level kinematics of the study's plot_truth / compare scripts, from Delphes files (GeV).

Per dataset: the Z mass; mass, pT and η of the η_c (441), J/ψ (443) and a (36); and, where the
file has them, the leading jet's pT and mass (signal vs background comparison) and the leading
muon's pT (comparison with ATLAS truth). Generators record several copies of one particle (after
each recoil); by default only the *last* copy counts (the one whose first daughter is not the same
particle), so that each physical particle is filled once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import awkward as ak
import hist
import numpy as np

from hzx.errors import ConfigurationError
from hzx.processors.base import HzxProcessor
from hzx.processors.delphes import require_collections, to_float64

#: Resonances of the truth study: PDG id → (short name, label, mass range in GeV).
RESONANCES = {
    23: ("z", "Z", (80, 50.0, 130.0)),
    441: ("etac", r"$\eta_c$", (100, 0.0, 10.0)),
    443: ("jpsi", r"$J/\psi$", (100, 0.0, 10.0)),
    36: ("a", "a", (100, 0.0, 10.0)),
}

COPIES = ("last", "all")


@dataclasses.dataclass(frozen=True)
class TruthOptions:
    """Options of the truth processor.

    Attributes
    ----------
    copies : {"last", "all"}
        ``last``: fill each particle once (its last copy in the record); ``all``: every copy.
    pt_max : float
        Upper edge of the pT histograms (GeV).
    """

    copies: str = "last"
    pt_max: float = 200.0

    def __post_init__(self) -> None:
        if self.copies not in COPIES:
            raise ConfigurationError(f"copies must be one of {', '.join(COPIES)}, got {self.copies!r}")


def last_copy_mask(pid: ak.Array, first_daughter: ak.Array) -> ak.Array:
    """True for particles whose first daughter (event-local index, −1 for none) has another PID."""
    n = ak.num(pid, axis=1)
    valid = (first_daughter >= 0) & (first_daughter < n)
    index = ak.where(valid, first_daughter, 0)
    daughter_pid = pid[ak.values_astype(index, np.int64)]
    return ~(valid & (daughter_pid == pid))


def _hist(name: str, bins: int, low: float, high: float, label: str) -> hist.Hist:
    return hist.Hist(hist.axis.Regular(bins, low, high, name="x", label=label),
                     storage=hist.storage.Double(), name=name)


class TruthProcessor(HzxProcessor):
    """Truth Z, η_c, J/ψ and a kinematics, leading jet and muon, per dataset."""

    options_class = TruthOptions

    def required_branches(self) -> tuple[str, ...]:
        return tuple(f"Particle/Particle.{f}" for f in ("PID", "Status", "PT", "Eta", "Mass", "D1"))

    def accumulator(self, dataset: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        o = self.options
        out: dict[str, Any] = {}
        for pid, (short, label, (bins, low, high)) in RESONANCES.items():
            out[f"{short}_mass"] = _hist(f"{short}_mass", bins, low, high, f"{label} mass [GeV]")
            if pid != 23:
                out[f"{short}_pt"] = _hist(f"{short}_pt", 100, 0.0, o.pt_max,
                                           rf"{label} $p_T$ [GeV]")
                out[f"{short}_eta"] = _hist(f"{short}_eta", 100, -5.0, 5.0, rf"{label} $\eta$")
        out["leading_jet_pt"] = _hist("leading_jet_pt", 100, 0.0, 500.0, r"leading jet $p_T$ [GeV]")
        out["leading_jet_mass"] = _hist("leading_jet_mass", 50, 0.0, 50.0, "leading jet mass [GeV]")
        out["leading_muon_pt"] = _hist("leading_muon_pt", 100, 0.0, 500.0,
                                       r"leading muon $p_T$ [GeV]")
        out["cutflow"] = {"events": {"raw": 0, "weighted": 0.0}}
        out["counts"] = {str(pid): 0 for pid in RESONANCES}
        return out

    def fill(self, events: Any, out: dict[str, Any], metadata: Mapping[str, Any]) -> None:
        require_collections(events, ("Particle",), "the truth study")
        p = events.Particle
        pid = p.PID
        keep = last_copy_mask(pid, p.D1) if self.options.copies == "last" else ak.ones_like(pid) > 0
        for code, (short, _, _) in RESONANCES.items():
            chosen = p[keep & (pid == code)]
            out[f"{short}_mass"].fill(x=ak.to_numpy(ak.flatten(to_float64(chosen.Mass))))
            if code != 23:
                out[f"{short}_pt"].fill(x=ak.to_numpy(ak.flatten(to_float64(chosen.PT))))
                out[f"{short}_eta"].fill(x=ak.to_numpy(ak.flatten(to_float64(chosen.Eta))))
            out["counts"][str(code)] = int(ak.sum(ak.num(chosen.PID)))
        if "Jet" in events.fields:
            jets = events.Jet
            lead = ak.argmax(jets.PT, axis=1, keepdims=True)  # Delphes orders jets, but be sure
            j1 = ak.firsts(jets[lead], axis=1)
            ok = ~ak.is_none(j1)
            out["leading_jet_pt"].fill(x=ak.to_numpy(to_float64(j1.PT[ok])))
            out["leading_jet_mass"].fill(x=ak.to_numpy(to_float64(j1.Mass[ok])))
        if "Muon" in events.fields:
            out["leading_muon_pt"].fill(
                x=ak.to_numpy(ak.flatten(to_float64(ak.max(events.Muon.PT, axis=1, keepdims=True)),
                                         axis=None)))
        out["cutflow"] = {"events": {"raw": len(events), "weighted": float(len(events))}}
