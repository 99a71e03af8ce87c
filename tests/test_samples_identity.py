"""Sample identity as the study: file-name rule, class keys and ids, generated names, filesets of
generated output (`hzx samples fileset --manifest DIR`)."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.errors import ConfigurationError
from hzx.generation.jobs import Manifest
from hzx.generation.processes import MA_POINTS_GEV, GenerationConfig
from hzx.samples.identity import (
    deterministic_class_id,
    infer_sample_info,
    mass_name_tag,
    resolve_role,
    signal_class_key,
)
from hzx.scripts.cli import main as cli


@pytest.mark.parametrize("name, family, mass, key", [
    ("delphes_output_HZA_mA1.00GeV.root", "HZA", 1.0, "HZA_mA1.00"),
    ("delphes_output_HZA_mA0.50GeV.root", "HZA", 0.5, "HZA_mA0.50"),
    ("/x/y/HZA_mA8.00GeV.root", "HZA", 8.0, "HZA_mA8.00"),
    ("hepmc_output_HZA_reallep_MPIon_ISRon_FSRon_HADon_Amass1.0.root", "HZA", None, "HZA"),
    ("hza_ma1p00_MPIon.root", "HZA", 1.0, "HZA_mA1"),  # hzx's old names: m_a read as 1 …
    ("hza_ma0p50_MPIon.root", "HZA", 0.0, "HZA_mA0"),  # … and 0.5 as 0
    ("delphes_output_HZJpsi.root", "HZJpsi", 3.0969, "HZJpsi"),
    ("delphes_output_HZetac.root", "HZetac", 2.9839, "HZetac"),
    ("delphes_output_Zjets.root", None, None, None),
])
def test_file_name_rule(name, family, mass, key):
    info = infer_sample_info(name)
    assert info.signal_family == family and info.signal_mass == mass and info.class_key == key
    assert info.is_signal_sample == (family is not None)
    assert info.sample_name == name.rsplit("/", 1)[-1]


def test_class_keys_and_ids_are_the_studys():
    assert signal_class_key("HZA_mA1.00", 36, 1.0) == "HZA_mA1.00_PID36_m1.000"
    assert signal_class_key(None, 36, 0.74951) == "PID36_m0.750"
    assert signal_class_key("HZA", 36, math.nan) == "HZA_PID36"
    # run_nntraining.sh --include-classes
    assert deterministic_class_id("HZA_mA1.00_PID36_m1.000") == 8218112266906435903
    assert deterministic_class_id("HZA_mA2.00_PID36_m2.000") == 8824635442399589374
    assert deterministic_class_id("HZJpsi_PID443_m3.097") == 2408090956566475877


@pytest.mark.parametrize("m_a", MA_POINTS_GEV)
def test_generated_names_agree_with_the_rule(m_a):
    tag = GenerationConfig(process="hza", ma=m_a).tag
    assert tag == f"hza_mA{m_a:.2f}GeV_MPIon_ISRon_FSRon_HADon"
    info = infer_sample_info(f"{tag}_block0000.root")
    assert info.signal_mass == m_a and info.class_key == f"HZA_mA{m_a:.2f}"
    assert infer_sample_info(GenerationConfig(process="hzjpsi").tag).signal_family == "HZJpsi"
    assert infer_sample_info(GenerationConfig(process="hzetac").tag).signal_family == "HZetac"
    assert not infer_sample_info(GenerationConfig(process="zjets").tag).is_signal_sample


def test_mass_name_tag_keeps_every_digit():
    assert mass_name_tag(0.75) == "mA0.75GeV"
    assert mass_name_tag(0.755) == "mA0.755GeV"
    assert infer_sample_info("hza_" + mass_name_tag(0.755)).signal_mass == 0.755


def test_roles_explicit_or_inferred():
    d = resolve_role("x", {"role": "background"}, ["HZA_mA1.00GeV.root"])
    assert (d.role, d.source, d.inferred) == ("background", "fileset", False)
    d = resolve_role("x", {}, ["delphes_output_HZA_mA1.00GeV.root"])
    assert (d.role, d.source) == ("signal", "file name")
    assert "'signal' inferred from the file name" in d.describe()
    d = resolve_role("HZJpsi", None, ["a.root"])
    assert (d.role, d.source, d.info.signal_family) == ("signal", "dataset name", "HZJpsi")
    d = resolve_role("zjets", None, ["z.root"])
    assert (d.role, d.source) == ("background", "file name")
    with pytest.raises(ConfigurationError, match="role 'sig' is not one of"):
        resolve_role("x", {"role": "sig"}, [])


def _manifest(directory, dataset, process, role, ma=None, events=30, seed=1):
    path = directory / f"{dataset}_block0000.root"
    write_delphes(path, make_events(events, seed=seed, signal_pid=36 if process == "hza" else 0,
                                    signal_mass=ma or 1.0))
    m = Manifest(process=process, dataset=dataset, role=role, treename="Delphes",
                 files=[{"file": path.name, "block": 0, "events": events}], events=events,
                 sumw=float(events), xsec_pb=0.5, xsec_err_pb=0.01, sigma_pythia_pb=0.5,
                 k_factor=1.0, normalisation="test", seed=seed, block_size=100,
                 config={"process": process, "ma": ma}, pythia_settings=[], seconds={},
                 provenance={})
    m.write(directory / f"{dataset}.manifest.json")
    return path


def test_fileset_from_manifest_dir(tmp_path, capsys):
    gen = tmp_path / "gen"
    gen.mkdir()
    tag = GenerationConfig(process="hza", ma=0.5).tag
    sig = _manifest(gen, tag, "hza", "signal", ma=0.5)
    bkg = _manifest(gen, "zjets_MPIon_ISRon_FSRon_HADon", "zjets", "background", seed=2)
    assert cli(["samples", "fileset", "--manifest", str(gen), "--out",
                str(tmp_path / "fs.json")]) == 0
    assert f"{tag}: 1 file(s), role signal (manifest, HZA_mA0.50)" in capsys.readouterr().out
    fs = json.loads((tmp_path / "fs.json").read_text())
    assert list(fs) == [tag, "zjets_MPIon_ISRon_FSRon_HADon"]
    assert fs[tag]["files"] == {str(sig.resolve()): "Delphes"}
    assert fs[tag]["metadata"] == {
        "role": "signal", "role_source": "manifest", "xsec_pb": 0.5, "sumw": 30.0, "red_eff": 1.0,
        "lumi_fb": 10.0, "process": "hza", "generator": "hzx-pythia8", "events": 30,
        "signal_family": "HZA", "class_key": "HZA_mA0.50", "signal_mass_GeV": 0.5}
    assert fs["zjets_MPIon_ISRon_FSRon_HADon"]["metadata"]["role"] == "background"
    assert "class_key" not in fs["zjets_MPIon_ISRon_FSRon_HADon"]["metadata"]
    assert fs["zjets_MPIon_ISRon_FSRon_HADon"]["files"] == {str(bkg.resolve()): "Delphes"}

    # the fileset runs through `hzx run tracks` and `hzx h5`: class id of m_a = 0.50 GeV
    assert cli(["run", "tracks", "--fileset", str(tmp_path / "fs.json"), "--out",
                str(tmp_path / "t.coffea"), "--executor", "iterative"]) == 0
    assert cli(["h5", str(tmp_path / "t.coffea"), "--out", str(tmp_path / "j.h5"),
                "--require-roles"]) == 0
    with h5py.File(tmp_path / "j.h5") as h5:
        assert list(h5["signal_class_ids"][:]) == [
            deterministic_class_id("HZA_mA0.50_PID36_m0.500")]
        assert set(np.unique(h5["signal_class"][:][h5["sample_index"][:] == 1])) == {-1}
        assert list(h5.attrs["sample_role_sources"]) == ["fileset", "fileset"]


def test_manifest_without_role_and_errors(tmp_path, capsys):
    gen = tmp_path / "gen"
    gen.mkdir()
    _manifest(gen, "hzjpsi_MPIon_ISRon_FSRon_HADon", "hzjpsi", "signal")
    data = json.loads((gen / "hzjpsi_MPIon_ISRon_FSRon_HADon.manifest.json").read_text())
    del data["role"]
    (gen / "hzjpsi_MPIon_ISRon_FSRon_HADon.manifest.json").write_text(json.dumps(data))
    assert cli(["samples", "fileset", "--manifest", str(gen), "--out",
                str(tmp_path / "fs.json")]) == 0
    meta = json.loads((tmp_path / "fs.json").read_text())["hzjpsi_MPIon_ISRon_FSRon_HADon"][
        "metadata"]
    assert (meta["role"], meta["role_source"], meta["signal_mass_GeV"]) == (
        "signal", "file name", 3.0969)
    assert cli(["samples", "fileset", "--manifest", str(tmp_path / "none"), "--out",
                str(tmp_path / "x.json")]) == 2
    assert "no such generation directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli(["samples", "fileset", "--manifest", str(tmp_path / "empty"), "--out",
                str(tmp_path / "x.json")]) == 2
    assert "no generation manifest" in capsys.readouterr().err
