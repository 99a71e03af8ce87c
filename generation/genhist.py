"""Generator-level histograms of H → Z a events: the study's main_PhPy8_HZA_dohist.cc.

Per event (Pythia's full record, no detector), as the study's driver:

- Z → ℓℓ leptons. Default (``reallep``): every electron (|η| < 2.47) and muon (|η| < 2.70) entry
  of the record with pT > 18 GeV; an opposite-charge electron pair closest to m_Z if there is one,
  else the muon pair closest to m_Z; the harder lepton of the pair must have pT ≥ 27 GeV.
  ``truelep``: the two daughters of the last Z of the record, both pT ≥ 18 GeV, one ≥ 27 GeV, both
  within the η limits of their flavour; their final-state descendants are kept out of the jets and
  tracks. Then 81 < m_ℓℓ < 101 GeV.
- Jets: anti-kT R = 0.4 (E scheme, pT > 20 GeV, as Pythia's SlowJet(-1, 0.4, 20, 25)) of the
  visible final-state particles; the first jet in pT order with |η| ≤ 2.5 and m_ℓℓj ≤ 250 GeV.
  (An event without such a jet is skipped; the study's driver would read jet −1 there.)
- Ghost-track proxies from charged final-state particles with pT ≥ 0.5 GeV, |η| ≤ 2.5 and
  ΔR(jet) ≤ 0.4: multiplicity, ΔR and pT fraction of the leading track, angularity
  Σ pT ΔR² / Σ pT, U1(0.7) = Σ_{ΔR ≤ 0.7} pT ΔR / Σ pT, M2(0.3) = Σ_{ΔR ≤ 0.3} pT ΔR² /
  Σ_{ΔR ≤ 0.3} pT and τ2 = Σ pT min(ΔR₁, ΔR₂) / (Σ pT · 0.4) with the two leading tracks as axes.

Histograms (names, bins and ranges as the study, weight 1) are normalised with Pythia's
``Hist.normalizeSpectrum(events generated)`` and written as the study writes them:
``<dir>/<name><options>.dat`` with ``_reallep|_truelep``, ``_MPIon|off`` … ``_HADon|off``,
``_Amass<m_a, 1 decimal>`` (e.g. ``hist_z_mass_reallep_MPIon_ISRon_FSRon_HADon_Amass4.0.dat``):
three comment lines (title, underflow, overflow) and Pythia's ``pyplotTable``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.processors.kinematics import delta_phi, invariant_mass

M_Z = 91.1876
PT_LEP_MIN, PT_LEP_LEAD = 18.0, 27.0
ETA_E_MAX, ETA_MU_MAX = 2.47, 2.70
MLL_WINDOW = (81.0, 101.0)
MLLJ_MAX = 250.0
JET_R, JET_PT_MIN, JET_ETA_MAX = 0.4, 20.0, 2.5
TRACK_PT_MIN, TRACK_ETA_MAX = 0.5, 2.5

#: name → (bins, low, high), in the study's order.
HISTOGRAMS: dict[str, tuple[int, float, float]] = {
    "hist_jet1pt": (100, 0.0, 500.0),
    "hist_j1mass": (40, 0.0, 20.0),
    "hist_mlljet": (100, 100.0, 200.0),
    "hist_lep_pt": (100, 0.0, 500.0),
    "hist_lem_pt": (100, 0.0, 500.0),
    "hist_z_mass": (60, 60.0, 120.0),
    "hist_proxy_nTracks": (40, 0.0, 40.0),
    "hist_proxy_deltaRLeadTrack": (40, 0.0, 0.4),
    "hist_proxy_leadTrackPtRatio": (40, 0.0, 1.5),
    "hist_proxy_angularity_2": (40, 0.0, 0.4),
    "hist_proxy_U1_0p7": (40, 0.0, 0.4),
    "hist_proxy_M2_0p3": (40, 0.0, 0.4),
    "hist_proxy_tau2": (40, 0.0, 1.0),
}


def _p4(px, py, pz, e) -> np.ndarray:
    return np.array([px, py, pz, e], dtype=np.float64)


def _mass(p: np.ndarray) -> float:
    return float(invariant_mass(*p, signed=True))  # signed as Pythia's Vec4::mCalc


def _pt_eta_phi(px, py, pz):
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.where(pt > 0, pz / np.where(pt > 0, pt, 1.0), np.sign(pz) * 1e10))
    return pt, eta, np.arctan2(py, px)


@dataclasses.dataclass(frozen=True)
class ParticleTable:
    """Charge type and visibility by PDG id (Pythia's particle data), cached."""

    charge_type: dict[int, int]
    visible: dict[int, bool]

    @classmethod
    def from_ids(cls, ids: np.ndarray) -> ParticleTable:
        import pythia8mc

        data = pythia8mc.Pythia("", False).particleData
        uniq = [int(i) for i in np.unique(ids)]
        return cls({i: int(data.chargeType(i)) for i in uniq},
                   {i: bool(data.isVisible(i)) for i in uniq})


def _descendants(first: int, d1: np.ndarray, d2: np.ndarray) -> set[int]:
    """All descendants of ``first`` (daughter ranges D1…D2, 0-based)."""
    out: set[int] = set()
    todo = [first]
    while todo:
        i = todo.pop()
        if d1[i] < 0:
            continue
        for j in range(int(d1[i]), int(d2[i]) + 1):
            if j not in out:
                out.add(j)
                todo.append(j)
    return out


def _reco_pair(pid, px, py, pz, e, charge):
    """The study's reallep pair (indices of ℓ⁺, ℓ⁻) or None."""
    pt, eta, _ = _pt_eta_phi(px, py, pz)
    best = None  # (|m − m_Z|, plus, minus); electrons replace muons whenever they have a pair
    for flavour, eta_max in ((13, ETA_MU_MAX), (11, ETA_E_MAX)):
        idx = np.flatnonzero((np.abs(pid) == flavour) & (pt > PT_LEP_MIN) & (np.abs(eta) < eta_max))
        found = None
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                i, j = idx[a], idx[b]
                if charge[i] * charge[j] >= 0:
                    continue
                mll = _mass(_p4(px[i], py[i], pz[i], e[i]) + _p4(px[j], py[j], pz[j], e[j]))
                if found is None or abs(mll - M_Z) < found[0]:
                    plus, minus = (i, j) if charge[i] > 0 else (j, i)
                    found = (abs(mll - M_Z), plus, minus)
        if found is not None:
            best = found
    if best is None:
        return None
    _, plus, minus = best
    if max(pt[plus], pt[minus]) < PT_LEP_LEAD:
        return None
    return plus, minus


def _true_pair(pid, d1, d2, px, py, pz, charge):
    """The study's truelep pair (ℓ⁺, ℓ⁻) and the final-state descendants to drop, or None."""
    zs = np.flatnonzero(pid == 23)
    if len(zs) == 0:
        return None
    z = zs[-1]
    l1, l2 = int(d1[z]), int(d2[z])
    if l1 < 0 or l2 < 0:
        return None
    pt, eta, _ = _pt_eta_phi(px, py, pz)
    if pt[l1] < PT_LEP_MIN or pt[l2] < PT_LEP_MIN:
        return None
    if pt[l1] < PT_LEP_LEAD and pt[l2] < PT_LEP_LEAD:
        return None
    flavours = {abs(int(pid[l1])), abs(int(pid[l2]))}
    if flavours == {11}:
        eta_max = ETA_E_MAX
    elif flavours == {13}:
        eta_max = ETA_MU_MAX
    else:
        return None  # Z → ττ: the study's driver stops here (its Z decays to e, μ only)
    if abs(eta[l1]) > eta_max or abs(eta[l2]) > eta_max:
        return None
    drop = _descendants(l1, d1, d2) | _descendants(l2, d1, d2)
    plus, minus = (l1, l2) if charge[l1] > 0 else (l2, l1)
    return plus, minus, drop


def track_proxies(jet_pt: float, jet_eta: float, jet_phi: float, t_pt: np.ndarray,
                  t_eta: np.ndarray, t_phi: np.ndarray) -> dict[str, float]:
    """The study's ghost-track proxies of one jet from its tracks (ΔR ≤ 0.4 already applied)."""
    order = np.argsort(-t_pt, kind="stable")
    t_pt, t_eta, t_phi = t_pt[order], t_eta[order], t_phi[order]
    dr = np.hypot(t_eta - jet_eta, delta_phi(t_phi, jet_phi))
    n = len(t_pt)
    total = float(t_pt.sum())
    lead_pt = float(t_pt[0]) if n else 0.0
    out = {
        "hist_proxy_nTracks": float(n),
        "hist_proxy_deltaRLeadTrack": float(dr[0]) if n else 0.0,
        "hist_proxy_leadTrackPtRatio": lead_pt / jet_pt if jet_pt > 0 and lead_pt > 0 else 0.0,
        "hist_proxy_angularity_2": float((t_pt * dr**2).sum() / total) if total > 0 else 0.0,
        "hist_proxy_U1_0p7": float((t_pt * dr)[dr <= 0.7].sum() / total) if total > 0 else 0.0,
    }
    inner = dr <= 0.3
    denom = float(t_pt[inner].sum())
    out["hist_proxy_M2_0p3"] = float((t_pt * dr**2)[inner].sum() / denom) if denom > 0 else 0.0
    tau2 = 0.0
    if total > 0 and n >= 2:
        dr1 = np.hypot(t_eta - t_eta[0], delta_phi(t_phi, t_phi[0]))
        dr2 = np.hypot(t_eta - t_eta[1], delta_phi(t_phi, t_phi[1]))
        tau2 = float((t_pt * np.minimum(dr1, dr2)).sum() / (total * JET_R))
    out["hist_proxy_tau2"] = tau2
    return out


def event_values(fields: dict[str, np.ndarray], table: ParticleTable,
                 truelep: bool) -> dict[str, float] | None:
    """The values the study fills for one event (its record as flat arrays), or None if cut."""
    import fastjet

    pid, status = fields["PID"], fields["Status"]
    px, py, pz, e = fields["Px"], fields["Py"], fields["Pz"], fields["E"]
    charge_type = np.array([table.charge_type[int(i)] for i in pid])
    charge = charge_type / 3.0
    final = status == 1
    if truelep:
        picked = _true_pair(pid, fields["D1"], fields["D2"], px, py, pz, charge)
        if picked is None:
            return None
        plus, minus, drop = picked
        if drop:
            final = final.copy()
            final[list(drop)] = False
    else:
        picked = _reco_pair(pid, px, py, pz, e, charge)
        if picked is None:
            return None
        plus, minus = picked
    lep_p, lep_m = _p4(px[plus], py[plus], pz[plus], e[plus]), _p4(px[minus], py[minus], pz[minus],
                                                                   e[minus])
    mll = _mass(lep_p + lep_m)
    if not MLL_WINDOW[0] <= mll <= MLL_WINDOW[1]:
        return None
    visible = final & np.array([table.visible[int(i)] for i in pid])
    inputs = [fastjet.PseudoJet(float(px[i]), float(py[i]), float(pz[i]), float(e[i]))
              for i in np.flatnonzero(visible)]
    sequence = fastjet.ClusterSequence(inputs, fastjet.JetDefinition(fastjet.antikt_algorithm,
                                                                     JET_R))
    jets = sorted(sequence.inclusive_jets(JET_PT_MIN), key=lambda j: -j.pt())
    chosen = None
    for jet in jets:
        p = _p4(jet.px(), jet.py(), jet.pz(), jet.e())
        mllj = _mass(lep_p + lep_m + p)
        if mllj > MLLJ_MAX or abs(jet.eta()) > JET_ETA_MAX:
            continue
        chosen = (jet, mllj)
        break
    if chosen is None:
        return None
    jet, mllj = chosen
    jet_pt, jet_eta, jet_phi = jet.pt(), jet.eta(), jet.phi_std()
    pt, eta, phi = _pt_eta_phi(px, py, pz)
    tracks = final & (charge_type != 0) & (pt >= TRACK_PT_MIN) & (np.abs(eta) <= TRACK_ETA_MAX)
    dr = np.hypot(eta - jet_eta, delta_phi(phi, jet_phi))
    tracks &= dr <= JET_R
    values = {
        "hist_jet1pt": jet_pt, "hist_j1mass": jet.m(), "hist_mlljet": mllj,
        "hist_lep_pt": float(np.hypot(lep_p[0], lep_p[1])),
        "hist_lem_pt": float(np.hypot(lep_m[0], lep_m[1])), "hist_z_mass": mll,
    }
    values.update(track_proxies(jet_pt, jet_eta, jet_phi, pt[tracks], eta[tracks], phi[tracks]))
    return values


def block_values(truth: Any, truelep: bool) -> dict[str, list[float]]:
    """Per histogram, the values of every event of a block that passes the selection."""
    table = ParticleTable.from_ids(truth.fields["PID"])
    offsets = np.concatenate([[0], np.cumsum(truth.counts)])
    out: dict[str, list[float]] = {name: [] for name in HISTOGRAMS}
    for i in range(len(truth.counts)):
        s = slice(offsets[i], offsets[i + 1])
        values = event_values({k: v[s] for k, v in truth.fields.items()}, table, truelep)
        if values is not None:
            for name, value in values.items():
                out[name].append(float(value))
    return out


def options_suffix(config: Any) -> str:
    """The study's ``_reallep_MPIon_ISRon_FSRon_HADon_Amass4.0`` suffix."""
    return (("_truelep" if config.truelep else "_reallep") + f"_{config.switches_tag}"
            + f"_Amass{config.m_a:.1f}")


def write_histograms(directory: str | Path, values: dict[str, list[float]], n_events: int,
                     suffix: str) -> list[Path]:
    """Fill Pythia ``Hist`` objects, normalise them to ``n_events`` (``normalizeSpectrum``) and
    write them as the study does; return the paths."""
    import pythia8mc

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (bins, low, high) in HISTOGRAMS.items():
        hist = pythia8mc.Hist(name, bins, low, high)
        for value in values.get(name, []):
            hist.fill(value, 1.0)
        hist.normalizeSpectrum(float(n_events))
        path = directory / f"{name}{suffix}.dat"
        table = path.with_suffix(".table")
        hist.pyplotTable(str(table), True, False)
        body = table.read_text()
        table.unlink()
        path.write_text(f"# {hist.getTitle()}\n# underflow = {hist.getBinContent(0):g}\n"
                        f"#  overflow = {hist.getBinContent(bins + 1):g}\n{body}")
        paths.append(path)
    return paths


def _run_hist_block(task: Any) -> dict[str, Any]:
    from hzx.generation.pythia_driver import generate_block

    truth = generate_block(list(task.settings), task.pythia_seed, task.events,
                           process=task.config.process, lhe_generator=task.lhe_generator,
                           lhe_start=task.first_event if task.lhe_generator else 0)
    return {"events": len(truth.counts), "n_tried": truth.n_tried,
            "values": block_values(truth, task.config.truelep)}


def generator_histograms(process: str, *, events: int, seed: int, out: str | Path,
                         executor: Any = None, **options: Any) -> dict[str, Any]:
    """Run the study's generator-level histogram driver for ``process`` (``hza``) in blocks on
    ``executor`` and write the histograms into ``out`` (the study's ``hists_PhPy8_HZA``).

    ``options`` are :class:`~hzx.generation.processes.GenerationConfig` fields; the Z decays
    default to e, μ as the study's driver. Returns a summary (also ``summary.json`` in ``out``).
    """
    from hzx.generation.jobs import BlockTask, block_seeds, make_config
    from hzx.generation.lhe import inspect_lhe, rewrite_higgs_id
    from hzx.generation.processes import pythia_settings, validate
    from hzx.runner import ExecutorOptions, map_tasks

    if process != "hza":
        raise ConfigurationError(f"generator_histograms is the study's H → Z a histogram "
                                 f"driver: hza only, not {process!r}")
    options.setdefault("z_decays", "emu")
    options.setdefault("shower_variations", "off")  # commented out in the study's driver
    config = make_config(process, events=events, seed=seed, **options)
    validate(config)
    executor = executor or ExecutorOptions(executor="iterative")
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    lhe_generator = lhe_path = xqcut = None
    n_events = config.events
    if config.lhe:
        info = inspect_lhe(config.lhe)
        lhe_generator, xqcut = info.generator, info.xqcut_gev
        n_events = info.events if n_events <= 0 else min(n_events, info.events)  # ≤ 0: all
        lhe_path = str(rewrite_higgs_id(info.path, out_dir / "input_bsm.lhe"))
    settings = tuple(pythia_settings(config, lhe_path, lhe_generator, xqcut))
    n_blocks = math.ceil(n_events / config.block_size)
    seeds = block_seeds(config.seed, n_blocks)
    tasks = [BlockTask(config, i, i * config.block_size,
                       min(config.block_size, n_events - i * config.block_size),
                       seeds[i][0], seeds[i][1], settings, lhe_generator, "", None)
             for i in range(n_blocks)]
    blocks = map_tasks(_run_hist_block, tasks, executor, desc="dohist",
                       labels=[f"dohist block {i}" for i in range(n_blocks)])
    values: dict[str, list[float]] = {name: [] for name in HISTOGRAMS}
    for block in blocks:
        for name in HISTOGRAMS:
            values[name].extend(block["values"][name])
    generated = int(sum(b["events"] for b in blocks))
    suffix = options_suffix(config)
    paths = write_histograms(out_dir, values, generated, suffix)
    summary = {"process": process, "events_generated": generated,
               "events_selected": len(values["hist_z_mass"]), "suffix": suffix,
               "files": [p.name for p in paths], "config": dataclasses.asdict(config),
               "pythia_settings": list(settings)}
    (out_dir / f"summary{suffix}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
