"""The compiled kernels behind the track observables: their shortcuts against the literal
formulas, the rare paths they hand back to exact code, and independence of the blocking."""

from __future__ import annotations

import decimal
import fractions
import math

import awkward as ak
import numpy as np
import pytest
from delphes_fixtures import make_events, ref_associate, ref_observables, ref_tau2_axes, rel_close

from hzx.processors import track_kernels as kernels
from hzx.processors.track_observables import (
    SUBJET_RADIUS,
    FlatTracks,
    associate_by_delta_r,
    delta_r_track_observables,
    jet_track_observables,
    observables_matrix,
)


def _exact_power(value: float, numerator: int, denominator: int) -> float:
    with decimal.localcontext() as context:
        context.prec = 40
        exponent = decimal.Decimal(numerator) / decimal.Decimal(denominator)
        return float(decimal.Decimal(value) ** exponent)


@pytest.mark.parametrize("value", [1e-300, 2.2250738585072014e-308, 3.7e-9, 0.0123, 0.16,
                                   0.999999, 1.0, 1.4142135623730951, 2.0, 7.3, 1e250, 1e300])
def test_powers_are_the_exact_fractional_powers(value):
    x03, x07 = kernels._dr_powers(value)
    assert x03 == pytest.approx(_exact_power(value, 3, 20), rel=5e-15)
    assert x07 == pytest.approx(_exact_power(value, 7, 20), rel=5e-15)


def test_powers_match_pow_with_double_exponents_at_physical_distances():
    # ΔR² from 1e-16 to 10: ** with the doubles 0.15 and 0.35 is within |ln ΔR²|·3e-17
    values = np.geomspace(1e-16, 10.0, 2001)
    for value in values:
        x03, x07 = kernels._dr_powers(float(value))
        assert x03 == pytest.approx(value**0.15, rel=3e-15)
        assert x07 == pytest.approx(value**0.35, rel=3e-15)


def test_fma_fallback_rounds_once():
    # 0.1·0.1 − 0.01 in one rounding: the exact residue of the doubles, not 0 or 1.7e-19
    want = float(fractions.Fraction(0.1) * fractions.Fraction(0.1) - fractions.Fraction(0.01))
    assert kernels._fma(0.1, 0.1, -0.01) == want != 0.1 * 0.1 - 0.01


def _exact_exp(x: float) -> float:
    with decimal.localcontext() as context:
        context.prec = 40
        return float(decimal.Decimal(x).exp())


def _exact_ln(x: float) -> float:
    with decimal.localcontext() as context:
        context.prec = 40
        return float(decimal.Decimal(x).ln())


def test_exp_and_ln_series_are_correct_to_an_ulp_or_two():
    # the per-track stage's rapidity: exp η for |η| ≤ 700, ln of (E + |pz|)/m_T ≥ 1 (4.5e-16
    # relative: two ulp where the mantissa is large)
    rng = np.random.default_rng(5)
    xs = np.concatenate([[-700.0, -1.0, -0.3465, 0.0, 1e-300, 0.3466, 0.5, 2.5, 700.0],
                         rng.uniform(-8, 8, 300), rng.uniform(-700, 700, 100)])
    for x in xs:
        want = _exact_exp(float(x))
        assert abs(kernels._exp(float(x)) - want) <= 4.5e-16 * want, x
    ws = np.concatenate([[2.2250738585072014e-308, 0.5, 1.0, 1.0 + 2.0**-52, 1.4142135623730951,
                          1.4142135623730954, 2.0, 1e300],
                         1.0 + rng.exponential(1e-6, 200), rng.uniform(1, 200, 200)])
    for w in ws:
        want = _exact_ln(float(w))
        assert abs(kernels._ln(float(w)) - want) <= 4.5e-16 * abs(want) + 1e-320, w


def _batch_tracks(rows: list[tuple[float, float, float, float, float, float]]) -> np.ndarray:
    """The batch's track buffers (pt, eta, phi, mass, three outputs, jet eta, jet phi)."""
    tracks = np.zeros((9, len(rows)))
    for t, (pt, eta, phi, mass, jet_eta, jet_phi) in enumerate(rows):
        tracks[[0, 1, 2, 3, 7, 8], t] = pt, eta, phi, mass, jet_eta, jet_phi
    return tracks


