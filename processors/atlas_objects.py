"""Physics objects of the ATLAS Open Data ``mini`` tree in GeV — the one place units change.

The files store momenta and energies in MeV. Processors call these functions once, at their
start, and work in GeV afterwards. Division by 1000 in float64 is exact for the thresholds the
selections use (a lepton stored with pT = 20000 MeV has exactly 20 GeV), so cuts written in GeV
select the same events as the notebook's cuts written in MeV.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

#: MeV per GeV: the ATLAS Open Data files store energies in MeV.
MEV_PER_GEV = 1000.0


def mev_to_gev(values: ak.Array) -> ak.Array:
    """Energies or momenta in MeV (any float type) → float64 GeV."""
    return ak.values_astype(values, np.float64) / MEV_PER_GEV


def leptons_gev(events: ak.Array, *, with_etcone20: bool = True) -> ak.Array:
    """The ``Lepton`` collection in GeV: pt, eta, phi, energy, charge, type, ptcone30, etcone20.

    ``ptcone30`` and ``etcone20`` (isolation sums) are converted too, so ratios to ``pt`` are
    unit-free. Only the fields that a selection needs are read from the file.
    """
    lep = events.Lepton
    fields = {
        "pt": mev_to_gev(lep.pt),
        "eta": ak.values_astype(lep.eta, np.float64),
        "phi": ak.values_astype(lep.phi, np.float64),
        "energy": mev_to_gev(lep.energy),
        "charge": lep.charge,
        "type": lep["type"],  # .type is awkward's type attribute, not the field
        "ptcone30": mev_to_gev(lep.ptcone30),
    }
    if with_etcone20:
        fields["etcone20"] = mev_to_gev(lep.etcone20)
    # A plain record, no vector behaviour: the selection needs only fields and numpy ufuncs, and
    # behaviour dispatch on every operation costs more than the selection itself on small chunks.
    return ak.zip(fields)
