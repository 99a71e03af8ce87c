"""Compiled (numba) kernels of the track observables; the public API is
:mod:`hzx.processors.track_observables`.

Layout: flat float64 arrays of the tracks (``pt, eta, phi, mass``), per-event offsets, one entry
per jet for the jets. Each jet is handled by one call of :func:`_jet_observables` on contiguous
per-jet buffers, so that every loop runs over consecutive memory:

- per track: ΣpT, rapidity and transverse mass, the angularity term;
- per pair (i < k): ΔR² once (kept for the clustering), ΔR^0.3 (kept for the triplets) and
  ΔR^0.7 from ΔR² by a table-driven power (:func:`_dr_powers`), the pair term of the track
  system's mass — a branch-free loop the compiler vectorises (:func:`_pairs`);
- per triplet: the minimum of the three ΔR^0.3 of the pairs, vectorised (:func:`_e3_sum`);
- τ₂: exclusive kT on a block of all beam and pair distances, each step a vectorised minimum
  and one vectorised pass for its position, O(m) updates (:func:`_tau2_jet`).

The per-jet functions are compiled without reference counting (``_nrt=False``): they allocate
nothing, and the counting of their ~20 array arguments would cost more than a small jet's
observables.

Accuracy: everything agrees with the spec's formulas to a few units in the last place, except
where a cheaper form could decide a comparison differently from the literal one (a track on the
cone edge, a near tie in the clustering, a track within 10⁻⁴ of the jet axis, a pair across the
φ = ±π seam closer than 10⁻⁴): those cases are recomputed with the literal formula.
"""

from __future__ import annotations

import decimal
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


#: Mantissa intervals of the power tables: [1, 2) cut into 2^7 pieces.
_TABLE_BITS = 7
_N_BINOMIAL = 7  # terms of (1 + u)^γ for |u| < 2^-8: remainder < 1e-18


