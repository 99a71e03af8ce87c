"""The 4-lepton processor on the real ATLAS Open Data files: the notebook's numbers, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from minitree import make_events, read_mini, write_mini

from hzx.processors import AtlasOpenDataSchema, FourLeptonOptions, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.samples import build_fileset, xsec_weight

QUIET = {"progress": False}


def run(fileset, options=None, executor="iterative", chunksize=100_000, **kw):
    return run_processor(
        FourLeptonProcessor(options or FourLeptonOptions()), fileset, treename="mini",
        schema=AtlasOpenDataSchema, executor=ExecutorOptions(executor=executor, **QUIET, **kw),
        run=RunOptions(chunksize=chunksize),
    )


def check_against_reference(out, reference):
    total = np.zeros(34)
    for name in ("data_A", "data_B"):
        expected = reference["files"][f"{name}.4lep.root"]
        acc = out[name]
        values = acc["m4l"].values()
        assert values.tolist() == expected["m4l_hist"], name
        assert acc["cutflow"]["all"]["raw"] == expected["entries"]
        assert acc["cutflow"]["charge_sum_zero"]["raw"] == expected["selected_any_mass"]
        assert acc["metadata"]["events_read"] == expected["entries"]
        total += values
    assert total.tolist() == reference["A+B"]["m4l_hist"]
    assert int(total.sum()) == reference["A+B"]["in_window"] == 53


@pytest.mark.parametrize("chunksize", [100_000, 3, 7, 50])
def test_reference_iterative_any_chunksize(opendata_dir, fourlep_reference, chunksize):
    out = run(build_fileset(opendata_dir), chunksize=chunksize)
    check_against_reference(out, fourlep_reference)
    # coffea balances chunks: entries / ceil(entries / round(entries / chunksize)) of them
    expected_chunks = sum(math.ceil(n / math.ceil(n / max(round(n / chunksize), 1)))
                          for n in (39, 156))
    assert out["data_A"]["metadata"]["chunks"] + out["data_B"]["metadata"]["chunks"] == \
        expected_chunks


def test_reference_futures(opendata_dir, fourlep_reference):
    out = run(build_fileset(opendata_dir), executor="futures", workers=2, chunksize=20)
    check_against_reference(out, fourlep_reference)


@pytest.mark.slow
def test_reference_dask_two_workers(opendata_dir, fourlep_reference):
    out = run(build_fileset(opendata_dir), executor="dask", workers=2, chunksize=13)
    check_against_reference(out, fourlep_reference)
    assert out["_provenance"]["executor"]["executor"] == "dask"
    assert out["_provenance"]["executor"]["workers"] == 2


def test_etcone20_option_gives_51(opendata_dir, fourlep_reference):
    out = run(build_fileset(opendata_dir), FourLeptonOptions(apply_etcone20_isolation=True))
    in_window = sum(out[d]["m4l"].values().sum() for d in ("data_A", "data_B"))
    assert in_window == fourlep_reference["A+B_with_etcone20_cut_also"]["in_window"] == 51
    assert "etcone20_isolation" in out["data_A"]["cutflow"]


def test_cutflow_is_ordered_and_monotonic(opendata_dir):
    out = run(build_fileset(opendata_dir), FourLeptonOptions(require_trigger=True))
    flow = out["data_B"]["cutflow"]
    assert list(flow) == ["all", "lepton_kinematics", "lepton_flavour", "ptcone30_isolation",
                          "four_leptons", "charge_sum_zero", "trigger", "m4l_window"]
    raws = [v["raw"] for v in flow.values()]
    assert raws == sorted(raws, reverse=True)
    assert raws[:3] == [156, 150, 103]


def test_channels_add_up(opendata_dir):
    out = run(build_fileset(opendata_dir))
    for name in ("data_A", "data_B"):
        by_channel = out[name]["m4l_channel"].values().sum(axis=0)
        assert by_channel.tolist() == out[name]["m4l"].values().tolist()
        # four lepton entries per selected event
        assert out[name]["lepton_eta"].values(flow=True).sum() == \
            4 * out[name]["cutflow"]["charge_sum_zero"]["raw"]


def test_simulation_weights_follow_the_notebook(opendata_dir, tmp_path):
    """Data A written as a 'simulated' sample with known mcWeight and scale factors."""
    arrays = read_mini(opendata_dir / "data_A.4lep.root")
    rng = np.random.default_rng(3)
    n = len(arrays)
    factors = {name: rng.uniform(0.5, 1.5, n).astype(np.float32) for name in (
        "mcWeight", "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON",
        "scaleFactor_LepTRIGGER")}
    for name, values in factors.items():
        arrays[name] = values
    path = write_mini(tmp_path / "mc_999999.fake.4lep.root", arrays)
    meta = {"role": "signal", "xsec_pb": 0.5, "sumw": 1234.5, "red_eff": 1.0, "lumi_fb": 10.0}
    out = run({"fake": {"files": {str(path): "mini"}, "metadata": meta}})
    data = run(build_fileset(opendata_dir, ["data_A"]))

    per_event = np.prod([v.astype(np.float64) for v in factors.values()], axis=0)
    norm = xsec_weight(0.5, 1234.5, 10.0)
    assert norm == pytest.approx(10 * 1000 * 0.5 / 1234.5)
    # the same events are selected as in data; recompute which ones
    selected = run_selected_mask(arrays)
    assert selected.sum() == data["data_A"]["cutflow"]["charge_sum_zero"]["raw"] == 21
    assert out["fake"]["cutflow"]["charge_sum_zero"]["weighted"] == pytest.approx(
        norm * per_event[selected].sum(), rel=1e-12)
    assert out["fake"]["cutflow"]["all"]["weighted"] == pytest.approx(norm * per_event.sum(),
                                                                      rel=1e-12)
    assert out["fake"]["m4l"].values().sum() == pytest.approx(
        out["fake"]["cutflow"]["m4l_window"]["weighted"], rel=1e-12)
    assert out["fake"]["metadata"]["role"] == "signal"


def run_selected_mask(arrays):
    """The notebook's selection written out in MeV with numpy, event by event."""
    mask = []
    for ev in arrays.tolist():
        pt, eta = np.array(ev["lep_pt"]), np.array(ev["lep_eta"])
        if len(pt) == 0:
            mask.append(False)
            continue
        ok = (pt.max() > 20000) and (pt.min() > 7000) and (eta.min() > -2.5) and (eta.max() < 2.5)
        ok &= sum(ev["lep_type"]) in (44, 48, 52)
        ok &= max(np.array(ev["lep_ptcone30"]) / pt) < 0.3
        ok &= len(pt) == 4 and sum(ev["lep_charge"]) == 0
        mask.append(bool(ok))
    return np.array(mask)


