"""Named processors of ``hzx run NAME``: where each lives, which tree and schema it reads.

Entries are import paths so that ``hzx --help`` imports nothing heavy. Every processor class
subclasses :class:`hzx.processors.base.HzxProcessor` (the contract: read its docstring): it sets
``options_class`` (one frozen options dataclass; ``Processor(options)``, defaults reproduce the
seeds) and implements ``accumulator(dataset, metadata)`` and ``fill(events, out, metadata)``;
it may extend ``required_branches()``, ``validate_metadata(dataset, metadata)`` and
``infer_role(dataset)``. The template ``process`` fills the bookkeeping metadata once; the runner
resolves each dataset's role once (fileset metadata, else ``infer_role``) and writes it after the run.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from hzx.errors import ConfigurationError, UnknownSampleError


@dataclasses.dataclass(frozen=True)
class ProcessorSpec:
    name: str
    processor: str  # "module:Class"
    options: str  # "module:OptionsClass"
    treename: str
    schema: str  # "module:SchemaClass"
    description: str


PROCESSORS: dict[str, ProcessorSpec] = {
    spec.name: spec
    for spec in (
        ProcessorSpec(
            "fourlep",
            "hzx.processors.fourlep:FourLeptonProcessor",
            "hzx.processors.fourlep:FourLeptonOptions",
            "mini",
            "hzx.processors.schemas:AtlasOpenDataSchema",
            "H → ZZ* → 4ℓ selection of the 'How much Higgs?' notebook (ATLAS Open Data mini trees)",
        ),
        ProcessorSpec(
            "hza2018",
            "hzx.processors.hza2018:HZa2018Processor",
            "hzx.processors.hza2018:HZa2018Options",
            "Delphes",
            "hzx.processors.delphes:HzxDelphesSchema",
            "HZa2018 selection of H → Z(ℓℓ) a(→ hadrons) on Delphes files",
        ),
        ProcessorSpec(
            "tracks",
            "hzx.processors.tracks:TrackObservablesProcessor",
            "hzx.processors.tracks:TrackObservablesOptions",
            "Delphes",
            "hzx.processors.delphes:HzxDelphesSchema",
            "the seven track observables of every jet, truth labels, training columns",
        ),
        ProcessorSpec(
            "truth",
            "hzx.processors.truth:TruthProcessor",
            "hzx.processors.truth:TruthOptions",
            "Delphes",
            "hzx.processors.delphes:HzxDelphesSchema",
            "truth Z, a, J/ψ, η_c kinematics from the Particle record",
        ),
    )
}


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def get_spec(name: str) -> ProcessorSpec:
    try:
        return PROCESSORS[name]
    except KeyError:
        raise UnknownSampleError(
            f"unknown processor {name!r}; available: {', '.join(PROCESSORS)}"
        ) from None


def parse_option_assignments(options_cls: type, assignments: list[str] | None) -> dict[str, Any]:
    """Turn ``["key=value", …]`` into keyword arguments typed after ``options_cls``'s defaults."""
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    defaults = options_cls()
    kwargs: dict[str, Any] = {}
    for text in assignments or []:
        key, sep, value = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise ConfigurationError(
                f"bad option {text!r}: use KEY=VALUE with KEY one of {', '.join(fields)}"
            )
        current = getattr(defaults, key)
        try:
            if isinstance(current, bool):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(value)
                kwargs[key] = value.lower() in ("true", "1", "yes", "on")
            elif isinstance(current, int):
                kwargs[key] = int(value)
            elif isinstance(current, float):
                kwargs[key] = float(value)
            elif isinstance(current, tuple):
                kwargs[key] = tuple(type(current[0])(v) if current else v for v in value.split(","))
            elif current is None:
                kwargs[key] = None if value.lower() == "none" else value
            else:
                kwargs[key] = type(current)(value)
        except ValueError:
            raise ConfigurationError(
                f"option {key}: cannot read {value!r} as {type(current).__name__}"
            ) from None
    return kwargs


def build(name: str, assignments: list[str] | None = None) -> tuple[Any, ProcessorSpec, type]:
    """Instantiate processor ``name`` with ``KEY=VALUE`` option overrides: (processor, spec, schema)."""
    spec = get_spec(name)
    options_cls = _load(spec.options)
    options = options_cls(**parse_option_assignments(options_cls, assignments))
    return _load(spec.processor)(options), spec, _load(spec.schema)
