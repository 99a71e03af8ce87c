"""hzx.processors.fastmath against libm (Python's ``math``), in kernels compiled with the same
flags as the selection kernel that inlines them."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from hzx.processors import fastmath


@numba.njit(error_model="numpy", fastmath=set(fastmath.FLAGS))
def _evaluate(x, sine, cosine, exp, sinh):  # pragma: no cover - compiled
    for i in range(len(x)):
        sine[i], cosine[i] = fastmath.sin_cos(x[i])
        exp[i] = fastmath.exp(x[i])
        sinh[i] = fastmath.sinh(x[i])


def _run(x: np.ndarray) -> tuple[np.ndarray, ...]:
    out = tuple(np.empty_like(x) for _ in range(4))
    _evaluate(x, *out)
    return out


def _ulps(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.abs(values - reference) / np.spacing(np.abs(reference))


@pytest.mark.parametrize("low, high", [(-2 * math.pi, 2 * math.pi), (-0.6, 0.6), (-1e5, 1e5)])
def test_sin_cos_within_one_ulp_of_libm(low, high):
    x = np.random.default_rng(7).uniform(low, high, 200_000)
    x = np.concatenate([x, x.astype(np.float32).astype(np.float64),  # stored φ are float32
                        [0.0, -0.0, math.pi, -math.pi, math.pi / 2, -math.pi / 2, 1e-300]])
    sine, cosine, _, _ = _run(x)
    ref_sin = np.array([math.sin(v) for v in x])
    ref_cos = np.array([math.cos(v) for v in x])
    assert _ulps(sine, ref_sin).max() <= 1.0
    assert _ulps(cosine, ref_cos).max() <= 1.0
    # what m4ℓ needs: the absolute error of the components
    assert max(np.abs(sine - ref_sin).max(), np.abs(cosine - ref_cos).max()) <= 2.0 ** -52
    assert np.mean(sine == ref_sin) > 0.9 and np.mean(cosine == ref_cos) > 0.9


@pytest.mark.parametrize("low, high", [(-3.0, 3.0), (-0.6, 0.6), (-700.0, 700.0)])
def test_exp_and_sinh_within_two_ulps_of_libm(low, high):
    x = np.random.default_rng(8).uniform(low, high, 200_000)
    x = np.concatenate([x, [0.0, 0.5, -0.5, 0.4999999999, 1e-10, -1e-10, 700.0, -700.0]])
    _, _, exp, sinh = _run(x)
    assert _ulps(exp, np.array([math.exp(v) for v in x])).max() <= 2.0
    ref = np.array([math.sinh(v) for v in x])
    nonzero = ref != 0
    assert _ulps(sinh[nonzero], ref[nonzero]).max() <= 2.0
    assert sinh[x == 0.0].tolist() == [0.0]


def test_outside_the_domains():
    sine, cosine, exp, sinh = _run(np.array([2e6, math.nan, 800.0, -800.0, math.inf]))
    assert np.isnan(sine[[0, 1]]).all() and np.isnan(cosine[[0, 1]]).all()  # no silent garbage
    assert exp[2] == math.inf and exp[3] == 0.0 and np.isnan(exp[1])
    assert sinh[2] == math.inf and sinh[3] == -math.inf and np.isnan(sinh[1])
