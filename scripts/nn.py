"""``hzx nn``: train the a-mass regression and the signal classifier, tune them with Optuna,
append the regressed mass to HDF5 files, inspect and plot features and regression outputs.

Each verb takes the command line of the study's script (github.com/philippgadow/pheno_h2zllahad,
``analysis/nn_training``) with the same flag names, meanings and defaults, and writes its
outputs (file names, JSON keys); hzx's own flags and files stay beside them:

    train-regression   train_regression_pytorch.py
    train-classifier   train_classification_pytorch.py
    apply              apply_regression_model.py
    plot-outputs       plot_regression_outputs.py
    plot-features      plot_features.py

Examples (run_nntraining.sh)::

    hzx nn plot-features --input-h5 nn_training_input/jet_data.h5 --output-dir nn_plots \
        --include-signal-masses "0.5,1.5,2.5,3.5"
    hzx nn train-regression --input-h5 nn_training_input/jet_data.h5 \
        --output-dir nn_training_output/regression --optuna-trials 40 \
        --optuna-study regression_hpo --optuna-storage sqlite:///nn_training_output/regression/optuna_regression.db
    hzx nn apply --input-h5 nn_training_input/jet_data.h5 \
        --output-h5 nn_training_input/jet_data_augmented.h5 \
        --regression-run-dir nn_training_output/regression --overwrite
    hzx nn plot-outputs --input-h5 nn_training_input/jet_data_augmented.h5 \
        --output nn_plots/regression_output_overlay.png --include-classes 8218112266906435903
    hzx nn train-classifier --input-h5 nn_training_input/jet_data_augmented.h5 \
        --output-dir nn_training_output/classification --features-key ghost_track_vars_with_reg
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hzx.scripts.flags import as_flags, flag_names

#: args.json keys of the study's scripts, in their order.
REGRESSION_ARGS = (
    "input_h5", "features_key", "targets_key", "class_key", "output_dir", "extra_eval_h5",
    "extra_eval_label", "batch_size", "epochs", "learning_rate", "hidden_sizes", "dropout",
    "no_batch_norm", "signal_accuracy_tolerance", "loss", "huber_delta", "standardize",
    "test_split", "val_split", "patience", "random_seed", "optuna_trials", "optuna_study",
    "optuna_storage", "optuna_direction", "optuna_timeout", "optuna_pruner",
)
CLASSIFIER_ARGS = (
    "input_h5", "output_dir", "features_key", "batch_size", "epochs", "learning_rate",
    "hidden_sizes", "dropout", "test_split", "patience", "random_state", "optuna_trials",
    "optuna_study", "optuna_storage", "optuna_direction", "optuna_timeout", "optuna_pruner",
)
#: hzx's own options recorded in args.json beside the study's.
HZX_ARGS = ("missing", "weight_decay", "batch_norm", "class_weight", "label_key", "class_key",
            "targets_key", "val_split", "standardize", "loss", "huber_delta", "extra_eval_h5",
            "extra_eval_label", "rejections", "signal_accuracy_tolerance", "device", "threads",
            "no_plots")

#: Parameter names the library gives in its errors → the flags of each verb.
_DATA_KEYS = ("input_h5", "features_key", "targets_key", "class_key", "batch_size", "device")
TRAIN_FLAGS = flag_names(
    *_DATA_KEYS, "label_key", "extra_eval_h5", "extra_eval_label", "test_split", "val_split",
    "missing", "standardize", "epochs", "hidden_sizes", "dropout", "learning_rate",
    "huber_delta", "signal_accuracy_tolerance", "patience", "weight_decay", "rejections",
    num_threads="--threads",
    **{"OptunaConfig.trials": "--optuna-trials", "OptunaConfig.study": "--optuna-study",
       "OptunaConfig.direction": "--optuna-direction",
       "OptunaConfig.timeout": "--optuna-timeout"})
APPLY_FLAGS = flag_names(*_DATA_KEYS, "scaler_path", "overwrite", prediction_key="--prediction-dataset",
                         output_key="--augmented-features-key")
PLOT_FLAGS = flag_names("input_h5", "features_key", "targets_key", "class_key", "bins",
                        "predictions_key", "is_signal_key", label_key="--is-signal-key",
                        value_range="--range", masses_GeV="--include-signal-masses",
                        exclude_masses_GeV="--exclude-signal-masses")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "nn", help="neural networks: a-mass regression, signal classifier, Optuna, apply, plots",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="nn_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    sub = verbs.add_parser("train-regression", help="train the a-mass regression "
                           "(train_regression_pytorch.py), optionally tuned with Optuna")
    _regression_arguments(sub)
    sub.set_defaults(func=as_flags(TRAIN_FLAGS)(_train), task="regression")
    sub = verbs.add_parser("train-classifier", help="train the signal/background classifier "
                           "(train_classification_pytorch.py), optionally tuned with Optuna")
    _classifier_arguments(sub)
    sub.set_defaults(func=as_flags(TRAIN_FLAGS)(_train), task="classification")

    sub = verbs.add_parser("apply", help="store the regressed mass as regression_prediction and "
                           "ghost_track_vars_with_reg (apply_regression_model.py)")
    sub.add_argument("--input-h5", required=True, help="source HDF5 file")
    sub.add_argument("--output-h5", help="destination HDF5 file: a copy of the input with the "
                     "new datasets (default: write into the input in place)")
    sub.add_argument("--regression-run-dir", "--model", dest="regression_run_dir",
                     default="nn_training_output/regression",
                     help="regression run directory holding model.pt (or model.pt itself; "
                     "default nn_training_output/regression)")
    sub.add_argument("--args-path", help="args.json of the training (default <run_dir>/args.json;"
                     " optional: model.pt holds the architecture)")
    sub.add_argument("--model-path", help="explicit model file (default <run_dir>/model.pt; a "
                     "best_model.pth is read through the model.pt beside it)")
    sub.add_argument("--scaler-path", help="explicit scaler.json (default: the preprocessing "
                     "stored in model.pt, the same as <run_dir>/scaler.json)")
    sub.add_argument("--features-key", help="input feature dataset (default: the model's "
                     "training key, ghost_track_vars for the study's defaults)")
    sub.add_argument("--prediction-dataset", default="regression_prediction",
                     help="dataset for the regressed mass alone (default regression_prediction)")
    sub.add_argument("--augmented-features-key", "--output-key", dest="augmented_features_key",
                     default="ghost_track_vars_with_reg",
                     help="dataset for features + regressed mass (default ghost_track_vars_with_reg)")
    sub.add_argument("--no-augment-features", action="store_true",
                     help="skip writing the augmented feature matrix")
    sub.add_argument("--batch-size", type=int, default=4096, help="jets per step (default 4096)")
    sub.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    sub.add_argument("--overwrite", action="store_true",
                     help="allow replacing existing datasets of the same name")
    sub.set_defaults(func=as_flags(APPLY_FLAGS)(_apply))

    sub = verbs.add_parser("plot-outputs", help="regression output per class, raw and "
                           "normalised (plot_regression_outputs.py)")
    sub.add_argument("--input-h5", required=True, help="HDF5 file with regression outputs")
    sub.add_argument("--predictions-key", default="regression_prediction")
    sub.add_argument("--is-signal-key", default="is_signal")
    sub.add_argument("--class-key", default="signal_class")
    sub.add_argument("--output", default="nn_plots/regression_output_overlay.png",
                     help="raw-count PNG (default nn_plots/regression_output_overlay.png)")
    sub.add_argument("--normalized-output", help="unit-area PNG (default: '_normalized' "
                     "appended to the --output stem)")
    sub.add_argument("--bins", type=int, default=80)
    sub.add_argument("--range", type=float, nargs=2, metavar=("MIN", "MAX"), dest="value_range",
                     help="histogram range in GeV (default: 0.5-99.5 %% percentiles)")
    sub.add_argument("--logy", action="store_true", help="log y axis (raw-count plot)")
    sub.add_argument("--include-classes", type=int, nargs="+", metavar="CLASS_ID",
                     help="only these signal class ids")
    sub.set_defaults(func=as_flags(PLOT_FLAGS)(_plot_outputs))

    sub = verbs.add_parser("inspect", help="datasets, classes and per-class feature statistics")
    sub.add_argument("--input-h5", required=True)
    sub.add_argument("--features-key", default="ghost_track_vars")
    sub.add_argument("--class-key", default="signal_class")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(func=as_flags(PLOT_FLAGS)(_inspect))

    sub = verbs.add_parser("plot-features", help="class breakdown, signal-vs-background feature "
                           "histograms, truth mass, per-class distributions (plot_features.py)")
    sub.add_argument("--input-h5", nargs="+", required=True)
    sub.add_argument("--features-key", default="ghost_track_vars")
    sub.add_argument("--targets-key", default="targets")
    sub.add_argument("--output-dir", required=True)
    sub.add_argument("--skip-signal-background", action="store_true",
                     help="skip the signal-vs-background histograms (feature_sb_*.png)")
    sub.add_argument("--skip-per-class", action="store_true",
                     help="skip the per-class feature histograms (feature_<name>.png)")
    sub.add_argument("--skip-mass", action="store_true", help="skip signal_mass_by_class.png")
    sub.add_argument("--create-pdf", action="store_true",
                     help="all PNGs of --output-dir in feature_plots_summary.pdf")
    sub.add_argument("--include-signal-masses", "--masses", dest="include_signal_masses",
                     nargs="+", metavar="GeV", help="signal masses to include, comma or space "
                     "separated (default: every class)")
    sub.add_argument("--exclude-signal-masses", default="8", metavar="GeV",
                     help="masses left out unless included (default 8, as the study; '' keeps all)")
    sub.add_argument("--class-key", default="signal_class")
    sub.add_argument("--is-signal-key", default="is_signal")
    sub.add_argument("--bins", type=int, default=50, help="bins of the per-class plots")
    sub.add_argument("--log", action="store_true", help="log y axis of the per-class plots")
    sub.add_argument("--no-background", action="store_true",
                     help="leave class −1 out of the per-class plots")
    sub.set_defaults(func=as_flags(PLOT_FLAGS)(_plot_features))


def _common_arguments(sub, task: str, train, data):
    """Flags both trainers share; defaults from the task's dataclasses."""
    d, t = data.__dataclass_fields__, train.__dataclass_fields__
    sub.add_argument("--batch-size", type=int, default=t["batch_size"].default)
    sub.add_argument("--epochs", type=int, default=t["epochs"].default, help="maximum epochs")
    sub.add_argument("--learning-rate", type=float, default=t["learning_rate"].default)
    sub.add_argument("--hidden-sizes", type=int, nargs="+", default=list(t["hidden_sizes"].default))
    sub.add_argument("--dropout", type=float, default=t["dropout"].default)
    sub.add_argument("--test-split", type=float, default=d["test_split"].default,
                     help="fraction of all jets in the test split")
    sub.add_argument("--patience", type=int, default=t["patience"].default,
                     help="early-stopping patience in epochs (0: off)")
    opt = sub.add_argument_group("Optuna")
    opt.add_argument("--optuna-trials", type=int, default=0, help="trials to run (0: no tuning)")
    opt.add_argument("--optuna-study", help=f"study name (default hzx_{task})")
    opt.add_argument("--optuna-storage", help="e.g. sqlite:///out/optuna.db (default: "
                     "optuna.db in --output-dir); an existing study is resumed")
    opt.add_argument("--optuna-direction", choices=("minimize", "maximize"),
                     default="minimize" if task == "regression" else "maximize",
                     help="regression: minimize the validation loss (default) / maximize val R²; "
                     "classifier: maximize val AUC (default) / minimize val loss")
    opt.add_argument("--optuna-timeout", type=float, help="seconds")
    opt.add_argument("--optuna-pruner", choices=("median", "none"), default="median")
    hzx = sub.add_argument_group("hzx options")
    hzx.add_argument("--missing", choices=("impute", "drop", "keep"), default=d["missing"].default,
                     help="undefined features (−999999, NaN): drop the jet (default, the "
                     "study), impute the training median, or keep every jet (NaN, inf set to the "
                     "sentinel)")
    hzx.add_argument("--weight-decay", type=float, default=t["weight_decay"].default)
    hzx.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    hzx.add_argument("--threads", type=int, help="CPU threads for torch")
    hzx.add_argument("--no-plots", action="store_true")
    return hzx


