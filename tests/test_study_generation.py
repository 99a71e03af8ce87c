"""The pheno study's generation settings in ``hzx generate``: variations, POWHEG and MadGraph
Z+jets, the study's switch flags, LHEF output (facts from its generators/pythia/*.cc drivers)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from hzx.errors import ConfigurationError
from hzx.generation.lhe import inspect_lhe
from hzx.generation.processes import (
    STUDY_VARIATIONS,
    GenerationConfig,
    pythia_settings,
    uncertainty_band_settings,
    validate,
)
from hzx.runner import ExecutorOptions

LHE = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"
MG5 = LHE / "madgraph-2.2.1-Z-mlm.lhe.gz"
POWHEG = LHE / "powheg-box-v2-Zj.lhe"
ITER = ExecutorOptions(executor="iterative", progress=False, retries=0)

#: The study's list as its drivers write it (main_PhPy8_HZA.cc), label then settings.
STUDY_LIST = (
    "Var3cUp isr:muRfac=0.549241, Var3Down isr:muRfac=1.960832, "
    + ", ".join(f"isr:muRfac={i}_fsr:muRfac={f} isr:muRfac={i} fsr:muRfac={f}" for i, f in (
        ("2.0", "2.0"), ("2.0", "1.0"), ("2.0", "0.5"), ("1.0", "2.0"), ("1.0", "0.5"),
        ("0.5", "2.0"), ("0.5", "1.0"), ("0.5", "0.5"), ("1.75", "1.0"), ("1.5", "1.0"),
        ("1.25", "1.0"), ("0.625", "1.0"), ("0.75", "1.0"), ("0.875", "1.0"), ("1.0", "1.75"),
        ("1.0", "1.5"), ("1.0", "1.25"), ("1.0", "0.625"), ("1.0", "0.75"), ("1.0", "0.875")))
)


def _ckkwl_copy(tmp_path: Path) -> Path:
    """The MadGraph file with the run card of a CKKW-L sample: ickkw = 0, ktdurham = 30."""
    with gzip.open(MG5, "rt") as handle:
        text = handle.read()
    text = re.sub(r"^\s*1\s*=\s*ickkw", " 0 = ickkw", text, count=1, flags=re.M)
    text = re.sub(r"^\s*-1\s*=\s*ktdurham", " 30.0 = ktdurham", text, count=1, flags=re.M)
    out = tmp_path / "mg5-ckkwl.lhe"
    out.write_text(text)
    return out


# -- settings (no events) ------------------------------------------------------------------------


def test_study_variation_list_is_the_drivers_22():
    assert len(STUDY_VARIATIONS) == 22
    lines = uncertainty_band_settings(STUDY_VARIATIONS)
    assert lines == ["UncertaintyBands:doVariations = on",
                     "UncertaintyBands:List = {" + STUDY_LIST + "}"]


@pytest.mark.parametrize(("process", "lhe_generator", "choice", "expected"), [
    ("hza", None, "auto", 22), ("hza", "powheg", "auto", 22), ("hzjpsi", "powheg", "auto", 22),
    ("hzetac", None, "auto", 22), ("zjets", "madgraph", "auto", 22),
    ("zjets", "powheg", "auto", 0), ("zjets", None, "auto", 0), ("ggh4l", None, "auto", 0),
    ("zjets", "powheg", "study", 22), ("hza", None, "basic", 4), ("hza", None, "off", 0),
    ("hza", None, True, 22), ("hza", None, False, 0),
])
def test_variations_default_as_the_study_drivers(process, lhe_generator, choice, expected):
    config = GenerationConfig(process, shower_variations=choice)
    assert len(config.variation_list(lhe_generator)) == expected
    settings = pythia_settings(config, None, lhe_generator)
    assert ("UncertaintyBands:doVariations = on" in settings) == (expected > 0)


def test_powheg_zjets_settings_as_main_powhegpy8_zjets():
    s = pythia_settings(GenerationConfig("zjets", lhe=str(POWHEG)), str(POWHEG), "powheg")
    assert "BeamRemnants:primordialKThard = 1.4" in s
    assert not any(line.startswith("BeamRemnants:primordialKThard = 1.88") for line in s)
    assert not any("pTmaxMatch" in line or line.startswith("POWHEG:") for line in s)
    assert not any(line.startswith("UncertaintyBands") for line in s)
    # the POWHEG signal keeps the A14 value and its matching settings
    signal = pythia_settings(GenerationConfig("hza", lhe=str(POWHEG)), str(POWHEG), "powheg")
    assert "BeamRemnants:primordialKThard = 1.88" in signal
    assert "SpaceShower:pTmaxMatch = 1" in signal


def test_madgraph_is_showered_without_matching_unless_asked():
    plain = pythia_settings(GenerationConfig("zjets", lhe=str(MG5)), str(MG5), "madgraph", 10.0)
    assert not any(line.startswith("JetMatching") for line in plain)
    mlm = pythia_settings(GenerationConfig("zjets", lhe=str(MG5), matching="mlm"), str(MG5),
                          "madgraph", 10.0)
    assert "JetMatching:merge = on" in mlm
    assert "JetMatching:qCut = 30" in mlm  # max(30, 1.5 × xqcut 10)
    qcut = pythia_settings(GenerationConfig("zjets", lhe=str(MG5), matching="mlm", mlm_qcut=45.0),
                           str(MG5), "madgraph", 10.0)
    assert "JetMatching:qCut = 45" in qcut
    validate(GenerationConfig("zjets", lhe=str(MG5), matching="mlm"))  # an MLM file: accepted


def test_lhe_merging_is_read_from_the_run_card(tmp_path):
    assert inspect_lhe(MG5).merging == "mlm"
    assert inspect_lhe(POWHEG).merging == "none"
    info = inspect_lhe(_ckkwl_copy(tmp_path))
    assert (info.merging, info.ickkw, info.ktdurham_gev) == ("ckkwl", 0, 30.0)


@pytest.mark.parametrize(("options", "match"), [
    ({"matching": "mlm"}, "needs a MadGraph MLM LHE file"),
    ({"matching": "cone"}, "matching 'cone'"),
    ({"mlm_qcut": 30.0}, "needs matching 'mlm'"),
    ({"matching": "mlm", "lhe": str(POWHEG)}, "needs an MLM sample"),
    ({"shower_variations": "all"}, "shower_variations 'all'"),
    ({"delphes_layout": "nested"}, "delphes_layout 'nested'"),
])
def test_bad_study_options_fail_before_work(options, match):
    with pytest.raises(ConfigurationError, match=match):
        validate(GenerationConfig("zjets", **options))


def test_mlm_is_refused_on_a_ckkwl_file(tmp_path):
    from hzx.generation import generate

    ckkwl = _ckkwl_copy(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ConfigurationError, match=r"CKKW-L sample \(ickkw = 0 with a merging "
                                                 r"scale ktdurham = 30"):
        generate("zjets", lhe=str(ckkwl), matching="mlm", events=10, out=out, executor=ITER)
    assert not out.exists()
    # without matching (the default) it is accepted
    validate(GenerationConfig("zjets", lhe=str(ckkwl)))


def test_study_switch_flags_on_the_command_line():
    from hzx.scripts.cli import build_parser

    args = build_parser().parse_args(["generate", "hza", "-Amass", "2.5", "--MPIoff", "--ISRoff",
                                      "--FSRoff", "--HADoff", "--truelep"])
    assert (args.ma, args.mpi, args.isr, args.fsr, args.hadronisation, args.truelep) == \
        (2.5, False, False, False, False, True)
    defaults = build_parser().parse_args(["generate", "zjets"])
    assert (defaults.mpi, defaults.hadronisation, defaults.shower_variations, defaults.matching,
            defaults.delphes_layout, defaults.truelep, defaults.decay_to_lhef) == \
        (True, True, "auto", "none", "study", False, False)
    bare = build_parser().parse_args(["generate", "zjets", "--shower-variations"])
    assert bare.shower_variations == "study"
    off = build_parser().parse_args(["generate", "zjets", "--no-shower-variations"])
    assert off.shower_variations == "off"
    config = GenerationConfig("hza", ma=2.5, mpi=False, isr=False, fsr=False, hadronisation=False)
    s = pythia_settings(config)
    for line in ("PartonLevel:MPI = off", "PartonLevel:ISR = off", "PartonLevel:FSR = off",
                 "HadronLevel:all = off"):
        assert line in s
    assert config.switches_tag == "MPIoff_ISRoff_FSRoff_HADoff"


def test_decay_to_lhef_settings():
    config = GenerationConfig("hza", ma=2.0, decay_to_lhef=True)
    assert (config.mpi, config.isr, config.fsr, config.hadronisation) == (False,) * 4
    s = pythia_settings(config)
    for line in ("PartonLevel:MPI = off", "PartonLevel:ISR = off", "PartonLevel:FSR = off",
                 "HadronLevel:all = off", "36:m0 = 2", "35:onIfMatch = 23 36"):
        assert line in s
    assert not any(line.startswith("UncertaintyBands") for line in s)
    with pytest.raises(ConfigurationError, match="mini trees"):
        validate(GenerationConfig("ggh4l", decay_to_lhef=True))


# -- Pythia (a few events) -----------------------------------------------------------------------


@pytest.mark.slow
def test_pythia_reports_the_22_study_weights():
    pytest.importorskip("pythia8mc")
    from hzx.generation.pythia_driver import generate_block

    block = generate_block(pythia_settings(GenerationConfig("hza", ma=2.0)), 5, 4, process="hza")
    labels = [label.lower() for label, _ in STUDY_VARIATIONS]
    # Pythia 8.3 lists its 20 elementary ISR/FSR μR weights first, then the 22 of the list
    assert len(block.variation_names) == 42
    assert block.variation_names[-22:] == labels
    assert block.variation_weights.shape == (4, 42)


@pytest.mark.slow
def test_decay_to_lhef_writes_decayed_events(tmp_path):
    pytest.importorskip("pythia8mc")
    from hzx.generation import generate

    m = generate("hza", ma=2.0, events=12, seed=4, out=tmp_path, executor=ITER, block_size=6,
                 decay_to_lhef=True)
    assert m.treename == "LHEF"
    assert [Path(f["file"]).suffix for f in m.files] == [".lhe", ".lhe"]
    assert not list(tmp_path.glob("*.root"))
    for path in m.file_paths:
        text = Path(path).read_text()
        events = re.findall(r"<event>\n(.*?)</event>", text, re.S)
        assert len(events) == 6
        for event in events:
            ids = [int(line.split()[0]) for line in event.splitlines()[1:]
                   if re.match(r"^\s*-?\d+\s+-?\d+\s", line)]
            assert 35 in ids and 36 in ids and 23 in ids
            assert any(abs(i) in (11, 13, 15) for i in ids)  # Z decayed
        init = re.search(r"<init>\n.*\n\s*(\S+)", text).group(1)
        assert float(init) > 0  # σ written back at the end


@pytest.mark.slow
def test_madgraph_default_keeps_every_lhe_event(tmp_path):
    pytest.importorskip("pythia8mc")
    from hzx.generation import generate

    m = generate("zjets", lhe=str(MG5), events=20, seed=2, out=tmp_path, executor=ITER,
                 block_size=20, mpi=False, shower_variations="off")
    assert m.events == 20  # no matching veto
    assert not any(line.startswith("JetMatching") for line in m.pythia_settings)
    assert m.config["matching"] == "none"


@pytest.mark.slow
def test_events_zero_showers_the_whole_lhe_file(tmp_path):
    pytest.importorskip("pythia8mc")
    from hzx.generation import generate

    lhe = LHE / "powheg-box-v2-Z.lhe"
    assert inspect_lhe(lhe).events == 100
    m = generate("zjets", lhe=str(lhe), events=0, seed=3, out=tmp_path, executor=ITER,
                 block_size=50, mpi=False)  # as main_PowhegPy8_Zjets.cc IN OUT 0
    assert m.events == 100
    assert [f["events"] for f in m.files] == [50, 50]
    with pytest.raises(ConfigurationError, match="positive integer"):
        validate(GenerationConfig("zjets", events=0))
