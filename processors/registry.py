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

from hzx.errors import UnknownSampleError
from hzx.options import parse_assignments


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


def build(name: str, assignments: list[str] | None = None) -> tuple[Any, ProcessorSpec, type]:
    """Instantiate processor ``name`` with ``KEY=VALUE`` option overrides: (processor, spec, schema)."""
    spec = get_spec(name)
    options_cls = _load(spec.options)
    # the one KEY=VALUE grammar of hzx, typed by the options dataclass's annotations
    options = options_cls(**parse_assignments(options_cls, assignments,
                                              f"the options of processor {name!r}"))
    return _load(spec.processor)(options), spec, _load(spec.schema)