def _regression_arguments(sub) -> None:
    from hzx.nn.config import DataConfig, TrainConfig  # light: dataclasses only

    d, t = DataConfig.__dataclass_fields__, TrainConfig.__dataclass_fields__
    sub.add_argument("--input-h5", nargs="+", required=True, help="training HDF5 files")
    sub.add_argument("--features-key", default=d["features_key"].default)
    sub.add_argument("--targets-key", default=d["targets_key"].default)
    sub.add_argument("--class-key", default=d["class_key"].default)
    sub.add_argument("--output-dir", required=True, help="run directory (created)")
    sub.add_argument("--extra-eval-h5", nargs="+", default=None,
                     help="files evaluated after training only (e.g. Z+jets)")
    sub.add_argument("--extra-eval-label", nargs="+", default=["ZJets"],
                     help="label of the extra files (default ZJets), or one per file")
    sub.add_argument("--signal-accuracy-tolerance", type=float,
                     default=t["signal_accuracy_tolerance"].default,
                     help="GeV within which a signal prediction counts as correct")
    sub.add_argument("--loss", choices=("mse", "msle", "huber"), default=t["loss"].default)
    sub.add_argument("--huber-delta", type=float, default=t["huber_delta"].default,
                     help="Huber δ in GeV")
    sub.add_argument("--standardize", choices=("none", "standard", "robust"),
                     default=d["standardize"].default)
    sub.add_argument("--val-split", type=float, default=d["val_split"].default,
                     help="fraction of all jets in the validation split (0.2 and 0.2: 60/20/20)")
    sub.add_argument("--random-seed", "--seed", "--random-state", dest="random_seed", type=int,
                     default=t["seed"].default, help="seed of split, initialisation, batches")
    sub.add_argument("--batch-norm", dest="batch_norm", action=argparse.BooleanOptionalAction, default=t["batch_norm"].default,
                     help="batch normalisation after each hidden layer (--no-batch-norm: off)")
    _common_arguments(sub, "regression", TrainConfig, DataConfig)


