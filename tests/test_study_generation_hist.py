"""The study's generator-level histogram driver (main_PhPy8_HZA_dohist.cc) as ``hzx generate hza
--dohist``: proxies, lepton choice, file names and format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hzx.errors import ConfigurationError
from hzx.generation.genhist import (
    HISTOGRAMS,
    _reco_pair,
    options_suffix,
    track_proxies,
    write_histograms,
)
from hzx.generation.processes import GenerationConfig


def test_track_proxies_by_hand():
    out = track_proxies(100.0, 0.0, 0.0, np.array([5.0, 10.0, 1.0]), np.array([0.0, 0.1, 0.35]),
                        np.array([-0.2, 0.0, 0.0]))
    assert out["hist_proxy_nTracks"] == 3
    assert out["hist_proxy_deltaRLeadTrack"] == pytest.approx(0.1)
    assert out["hist_proxy_leadTrackPtRatio"] == pytest.approx(0.1)
    assert out["hist_proxy_angularity_2"] == pytest.approx(0.4225 / 16)
    assert out["hist_proxy_U1_0p7"] == pytest.approx(2.35 / 16)
    assert out["hist_proxy_M2_0p3"] == pytest.approx(0.3 / 15)
    assert out["hist_proxy_tau2"] == pytest.approx(0.25 / (16 * 0.4))
    empty = track_proxies(50.0, 0.0, 0.0, np.zeros(0), np.zeros(0), np.zeros(0))
    assert set(empty.values()) == {0.0}


def _lepton(pid, pt, eta, phi):
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return pid, px, py, pz, np.sqrt(px**2 + py**2 + pz**2)


def test_reco_pair_prefers_electrons_and_needs_a_hard_lepton():
    rows = [_lepton(13, 40, 0.1, 0.0), _lepton(-13, 40, -0.2, 3.0),   # μμ near m_Z
            _lepton(11, 30, 0.5, 1.0), _lepton(-11, 20, 0.3, -2.0)]   # an e pair, far from m_Z
    pid, px, py, pz, e = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    charge = -np.sign(pid)
    plus, minus = _reco_pair(pid.astype(int), px, py, pz, e, charge)
    assert (plus, minus) == (3, 2)  # the electrons, as the study's driver (ℓ⁺ = e⁺ first)
    soft = [_lepton(13, 20, 0.1, 0.0), _lepton(-13, 19, -0.2, 3.0)]
    pid, px, py, pz, e = (np.array(c, dtype=float) for c in zip(*soft, strict=True))
    assert _reco_pair(pid.astype(int), px, py, pz, e, -np.sign(pid)) is None


def test_options_suffix_as_the_study():
    assert options_suffix(GenerationConfig("hza", ma=4.0)) == \
        "_reallep_MPIon_ISRon_FSRon_HADon_Amass4.0"
    assert options_suffix(GenerationConfig("hza", ma=0.5, truelep=True, hadronisation=False)) == \
        "_truelep_MPIon_ISRon_FSRon_HADoff_Amass0.5"


def test_histogram_files_in_the_study_format(tmp_path):
    pytest.importorskip("pythia8mc")
    paths = write_histograms(tmp_path, {"hist_z_mass": [91.2, 91.7, 30.0]}, 10, "_x")
    assert [p.name for p in paths] == [f"{name}_x.dat" for name in HISTOGRAMS]
    lines = (tmp_path / "hist_z_mass_x.dat").read_text().splitlines()
    assert lines[:3] == ["# hist_z_mass", "# underflow = 0.1", "#  overflow = 0"]
    table = np.loadtxt(lines[3:])
    assert table.shape == (61, 3)  # Pythia closes the step table with the upper edge
    assert table[-1, 2] == 120.0
    assert table[31].tolist() == pytest.approx([91.5, 0.2, 91.0])  # 2 fills / (10 events · 1 GeV)
    assert table[:, 1].sum() == pytest.approx(0.2)


def test_dohist_is_hza_only(tmp_path):
    from hzx.generation.genhist import generator_histograms

    with pytest.raises(ConfigurationError, match="hza only"):
        generator_histograms("zjets", events=5, seed=1, out=tmp_path)


@pytest.mark.slow
def test_dohist_cli_writes_the_studys_histograms(tmp_path):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from hzx.scripts.cli import main

    out = tmp_path / "hists_PhPy8_HZA"
    assert main(["generate", "hza", "-Amass", "4.0", "--truelep", "--events", "30",
                 "--block-size", "15", "--executor", "iterative", "--no-progress", "--dohist",
                 "--out", str(out)]) == 0
    suffix = "_truelep_MPIon_ISRon_FSRon_HADon_Amass4.0"
    summary = json.loads((out / f"summary{suffix}.json").read_text())
    assert summary["events_generated"] == 30
    assert 0 < summary["events_selected"] <= 30
    assert "23:onIfAny = 11 13" in summary["pythia_settings"]  # the driver's Z → e, μ
    assert not list(out.glob("*.root"))
    z = np.loadtxt((out / f"hist_z_mass{suffix}.dat").read_text().splitlines()[3:])
    inside = z[(z[:, 2] >= 81) & (z[:, 2] < 101), 1].sum()
    # all in the m_ℓℓ window (the table prints 5 digits)
    assert inside * 30 == pytest.approx(summary["events_selected"], rel=1e-3)
