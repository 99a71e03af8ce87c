"""Reading Delphes files: optional-field defaults, required collections, track-collection choice.

Delphes writes one TClonesArray per collection; uproot and coffea see a counter ``<Name>_size`` and
sub-branches ``<Name>.<Field>`` of a branch ``<Name>`` (full path ``<Name>/<Name>.<Field>``).
Files written by uproot (hzx's generated files and test fixtures, see
:mod:`hzx.generation.writers`) are flat: their branches are named either ``<Name>.<Field>``
(layout ``study``) or literally ``<Name>/<Name>.<Field>`` (layout ``coffea``).
:class:`HzxDelphesSchema` reads all three; :func:`canonical_keys` and :func:`read_collections`
do the same for plain uproot code. Older Delphes versions lack some fields that newer ones have
(``Track.Mass`` appeared in 3.5). :class:`HzxDelphesSchema` is coffea's ``DelphesSchema`` with the
missing *optional* fields filled by documented constants (:data:`OPTIONAL_FIELD_DEFAULTS`), so the
processors read old and new files alike. Missing *required* collections are an error that names the
file and the collection (:func:`require_collections`), never a silent zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import awkward as ak
import numpy as np
from coffea.nanoevents import DelphesSchema, transforms

from hzx.errors import InputFileError

#: Field defaults for collections whose files lack the field. Keys: field name; value: the constant.
#: Which collections each applies to is in :data:`OPTIONAL_FIELDS_BY_MIXIN`.
OPTIONAL_FIELD_DEFAULTS: dict[str, float] = {
    "Mass": 0.0,  # Track.Mass before Delphes 3.5: tracks are then treated as massless (GeV)
    "D0": 0.0,  # impact parameters (mm) of very old track collections
    "DZ": 0.0,
    "PID": 0.0,
    "Charge": 0.0,
    "BTag": 0.0,  # jets without tagging modules: untagged
    "TauTag": 0.0,
}

#: Optional fields per coffea mixin (``DelphesSchema.mixins`` maps collection name → mixin).
OPTIONAL_FIELDS_BY_MIXIN: dict[str, tuple[str, ...]] = {
    "Track": ("Mass", "D0", "DZ", "PID", "Charge"),
    "Jet": ("Mass", "BTag", "TauTag"),
    "Particle": ("Mass",),
}

#: Track collections in order of preference (the study: ``Track``, else ``EFlowTrack``).
TRACK_COLLECTIONS = ("Track", "EFlowTrack")


class HzxDelphesSchema(DelphesSchema):
    """coffea's ``DelphesSchema`` that also reads flat ``<C>.<Field>`` branches and fills missing
    optional fields (:data:`OPTIONAL_FIELD_DEFAULTS`).

    Branches ``<C>.<Field>`` of a collection with a counter ``<C>_size`` are taken as
    ``<C>/<C>.<Field>`` (what coffea's schema groups by). Missing fields become constant float32
    arrays with the collection's jagged structure, so that e.g. ``events.Track.mass`` exists
    (zero) for files written before Delphes 3.5; :func:`missing_optional_fields` says which a
    file lacks (the schema itself only sees forms).
    """

    def _build_collections(self, branch_forms: dict[str, Any]) -> dict[str, Any]:
        for key in list(branch_forms):
            canonical = canonical_key(key, branch_forms)
            if canonical != key and canonical not in branch_forms:
                branch_forms[canonical] = branch_forms.pop(key)
        collections = {k.split("/")[0] for k in branch_forms if "/" in k}
        for name in collections:
            mixin = self.mixins.get(name)
            counter = f"{name}_size"
            if mixin not in OPTIONAL_FIELDS_BY_MIXIN or counter not in branch_forms:
                continue
            offsets = transforms.counts2offsets_form(branch_forms[counter])
            for field in OPTIONAL_FIELDS_BY_MIXIN[mixin]:
                key = f"{name}/{name}.{field}"
                if key not in branch_forms:
                    branch_forms[key] = transforms.full_like_from_offsets_form(
                        offsets, OPTIONAL_FIELD_DEFAULTS[field]
                    )
        return super()._build_collections(branch_forms)


def canonical_key(key: str, keys: Iterable[str] | dict[str, Any]) -> str:
    """``key`` as the full path ``<C>/<C>.<Field>`` when it is a flat ``<C>.<Field>`` branch of a
    collection whose counter ``<C>_size`` is among ``keys``; otherwise ``key`` itself."""
    if "/" in key or "." not in key:
        return key
    collection = key.split(".", 1)[0]
    return f"{collection}/{key}" if f"{collection}_size" in keys else key


def canonical_keys(keys: Iterable[str]) -> dict[str, str]:
    """Full path ``<C>/<C>.<Field>`` → the tree's own key, for every branch of ``keys`` (a real
    Delphes file's, or a flat file of either layout of :mod:`hzx.generation.writers`)."""
    keys = list(keys)
    present = set(keys)
    return {canonical_key(k, present): k for k in keys}


def read_collections(tree: Any, fields: dict[str, Iterable[str]], **arrays_options: Any) -> dict:
    """Jagged record arrays ``{collection: {field: …}}`` of the ``fields`` of each collection from
    an uproot ``Delphes`` tree of any layout (real, ``study`` or ``coffea``)."""
    import awkward as ak

    keys = canonical_keys(tree.keys())
    wanted = {c: [(f, f"{c}/{c}.{f}") for f in fs] for c, fs in fields.items()}
    missing = [full for pairs in wanted.values() for _f, full in pairs if full not in keys]
    if missing:
        raise KeyError(f"no branch(es) {', '.join(missing)} in the tree")
    names = [keys[full] for pairs in wanted.values() for _f, full in pairs]
    arrays = tree.arrays(names, library="ak", **arrays_options)
    return {c: ak.zip({f: arrays[keys[full]] for f, full in pairs})
            for c, pairs in wanted.items()}


def missing_optional_fields(tree_keys: Iterable[str], collection: str, mixin: str) -> list[str]:
    """Optional fields of ``collection`` that a tree lacks (they will read as their default);
    ``tree_keys`` of any layout."""
    keys = set(canonical_keys(tree_keys))
    return [
        field
        for field in OPTIONAL_FIELDS_BY_MIXIN.get(mixin, ())
        if f"{collection}/{collection}.{field}" not in keys
    ]


def event_fields(events: Any) -> set[str]:
    """Collection names present in a (virtual or eager) NanoEvents array."""
    return set(events.fields)


def require_collections(events: Any, collections: Sequence[str], purpose: str) -> None:
    """Raise :class:`InputFileError` naming the file and each collection in ``collections`` it lacks."""
    present = event_fields(events)
    missing = [c for c in collections if c not in present]
    if missing:
        filename = events.metadata.get("filename", "<unknown file>")
        raise InputFileError(
            filename,
            f"lacks the Delphes collection(s) {', '.join(missing)} needed for {purpose} "
            f"(it has: {', '.join(sorted(c for c in present if not c.endswith('.offsets')))})",
        )


def choose_track_collection(events: Any, preferred: str = "auto") -> str:
    """Name of the track collection to use: ``Track``, else ``EFlowTrack`` (``preferred="auto"``).

    With ``preferred`` naming a collection, that collection must exist.
    """
    present = event_fields(events)
    candidates = TRACK_COLLECTIONS if preferred == "auto" else (preferred,)
    for name in candidates:
        if name in present:
            return name
    filename = events.metadata.get("filename", "<unknown file>")
    raise InputFileError(
        filename,
        f"has no track collection ({' or '.join(candidates)}) needed for the track observables",
    )


def to_float64(array: Any) -> ak.Array:
    """Any numeric awkward/numpy array as float64 (Delphes stores float32; we compute in double)."""
    return ak.values_astype(array, np.float64)

