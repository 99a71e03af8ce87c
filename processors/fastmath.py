"""sin, cos, exp and sinh for compiled kernels, several times faster than libm's, to ~1 ulp.

The 4ℓ selection computes m4ℓ from (pT, η, φ, E) for about half of the events it reads: three
transcendental functions per lepton. numba calls libm for ``math.sin``/``math.cos``/``math.sinh``
(25–40 ns each on the benchmark machine, and never vectorised: llvmlite's wheels carry no SVML),
which alone cost more than a quarter of the time of reading the branches. These functions are
short polynomial evaluations that LLVM inlines into the calling kernel (5–10 ns):

- sin/cos: Cody–Waite reduction by π/2 (π/2 in two 33-bit pieces and a tail, so ``k·piece`` is exact for
  |k| < 2²⁰), then the minimax polynomials on [−π/4, π/4] of Sun Microsystems' fdlibm
  (``k_sin.c``/``k_cos.c``, the coefficients published there), with the reduction's tail;
- exp: reduction by ln 2 (two pieces), a degree-13 Taylor polynomial on |r| ≤ ln2/2 (truncation
  below 10⁻¹⁷), times 2ᵏ from a table;
- sinh: the odd Taylor series to x¹⁵ for |x| < 1/2 (relative truncation below 10⁻¹⁹), else
  (eˣ − e⁻ˣ)/2.

Domains: sin/cos for |x| < 10⁶, where the reduction is exact (NaN beyond; the kernels pass
angles); exp and sinh for |x| ≤ 700 (beyond: eˣ is +inf or 0, sinh ±inf — the true values are
above 10³⁰⁴ or below 10⁻³⁰⁴). NaN gives NaN. ``tests/test_fastmath.py`` checks them against ``math`` (at most
1 ulp for sin/cos, absolute error at most 2⁻⁵² on [−2π, 2π]; 2 ulp relative for exp and sinh).
"""

from __future__ import annotations

import math

import numba
import numpy as np

# fdlibm k_sin.c: sin(x) ≈ x + S1 x³ + … + S6 x¹³ on |x| ≤ π/4
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
# fdlibm k_cos.c: cos(x) ≈ 1 − x²/2 + C1 x⁴ + … + C6 x¹⁴
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11
# π/2 = _PIO2_1 + _PIO2_2 + _PIO2_3 + …, each piece with 33 significant bits
_INV_PIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_2T = 2.02226624879595063154e-21  # π/2 − _PIO2_1 − _PIO2_2
# ln 2 = _LN2_HI + _LN2_LO, the high part with its last 11 bits zero
_INV_LN2 = 1.44269504088896338700e+00
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10

#: 1/i! for i = 0…13
_EXP_TAYLOR = tuple(1.0 / math.factorial(i) for i in range(14))

#: 2ᵏ for k = −1022…1023 (exact: powers of two)
_POWERS_OF_TWO = np.ldexp(1.0, np.arange(-1022, 1024))

#: the fastmath flags of the kernels that call these functions (they are inlined, so the
#: caller's flags apply): fused multiply-adds only — the polynomials take half the time, stay
#: within 1 ulp; no reassociation, which would undo the reductions' error compensation
FLAGS = frozenset({"contract"})

_REDUCTION_LIMIT = 1.0e6  # |k| < 2²⁰: every k·piece above is exact
_EXP_LIMIT = 700.0


@numba.njit(cache=True, inline="always")
def _kernel_sin(x, y):  # pragma: no cover - compiled
    z = x * x
    v = z * x
    r = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
    return x - ((z * (0.5 * y - v * r) - y) - v * _S1)


@numba.njit(cache=True, inline="always")
def _kernel_cos(x, y):  # pragma: no cover - compiled
    z = x * x
    r = z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


@numba.njit(cache=True, inline="always")
def sin_cos(x):  # pragma: no cover - compiled
    """(sin x, cos x) of a float64, x in radians."""
    # outside the domain NaN, as a select: a fallback to libm in the kernel, even never taken,
    # makes LLVM speculate the libm calls and costs 20 ns per call
    x = x if abs(x) < _REDUCTION_LIMIT else math.nan
    k = math.floor(x * _INV_PIO2 + 0.5)
    # x − k·π/2 as head + tail (fdlibm's two-step reduction): k·_PIO2_1 and k·_PIO2_2 exact
    t = x - k * _PIO2_1
    w = k * _PIO2_2
    r = t - w
    w = k * _PIO2_2T - ((t - r) - w)
    head = r - w
    tail = (r - head) - w
    s = _kernel_sin(head, tail)
    c = _kernel_cos(head, tail)
    # the quadrant picks (s, c), (c, −s), (−s, −c) or (−c, s); written as selects, not
    # branches: φ is random, and mispredicted branches cost more than the polynomials
    quadrant = int(k) & 3
    odd = quadrant & 1
    sine = c if odd else s
    cosine = s if odd else c
    return (-sine if quadrant & 2 else sine), (-cosine if (quadrant + 1) & 2 else cosine)


@numba.njit(cache=True, inline="always")
def exp(x):  # pragma: no cover - compiled
    """eˣ of a float64."""
    big = x > _EXP_LIMIT
    small = x < -_EXP_LIMIT
    x = 0.0 if (big | small) else x  # keeps k inside the table; as selects (see sin_cos)
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    t = _EXP_TAYLOR
    p = t[13]
    p = t[12] + r * p
    p = t[11] + r * p
    p = t[10] + r * p
    p = t[9] + r * p
    p = t[8] + r * p
    p = t[7] + r * p
    p = t[6] + r * p
    p = t[5] + r * p
    p = t[4] + r * p
    p = t[3] + r * p
    p = t[2] + r * p
    p = t[1] + r * p
    p = t[0] + r * p
    p = p * _POWERS_OF_TWO[int(k) + 1022]  # exact; math.ldexp costs 30 ns
    return math.inf if big else (0.0 if small else p)


@numba.njit(cache=True, inline="always")
def sinh(x):  # pragma: no cover - compiled
    """sinh x of a float64."""
    # both forms, then a select (see sin_cos): |x| < 1/2 is no predictable branch for η
    z = x * x
    series = x + x * z * (1.0 / 6 + z * (1.0 / 120 + z * (1.0 / 5040 + z * (
        1.0 / 362880 + z * (1.0 / 39916800 + z * (1.0 / 6227020800 + z * (
            1.0 / 1307674368000)))))))
    a = abs(x)
    e = exp(a)
    s = 0.5 * (e - 1.0 / e)
    return series if a < 0.5 else (s if x > 0 else -s)
