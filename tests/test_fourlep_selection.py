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


# -- the fused kernel (what the processor runs) against the cuts above ----------------------------
def _stored(events) -> sel.StoredLeptons:
    """Hand-built GeV leptons → the stored layout (float32 MeV) the kernel reads."""
    flat = {k: ak.to_numpy(ak.flatten(events[k])) for k in events.fields}
    counts = ak.to_numpy(ak.num(events, axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return sel.StoredLeptons(
        offsets=offsets, pt_mev=(flat["pt"] * 1000).astype(np.float32),
        eta=flat["eta"].astype(np.float32), phi=flat["phi"].astype(np.float32),
        energy_mev=(flat["energy"] * 1000).astype(np.float32),
        charge=flat["charge"].astype(np.int32), type=flat["type"].astype(np.uint32),
        ptcone30_mev=(flat["ptcone30"] * 1000).astype(np.float32),
        etcone20_mev=(flat["etcone20"] * 1000).astype(np.float32))


def _gev(stored: sel.StoredLeptons):
    from hzx.processors.atlas_objects import Leptons

    return Leptons(offsets=stored.offsets, pt=mev_to_gev(stored.pt_mev),
                   eta=stored.eta.astype(np.float64), phi=stored.phi.astype(np.float64),
                   energy=mev_to_gev(stored.energy_mev), charge=stored.charge.astype(np.int64),
                   type=stored.type.astype(np.int64), ptcone30=mev_to_gev(stored.ptcone30_mev),
                   etcone20=mev_to_gev(stored.etcone20_mev))


def _levels_from_cuts(lep, options, trigger=None):
    """The cumulative level of every event, from the one-cut functions."""
    cuts = [sel.lepton_kinematics(lep, options.lead_pt_min_gev, options.pt_min_gev,
                                  options.eta_max),
            sel.lepton_flavour(lep), sel.ptcone30_isolation(lep, options.ptcone30_max)]
    if options.apply_etcone20_isolation:
        cuts.append(sel.etcone20_isolation(lep, options.etcone20_max))
    cuts += [sel.lepton_multiplicity(lep, 4), sel.charge_neutral(lep)]
    if options.require_trigger:
        cuts.append(np.asarray(trigger, dtype=bool))
    passed = np.ones(len(lep), dtype=bool)
    level = np.zeros(len(lep), dtype=np.int64)
    for mask in cuts:
        passed = passed & mask
        level += passed
    m4l = np.full(len(lep), np.nan)
    m4l[passed] = sel.four_lepton_mass(lep, passed)
    window = passed & (m4l >= options.m4l_min_gev) & (m4l < options.m4l_max_gev)
    return level + window, passed, m4l


def _check_kernel_against_cuts(stored, options, trigger=None):
    result = sel.select_events(stored, options, trigger)
    level, passed, m4l = _levels_from_cuts(_gev(stored), options, trigger)
    assert result.level.tolist() == level.tolist()
    assert result.index.tolist() == np.flatnonzero(passed).tolist()
    np.testing.assert_allclose(result.m4l, m4l[passed], rtol=1e-13)
    assert result.channel.tolist() == sel.channel_index(_gev(stored))[passed].tolist()
    return result


def test_fused_kernel_equals_the_cuts_on_edge_events():
    from hzx.processors.fourlep import FourLeptonOptions

    z = [lep(pt=40.0, charge=1), lep(pt=30.0, charge=-1, phi=1.0),
         lep(pt=25.0, typ=13, charge=1, eta=1.2), lep(pt=15.0, typ=13, charge=-1, phi=-2.0)]
    events = leptons([
        z,
        [lep(pt=20.0), *z[1:]],                               # a 20 GeV one, leading 30: passes
        [*z[:3], lep(pt=7.0, typ=13, charge=-1)],              # softest exactly 7 GeV
        [*z[:3], lep(pt=15.0, typ=13, charge=-1, eta=2.5)],    # |η| exactly 2.5
        [*z[:3], lep(pt=10.0, typ=13, charge=-1, ptcone=3.0)],  # ptcone30/pT exactly 0.3
        [*z[:3], lep(pt=10.0, typ=13, charge=-1, etcone=3.0)],  # etcone20/pT 0.3; m4ℓ < 80
        [*z, lep()],                                           # five leptons: Σ type 59
        [*z[:3], lep(pt=15.0, typ=13, charge=1)],              # charge sum 2
        [*z[:3], lep(pt=15.0, typ=11, charge=-1)],             # Σ type 46
        z[:2],                                                 # two leptons: Σ type 22
        [],                                                    # none
        [lep(pt=400.0, eta=2.4), lep(pt=300.0, eta=-2.4, charge=-1, phi=3.1),
         lep(pt=8.0, typ=13, phi=-3.1), lep(pt=8.0, typ=13, charge=-1)],  # m4ℓ > 250
    ])
    stored = _stored(events)
    options = FourLeptonOptions()
    result = _check_kernel_against_cuts(stored, options)
    assert result.level.tolist() == [6, 6, 0, 0, 2, 5, 1, 4, 1, 1, 0, 5]
    assert result.m4l[-1] > 250.0 and 80.0 > result.m4l[2] > 70.0
    for etcone, trigger in ((True, False), (False, True), (True, True)):
        _check_kernel_against_cuts(
            stored, FourLeptonOptions(apply_etcone20_isolation=etcone, require_trigger=trigger),
            np.arange(len(events)) % 2 == 0)


def test_fused_kernel_equals_the_cuts_on_the_real_data(opendata_dir):
    import uproot

    from hzx.processors.fourlep import FourLeptonOptions

    names = ["lep_pt", "lep_eta", "lep_phi", "lep_E", "lep_charge", "lep_type",
             "lep_ptcone30", "lep_etcone20"]
    arrays = [uproot.open(opendata_dir / f"data_{p}.4lep.root")["mini"].arrays(names)
              for p in "AB"]
    a = ak.concatenate(arrays)
    counts = ak.to_numpy(ak.num(a.lep_pt))
    flat = {n: ak.to_numpy(ak.flatten(a[n])) for n in names}
    stored = sel.StoredLeptons(
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        pt_mev=flat["lep_pt"], eta=flat["lep_eta"], phi=flat["lep_phi"],
        energy_mev=flat["lep_E"], charge=flat["lep_charge"], type=flat["lep_type"],
        ptcone30_mev=flat["lep_ptcone30"], etcone20_mev=flat["lep_etcone20"])
    result = _check_kernel_against_cuts(stored, FourLeptonOptions())
    assert int(np.sum(result.level == 6)) == 53  # the notebook's A+B events in 80–250 GeV
    shifted = sel.select_events(stored, FourLeptonOptions(), electron_scale=0.005,
                                muon_scale=-0.003)
    # the shift moves pT and E of each lepton: m4ℓ moves by less than the largest shift
    common = np.intersect1d(result.index, shifted.index)
    before = result.m4l[np.searchsorted(result.index, common)]
    after = shifted.m4l[np.searchsorted(shifted.index, common)]
    assert len(common) >= 50 and np.all(np.abs(after / before - 1) < 0.0051)
    assert not np.allclose(after, before, rtol=1e-6)
