"""Compiled (numba) kernels of the track observables; the public API is
:mod:`hzx.processors.track_observables`.

Layout: flat float64 arrays of the tracks (``pt, eta, phi, mass``), per-event offsets, one entry
per jet for the jets. Jets are split into blocks (one per numba thread), and each block is worked
through in batches of up to 128 jets (:func:`_observe_batch`), stage by stage over contiguous
per-thread buffers:

- association (:func:`_cone_tracks`): a vectorised pass classifies the event's tracks, the few
  on the cone edge are decided exactly; the jet's tracks are copied into the batch in pT order,
  with the jet's η and φ beside each, and their indices written packed, block after block;
- per track of the whole batch, in one branch-free vectorised loop (:func:`_track_terms`):
  transverse mass, rapidity (exp and ln from their series, :func:`_exp`, :func:`_ln`), the
  angularity term; tracks outside the series' ranges are redone by :func:`_track_exact`;
- per pair of the whole batch, in one branch-free loop vectorised across pairs and jets
  (:func:`_pair_terms`): ΔR² (kept for the clustering), ΔR^0.3 (kept for the triplets) and
  ΔR^0.7 from ΔR² without tables (:func:`_powers`), the pair term of the track system's mass;
- per jet: the sums over its pairs; the triplets, the minimum of the three ΔR^0.3 of the pairs
  (:func:`_e3_triangular`); τ₂ by exclusive kT (:func:`_kt_listed` for small jets, a
  branch-free scan in list order; :func:`_kt_slotted` for larger ones, vectorised minima over a
  distance block).

Every number of a jet depends on its own tracks only, computed in a fixed order: the results do
not depend on which jets share a batch, a block or a chunk: the loops across pairs neither
reassociate nor contract (fused multiply-adds only as explicit instructions, the same in vector
and scalar code), and the one reassociated sum (the triplets) depends on the jet's track count
only.

Accuracy: everything agrees with the spec's formulas to a few units in the last place, except
where a cheaper form could decide a comparison differently from the literal one (a track on the
cone edge, a near tie in the clustering, a track where cos a of the angularity leaves 1, a pair
across the φ = ±π seam closer than 10⁻⁴): those cases are recomputed with the literal formula.
The rapidity takes exp and ln from series (~1 ulp each) instead of libm.
ΔR^0.3 and ΔR^0.7 are the exact powers 3/20 and 7/20 of ΔR² (to ~2e-15); ``**`` with the double
exponents 0.3 and 0.7 differs from them by |ln ΔR|·5e-17 relative.
"""

from __future__ import annotations

import fractions
import math

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

#: Value of an undefined observable (the study's).
SENTINEL = -999999.0
_TWO_PI = 2.0 * math.pi
_SMALLEST_NORMAL = 2.2250738585072014e-308


# ---------------------------------------------------------------------------------------------
# x ↦ (x^0.15, x^0.35) for x = ΔR² (so ΔR^0.3 and ΔR^0.7), without exp and log
# ---------------------------------------------------------------------------------------------

def _float_bits(x):
    """The IEEE-754 bits of a float64 as int64 (compiled: a register move)."""
    return int(np.array(x, dtype=np.float64).view(np.int64))


def _bits_float(bits):
    """The float64 with the given IEEE-754 bits (compiled: a register move)."""
    return float(np.array(bits, dtype=np.int64).view(np.float64))


@intrinsic
def _bitcast_to_int(typingctx, x):  # pragma: no cover - compiled
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bitcast_to_float(typingctx, bits):  # pragma: no cover - compiled
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@overload(_float_bits, inline="always")
def _float_bits_compiled(x):  # pragma: no cover - compiled
    if x == types.float64:
        return lambda x: _bitcast_to_int(x)
    return None


@overload(_bits_float, inline="always")
def _bits_float_compiled(bits):  # pragma: no cover - compiled
    if isinstance(bits, types.Integer):
        return lambda bits: _bitcast_to_float(np.int64(bits))
    return None


def _fma(a, b, c):
    """a·b + c with one rounding (compiled: the FMA instruction, also in vectorised loops)."""
    return float(fractions.Fraction(a) * fractions.Fraction(b) + fractions.Fraction(c))


