"""One Δφ and one four-momentum sum for every module (hzx.processors.kinematics).

The module replaced two Δφ forms — atan2(sin, cos) (track observables, ghosts) and
(d + π) mod 2π − π (the fast simulation, genhist) — and three hand-written mass sums. The old
forms are written out here as references: on edge values (±π, whole turns, the wrap-around
at the seam, float32 inputs) the one function gives their results to 1e-12, except where the
modulo form put +π at −π (a tie: |Δφ| and ΔR are the same).
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from hzx.processors import kinematics as kin


def old_atan2(a, b):
    d = a - b
    return np.arctan2(np.sin(d), np.cos(d))


def old_modulo(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


PI = math.pi
EDGES = np.array([
    (PI, 0.0), (-PI, 0.0), (0.0, PI), (0.0, -PI), (PI, -PI), (-PI, PI),
    (3.1, -3.1), (-3.1, 3.1), (PI - 1e-12, -PI + 1e-12), (1e-300, -1e-300), (0.0, 0.0),
    (2 * PI, 0.0), (7.0, 0.5), (-7.0, 0.5), (PI / 2, -PI / 2), (np.nextafter(PI, 4), 0.0),
    (np.nextafter(PI, 0), 0.0), (-np.nextafter(PI, 0), 0.0), (1e-9, 0.0), (100.0, -100.0),
])


def test_delta_phi_matches_both_old_forms_on_edge_values():
    a, b = EDGES[:, 0], EDGES[:, 1]
    new = kin.delta_phi(a, b)
    np.testing.assert_array_equal(new, old_atan2(a, b))  # the atan2 form: bit for bit
    assert np.all((new >= -PI) & (new <= PI))
    modulo = old_modulo(a, b)
    tie = np.isclose(np.abs(new), PI, rtol=0, atol=1e-12)
    np.testing.assert_allclose(new[~tie], modulo[~tie], rtol=0, atol=1e-12)
    # at a tie (Δφ = ±π up to rounding) the modulo form said −π where atan2 keeps the sign
    np.testing.assert_allclose(np.abs(new[tie]), np.abs(modulo[tie]), rtol=0, atol=1e-12)
    assert tie.sum() >= 6
    np.testing.assert_array_equal(kin.delta_phi(PI, 0.0), PI)
    np.testing.assert_array_equal(kin.delta_phi(-PI, 0.0), -PI)
    assert kin.delta_phi(7.0, 0.5) == pytest.approx(6.5 - 2 * PI, abs=1e-15)


def test_delta_phi_agrees_with_the_modulo_form_on_random_angles():
    rng = np.random.default_rng(3)
    a = rng.uniform(-PI, PI, 200_000)
    b = np.concatenate([rng.uniform(-PI, PI, 100_000), a[100_000:] + rng.normal(0, 1e-6, 100_000)])
    np.testing.assert_allclose(kin.delta_phi(a, b), old_modulo(a, b), rtol=0, atol=1e-12)
    # ΔR² as delphes_modules.delta_r2 was: (Δη)² + Δφ² with the modulo Δφ
    eta1, eta2 = rng.normal(0, 2, 200_000), rng.normal(0, 2, 200_000)
    old = (eta1 - eta2) ** 2 + old_modulo(a, b) ** 2
    np.testing.assert_allclose(kin.delta_r2(eta1, a, eta2, b), old, rtol=1e-12, atol=1e-24)


def test_delta_phi_on_float32_inputs():
    a = np.array([PI, -PI, 3.1, -3.1, 0.25, 1e-7], dtype=np.float32)
    b = np.array([0.0, 0.0, -3.1, 3.1, -0.25, 0.0], dtype=np.float32)
    new = kin.delta_phi(a, b)
    assert new.dtype == np.float32  # float32 in, float32 out, as both old forms
    np.testing.assert_array_equal(new, old_atan2(a, b))
    # the modulo form rounds in float32 as well: they agree to float32 precision, not 1e-12
    eps = np.finfo(np.float32).eps * 4
    close = ~np.isclose(np.abs(new), np.float32(PI), rtol=0, atol=eps)
    np.testing.assert_allclose(new[close], old_modulo(a, b)[close], rtol=0, atol=eps)
    # and equal to the float64 computation of the same float32 inputs to a float32 ulp
    np.testing.assert_allclose(new, kin.delta_phi(a.astype(np.float64), b.astype(np.float64)),
                               rtol=0, atol=eps)


def test_delta_r_on_jagged_awkward_arrays():
    eta = ak.Array([[0.0, 1.0], [], [2.0]])
    phi = ak.Array([[3.0, -3.0], [], [PI]])
    dr = kin.delta_r(eta, phi, 0.0, -3.0)
    assert ak.to_list(ak.num(dr)) == [2, 0, 1]
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(dr)),
                               [2 * PI - 6.0, 1.0, math.hypot(2.0, PI - 3.0)], rtol=1e-12)


def test_invariant_mass_of_sums():
    # two massless back-to-back 45.6 GeV leptons: m = 91.2 GeV
    px, py, pz, e = kin.four_momentum(np.array([45.6, 45.6]), np.array([0.0, 0.0]),
                                      np.array([0.0, PI]), 0.0)
    assert kin.invariant_mass(px.sum(), py.sum(), pz.sum(), e.sum()) == pytest.approx(91.2,
                                                                                      rel=1e-14)
    # a massive one at rest
    px, py, pz, e = kin.four_momentum(0.0, 0.0, 0.0, 125.0)
    assert kin.invariant_mass(px, py, pz, e) == 125.0
    # space-like: 0 by default, −√(−m²) when signed (ROOT, Pythia)
    assert kin.invariant_mass(3.0, 0.0, 4.0, 4.0) == 0.0
    assert kin.invariant_mass(3.0, 0.0, 4.0, 4.0, signed=True) == -3.0
    assert kin.invariant_mass(0.0, 0.0, 3.0, 5.0, signed=True) == 4.0
    assert math.isnan(kin.invariant_mass(np.nan, 0.0, 0.0, 1.0))
    # left to right, as the three sums it replaced (fastsim, genhist, 4ℓ)
    rng = np.random.default_rng(5)
    c = rng.normal(0, 50, (4, 1000))
    c[3] = np.abs(c[3]) + 200
    old = c[3] ** 2 - c[0] ** 2 - c[1] ** 2 - c[2] ** 2
    np.testing.assert_array_equal(kin.mass_squared(*c), old)


def test_energy_from_pt_eta_mass():
    rng = np.random.default_rng(9)
    pt, eta, m = rng.exponential(10, 1000), rng.normal(0, 2, 1000), rng.exponential(1, 1000)
    # bit for bit the form the fast simulation, writers and tracks wrote out
    np.testing.assert_array_equal(kin.energy(pt, eta, m), np.sqrt((pt * np.cosh(eta)) ** 2 + m**2))
    np.testing.assert_allclose(kin.energy(pt, eta, m), kin.four_momentum(pt, eta, 0.0, m)[3],
                               rtol=1e-14)
    assert kin.energy(3.0, 0.0, 4.0) == 5.0