def _power_tables(gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Tables for x^γ = 2^(eγ) · c_j^γ · (1 + u)^γ, x = 2^e · m, m ∈ [c_j ± 2^-8], u = m/c_j − 1.

    Returns (per biased exponent 1…2046: 2^((b − 1023)γ), per mantissa interval j: c_j^γ) for
    the double γ. Computed in extended precision where numpy has it (x86: 64-bit mantissa, so
    the entries are correctly rounded but for rare ties), else in 30-digit decimal arithmetic.
    """
    exponents = np.arange(-1022, 1024)
    centres = 1.0 + (np.arange(2**_TABLE_BITS) + 0.5) / 2**_TABLE_BITS  # exact in binary
    if np.finfo(np.longdouble).nmant >= 63:
        wide = np.longdouble
        by_exponent = np.power(wide(2), exponents.astype(wide) * wide(gamma))
        by_mantissa = np.power(centres.astype(wide), wide(gamma))
        return by_exponent.astype(np.float64), by_mantissa.astype(np.float64)
    with decimal.localcontext() as context:  # pragma: no cover - platforms without long double
        context.prec = 30
        exact = decimal.Decimal(gamma)
        by_exponent = np.array([float(decimal.Decimal(2) ** (int(e) * exact)) for e in exponents])
        by_mantissa = np.array([float(decimal.Decimal(c) ** exact) for c in centres])
    return by_exponent, by_mantissa


def _binomial(gamma: float) -> np.ndarray:
    coefficients = [1.0]
    for k in range(1, _N_BINOMIAL):
        coefficients.append(coefficients[-1] * (gamma - k + 1) / k)
    return np.array(coefficients)


_CENTRE = 1.0 + (np.arange(2**_TABLE_BITS) + 0.5) / 2**_TABLE_BITS
_INV_CENTRE = 1.0 / _CENTRE
_EXP_015, _MANT_015 = _power_tables(0.15)
_EXP_035, _MANT_035 = _power_tables(0.35)
_BIN_015 = _binomial(0.15)
_BIN_035 = _binomial(0.35)


@numba.njit(cache=True, inline="always")
def _table_powers(d2):  # pragma: no cover - numba
    """(d2^0.15, d2^0.35) for a normal, finite d2 > 0, branch-free (so that it vectorises where
    it is inlined): x = 2^e·m, 2^(eγ) and c^γ of the interval's centre c from tables, (m/c)^γ
    from its binomial series (|m/c − 1| < 2^-8). Unsigned indices: no negative-index checks."""
    bits = np.uint64(_float_bits(d2))
    biased = bits >> np.uint64(52)
    j = (bits >> np.uint64(52 - _TABLE_BITS)) & np.uint64((1 << _TABLE_BITS) - 1)
    mantissa = _bits_float(np.int64((bits & np.uint64(0x000FFFFFFFFFFFFF))
                                    | np.uint64(0x3FF0000000000000)))
    u = (mantissa - _CENTRE[j]) * _INV_CENTRE[j]
    b = _BIN_015
    s015 = b[0] + u * (b[1] + u * (b[2] + u * (b[3] + u * (b[4] + u * (b[5] + u * b[6])))))
    b = _BIN_035
    s035 = b[0] + u * (b[1] + u * (b[2] + u * (b[3] + u * (b[4] + u * (b[5] + u * b[6])))))
    row = biased - np.uint64(1)
    return _EXP_015[row] * (_MANT_015[j] * s015), _EXP_035[row] * (_MANT_035[j] * s035)


@numba.njit(cache=True)
def _dr_powers(d2):  # pragma: no cover - numba
    """(d2^0.15, d2^0.35), i.e. (ΔR^0.3, ΔR^0.7) from ΔR² ≥ 0, to ~3 ulp
    (:func:`_table_powers`); 0, subnormals, infinities and NaN take ``**``."""
    if not (_SMALLEST_NORMAL <= d2 <= 1e300):
        return d2**0.15, d2**0.35
    return _table_powers(d2)


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
def fast_dr(eta1, phi1, eta2, phi2):  # pragma: no cover - numba
    deta = eta1 - eta2
    d = _wrapped_dphi(phi1, phi2)
    return math.sqrt(deta * deta + d * d)


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


@numba.njit(cache=True)
def _cos_small(x):  # pragma: no cover - numba
    """cos x to ~1e-16 absolute: Taylor series to x²² for |x| ≤ 1.6 (π/2 = a track on the cone
    edge of the angularity; remainder < 2e-19), else math.cos."""
    if abs(x) > 1.6:
        return math.cos(x)
    x2 = x * x
    return 1.0 - x2 * (1 / 2 - x2 * (1 / 24 - x2 * (1 / 720 - x2 * (1 / 40320 - x2 * (
        1 / 3628800 - x2 * (1 / 479001600 - x2 * (1 / 87178291200 - x2 * (
            1 / 20922789888000 - x2 * (1 / 6402373705728000 - x2 * (
                1 / 2432902008176640000 - x2 * (1 / 1124000727777607680000)))))))))))


@numba.njit(cache=True)
def inside_cone(eta1, phi1, eta2, phi2, r):  # pragma: no cover - numba
    """ΔR(1, 2) < r, decided exactly as :func:`exact_dr` would, with trigonometry only when the
    distance is within a relative 1e-9 of r (elsewhere the cheap value decides the same way)."""
    deta = eta1 - eta2
    if abs(deta) > r * (1.0 + 1e-9):
        return False
    d = phi1 - phi2
    if d > math.pi:
        d -= _TWO_PI
    elif d < -math.pi:
        d += _TWO_PI
    if abs(d) <= math.pi:
        approx = math.sqrt(deta * deta + d * d)
        if approx > r * (1.0 + 1e-9):
            return False
        if approx < r * (1.0 - 1e-9):
            return True
    return exact_dr(eta1, phi1, eta2, phi2) < r


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


@numba.njit(cache=True, _nrt=False)
def _pair_row_exact(i, p, e, f, m, mt, y, n, d2_out, a03):  # pragma: no cover - numba
    """Row i of :func:`_pairs` (pairs i < k) in scalar code valid for any input: used where the
    vectorised row flagged a pair outside its polynomials' ranges or across the φ seam."""
    row07 = 0.0
    row03 = 0.0
    mass = 0.0
    for k in range(i + 1, n):
        deta = e[i] - e[k]
        dphi = _wrapped_dphi(f[i], f[k])
        d2 = deta * deta + dphi * dphi
        d2_out[i, k] = d2
        x03, x07 = _dr_powers(d2)
        a03[i, k] = x03
        row07 += p[k] * x07
        row03 += p[k] * x03
        mass += _mass_pair_term(p[i], m[i], mt[i], y[i], p[k], m[k], mt[k], y[k],
                                0.5 * (f[i] - f[k]))
    return row07, row03, mass


@numba.njit(cache=True, fastmath=_FAST, error_model="numpy", _nrt=False)
def _pairs(p, e, f, m, mt, y, n, d2_out, a03):  # pragma: no cover - numba
    """One pass over the pairs i < k: fills ``d2_out`` (ΔR²) and ``a03`` (ΔR^0.3); returns
    (Σ pT_i pT_k ΔR^0.7, Σ pT_i pT_k ΔR^0.3, Σ of the mass pair terms of
    :func:`_mass_pair_term`).

    The k loop is branch-free so that it vectorises: Δφ wrapped by selects, ΔR^β from
    :func:`_dr_powers`' tables, sinh and sin by their series. A row with a pair outside the
    series' ranges (|Δy| > 2), across the φ seam closer than 1e-4, or with ΔR² subnormal,
    infinite or NaN is flagged and redone by :func:`_pair_row_exact`.
    """
    e2_07 = 0.0
    e2_03 = 0.0
    mass_pairs = 0.0
    for i in range(n):
        pi_, ei, fi, mi, mti, yi = p[i], e[i], f[i], m[i], mt[i], y[i]
        row07 = 0.0
        row03 = 0.0
        mass = 0.0
        flags = 0
        for k in range(np.uint64(i + 1), np.uint64(n)):
            deta = ei - e[k]
            raw = fi - f[k]
            dphi = raw - _TWO_PI if raw > math.pi else raw
            dphi = dphi + _TWO_PI if dphi < -math.pi else dphi
            d2 = deta * deta + dphi * dphi
            d2_out[i, k] = d2
            normal = (d2 >= _SMALLEST_NORMAL) & (d2 <= 1e300)
            x03, x07 = _table_powers(d2 if normal else 1.0)
            x03 = x03 if normal else 0.0
            x07 = x07 if normal else 0.0
            a03[i, k] = x03
            row07 += p[k] * x07
            row03 += p[k] * x03

            pk, mk, mtk = p[k], m[k], mt[k]
            h = 0.5 * (yi - y[k])
            sinh_dy = _sinh_series(h)
            sin_dphi = _sin_series(0.5 * dphi)  # sin²(Δφ/2) is the same for Δφ and Δφ ± 2π
            denominator = mti * mtk + pi_ * pk
            numerator = mi * mi * (pk * pk) + mk * mk * (pi_ * pi_) + mi * mi * (mk * mk)
            mass_term = numerator / denominator if denominator > 0 else 0.0
            mass += (2.0 * mti * mtk * sinh_dy * sinh_dy + mass_term
                     + 2.0 * pi_ * pk * sin_dphi * sin_dphi)
            seam_close = (dphi != raw) & (abs(dphi) < 1e-4)
            flags += (abs(h) > 1.0) | seam_close | ((d2 != 0.0) != normal)  # 0: ΔR^β = 0
        if flags:
            row07, row03, mass = _pair_row_exact(i, p, e, f, m, mt, y, n, d2_out, a03)
        e2_07 += pi_ * row07
        e2_03 += pi_ * row03
        mass_pairs += mass
    return e2_07, e2_03, mass_pairs


# ---------------------------------------------------------------------------------------------
# τ₂: exclusive kT to two axes
# ---------------------------------------------------------------------------------------------

_INF_BITS = 0x7FF0000000000000


@numba.njit(cache=True, _nrt=False)
def _exact_winner(m, n, rank, order, opt, oeta, ophi, r_sub):  # pragma: no cover - numba
    """The reference loop's choice among the m objects, on exact distances, visiting them in
    list order (ascending ``rank``, distinct values < n; ``order`` is scratch of n): i
    ascending, d_iB before the d_ij of the same i, j ascending, first smallest. Returns the
    slots (i, j or −1)."""
    for r in range(n):
        order[r] = -1
    for slot in range(m):
        order[rank[slot]] = slot
    filled = 0
    for r in range(n):
        if order[r] >= 0:
            order[filled] = order[r]
            filled += 1
    best = np.inf
    bi = -1
    bj = -1
    for a in range(m):
        i = order[a]
        d_ib = opt[i] * opt[i]
        if d_ib < best:
            best = d_ib
            bi = i
            bj = -1
        for b in range(a + 1, m):
            k = order[b]
            soft = min(opt[i], opt[k])
            ratio = exact_dr(oeta[i], ophi[i], oeta[k], ophi[k]) / r_sub
            d_ik = soft * soft * (ratio * ratio)
            if d_ik < best:
                best = d_ik
                bi = i
                bj = k
    return bi, bj


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
def _tau2_jet(p, e, f, n, total, d2, r_sub, radius, opt, oeta, ophi, dist, rank,
              order):  # pragma: no cover - numba
    """τ₂ of n tracks (their ΔR² above the diagonal of ``d2``); :data:`SENTINEL` for n < 2.

    Exclusive kT, BIpt recombination, until two objects remain. The objects sit in slots
    0…m−1; their distances in the rows 0…m−1 of an n-column block ``dist``: d_iB on the
    diagonal, each d_ij once, above the diagonal (below it, and in columns ≥ m: inf). A step is
    the smallest element of the rows in use — a vectorised minimum of the bit patterns (which
    order non-negative doubles like their values), then one vectorised pass for its position
    and the count of near ties — then the
    removed object's slot is refilled from the last one (O(m)) and the merged object's row and
    column recomputed. The list order of the reference loop is kept in ``rank``: the merged
    object takes the place of the earlier of the two, as ``objs[i] = merged; del objs[j]``
    does. The cached distances use the cheap Δφ (an ulp or two from atan2(sin, cos)): whenever
    a second distance lies within a relative 1e-10 of the smallest, the step is decided on
    exact distances in the reference order instead, so ties resolve as specified.
    """
    if n < 2:
        return SENTINEL
    if n == 2 and total > 0:  # the two tracks are the axes: every ΔR to the nearer one is 0
        return 0.0
    inv_r2 = 1.0 / (r_sub * r_sub)
    for i in range(n):
        opt[i] = p[i]
        oeta[i] = e[i]
        ophi[i] = f[i]
        rank[i] = i
        pi_ = p[i]
        row = i * n
        for k in range(np.uint64(0), np.uint64(n)):  # whole rows, branch-free: vectorises
            soft = pi_ if pi_ < p[k] else p[k]
            d = soft * soft * (d2[i, k] * inv_r2)
            d = pi_ * pi_ if k == i else d
            dist[row + k] = np.inf if k < i else d
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
            bi, bj = _exact_winner(m, n, rank, order, opt, oeta, ophi, r_sub)
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
        pt_sum = opt[bi] + opt[bj]
        eta_new = (opt[bi] * oeta[bi] + opt[bj] * oeta[bj]) / pt_sum
        dphi_ij = wrap_phi(ophi[bj] - ophi[bi])
        phi_new = wrap_phi(ophi[bi] + dphi_ij * opt[bj] / pt_sum)
        opt[bi] = pt_sum
        oeta[bi] = eta_new
        ophi[bi] = phi_new
        if bi == m - 1:  # the last slot moves into bj's place
            bi = bj
        _vacate(bj, m, n, dist, opt, oeta, ophi, rank)
        m -= 1
        dist[bi * n + bi] = pt_sum * pt_sum
        for x in range(m):
            if x == bi:
                continue
            deta = eta_new - oeta[x]
            dphi = _wrapped_dphi(phi_new, ophi[x])
            soft = opt[x] if opt[x] < pt_sum else pt_sum
            d = soft * soft * ((deta * deta + dphi * dphi) * inv_r2)
            if x > bi:
                dist[bi * n + x] = d
            else:
                dist[x * n + bi] = d
    numerator = 0.0
    for t in range(n):
        dr1 = fast_dr(e[t], f[t], oeta[0], ophi[0])
        dr2 = fast_dr(e[t], f[t], oeta[1], ophi[1])
        numerator += p[t] * (dr1 if dr1 < dr2 else dr2)
    return numerator / (total * radius) if total > 0 else SENTINEL


# ---------------------------------------------------------------------------------------------
# one jet
# ---------------------------------------------------------------------------------------------

@numba.njit(cache=True)
def _workspace(max_n):  # pragma: no cover - numba
    """Per-thread scratch, passed on as separate arrays (a view per jet would cost reference
    counting): ΔR² and ΔR^0.3 matrices; pt, eta, phi, mass, m_T, y of the jet's tracks; pt, eta,
    phi, the flat n × n distance block, list order and its scratch of the clustering's objects."""
    size = max(max_n, 2)
    return (np.zeros((size, size)), np.zeros((size, size)), np.zeros(size), np.zeros(size),
            np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size),
            np.zeros(size), np.zeros(size), np.zeros(size * size), np.zeros(size, dtype=np.int64),
            np.zeros(size, dtype=np.int64))


