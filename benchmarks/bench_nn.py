"""Benchmark of hzx.nn: training throughput (jets/s) and inference throughput (jets/s).

Runs the study's default regression network (hidden 50 × 5, batch norm, no dropout, msle;
batches of 256 here) on synthetic jets of the study's HDF5 layout, on the CPU and — when torch sees one — on CUDA.
Also times ``apply_regression`` end to end (HDF5 read, inference, HDF5 write).

    python benchmarks/bench_nn.py [--n-jets 100000] [--epochs 3] [--threads N]

Writes ``benchmarks/results/bench_nn.json`` (git-ignored) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def bench_device(device: str, n_jets: int, epochs: int, batch_size: int, threads: int | None,
                 workdir: Path) -> dict:
    import numpy as np
    import torch

    from hzx.nn.apply import apply_regression
    from hzx.nn.config import DataConfig, TrainConfig
    from hzx.nn.pipeline import REGRESSION, prepare
    from hzx.nn.regression import train_regression
    from hzx.nn.synthetic import write_synthetic_h5
    from hzx.nn.training import predict

    if threads:
        torch.set_num_threads(threads)
    n_class = n_jets // 5
    path = workdir / "bench.h5"
    if not path.exists():
        write_synthetic_h5(path, n_per_class=n_class, n_background=n_jets - 4 * n_class, seed=1)
    data = DataConfig(input_h5=(path,))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, patience=0, device=device,
                         plots=False, num_threads=threads)
    prepared = prepare(data, REGRESSION, config.seed)
    # Warm-up (lazy imports, CUDA context), then the timed run.
    train_regression(data, config.replace(epochs=1), workdir / f"warm_{device}", prepared=prepared)
    run = train_regression(data, config, workdir / f"run_{device}", prepared=prepared)
    training = run.metrics["training"]

    x = np.ascontiguousarray(np.tile(prepared.x, (max(1, 1_000_000 // len(prepared.x)), 1)))
    predict(run.model, x[:65536], device)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        predict(run.model, x, device)
        if device == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - start)
    apply_summary = apply_regression(workdir / f"run_{device}", path, workdir / f"applied_{device}.h5",
                                     overwrite=True, device=device)
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor(),
        "torch_threads": torch.get_num_threads(),
        "training_jets": len(prepared.train),
        "epochs": training["epochs_run"],
        "batch_size": batch_size,
        "train_samples_per_second": training["train_samples_per_second"],
        "train_seconds": training["train_seconds"],
        "inference_jets": len(x),
        "inference_jets_per_second": len(x) / min(timings),
        "apply_h5_jets": apply_summary["shape"][0],
        "apply_h5_jets_per_second": apply_summary["jets_per_second"],
        "test_r2": run.metrics["r2"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--output", type=Path, default=RESULTS / "bench_nn.json")
    args = parser.parse_args(argv)

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for device in devices:
            result = bench_device(device, args.n_jets, args.epochs, args.batch_size, args.threads,
                                  Path(tmp))
            results.append(result)
            print(f"{device:5s} train {result['train_samples_per_second']:>12,.0f} jets/s  "
                  f"inference {result['inference_jets_per_second']:>14,.0f} jets/s  "
                  f"apply(HDF5) {result['apply_h5_jets_per_second']:>12,.0f} jets/s  "
                  f"R² {result['test_r2']:.3f}")
    payload = {"benchmark": "hzx.nn", "host": platform.node(), "cpu_count": __import__("os").cpu_count(),
               "torch": torch.__version__, "n_jets": args.n_jets, "results": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
