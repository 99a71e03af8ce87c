"""Normalisation of simulated samples to a luminosity."""

from __future__ import annotations

import math
from collections.abc import Mapping

from hzx.errors import ConfigurationError

#: Number of pb⁻¹ in one fb⁻¹ (luminosity in fb⁻¹ × cross-section in pb needs this factor).
PB_INV_PER_FB_INV = 1000.0


def xsec_weight(xsec_pb: float, sumw: float, lumi_fb: float, red_eff: float = 1.0) -> float:
    """Weight per unit generator weight: lumi[fb⁻¹]·1000·xsec[pb] / (sumw·red_eff).

    Multiply by each event's ``mcWeight`` and scale factors to get its expected count.
    """
    for name, value in (("xsec_pb", xsec_pb), ("sumw", sumw), ("lumi_fb", lumi_fb),
                        ("red_eff", red_eff)):
        if value is None or not math.isfinite(value):
            raise ConfigurationError(f"normalisation needs a finite {name}, got {value!r}")
    if sumw <= 0 or red_eff <= 0:
        raise ConfigurationError(
            f"normalisation needs sumw > 0 and red_eff > 0, got sumw={sumw}, red_eff={red_eff}"
        )
    return lumi_fb * PB_INV_PER_FB_INV * xsec_pb / (sumw * red_eff)


def weight_from_metadata(metadata: Mapping, dataset: str = "?") -> float:
    """:func:`xsec_weight` from fileset metadata (``xsec_pb``, ``sumw``, ``lumi_fb``, ``red_eff``).

    Missing keys are an error naming the dataset and what is missing.
    """
    missing = [k for k in ("xsec_pb", "sumw", "lumi_fb") if metadata.get(k) is None]
    if missing:
        raise ConfigurationError(
            f"simulated dataset {dataset!r} has no {', '.join(missing)} in its fileset metadata; "
            "build the fileset with build_fileset or fileset_from_generation (`hzx samples "
            "fileset`), or add them by hand"
        )
    values = {}
    for key in ("xsec_pb", "sumw", "lumi_fb", "red_eff"):
        raw = (metadata.get(key) or 1.0) if key == "red_eff" else metadata[key]
        try:
            values[key] = float(raw if raw is not None else 1.0)
        except (TypeError, ValueError):
            raise ConfigurationError(f"dataset {dataset!r}: {key} = {raw!r} in its fileset "
                                     "metadata is not a number") from None
    if values["lumi_fb"] <= 0:
        raise ConfigurationError(f"dataset {dataset!r}: lumi_fb must be > 0, "
                                 f"got {values['lumi_fb']:g}")
    try:
        return xsec_weight(values["xsec_pb"], values["sumw"], values["lumi_fb"], values["red_eff"])
    except ConfigurationError as err:
        raise ConfigurationError(f"dataset {dataset!r}: {err}") from None