def test_hand_built_edge_events_end_to_end(tmp_path):
    e = {"eta": 0.0, "phi": 0.0, "charge": 1, "type": 11}

    def four(**override):
        leps = [dict(e, pt=40.0, E=40.0), dict(e, pt=30.0, E=30.0, charge=-1, phi=2.0),
                dict(e, pt=25.0, E=25.0, phi=-2.0), dict(e, pt=15.0, E=15.0, charge=-1, phi=1.0)]
        leps[0].update(override)
        return leps

    events = make_events([
        four(),                              # passes
        four(pt=20.0, E=20.0),               # leading lepton exactly 20 GeV but others 30 → passes
        four(eta=2.5),                       # |eta| = 2.5 → fails
        [*four(), dict(e, pt=10.0, E=10.0)],  # five leptons → fails
        four(charge=-1),                     # charge sum -2 → fails
        four(type=13),                       # flavour sum 46 → fails
    ])
    path = write_mini(tmp_path / "edge.root", events)
    out = run({"data_edge": [str(path)]})
    flow = out["data_edge"]["cutflow"]
    assert flow["all"]["raw"] == 6
    assert flow["lepton_kinematics"]["raw"] == 5
    assert flow["lepton_flavour"]["raw"] == 3  # the five-lepton event has sum 55
    assert flow["four_leptons"]["raw"] == 3
    assert flow["charge_sum_zero"]["raw"] == 2
    assert out["data_edge"]["metadata"]["role"] == "data"  # the notebook's name rule


def test_iterative_progress_bar_only_when_asked(opendata_dir, capfd):
    """coffea's iterative executor draws its bar whatever ``status`` says; hzx's does not."""
    fileset = build_fileset(opendata_dir)
    quiet = run(fileset, chunksize=40)
    assert "Processing" not in "".join(capfd.readouterr())
    shown = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                          schema=AtlasOpenDataSchema,
                          executor=ExecutorOptions(executor="iterative", progress=True),
                          run=RunOptions(chunksize=40))
    assert "Processing" in "".join(capfd.readouterr())
    assert shown["data_B"]["m4l"].values().tolist() == quiet["data_B"]["m4l"].values().tolist()
