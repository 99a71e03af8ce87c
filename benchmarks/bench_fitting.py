"""Coverage study (exercise 6): notebook-style per-toy loops against the vectorised hzx.fitting.

The same study — Poisson toys at a known truth (s_s, s_b), each refit in 2-D with the Pearson χ²,
q = χ²(truth) − χ²_min, coverage f(2.30) and the 68.3 % critical value — is run three ways:

1. ``notebook loop``: what the notebook's hints lead to — toys drawn bin by bin in Python, each
   "fit" by the notebook's 100 × 100 grid double loop over (s_s, s_b) calling calcChiSq.
2. ``iminuit loop``: a sensible per-toy loop — one iminuit MIGRAD fit per toy.
3. ``vectorised``: :func:`hzx.fitting.coverage` — all toys and all refits as array operations.

The loops are slow, so they run fewer toys (``--loop-toys``, ``--grid-toys``) and their time is
scaled per toy to the vectorised count; the table says which. Timings are wall-clock seconds on
this machine (``os.cpu_count()`` and the load average are recorded with the results).

Run: ``python benchmarks/bench_fitting.py [--toys 100000] [--loop-toys 1000] [--grid-toys 100]``.
Writes ``benchmarks/results/bench_fitting.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from hzx.fitting import CoverageConfig, coverage, notebook_model

EDGES = np.linspace(80.0, 250.0, 35)
CENTRES = 0.5 * (EDGES[1:] + EDGES[:-1])
#: notebook-like expected events per 5 GeV bin at 10 fb⁻¹: ZZ* continuum with the Z → 4l peak,
#: and the H(125) peak (≈ 10 signal events in all)
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01
TRUTH = (1.5, 1.3)
CRITICAL = 2.30


def calc_chi_sq(obs: np.ndarray, preds: np.ndarray) -> tuple[float, int]:
    """The notebook's calcChiSq, filled in with the Pearson χ² (ndf = bins − 2)."""
    return float(np.sum((obs - preds) ** 2 / preds)), len(obs) - 2


def notebook_grid_loop(n_toys: int, seed: int) -> np.ndarray:
    """Per toy: bin-by-bin Poisson draws, then the notebook's 100 × 100 grid scan as the 2-D fit."""
    rng = np.random.default_rng(seed)
    means = TRUTH[0] * SIG + TRUTH[1] * BKG
    s_s_ar = np.linspace(0.1, 2.7, 100)
    s_b_ar = np.linspace(1.1, 1.5, 100)
    q = np.empty(n_toys)
    for t in range(n_toys):
        toy = np.empty(len(means))
        for i in range(len(means)):
            toy[i] = rng.poisson(means[i])
        min_chi2 = 1e6
        for s_s in s_s_ar:
            for s_b in s_b_ar:
                value = calc_chi_sq(toy, s_s * SIG + s_b * BKG)[0]
                min_chi2 = min(min_chi2, value)
        q[t] = calc_chi_sq(toy, means)[0] - min_chi2
    return q


def _pearson_cost(toy: np.ndarray):
    def cost(s_s: float, s_b: float) -> float:
        pred = s_s * SIG + s_b * BKG
        return float(np.sum((toy - pred) ** 2 / pred)) if np.all(pred > 0) else 1e300

    return cost


def iminuit_loop(n_toys: int, seed: int) -> np.ndarray:
    """Per toy: Poisson draws, then one iminuit MIGRAD fit of (s_s, s_b)."""
    from iminuit import Minuit

    rng = np.random.default_rng(seed)
    means = TRUTH[0] * SIG + TRUTH[1] * BKG
    q = np.empty(n_toys)
    for t in range(n_toys):
        toy = rng.poisson(means).astype(float)

        minuit = Minuit(_pearson_cost(toy), s_s=TRUTH[0], s_b=TRUTH[1])
        minuit.errordef = Minuit.LEAST_SQUARES
        minuit.migrad()
        q[t] = calc_chi_sq(toy, means)[0] - minuit.fval
    return q


def summarise(q: np.ndarray) -> dict[str, float]:
    f = float(np.mean(q <= CRITICAL))
    return {
        "f_2.30": f,
        "f_2.30_err": float(np.sqrt(f * (1 - f) / q.size)),
        "d68": float(np.quantile(q, 0.6827)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--toys", type=int, default=100_000, help="vectorised toys")
    parser.add_argument("--loop-toys", type=int, default=1_000, help="toys of the iminuit loop")
    parser.add_argument("--grid-toys", type=int, default=100, help="toys of the notebook grid loop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_fitting.json"))
    args = parser.parse_args()

    model = notebook_model(SIG, BKG)
    rows = []

    start = time.perf_counter()
    q_grid = notebook_grid_loop(args.grid_toys, args.seed)
    rows.append(("notebook loop (grid 100×100)", args.grid_toys, time.perf_counter() - start, summarise(q_grid)))

    start = time.perf_counter()
    q_minuit = iminuit_loop(args.loop_toys, args.seed)
    rows.append(("iminuit loop (MIGRAD per toy)", args.loop_toys, time.perf_counter() - start, summarise(q_minuit)))

    coverage(model, TRUTH, config=CoverageConfig(n_toys=1000), seed=0)  # warm caches / imports
    start = time.perf_counter()
    cov = coverage(model, TRUTH, config=CoverageConfig(n_toys=args.toys), seed=args.seed)
    elapsed = time.perf_counter() - start
    rows.append(("vectorised hzx.fitting", args.toys, elapsed, summarise(cov.q)))

    vector_per_toy = elapsed / args.toys
    print(f"coverage study: Pearson χ², Poisson toys at (s_s, s_b) = {TRUTH}, 2-D refit per toy, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    header = f"{'method':32s} {'toys':>7s} {'time [s]':>9s} {'ms/toy':>8s} {'t(1e5) [s]':>11s} {'speed-up':>9s}  f(2.30)          d68"
    print(header)
    print("-" * len(header))
    results = []
    for name, n, seconds, summary in rows:
        per_toy = seconds / n
        projected = per_toy * 1e5
        speedup = per_toy / vector_per_toy
        print(f"{name:32s} {n:7d} {seconds:9.2f} {per_toy * 1e3:8.3f} {projected:11.1f} {speedup:8.0f}×  "
              f"{summary['f_2.30']:.3f} ± {summary['f_2.30_err']:.3f}  {summary['d68']:.2f}")
        results.append({"method": name, "toys": n, "seconds": seconds, "ms_per_toy": per_toy * 1e3,
                        "projected_1e5_s": projected, "speedup_vs_vectorised": speedup, **summary})
    print("(loop rows ran fewer toys; t(1e5) and the speed-up are scaled per toy. The grid loop's "
          "q is limited by the grid's step and range, and its f, d68 carry the error of its few toys.)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "truth": TRUTH, "statistic": "pearson", "toys": "poisson", "results": results,
        "cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
        "machine": platform.machine(),
    }, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
