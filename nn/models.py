"""The multilayer perceptron used by both trainers, and its checkpoint format (``model.pt``)."""

from __future__ import annotations

from pathlib import Path

from hzx.errors import InputFileError

CHECKPOINT_FORMAT = "hzx.nn.mlp/1"


def build_mlp(n_inputs: int, hidden_sizes, dropout: float = 0.1, batch_norm: bool = True):
    """``[Linear → (BatchNorm1d) → ReLU → (Dropout)] × len(hidden_sizes) → Linear(·, 1)``.

    The single output is the mass in GeV (regression) or the logit of the signal
    probability (classification).
    """
    from torch import nn

    layers: list = []
    width = n_inputs
    for size in hidden_sizes:
        layers.append(nn.Linear(width, int(size)))
        if batch_norm:
            layers.append(nn.BatchNorm1d(int(size)))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def save_checkpoint(path: str | Path, model, *, task: str, n_inputs: int, hidden_sizes,
                    dropout: float, batch_norm: bool, preprocessor: dict,
                    feature_names: list[str], features_key: str, extra: dict | None = None) -> Path:
    """Write ``model.pt``: weights (on CPU), architecture, preprocessing and feature names."""
    import torch

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({
        "format": CHECKPOINT_FORMAT,
        "task": task,
        "architecture": {"n_inputs": int(n_inputs), "hidden_sizes": [int(h) for h in hidden_sizes],
                         "dropout": float(dropout), "batch_norm": bool(batch_norm)},
        "preprocessor": preprocessor,
        "feature_names": list(feature_names),
        "features_key": features_key,
        "extra": extra or {},
        "state_dict": state,
    }, Path(path))
    return Path(path)


def load_checkpoint(path: str | Path, device: str = "cpu"):
    """Rebuild a model from ``model.pt`` (or a run directory holding one), in eval mode.

    Returns ``(model, checkpoint_dict)``.
    """
    import torch

    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        raise InputFileError(str(path), "model file does not exist")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises several unrelated types for corrupt files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputFileError(str(path), f"not a readable hzx model checkpoint ({first})") from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise InputFileError(str(path), f"not an hzx model checkpoint (format {CHECKPOINT_FORMAT})")
    arch = checkpoint["architecture"]
    model = build_mlp(arch["n_inputs"], arch["hidden_sizes"], arch["dropout"], arch["batch_norm"])
    model.load_state_dict(checkpoint["state_dict"])
    model.to(device).eval()
    return model, checkpoint
