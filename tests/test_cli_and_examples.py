"""End to end through the command line, and the example notebook executed on a fresh output."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from hzx import load_output
from hzx.scripts.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fourlep_output(opendata_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    fileset = tmp / "fileset.json"
    assert main(["samples", "fileset", "--location", str(opendata_dir), "--out", str(fileset)]) == 0
    out = tmp / "fourlep.coffea"
    assert main(["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                 "--executor", "futures", "--workers", "2", "--chunksize", "40",
                 "--no-progress"]) == 0
    return out


def test_run_writes_output_with_provenance(fourlep_output, fourlep_reference):
    out = load_output(fourlep_output)
    assert out.datasets == ["data_A", "data_B"]
    total = (out["data_A"]["m4l"] + out["data_B"]["m4l"]).values().tolist()
    assert total == fourlep_reference["A+B"]["m4l_hist"]
    prov = out.provenance
    assert prov["processor"] == "FourLeptonProcessor"
    assert prov["hzx_version"] == "0.1.0"
    assert prov["processor_options"]["apply_etcone20_isolation"] is False
    assert prov["executor"] == {"executor": "futures", "workers": 2, "threads_per_worker": 1,
                                "scheduler": None, "memory_limit": "auto", "retries": 3,
                                "progress": False, "dashboard": False,
                                "cluster_config": None, "cluster_overrides": []}
    assert prov["run_options"]["chunksize"] == 40
    assert len(prov["fileset_digest"]) == 64
    assert prov["fileset_path"].endswith("fileset.json")


def test_plot_writes_png_and_pdf(fourlep_output, tmp_path):
    assert main(["plot", "fourlep", str(fourlep_output), "--out", str(tmp_path)]) == 0
    for name in ("m4l_stack.png", "m4l_stack.pdf", "m4l_channels.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    from PIL import Image

    with Image.open(tmp_path / "m4l_stack.png") as image:
        assert image.size[0] > 600 and len(image.getcolors(1_000_000)) > 20


def test_inspect_prints_summary(fourlep_output, capsys):
    assert main(["inspect", str(fourlep_output)]) == 0
    text = capsys.readouterr().out
    assert "FourLeptonProcessor" in text and "[data_B] role=data events=156" in text
    assert "charge_sum_zero=65" in text


def test_set_option_changes_selection(opendata_dir, tmp_path):
    fileset = tmp_path / "fs.json"
    main(["samples", "fileset", "--location", str(opendata_dir), "--out", str(fileset)])
    out = tmp_path / "o.coffea"
    assert main(["run", "fourlep", "--fileset", str(fileset), "--out", str(out),
                 "--executor", "iterative", "--no-progress",
                 "--set", "apply_etcone20_isolation=true"]) == 0
    result = load_output(out)
    assert sum(result[d]["m4l"].values().sum() for d in result) == 51


def test_example_notebook_runs(fourlep_output, tmp_path):
    path = os.path.join(REPO, "examples", "fourlep_output.ipynb")
    nb = nbformat.read(path, as_version=4)
    os.environ["HZX_OUTPUT"] = str(fourlep_output)
    os.environ["HZX_FIGURES"] = str(tmp_path / "figures")
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    finally:
        os.environ.pop("HZX_OUTPUT", None)
        os.environ.pop("HZX_FIGURES", None)
    # the notebook draws hzx's one stacked m4l figure (ratio panel included)
    assert (tmp_path / "figures" / "m4l_stack.png").is_file()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "data events in 80-250 GeV: 53" in outputs
    assert "charge_sum_zero=65" in outputs


def test_help_lists_verbs(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for verb in ("samples", "run", "plot", "inspect"):
        assert verb in text
