"""The 4ℓ selection's compiled per-event reductions against the same selection in pure awkward.

The real ATLAS Open Data events of ../shared are repeated in memory to ``--events`` events (in
GeV). Side by side in one run, on the same events:

- ``numba``: what :class:`~hzx.processors.fourlep.FourLeptonProcessor` runs — the jagged leptons
  flattened into a :class:`~hzx.processors.atlas_objects.Leptons` table, the cuts of
  :mod:`hzx.processors.fourlep_selection` (compiled segment max/min/sum), m4ℓ of the survivors;
- ``awkward``: the same cuts and m4ℓ with ``ak.max``/``ak.min``/``ak.sum``/``ak.num`` on the
  jagged record array (no flattening, no compiled code).

Both must select the same events and give the same m4ℓ (1e-12 relative); the best of
``--repeat`` runs of each is kept (compilation excluded by a warm-up). Then the whole processor
(``FourLeptonProcessor.process`` on NanoEvents of a replica file, data and simulation with its
systematic variations) is timed per event, the figure that ``bench_fourlep.py`` puts beside the
read floor.

    python benchmarks/bench_fourlep_kernels.py [--events 1000000] [--repeat 5]

Writes ``benchmarks/results/bench_fourlep_kernels.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import timeit
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hzx.processors import fourlep_selection as sel
from hzx.processors.atlas_objects import Leptons
from hzx.processors.fourlep import FourLeptonOptions, FourLeptonProcessor
from hzx.processors.kinematics import invariant_mass, momentum

REPO = Path(__file__).resolve().parent.parent
OPENDATA = REPO.parent / "shared" / "data" / "atlas-opendata-2020-4lep"
RESULTS = REPO / "benchmarks" / "results"
FIELDS = ("pt", "eta", "phi", "E", "charge", "type", "ptcone30")


def jagged_leptons(events: int) -> ak.Array:
    """The real files' leptons repeated to ``events`` events, GeV, float64/int64 records."""
    parts = [uproot.open(OPENDATA / f"data_{p}.4lep.root")["mini"].arrays(
        [f"lep_{f}" for f in FIELDS]) for p in "AB"]
    real = ak.concatenate(parts)
    real = real[np.arange(events) % len(real)]
    gev = {"pt", "E", "ptcone30"}
    columns = {("energy" if f == "E" else f): ak.values_astype(real[f"lep_{f}"], np.float64)
               / (1000.0 if f in gev else 1.0) for f in FIELDS if f not in ("charge", "type")}
    columns["charge"] = ak.values_astype(real.lep_charge, np.int64)
    columns["type"] = ak.values_astype(real.lep_type, np.int64)
    return ak.to_packed(ak.zip(columns))


def select_numba(leptons: ak.Array, o: FourLeptonOptions) -> tuple[np.ndarray, np.ndarray]:
    """Event mask and m4ℓ of the survivors, as the processor computes them."""
    lep = Leptons.from_awkward(leptons)
    passed = (sel.lepton_kinematics(lep, o.lead_pt_min_gev, o.pt_min_gev, o.eta_max)
              & sel.lepton_flavour(lep) & sel.ptcone30_isolation(lep, o.ptcone30_max)
              & sel.lepton_multiplicity(lep, 4) & sel.charge_neutral(lep))
    return passed, sel.four_lepton_mass(lep, passed)


def select_awkward(leptons: ak.Array, o: FourLeptonOptions) -> tuple[np.ndarray, np.ndarray]:
    """The same selection with awkward's reductions on the jagged array."""
    n = ak.num(leptons, axis=1)
    has = n > 0

    def reduce(fn, values, empty):
        return ak.to_numpy(ak.fill_none(fn(values, axis=1), empty))

    pt, eta = leptons.pt, leptons.eta
    kinematic = (ak.to_numpy(has) & (reduce(ak.max, pt, -np.inf) > o.lead_pt_min_gev)
                 & (reduce(ak.min, pt, np.inf) > o.pt_min_gev)
                 & (reduce(ak.min, eta, np.inf) > -o.eta_max)
                 & (reduce(ak.max, eta, -np.inf) < o.eta_max))
    flavour = np.isin(ak.to_numpy(ak.sum(leptons["type"], axis=1)), list(sel.CHANNELS))
    isolation = ak.to_numpy(has) & (reduce(ak.max, leptons.ptcone30 / pt, -np.inf)
                                    < o.ptcone30_max)
    passed = (kinematic & flavour & isolation & ak.to_numpy(n == 4)
              & (ak.to_numpy(ak.sum(leptons.charge, axis=1)) == 0))
    four = leptons[passed][:, :4]
    px, py, pz = (ak.to_numpy(ak.sum(c, axis=1)) for c in momentum(four.pt, four.eta, four.phi))
    return passed, invariant_mass(px, py, pz, ak.to_numpy(ak.sum(four.energy, axis=1)))


