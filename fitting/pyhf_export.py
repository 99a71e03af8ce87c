"""Export a :class:`TemplateModel` and data as a pyhf JSON workspace (HistFactory).

Each template becomes a sample whose ``data`` are its events per bin at scale 1, carrying a
``normfactor`` modifier named after its scale factor (templates sharing a parameter share the
modifier). Fixed parameters are marked ``fixed`` in the measurement, with their value as ``inits``.
With ``mc_stat`` every sample also carries a ``staterror`` modifier (pyhf's Barlow–Beeston-lite)
with √(sum of squared weights) per bin. The POI is the signal scale factor ``s_s`` when present.
pyhf's likelihood is Poisson, so its best fit equals ours with ``statistic="poisson"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError
from hzx.fitting.model import SIGNAL_PARAMETER, TemplateModel


def to_pyhf_workspace(
    model: TemplateModel,
    data: Any,
    *,
    channel: str = "m4l",
    measurement: str = "hzx_fit",
    poi: str | None = None,
    bounds: tuple[float, float] = (0.0, 20.0),
) -> dict[str, Any]:
    """The workspace as a JSON-ready dict (validate with ``pyhf.Workspace(spec)``)."""
    obs = model.check_data(data)
    poi = poi or (SIGNAL_PARAMETER if SIGNAL_PARAMETER in model.parameters else model.parameters[0])
    if poi not in model.parameters:
        raise ConfigurationError(f"POI {poi!r} is not a parameter; the model has {', '.join(model.parameters)}")
    samples = []
    for template in model.templates:
        modifiers: list[dict[str, Any]] = [
            {"name": template.parameter, "type": "normfactor", "data": None}
        ]
        if model.mc_stat and template.variances is not None:
            modifiers.append({
                "name": f"staterror_{channel}",
                "type": "staterror",
                "data": np.sqrt(np.maximum(template.variances, 0.0)).tolist(),
            })
        samples.append({"name": template.name, "data": template.values.tolist(), "modifiers": modifiers})
    parameters = []
    for name in model.parameters:
        entry: dict[str, Any] = {"name": name, "inits": [model.value_of(name)], "bounds": [list(bounds)]}
        if name in model.fixed:
            entry["fixed"] = True
        parameters.append(entry)
    return {
        "channels": [{"name": channel, "samples": samples}],
        "observations": [{"name": channel, "data": obs.tolist()}],
        "measurements": [{"name": measurement, "config": {"poi": poi, "parameters": parameters}}],
        "version": "1.0.0",
    }


def write_pyhf_workspace(model: TemplateModel, data: Any, path: str | Path, **options: Any) -> Path:
    """Write :func:`to_pyhf_workspace` as JSON to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_pyhf_workspace(model, data, **options), indent=2) + "\n")
    return path