def _classifier_arguments(sub) -> None:
    from hzx.nn.config import ClassifierConfig, ClassifierDataConfig

    d, t = ClassifierDataConfig.__dataclass_fields__, ClassifierConfig.__dataclass_fields__
    sub.add_argument("--input-h5", nargs="+", required=True, help="training HDF5 file(s)")
    sub.add_argument("--output-dir", required=True, help="run directory (created)")
    sub.add_argument("--features-key", default=d["features_key"].default)
    sub.add_argument("--random-state", "--seed", "--random-seed", dest="random_state", type=int,
                     default=t["seed"].default, help="seed of split, initialisation, batches")
    hzx = _common_arguments(sub, "classification", ClassifierConfig, ClassifierDataConfig)
    hzx.add_argument("--label-key", default=d["label_key"].default,
                     help="signal label dataset (> 0.5 is signal; default is_signal, falling "
                     "back to labels == 36, then to --class-key ≥ 0)")
    hzx.add_argument("--class-key", default=d["class_key"].default)
    hzx.add_argument("--targets-key", default=d["targets_key"].default)
    hzx.add_argument("--val-split", type=float, default=None,
                     help="fraction of all jets for validation (default: as --test-split)")
    hzx.add_argument("--standardize", choices=("none", "standard", "robust"),
                     default=d["standardize"].default, help="feature scaling (default none)")
    hzx.add_argument("--batch-norm", dest="batch_norm", action=argparse.BooleanOptionalAction,
                     default=t["batch_norm"].default)
    hzx.add_argument("--class-weight", choices=("balanced", "none"),
                     default=t["class_weight"].default)
    hzx.add_argument("--rejections", type=float, nargs="+", default=[10.0, 100.0, 1000.0],
                     help="background rejections 1/ε_B for the signal efficiency")
    hzx.add_argument("--extra-eval-h5", nargs="+", default=None,
                     help="files evaluated after training only")
    hzx.add_argument("--extra-eval-label", nargs="+", default=["ZJets"])