@numba.njit(cache=True, error_model="numpy", _nrt=False)
def _jet_observables(jet_eta, jet_phi, n, radius, r_sub, out, j, d2, a03, p, e, f, m, mt, y,
                     opt, oeta, ophi, dist, rank, order):  # pragma: no cover - numba
    """The seven observables of jet j whose n tracks (pT order) are in p, e, f, m (pt, eta,
    phi, mass); written into out[j] (OBSERVABLE_NAMES order). The other arrays are scratch."""
    out[j, 0] = n
    if n == 0:
        for c in range(1, 7):
            out[j, c] = SENTINEL
        return
    total = 0.0
    numerator = 0.0
    m_sum = 0.0
    for t in range(n):
        pt_t = p[t]
        mass = m[t]
        total += pt_t
        mt_t = math.sqrt(pt_t * pt_t + mass * mass)
        mt[t] = mt_t
        if mass == 0 or n < 2:  # the rapidity only enters the pair terms
            y[t] = e[t]
        else:  # asinh(pz / m_T) as log((E + |pz|) / m_T): one exp and one log, exact to ~1 ulp
            u = math.exp(min(max(e[t], -700.0), 700.0))
            pz = pt_t * (0.5 * (u - 1.0 / u))
            energy = math.sqrt(mt_t * mt_t + pz * pz)
            rapidity = math.log((energy + abs(pz)) / mt_t)
            y[t] = rapidity if pz >= 0 else -rapidity
        m_sum += mass * mass
        a = math.pi * fast_dr(e[t], f[t], jet_eta, jet_phi) / (2.0 * radius)
        if a < 1e-4:  # where cos a leaves 1: decide 1 − cos a > 0 as the literal formula does
            a = math.pi * exact_dr(e[t], f[t], jet_eta, jet_phi) / (2.0 * radius)
            cos_a = math.cos(a)
        else:
            cos_a = _cos_small(a)
        if 1.0 - cos_a > 0:  # pT sin²a / (1 − cos a) = pT (1 + cos a), stable near a = 0
            numerator += pt_t * (1.0 + cos_a)
    out[j, 1] = fast_dr(jet_eta, jet_phi, e[0], f[0])
    out[j, 2] = p[0] / total if total > 0 else SENTINEL

    e2_07, e2_03, mass_pairs = _pairs(p, e, f, m, mt, y, n, d2, a03)
    m2 = m_sum + 2.0 * mass_pairs
    m_sys = math.sqrt(m2) if m2 > 0 else 0.0
    out[j, 3] = numerator / m_sys if (total > 0 and m_sys > 0) else SENTINEL
    if n >= 2:
        e2_07 = e2_07 / total**2
        e2_03 = e2_03 / total**2
        e3_03 = _e3_sum(p, n, a03) / total**3 if n >= 3 else 0.0
    else:
        e2_07 = e2_03 = e3_03 = 0.0
    out[j, 4] = e2_07 if e2_07 > 0 else SENTINEL
    out[j, 5] = e3_03 / e2_03 if e2_03 > 0 else SENTINEL
    out[j, 6] = _tau2_jet(p, e, f, n, total, d2, r_sub, radius, opt, oeta, ophi, dist, rank,
                          order)


