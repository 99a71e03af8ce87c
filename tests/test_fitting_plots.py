"""The fit figures: the one data/MC stack (ratio panel, MC-stat band) on the m4ℓ axis, also after
drop_empty_bins, and mathtext parameter labels on every fit figure."""

from __future__ import annotations

import json

import hist
import numpy as np
import pytest

import hzx
from hzx.fitting import drop_empty_bins, notebook_model
from hzx.fitting import plots as fplots
from hzx.scripts.cli import main

EDGES = np.linspace(80.0, 250.0, 35)  # 34 bins of 5 GeV
CENTRES = 0.5 * (EDGES[1:] + EDGES[:-1])
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01
#: bins 0 (80–85 GeV) and 20 (180–185 GeV) without any simulated event
EMPTY = [0, 20]
M4L = r"$m_{4\ell}$ [GeV]"


def _hist(values, variances, name="m4l"):
    h = hist.Hist(hist.axis.Variable(EDGES, name=name), storage=hist.storage.Weight())
    h.view().value = values
    h.view().variance = variances
    return h


def _templates():
    sig, bkg = SIG.copy(), BKG.copy()
    sig[EMPTY] = 0.0
    bkg[EMPTY] = 0.0
    data = np.random.default_rng(3).poisson(1.2 * SIG + 1.1 * BKG).astype(float)
    data[EMPTY] = [2.0, 1.0]  # data events where there is no simulation
    return sig, bkg, data


def test_drop_empty_bins_keeps_the_full_m4l_binning():
    sig, bkg, data = _templates()
    model = notebook_model({"Higgs": _hist(sig, 0.01 * sig)},
                           {"Backgrounds": _hist(bkg, 0.02 * bkg)})
    reduced, obs, dropped = drop_empty_bins(model, _hist(data, data))
    assert dropped.tolist() == EMPTY and reduced.n_bins == 32 and len(obs) == 32
    record = reduced.dropped
    assert record.indices.tolist() == EMPTY and record.data.tolist() == [2.0, 1.0]
    np.testing.assert_array_equal(reduced.full_edges, EDGES)
    # parameter variants keep the record; the data come back on the full binning
    assert reduced.with_fixed(s_b=1.0).dropped is record
    np.testing.assert_array_equal(reduced.full_data(obs), data)
    full = reduced.on_full_binning(reduced.expected([2.0, 1.0]))
    np.testing.assert_allclose(full, 2.0 * sig + bkg)
    with pytest.raises(hzx.errors.ConfigurationError, match="already applied"):
        drop_empty_bins(reduced, obs)


def test_stack_after_drop_is_on_m4l_with_the_dropped_bins_marked():
    sig, bkg, data = _templates()
    model = notebook_model({"Higgs": _hist(sig, 0.01 * sig)},
                           {"Backgrounds": _hist(bkg, 0.02 * bkg)})
    reduced, obs, _ = drop_empty_bins(model, _hist(data, data))
    stack = fplots.stack_inputs(reduced, obs, {"s_s": 1.5, "s_b": 0.9})
    np.testing.assert_array_equal(stack.edges, EDGES)
    assert stack.xlabel == M4L
    assert stack.masked.tolist() == EMPTY
    np.testing.assert_array_equal(stack.data, data)  # the dropped bins' data still drawn
    np.testing.assert_allclose(stack.components["Higgs"], 1.5 * sig)
    np.testing.assert_allclose(stack.components["Backgrounds"], 0.9 * bkg)
    # MC-stat band of the scaled total: √(1.5² · 0.01 sig + 0.9² · 0.02 bkg)
    np.testing.assert_allclose(stack.band, np.sqrt(2.25 * 0.01 * sig + 0.81 * 0.02 * bkg))
    assert stack.band[EMPTY].tolist() == [0.0, 0.0]

    from hzx.plotting.fourlep import stack_figure

    fig = stack_figure(stack.edges, stack.components, stack.data, stack.band,
                       masked=stack.masked, xlabel=stack.xlabel, status="hzx fit")
    ax, rax = fig.axes
    assert rax.get_xlabel() == M4L and rax.get_ylabel() == "Data / Pred."
    assert ax.get_xlim() == (80.0, 250.0) and ax.get_ylabel() == "Events / 5 GeV"
    labels = ax.get_legend_handles_labels()[1]
    assert {"Higgs", "Backgrounds", "no simulation", "Data", "MC stat. unc."} <= set(labels)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_stack_without_drop_and_for_plain_arrays():
    model = notebook_model(_hist(SIG, SIG), _hist(BKG, BKG))
    stack = fplots.stack_inputs(model, _hist(BKG, BKG))
    np.testing.assert_array_equal(stack.edges, EDGES)
    assert stack.xlabel == M4L and stack.masked.tolist() == []
    plain = notebook_model(np.array([1.0, 2.0, 0.0]), np.array([3.0, 1.0, 0.0]))
    reduced, obs, _ = drop_empty_bins(plain, np.array([4.0, 3.0, 1.0]))
    stack = fplots.stack_inputs(reduced, obs)
    # no edges given: the axis is the bin number, said as such, with the dropped bin marked
    assert stack.xlabel == "bin" and stack.edges.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert stack.masked.tolist() == [2] and stack.data.tolist() == [4.0, 3.0, 1.0]
    assert stack.band is None  # arrays carry no MC variances


@pytest.fixture
def output_with_empty_bins(tmp_path):
    sig, bkg, data = _templates()
    out = {
        "mc_345060.ggH125": {"m4l": _hist(sig, 0.01 * sig), "metadata": {"role": "signal"}},
        "mc_363490.llll": {"m4l": _hist(bkg, 0.02 * bkg), "metadata": {"role": "background"}},
        "data_A": {"m4l": _hist(data, data), "metadata": {"role": "data", "lumi_fb": 0.5}},
        "_provenance": {"step": "run", "processor": "fourlep"},
    }
    return hzx.save_output(out, tmp_path / "out.coffea")