def _args_record(args) -> dict:
    """args.json: the study's keys (its order), then hzx's options."""
    values = dict(vars(args))
    values["no_batch_norm"] = not values.get("batch_norm", True)
    if args.task == "classification":
        names = CLASSIFIER_ARGS
        if len(args.input_h5) == 1:
            values["input_h5"] = args.input_h5[0]  # the study's classifier takes one file
    else:
        names = REGRESSION_ARGS
        if len(args.extra_eval_label) == 1:
            values["extra_eval_label"] = args.extra_eval_label[0]
    record = {k: values[k] for k in names}
    record.update({k: values[k] for k in HZX_ARGS if k in values and k not in record})
    record["hzx_verb"] = "nn train-regression" if args.task == "regression" else "nn train-classifier"
    return record


def _train(args) -> int:
    from hzx.nn.config import (
        ClassifierConfig,
        ClassifierDataConfig,
        DataConfig,
        OptunaConfig,
        TrainConfig,
    )
    from hzx.nn.study import write_args_json

    regression = args.task == "regression"
    seed = args.random_seed if regression else args.random_state
    data_options = dict(
        input_h5=tuple(args.input_h5), features_key=args.features_key,
        targets_key=args.targets_key, class_key=args.class_key, missing=args.missing,
        standardize=args.standardize, test_split=args.test_split,
        val_split=args.val_split if args.val_split is not None else args.test_split,
        extra_eval_h5=tuple(args.extra_eval_h5 or ()),
        extra_eval_label=tuple(args.extra_eval_label))
    options = dict(
        batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.learning_rate,
        hidden_sizes=tuple(args.hidden_sizes), dropout=args.dropout, batch_norm=args.batch_norm,
        weight_decay=args.weight_decay, patience=args.patience, seed=seed,
        device=args.device, num_threads=args.threads, plots=not args.no_plots)
    if regression:
        data = DataConfig(**data_options)
        config = TrainConfig(**options, loss=args.loss, huber_delta=args.huber_delta,
                             signal_accuracy_tolerance=args.signal_accuracy_tolerance)
    else:
        data = ClassifierDataConfig(**data_options, label_key=args.label_key or None)
        config = ClassifierConfig(**options, class_weight=args.class_weight)
    search = OptunaConfig(trials=args.optuna_trials, study=args.optuna_study,
                          storage=args.optuna_storage, direction=args.optuna_direction,
                          timeout=args.optuna_timeout, pruner=args.optuna_pruner)
    _check_folder(args.output_dir, "--output-dir")
    write_args_json(args.output_dir, _args_record(args))
    if search.trials:
        from hzx.nn.tuning import tune

        extra = {} if regression else {"rejections": tuple(args.rejections)}
        run = tune(args.task, data, config, search, args.output_dir, **extra)
    elif regression:
        from hzx.nn.regression import train_regression

        run = train_regression(data, config, args.output_dir)
    else:
        from hzx.nn.classification import train_classifier

        run = train_classifier(data, config, args.output_dir, rejections=tuple(args.rejections))
    m = run.metrics
    for line in _selection_lines(m, args.missing):
        print(line)
    if regression:
        print(f"R² = {m['r2']:.4f}, resolution = {m['resolution']:.4g} GeV, bias = {m['bias']:.4g} "
              f"GeV on {m['n_test_jets']} test jets ({m['device']})")
    else:
        print(f"test AUC = {m['auc']:.4f} on {m['n_jets']} jets; best S/√B = "
              f"{m['best_significance']:.4g} at threshold {m['best_threshold']:.2f} "
              f"(validation, {m['device']})")
    if "optuna" in m:
        o = m["optuna"]
        print(f"Optuna study '{o['study']}': {o['n_trials']} trials, best #{o['best_trial']} "
              f"({o['objective']} = {o['best_value']:.5g})")
    print(f"outputs in {run.output_dir}")
    return 0


