"""The dask-awkward backend gives the Runner backend's output, to the count and to 1e-12."""

from __future__ import annotations

import hist
import numpy as np
import pytest
from minitree import read_mini, write_damaged_basket, write_mini

from hzx import load_output
from hzx.errors import ConfigurationError
from hzx.processors import AtlasOpenDataSchema, FourLeptonOptions, FourLeptonProcessor
from hzx.runner import ExecutorOptions, RunOptions, run_processor
from hzx.runner.dask_awkward import partitions
from hzx.samples import build_fileset

pytest.importorskip("dask_awkward", reason="the dask-awkward backend needs hzx's `dask` extra "
                    "(pip install 'hzx[dask]'; make installs it)")
pytest.importorskip("dask_histogram", reason="the dask-awkward backend needs hzx's `dask` extra")


def run(fileset, backend, options=None, executor="iterative", chunksize=100_000, **kw):
    return run_processor(
        FourLeptonProcessor(options or FourLeptonOptions()), fileset, treename="mini",
        schema=AtlasOpenDataSchema,
        executor=ExecutorOptions(executor=executor, progress=False, **kw),
        run=RunOptions(chunksize=chunksize, backend=backend),
    )


def assert_same(runner, dask, datasets, rel=1e-12):
    """Every histogram: counts exact; sums of weights and of squared weights to ``rel``;
    cutflows: raw counts equal, weighted to ``rel``; bookkeeping metadata equal."""
    for dataset in datasets:
        a, b = runner[dataset], dask[dataset]
        assert sorted(a) == sorted(b)
        for key, h in a.items():
            if key in ("cutflow", "metadata"):
                continue
            other = b[key]
            if not isinstance(h, hist.Hist):  # e.g. HZa2018's fills per histogram
                assert other == h, (dataset, key)
                continue
            assert other.axes == h.axes, (dataset, key)
            assert type(other) is type(h)
            np.testing.assert_allclose(other.values(flow=True), h.values(flow=True),
                                       rtol=rel, atol=0, err_msg=f"{dataset} {key}")
            if h.variances() is None:  # a storage without variances (the tracks' counts)
                assert other.variances() is None
            else:
                np.testing.assert_allclose(other.variances(flow=True), h.variances(flow=True),
                                           rtol=rel, atol=0, err_msg=f"{dataset} {key}")
        assert list(a["cutflow"]) == list(b["cutflow"])
        for cut, entry in a["cutflow"].items():
            assert type(b["cutflow"][cut]["raw"]) is int
            assert b["cutflow"][cut]["raw"] == entry["raw"], (dataset, cut)
            assert b["cutflow"][cut]["weighted"] == pytest.approx(entry["weighted"], rel=rel)
        for field in ("events_read", "chunks", "entries_by_file", "role", "skipped_files",
                      "files_in_fileset"):
            assert b["metadata"][field] == a["metadata"][field], (dataset, field)


def test_partitions_balance_as_coffea_chunks():
    assert partitions(156, 50) == [[0, 52], [52, 104], [104, 156]]
    assert partitions(39, 100_000) == [[0, 39]]
    assert partitions(0, 10) == []
    assert sum(b - a for a, b in partitions(1001, 7)) == 1001


@pytest.mark.parametrize("chunksize", [100_000, 50, 7])
def test_fourlep_data_identical_on_both_backends(opendata_dir, fourlep_reference, chunksize):
    fileset = build_fileset(opendata_dir)
    runner = run(fileset, "runner", chunksize=chunksize)
    dask = run(fileset, "dask-awkward", chunksize=chunksize)
    assert_same(runner, dask, ("data_A", "data_B"), rel=0)  # data: unit weights, exact
    # the notebook's numbers through the dask-awkward backend
    total = dask["data_A"]["m4l"].values() + dask["data_B"]["m4l"].values()
    assert total.tolist() == fourlep_reference["A+B"]["m4l_hist"]
    assert int(total.sum()) == 53
    summary = dask["_provenance"]["summary"]
    assert summary["backend"] == "dask-awkward"
    assert dask["_provenance"]["run_options"]["backend"] == "dask-awkward"
    assert summary["events"] == 39 + 156
    assert summary["chunks"] == runner["_provenance"]["summary"]["chunks"]
    assert summary["graph_build_time_s"] >= 0 and summary["compute_time_s"] > 0
    # only the lepton branches the kernels touch (data: no weight branches)
    assert not any(c.startswith(("mcWeight", "scaleFactor")) for c in summary["columns_read"])
    assert {"lep_pt", "lep_eta", "lep_type", "lep_charge"} <= set(summary["columns_read"])