def _recording(monkeypatch):
    """Records each saved fit figure's axis labels (the figures themselves, not pixels)."""
    seen: dict[str, list[tuple[str, str, str]]] = {}
    real = fplots._save

    def save(fig, directory, name, formats=fplots.FORMATS):
        seen[name] = [(a.get_xlabel(), a.get_ylabel(),
                       a.get_zlabel() if hasattr(a, "get_zlabel") else "") for a in fig.axes]
        return real(fig, directory, name, formats)

    monkeypatch.setattr(fplots, "_save", save)
    return seen


def test_fit_drop_empty_bins_cli_keeps_gev_axes_and_mathtext(output_with_empty_bins, tmp_path,
                                                             capsys, monkeypatch):
    import hzx.plotting.fourlep as fourlep

    seen = _recording(monkeypatch)
    stacks: dict[str, dict] = {}
    real_stack = fourlep.stack_with_ratio

    def stack_with_ratio(edges, components, data, band, outdir, name, **options):
        stacks[name] = {"edges": np.asarray(edges), "data": np.asarray(data), **options}
        return real_stack(edges, components, data, band, outdir, name, **options)

    monkeypatch.setattr(fourlep, "stack_with_ratio", stack_with_ratio)
    plots = tmp_path / "plots"
    args = ["fit", str(output_with_empty_bins), "--report", str(tmp_path / "r.json"),
            "--toys", "100", "--plots", str(plots), "--plot-formats", "png"]
    assert main(args) == 2  # the policy: bins without simulation are an error …
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bin(s) 0, 20" in err, err
    assert main([*args, "--drop-empty-bins"]) == 0  # … unless dropped explicitly
    printed = capsys.readouterr().out
    assert "bin 0 has no simulation: left out (2 data events)" in printed
    assert "bin 20 has no simulation: left out (1 data events)" in printed
    assert json.loads((tmp_path / "r.json").read_text())["n_bins"] == 32
    for name in ("prefit_stack", "postfit_stack"):
        drawn = stacks[name]
        np.testing.assert_array_equal(drawn["edges"], EDGES)
        assert drawn["xlabel"] == M4L and drawn["masked"].tolist() == EMPTY
        assert drawn["data"][EMPTY].tolist() == [2.0, 1.0]
        # real data with the release's simulation, at the output's luminosity
        assert drawn["status"] == "Open Data" and drawn["lumi_fb"] == 0.5
        assert drawn["band_label"] == "ATLAS simulation: stat. unc."
        assert (plots / f"{name}.png").stat().st_size > 10_000
    assert "$s_s$ = " in stacks["postfit_stack"]["note"]
    # mathtext parameter labels on every fit figure
    assert seen["scan_s_s"][0][:2] == ("$s_s$", r"$\Delta\chi^2$")
    assert seen["scan_s_b"][0][:2] == ("$s_b$", r"$\Delta\chi^2$")
    assert seen["contour_2d"][0][:2] == ("$s_b$", "$s_s$")
    assert seen["contour_2d"][1][1] == r"$\Delta\chi^2$"  # the colour bar
    assert seen["surface_3d"][0] == ("$s_b$", "$s_s$", r"$\Delta\chi^2$")
    assert seen["gof_prefit"][0][0] == r"$\chi^2$"


def test_likelihood_drop_empty_bins_keeps_gev_axes(output_with_empty_bins, tmp_path, capsys,
                                                   monkeypatch):
    import hzx.plotting.fourlep as fourlep

    stacks: dict[str, dict] = {}
    real_stack = fourlep.stack_with_ratio

    def stack_with_ratio(edges, components, data, band, outdir, name, **options):
        stacks[name] = {"edges": np.asarray(edges), "data": np.asarray(data), **options}
        return real_stack(edges, components, data, band, outdir, name, **options)

    monkeypatch.setattr(fourlep, "stack_with_ratio", stack_with_ratio)
    plots = tmp_path / "plots"
    assert main(["fit", str(output_with_empty_bins), "--likelihood", "--drop-empty-bins",
                 "--report", str(tmp_path / "lk.json"), "--plots", str(plots),
                 "--plot-formats", "png"]) == 0
    printed = capsys.readouterr().out
    assert "bin 80–85 GeV has no simulation: left out (2 data events)" in printed
    for name in ("likelihood_prefit", "likelihood_postfit"):
        drawn = stacks[name]
        np.testing.assert_array_equal(drawn["edges"], EDGES)
        assert drawn["masked"].tolist() == EMPTY
        assert drawn["data"][EMPTY].tolist() == [2.0, 1.0]
        assert (plots / f"{name}.png").stat().st_size > 10_000


def test_open_data_label_words_without_deprecated_arguments():
    """Real data with ATLAS simulation: "ATLAS Open Data", the luminosity and 13 TeV, drawn with
    the argument names of the installed mplhep (no deprecation warning)."""
    import warnings

    import matplotlib.pyplot as plt

    from hzx.plotting.fourlep import experiment_label

    fig, ax = plt.subplots()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            experiment_label(ax, "Open Data", 10.0)
        assert not [w for w in caught if "deprecated" in str(w.message)]
        texts = [t.get_text() for t in ax.texts]
        assert "ATLAS" in texts and "Open Data" in texts
        assert any("10" in t and "fb" in t and "13 TeV" in t for t in texts)
    finally:
        plt.close(fig)