def best_of(fn, repeat: int) -> float:
    """Seconds of the fastest of ``repeat`` calls."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def processor_per_event(events: int, repeat: int) -> dict[str, float]:
    """µs per event of ``FourLeptonProcessor.process`` on one replica file (data, simulation)."""
    from coffea.nanoevents import NanoEventsFactory

    from hzx.processors import AtlasOpenDataSchema
    from hzx.processors.fourlep import SCALE_FACTORS

    branches = [f"lep_{f}" for f in FIELDS] + ["lep_etcone20", "mcWeight", "trigE", "trigM",
                                                *SCALE_FACTORS]
    parts = [uproot.open(OPENDATA / f"data_{p}.4lep.root")["mini"].arrays(branches)
             for p in "AB"]
    real = ak.concatenate(parts)
    chunk = real[np.arange(events) % len(real)]
    out = {b: ak.to_numpy(chunk[b]) for b in branches if not b.startswith("lep_")}
    out["lep"] = ak.zip({b[4:]: chunk[b] for b in branches if b.startswith("lep_")})
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "replica.root"
        with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
            f.mktree("mini", {k: (v.type if isinstance(v, ak.Array) else v.dtype)
                              for k, v in out.items()},
                     counter_name=lambda counted: f"{counted}_n",
                     field_name=lambda outer, inner: f"{outer}_{inner}")
            f["mini"].extend(out)
        for role, meta in (("data", {}), ("simulation", {"xsec_pb": 1.0, "sumw": 1.0,
                                                         "lumi_fb": 10.0})):
            dataset = "data_replica" if role == "data" else "mc_replica"
            nano = NanoEventsFactory.from_root(
                {str(path): "mini"}, schemaclass=AtlasOpenDataSchema, mode="eager",
                metadata={"dataset": dataset, "filename": str(path),
                          "role": "data" if role == "data" else "background", **meta},
            ).events()
            processor = FourLeptonProcessor()
            processor.process(nano[:1000])  # warm-up
            seconds = best_of(lambda p=processor, e=nano: p.process(e), repeat)
            result[role] = 1e6 * seconds / events
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-processor", action="store_true",
                        help="skip the whole-processor timing")
    args = parser.parse_args()

    o = FourLeptonOptions()
    leptons = jagged_leptons(args.events)
    select_numba(leptons[:100], o)  # compile / load the cached kernels
    select_awkward(leptons[:100], o)
    mask_n, m4l_n = select_numba(leptons, o)
    mask_a, m4l_a = select_awkward(leptons, o)
    assert np.array_equal(mask_n, mask_a), "the two selections differ"
    np.testing.assert_allclose(m4l_a, m4l_n, rtol=1e-12)
    t_numba = best_of(lambda: select_numba(leptons, o), args.repeat)
    t_awkward = best_of(lambda: select_awkward(leptons, o), args.repeat)
    result = {
        "events": args.events, "selected": int(mask_n.sum()),
        "numba_s": t_numba, "awkward_s": t_awkward, "awkward_over_numba": t_awkward / t_numba,
        "numba_us_per_event": 1e6 * t_numba / args.events,
        "awkward_us_per_event": 1e6 * t_awkward / args.events,
        "machine": platform.machine(), "python": platform.python_version(),
        "awkward": ak.__version__,
    }
    print(f"{args.events} events, {result['selected']} selected (identical in both)")
    print(f"  numba (Leptons + segment reductions): {t_numba:.3f} s "
          f"({result['numba_us_per_event']:.3f} µs/event)")
    print(f"  pure awkward reductions:              {t_awkward:.3f} s "
          f"({result['awkward_us_per_event']:.3f} µs/event)")
    print(f"  awkward / numba = {result['awkward_over_numba']:.2f}")
    if not args.no_processor:
        per_event = processor_per_event(min(args.events, 500_000), args.repeat)
        result["processor_us_per_event"] = per_event
        print("  FourLeptonProcessor.process: " + ", ".join(
            f"{k} {v:.3f} µs/event" for k, v in per_event.items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_fourlep_kernels.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