def test_vectorised_track_terms_agree_with_the_scalar_code_and_hand_back_the_rare_tracks():
    rng = np.random.default_rng(8)
    n = 203  # not a multiple of the vector width: the scalar remainder runs too
    rows = [(rng.exponential(3.0), rng.uniform(-2.5, 2.5), rng.uniform(-math.pi, math.pi),
             0.13957 if t % 3 else 0.0, 0.0, 0.0) for t in range(n)]
    radii = 0.4 * np.sqrt(rng.uniform(0, 1, n))  # the tracks of ΔR-associated jets
    angles = rng.uniform(-math.pi, math.pi, n)
    rows = [(pt, eta, phi, m, eta + r * math.cos(angle),
             math.remainder(phi + r * math.sin(angle), 2 * math.pi))
            for (pt, eta, phi, m, _, _), r, angle in zip(rows, radii, angles, strict=True)]
    rare = [
        (5.0, 0.1, math.pi - 1e-6, 0.14, 0.1, -math.pi + 1e-6),      # φ seam closer than 1e-4
        (5.0, 0.1, 0.3, 0.14, 0.1, 0.3 + 1e-8 * 0.8 / math.pi),      # a in the band where cos a leaves 1
        (5.0, 0.1, 0.3, 0.14, 0.1 + 1.5, 0.3),                        # a > 1.6
        (5.0, 800.0, 0.3, 0.14, 0.1, 0.3),                            # η beyond the exp clamp
        (5.0, math.nan, 0.3, 0.14, 0.1, 0.3),                         # NaN
        (0.0, 0.5, 0.3, 0.0, 0.5, 0.3),  # pT = m = 0 on the axis: no flag, y = η, term 0
    ]
    tracks = _batch_tracks(rows + rare)
    flags = np.zeros(len(rows) + len(rare), dtype=np.uint8)
    kernels._track_terms(len(rows) + len(rare), tracks, flags, 0.4)
    assert flags[:n].sum() == 0
    assert flags[n:].tolist() == [1, 1, 1, 1, 1, 0]
    scalar = _batch_tracks(rows + rare)
    for t in range(len(rows) + len(rare)):
        kernels._track_exact(t, *scalar[:4], scalar[7, t], scalar[8, t], *scalar[4:7], 0.4)
    # rare tracks: the scalar code itself; the others: m_T and the angularity bit for bit,
    # the rapidity (exp and ln from series instead of libm) to a few ulp of (E + |pz|)/m_T
    np.testing.assert_array_equal(tracks[4:7, n:], scalar[4:7, n:])
    np.testing.assert_array_equal(tracks[[4, 6], :n], scalar[[4, 6], :n])
    np.testing.assert_allclose(tracks[5, :n], scalar[5, :n], rtol=1e-15, atol=5e-16)
    massless = np.array([row[3] == 0 for row in rows])
    np.testing.assert_array_equal(tracks[5, :n][massless], tracks[1, :n][massless])
    for t in np.nonzero(~massless)[0][:20]:  # against asinh(pz / m_T) from the definition
        pt, eta, _, mass = tracks[:4, t]
        want = math.asinh(pt * math.sinh(eta) / math.hypot(pt, mass))
        assert tracks[5, t] == pytest.approx(want, rel=1e-15, abs=5e-16)


@pytest.mark.parametrize("value", [0.0, 5e-324, math.inf])
def test_table_powers_edge_values_take_pow(value):
    assert kernels._dr_powers(value) == (value**0.15, value**0.35)


def test_bit_helpers_round_trip_in_python():
    assert kernels._float_bits(1.0) == 0x3FF0000000000000
    assert kernels._bits_float(0x3FF0000000000000) == 1.0
    assert kernels._bits_float(kernels._float_bits(-2.5e-7)) == -2.5e-7


def _one_jet(jet_eta, jet_phi, tracks):
    tracks = sorted(tracks, key=lambda t: -t["pt"])
    got = observables_matrix(jet_track_observables(np.array([jet_eta]), np.array([jet_phi]),
                                                   ak.Array([tracks])))[0]
    want = ref_observables({"eta": jet_eta, "phi": jet_phi}, tracks)
    for g, w in zip(got, want, strict=True):
        assert rel_close(g, w), (got.tolist(), want)
    return got


def test_pairs_far_apart_in_rapidity_take_the_exact_row():
    # |Δy| > 2: outside the series of the vectorised pair loop
    tracks = [{"pt": 4.0, "eta": -1.2, "phi": 0.1, "mass": 0.13957},
              {"pt": 3.0, "eta": 1.3, "phi": 0.2, "mass": 0.13957},
              {"pt": 2.0, "eta": 0.1, "phi": -0.3, "mass": 0.0}]
    _one_jet(0.0, 0.0, tracks)


