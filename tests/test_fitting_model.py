"""Template model: histograms, shared and fixed parameters, binning checks."""

import hist
import numpy as np
import pytest

from hzx.errors import ConfigurationError
from hzx.fitting import Template, TemplateModel, notebook_model, template_model


def weighted(values, variances, lo=80.0, hi=250.0):
    h = hist.Hist(hist.axis.Regular(len(values), lo, hi, name="m4l"), storage=hist.storage.Weight())
    h.view().value = values
    h.view().variance = variances
    return h


def test_notebook_model_prediction_and_components():
    sig, bkg = np.array([1.0, 2.0, 0.5]), np.array([10.0, 5.0, 3.0])
    model = notebook_model(weighted(sig, sig), weighted(bkg, bkg))
    assert model.free_parameters == ("s_s", "s_b")
    np.testing.assert_allclose(model.expected([2.0, 1.5]), 2 * sig + 1.5 * bkg)
    np.testing.assert_allclose(model.expected({"s_s": 0.0}), bkg)
    grid = model.expected(np.array([[1.0, 1.0], [0.0, 2.0]]))
    np.testing.assert_allclose(grid, [sig + bkg, 2 * bkg])
    parts = model.components({"s_s": 3.0, "s_b": 1.0})
    np.testing.assert_allclose(parts["s_s"], 3 * sig)
    np.testing.assert_allclose(model.edges, np.linspace(80, 250, 4))


def test_shared_fixed_and_mc_variance():
    a, b, c = np.array([1.0, 1.0]), np.array([2.0, 0.0]), np.array([0.0, 4.0])
    model = template_model({"mu": {"h1": a, "h2": b}, "k": c}, fixed={"k": 0.5})
    assert model.free_parameters == ("mu",)
    np.testing.assert_allclose(model.free_matrix, [a + b])
    np.testing.assert_allclose(model.expected([2.0]), 2 * (a + b) + 0.5 * c)
    released = model.with_free("k")
    assert released.free_parameters == ("mu", "k")
    assert released.initial_free.tolist() == [1.0, 0.5]
    wm = notebook_model(weighted(a, [0.1, 0.2]), weighted(c + 1, [1.0, 2.0]), mc_stat=True)
    np.testing.assert_allclose(wm.mc_variance([2.0, 3.0]), [4 * 0.1 + 9 * 1.0, 4 * 0.2 + 9 * 2.0])


def test_binning_and_configuration_errors():
    with pytest.raises(ConfigurationError, match="mismatched binning"):
        notebook_model(np.ones(3), np.ones(4))
    with pytest.raises(ConfigurationError, match="different bin edges"):
        notebook_model(weighted(np.ones(3), np.ones(3)), weighted(np.ones(3), np.ones(3), 70, 250))
    with pytest.raises(ConfigurationError, match="empty model"):
        TemplateModel(())
    with pytest.raises(ConfigurationError, match="mc_stat needs MC variances"):
        notebook_model(np.ones(3), np.ones(3), mc_stat=True)
    with pytest.raises(ConfigurationError, match="only empty templates"):
        notebook_model(np.zeros(3), np.ones(3))
    with pytest.raises(ConfigurationError, match="unknown parameter"):
        TemplateModel((Template("x", np.ones(2), "a"),), fixed={"b": 1.0})
    model = notebook_model(weighted(np.ones(3), np.ones(3)), weighted(np.ones(3), np.ones(3)))
    with pytest.raises(ConfigurationError, match="data has 2 bins, the model 3"):
        model.check_data(np.ones(2))
    with pytest.raises(ConfigurationError, match="different bin edges"):
        model.check_data(weighted(np.ones(3), np.ones(3), 0, 3))


def test_drop_empty_bins_is_explicit():
    from hzx.fitting import drop_empty_bins, fit

    sig = np.array([0.0, 3.0, 1.0, 0.0])
    bkg = np.array([5.0, 4.0, 2.0, 0.0])
    model = notebook_model(weighted(sig, sig), weighted(bkg, bkg))
    data = np.array([6.0, 8.0, 3.0, 0.0])
    with pytest.raises(ConfigurationError, match=r"prediction ≤ 0 in bin\(s\) 3.*drop_empty_bins"):
        fit(model, data)
    reduced, obs, dropped = drop_empty_bins(model, data)
    assert dropped.tolist() == [3] and reduced.n_bins == 3 and obs.tolist() == [6.0, 8.0, 3.0]
    assert fit(reduced, obs, "neyman").ndf == 1
    # data in a bin without simulation: dropped too (the one empty-bin policy), not an error
    reduced, obs, dropped = drop_empty_bins(model, np.array([6.0, 8.0, 3.0, 1.0]))
    assert dropped.tolist() == [3] and obs.tolist() == [6.0, 8.0, 3.0]
