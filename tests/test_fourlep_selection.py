"""Each cut of the 4-lepton selection on hand-built events, edge values included."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hzx.processors import fourlep_selection as sel
from hzx.processors.atlas_objects import mev_to_gev


def leptons(events):
    """events: list of lists of (pt, eta, phi, E, charge, type, ptcone30, etcone20), GeV."""
    keys = ("pt", "eta", "phi", "energy", "charge", "type", "ptcone30", "etcone20")
    return ak.Array([[dict(zip(keys, lep, strict=True)) for lep in ev] for ev in events])


def lep(pt=30.0, eta=0.0, phi=0.0, charge=1, typ=11, ptcone=0.0, etcone=0.0):
    return (pt, eta, phi, pt * np.cosh(eta), charge, typ, ptcone, etcone)


def test_kinematics_thresholds_are_strict():
    events = leptons([
        [lep(pt=20.0), lep(pt=10.0)],          # leading exactly 20 GeV: fails (> 20)
        [lep(pt=20.0001), lep(pt=10.0)],       # passes
        [lep(pt=30.0), lep(pt=7.0)],           # softest exactly 7 GeV: fails (> 7)
        [lep(pt=30.0), lep(pt=7.0001)],        # passes
        [lep(eta=2.5), lep()],                 # |eta| exactly 2.5: fails (< 2.5)
        [lep(eta=-2.5), lep()],                # fails
        [lep(eta=2.4999), lep(eta=-2.4999)],   # passes
        [],                                    # no leptons: fails, no error
    ])
    assert sel.lepton_kinematics(events).tolist() == [False, True, False, True, False, False,
                                                      True, False]


def test_kinematics_uses_all_leptons_even_a_fifth():
    five = [lep(), lep(), lep(), lep(), lep(pt=5.0)]  # a soft fifth lepton kills the event
    assert sel.lepton_kinematics(leptons([five])).tolist() == [False]


def test_flavour_sums_and_channels():
    def event(types):
        return [lep(typ=t) for t in types]

    events = leptons([event([11] * 4), event([11, 11, 13, 13]), event([13] * 4),
                      event([11, 13, 13, 13]), event([11, 11, 11, 11, 13]), event([11, 11, 11])])
    assert sel.lepton_flavour(events).tolist() == [True, True, True, False, False, False]
    assert sel.channel_index(events).tolist() == [0, 1, 2, -1, -1, -1]
    # the notebook's rule is a sum: 4 electrons + 1 muon... = 57, and 3 muons + 1 e = 50: rejected;
    # but 2 muons + 2 electrons in any order is 48
    assert sel.lepton_flavour(leptons([event([13, 11, 13, 11])])).tolist() == [True]


def test_isolation_cut_at_exactly_threshold_fails():
    events = leptons([
        [lep(pt=10.0, ptcone=3.0)],        # 0.3 exactly: fails (< 0.3)
        [lep(pt=10.0, ptcone=2.999)],      # passes
        [lep(pt=10.0, ptcone=0.0, etcone=5.0)],  # etcone would fail, ptcone passes
    ])
    assert sel.ptcone30_isolation(events).tolist() == [False, True, True]
    assert sel.etcone20_isolation(events).tolist() == [True, True, False]


def test_multiplicity_and_charge():
    events = leptons([[lep()] * 4, [lep()] * 5, [lep()] * 3,
                      [lep(charge=1), lep(charge=-1), lep(charge=1), lep(charge=-1)]])
    assert sel.lepton_multiplicity(events).tolist() == [True, False, False, True]
    assert sel.charge_neutral(events).tolist() == [False, False, False, True]


def test_trigger_is_or():
    assert sel.trigger(ak.Array([True, False, False, True]),
                       ak.Array([False, True, False, True])).tolist() == [True, True, False, True]


def test_four_lepton_mass_of_back_to_back_pairs():
    # two e+e- pairs back to back in the transverse plane, each lepton massless, 50 GeV:
    # total energy 200 GeV, zero momentum → m4l = 200 GeV
    ev = [lep(pt=50, phi=0.0), lep(pt=50, phi=np.pi, charge=-1),
          lep(pt=50, phi=np.pi / 2), lep(pt=50, phi=-np.pi / 2, charge=-1)]
    assert sel.four_lepton_mass(leptons([ev]))[0] == pytest.approx(200.0, rel=1e-12)


def test_four_lepton_mass_matches_vector_library():
    rng = np.random.default_rng(7)
    evs = []
    for _ in range(50):
        evs.append([lep(pt=rng.uniform(7, 100), eta=rng.uniform(-2.4, 2.4),
                        phi=rng.uniform(-np.pi, np.pi)) for _ in range(4)])
    arr = leptons(evs)
    mine = sel.four_lepton_mass(arr)
    import vector

    v = vector.zip({"pt": arr.pt, "eta": arr.eta, "phi": arr.phi, "energy": arr.energy})
    total = v[:, 0] + v[:, 1] + v[:, 2] + v[:, 3]
    np.testing.assert_allclose(mine, ak.to_numpy(total.mass), rtol=1e-9)


def test_four_lepton_mass_rejects_short_events():
    with pytest.raises(ValueError, match="at least four"):
        sel.four_lepton_mass(leptons([[lep()] * 3]))


def test_mev_to_gev_is_exact_at_thresholds():
    values = ak.Array(np.array([20000.0, 7000.0, 20000.001], dtype=np.float32))
    gev = mev_to_gev(values)
    assert gev.tolist()[0] == 20.0 and gev.tolist()[1] == 7.0
    assert gev.tolist()[2] > 20.0  # a float32 just above 20 GeV stays above