def test_pair_across_the_phi_seam_closer_than_1e4():
    # (tracks ≥ 1e-3 from the jet axis: closer, the spec's literal angularity term loses digits)
    tracks = [{"pt": 5.0, "eta": 0.5, "phi": math.pi - 2e-5, "mass": 0.0},
              {"pt": 3.0, "eta": 0.5, "phi": -math.pi + 3e-5, "mass": 0.0},
              {"pt": 1.0, "eta": 0.45, "phi": 3.0, "mass": 0.13957}]
    got = _one_jet(0.52, math.pi - 0.02, tracks)
    assert got[4] > 0


def test_equal_pt_duplicates_resolve_ties_as_the_reference():
    # identical tracks: every clustering step is a tie, decided on exact distances
    track = {"pt": 5.0, "eta": 0.2, "phi": 0.3, "mass": 0.13957}
    other = {"pt": 5.0, "eta": 0.33, "phi": 0.21, "mass": 0.13957}
    _one_jet(0.25, 0.25, [track, dict(track), other, dict(other), dict(track)])


def _generated(n_events=300, tracks_per_jet=12.0):
    events = make_events(n_events, seed=5, tracks_per_jet=tracks_per_jet)
    jets = ak.Array([[{"pt": j["PT"], "eta": j["Eta"], "phi": j["Phi"]} for j in ev]
                     for ev in events["Jet"]])
    tracks = ak.Array([[{"pt": t["PT"], "eta": t["Eta"], "phi": t["Phi"], "mass": t["Mass"]}
                        for t in ev] for ev in events["Track"]])
    return events, jets, tracks


def test_fused_association_equals_the_two_steps_exactly():
    _, jets, tracks = _generated()
    counts, index, matrix = delta_r_track_observables(jets, tracks, 0.4, 50)
    assoc = associate_by_delta_r(jets, tracks, 0.4, 50)
    flat = ak.flatten(jets, axis=1)
    two_step = observables_matrix(jet_track_observables(flat.eta, flat.phi,
                                                        ak.flatten(assoc, axis=1)))
    assert np.array_equal(counts, ak.to_numpy(ak.flatten(ak.num(assoc, axis=2))))
    assert np.array_equal(matrix, two_step)
    assert len(index) == counts.sum()


def test_jet_layout_gives_each_jet_its_event_and_room_for_its_capped_tracks():
    jets_per_event = np.array([2, 0, 1, 3, 0], dtype=np.int64)
    tracks_per_event = np.array([5, 9, 0, 60, 4], dtype=np.int64)
    jet_event = np.full(6, -1, dtype=np.int64)
    slots = np.full(7, -1, dtype=np.int64)
    kernels.jet_layout(jets_per_event, tracks_per_event, 50, jet_event, slots)
    assert jet_event.tolist() == [0, 0, 2, 3, 3, 3]
    # 5, 5, 0, then min(60, 50) three times
    assert slots.tolist() == [0, 5, 10, 10, 60, 110, 160]


def test_fused_association_matches_reference_with_a_small_track_cap():
    events, jets, tracks = _generated(60, tracks_per_jet=9.0)
    counts, _, matrix = delta_r_track_observables(jets, tracks, 0.4, 4)
    row = 0
    for ev_jets, ev_tracks in zip(events["Jet"], events["Track"], strict=True):
        lowered = [{"pt": t["PT"], "eta": t["Eta"], "phi": t["Phi"], "mass": t["Mass"]}
                   for t in ev_tracks]
        for j in ev_jets:
            jet = {"eta": j["Eta"], "phi": j["Phi"]}
            assoc = ref_associate(jet, lowered, 0.4, 4)
            assert counts[row] == len(assoc) <= 4
            want = ref_observables(jet, assoc)
            assert all(rel_close(g, w) for g, w in zip(matrix[row], want, strict=True))
            row += 1
    assert row == len(matrix)


def _generated_flat():
    """(jet η, jet φ, FlatTracks of their associated tracks) of generated events."""
    _, jets, tracks = _generated(200)
    flat_tracks = FlatTracks.from_awkward(ak.flatten(associate_by_delta_r(jets, tracks), axis=1))
    flat_jets = ak.flatten(jets, axis=1)
    return (np.asarray(flat_jets.eta, dtype=np.float64),
            np.asarray(flat_jets.phi, dtype=np.float64), flat_tracks)