@intrinsic
def _fma_intrinsic(typingctx, a, b, c):  # pragma: no cover - compiled
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [double],
                                               ir.FunctionType(double, [double] * 3))
        return builder.call(fma, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@overload(_fma, inline="always")
def _fma_compiled(a, b, c):  # pragma: no cover - compiled
    return lambda a, b, c: _fma_intrinsic(float(a), float(b), float(c))


_SQRT2 = 1.4142135623730951
_LN2_OVER_20 = math.log(2.0) / 20.0
#: ln 2 in two parts (fdlibm's): the high part has 21 trailing zero bits, so k·_LN2_HI is exact
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.0 / math.log(2.0)
_ROUNDER = 6755399441055744.0  # 1.5·2^52: adding it rounds to an integer held in the low bits
_ROUNDER_BITS = 0x4338000000000000
#: 1/(2k + 1): ln m = 2 atanh s = 2 Σ s^(2k+1)/(2k + 1), |s| ≤ 0.1716 (remainder < 3e-16)
_L0, _L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8, _L9 = (1.0 / (2 * k + 1) for k in range(10))
#: 1/k!: exp z for |z| ≤ 0.37 (remainder < 1e-17)
(_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12,
 _E13) = (1.0 / math.factorial(k) for k in range(14))


@numba.njit(cache=True, inline="always")
def _ln_series(m):  # pragma: no cover - numba
    """ln m for m ∈ [√½, √2): 2 atanh s, s = (m − 1)/(m + 1), by Estrin's scheme with FMAs."""
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    s4 = s2 * s2
    s8 = s4 * s4
    low = _fma(_fma(_L3, s2, _L2), s4, _fma(_L1, s2, _L0))
    high = _fma(_fma(_L9, s2, _L8), s8, _fma(_fma(_L7, s2, _L6), s4, _fma(_L5, s2, _L4)))
    return 2.0 * s * _fma(high, s8, low)


@numba.njit(cache=True, inline="always")
def _exp_series(z):  # pragma: no cover - numba
    """exp z for |z| ≤ 0.37: Taylor to z¹³ by Estrin's scheme with FMAs."""
    z2 = z * z
    z4 = z2 * z2
    z8 = z4 * z4
    r0 = _fma(_fma(_fma(_E7, z, _E6), z2, _fma(_E5, z, _E4)), z4,
              _fma(_fma(_E3, z, _E2), z2, _fma(_E1, z, _E0)))
    r1 = _fma(_fma(_E13, z, _E12), z4, _fma(_fma(_E11, z, _E10), z2, _fma(_E9, z, _E8)))
    return _fma(r1, z8, r0)


@numba.njit(cache=True, inline="always")
def _split(x):  # pragma: no cover - numba
    """(e, m) with x = 2^e · m, m ∈ [√½, √2), e as a float, for a normal finite x > 0."""
    bits = np.uint64(_float_bits(x))
    exponent = np.int64(bits >> np.uint64(52)) - 1023
    m = _bits_float(np.int64((bits & np.uint64(0x000FFFFFFFFFFFFF))
                             | np.uint64(0x3FF0000000000000)))
    big = m > _SQRT2
    return float(exponent) + (1.0 if big else 0.0), (0.5 * m if big else m)


@numba.njit(cache=True, inline="always")
def _two_to(k):  # pragma: no cover - numba
    """2^k for an integer-valued float k with |k| ≤ 1022."""
    k_bits = _float_bits(k + _ROUNDER) - _ROUNDER_BITS
    return _bits_float((k_bits + 1023) << 52)


@numba.njit(cache=True, inline="always")
def _exp(x):  # pragma: no cover - numba
    """exp x for |x| ≤ 700, branch-free (vectorises): 2^k · exp r, r = x − k ln 2 (Cody–Waite,
    two parts of ln 2), |r| ≤ ln2/2; ~1 ulp."""
    k = (x * _INV_LN2 + _ROUNDER) - _ROUNDER
    r = _fma(-k, _LN2_LO, _fma(-k, _LN2_HI, x))
    return _exp_series(r) * _two_to(k)


@numba.njit(cache=True, inline="always")
def _ln(x):  # pragma: no cover - numba
    """ln x for a normal finite x > 0, branch-free (vectorises); ~1 ulp."""
    e, m = _split(x)
    return _fma(e, _LN2_HI, _fma(e, _LN2_LO, _ln_series(m)))


@numba.njit(cache=True, inline="always")
def _powers(d2):  # pragma: no cover - numba
    """(d2^0.15, d2^0.35) for a normal, finite d2 > 0, branch-free and without table lookups
    (so that it vectorises where it is inlined, and no gathers): t = d2^0.05 = 2^q ·
    exp(0.05 ln m + r ln2 / 20) with d2 = 2^(20q + r) · m, m ∈ [√½, √2), r ∈ [−10, 9]; ln m from
    its atanh series, exp from its Taylor series, both evaluated by Estrin's scheme with fused
    multiply-adds; then t³ and t⁷. About 2e-15 relative."""
    exponent_f, m = _split(d2)
    ln_m = _ln_series(m)
    q = math.floor((exponent_f + 10.5) * 0.05)
    z = _fma(0.05, ln_m, (exponent_f - 20.0 * q) * _LN2_OVER_20)
    t = _exp_series(z) * _two_to(q)
    t3 = t * t * t
    return t3, t3 * t3 * t


@numba.njit(cache=True)
def _dr_powers(d2):  # pragma: no cover - numba
    """(d2^0.15, d2^0.35), i.e. (ΔR^0.3, ΔR^0.7) from ΔR² ≥ 0, to ~2e-15 relative
    (:func:`_powers`); 0, subnormals, infinities and NaN take ``**``."""
    if not (_SMALLEST_NORMAL <= d2 <= 1e300):
        return d2**0.15, d2**0.35
    return _powers(d2)


# ---------------------------------------------------------------------------------------------
# elementary pieces
# ---------------------------------------------------------------------------------------------

@numba.njit(cache=True)
def wrap_phi(x):  # pragma: no cover - numba
    """Bring an angle into [−π, π] by whole turns (exact when already inside)."""
    while x > math.pi:
        x -= _TWO_PI
    while x < -math.pi:
        x += _TWO_PI
    return x


@numba.njit(cache=True)
def exact_dr(eta1, phi1, eta2, phi2):  # pragma: no cover - numba
    """ΔR with Δφ = atan2(sin, cos): the spec's formula, bit for bit."""
    deta = eta1 - eta2
    d = phi1 - phi2
    dphi = math.atan2(math.sin(d), math.cos(d))
    return math.sqrt(deta * deta + dphi * dphi)


@numba.njit(cache=True)
def _wrapped_dphi(phi1, phi2):  # pragma: no cover - numba
    """φ1 − φ2 in [−π, π]: by one turn when needed (a few 1e-16 absolute from atan2(sin, cos));
    a wrapped difference under 1e-4 — two points across the seam — takes the exact formula, so
    the relative error stays below 1e-11."""
    d = phi1 - phi2
    if d > math.pi:
        d -= _TWO_PI
    elif d < -math.pi:
        d += _TWO_PI
    else:
        return d
    if d > math.pi or d < -math.pi or abs(d) < 1e-4:
        return math.atan2(math.sin(phi1 - phi2), math.cos(phi1 - phi2))
    return d


@numba.njit(cache=True)
def _fast_dr2(eta1, phi1, eta2, phi2):  # pragma: no cover - numba
    """ΔR² of :func:`fast_dr`."""
    deta = eta1 - eta2
    d = _wrapped_dphi(phi1, phi2)
    return deta * deta + d * d


@numba.njit(cache=True)
def fast_dr(eta1, phi1, eta2, phi2):  # pragma: no cover - numba
    return math.sqrt(_fast_dr2(eta1, phi1, eta2, phi2))


#: Taylor coefficients 1/k!: sinh to x¹⁷ (|x| ≤ 1, remainder < 1e-17), sin to x²¹ (|x| ≤ π/2).
_S3, _S5, _S7, _S9 = 1 / 6, 1 / 120, 1 / 5040, 1 / 362880
_S11, _S13, _S15, _S17 = 1 / 39916800, 1 / 6227020800, 1 / 1307674368000, 1 / 355687428096000
_S19, _S21 = 1 / 121645100408832000, 1 / 51090942171709440000


@numba.njit(cache=True, inline="always")
def _sinh_series(x):  # pragma: no cover - numba
    """sinh x for |x| ≤ 1, to ~1 ulp, branch-free."""
    x2 = x * x
    return x * (1.0 + x2 * (_S3 + x2 * (_S5 + x2 * (_S7 + x2 * (_S9 + x2 * (
        _S11 + x2 * (_S13 + x2 * (_S15 + x2 * _S17))))))))


@numba.njit(cache=True, inline="always")
def _sin_series(x):  # pragma: no cover - numba
    """sin x for |x| ≤ π/2, to ~1 ulp, branch-free."""
    x2 = x * x
    return x * (1.0 - x2 * (_S3 - x2 * (_S5 - x2 * (_S7 - x2 * (_S9 - x2 * (
        _S11 - x2 * (_S13 - x2 * (_S15 - x2 * (_S17 - x2 * (_S19 - x2 * _S21))))))))))


@numba.njit(cache=True)
def _sinh_small(x):  # pragma: no cover - numba
    """sinh x: :func:`_sinh_series` for |x| ≤ 1, else math.sinh."""
    return _sinh_series(x) if abs(x) <= 1.0 else math.sinh(x)


@numba.njit(cache=True)
def _sin_small(x):  # pragma: no cover - numba
    """sin x: :func:`_sin_series` for |x| ≤ π/2, else math.sin."""
    return _sin_series(x) if abs(x) <= 1.5707963267948966 else math.sin(x)


@numba.njit(cache=True, inline="always")
def _cos_series(x):  # pragma: no cover - numba
    """cos x to ~1e-16 absolute for |x| ≤ 1.6: Taylor series to x²² (π/2 = a track on the cone
    edge of the angularity; remainder < 2e-19), branch-free."""
    x2 = x * x
    return 1.0 - x2 * (1 / 2 - x2 * (1 / 24 - x2 * (1 / 720 - x2 * (1 / 40320 - x2 * (
        1 / 3628800 - x2 * (1 / 479001600 - x2 * (1 / 87178291200 - x2 * (
            1 / 20922789888000 - x2 * (1 / 6402373705728000 - x2 * (
                1 / 2432902008176640000 - x2 * (1 / 1124000727777607680000)))))))))))


@numba.njit(cache=True)
def _cos_small(x):  # pragma: no cover - numba
    """cos x: :func:`_cos_series` for |x| ≤ 1.6, else math.cos."""
    if abs(x) > 1.6:
        return math.cos(x)
    return _cos_series(x)


# ---------------------------------------------------------------------------------------------
# sums over pairs and triplets
# ---------------------------------------------------------------------------------------------

_FAST = {"reassoc", "nsz", "contract"}  # sums of non-negative terms: order is free


@numba.njit(cache=True, fastmath=_FAST, _nrt=False)
def _e3_sum(p, n, a03):  # pragma: no cover - numba
    """Σ_{i<j<k} pT_i pT_j pT_k min(a[i, j], a[i, k], a[j, k]) with a = ΔR^0.3 (the minimum of
    the powers is the power of the minimum). All terms are ≥ 0, so reassociating the sum (and
    vectorising the k loop) costs nothing in accuracy. Unsigned indices spare the negative-index
    check, which would otherwise turn the contiguous loads into gathers; no row views are taken
    (each would cost a reference-count update)."""
    s = 0.0
    for i in range(n - 2):
        for j in range(i + 1, n - 1):
            aij = a03[i, j]
            inner = 0.0
            for k in range(np.uint64(j + 1), np.uint64(n)):
                m = a03[i, k] if a03[i, k] < a03[j, k] else a03[j, k]
                m = aij if aij < m else m
                inner += p[k] * m
            s += p[i] * p[j] * inner
    return s


@numba.njit(cache=True)
def _mass_pair_term(pa, ma, mta, ya, pb, mb, mtb, yb, half_dphi):  # pragma: no cover - numba
    """E_a E_b − p_a·p_b without cancellation (y the rapidity, half_dphi = Δφ/2 up to a turn):
    2 m_T,a m_T,b sinh²(Δy/2) + (m_a² pT_b² + m_b² pT_a² + m_a² m_b²) / (m_T,a m_T,b + pT_a pT_b)
    + 2 pT_a pT_b sin²(Δφ/2)."""
    sinh_dy = _sinh_small(0.5 * (ya - yb))
    sin_dphi = _sin_small(half_dphi)
    denominator = mta * mtb + pa * pb
    mass_term = 0.0
    if denominator > 0:  # both tracks at pT = m = 0: the term is 0
        mass_term = (ma * ma * (pb * pb) + mb * mb * (pa * pa) + ma * ma * (mb * mb)) / denominator
    return 2.0 * mta * mtb * sinh_dy * sinh_dy + mass_term + 2.0 * pa * pb * sin_dphi * sin_dphi


@numba.njit(cache=True, inline="always")
def _pair_position(pairs, n, i, k):  # pragma: no cover - numba
    """Index of the pair (i, k), i < k, of a jet's n tracks whose pairs start at ``pairs``:
    (0, 1), (0, 2) … (0, n − 1), (1, 2) … — each row's pairs consecutive."""
    return pairs + i * n - (i * (i + 1)) // 2 + (k - i - 1)


@numba.njit(cache=True)
def _pair_exact(a, c, p, e, f, m, mt, y):  # pragma: no cover - numba
    """Pair (a, c) of :func:`_pair_terms` in scalar code valid for any input: (ΔR², ΔR^0.3,
    ΔR^0.7, mass pair term). Used where the vectorised loop flagged the pair as outside its
    polynomials' ranges or across the φ seam."""
    deta = e[a] - e[c]
    dphi = _wrapped_dphi(f[a], f[c])
    d2 = deta * deta + dphi * dphi
    x03, x07 = _dr_powers(d2)
    mass = _mass_pair_term(p[a], m[a], mt[a], y[a], p[c], m[c], mt[c], y[c], 0.5 * (f[a] - f[c]))
    return d2, x03, x07, mass


@numba.njit(cache=True, error_model="numpy")
def _pair_terms(n_pairs, deta_d2, dphi_a03, half_dy_mass, pp_w07, mtmt_w03, mass_numerator,
                flags):  # pragma: no cover - numba
    """Every pair of a batch of jets in one branch-free loop over contiguous arrays, which the
    compiler vectorises across pairs (and so across jets). In: Δη, the raw φ difference, half
    the rapidity difference, pT_a pT_c, m_T,a m_T,c, and m_a² pT_c² + m_c² pT_a² + m_a² m_c²;
    out, in place: ΔR², ΔR^0.3, the mass pair term of :func:`_mass_pair_term`, pT_a pT_c ΔR^0.7,
    pT_a pT_c ΔR^0.3. Δφ is wrapped by selects, ΔR^β comes from :func:`_powers`, sinh and sin
    from their series. A pair outside the series' ranges (|Δy| > 2), across the φ seam closer
    than 1e-4, or with ΔR² subnormal, infinite or NaN is flagged for :func:`_pair_exact`.
    Returns the number of flagged pairs. No reassociation or contraction: a pair's numbers are
    the same in the vector body and in the scalar remainder of the loop."""
    flagged = 0
    for q in range(np.uint64(0), np.uint64(n_pairs)):
        deta = deta_d2[q]
        raw = dphi_a03[q]
        h = half_dy_mass[q]
        pp = pp_w07[q]
        mtmt = mtmt_w03[q]
        dphi = raw - _TWO_PI if raw > math.pi else raw
        dphi = dphi + _TWO_PI if dphi < -math.pi else dphi
        d2 = deta * deta + dphi * dphi
        normal = (d2 >= _SMALLEST_NORMAL) & (d2 <= 1e300)
        x03, x07 = _powers(d2 if normal else 1.0)
        x03 = x03 if normal else 0.0
        x07 = x07 if normal else 0.0
        sinh_dy = _sinh_series(h)
        sin_dphi = _sin_series(0.5 * dphi)  # sin²(Δφ/2) is the same for Δφ and Δφ ± 2π
        denominator = mtmt + pp
        mass_term = mass_numerator[q] / denominator if denominator > 0 else 0.0
        deta_d2[q] = d2
        dphi_a03[q] = x03
        half_dy_mass[q] = (2.0 * mtmt * sinh_dy * sinh_dy + mass_term
                           + 2.0 * pp * sin_dphi * sin_dphi)
        pp_w07[q] = pp * x07
        mtmt_w03[q] = pp * x03
        seam_close = (dphi != raw) & (abs(dphi) < 1e-4)
        flag = (abs(h) > 1.0) | seam_close | ((d2 != 0.0) != normal)  # 0: ΔR^β = 0
        flags[q] = flag
        flagged += flag
    return flagged


@numba.njit(cache=True, fastmath=_FAST, _nrt=False)
def _e3_triangular(p, base, n, a03, pairs):  # pragma: no cover - numba
    """:func:`_e3_sum` of the n tracks p[base:base + n] whose ΔR^0.3 are stored in the
    triangular pair order of :func:`_pair_position` from ``a03[pairs]``."""
    s = 0.0
    for i in range(n - 2):
        for j in range(i + 1, n - 1):
            # (i, j + 1 …) and (j, j + 1 …) are consecutive in the triangular order
            row_i = np.uint64(_pair_position(pairs, n, i, j + 1))
            row_j = np.uint64(_pair_position(pairs, n, j, j + 1))
            aij = a03[_pair_position(pairs, n, i, j)]
            tracks = np.uint64(base + j + 1)
            inner = 0.0
            for k in range(np.uint64(0), np.uint64(n - j - 1)):
                x = a03[row_i + k] if a03[row_i + k] < a03[row_j + k] else a03[row_j + k]
                x = aij if aij < x else x
                inner += p[tracks + k] * x
            s += p[base + i] * p[base + j] * inner
    return s


# ---------------------------------------------------------------------------------------------
# τ₂: exclusive kT to two axes
# ---------------------------------------------------------------------------------------------
# Hand-written beside fastjet because benchmarks/bench_tau2_fastjet.py measures the gain, one
# thread each, the same 20 000 synthetic jets, τ₂ equal to 1e-9 on every jet: fastjet's
# vectorised ClusterSequence(kT, R = 0.2, BIpt).exclusive_jets(2) alone takes 11.3 / 15.7 /
# 18.7 µs per jet at 6 / 16 / 26 tracks, where these kernels compute all seven observables
# (τ₂ included) in 1.4 / 6.4 / 11.9 µs — fastjet's τ₂ 9.6× / 3.1× / 1.5× slower. The axes are
# fastjet's exclusive subjets to 1e-9 (tests/test_track_kernels.py, ..._fastjets_exclusive_kt_...).
#     python benchmarks/bench_tau2_fastjet.py --mean-tracks 16

_INF_BITS = 0x7FF0000000000000
#: Largest number of tracks clustered by :func:`_kt_listed`; more go to :func:`_kt_slotted`.
_SMALL_KT = 12


@numba.njit(cache=True, _nrt=False)
def _exact_winner(m, order, opt, oeta, ophi, r_sub):  # pragma: no cover - numba
    """The reference loop's choice among the m objects order[0…m−1] (list order), on exact
    distances: i ascending, d_iB before the d_ij of the same i, j ascending, first smallest.
    Returns their positions in ``order`` (a, b or −1); (−1, −1) when no distance compares."""
    best = np.inf
    ba = -1
    bb = -1
    for a in range(m):
        i = order[a]
        d_ib = opt[i] * opt[i]
        if d_ib < best:
            best = d_ib
            ba = a
            bb = -1
        for b in range(a + 1, m):
            k = order[b]
            soft = min(opt[i], opt[k])
            ratio = exact_dr(oeta[i], ophi[i], oeta[k], ophi[k]) / r_sub
            d_ik = soft * soft * (ratio * ratio)
            if d_ik < best:
                best = d_ik
                ba = a
                bb = b
    return ba, bb


@numba.njit(cache=True)
def _merge(i, k, opt, oeta, ophi):  # pragma: no cover - numba
    """Object k into object i (the earlier in list order), BIpt recombination as the
    reference: pT summed, η pT-weighted, φ moved from i towards k by the pT fraction."""
    pt_sum = opt[i] + opt[k]
    eta_new = (opt[i] * oeta[i] + opt[k] * oeta[k]) / pt_sum
    dphi_ik = wrap_phi(ophi[k] - ophi[i])
    opt[i] = pt_sum
    oeta[i] = eta_new
    ophi[i] = wrap_phi(ophi[i] + dphi_ik * opt[k] / pt_sum)


@numba.njit(cache=True, inline="always")
def _smaller(a, v):  # pragma: no cover - numba
    """v if v < a else a: a NaN v never replaces a."""
    return v if v < a else a


@numba.njit(cache=True, inline="always")
def _larger(a, v):  # pragma: no cover - numba
    """a if a > v else v: a NaN v comes back (and then replaces nothing in :func:`_smaller`)."""
    return a if a > v else v


@numba.njit(cache=True, error_model="numpy", _nrt=False)
def _kt_listed(n, d2, pairs, r_sub, opt, oeta, ophi, dist, order):  # pragma: no cover - numba
    """Exclusive kT of the n ≥ 3 objects in opt, oeta, ophi down to two, for small n.

    Objects stay in their slots; ``order`` lists the live slots in list order (always
    ascending: a merged object keeps the earlier slot, a removed one leaves the list). dist[i·n
    + k], i < k, holds d_ik and dist[i·n + i] d_iB. Each step scans the live distances in the
    reference order keeping the smallest and the second smallest: a second within 1e-10
    relative sends the step to :func:`_exact_winner`, so ties resolve as specified. Returns
    the slots of the two axes."""
    inv_r2 = 1.0 / (r_sub * r_sub)
    for i in range(n):
        order[i] = i
        row = i * n
        dist[row + i] = opt[i] * opt[i]
        first = _pair_position(pairs, n, i, i + 1)
        for k in range(i + 1, n):
            soft = opt[i] if opt[i] < opt[k] else opt[k]
            dist[row + k] = soft * soft * (d2[first + k - i - 1] * inv_r2)
    m = n
    while m > 2:
        best = np.inf
        second = np.inf
        ba = -1
        bb = -1
        for a in range(m):  # branch-free: the outcomes of these comparisons are data, not habits
            row = order[a] * n
            v = dist[row + order[a]]
            second = _smaller(second, _larger(best, v))
            ba = a if v < best else ba
            bb = -1 if v < best else bb
            best = _smaller(best, v)
            for b in range(a + 1, m):
                v = dist[row + order[b]]
                second = _smaller(second, _larger(best, v))
                ba = a if v < best else ba
                bb = b if v < best else bb
                best = _smaller(best, v)
        if second <= best * (1.0 + 1e-10):
            ba, bb = _exact_winner(m, order, opt, oeta, ophi, r_sub)
        if ba < 0:  # only NaN distances left
            break
        i = order[ba]
        gone = ba
        if bb >= 0:
            _merge(i, order[bb], opt, oeta, ophi)
            gone = bb
        for a in range(gone, m - 1):
            order[a] = order[a + 1]
        m -= 1
        if bb < 0 or m == 2:  # the last step's distances are not needed
            continue
        dist[i * n + i] = opt[i] * opt[i]
        for a in range(m):
            x = order[a]
            if x == i:
                continue
            deta = oeta[i] - oeta[x]
            dphi = _wrapped_dphi(ophi[i], ophi[x])
            soft = opt[x] if opt[x] < opt[i] else opt[i]
            d = soft * soft * ((deta * deta + dphi * dphi) * inv_r2)
            if x > i:
                dist[i * n + x] = d
            else:
                dist[x * n + i] = d
    return order[0], order[1]


@numba.njit(cache=True, _nrt=False)
def _vacate(x, m, n, dist, opt, oeta, ophi, rank):  # pragma: no cover - numba
    """Remove the object in slot x of m: the last slot's object moves into x (its distances
    re-filed so that each pair stays above the diagonal), and the last slot's column becomes
    inf. O(m); the slots' order no longer follows the list, ``rank`` keeps the list order."""
    last = m - 1
    if x != last:
        for y in range(x):
            dist[y * n + x] = dist[y * n + last]
        for y in range(x + 1, last):
            dist[x * n + y] = dist[y * n + last]
        dist[x * n + x] = dist[last * n + last]
        opt[x] = opt[last]
        oeta[x] = oeta[last]
        ophi[x] = ophi[last]
        rank[x] = rank[last]
    for y in range(last + 1):
        dist[y * n + last] = np.inf


@numba.njit(cache=True, error_model="numpy", _nrt=False)
def _kt_slotted(n, d2, pairs, r_sub, opt, oeta, ophi, dist, rank,
                order):  # pragma: no cover - numba
    """Exclusive kT of the n objects in opt, oeta, ophi down to two, for larger n.

    The objects sit in slots 0…m−1; their distances in the rows 0…m−1 of an n-column block
    ``dist``: d_iB on the diagonal, each d_ij once, above the diagonal (below it, and in
    columns ≥ m: inf). A step is the smallest element of the rows in use — a vectorised
    minimum of the bit patterns (which order non-negative doubles like their values), then one
    vectorised pass for its position and the count of near ties — then the removed object's
    slot is refilled from the last one (O(m)) and the merged object's row and column
    recomputed. The list order of the reference loop is kept in ``rank``: the merged object
    takes the place of the earlier of the two, as ``objs[i] = merged; del objs[j]`` does. When
    a second distance lies within a relative 1e-10 of the smallest, the step is decided by
    :func:`_exact_winner`. The two axes end in slots 0 and 1.
    """
    inv_r2 = 1.0 / (r_sub * r_sub)
    for i in range(n):
        rank[i] = i
        pi_ = opt[i]
        row = i * n
        for k in range(i):
            dist[row + k] = np.inf
        dist[row + i] = pi_ * pi_
        first = np.uint64(_pair_position(pairs, n, i, i + 1))
        for k in range(np.uint64(0), np.uint64(n - i - 1)):  # contiguous: vectorises
            pk = opt[np.uint64(i + 1) + k]
            soft = pi_ if pi_ < pk else pk
            dist[np.uint64(row + i + 1) + k] = soft * soft * (d2[first + k] * inv_r2)
    m = n
    while m > 2:
        size = np.uint64(m * n)
        smallest = np.int64(_INF_BITS)
        for q in range(np.uint64(0), size):
            bits = _float_bits(dist[q])
            smallest = bits if bits < smallest else smallest
        if smallest == np.int64(_INF_BITS):  # only NaN distances left
            break
        threshold = _bits_float(smallest) * (1.0 + 1e-10)
        close = 0
        first = size
        for q in range(np.uint64(0), size):  # near ties, and where the smallest is
            v = dist[q]
            close += v <= threshold
            at = q if _float_bits(v) == smallest else size
            first = at if at < first else first
        if close > 1:
            for r in range(n):
                order[r] = -1
            for slot in range(m):
                order[rank[slot]] = slot
            filled = 0
            for r in range(n):
                if order[r] >= 0:
                    order[filled] = order[r]
                    filled += 1
            ba, bb = _exact_winner(m, order, opt, oeta, ophi, r_sub)
            if ba < 0:
                break
            bi = order[ba]
            bj = order[bb] if bb >= 0 else -1
        else:
            bi = np.int64(first) // n
            bj = np.int64(first) - bi * n
            if bj == bi:
                bj = -1
            elif rank[bj] < rank[bi]:  # the merged object takes the earlier list place
                bi, bj = bj, bi
        if bj < 0:
            _vacate(bi, m, n, dist, opt, oeta, ophi, rank)
            m -= 1
            continue
        _merge(bi, bj, opt, oeta, ophi)
        if bi == m - 1:  # the last slot moves into bj's place
            bi = bj
        _vacate(bj, m, n, dist, opt, oeta, ophi, rank)
        m -= 1
        pt_sum = opt[bi]
        dist[bi * n + bi] = pt_sum * pt_sum
        for x in range(m):
            if x == bi:
                continue
            deta = oeta[bi] - oeta[x]
            dphi = _wrapped_dphi(ophi[bi], ophi[x])
            soft = opt[x] if opt[x] < pt_sum else pt_sum
            d = soft * soft * ((deta * deta + dphi * dphi) * inv_r2)
            if x > bi:
                dist[bi * n + x] = d
            else:
                dist[x * n + bi] = d
    return 0, 1


@numba.njit(cache=True, error_model="numpy", _nrt=False)
def _tau2(p, e, f, base, n, total, d2, pairs, r_sub, radius, opt, oeta, ophi, dist, rank,
          order):  # pragma: no cover - numba
    """τ₂ of the n tracks p, e, f[base:base + n] (pT order; their ΔR² in ``d2`` from
    ``pairs`` on, triangular order): exclusive kT with BIpt recombination to two axes
    (:func:`_kt_listed` or :func:`_kt_slotted`), then Σ pT·min ΔR(axis) / (ΣpT · R).
    :data:`SENTINEL` for n < 2; 0 for two tracks (each is an axis)."""
    if n < 2:
        return SENTINEL
    if n == 2 and total > 0:
        return 0.0
    for i in range(n):
        opt[i] = p[base + i]
        oeta[i] = e[base + i]
        ophi[i] = f[base + i]
    if n <= _SMALL_KT:
        s0, s1 = _kt_listed(n, d2, pairs, r_sub, opt, oeta, ophi, dist, order)
    else:
        s0, s1 = _kt_slotted(n, d2, pairs, r_sub, opt, oeta, ophi, dist, rank, order)
    numerator = 0.0
    for t in range(base, base + n):  # √ is monotonic: the smaller ΔR² gives the smaller ΔR
        dr1 = _fast_dr2(e[t], f[t], oeta[s0], ophi[s0])
        dr2 = _fast_dr2(e[t], f[t], oeta[s1], ophi[s1])
        numerator += p[t] * math.sqrt(dr1 if dr1 < dr2 else dr2)
    return numerator / (total * radius) if total > 0 else SENTINEL


# ---------------------------------------------------------------------------------------------
# batches of jets
# ---------------------------------------------------------------------------------------------

#: A batch holds up to this many jets, and closes early once its pairs reach _BATCH_PAIRS (so
#: that its pair arrays stay in the core's cache).
_BATCH_JETS = 128
_BATCH_PAIRS = 4096


@numba.njit(cache=True)
def _batch_workspace(max_n):  # pragma: no cover - numba
    """Per-thread buffers of a batch of jets with at most ``max_n`` tracks each: per-jet track
    and pair offsets; per track pt, eta, phi, mass, m_T, rapidity, angularity term; per pair
    the two tracks, ΔR², ΔR^0.3, the two weighted powers, the mass term and a flag; the
    clustering's objects (pt, eta, phi), distance block, list ranks and order."""
    size = max(max_n, 2)
    n_tracks = _BATCH_JETS * size
    n_pairs = _BATCH_PAIRS + size * (size - 1) // 2
    # np.empty: every entry is written before it is read, and zeroing would touch every page
    return (np.zeros(_BATCH_JETS + 1, dtype=np.int64), np.zeros(_BATCH_JETS + 1, dtype=np.int64),
            np.empty((9, n_tracks)), np.empty((2, n_pairs), dtype=np.int64),
            np.empty((6, n_pairs)), np.empty(max(n_pairs, n_tracks), dtype=np.uint8),
            np.empty((3, size)), np.empty(size * size), np.empty(size, dtype=np.int64),
            np.empty(size, dtype=np.int64))


@numba.njit(cache=True, error_model="numpy")
def _track_exact(t, p, e, f, m, jet_e, jet_f, mt, y, ang, radius):  # pragma: no cover - numba
    """Track t of :func:`_track_terms` in scalar code valid for any input (libm exp and log,
    the exact ΔR where cos a leaves 1, math.cos beyond the series' range)."""
    pt_t = p[t]
    mass = m[t]
    mt_t = math.sqrt(pt_t * pt_t + mass * mass)
    mt[t] = mt_t
    if mass == 0:
        y[t] = e[t]
    else:  # asinh(pz / m_T) as log((E + |pz|) / m_T)
        u = math.exp(min(max(e[t], -700.0), 700.0))
        pz = pt_t * (0.5 * (u - 1.0 / u))
        energy = math.sqrt(mt_t * mt_t + pz * pz)
        rapidity = math.log((energy + abs(pz)) / mt_t)
        y[t] = rapidity if pz >= 0 else -rapidity
    a = math.pi * fast_dr(e[t], f[t], jet_e, jet_f) / (2.0 * radius)
    if 5e-9 < a < 2e-8:  # where cos a leaves 1 (a ≈ 1.05e-8): decide as the literal
        a = math.pi * exact_dr(e[t], f[t], jet_e, jet_f) / (2.0 * radius)
        cos_a = math.cos(a)
    else:
        cos_a = _cos_small(a)
    ang[t] = pt_t * (1.0 + cos_a) if 1.0 - cos_a > 0 else 0.0


@numba.njit(cache=True, error_model="numpy")
def _track_terms(n_tracks, tracks, flags, radius):  # pragma: no cover - numba
    """Per track of the batch (rows of ``tracks``: pt, eta, phi, mass, then out m_T, rapidity,
    angularity term, in the jet's eta, phi): m_T, the rapidity (η for massless tracks; it only
    enters the pair terms) and the angularity term pT·sin²a/(1 − cos a) = pT·(1 + cos a),
    a = π ΔR(track, jet) / 2R, or 0 where 1 − cos a is not > 0.

    One branch-free loop over the batch's tracks, which the compiler vectorises: exp and ln
    from their series (:func:`_exp`, :func:`_ln`), Δφ wrapped by selects, cos a from
    :func:`_cos_series`. Tracks outside those ranges (E + |pz| over m_T not a normal number,
    across the φ seam closer than 1e-4, a in the band where cos a leaves 1, a > 1.6) are
    flagged and redone by :func:`_track_exact`. No reassociation or contraction: a track's
    numbers are the same in the vector body and in the scalar remainder."""
    p, e, f, m, mt, y, ang, je, jf = (tracks[0], tracks[1], tracks[2], tracks[3], tracks[4],
                                      tracks[5], tracks[6], tracks[7], tracks[8])
    flagged = 0
    for t in range(np.uint64(0), np.uint64(n_tracks)):
        pt_t = p[t]
        mass = m[t]
        eta_t = e[t]
        mt_t = math.sqrt(pt_t * pt_t + mass * mass)
        x = -700.0 if eta_t < -700.0 else eta_t
        x = 700.0 if x > 700.0 else x
        u = _exp(x)
        pz = pt_t * (0.5 * (u - 1.0 / u))
        energy = math.sqrt(mt_t * mt_t + pz * pz)
        w = (energy + abs(pz)) / mt_t
        w_normal = (w >= _SMALLEST_NORMAL) & (w <= 1e300)
        rapidity = _ln(w if w_normal else 1.0)
        rapidity = rapidity if pz >= 0 else -rapidity
        raw = f[t] - jf[t]
        dphi = raw - _TWO_PI if raw > math.pi else raw
        dphi = dphi + _TWO_PI if dphi < -math.pi else dphi
        deta = eta_t - je[t]
        a = math.pi * math.sqrt(deta * deta + dphi * dphi) / (2.0 * radius)
        cos_a = _cos_series(a)
        mt[t] = mt_t
        y[t] = eta_t if mass == 0 else rapidity
        ang[t] = pt_t * (1.0 + cos_a) if 1.0 - cos_a > 0 else 0.0
        in_range = (abs(dphi) <= math.pi) & (a <= 1.6) & ((mass == 0) | w_normal)
        seam_close = (dphi != raw) & (abs(dphi) < 1e-4)
        flag = (not in_range) | seam_close | ((a > 5e-9) & (a < 2e-8))
        flags[t] = flag
        flagged += flag
    if flagged:
        for t in range(n_tracks):
            if flags[t]:
                _track_exact(t, p, e, f, m, je[t], jf[t], mt, y, ang, radius)


@numba.njit(cache=True, error_model="numpy")
def _observe_batch(jet_eta, jet_phi, j0, n_batch, track_offsets, pair_offsets, tracks, pair_ends,
                   pair_values, flags, objects, dist, rank, order, radius, r_sub,
                   out):  # pragma: no cover - numba
    """The seven observables of jets j0 … j0 + n_batch − 1, whose tracks (pT order) fill
    tracks[0:4] (pt, eta, phi, mass) at track_offsets, into out[j] (OBSERVABLE_NAMES order):
    per-track terms, then every pair of the batch in one vectorised loop, then per jet the
    sums, the triplets and τ₂. Each jet's numbers depend on its own tracks only, in a fixed
    order, whatever else shares the batch."""
    p, e, f, m, mt, y, ang = (tracks[0], tracks[1], tracks[2], tracks[3], tracks[4], tracks[5],
                              tracks[6])
    _track_terms(track_offsets[n_batch], tracks, flags, radius)
    first = pair_ends[0]
    second = pair_ends[1]
    d2, a03, mass_terms, w07, w03, mass_numerator = (pair_values[0], pair_values[1],
                                                     pair_values[2], pair_values[3],
                                                     pair_values[4], pair_values[5])
    q = 0
    for b in range(n_batch):  # the pairs' operands, contiguous for _pair_terms
        pair_offsets[b] = q
        end = track_offsets[b + 1]
        for i in range(track_offsets[b], end):
            pi_, ei, fi, yi, mti = p[i], e[i], f[i], y[i], mt[i]
            mi2 = m[i] * m[i]
            for k in range(i + 1, end):
                first[q] = i
                second[q] = k
                d2[q] = ei - e[k]
                a03[q] = fi - f[k]
                mass_terms[q] = 0.5 * (yi - y[k])
                w07[q] = pi_ * p[k]
                w03[q] = mti * mt[k]
                mk2 = m[k] * m[k]
                mass_numerator[q] = mi2 * (p[k] * p[k]) + mk2 * (pi_ * pi_) + mi2 * mk2
                q += 1
    pair_offsets[n_batch] = q
    if _pair_terms(q, d2, a03, mass_terms, w07, w03, mass_numerator, flags):
        for q in range(pair_offsets[n_batch]):
            if flags[q]:
                a = first[q]
                c = second[q]
                d2[q], a03[q], x07, mass_terms[q] = _pair_exact(a, c, p, e, f, m, mt, y)
                w07[q] = p[a] * p[c] * x07
                w03[q] = p[a] * p[c] * a03[q]
    opt, oeta, ophi = objects[0], objects[1], objects[2]
    for b in range(n_batch):
        j = j0 + b
        base = track_offsets[b]
        n = track_offsets[b + 1] - base
        pairs = pair_offsets[b]
        out[j, 0] = n
        if n == 0:
            for c in range(1, 7):
                out[j, c] = SENTINEL
            continue
        total = 0.0
        numerator = 0.0
        m_sum = 0.0
        for t in range(base, base + n):
            total += p[t]
            numerator += ang[t]
            m_sum += m[t] * m[t]
        out[j, 1] = fast_dr(jet_eta[j], jet_phi[j], e[base], f[base])
        out[j, 2] = p[base] / total if total > 0 else SENTINEL
        e2_07 = 0.0
        e2_03 = 0.0
        mass_pairs = 0.0
        for q in range(pairs, pair_offsets[b + 1]):
            e2_07 += w07[q]
            e2_03 += w03[q]
            mass_pairs += mass_terms[q]
        m2 = m_sum + 2.0 * mass_pairs
        m_sys = math.sqrt(m2) if m2 > 0 else 0.0
        out[j, 3] = numerator / m_sys if (total > 0 and m_sys > 0) else SENTINEL
        if n >= 2:
            e2_07 = e2_07 / total**2
            e2_03 = e2_03 / total**2
            e3_03 = _e3_triangular(p, base, n, a03, pairs) / total**3 if n >= 3 else 0.0
        else:
            e2_07 = e2_03 = e3_03 = 0.0
        out[j, 4] = e2_07 if e2_07 > 0 else SENTINEL
        out[j, 5] = e3_03 / e2_03 if e2_03 > 0 else SENTINEL
        out[j, 6] = _tau2(p, e, f, base, n, total, d2, pairs, r_sub, radius, opt, oeta, ophi,
                          dist, rank, order)


@numba.njit(cache=True, inline="always")
def _put_track(tracks, slot, t, pt, eta, phi, mass, jet_e, jet_f):  # pragma: no cover - numba
    """Track t of the flat arrays, and its jet's η and φ, into the batch's track buffers at
    ``slot``."""
    tracks[0, slot] = pt[t]
    tracks[1, slot] = eta[t]
    tracks[2, slot] = phi[t]
    tracks[3, slot] = mass[t]
    tracks[7, slot] = jet_e
    tracks[8, slot] = jet_f


@numba.njit(cache=True, error_model="numpy", parallel=True)
def listed_observables(jet_eta, jet_phi, offsets, pt, eta, phi, mass, radius, r_sub, out,
                       n_blocks):  # pragma: no cover - numba
    """Observables of jets whose tracks are given: jet j has tracks offsets[j]:offsets[j+1] of
    the flat arrays, in pT order. ``n_blocks`` contiguous blocks of jets run in parallel, each
    in batches (:func:`_observe_batch`)."""
    n_jets = len(offsets) - 1
    max_n = 0
    for j in range(n_jets):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    for block in numba.prange(n_blocks):
        (track_offsets, pair_offsets, tracks, pair_ends, pair_values, flags, objects, dist, rank,
         order) = _batch_workspace(max_n)
        j0 = block * n_jets // n_blocks
        end = (block + 1) * n_jets // n_blocks
        while j0 < end:
            n_batch = 0
            n_tracks = 0
            n_pairs = 0
            while j0 + n_batch < end and n_batch < _BATCH_JETS and n_pairs < _BATCH_PAIRS:
                start = offsets[j0 + n_batch]
                n = offsets[j0 + n_batch + 1] - start
                for s in range(n):
                    _put_track(tracks, n_tracks + s, start + s, pt, eta, phi, mass,
                               jet_eta[j0 + n_batch], jet_phi[j0 + n_batch])
                n_tracks += n
                n_pairs += n * (n - 1) // 2
                n_batch += 1
                track_offsets[n_batch] = n_tracks
            _observe_batch(jet_eta, jet_phi, j0, n_batch, track_offsets, pair_offsets, tracks,
                           pair_ends, pair_values, flags, objects, dist, rank, order, radius,
                           r_sub, out)
            j0 += n_batch


@numba.njit(cache=True)
def _sort_by_pt(idx, c, pt):  # pragma: no cover - numba
    """Stable sort of idx[:c] by pt[idx] descending (insertion sort; merge sort when long)."""
    if c > 64:
        keys = np.empty(c)
        for t in range(c):
            keys[t] = -pt[idx[t]]
        order = np.argsort(keys, kind="mergesort")
        copy = idx[:c].copy()
        for t in range(c):
            idx[t] = copy[order[t]]
        return
    for t in range(1, c):
        current = idx[t]
        key = pt[current]
        s = t - 1
        while s >= 0 and pt[idx[s]] < key:
            idx[s + 1] = idx[s]
            s -= 1
        idx[s + 1] = current


@numba.njit(cache=True, error_model="numpy")
def _cone_tracks(jet_e, jet_f, t0, t1, eta, phi, pt, r_assoc, codes, code_words,
                 chosen):  # pragma: no cover - numba
    """Tracks t0 … t1 − 1 with ΔR(track, jet) < r_assoc into ``chosen`` (stable pT order,
    descending); returns their number. A vectorised pass classifies every track from the cheap
    ΔR² (inside, outside, or within a relative 1e-9 of the edge / φ out of range / NaN); the
    edge cases are decided by :func:`exact_dr`, as the spec's formula would. ``code_words`` views
    ``codes`` eight at a time: most tracks of an event lie outside a given jet, and a word of
    eight zero codes is skipped whole."""
    inner = (r_assoc * (1.0 - 1e-9)) ** 2
    outer = (r_assoc * (1.0 + 1e-9)) ** 2
    n = t1 - t0
    for u in range(np.uint64(0), np.uint64(n)):
        deta = eta[np.uint64(t0) + u] - jet_e
        raw = phi[np.uint64(t0) + u] - jet_f
        d = raw - _TWO_PI if raw > math.pi else raw
        d = d + _TWO_PI if d < -math.pi else d
        d2 = deta * deta + d * d
        plain = abs(d) <= math.pi
        codes[u] = np.uint8(1) if (plain & (d2 < inner)) else (
            np.uint8(0) if (plain & (d2 > outer)) else np.uint8(2))
    n_words = (n + 7) // 8
    for u in range(n, 8 * n_words):
        codes[u] = 0
    c = 0
    for w in range(n_words):
        if code_words[w] == 0:
            continue
        for u in range(8 * w, 8 * w + 8):
            code = codes[u]
            chosen[c] = t0 + u  # written always, kept when counted: no branch for the usual codes
            if code == 2:
                c += exact_dr(eta[t0 + u], phi[t0 + u], jet_e, jet_f) < r_assoc
            else:
                c += code
    _sort_by_pt(chosen, c, pt)
    return c


@numba.njit(cache=True)
def jet_layout(jet_counts, trk_counts, max_tracks, jet_event, slots):  # pragma: no cover - numba
    """For jets listed event by event (jet_counts per event): jet_event[j], the event of jet j,
    and slots[j], the room for track indices before jet j when each jet gets min(tracks of its
    event, max_tracks) (slots has one more entry: the total). One pass; numpy's repeat, gather
    and cumsum took about twice as long, serial time before the parallel part starts."""
    j = 0
    room = 0
    for ev in range(len(jet_counts)):
        per_jet = min(trk_counts[ev], max_tracks)
        for _ in range(jet_counts[ev]):
            jet_event[j] = ev
            slots[j] = room
            room += per_jet
            j += 1
    slots[j] = room


@numba.njit(cache=True, error_model="numpy", parallel=True)
def associate_and_observe(jet_event, jet_eta, jet_phi, trk_offsets, pt, eta, phi, mass,
                          r_assoc, max_tracks, radius, r_sub, compute, counts, slots, index,
                          block_ranges, out, n_blocks):  # pragma: no cover - numba
    """ΔR association and (when ``compute``) the observables, jet by jet.

    Jet j (of event jet_event[j]) takes its event's tracks with ΔR < r_assoc, stably sorted by
    pT descending, the first ``max_tracks``: counts[j] of them, and when ``compute`` the seven
    observables go to out[j] (batches of :func:`_observe_batch`). Their flat indices are written
    packed, jet after jet, block by block: block b's jets fill index[block_ranges[b, 0] :
    block_ranges[b, 1]], starting at the capacity offset ``slots`` of its first jet (slots[j]:
    room for min(tracks of the event, max_tracks) per jet before j), so that blocks never
    overlap and only the used part of ``index`` is ever touched.
    """
    n_jets = len(jet_event)
    max_event = 0
    for ev in range(len(trk_offsets) - 1):
        max_event = max(max_event, trk_offsets[ev + 1] - trk_offsets[ev])
    for block in numba.prange(n_blocks):
        (track_offsets, pair_offsets, tracks, pair_ends, pair_values, flags, objects, dist, rank,
         order) = _batch_workspace(min(max_event, max_tracks) if compute else 0)
        codes = np.zeros(8 * (max_event // 8 + 1), dtype=np.uint8)
        code_words = codes.view(np.uint64)
        chosen = np.empty(max_event + 8, dtype=np.int64)
        j0 = block * n_jets // n_blocks
        end = (block + 1) * n_jets // n_blocks
        written = slots[j0] if j0 < n_jets else 0
        block_ranges[block, 0] = written
        while j0 < end:
            n_batch = 0
            n_tracks = 0
            n_pairs = 0
            while j0 + n_batch < end and n_batch < _BATCH_JETS and n_pairs < _BATCH_PAIRS:
                j = j0 + n_batch
                ev = jet_event[j]
                c = _cone_tracks(jet_eta[j], jet_phi[j], trk_offsets[ev], trk_offsets[ev + 1],
                                 eta, phi, pt, r_assoc, codes, code_words, chosen)
                n = min(c, max_tracks)
                counts[j] = n
                for s in range(n):
                    index[written + s] = chosen[s]
                written += n
                if compute:
                    for s in range(n):
                        _put_track(tracks, n_tracks + s, chosen[s], pt, eta, phi, mass,
                                   jet_eta[j], jet_phi[j])
                    n_tracks += n
                    n_pairs += n * (n - 1) // 2
                n_batch += 1
                track_offsets[n_batch] = n_tracks
            if compute:
                _observe_batch(jet_eta, jet_phi, j0, n_batch, track_offsets, pair_offsets, tracks,
                               pair_ends, pair_values, flags, objects, dist, rank, order, radius,
                               r_sub, out)
            j0 += n_batch
        block_ranges[block, 1] = written


@numba.njit(cache=True, error_model="numpy")
def energy_correlators(offsets, pt, eta, phi, k, beta, out):  # pragma: no cover - numba
    """e_k^{(1,β)} of each jet's listed tracks for any β (k = 2 or 3); ``**`` per pair."""
    max_n = 2
    for j in range(len(offsets) - 1):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    ang = np.zeros((max_n, max_n))
    for j in range(len(offsets) - 1):
        start = offsets[j]
        n = offsets[j + 1] - start
        if n < k:
            out[j] = 0.0
            continue
        total = 0.0
        for t in range(start, start + n):
            total += pt[t]
        for i in range(n):
            for q in range(i + 1, n):
                ang[i, q] = fast_dr(eta[start + i], phi[start + i], eta[start + q],
                                    phi[start + q]) ** beta
        if k == 2:
            s = 0.0
            for i in range(n):
                for q in range(i + 1, n):
                    s += pt[start + i] * pt[start + q] * ang[i, q]
            out[j] = s / total**2
        else:
            out[j] = _e3_sum(pt[start:start + n], n, ang) / total**3
