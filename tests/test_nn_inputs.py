"""Data preparation: bad inputs name file and key; sentinels, splits, scalers, metrics."""

from __future__ import annotations

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("torch")

from hzx.errors import ConfigurationError, InputFileError  # noqa: E402
from hzx.nn.config import (  # noqa: E402
    SENTINEL,
    ClassifierConfig,
    ClassifierDataConfig,
    DataConfig,
    TrainConfig,
)
from hzx.nn.datasets import load_jets, select_defined, stratified_split  # noqa: E402
from hzx.nn.metrics import (  # noqa: E402
    mass_summary,
    r2_score,
    roc_auc,
    signal_efficiency_at_rejection,
)
from hzx.nn.pipeline import CLASSIFICATION, REGRESSION, prepare  # noqa: E402
from hzx.nn.scalers import Preprocessor  # noqa: E402
from hzx.nn.synthetic import synthetic_jets, write_synthetic_h5  # noqa: E402


def _write(path, **datasets):
    with h5py.File(path, "w") as h5:
        for key, value in datasets.items():
            h5[key] = value
    return path


def test_missing_key_names_file_and_key(tmp_path):
    jets = synthetic_jets(n_per_class=20, n_background=20)
    path = _write(tmp_path / "nokey.h5", ghost_track_vars=jets["ghost_track_vars"],
                  signal_class=jets["signal_class"])
    with pytest.raises(InputFileError, match=r"nokey\.h5.*'targets'") as err:
        prepare(DataConfig(input_h5=(path,)), REGRESSION, 0)
    assert err.value.path == str(path)
    with pytest.raises(InputFileError, match=r"nokey\.h5.*'jet_vars'"):
        load_jets([path], features_key="jet_vars")
    with pytest.raises(InputFileError, match=r"absent\.h5.*does not exist"):
        load_jets([tmp_path / "absent.h5"])


def test_single_class_is_refused_by_the_classifier(tmp_path):
    path = write_synthetic_h5(tmp_path / "only_signal.h5", n_per_class=50, n_background=0)
    with pytest.raises(InputFileError, match=r"only_signal\.h5.*'signal_class'.*only signal"):
        prepare(DataConfig(input_h5=(path,)), CLASSIFICATION, 0)
    bkg = write_synthetic_h5(tmp_path / "only_bkg.h5", n_per_class=0, masses_GeV=(), n_background=50)
    with pytest.raises(InputFileError, match=r"only_bkg\.h5.*'signal_class'.*only background"):
        prepare(DataConfig(input_h5=(bkg,)), CLASSIFICATION, 0)
    with pytest.raises(InputFileError, match=r"only_bkg\.h5.*'targets'.*no finite"):
        prepare(DataConfig(input_h5=(bkg,)), REGRESSION, 0)


def test_all_sentinel_features_are_refused(tmp_path):
    path = _write(tmp_path / "sentinel.h5",
                  ghost_track_vars=np.full((30, 7), SENTINEL, dtype=np.float32),
                  targets=np.ones(30, dtype=np.float32), signal_class=np.zeros(30, dtype=np.int64))
    with pytest.raises(InputFileError, match=r"sentinel\.h5.*'ghost_track_vars'.*sentinel"):
        load_jets([path])
    # One column undefined everywhere cannot be imputed: the error names the feature.
    feats = synthetic_jets(n_per_class=30, n_background=0, sentinel_fraction=0)["ghost_track_vars"]
    feats[:, 6] = SENTINEL
    col = _write(tmp_path / "tau2.h5", ghost_track_vars=feats,
                 targets=np.ones(len(feats), dtype=np.float32),
                 signal_class=np.zeros(len(feats), dtype=np.int64))
    with pytest.raises(ConfigurationError, match="tau2"):
        prepare(DataConfig(input_h5=(col,), missing="impute"), REGRESSION, 0)
    # The study's default drops every jet with an undefined feature: nothing is left here.
    with pytest.raises(InputFileError, match=r"tau2\.h5.*only 0 usable jets.*'drop'"):
        prepare(DataConfig(input_h5=(col,)), REGRESSION, 0)


def test_mismatched_feature_counts_between_files(tmp_path):
    good = write_synthetic_h5(tmp_path / "seven.h5", n_per_class=20, n_background=20)
    jets = synthetic_jets(n_per_class=20, n_background=20)
    bad = _write(tmp_path / "six.h5", ghost_track_vars=jets["ghost_track_vars"][:, :6],
                 targets=jets["targets"], signal_class=jets["signal_class"])
    with pytest.raises(InputFileError, match=r"six\.h5.*'ghost_track_vars' has 6 features.*seven\.h5.* 7"):
        load_jets([good, bad])
    short = _write(tmp_path / "short.h5", ghost_track_vars=jets["ghost_track_vars"],
                   targets=jets["targets"][:5], signal_class=jets["signal_class"])
    with pytest.raises(InputFileError, match=r"short\.h5.*'targets' has 5 entries"):
        load_jets([short])


def test_classes_are_matched_by_name_across_files(tmp_path):
    a = write_synthetic_h5(tmp_path / "a.h5", n_per_class=10, masses_GeV=(1.0,), n_background=5)
    b = write_synthetic_h5(tmp_path / "b.h5", n_per_class=10, masses_GeV=(4.0,), n_background=5)
    table = load_jets([a, b])
    assert table.class_names == {0: "HZA_mA1.00GeV", 1: "HZA_mA4.00GeV", -1: "background"}
    assert table.class_mass_GeV == {0: 1.0, 1: 4.0}
    assert np.bincount(table.signal_class[table.signal_class >= 0]).tolist() == [10, 10]