def _check_folder(path: str, flag: str) -> None:
    """Before any work: ``path`` is a folder or can become one (not an existing file)."""
    from hzx.errors import ConfigurationError

    target = Path(path).expanduser()
    for parent in (target, *target.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ConfigurationError(f"{flag} {path}: {parent} is a file, not a folder")
            return


def _selection_lines(metrics: dict, missing: str) -> list[str]:
    """What the training left out or changed, as recorded in metrics.json ("selection")."""
    lines = []
    groups = [("training files", metrics["selection"])]
    groups += [(f"extra evaluation '{label}'", entry["selection"])
               for label, entry in metrics.get("extra_eval", {}).items() if "selection" in entry]
    for where, sel in groups:
        if sel.get("jets_without_target"):
            lines.append(f"{where}: skipped {sel['jets_without_target']} of "
                         f"{sel['jets_in_files']} jets without a truth mass (targets NaN: "
                         "unmatched)")
        if sel.get("jets_dropped_for_undefined_features"):
            lines.append(f"{where}: dropped {sel['jets_dropped_for_undefined_features']} of "
                         f"{sel['jets_read']} jets with an undefined feature (−999999, NaN) "
                         f"(--missing {missing}; impute or keep keeps them)")
        if sel.get("nonfinite_values_set_to_sentinel"):
            lines.append(f"{where}: kept every jet; {sel['nonfinite_values_set_to_sentinel']} "
                         f"NaN/inf feature values in {sel['jets_with_nonfinite_features']} jets "
                         "set to the sentinel −999999 (--missing keep)")
    return lines


def _apply(args) -> int:
    from hzx.errors import InputFileError
    from hzx.nn.apply import apply_regression

    run_dir = Path(args.regression_run_dir)
    model = Path(args.model_path) if args.model_path else run_dir
    if model.suffix == ".pth" and (model.parent / "model.pt").is_file():
        model = model.parent / "model.pt"
    if args.args_path and not Path(args.args_path).is_file():
        raise InputFileError(args.args_path, "training args file does not exist (--args-path)")
    summary = apply_regression(
        model, args.input_h5, args.output_h5, overwrite=args.overwrite,
        features_key=args.features_key,
        output_key=None if args.no_augment_features else args.augmented_features_key,
        prediction_key=args.prediction_dataset, scaler_path=args.scaler_path,
        batch_size=args.batch_size, device=args.device)
    written = ", ".join(k for k in (summary["prediction_key"], summary["output_key"]) if k)
    print(f"wrote {written} ({summary['shape'][0]} jets) to {summary['output_h5']} "
          f"({summary['jets_per_second']:.3g} jets/s; {summary['jets_with_sentinel_mass']} jets "
          "with sentinel mass)")
    return 0


def _plot_outputs(args) -> int:
    from hzx.nn.outputs import plot_regression_outputs
    from hzx.scripts.common import check_output_path

    check_output_path(args.output, "--output")  # before reading anything
    if args.normalized_output:
        check_output_path(args.normalized_output, "--normalized-output")

    summary = plot_regression_outputs(
        args.input_h5, args.output, normalized_output=args.normalized_output,
        predictions_key=args.predictions_key, is_signal_key=args.is_signal_key,
        class_key=args.class_key, bins=args.bins, value_range=args.value_range, logy=args.logy,
        include_classes=args.include_classes)
    if summary["missing_classes"]:
        print("warning: requested signal class ids not present in the input file: "
              + ", ".join(map(str, summary["missing_classes"])))
    print(f"wrote {summary['output']} and {summary['normalized_output']}")
    return 0


def _inspect(args) -> int:
    from hzx.nn.features import feature_summary, format_inspection

    summary = feature_summary(args.input_h5, args.features_key, args.class_key)
    print(json.dumps(summary, indent=2) if args.json else format_inspection(summary))
    return 0


def _plot_features(args) -> int:
    from hzx.nn.features import parse_masses, plot_features

    _check_folder(args.output_dir, "--output-dir")

    written = plot_features(
        args.input_h5, args.output_dir, features_key=args.features_key,
        class_key=args.class_key, targets_key=args.targets_key, label_key=args.is_signal_key,
        masses_GeV=args.include_signal_masses, bins=args.bins, log=args.log,
        include_background=not args.no_background,
        exclude_masses_GeV=parse_masses(args.exclude_signal_masses, "exclude_masses_GeV") or (),
        skip_signal_background=args.skip_signal_background, skip_per_class=args.skip_per_class,
        skip_mass=args.skip_mass, create_pdf=args.create_pdf)
    print(f"wrote {len(written)} files to {args.output_dir}")
    return 0