def _listed(eta, phi, flat, n_blocks=1, skip=0):
    """listed_observables of the jets from ``skip`` on, in ``n_blocks`` blocks."""
    begin = flat.offsets[skip]
    out = np.empty((flat.n_jets - skip, 7))
    kernels.listed_observables(eta[skip:], phi[skip:], flat.offsets[skip:] - begin,
                               flat.pt[begin:], flat.eta[begin:], flat.phi[begin:],
                               flat.mass[begin:], 0.4, SUBJET_RADIUS, out, n_blocks)
    return out


@pytest.mark.parametrize("n_blocks", [1, 2, 7])
def test_results_do_not_depend_on_the_blocking(n_blocks):
    eta, phi, flat = _generated_flat()
    assert np.array_equal(_listed(eta, phi, flat, n_blocks), _listed(eta, phi, flat))


def test_energy_correlator_any_beta_matches_the_observables_and_the_definition():
    _, jets, tracks = _generated(80)
    assoc = ak.flatten(associate_by_delta_r(jets, tracks), axis=1)
    flat = ak.flatten(jets, axis=1)
    matrix = observables_matrix(jet_track_observables(flat.eta, flat.phi, assoc))
    from hzx.processors.track_observables import energy_correlator

    e2_07 = energy_correlator(assoc, 2, 0.7)
    has_u1 = matrix[:, 4] != -999999.0
    assert np.allclose(e2_07[has_u1], matrix[has_u1, 4], rtol=1e-12, atol=0)
    # β = 1.5 against the definition, on a few jets
    for j in range(10):
        t = assoc[j].tolist()
        total = sum(x["pt"] for x in t)
        want = sum(a["pt"] * b["pt"] * math.hypot(a["eta"] - b["eta"], math.remainder(
            a["phi"] - b["phi"], 2 * math.pi)) ** 1.5 for i, a in enumerate(t) for b in t[i + 1:])
        want = want / total**2 if len(t) >= 2 else 0.0
        assert energy_correlator(assoc[j:j + 1], 2, 1.5)[0] == pytest.approx(want, rel=1e-12)


def test_unpacked_layouts_give_the_same_result_as_packed_ones():
    # jets after a cut and tracks in reverse event order are not plain list-offset layouts:
    # they take the generic (awkward) path of the column extraction
    _, jets, tracks = _generated(120)
    cut_jets = jets[jets.pt > 25.0]
    rev_jets, rev_tracks = cut_jets[::-1], tracks[::-1]
    assert not isinstance(ak.to_layout(rev_jets), ak.contents.ListOffsetArray)
    got = delta_r_track_observables(rev_jets, rev_tracks)
    want = delta_r_track_observables(ak.to_packed(rev_jets), ak.to_packed(rev_tracks))
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)
    assert len(got[2]) == int(ak.sum(jets.pt > 25.0)) > 0


def test_results_do_not_depend_on_the_batch_a_jet_lands_in():
    # dropping leading jets moves every other jet to another place in its batch (and pairs
    # from the vector body of the pair loop into its scalar remainder): rows stay bit for bit
    eta, phi, flat = _generated_flat()
    full = _listed(eta, phi, flat)
    for skip in (1, 3, 5, 77):
        assert np.array_equal(_listed(eta, phi, flat, skip=skip), full[skip:])


def _triangular_d2(eta, phi):
    n = len(eta)
    return np.array([(eta[i] - eta[k]) ** 2 + kernels._wrapped_dphi(phi[i], phi[k]) ** 2
                     for i in range(n) for k in range(i + 1, n)])