def test_missing_value_policies(tmp_path):
    path = write_synthetic_h5(tmp_path / "s.h5", n_per_class=100, n_background=0,
                              sentinel_fraction=0.2, seed=4)
    table = load_jets([path])
    undefined = (table.features <= -999998).any(axis=1)
    assert 0.1 < undefined.mean() < 0.3
    dropped, counts = select_defined(table, "drop")
    assert len(dropped) == len(table) - undefined.sum()
    assert counts["jets_dropped_for_undefined_features"] == undefined.sum()
    kept, _ = select_defined(table, "keep")
    assert len(kept) == len(table)
    pre = Preprocessor.fit(table.features, "robust", "impute", table.feature_names)
    x = pre.transform(table.features)
    assert np.isfinite(x).all() and np.abs(x).max() < 50
    # Imputed sentinels sit at the training median, i.e. at 0 after robust scaling.
    assert np.allclose(x[undefined, 6], 0.0, atol=1e-6)
    raw = Preprocessor.fit(table.features, "none", "keep", table.feature_names).transform(table.features)
    assert raw[undefined, 6].max() == pytest.approx(SENTINEL)


def test_scalers_are_fitted_on_given_rows_only():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(10000, 2))
    std = Preprocessor.fit(x, "standard", "impute", ["a", "b"])
    assert std.center == pytest.approx([5.0, 5.0], abs=0.1)
    assert std.scale == pytest.approx([2.0, 2.0], rel=0.05)
    rob = Preprocessor.fit(x, "robust", "impute", ["a", "b"])
    assert rob.scale == pytest.approx([2 * 0.6745 * 2.0] * 2, rel=0.05)  # IQR of a Gaussian
    assert Preprocessor.from_dict(rob.to_dict()) == rob


def test_stratified_split_is_reproducible_and_stratified():
    classes = np.r_[np.full(1000, -1), np.full(200, 0), np.full(50, 1)]
    train, val, test = stratified_split(classes, 0.2, 0.2, seed=11)
    again = stratified_split(classes, 0.2, 0.2, seed=11)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    assert not np.array_equal(test, stratified_split(classes, 0.2, 0.2, seed=12)[2])
    assert len(np.intersect1d(train, test)) == 0 and len(np.intersect1d(val, test)) == 0
    assert len(train) + len(val) + len(test) == len(classes)
    assert np.bincount(classes[test] + 1).tolist() == [200, 40, 10]
    # --val-split is a fraction of ALL jets, as in the study: 0.2 and 0.2 give 60/20/20.
    assert np.bincount(classes[val] + 1).tolist() == [200, 40, 10]
    assert np.bincount(classes[train] + 1).tolist() == [600, 120, 30]
    with pytest.raises(ConfigurationError, match="test_split \\+ val_split"):
        DataConfig(input_h5=("a.h5",), test_split=0.5, val_split=0.5)


def test_metrics_against_known_values():
    true = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(true, true) == 1.0
    assert r2_score(true, np.full(4, 2.5)) == 0.0
    summary = mass_summary(true, true * 1.1)
    assert summary["relative_bias"] == pytest.approx(0.1)
    assert summary["relative_resolution"] == pytest.approx(0.0, abs=1e-12)
    is_signal = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    assert roc_auc(is_signal, np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3])) == 1.0
    assert roc_auc(is_signal, np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7])) == 0.0
    assert roc_auc(is_signal, np.full(6, 0.5)) == 0.5
    # 2 of 3 signal scores above the best background one: ε_S = 2/3 at ε_B = 0.
    eff = signal_efficiency_at_rejection(is_signal, np.array([0.9, 0.8, 0.1, 0.75, 0.2, 0.3]), (10,))
    assert eff["R=10"]["signal_efficiency"] == pytest.approx(2 / 3)
    assert eff["R=10"]["background_efficiency"] == 0.0


def test_configuration_is_validated():
    with pytest.raises(ConfigurationError, match="loss"):
        TrainConfig(loss="l1")
    with pytest.raises(ConfigurationError, match="input_h5"):
        DataConfig()
    with pytest.raises(ConfigurationError, match="test_split"):
        DataConfig(input_h5=("a.h5",), test_split=1.2)
    # The argparse defaults of the study's train_regression_pytorch.py ...
    defaults = TrainConfig()
    assert (defaults.batch_size, defaults.epochs, defaults.learning_rate, defaults.hidden_sizes,
            defaults.dropout, defaults.loss, defaults.patience, defaults.seed,
            defaults.batch_norm, defaults.huber_delta, defaults.signal_accuracy_tolerance) == (
        100, 50, 1e-3, (50, 50, 50, 50, 50), 0.0, "msle", 10, 42, True, 1.0, 1.0)
    data = DataConfig(input_h5=("a.h5",))
    assert (data.test_split, data.val_split, data.standardize, data.missing, data.features_key,
            data.extra_eval_label) == (0.2, 0.2, "robust", "drop", "ghost_track_vars", ("ZJets",))
    # ... and of train_classification_pytorch.py.
    cls = ClassifierConfig()
    assert (cls.batch_size, cls.epochs, cls.learning_rate, cls.hidden_sizes, cls.dropout,
            cls.patience, cls.seed, cls.class_weight) == (128, 50, 1e-3, (64, 32, 16), 0.0, 10,
                                                          42, "none")
    cdata = ClassifierDataConfig(input_h5=("a.h5",))
    assert (cdata.features_key, cdata.label_key, cdata.standardize, cdata.test_split,
            cdata.val_split, cdata.missing) == ("ghost_track_vars_with_reg", "is_signal", "none",
                                                0.2, 0.2, "drop")