@pytest.fixture(scope="module")
def simulated(opendata_dir, tmp_path_factory):
    """Data B as a 'simulated' sample with random mcWeight and scale factors: weights and all
    systematic variations of m4l_syst are filled."""
    arrays = read_mini(opendata_dir / "data_B.4lep.root")
    rng = np.random.default_rng(11)
    for name in ("mcWeight", "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON",
                 "scaleFactor_LepTRIGGER"):
        arrays[name] = rng.uniform(0.5, 1.5, len(arrays)).astype(np.float32)
    path = write_mini(tmp_path_factory.mktemp("mc") / "mc_999999.fake.4lep.root", arrays)
    meta = {"role": "signal", "xsec_pb": 0.5, "sumw": 1234.5, "red_eff": 1.0, "lumi_fb": 10.0,
            "xsec_rel": 0.1}
    return {"fake": {"files": {str(path): "mini"}, "metadata": meta}}


@pytest.mark.parametrize("chunksize", [100_000, 13])
def test_fourlep_weighted_identical_on_both_backends(simulated, chunksize):
    runner = run(simulated, "runner", chunksize=chunksize)
    dask = run(simulated, "dask-awkward", chunksize=chunksize)
    assert_same(runner, dask, ("fake",))
    syst = dask["fake"]["m4l_syst"]
    assert syst[{"syst": "nominal"}].values().sum() == pytest.approx(
        dask["fake"]["cutflow"]["m4l_window"]["weighted"], rel=1e-12)
    # every variation filled, and each differs from the nominal
    for variation in ("lep_sf_up", "lep_scale_down", "lumi_up", "xsec_down"):
        assert syst[{"syst": variation}].values().sum() > 0
        assert syst[{"syst": variation}].values().sum() != pytest.approx(
            syst[{"syst": "nominal"}].values().sum(), rel=1e-6)
    assert "mcWeight" in dask["_provenance"]["summary"]["columns_read"]


def test_options_reach_the_dask_graph(opendata_dir):
    fileset = build_fileset(opendata_dir)
    options = FourLeptonOptions(apply_etcone20_isolation=True, require_trigger=True)
    runner = run(fileset, "runner", options)
    dask = run(fileset, "dask-awkward", options)
    assert_same(runner, dask, ("data_A", "data_B"), rel=0)
    assert sum(dask[d]["m4l"].values().sum() for d in ("data_A", "data_B")) == 51
    assert "lep_etcone20" in dask["_provenance"]["summary"]["columns_read"]


def test_futures_executor_runs_the_graph_on_processes(opendata_dir):
    fileset = build_fileset(opendata_dir)
    runner = run(fileset, "runner", chunksize=40)
    dask = run(fileset, "dask-awkward", executor="futures", workers=2, chunksize=40)
    assert_same(runner, dask, ("data_A", "data_B"), rel=0)


@pytest.mark.slow
def test_dask_executor_runs_the_graph_on_the_cluster(opendata_dir):
    fileset = build_fileset(opendata_dir)
    runner = run(fileset, "runner", chunksize=40)
    dask = run(fileset, "dask-awkward", executor="dask", workers=2, chunksize=40)
    assert_same(runner, dask, ("data_A", "data_B"), rel=0)
    assert dask["_provenance"]["executor"]["executor"] == "dask"


def test_bad_file_skipped_and_recorded(opendata_dir, tmp_path):
    missing = str(tmp_path / "missing.4lep.root")
    fileset = {"data_A": [str(opendata_dir / "data_A.4lep.root"), missing]}
    out = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                        schema=AtlasOpenDataSchema,
                        executor=ExecutorOptions(executor="iterative", progress=False),
                        run=RunOptions(backend="dask-awkward", skip_bad_files=True))
    meta = out["data_A"]["metadata"]
    assert meta["skipped_files"] == [{"file": missing, "reason": "file not found"}]
    assert meta["events_read"] == 39
    assert out["_provenance"]["summary"]["skipped_files"] == 1


