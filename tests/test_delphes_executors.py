"""Same outputs from the iterative executor and a 2-worker Dask cluster (all three processors)."""

from __future__ import annotations

import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

from hzx.nn.h5 import write_h5
from hzx.processors.delphes import HzxDelphesSchema
from hzx.processors.hza2018 import HZa2018Processor
from hzx.processors.tracks import TrackObservablesProcessor
from hzx.processors.truth import TruthProcessor
from hzx.runner import ExecutorOptions, RunOptions, dask_client, run_processor


def _plain(acc):
    """Comparable form of an accumulator: histogram contents, cutflows, counts, metadata."""
    out = {}
    for key, value in acc.items():
        if hasattr(value, "values") and hasattr(value, "axes"):
            out[key] = np.asarray(value.values()).tolist()
        elif key in ("cutflow", "counts"):
            out[key] = value
        elif key == "metadata":
            out[key] = {k: v for k, v in value.items() if k not in ("chunks",)}
    return out


@pytest.mark.slow
def test_iterative_and_dask_give_the_same_outputs(tmp_path):
    files = {
        "sig": (write_delphes(tmp_path / "sig.root", make_events(100, seed=51)),
                {"role": "signal", "signal_mass_GeV": 2.0}),
        "bkg": (write_delphes(tmp_path / "bkg.root", make_events(80, seed=52, signal_pid=0)),
                {"role": "background"}),
    }
    fileset = {k: {"files": [str(p)], "metadata": m} for k, (p, m) in files.items()}
    run_options = RunOptions(chunksize=35)
    dask_options = ExecutorOptions(executor="dask", workers=2, progress=False, retries=0)
    iterative = {}
    for name, processor in (("hza2018", HZa2018Processor()), ("tracks", TrackObservablesProcessor()),
                            ("truth", TruthProcessor())):
        iterative[name] = run_processor(processor, fileset, treename="Delphes",
                                        schema=HzxDelphesSchema,
                                        executor=ExecutorOptions(progress=False), run=run_options)
    with dask_client(dask_options) as client:
        for name, processor in (("hza2018", HZa2018Processor()),
                                ("tracks", TrackObservablesProcessor()),
                                ("truth", TruthProcessor())):
            distributed = run_processor(processor, fileset, treename="Delphes",
                                        schema=HzxDelphesSchema, executor=dask_options,
                                        run=run_options, client=client)
            for dataset in fileset:
                assert _plain(distributed[dataset]) == _plain(iterative[name][dataset]), name
                assert distributed[dataset]["metadata"]["chunks"] == \
                    iterative[name][dataset]["metadata"]["chunks"] >= 2
            if name == "tracks":
                write_h5([iterative[name]], tmp_path / "iterative.h5")
                write_h5([distributed], tmp_path / "dask.h5")
    import h5py

    with h5py.File(tmp_path / "iterative.h5") as a, h5py.File(tmp_path / "dask.h5") as b:
        assert set(a) == set(b)
        for key in a:
            np.testing.assert_array_equal(a[key][...], b[key][...], err_msg=key)
        assert a["ghost_track_vars"].shape[0] > 250
