"""Generation jobs: reproducibility across workers, LHE input, configuration errors, CLI."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hzx.errors import ConfigurationError, InputFileError
from hzx.generation import generate
from hzx.generation.jobs import block_seeds
from hzx.runner import ExecutorOptions

LHE = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"
ITER = ExecutorOptions(executor="iterative", progress=False, retries=0)


def _all_arrays(manifest) -> dict[str, np.ndarray]:
    out: dict[str, list] = {}
    for path in manifest.file_paths:
        tree = uproot.open(path)["Delphes"]
        for name, arr in tree.arrays(library="ak", how=dict).items():
            out.setdefault(name, []).append(ak.to_numpy(ak.flatten(arr, axis=None)))
    return {k: np.concatenate(v) for k, v in out.items()}


def test_block_seeds_deterministic_and_in_range():
    a, b = block_seeds(42, 50), block_seeds(42, 50)
    assert a == b
    assert block_seeds(42, 3) == a[:3]  # independent of the number of blocks
    assert all(1 <= s <= 900_000_000 for s, _ in a)
    assert len({s for s, _ in a}) == 50


@pytest.mark.slow
def test_same_seed_same_output_on_1_and_2_workers(tmp_path):
    opts = {"events": 12, "seed": 9, "block_size": 4, "mpi": False}
    one = generate("zjets", out=tmp_path / "one", executor=ITER, **opts)
    two = generate("zjets", out=tmp_path / "two",
                   executor=ExecutorOptions(executor="dask", workers=2, progress=False,
                                            retries=0), **opts)
    a, b = _all_arrays(one), _all_arrays(two)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name
    assert one.xsec_pb == two.xsec_pb
    other = generate("zjets", out=tmp_path / "other", executor=ITER,
                     **{**opts, "seed": 10, "events": 4})
    px = _all_arrays(other)["Particle.Px"]
    assert px.tobytes() != a["Particle.Px"][: len(px)].tobytes()


@pytest.mark.slow
def test_powheg_lhe_showers(tmp_path):
    m = generate("zjets", lhe=str(LHE / "powheg-box-v2-Zj.lhe"), events=40, seed=1, out=tmp_path,
                 executor=ITER, block_size=20, mpi=False)
    assert m.events == 40
    # as the study's main_PowhegPy8_Zjets.cc: primordialKThard 1.4, no pTmaxMatch, no hooks
    assert "BeamRemnants:primordialKThard = 1.4" in m.pythia_settings
    assert "BeamRemnants:primordialKThard = 1.88" not in m.pythia_settings
    assert not any("pTmaxMatch" in line or line.startswith("POWHEG:")
                   for line in m.pythia_settings)
    assert m.provenance["variations"] == []  # its driver runs no UncertaintyBands
    pids = uproot.open(m.file_paths[0])["Delphes"]["Particle.PID"].array()
    assert ak.all(ak.any(pids == 23, axis=1))
    assert m.xsec_pb > 0


@pytest.mark.slow
def test_madgraph_mlm_lhe_showers(tmp_path):
    m = generate("zjets", lhe=str(LHE / "madgraph-2.2.1-Z-mlm.lhe.gz"), events=60, seed=1,
                 out=tmp_path, executor=ITER, block_size=30, mpi=False, matching="mlm",
                 shower_variations="off")
    # MLM matching (asked for) vetoes part of the LHE events; blocks read disjoint LHE slices
    assert 10 < m.events < 60
    assert any(s.startswith("JetMatching:merge = on") for s in m.pythia_settings)
    assert 0 < m.xsec_pb < 1e5


@pytest.mark.parametrize(("process", "options", "error", "match"), [
    ("nope", {}, ConfigurationError, "unknown process"),
    ("zjets", {"events": -5}, ConfigurationError, "positive"),
    ("zjets", {"events": 0}, ConfigurationError, "positive"),
    ("hza", {"ma": 0.0008}, ConfigurationError, "lightest open decay"),
    ("hza", {"ma": 40.0}, ConfigurationError, "m_H − m_Z"),
    ("zjets", {"ma": 1.0}, ConfigurationError, "hza process only"),
    ("zjets", {"lhe": "/no/such/file.lhe"}, InputFileError, "not found"),
    ("zjets", {"jet_radius": 0.0}, ConfigurationError, "jet_radius"),
    ("zjets", {"colour": "red"}, ConfigurationError, "unknown generation option"),
    ("ggh4l", {"lhe": str(LHE / "powheg-box-v2-Z.lhe")}, ConfigurationError, "no LHE"),
])
def test_bad_configurations_fail_before_work(tmp_path, process, options, error, match):
    out = tmp_path / "out"
    with pytest.raises(error, match=match):
        generate(process, out=out, executor=ITER, **{"events": 10, **options})
    assert not out.exists()  # nothing was written


def test_unreadable_lhe(tmp_path):
    bad = tmp_path / "bad.lhe.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputFileError, match="unreadable"):
        generate("zjets", lhe=str(bad), events=5, out=tmp_path / "o", executor=ITER)
    text = tmp_path / "text.lhe"
    text.write_text("hello\n")
    with pytest.raises(InputFileError, match="Les Houches"):
        generate("zjets", lhe=str(text), events=5, out=tmp_path / "o", executor=ITER)


def test_cli_list_and_errors(capsys):
    from hzx.scripts.cli import main

    assert main(["generate", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in ("hza", "hzjpsi", "hzetac", "zjets", "ggh4l", "zz4l"):
        assert f"\n{name} " in "\n" + listing
    assert main(["generate", "hza", "--ma", "0.0001", "--events", "5", "--executor",
                 "iterative"]) == 2
    assert "lightest open decay" in capsys.readouterr().err
    assert main(["generate", "zjets", "--events", "-1"]) == 2
