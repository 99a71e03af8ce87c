"""The 'How much Higgs?' exercises notebook and the output example, on real data paired with a
small simulation folder (tests/minitree.py), executed end to end."""

from __future__ import annotations

import os

import nbformat
import pytest
from minitree import write_mc_folder
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def real_output(opendata_dir, tmp_path_factory):
    from hzx.io import save_output
    from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
    from hzx.runner import ExecutorOptions, RunOptions, run_processor
    from hzx.samples import build_fileset

    tmp = tmp_path_factory.mktemp("examples")
    mc = write_mc_folder(tmp / "mc", opendata_dir / "data_B.4lep.root", n_events=150)
    fileset = build_fileset(mc, lumi_fb=2.4) | build_fileset(opendata_dir)
    output = run_processor(FourLeptonProcessor(), fileset, treename="mini",
                           schema=AtlasOpenDataSchema,
                           executor=ExecutorOptions(executor="iterative", progress=False),
                           run=RunOptions(chunksize=100_000))
    return save_output(output, tmp / "fourlep.coffea"), tmp


def _execute(name, env):
    path = os.path.join(REPO, "examples", name)
    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


def test_how_much_higgs_notebook_runs(real_output):
    path, tmp = real_output
    text = _execute("how_much_higgs.ipynb", {"HZX_OUTPUT": str(path), "HZX_TOYS": "500",
                                             "HZX_FIGURES": str(tmp / "figures")})
    assert "Open Data: Data vs ATLAS simulation, 2.4 fb^-1" in text
    assert "exercise 1: chi2(s_s=1, s_b=1) =" in text
    assert "best fit:" in text
    assert (tmp / "figures" / "m4l_stack.png").is_file()
    assert (tmp / "figures" / "contour_2d.png").is_file()


def test_output_example_runs_on_real_data_with_simulation(real_output):
    path, tmp = real_output
    text = _execute("fourlep_output.ipynb", {"HZX_OUTPUT": str(path),
                                             "HZX_FIGURES": str(tmp / "output_figures")})
    assert (tmp / "output_figures" / "m4l_stack.png").is_file()
    assert "data events in 80-250 GeV: 53" in text
    assert "ggH125_ZZ4lep" in text
