"""NanoEvents schema of the ATLAS Open Data 2020 ``mini`` tree.

Branches ``<prefix>_<field>`` of the physics objects become collections with four-vector
behaviour (``pt``, ``eta``, ``phi``, ``energy``; leptons and taus are candidates with ``charge``):

======================  ==============  =========================================
collection              branch prefix   notes
======================  ==============  =========================================
``events.Lepton``       ``lep_``        ``type`` is 11 (e) or 13 (μ)
``events.Jet``          ``jet_``        ``MV2c10`` b-tagging discriminant
``events.Photon``       ``photon_``
``events.Tau``          ``tau_``
``events.LargeRJet``    ``largeRjet_``  ``stored_mass`` is ``largeRjet_m``
``events.MET``          ``met_``        record with ``pt`` (= met_et) and ``phi``
======================  ==============  =========================================

Every other branch (``mcWeight``, ``scaleFactor_*``, ``trigE`` …) stays an event-level field, and so
do the systematic-variation and truth branches (``*_pt_syst``, ``*_truthMatched``, ``jet_trueflav``):
they are empty in data, so their lengths need not match the collection's.

Units are **as stored: MeV**. Convert once, at the start of a processor, with
:func:`hzx.processors.atlas_objects.leptons_gev` and friends — never mix the two.
Collections whose branches are absent (generated files may write fewer) are left out.
"""

from __future__ import annotations

from coffea.nanoevents.schemas.base import BaseSchema, zip_forms

#: collection name → (branch prefix, record behaviour)
COLLECTIONS: dict[str, tuple[str, str]] = {
    "Lepton": ("lep_", "PtEtaPhiECandidate"),
    "Jet": ("jet_", "PtEtaPhiELorentzVector"),
    "Photon": ("photon_", "PtEtaPhiELorentzVector"),
    "Tau": ("tau_", "PtEtaPhiECandidate"),
    "LargeRJet": ("largeRjet_", "PtEtaPhiELorentzVector"),
}

#: Branches left out of the collections (kept as event-level fields under their branch names):
#: systematic variations and truth information are *empty* vectors in data, so their lengths do
#: not match the collection's.
UNZIPPED_SUFFIXES = ("_syst", "_truthMatched", "_trueflav")

#: ROOT branch suffix → field name, where they differ (``E`` → ``energy`` for vector behaviour)
#: (``largeRjet_m`` would be a second temporal component beside ``E``: call it ``stored_mass``)
FIELD_NAMES = {"E": "energy", "m": "stored_mass"}


class AtlasOpenDataSchema(BaseSchema):
    """Schema of the ATLAS Open Data 2020 ``mini`` tree (13 TeV, energies in MeV)."""

    __dask_capable__ = True

    def __init__(self, base_form, *args, **kwargs):
        super().__init__(base_form, *args, **kwargs)
        branches = dict(zip(self._form["fields"], self._form["contents"], strict=True))
        output = self._build_collections(branches)
        self._form["fields"] = list(output)
        self._form["contents"] = list(output.values())

    @staticmethod
    def _build_collections(branches: dict) -> dict:
        output = {}
        used: set[str] = set()
        for name, (prefix, behaviour) in COLLECTIONS.items():
            members = {
                key: form for key, form in branches.items()
                if key.startswith(prefix) and key != f"{prefix}n"
                and not key.endswith(UNZIPPED_SUFFIXES)
                and form["class"].startswith("ListOffsetArray")
            }
            if not members:
                continue
            # the collection's offsets are its first field's: pT first, a branch every analysis
            # reads anyway (in file order they would be lep_trigMatched's, read only for them)
            first = f"{prefix}pt"
            ordered = sorted(members, key=lambda key: key != first)
            fields = {}
            for key in ordered:
                form = members[key]
                suffix = key[len(prefix):]
                fields[FIELD_NAMES.get(suffix, suffix)] = form
            output[name] = zip_forms(fields, name, behaviour)
            used.update(members)
        if "met_et" in branches and "met_phi" in branches:
            output["MET"] = zip_forms(
                {"pt": branches["met_et"], "phi": branches["met_phi"]}, "MET", "PolarTwoVector"
            )
        for key, form in branches.items():
            if key not in used:
                output[key] = form
        return output

    @classmethod
    def behavior(cls):
        from coffea.nanoevents.methods import base, candidate, vector

        behavior = {}
        behavior.update(base.behavior)
        behavior.update(vector.behavior)
        behavior.update(candidate.behavior)
        return behavior