# ---------------------------------------------------------------------------------------------
# many jets
# ---------------------------------------------------------------------------------------------

@numba.njit(cache=True, error_model="numpy", parallel=True)
def listed_observables(jet_eta, jet_phi, offsets, pt, eta, phi, mass, radius, r_sub, out,
                       n_blocks):  # pragma: no cover - numba
    """Observables of jets whose tracks are given: jet j has tracks offsets[j]:offsets[j+1] of
    the flat arrays, in pT order. ``n_blocks`` contiguous blocks of jets run in parallel."""
    n_jets = len(offsets) - 1
    max_n = 0
    for j in range(n_jets):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    for b in numba.prange(n_blocks):
        d2, a03, p, e, f, m, mt, y, opt, oeta, ophi, dist, rank, order = _workspace(max_n)
        for j in range(b * n_jets // n_blocks, (b + 1) * n_jets // n_blocks):
            start = offsets[j]
            n = offsets[j + 1] - start
            for t in range(n):
                p[t] = pt[start + t]
                e[t] = eta[start + t]
                f[t] = phi[start + t]
                m[t] = mass[start + t]
            _jet_observables(jet_eta[j], jet_phi[j], n, radius, r_sub, out, j, d2, a03, p, e, f,
                             m, mt, y, opt, oeta, ophi, dist, rank, order)


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


@numba.njit(cache=True, error_model="numpy", parallel=True)
def associate_and_observe(jet_event, jet_eta, jet_phi, trk_offsets, pt, eta, phi, mass,
                          r_assoc, max_tracks, radius, r_sub, compute, counts, slots, index,
                          out, n_blocks):  # pragma: no cover - numba
    """ΔR association and (when ``compute``) the observables, jet by jet.

    Jet j (of event jet_event[j]) takes its event's tracks with ΔR < r_assoc, stably sorted by
    pT descending, the first ``max_tracks``: their flat indices go to
    index[slots[j]:slots[j] + counts[j]] (slots: per-jet capacity offsets) and, when
    ``compute``, the seven observables to out[j].
    """
    n_jets = len(jet_event)
    max_event = 0
    for ev in range(len(trk_offsets) - 1):
        max_event = max(max_event, trk_offsets[ev + 1] - trk_offsets[ev])
    for b in numba.prange(n_blocks):
        d2, a03, p, e, f, m, mt, y, opt, oeta, ophi, dist, rank, order = _workspace(
            min(max_event, max_tracks) if compute else 0)
        chosen = np.empty(max(max_event, 1), dtype=np.int64)
        for j in range(b * n_jets // n_blocks, (b + 1) * n_jets // n_blocks):
            ev = jet_event[j]
            je, jp = jet_eta[j], jet_phi[j]
            c = 0
            for t in range(trk_offsets[ev], trk_offsets[ev + 1]):
                if inside_cone(eta[t], phi[t], je, jp, r_assoc):
                    chosen[c] = t
                    c += 1
            _sort_by_pt(chosen, c, pt)
            n = min(c, max_tracks)
            counts[j] = n
            base = slots[j]
            for s in range(n):
                index[base + s] = chosen[s]
            if compute:
                for s in range(n):
                    t = chosen[s]
                    p[s] = pt[t]
                    e[s] = eta[t]
                    f[s] = phi[t]
                    m[s] = mass[t]
                _jet_observables(je, jp, n, radius, r_sub, out, j, d2, a03, p, e, f, m, mt, y,
                                 opt, oeta, ophi, dist, rank, order)


@numba.njit(cache=True)
def compact(index, slots, counts):  # pragma: no cover - numba
    """The used part of each jet's slot, jet after jet."""
    total = 0
    for j in range(len(counts)):
        total += counts[j]
    packed = np.empty(total, dtype=np.int64)
    pos = 0
    for j in range(len(counts)):
        for s in range(counts[j]):
            packed[pos] = index[slots[j] + s]
            pos += 1
    return packed


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