def test_unsupported_processor_and_checkpoints_refused(opendata_dir, tmp_path):
    from hzx.processors.registry import build

    processor, spec, schema = build("truth", [])  # not written for dask-awkward yet
    with pytest.raises(ConfigurationError, match=type(processor).__name__):
        run_processor(processor, {"x": [str(tmp_path / "none.root")]}, treename=spec.treename,
                      schema=schema, run=RunOptions(backend="dask-awkward"))
    with pytest.raises(ConfigurationError, match="checkpoint_dir needs backend 'runner'"):
        run_processor(FourLeptonProcessor(), build_fileset(opendata_dir), treename="mini",
                      schema=AtlasOpenDataSchema,
                      run=RunOptions(backend="dask-awkward", checkpoint_dir=str(tmp_path / "ck")))
    with pytest.raises(ConfigurationError, match="unknown backend 'spark'"):
        RunOptions(backend="spark")


def test_cli_backend_flag(opendata_dir, tmp_path, fourlep_reference, capsys):
    from hzx.scripts.cli import main

    fileset = tmp_path / "fileset.json"
    assert main(["samples", "fileset", "--location", str(opendata_dir), "--out",
                 str(fileset)]) == 0
    out = tmp_path / "fourlep.coffea"
    assert main(["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                 "--backend", "dask-awkward", "--executor", "iterative", "--chunksize", "60",
                 "--no-progress"]) == 0
    loaded = load_output(out)
    total = sum(loaded.raw[d]["m4l"].values() for d in ("data_A", "data_B"))
    assert total.tolist() == fourlep_reference["A+B"]["m4l_hist"]
    assert loaded.raw["_provenance"]["summary"]["backend"] == "dask-awkward"
    capsys.readouterr()
    assert main(["run", "fourlep", "--fileset", str(fileset), "--out", str(tmp_path / "b.coffea"),
                 "--backend", "dask-awkward", "--checkpoint", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--checkpoint needs --backend 'runner'" in err, err


@pytest.fixture(scope="module")
def delphes_sample(tmp_path_factory):
    from delphes_fixtures import make_events, write_delphes

    path = tmp_path_factory.mktemp("hza") / "hza.root"
    write_delphes(path, make_events(600, seed=21))
    return path


@pytest.mark.parametrize("options", [{}, {"z_candidate": "closest", "use_event_weight": True}])
@pytest.mark.parametrize("chunksize", [100_000, 250])
def test_hza2018_identical_on_both_backends(delphes_sample, options, chunksize):
    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.hza2018 import CUTS, HISTOGRAMS, HZa2018Options, HZa2018Processor

    fileset = {"sig": {"files": [str(delphes_sample)], "metadata": {"role": "signal"}}}
    outputs = {
        backend: run_processor(
            HZa2018Processor(HZa2018Options(**options)), fileset, treename="Delphes",
            schema=HzxDelphesSchema, executor=ExecutorOptions(progress=False),
            run=RunOptions(chunksize=chunksize, backend=backend))
        for backend in ("runner", "dask-awkward")}
    runner, dask = outputs["runner"], outputs["dask-awkward"]
    assert_same(runner, dask, ("sig",))
    assert dask["sig"]["entries"] == runner["sig"]["entries"]
    assert all(type(v) is int for v in dask["sig"]["entries"].values())
    for cut in CUTS:
        assert dask["sig"]["cutflow"][cut]["sumw2"] == pytest.approx(
            runner["sig"]["cutflow"][cut]["sumw2"], rel=1e-12)
    assert dask["sig"]["cutflow"]["Inclusive"]["raw"] == 600
    assert 0 < dask["sig"]["cutflow"]["SR"]["raw"] < 600
    assert set(dask["sig"]) >= set(HISTOGRAMS)
    columns = dask["_provenance"]["summary"]["columns_read"]
    assert not any(c.startswith(("Track", "Tower", "Photon")) for c in columns), columns


@pytest.mark.parametrize("options", [{}, {"association": "ghost", "require_hza2018": True},
                                     {"jet_pt_min": 30.0, "leading_jet_only": True}])
def test_tracks_identical_on_both_backends(tmp_path_factory, options):
    from delphes_fixtures import make_events, write_delphes

    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.track_observables import OBSERVABLE_NAMES
    from hzx.processors.tracks import TrackObservablesOptions, TrackObservablesProcessor

    path = tmp_path_factory.mktemp("tracks") / "tracks.root"
    write_delphes(path, make_events(250, seed=11, signal_pid=36, signal_mass=1.5))
    fileset = {"sig": {"files": [str(path)], "metadata": {"role": "signal"}}}
    processor = TrackObservablesProcessor(TrackObservablesOptions(store_columns=False, **options))
    outputs = {backend: run_processor(processor, fileset, treename="Delphes",
                                      schema=HzxDelphesSchema,
                                      executor=ExecutorOptions(progress=False),
                                      run=RunOptions(chunksize=90, backend=backend))
               for backend in ("runner", "dask-awkward")}
    runner, dask = outputs["runner"], outputs["dask-awkward"]
    assert runner["sig"]["columns"] == dask["sig"]["columns"] == {"chunks": [], "files": []}
    assert_same(runner, dask, ("sig",), rel=0)
    assert dask["sig"]["metadata"]["track_collections"] == {"Track"}
    assert dask["sig"]["cutflow"]["events"]["raw"] == 250
    assert dask["sig"]["cutflow"]["jets_selected"]["raw"] == \
        dask["sig"][f"obs_{OBSERVABLE_NAMES[0]}"].values(flow=True).sum() > 0
    columns = dask["_provenance"]["summary"]["columns_read"]
    assert any(c.startswith("Track") for c in columns)


def test_tracks_training_columns_need_the_runner(tmp_path):
    from delphes_fixtures import make_events, write_delphes

    from hzx.processors.delphes import HzxDelphesSchema
    from hzx.processors.tracks import TrackObservablesProcessor

    path = write_delphes(tmp_path / "t.root", make_events(20, seed=3))
    with pytest.raises(ConfigurationError, match="store_columns needs backend 'runner'"):
        run_processor(TrackObservablesProcessor(), {"sig": [str(path)]}, treename="Delphes",
                      schema=HzxDelphesSchema, executor=ExecutorOptions(progress=False),
                      run=RunOptions(backend="dask-awkward"))


@pytest.mark.parametrize(("library", "reason", "executor"), [
    ("zlib", "error: Error -3 while decompressing", "iterative"),
    ("isal", "IsalError: Error -1 Invalid deflate", "iterative"),
    # the graph, the errors to skip included, pickled to a worker
    ("isal", "IsalError: Error -1 Invalid deflate", "dask"),
])
def test_unreadable_chunk_skipped_and_reported(opendata_dir, tmp_path, library, reason,
                                               executor):
    """A basket of lep_pt corrupted after the file was written: the file opens and passes the
    checks before the run, its first chunk cannot be decompressed (by either library)."""
    path = write_damaged_basket(tmp_path / "data_corrupt.4lep.root",
                                read_mini(opendata_dir / "data_B.4lep.root"))
    fileset = {"data_corrupt": [str(path)], "data_A": [str(opendata_dir / "data_A.4lep.root")]}
    out = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                        schema=AtlasOpenDataSchema,
                        executor=ExecutorOptions(executor=executor, workers=1,
                                                 progress=False),
                        run=RunOptions(backend="dask-awkward", skip_bad_files=True,
                                       chunksize=100_000, inflate=library))
    meta = out["data_corrupt"]["metadata"]
    assert meta["events_read"] == 0
    [failed] = meta["failed_steps"]
    assert (failed["file"], failed["entry_start"], failed["entry_stop"]) == (str(path), 0, 156)
    assert failed["reason"].startswith(reason)
    assert meta["skipped_files"] == [{"file": str(path), "reason": "only 0 of 156 entries "
                                      "processed: a chunk failed and was skipped"}]
    # the other dataset is whole
    assert out["data_A"]["metadata"]["events_read"] == 39
    assert out["data_A"]["metadata"]["failed_steps"] == []
    assert out["data_A"]["m4l"].values().sum() > 0
