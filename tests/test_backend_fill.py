"""``hzx.processors.backend.fill``: its compiled pass gives boost-histogram's histogram, bit for
bit, and hands everything it does not compile to ``hist.Hist.fill``."""

from __future__ import annotations

import awkward as ak
import hist
import numpy as np
import pytest

from hzx.processors import backend


def _cells(h: hist.Hist) -> np.ndarray:
    return np.asarray(h.view(flow=True)).ravel(order="K").view(np.float64).copy()


def _edge_values(ax) -> np.ndarray:
    """Every edge, its neighbours one ulp away, the flows, NaN and ±inf."""
    edges = np.asarray(ax.edges)
    return np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf),
                           [np.nan, np.inf, -np.inf, -1e300, 1e300, 0.0, -0.0]])


def _values(ax, n: int = 20_000, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = ax.edges[0], ax.edges[-1]
    span = hi - lo
    return np.concatenate([rng.uniform(lo - 0.2 * span, hi + 0.2 * span, n), _edge_values(ax)])


AXES = [hist.axis.Regular(34, 80, 250, name="x"),
        hist.axis.Regular(50, -2.5, 2.5, name="x"),
        # limits that are no binary fractions (boost bins with its own min and max − min)
        hist.axis.Regular(7, -1e-3, 3.3, name="x"),
        hist.axis.Regular(3, 0.1, 0.7, name="x")]


@pytest.mark.parametrize("axis", AXES, ids=lambda a: f"{len(a)}bins-{a.edges[0]}-{a.edges[-1]}")
@pytest.mark.parametrize("storage", [hist.storage.Weight, hist.storage.Double])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_fill_is_boosts(axis, storage, weighted):
    x = _values(axis)
    w = np.random.default_rng(3).normal(1.0, 0.4, len(x)) if weighted else None
    reference = hist.Hist(axis, storage=storage())
    reference.fill(x=x, weight=w)
    h = hist.Hist(axis, storage=storage())
    assert backend._compiled_fill_plan(h, {"x": x}) is not None
    backend.fill(h, x=x, weight=w)
    backend.fill(h, x=x[:5], weight=None if w is None else w[:5])  # adds to what is there
    reference.fill(x=x[:5], weight=None if w is None else w[:5])
    np.testing.assert_array_equal(_cells(h), _cells(reference))
    assert h.sum(flow=True) == reference.sum(flow=True)


@pytest.mark.parametrize("weighted", [False, True])
def test_scalar_axes_pick_the_slice(weighted):
    """A category name and an integer bin as scalars, the array on the regular axis after or
    before them (boost stores the first axis fastest)."""
    x = _values(hist.axis.Regular(50, 0, 250))
    w = np.linspace(0.5, 1.5, len(x)) if weighted else None
    shapes = [
        (hist.axis.StrCategory(["4e", "2e2mu", "4mu"], name="c"),
         hist.axis.Regular(34, 80, 250, name="x"), {"c": "2e2mu"}),
        (hist.axis.Integer(0, 4, name="rank"), hist.axis.Regular(50, 0, 250, name="x"),
         {"rank": 3}),
    ]
    for scalar_axis, regular, scalar in shapes:
        for axes in ((scalar_axis, regular), (regular, scalar_axis)):
            reference = hist.Hist(*axes, storage=hist.storage.Weight())
            h = reference.copy()
            reference.fill(x=x, weight=w, **scalar)
            assert backend._compiled_fill_plan(h, {"x": x, **scalar}) is not None
            backend.fill(h, x=x, weight=w, **scalar)
            np.testing.assert_array_equal(_cells(h), _cells(reference))
            name, value = next(iter(scalar.items()))
            assert h[{name: hist.loc(value)}].sum(flow=True).value == \
                pytest.approx(len(x) if w is None else w.sum())


def test_awkward_input_and_scalar_weight():
    x = ak.Array([85.0, 91.2, 124.9, 125.1, 300.0])
    reference = hist.Hist(hist.axis.Regular(34, 80, 250, name="x"), storage=hist.storage.Weight())
    h = reference.copy()
    reference.fill(x=x, weight=0.25)
    backend.fill(h, x=x, weight=0.25)
    np.testing.assert_array_equal(_cells(h), _cells(reference))
    assert h.values(flow=True)[-1] == 0.25  # 300 GeV: the overflow


def test_what_it_does_not_compile_goes_to_hist():
    x = _values(hist.axis.Regular(10, 0, 1))
    cases = [
        hist.Hist(hist.axis.Variable([0, 0.2, 0.5, 1.0], name="x")),
        hist.Hist(hist.axis.Regular(10, 0, 1, name="x", overflow=False)),
        hist.Hist(hist.axis.Regular(10, 0.1, 1, name="x", transform=hist.axis.transform.log)),
        hist.Hist(hist.axis.Regular(10, 0, 1, name="x"), storage=hist.storage.Int64()),
        hist.Hist(hist.axis.StrCategory([], name="c", growth=True),
                  hist.axis.Regular(10, 0, 1, name="x")),
    ]
    for h in cases:
        reference = h.copy()
        values = {"x": np.abs(x[np.isfinite(x)]) + 0.1, **({"c": "new"} if "c" in h.axes.name
                                                          else {})}
        assert backend._compiled_fill_plan(h, values) is None
        backend.fill(h, **values)
        reference.fill(**values)
        np.testing.assert_array_equal(h.values(flow=True), reference.values(flow=True))
    # a category the axis does not have: boost's overflow rules, not a compiled guess
    h = hist.Hist(hist.axis.StrCategory(["4e"], name="c"), hist.axis.Regular(5, 0, 1, name="x"))
    assert backend._compiled_fill_plan(h, {"c": "4mu", "x": x}) is None


def test_weights_of_another_length_are_an_error():
    h = hist.Hist(hist.axis.Regular(5, 0, 1, name="x"), storage=hist.storage.Weight())
    with pytest.raises(ValueError, match="3 weights for 4 entries"):
        backend.fill(h, x=np.array([0.1, 0.2, 0.3, 0.4]), weight=np.ones(3))
    assert h.sum(flow=True).value == 0.0
