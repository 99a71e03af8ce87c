"""Physics objects of the ATLAS Open Data ``mini`` tree in GeV — the one place units change.

The files store momenta and energies in MeV. Processors call these functions once, at their
start, and work in GeV afterwards. Division by 1000 in float64 is exact for the thresholds the
selections use (a lepton stored with pT = 20000 MeV has exactly 20 GeV), so cuts written in GeV
select the same events as the notebook's cuts written in MeV.

Leptons come as a :class:`Leptons` table: flat numpy columns plus per-event offsets. The selection
is a handful of per-event reductions, which the compiled segment reductions of
:mod:`hzx.processors.fourlep_selection` do in one pass each over these flat columns; that keeps
the processor close to the cost of reading the branches. The table exists for those kernels
only: ``benchmarks/bench_fourlep_kernels.py`` measures awkward's own reductions on the jagged
array 1.16–1.63× slower for the same selection (see the comment beside the kernels).
"""

from __future__ import annotations

import dataclasses

import awkward as ak
import numpy as np

#: MeV per GeV: the ATLAS Open Data files store energies in MeV.
MEV_PER_GEV = 1000.0


def mev_to_gev(values):
    """Energies or momenta in MeV (numpy or awkward, any float type) → float64 GeV."""
    if isinstance(values, ak.Array):
        return ak.values_astype(values, np.float64) / MEV_PER_GEV
    return np.asarray(values, dtype=np.float64) / MEV_PER_GEV


@dataclasses.dataclass(frozen=True)
class Leptons:
    """The leptons of a chunk of events: flat columns (GeV, float64) and per-event offsets.

    ``offsets[i]:offsets[i + 1]`` are the leptons of event ``i``, in the file's order.
    ``etcone20`` is None when it was not read.
    """

    offsets: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    energy: np.ndarray
    charge: np.ndarray
    type: np.ndarray
    ptcone30: np.ndarray
    etcone20: np.ndarray | None = None

    @property
    def counts(self) -> np.ndarray:
        """Number of leptons of each event."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_awkward(cls, leptons: ak.Array) -> Leptons:
        """From a jagged record array with fields pt, eta, phi, energy, charge, type, ptcone30
        (and optionally etcone20), already in GeV."""
        counts = ak.to_numpy(ak.num(leptons, axis=1))
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])

        def flat(name, dtype):
            return ak.to_numpy(ak.flatten(leptons[name], axis=1)).astype(dtype, copy=False)

        return cls(
            offsets=offsets, pt=flat("pt", np.float64), eta=flat("eta", np.float64),
            phi=flat("phi", np.float64), energy=flat("energy", np.float64),
            charge=flat("charge", np.int64), type=flat("type", np.int64),
            ptcone30=flat("ptcone30", np.float64),
            etcone20=flat("etcone20", np.float64) if "etcone20" in leptons.fields else None,
        )

    def select(self, mask: np.ndarray) -> Leptons:
        """The leptons of the events where ``mask`` is true."""
        counts = self.counts[mask]
        keep = np.repeat(mask, self.counts)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        columns = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name != "offsets"}
        return Leptons(offsets=offsets, **{k: (v[keep] if v is not None else None)
                                           for k, v in columns.items()})


def leptons_gev(events: ak.Array, *, with_etcone20: bool = True) -> Leptons:
    """The ``Lepton`` collection of NanoEvents from the ``mini`` tree, in GeV, as :class:`Leptons`.

    Only the branches needed are read: pt, eta, phi, E, charge, type, ptcone30 (and etcone20).
    """
    lep = events.Lepton
    pt = lep.pt
    counts = ak.to_numpy(ak.num(pt, axis=1))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def flat(values):
        return ak.to_numpy(ak.flatten(values, axis=1))

    return Leptons(
        offsets=offsets,
        pt=mev_to_gev(flat(pt)),
        eta=flat(lep.eta).astype(np.float64),
        phi=flat(lep.phi).astype(np.float64),
        energy=mev_to_gev(flat(lep.energy)),
        charge=flat(lep.charge).astype(np.int64),
        type=flat(lep["type"]).astype(np.int64),  # .type is awkward's type attribute
        ptcone30=mev_to_gev(flat(lep.ptcone30)),
        etcone20=mev_to_gev(flat(lep.etcone20)) if with_etcone20 else None,
    )


def _offsets_and_content(values) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, flat values) of a jagged array of numbers, views of its buffers where it is a
    plain list-offset array (how uproot reads ``std::vector`` branches), else copies."""
    layout = ak.to_layout(values)
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(
            layout.content, ak.contents.NumpyArray):
        return np.asarray(layout.offsets.data), np.asarray(layout.content.data)
    counts = ak.to_numpy(ak.num(values, axis=1))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, ak.to_numpy(ak.flatten(values, axis=1))


def stored_leptons(events: ak.Array, *, with_etcone20: bool = True):
    """The ``Lepton`` collection as stored (MeV, float32), for the fused selection kernel of
    :func:`hzx.processors.fourlep_selection.select_events`, which divides by
    :data:`MEV_PER_GEV` as it reads — the same arithmetic as :func:`leptons_gev`.

    Reads pt, eta, phi, E, charge, type, ptcone30 (and etcone20); no copies are made.
    """
    from hzx.processors.fourlep_selection import StoredLeptons

    lep = events.Lepton
    offsets, pt = _offsets_and_content(lep.pt)

    def content(values) -> np.ndarray:
        other, flat = _offsets_and_content(values)
        same = other.ctypes.data == offsets.ctypes.data and len(other) == len(offsets)
        if not same and not np.array_equal(other, offsets):
            raise ValueError("lepton branches of different lengths in one event")
        return flat

    return StoredLeptons(
        offsets=offsets, pt_mev=pt, eta=content(lep.eta), phi=content(lep.phi),
        energy_mev=content(lep.energy), charge=content(lep.charge),
        type=content(lep["type"]),  # .type is awkward's type attribute
        ptcone30_mev=content(lep.ptcone30),
        etcone20_mev=content(lep.etcone20) if with_etcone20 else None,
    )