@pytest.mark.parametrize("seed", range(6))
def test_both_clusterings_find_the_same_axes(seed):
    # the list-order scan (small jets) and the slotted block (large jets) make the same merges
    rng = np.random.default_rng(seed)
    for n in (3, 4, 7, 12, 13, 20, 31):
        pt = np.sort(rng.exponential(4.0, n))[::-1].copy()
        eta = rng.normal(0.0, 0.2, n)
        phi = rng.normal(3.1, 0.2, n)  # across the φ seam
        if seed % 2:  # duplicated tracks: tied distances, decided in list order
            pt[1::3] = pt[0]
            eta[1::3] = eta[0]
            phi[1::3] = phi[0]
        d2 = _triangular_d2(eta, phi)
        axes = []
        for listed in (True, False):
            opt, oeta, ophi = pt.copy(), eta.copy(), phi.copy()
            dist = np.zeros(n * n)
            rank = np.zeros(n, dtype=np.int64)
            order = np.zeros(n, dtype=np.int64)
            if listed:
                s0, s1 = kernels._kt_listed(n, d2, 0, SUBJET_RADIUS, opt, oeta, ophi, dist, order)
            else:
                s0, s1 = kernels._kt_slotted(n, d2, 0, SUBJET_RADIUS, opt, oeta, ophi, dist, rank,
                                             order)
            axes.append(sorted([(opt[s], oeta[s], ophi[s]) for s in (s0, s1)]))
        assert axes[0] == axes[1], (n, seed)


@pytest.mark.parametrize("position", [0, 2, -1])
def test_a_track_with_nan_eta_takes_part_in_the_clustering_as_in_the_reference(position):
    # its distances are NaN and never win, as `d < best` is False for the reference's loop
    rng = np.random.default_rng(21)
    for n in (3, 4, 6, 9, 12):
        pt = np.sort(rng.exponential(4.0, n))[::-1].copy()
        eta = rng.normal(0.0, 0.1, n)
        phi = rng.normal(0.0, 0.1, n)
        eta[position] = math.nan
        d2 = _triangular_d2(eta, phi)
        opt, oeta, ophi = pt.copy(), eta.copy(), phi.copy()
        order = np.zeros(n, dtype=np.int64)
        s0, s1 = kernels._kt_listed(n, d2, 0, SUBJET_RADIUS, opt, oeta, ophi, np.zeros(n * n),
                                    order)
        want = ref_tau2_axes([{"pt": a, "eta": b, "phi": c}
                             for a, b, c in zip(pt, eta, phi, strict=True)])
        np.testing.assert_allclose([(opt[s], oeta[s], ophi[s]) for s in (s0, s1)], want,
                                   rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(4))
def test_compiled_tau2_axes_are_fastjets_exclusive_kt_subjets(seed):
    # τ₂'s axes: the compiled clustering (list scan up to 12 tracks, slotted block above) gives
    # fastjet's exclusive_jets(2) of kT, R = 0.2, BIpt recombination, to 1e-9
    fastjet = pytest.importorskip("fastjet")
    definition = fastjet.JetDefinition(fastjet.kt_algorithm, SUBJET_RADIUS, fastjet.BIpt_scheme)
    rng = np.random.default_rng(100 + seed)
    for n in (3, 5, 8, 12, 13, 17, 25, 40):
        pt = np.sort(rng.exponential(5.0, n))[::-1].copy() + 0.5
        eta = rng.normal(0.3, 0.15, n)
        phi = np.arctan2(np.sin(p := rng.normal(3.1, 0.15, n)), np.cos(p))  # across the seam
        d2 = _triangular_d2(eta, phi)
        opt, oeta, ophi = pt.copy(), eta.copy(), phi.copy()
        rank = np.zeros(n, dtype=np.int64)
        order = np.zeros(n, dtype=np.int64)
        if n <= kernels._SMALL_KT:
            s0, s1 = kernels._kt_listed(n, d2, 0, SUBJET_RADIUS, opt, oeta, ophi, np.zeros(n * n),
                                        order)
        else:
            s0, s1 = kernels._kt_slotted(n, d2, 0, SUBJET_RADIUS, opt, oeta, ophi,
                                         np.zeros(n * n), rank, order)
        ours = sorted([(opt[s], oeta[s], ophi[s]) for s in (s0, s1)], reverse=True)
        particles = [fastjet.PseudoJet(a * math.cos(c), a * math.sin(c), a * math.sinh(b),
                                       a * math.cosh(b)) for a, b, c in zip(pt, eta, phi,
                                                                            strict=True)]
        subjets = fastjet.ClusterSequence(particles, definition).exclusive_jets(2)
        theirs = sorted([(j.pt(), j.rap(), j.phi_std()) for j in subjets], reverse=True)
        for a, b in zip(ours, theirs, strict=True):
            assert a[0] == pytest.approx(b[0], rel=1e-9), (n, seed)
            assert a[1] == pytest.approx(b[1], rel=1e-9, abs=1e-9), (n, seed)
            assert abs(math.remainder(a[2] - b[2], 2 * math.pi)) < 1e-9, (n, seed)
