"""τ₂'s exclusive-kT axes: hzx's compiled clustering against fastjet's ``exclusive_jets(2)``.

On the same synthetic jets (``--jets`` jets of 3 + Poisson(``--mean-tracks`` − 3) massless
tracks, pT-ordered, spread 0.1 around the jet axis, some across φ = ±π), side by side, both on
one thread:

- ``hzx``: :func:`~hzx.processors.track_observables.flat_track_observables` — all seven
  observables of every jet (τ₂'s clustering, BIpt recombination, R = 0.2, is one of them);
- ``fastjet``: fastjet's vectorised interface with every jet as one "event":
  ``ClusterSequence(tracks, kT R = 0.2 BIpt).exclusive_jets(n_jets=2)``, then τ₂ from those
  axes in awkward (Σ pT·min ΔR / (Σ pT · R)); the clustering alone is reported as well.

τ₂ must agree to 1e-9 relative on every jet. Best of ``--repeat`` runs of each.

    python benchmarks/bench_tau2_fastjet.py [--jets 20000] [--mean-tracks 16] [--repeat 3]

Writes ``benchmarks/results/bench_tau2_fastjet.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import timeit
from pathlib import Path

import awkward as ak
import numba
import numpy as np

from hzx.processors.kinematics import delta_r
from hzx.processors.track_observables import (
    JET_RADIUS,
    OBSERVABLE_NAMES,
    SUBJET_RADIUS,
    FlatTracks,
    flat_track_observables,
)

RESULTS = Path(__file__).resolve().parent / "results"


def synthetic_jets(n_jets: int, mean_tracks: float, seed: int = 1):
    """(jet η, jet φ, tracks [jet][track] with pt, eta, phi, mass = 0), pT-ordered tracks."""
    rng = np.random.default_rng(seed)
    counts = 3 + rng.poisson(max(mean_tracks - 3, 0), n_jets)
    jet_eta = rng.uniform(-2.0, 2.0, n_jets)
    jet_phi = rng.uniform(-np.pi, np.pi, n_jets)
    owner = np.repeat(np.arange(n_jets), counts)
    pt = rng.exponential(4.0, counts.sum()) + 0.5
    order = np.lexsort((-pt, owner))  # pT descending within each jet
    eta = jet_eta[owner] + rng.normal(0, 0.1, len(pt))
    phi = jet_phi[owner] + rng.normal(0, 0.1, len(pt))
    phi = np.arctan2(np.sin(phi), np.cos(phi))
    flat = {"pt": pt[order], "eta": eta, "phi": phi, "mass": np.zeros(len(pt))}
    return jet_eta, jet_phi, ak.unflatten(ak.zip(flat), counts)


def tau2_hzx(jet_eta, jet_phi, tracks) -> np.ndarray:
    matrix = flat_track_observables(jet_eta, jet_phi, FlatTracks.from_awkward(tracks),
                                    JET_RADIUS)
    return matrix[:, OBSERVABLE_NAMES.index("tau2")]


def fastjet_axes(tracks):
    import fastjet
    import vector

    vector.register_awkward()
    px, py, pz = (tracks.pt * np.cos(tracks.phi), tracks.pt * np.sin(tracks.phi),
                  tracks.pt * np.sinh(tracks.eta))
    inputs = ak.zip({"px": px, "py": py, "pz": pz, "E": tracks.pt * np.cosh(tracks.eta)},
                    with_name="Momentum4D")
    definition = fastjet.JetDefinition(fastjet.kt_algorithm, SUBJET_RADIUS, fastjet.BIpt_scheme)
    return fastjet.ClusterSequence(inputs, definition).exclusive_jets(n_jets=2)


def tau2_fastjet(tracks) -> np.ndarray:
    axes = fastjet_axes(tracks)
    a_pt = np.hypot(axes.px, axes.py)
    a_eta, a_phi = np.arcsinh(axes.pz / a_pt), np.arctan2(axes.py, axes.px)
    d1 = delta_r(tracks.eta, tracks.phi, a_eta[:, 0], a_phi[:, 0])
    d2 = delta_r(tracks.eta, tracks.phi, a_eta[:, 1], a_phi[:, 1])
    numerator = ak.sum(tracks.pt * np.minimum(d1, d2), axis=1)
    return ak.to_numpy(numerator / (ak.sum(tracks.pt, axis=1) * JET_RADIUS))


def best_of(fn, repeat: int) -> float:
    """Seconds of the fastest of ``repeat`` calls."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=20_000)
    parser.add_argument("--mean-tracks", type=float, default=16.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    numba.set_num_threads(1)  # fastjet clusters on one thread
    jet_eta, jet_phi, tracks = synthetic_jets(args.jets, args.mean_tracks)
    tau2_hzx(jet_eta[:10], jet_phi[:10], tracks[:10])  # load the compiled kernels
    ours, theirs = tau2_hzx(jet_eta, jet_phi, tracks), tau2_fastjet(tracks)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)
    t_hzx = best_of(lambda: tau2_hzx(jet_eta, jet_phi, tracks), args.repeat)
    t_cluster = best_of(lambda: fastjet_axes(tracks), args.repeat)
    t_fastjet = best_of(lambda: tau2_fastjet(tracks), args.repeat)
    result = {
        "jets": args.jets, "mean_tracks": float(ak.mean(ak.num(tracks))),
        "hzx_seven_observables_s": t_hzx, "fastjet_clustering_s": t_cluster,
        "fastjet_tau2_s": t_fastjet, "fastjet_tau2_over_hzx": t_fastjet / t_hzx,
        "fastjet_clustering_over_hzx": t_cluster / t_hzx,
        "machine": platform.machine(), "python": platform.python_version(),
    }
    print(f"{args.jets} jets, {result['mean_tracks']:.1f} tracks per jet; τ₂ equal to 1e-9")
    print(f"  hzx, all seven observables:      {t_hzx:.3f} s "
          f"({1e6 * t_hzx / args.jets:.2f} µs/jet)")
    print(f"  fastjet exclusive_jets(2) alone: {t_cluster:.3f} s "
          f"({1e6 * t_cluster / args.jets:.2f} µs/jet)")
    print(f"  fastjet + τ₂ in awkward:         {t_fastjet:.3f} s "
          f"({1e6 * t_fastjet / args.jets:.2f} µs/jet)")
    print(f"  fastjet τ₂ / hzx = {result['fastjet_tau2_over_hzx']:.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_tau2_fastjet.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
