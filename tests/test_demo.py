"""The demo pipeline end to end at a small scale, its cache, and its report in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from hzx.scripts.demo import DemoConfig, run_demo

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    config = DemoConfig(workdir=str(workdir), events_scale=0.1, toys=10_000, seed=11,
                        nn_epochs=40)
    lines: list[str] = []
    pipe = run_demo(config, echo=lines.append)
    return config, pipe, lines


@pytest.mark.slow
def test_demo_runs_every_step(demo):
    _, pipe, _ = demo
    assert list(pipe.steps) == ["gen-ggh4l", "gen-zz4l", "fourlep", "fourlep-plots", "fit",
                                "likelihood",
                                "gen-hza-1", "gen-hza-4", "gen-zjets", "hza2018", "truth",
                                "tracks", "hza2018-plots", "truth-plots", "h5", "nn"]
    assert pipe.steps["gen-ggh4l"]["result"]["events"] == 150  # 10 % of the defaults
    assert pipe.steps["gen-zz4l"]["result"]["events"] == 200
    sums = pipe.steps["fourlep"]["result"]["events_in_window"]
    assert sums["pseudo_data"] == int(sums["pseudo_data"]) > 0  # integer pseudo-data counts
    report = json.loads(open(pipe.steps["fit"]["result"]["report"]).read())
    assert report["statistic"] == "pearson"
    assert report["coverage"]["n_toys"] == 1000
    assert 0.2 < report["fit2d"]["s_s"] < 5 and 0.2 < report["fit2d"]["s_b"] < 5
    for name in ("m4l_stack.png", "m4l_channels.png"):
        assert (pipe.root / "fourlep-plots" / name).stat().st_size > 10_000
    figures = sum(len(rec["result"].get("figures", [])) for rec in pipe.steps.values())
    assert (pipe.root / "report.md").read_text().count("![") == figures > 30
    # the H → Z a chain: SR events, a training file, trained networks with metrics
    flow = pipe.steps["hza2018"]["result"]["cutflow"]
    assert all(f["Inclusive"] >= f["SR"] for f in flow.values())
    nn = pipe.steps["nn"]["result"]
    reg = json.loads(open(nn["regression_metrics"]).read())
    cls = json.loads(open(nn["classifier_metrics"]).read())
    assert reg["device"] == cls["device"] == "cpu"
    assert "r2" in reg and 0.0 <= cls["auc"] <= 1.0


@pytest.mark.slow
def test_second_run_is_served_from_the_cache(demo):
    config, first, _ = demo
    lines: list[str] = []
    again = run_demo(config, echo=lines.append)
    assert all(rec["cached"] for rec in again.steps.values())
    assert sum("cached" in line for line in lines) == len(first.steps)
    # a changed setting reruns the steps that depend on it, and only those
    changed = run_demo(DemoConfig(**{**config.__dict__, "toys": 12_000}), echo=lines.append)
    assert [n for n, r in changed.steps.items() if not r["cached"]] == ["fit"]
    assert first.steps["fourlep"]["digest"] == changed.steps["fourlep"]["digest"]


@pytest.mark.slow
def test_report_shows_figures_in_chromium(demo, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("no chromium on this machine (Debian package 'chromium')")
    _, pipe, _ = demo
    page = (pipe.root / "report.html").as_uri()
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=10000", "--dump-dom", page],
                         capture_output=True, text=True, timeout=120).stdout
    shown = re.search(r'data-figures-shown="(\d+)"', dom)
    total = re.search(r'data-figures="(\d+)"', dom)
    assert shown and total, "the report's load script did not run"
    assert int(total.group(1)) >= 11
    assert shown.group(1) == total.group(1)  # every figure decoded and drawn by the browser
    shot = tmp_path / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    "--window-size=1000,1600", f"--screenshot={shot}", page],
                   capture_output=True, timeout=120)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1000, 1600)
        assert len(image.getcolors(1_000_000) or []) > 50  # figures, not a blank page


def test_demo_with_real_data_and_a_simulation_folder(opendata_dir, tmp_path, capsys):
    """``hzx demo --data DIR --mc DIR`` (mini trees written at run time) → one consistent
    report: every figure it references exists, real-data fit text, truthful labels."""
    import html as html_lib

    from minitree import write_mc_folder

    from hzx.scripts.cli import main

    out = tmp_path / "demo"
    # data only: one line, exit 2, before any work (no work folder)
    assert main(["demo", "--data", str(opendata_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no simulated samples" in err and "--mc" in err
    assert not out.exists()

    mc = write_mc_folder(tmp_path / "mc", opendata_dir / "data_B.4lep.root", n_events=150)
    assert main(["demo", "--data", str(opendata_dir), "--mc", str(mc), "--study", "fourlep",
                 "--out", str(out), "--events", "0.02", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    page = (out / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 2 + 9 + 5  # m4l stack + channels, the χ² study, the likelihood
    assert all((out / src).is_file() and (out / src).stat().st_size > 10_000 for src in sources)
    assert {"fourlep-plots/m4l_stack.png", "fit/postfit_stack.png",
            "likelihood/likelihood_postfit.png"} <= set(sources)
    text = html_lib.unescape(page)
    steps = re.findall(r"<h2>([^<]+) <small>", page)
    assert steps == ["fourlep", "fourlep-plots", "fit", "likelihood"]  # no generation step
    # the fit is of real data: no pseudo-data truth; the χ² and likelihood results are there
    assert "pseudo-data" not in text.lower() and "Pseudo" not in text
    assert "2-D fit: s_s =" in text and "profile likelihood: mu =" in text
    assert "2-D fit: s_s =" in printed
    # labels: Open Data with the release's simulation at the periods' luminosity (A + B)
    assert "hzx simulation" not in text
    assert text.count('"status": "Open Data"') == 3  # the stacks, the χ² and likelihood fits
    assert text.count('"mc_label": "ATLAS simulation"') == 3
    assert text.count('"lumi_fb": 2.4') >= 3
    assert '<b>simulation</b>: <code>"ATLAS Open Data simulation"</code>' in text
    # data events where the small simulation has none: left out, listed, not an error
    fit = json.loads((out / "fit" / "fit_report.json").read_text())
    assert fit["data_events"] + sum(
        d["data_events"] for d in json.loads((out / "likelihood" / "likelihood_report.json")
                                             .read_text())["dropped_empty_bins"]) == 53
