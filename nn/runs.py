"""What every trainer does around its task: start the run, the common metrics, the saved files.

:func:`hzx.nn.regression.train_regression` and :func:`hzx.nn.classification.train_classifier`
differ only in evaluation; the preamble (device, prepared jets, the fit) and the run directory's
shared content (``model.pt``, ``scaler.json``, ``metrics.json``, ``best_model.pth``) live here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def start_run(data: Any, config: Any, task: str, output_dir: str | Path,
              prepared: Any = None) -> tuple[Path, str, Any, Any, Any]:
    """Create ``output_dir``, pick the device, prepare the jets (unless given) and train.

    Returns ``(output_dir, device, prepared, model, fit_result)``.
    """
    from hzx.nn.pipeline import prepare, train_network
    from hzx.nn.training import resolve_device

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    prepared = prepared or prepare(data, task, config.seed)
    model, fit_result = train_network(prepared, config, device)
    return output_dir, device, prepared, model, fit_result


def common_metrics(data: Any, config: Any, device: str, prepared: Any, model: Any,
                   fit_result: Any, extra_eval: dict, extra_metrics: dict | None,
                   step: str, units: dict[str, str]) -> dict[str, Any]:
    """The metrics.json entries every task writes (units, seed, device, splits, training
    history, inference speed in jets/s, extra evaluations, provenance)."""
    from hzx.nn.pipeline import measure_inference, run_details
    from hzx.nn.training import device_description
    from hzx.provenance import provenance

    return {
        "units": units,
        "seed": config.seed,
        "device": device,
        "device_info": device_description(device),
        "splits": {"train": len(prepared.train), "val": len(prepared.val),
                   "test": len(prepared.test)},
        "selection": prepared.selection,
        "features": prepared.table.feature_names,
        "training": {"best_epoch": fit_result.best_epoch, "epochs_run": fit_result.epochs_run,
                     "train_seconds": fit_result.train_seconds,
                     "train_samples_per_second": fit_result.train_samples_per_second,
                     "history": fit_result.history},
        "inference_jets_per_second": measure_inference(model, prepared.x[prepared.test], device),
        "extra_eval": extra_eval,
        **(extra_metrics or {}),
        "provenance": provenance(step, **run_details(data, config, device)),
    }


def save_run(output_dir: Path, model: Any, task: str, data: Any, config: Any, prepared: Any,
             metrics: dict[str, Any], checkpoint_extra: dict[str, Any]) -> None:
    """Write model.pt (hzx checkpoint), scaler.json, metrics.json and best_model.pth (the
    study's layer names)."""
    from hzx.nn.models import save_checkpoint
    from hzx.nn.pipeline import write_json
    from hzx.nn.study import save_study_checkpoint

    save_checkpoint(output_dir / "model.pt", model, task=task, n_inputs=prepared.x.shape[1],
                    hidden_sizes=config.hidden_sizes, dropout=config.dropout,
                    batch_norm=config.batch_norm, preprocessor=prepared.preprocessor.to_dict(),
                    feature_names=prepared.table.feature_names, features_key=data.features_key,
                    extra=checkpoint_extra)
    prepared.preprocessor.save(output_dir / "scaler.json")
    write_json(output_dir / "metrics.json", metrics)
    save_study_checkpoint(output_dir / "best_model.pth", model, task)
