"""Device choice, determinism and the optimisation loop shared by both trainers."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hzx.errors import ConfigurationError
from hzx.nn.config import TrainConfig

#: Rows per forward pass when predicting (memory, not statistics).
PREDICT_CHUNK = 65536


def resolve_device(requested: str = "auto") -> str:
    """``cuda`` when requested or (``auto``) available, else ``cpu``."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError("device 'cuda' requested but torch sees no GPU "
                                 "(torch.cuda.is_available() is False)")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def device_description(device: str) -> dict:
    """What ran the training, for metrics.json."""
    import torch

    info = {"device": device, "torch": torch.__version__, "cpu_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        info["cuda_device_name"] = torch.cuda.get_device_name(0)
    return info


@contextlib.contextmanager
def reproducible(seed: int, deterministic: bool = True, num_threads: int | None = None,
                 device: str = "cpu"):
    """Seed torch and fix the CPU threads, restoring the previous global settings afterwards.

    On CUDA ``torch.use_deterministic_algorithms(True)`` is switched on as well (with the
    cuBLAS workspace setting it needs). On CPU the kernels this MLP uses are deterministic for
    a fixed thread count, and the switch is skipped: its first call imports ``torch._inductor``
    (several seconds).
    """
    import torch

    use_switch = deterministic and device.startswith("cuda")
    if use_switch:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        previous_deterministic = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True, warn_only=True)
    previous_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(int(num_threads))
    torch.manual_seed(seed)
    try:
        yield
    finally:
        if use_switch:
            torch.use_deterministic_algorithms(previous_deterministic)
        torch.set_num_threads(previous_threads)


def predict(model, features: np.ndarray, device: str, chunk: int = PREDICT_CHUNK) -> np.ndarray:
    """Raw network outputs (N,) float32 for preprocessed features, in eval mode."""
    import torch

    model.eval()
    out = np.empty(len(features), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(features), chunk):
            batch = torch.from_numpy(np.ascontiguousarray(features[start:start + chunk])).to(device)
            out[start:start + chunk] = model(batch).squeeze(1).float().cpu().numpy()
    return out


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    history : dict of lists
        Per epoch: ``train_loss``, ``val_loss`` (and ``val_objective`` when a callback returns one).
    best_epoch : int
        1-based epoch whose weights were kept (lowest validation loss).
    epochs_run : int
    train_seconds : float
        Wall time of the optimisation loop (validation passes included), s.
    train_samples_per_second : float
        Training jets processed per second of the loop.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    epochs_run: int = 0
    train_seconds: float = 0.0
    train_samples_per_second: float = 0.0


def fit(model, loss_fn: Callable, train: tuple, val: tuple, config: TrainConfig, device: str,
        epoch_callback: Callable[[int, np.ndarray], float | None] | None = None) -> FitResult:
    """Minimise ``loss_fn(output, target, weight)`` with Adam and early stopping.

    ``train`` and ``val`` are ``(features, targets, weights)`` numpy arrays (features already
    preprocessed). Batches are drawn in an order set by a ``torch.Generator`` seeded with
    ``config.seed``. After the loop the weights of the epoch with the lowest validation loss are
    restored. ``epoch_callback(epoch, val_outputs)`` runs after every epoch (Optuna reporting
    and pruning); a number it returns is recorded as ``val_objective``.
    """
    import torch

    x_train, y_train, w_train = (torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in train)
    x_val, y_val, w_val = (torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in val)
    n_train = len(x_train)
    if n_train == 0 or len(x_val) == 0:
        raise ConfigurationError(
            f"empty training ({n_train}) or validation ({len(x_val)}) split: more jets needed")
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    has_batch_norm = any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())
    result = FitResult(history={"train_loss": [], "val_loss": []})
    best_loss, best_state, since_best = math.inf, None, 0
    start = time.perf_counter()
    processed = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n_train, generator=generator).to(device)
        total, count = 0.0, 0
        for first in range(0, n_train, config.batch_size):
            index = order[first:first + config.batch_size]
            if has_batch_norm and len(index) < 2:
                continue  # batch norm cannot train on a single jet
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[index]).squeeze(1), y_train[index], w_train[index])
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(index)
            count += len(index)
        processed += count
        model.eval()
        with torch.inference_mode():
            outputs = torch.cat([model(x_val[i:i + PREDICT_CHUNK]).squeeze(1)
                                 for i in range(0, len(x_val), PREDICT_CHUNK)])
            val_loss = float(loss_fn(outputs, y_val, w_val))
        result.history["train_loss"].append(total / max(count, 1))
        result.history["val_loss"].append(val_loss)
        result.epochs_run = epoch
        if epoch_callback is not None:
            objective = epoch_callback(epoch, outputs.float().cpu().numpy())
            if objective is not None:
                result.history.setdefault("val_objective", []).append(float(objective))
        if val_loss < best_loss:
            best_loss, since_best, result.best_epoch = val_loss, 0, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if config.patience and since_best >= config.patience:
                break
        if not math.isfinite(val_loss):
            break
    result.train_seconds = time.perf_counter() - start
    result.train_samples_per_second = processed / result.train_seconds if result.train_seconds else 0.0
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result
