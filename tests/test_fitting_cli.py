"""``hzx fit`` end to end on a processor-like output written with hzx.save_output."""

import json

import hist
import numpy as np
import pytest

import hzx
from hzx.scripts.cli import main

CENTRES = 0.5 * (np.linspace(80, 250, 35)[1:] + np.linspace(80, 250, 35)[:-1])
BKG = 40 * np.exp(-0.5 * ((CENTRES - 91) / 4) ** 2) + 6 * np.exp(-(CENTRES - 80) / 60) + 0.3
SIG = 8 * np.exp(-0.5 * ((CENTRES - 125) / 2.5) ** 2) + 0.01


def _hist(values, variances, name="m4l"):
    h = hist.Hist(hist.axis.Regular(34, 80, 250, name=name), storage=hist.storage.Weight())
    h.view().value = values
    h.view().variance = variances
    return h


@pytest.fixture
def output_path(tmp_path):
    data = np.random.default_rng(8).poisson(1.5 * SIG + 1.3 * BKG).astype(float)
    out = {
        "mc_345060.ggH125": {"m4l": _hist(0.9 * SIG, 0.01 * SIG), "metadata": {"role": "signal"}},
        "mc_341964.WH125": {"m4l": _hist(0.1 * SIG, 0.01 * SIG), "metadata": {"role": "signal"}},
        "mc_363490.llll": {"m4l": _hist(BKG, 0.02 * BKG), "metadata": {"role": "background"}},
        "data": {"m4l": _hist(data, data), "metadata": {"role": "data"}},
        "_provenance": {"step": "run", "processor": "fourlep"},
    }
    return hzx.save_output(out, tmp_path / "out.coffea")


def test_fit_end_to_end(output_path, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    plots = tmp_path / "plots"
    code = main([
        "fit", str(output_path), "--report", str(report_path), "--plots", str(plots),
        "--toys", "400", "--seed", "7", "--pyhf", str(tmp_path / "ws.json"), "--plot-formats", "png",
    ])
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["statistic"] == "pearson" and report["ndf"] == 32
    for name in ("s_s", "s_b"):
        assert report[name]["lo"] < report[name]["best"] < report[name]["hi"]
    fit2d = report["fit2d"]
    assert {"s_s", "s_b", "chi2", "correlation"} <= fit2d.keys()
    assert 0.9 < fit2d["s_b"] < 1.7 and fit2d["chi2"] > 0
    for stage in ("prefit", "postfit"):
        assert {"chi2", "p_toys", "p_asymptotic"} <= report["gof"][stage].keys()
        assert 0 <= report["gof"][stage]["p_toys"] <= 1
    assert report["coverage"]["d68"] > 0 and report["coverage"]["d68_err"] > 0
    prov = report["provenance"]
    assert prov["step"] == "fit" and prov["seed"] == 7 and prov["input"].endswith("out.coffea")
    assert len(prov["input_provenance_digest"]) == 64
    assert prov["datasets"]["signal"] == ["mc_345060.ggH125", "mc_341964.WH125"]
    for picture in ("scan_s_s", "scan_s_b", "contour_2d", "surface_3d", "postfit_stack",
                    "gof_prefit", "gof_postfit", "coverage"):
        assert (plots / f"{picture}.png").stat().st_size > 1000
    assert not list(plots.glob("*.pdf"))  # only the formats asked for
    printed = capsys.readouterr().out
    assert "2-D fit: s_s =" in printed and "coverage: d(68.3%)" in printed
    # same seed → same toys → same p-values
    again = tmp_path / "again.json"
    assert main(["fit", str(output_path), "--report", str(again), "--toys", "400", "--seed", "7"]) == 0
    rerun = json.loads(again.read_text())
    assert rerun["gof"] == report["gof"] and rerun["coverage"]["d68"] == report["coverage"]["d68"]


def test_fit_explicit_datasets_and_poisson(output_path, tmp_path):
    report_path = tmp_path / "r.json"
    code = main([
        "fit", str(output_path), "--signal", "mc_345060.ggH125", "--background", "mc_363490.llll",
        "--data", "data", "--report", str(report_path), "--statistic", "poisson", "--toys", "200",
    ])
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["statistic"] == "poisson"
    assert report["expected_events"]["Higgs"] == pytest.approx(0.9 * SIG.sum())


def test_plots_write_png_and_pdf_by_default(tmp_path):
    from hzx.fitting import coverage, notebook_model
    from hzx.fitting.plots import plot_coverage

    cov = coverage(notebook_model(SIG, BKG), [1.5, 1.3], seed=1)
    paths = plot_coverage(cov, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[1].read_bytes().startswith(b"%PDF")


def test_fit_errors_are_clear(output_path, tmp_path, capsys):
    args = ["fit", str(output_path), "--report", str(tmp_path / "r.json"), "--toys", "50"]
    assert main([*args, "--signal", "ttH"]) == 2
    err = capsys.readouterr().err
    assert "'ttH' is not in" in err and "mc_345060.ggH125" in err
    assert main([*args, "--histogram", "mZ1"]) == 2
    assert "no histogram 'mZ1'" in capsys.readouterr().err
    assert main([*args, "--toys", "0"]) == 2
    assert not (tmp_path / "r.json").exists()


def test_contour_extents_match_the_grid(output_path):
    """The reported extent of the Δχ² = 2.30 contour agrees with the 100 × 100 grid's."""
    from hzx.fitting import CoverageConfig, GofConfig, StudyConfig, model_from_output, run_study

    model, data, _ = model_from_output(hzx.load_output(output_path))
    result = run_study(model, data, StudyConfig(gof=GofConfig(50), coverage=CoverageConfig(50)))
    inside = result.scan2d.delta_chi2 <= 2.30
    s_s_grid = result.scan2d.x[np.any(inside, axis=1)]
    s_b_grid = result.scan2d.y[np.any(inside, axis=0)]
    extent = result.contour_extents["2.30"]
    step_s, step_b = np.diff(result.scan2d.x)[0], np.diff(result.scan2d.y)[0]
    assert extent["s_s"][0] == pytest.approx(s_s_grid.min(), abs=step_s)
    assert extent["s_s"][1] == pytest.approx(s_s_grid.max(), abs=step_s)
    assert extent["s_b"][0] == pytest.approx(s_b_grid.min(), abs=step_b)
    assert extent["s_b"][1] == pytest.approx(s_b_grid.max(), abs=step_b)
