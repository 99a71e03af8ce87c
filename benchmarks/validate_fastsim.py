"""Validate hzx's fast simulation against the Delphes CMS card, sample by sample.

Generates (or reuses, with ``--cache DIR``) Pythia 8 truth blocks of H → Z a (m_a = 1 GeV,
Z → e, μ, τ), Z+jets, Z → ee only and Z → μμ only, runs the card's chain on them and prints,
per sample:

- per-stage lepton efficiencies of the prompt Z leptons (tracking, identification, isolation,
  unique-object finder) beside the card's formulas applied to the same leptons (tracking: the
  card's tracking efficiency at the truth pT and the calorimeter-entry η, averaged; ID: the
  card's identification efficiency at each tracked lepton's measured pT and η, averaged), with
  binomial errors and the pull;
- Z mass widths (IQR/1.35 of the leading opposite-charge same-flavour pair, 50–130 GeV), the
  fraction of events with such a pair in 81–101 GeV;
- jets per event, the smallest ΔR between a jet and a final electron, muon or photon, the jet
  response (reco/gen pT, gen-jets above 40 GeV with no prompt lepton within 0.5, matched within
  ΔR < 0.25), jet, e-flow and tower multiplicities, MET and ScalarHT medians, and the largest
  |ScalarHT − Σ pT(jets, e, μ, γ)|;
- the fast simulation's time as a fraction of Pythia's.

``--delphes FILE [FILE …]`` puts the same reconstructed-level figures of real Delphes (CMS card)
files beside them. Results: ``benchmarks/results/validate_fastsim.json``.

    python benchmarks/validate_fastsim.py --events 2000 --cache /tmp/fastsim-truth
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

SAMPLES = {
    "hza_ma1": {"process": "hza", "ma": 1.0},
    "zjets": {"process": "zjets"},
    "zee": {"process": "zjets", "z_decays": "ee"},
    "zmumu": {"process": "zjets", "z_decays": "mumu"},
}
BLOCK = 250


def truth_blocks(name: str, events: int, seed: int, cache: Path | None) -> list:
    """Pythia truth blocks of a sample (cached as pickles when ``cache`` is given)."""
    from hzx.generation.jobs import block_seeds, make_config
    from hzx.generation.processes import pythia_settings, validate
    from hzx.generation.pythia_driver import generate_block

    path = cache / f"{name}-{events}-{seed}.pkl" if cache else None
    if path and path.exists():
        return pickle.loads(path.read_bytes())
    config = make_config(events=events, seed=seed, block_size=BLOCK, shower_variations="off",
                         **SAMPLES[name])
    validate(config)
    settings = pythia_settings(config)
    n_blocks = -(-events // BLOCK)
    blocks = []
    for i, (pythia_seed, _) in enumerate(block_seeds(seed, n_blocks)):
        n = min(BLOCK, events - i * BLOCK)
        blocks.append(generate_block(settings, pythia_seed, n, process=config.process))
        print(f"  {name}: block {i + 1}/{n_blocks} ({blocks[-1].seconds:.1f} s)", file=sys.stderr)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(blocks))
    return blocks


# ---------------------------------------------------------------------------------------------
# Truth helpers
# ---------------------------------------------------------------------------------------------


def prompt_z_leptons(block) -> np.ndarray:
    """Global indices of final electrons and muons that descend from a Z (through copies)."""
    f = block.fields
    first = np.concatenate([[0], np.cumsum(block.counts)[:-1]])
    evt = np.repeat(np.arange(len(block.counts)), block.counts)
    pid = np.abs(f["PID"])
    out = []
    for i in np.flatnonzero((f["Status"] == 1) & np.isin(pid, (11, 13))):
        j = i
        while True:
            m = f["M1"][j]
            if m < 0:
                break
            m += first[evt[i]]
            if pid[m] == pid[i]:
                j = m
                continue
            if pid[m] == 23:
                out.append(i)
            break
    return np.asarray(out, dtype=np.int64)


def _jagged(col: dict) -> tuple[np.ndarray, dict]:
    evt = np.repeat(np.arange(len(col["counts"])), col["counts"])
    return evt, col["fields"]


def _pair_masses(evt: np.ndarray, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray,
                 charge: np.ndarray, n_events: int, mass: float) -> np.ndarray:
    """Mass of the two leading objects of an event when they have opposite charges (NaN else)."""
    out = np.full(n_events, np.nan)
    order = np.lexsort((-pt, evt))
    evt, pt, eta, phi, charge = (a[order] for a in (evt, pt, eta, phi, charge))
    start = np.searchsorted(evt, np.arange(n_events))
    n = np.bincount(evt, minlength=n_events)
    ev = np.flatnonzero(n >= 2)
    a, b = start[ev], start[ev] + 1
    e = [np.sqrt((pt[k] * np.cosh(eta[k])) ** 2 + mass**2) for k in (a, b)]
    px = [pt[k] * np.cos(phi[k]) for k in (a, b)]
    py = [pt[k] * np.sin(phi[k]) for k in (a, b)]
    pz = [pt[k] * np.sinh(eta[k]) for k in (a, b)]
    m2 = (e[0] + e[1]) ** 2 - (px[0] + px[1]) ** 2 - (py[0] + py[1]) ** 2 - (pz[0] + pz[1]) ** 2
    out[ev] = np.where(charge[a] != charge[b], np.sqrt(np.maximum(m2, 0)), np.nan)
    return out


def reco_figures(collections: list[dict]) -> dict:
    """Reconstructed-level figures from Delphes-named collections (hzx's or a real file's)."""
    from hzx.generation.delphes_modules import delta_r2

    acc: dict[str, list] = {k: [] for k in (
        "mee", "mmm", "n_jets", "dr_min", "n_eflow_track", "n_eflow_photon", "n_eflow_nh",
        "n_tower", "met", "ht", "ht_diff", "response")}
    for sim in collections:
        n = len(sim["Jet"]["counts"])
        masses = {}
        for name, m, key in (("Electron", 0.000511, "mee"), ("Muon", 0.10566, "mmm")):
            evt, fl = _jagged(sim[name])
            masses[key] = _pair_masses(evt, fl["PT"], fl["Eta"], fl["Phi"], fl["Charge"], n, m)
            acc[key].append(masses[key])
        acc["n_jets"].append(sim["Jet"]["counts"])
        for key, col in (("n_eflow_track", "EFlowTrack"), ("n_eflow_photon", "EFlowPhoton"),
                         ("n_eflow_nh", "EFlowNeutralHadron"), ("n_tower", "Tower")):
            if col in sim:
                acc[key].append(sim[col]["counts"])
        if "MissingET" in sim:
            acc["met"].append(sim["MissingET"]["fields"]["MET"])
        if "ScalarHT" in sim:
            ht = sim["ScalarHT"]["fields"]["HT"]
            acc["ht"].append(ht)
            total = np.zeros(n)
            for col in ("Jet", "Electron", "Muon", "Photon"):
                evt, fl = _jagged(sim[col])
                total += np.bincount(evt, weights=fl["PT"], minlength=n)
            acc["ht_diff"].append(np.abs(ht - total) / np.maximum(ht, 1.0))
        j_evt, jf = _jagged(sim["Jet"])
        for col in ("Electron", "Muon", "Photon"):
            o_evt, of = _jagged(sim[col])
            for k in range(len(o_evt)):
                sel = j_evt == o_evt[k]
                if sel.any():
                    acc["dr_min"].append(np.sqrt(delta_r2(jf["Eta"][sel], jf["Phi"][sel],
                                                          of["Eta"][k], of["Phi"][k])).min())
        if "GenJet" in sim:
            g_evt, gf = _jagged(sim["GenJet"])
            leptons = sim.get("_prompt_leptons")
            for k in np.flatnonzero(gf["PT"] > 40):
                if leptons is not None:
                    le = leptons["evt"] == g_evt[k]
                    if le.any() and (delta_r2(leptons["eta"][le], leptons["phi"][le],
                                              gf["Eta"][k], gf["Phi"][k]) < 0.25).any():
                        continue
                sel = np.flatnonzero(j_evt == g_evt[k])
                if len(sel) == 0:
                    continue
                dr2 = delta_r2(jf["Eta"][sel], jf["Phi"][sel], gf["Eta"][k], gf["Phi"][k])
                best = np.argmin(dr2)
                if dr2[best] < 0.25**2:
                    acc["response"].append(jf["PT"][sel][best] / gf["PT"][k])
    cat = {k: np.concatenate(v) if v and np.ndim(v[0]) else np.asarray(v)
           for k, v in acc.items()}

    def width(m: np.ndarray) -> float | None:
        w = m[(m > 50) & (m < 130)]
        if len(w) < 10:
            return None
        q1, q3 = np.percentile(w, [25, 75])
        return float((q3 - q1) / 1.35)

    mee, mmm = cat["mee"], cat["mmm"]
    in_window = ((mee > 81) & (mee < 101)) | ((mmm > 81) & (mmm < 101))
    return {
        "events": len(cat["n_jets"]),
        "z_ee_width_gev": width(mee), "z_mumu_width_gev": width(mmm),
        "ee_pairs_50_130": int(np.sum((mee > 50) & (mee < 130))),
        "mumu_pairs_50_130": int(np.sum((mmm > 50) & (mmm < 130))),
        "fraction_sfos_81_101": float(np.mean(in_window)),
        "jets_per_event": float(np.mean(cat["n_jets"])),
        "min_dr_jet_lepton_photon": float(np.min(cat["dr_min"])) if len(cat["dr_min"]) else None,
        "jet_response_median": (float(np.median(cat["response"]))
                                if len(cat["response"]) else None),
        "jet_response_jets": len(cat["response"]),
        "eflow_tracks_per_event": (float(np.mean(cat["n_eflow_track"]))
                                   if len(cat["n_eflow_track"]) else None),
        "eflow_photons_per_event": (float(np.mean(cat["n_eflow_photon"]))
                                    if len(cat["n_eflow_photon"]) else None),
        "eflow_neutral_hadrons_per_event": (float(np.mean(cat["n_eflow_nh"]))
                                            if len(cat["n_eflow_nh"]) else None),
        "towers_per_event": float(np.mean(cat["n_tower"])) if len(cat["n_tower"]) else None,
        "met_median_gev": float(np.median(cat["met"])) if len(cat["met"]) else None,
        "scalar_ht_median_gev": float(np.median(cat["ht"])) if len(cat["ht"]) else None,
        "scalar_ht_max_rel_diff": (float(np.max(cat["ht_diff"]))
                                   if len(cat["ht_diff"]) else None),
    }


def stage_efficiencies(blocks: list, sims: list[dict], card) -> dict:
    """Per-stage efficiencies of the prompt Z leptons and the card's formula chain."""
    from hzx.generation import delphes_modules as dm

    out = {}
    for flavour, abs_pid, trk_card, id_card in (
            ("electron", 11, card.electron_tracking, card.electron_efficiency),
            ("muon", 13, card.muon_tracking, card.muon_tracking)):
        if flavour == "muon":
            id_card = card.muon_efficiency
        counts = {"truth": 0, "track": 0, "id": 0, "isolated": 0, "final": 0}
        expect = {"track": 0.0, "id": 0.0}
        var = {"track": 0.0, "id": 0.0}
        for block, sim in zip(blocks, sims, strict=True):
            f = block.fields
            leptons = prompt_z_leptons(block)
            leptons = leptons[np.abs(f["PID"][leptons]) == abs_pid]
            px, py, pz = f["Px"][leptons], f["Py"][leptons], f["Pz"][leptons]
            pt = np.hypot(px, py)
            prop = dm.propagate(px, py, pz, f["E"][leptons], f["Charge"][leptons],
                                f["X"][leptons], f["Y"][leptons], f["Z"][leptons],
                                card.propagator)
            eff_trk = np.zeros(len(leptons))
            eff_trk[prop.index] = dm.binned_efficiency(trk_card, pt[prop.index], prop.eta)
            st = sim["_stages"]
            tracked = np.isin(leptons, st[f"{flavour}_track"])
            counts["truth"] += len(leptons)
            counts["track"] += int(tracked.sum())
            expect["track"] += eff_trk.sum()
            var["track"] += np.sum(eff_trk * (1 - eff_trk))
            # ID efficiency at the measured pT and entry η of the candidates entering it
            cands = sim["_id_inputs"][flavour]
            mine = np.isin(cands["truth"], leptons)
            e_id = dm.binned_efficiency(id_card, cands["pt"][mine], cands["eta"][mine])
            counts.setdefault("id_input", 0)
            counts["id_input"] += int(mine.sum())
            expect["id"] += e_id.sum()
            var["id"] += np.sum(e_id * (1 - e_id))
            counts["id"] += int(np.isin(leptons, st[f"{flavour}_id"]).sum())
            counts["isolated"] += int(np.isin(leptons, st[f"{flavour}_isolated"]).sum())
            counts["final"] += int(np.isin(leptons, st[f"{flavour}_final"]).sum())
        n_t, n_id_in = counts["truth"], counts.get("id_input", 0)
        out[flavour] = {
            "prompt_leptons": n_t,
            "tracking": {"measured": counts["track"] / max(n_t, 1),
                         "card": expect["track"] / max(n_t, 1),
                         "pull": (counts["track"] - expect["track"]) / max(np.sqrt(var["track"]),
                                                                            1e-9)},
            "identification": {"measured": counts["id"] / max(n_id_in, 1),
                               "card": expect["id"] / max(n_id_in, 1),
                               "pull": (counts["id"] - expect["id"]) / max(np.sqrt(var["id"]),
                                                                           1e-9)},
            "isolation": counts["isolated"] / max(counts["id"], 1),
            "unique": counts["final"] / max(counts["isolated"], 1),
            "overall": counts["final"] / max(n_t, 1),
        }
    return out


