"""The study's `run_nntraining.sh`, its seven script calls replaced by hzx verbs, run as a shell
script from its own working directory: Delphes files in `delphes/` → HDF5 → inspection →
feature plots → regression (Optuna, SQLite) → regressed mass applied → its plot → classifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from delphes_fixtures import make_events, write_delphes

pytestmark = pytest.mark.slow

#: the script's variables and its seven steps, each study script replaced by its hzx verb
SCRIPT = r"""#!/bin/bash
set -euo pipefail
OUTPUT_DIR=nn_training_input
PLOTS_DIR=nn_plots
REG_OUTPUT=nn_training_output/regression
CLS_OUTPUT=nn_training_output/classification
BASE_H5="${OUTPUT_DIR}/jet_data.h5"
AUG_H5="${OUTPUT_DIR}/jet_data_augmented.h5"
REG_OPTUNA_TRIALS=${REG_OPTUNA_TRIALS:-40}
CLS_OPTUNA_TRIALS=${CLS_OPTUNA_TRIALS:-40}
REG_OPTUNA_DB="${REG_OUTPUT}/optuna_regression.db"
CLS_OPTUNA_DB="${CLS_OUTPUT}/optuna_classification.db"
mkdir -p "${OUTPUT_DIR}" "${PLOTS_DIR}" "${REG_OUTPUT}" "${CLS_OUTPUT}"
echo "[1/7] $SECONDS s"
if [ ! -f "${BASE_H5}" ]; then
    hzx h5 convert -i delphes -o "${OUTPUT_DIR}"
fi
echo "[2/7] $SECONDS s"
hzx h5 inspect --summary "${BASE_H5}"
echo "[3/7] $SECONDS s"
hzx nn plot-features --input-h5 "${BASE_H5}" --output-dir "${PLOTS_DIR}" --include-signal-masses "0.5,1.5,2.5,3.5"
echo "[4/7] $SECONDS s"
hzx nn train-regression \
  --input-h5 "${BASE_H5}" \
  --output-dir "$REG_OUTPUT" \
  --optuna-trials "${REG_OPTUNA_TRIALS}" \
  --optuna-study "regression_hpo" \
  --optuna-storage "sqlite:///${REG_OPTUNA_DB}" ${REG_EXTRA:-}
echo "[5/7] $SECONDS s"
hzx nn apply \
  --input-h5 "${BASE_H5}" \
  --output-h5 "${AUG_H5}" \
  --regression-run-dir "$REG_OUTPUT" \
  --overwrite
echo "[6/7] $SECONDS s"
hzx nn plot-outputs \
  --input-h5 "${AUG_H5}" \
  --output "${PLOTS_DIR}/regression_output_overlay.png" \
  --include-classes 8218112266906435903 8824635442399589374
echo "[7/7] $SECONDS s"
hzx nn train-classifier \
  --input-h5 "${AUG_H5}" \
  --output-dir "$CLS_OUTPUT" \
  --features-key ghost_track_vars_with_reg \
  --optuna-trials "${CLS_OPTUNA_TRIALS}" \
  --optuna-study "classification_hpo" \
  --optuna-storage "sqlite:///${CLS_OPTUNA_DB}" ${CLS_EXTRA:-}
"""

SAMPLES = {  # the study's Delphes file names → (events, seed, signal PID, m_a in GeV)
    "delphes_output_HZA_mA0.50GeV.root": (120, 21, 36, 0.5),
    "delphes_output_HZA_mA1.00GeV.root": (120, 22, 36, 1.0),
    "delphes_output_HZA_mA2.00GeV.root": (120, 23, 36, 2.0),
    "delphes_output_Zjets_Zee.root": (160, 24, 0, 0.0),
}


def test_run_nntraining_sh_with_hzx_verbs(tmp_path):
    for name, (n, seed, pid, mass) in SAMPLES.items():
        write_delphes(tmp_path / "delphes" / name,
                      make_events(n, seed=seed, signal_pid=pid, signal_mass=mass or 2.0))
    script = tmp_path / "run_nntraining.sh"
    script.write_text(SCRIPT)
    env = dict(os.environ, REG_OPTUNA_TRIALS="1", CLS_OPTUNA_TRIALS="1", MPLBACKEND="Agg",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               # fewer epochs than the study's 50 keep the test short; everything else default
               REG_EXTRA="--epochs 4", CLS_EXTRA="--epochs 4")
    run = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for step in range(1, 8):
        assert f"[{step}/7]" in run.stdout
    print(run.stdout)

    base = tmp_path / "nn_training_input"
    # step 1: per-file HDF5, the merged file, the study's metadata files
    assert sorted(p.name for p in base.glob("jet_data_*.h5")) == sorted(
        [f"jet_data_{Path(n).stem}.h5" for n in SAMPLES] + ["jet_data_augmented.h5"])
    assert (base / "metadata.csv").exists()
    manifest = json.loads((base / "conversion_manifest.json").read_text())
    assert manifest["n_total_jets"] > 0
    with h5py.File(base / "jet_data_augmented.h5", "r") as h5:
        ids = set(h5["signal_class"][()].tolist())
        assert {8218112266906435903, 8824635442399589374} <= ids
        n_jets = len(h5["labels"])
        assert n_jets == manifest["n_total_jets"]
        pred = h5["regression_prediction"][()]
        assert pred.shape[0] == n_jets
        assert h5["ghost_track_vars_with_reg"].shape == (n_jets, 8)
        np.testing.assert_array_equal(h5["ghost_track_vars_with_reg"][:, :7],
                                      h5["ghost_track_vars"][()])
    # step 2 prints the study's summary of the merged file
    assert "jet_data.h5" in run.stdout
    # steps 3, 6: the plots the script asks for
    plots = tmp_path / "nn_plots"
    assert (plots / "regression_output_overlay.png").stat().st_size > 0
    assert (plots / "class_breakdown.png").exists()
    # steps 4, 7: runs, Optuna studies in the SQLite files the script names
    reg = tmp_path / "nn_training_output" / "regression"
    cls = tmp_path / "nn_training_output" / "classification"
    report = json.loads((reg / "report.json").read_text())
    assert report and (reg / "args.json").exists() and (reg / "best_model.pth").exists()
    metrics = json.loads((cls / "metrics.json").read_text())
    assert 0.0 <= metrics["test_auc"] <= 1.0 and "best_threshold" in metrics
    import optuna

    for db, study in ((reg / "optuna_regression.db", "regression_hpo"),
                      (cls / "optuna_classification.db", "classification_hpo")):
        loaded = optuna.load_study(study_name=study, storage=f"sqlite:///{db}")
        assert len(loaded.trials) == 1