def prompt_lepton_directions(block) -> dict:
    leptons = prompt_z_leptons(block)
    f = block.fields
    evt = np.repeat(np.arange(len(block.counts)), block.counts)[leptons]
    pt = np.hypot(f["Px"][leptons], f["Py"][leptons])
    return {"evt": evt, "eta": np.arcsinh(f["Pz"][leptons] / pt),
            "phi": np.arctan2(f["Py"][leptons], f["Px"][leptons])}


def simulate_sample(blocks: list, card, seed: int) -> tuple[list[dict], float, float]:
    from hzx.generation.fastsim import simulate

    sims, t_sim = [], 0.0
    simulate(blocks[0], np.random.default_rng(0), card)  # warm: imports, fastjet's first call
    for i, block in enumerate(blocks):
        t0 = time.perf_counter()
        sim = simulate(block, np.random.default_rng([seed, i]), card)
        t_sim += time.perf_counter() - t0
        sim["_prompt_leptons"] = prompt_lepton_directions(block)
        sims.append(sim)
    pythia = sum(b.seconds - b.extract_seconds - b.init_seconds for b in blocks)
    return sims, t_sim, pythia


def read_delphes(paths: list[str]) -> list[dict]:
    """Collections of real Delphes files in the layout :func:`reco_figures` reads."""
    import awkward as ak
    import uproot

    wanted = {"Jet": ("PT", "Eta", "Phi"), "Electron": ("PT", "Eta", "Phi", "Charge"),
              "Muon": ("PT", "Eta", "Phi", "Charge"), "Photon": ("PT", "Eta", "Phi"),
              "GenJet": ("PT", "Eta", "Phi"), "MissingET": ("MET",), "ScalarHT": ("HT",),
              "EFlowTrack": ("PT",), "EFlowPhoton": ("ET",), "EFlowNeutralHadron": ("ET",),
              "Tower": ("ET",)}
    out = []
    for path in paths:
        tree = uproot.open(path)["Delphes"]
        sim = {}
        for col, fields in wanted.items():
            keys = [f"{col}.{fl}" for fl in fields if f"{col}.{fl}" in tree]
            if not keys:
                continue
            arrays = tree.arrays(keys)
            counts = ak.to_numpy(ak.num(arrays[keys[0]]))
            sim[col] = {"counts": counts, "fields": {
                k.split(".", 1)[1]: ak.to_numpy(ak.flatten(arrays[k])).astype(np.float64)
                for k in keys}}
            if col == "Photon":
                sim[col]["fields"].setdefault("Charge", np.zeros(counts.sum()))
        n = tree.num_entries
        for col in ("Jet", "Electron", "Muon", "Photon"):
            sim.setdefault(col, {"counts": np.zeros(n, np.int64), "fields": {
                "PT": np.zeros(0), "Eta": np.zeros(0), "Phi": np.zeros(0),
                "Charge": np.zeros(0)}})
        out.append(sim)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--samples", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--cache", type=Path, help="keep/reuse Pythia truth blocks here")
    parser.add_argument("--delphes", nargs="+", default=[],
                        help="real Delphes (CMS card) ROOT files to compare with")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "validate_fastsim.json")
    args = parser.parse_args(argv)
    from hzx.generation.fastsim import CMS_CARD

    results: dict = {"events": args.events, "seed": args.seed, "samples": {}}
    for name in args.samples:
        blocks = truth_blocks(name, args.events, args.seed, args.cache)
        sims, t_sim, t_pythia = simulate_sample(blocks, CMS_CARD, args.seed)
        res = reco_figures(sims)
        res["stages"] = stage_efficiencies(blocks, sims, CMS_CARD)
        res["fastsim_seconds"] = t_sim
        res["pythia_seconds"] = t_pythia
        res["fastsim_fraction_of_pythia"] = t_sim / t_pythia
        results["samples"][name] = res
        print_sample(name, res)
    if args.delphes:
        res = reco_figures(read_delphes(args.delphes))
        results["delphes"] = {"files": args.delphes, **res}
        print_sample("real Delphes", res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return 0


def print_sample(name: str, res: dict) -> None:
    print(f"\n== {name}: {res['events']} events")
    for key, value in res.items():
        if key in ("stages", "events"):
            continue
        print(f"  {key:34s} {value if not isinstance(value, float) else f'{value:.4g}'}")
    for flavour, st in res.get("stages", {}).items():
        print(f"  {flavour} ({st['prompt_leptons']} prompt Z leptons):")
        for stage in ("tracking", "identification"):
            s = st[stage]
            print(f"    {stage:15s} measured {s['measured']:.4f}  card {s['card']:.4f}  "
                  f"pull {s['pull']:+.2f}")
        print(f"    isolation {st['isolation']:.4f}  unique {st['unique']:.4f}  "
              f"overall {st['overall']:.4f}")


if __name__ == "__main__":
    sys.exit(main())
