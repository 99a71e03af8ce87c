"""``hzx nn``: train the a-mass regression and the signal classifier, tune them with Optuna,
append the regressed mass to HDF5 files, inspect and plot the features.

Examples::

    hzx nn train-regression --input-h5 HZA_mA1/jet_data.h5 --extra-eval-h5 ZJets/jet_data.h5 \\
        --extra-eval-label ZJets --output-dir out/regression --epochs 100
    hzx nn train-regression --input-h5 ... --output-dir out/reg_optuna --optuna-trials 40 \\
        --optuna-study hza_regression --optuna-storage sqlite:///out/reg_optuna/optuna.db
    hzx nn apply --model out/regression --input-h5 jet_data.h5 --output-h5 jet_data_reg.h5
    hzx nn train-classifier --input-h5 jet_data_reg.h5 --features-key ghost_track_vars_with_reg \\
        --output-dir out/classifier
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "nn", help="neural networks: a-mass regression, signal classifier, Optuna, apply",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="nn_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    for name, task in (("train-regression", "regression"), ("train-classifier", "classification")):
        sub = verbs.add_parser(name, help=f"train the {task} network (optionally tuned with Optuna)")
        _training_arguments(sub, task)
        sub.set_defaults(func=_train, task=task)

    sub = verbs.add_parser("apply", help="append the regressed mass as ghost_track_vars_with_reg")
    sub.add_argument("--model", required=True, help="model.pt of a regression run, or its directory")
    sub.add_argument("--input-h5", required=True, help="HDF5 file to extend")
    sub.add_argument("--output-h5", help="write a copy with the new dataset (default: in place, "
                     "needs --overwrite)")
    sub.add_argument("--overwrite", action="store_true",
                     help="allow in-place changes and replacing an existing file or dataset")
    sub.add_argument("--features-key", help="input dataset (default: the model's training key)")
    sub.add_argument("--output-key", default="ghost_track_vars_with_reg")
    sub.add_argument("--batch-size", type=int, default=65536, help="jets per step (default 65536)")
    sub.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    sub.set_defaults(func=_apply)

    sub = verbs.add_parser("inspect", help="datasets, classes and per-class feature statistics")
    sub.add_argument("--input-h5", required=True)
    sub.add_argument("--features-key", default="ghost_track_vars")
    sub.add_argument("--class-key", default="signal_class")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(func=_inspect)

    sub = verbs.add_parser("plot-features", help="per-class distributions of every feature (PNG)")
    sub.add_argument("--input-h5", nargs="+", required=True)
    sub.add_argument("--output-dir", required=True)
    sub.add_argument("--features-key", default="ghost_track_vars")
    sub.add_argument("--class-key", default="signal_class")
    sub.add_argument("--masses", type=float, nargs="+", metavar="GeV",
                     help="signal masses to overlay (default: every class)")
    sub.add_argument("--bins", type=int, default=50)
    sub.add_argument("--log", action="store_true", help="logarithmic y axis")
    sub.add_argument("--no-background", action="store_true", help="leave out class −1")
    sub.set_defaults(func=_plot_features)


def _training_arguments(sub, task: str) -> None:
    from hzx.nn.config import DataConfig, TrainConfig  # light: dataclasses only

    d, t = DataConfig.__dataclass_fields__, TrainConfig.__dataclass_fields__
    data = sub.add_argument_group("data")
    data.add_argument("--input-h5", nargs="+", required=True, help="training HDF5 files")
    data.add_argument("--output-dir", required=True, help="run directory (created)")
    data.add_argument("--features-key", default=d["features_key"].default)
    data.add_argument("--targets-key", default=d["targets_key"].default)
    data.add_argument("--class-key", default=d["class_key"].default)
    data.add_argument("--missing", choices=("impute", "drop", "keep"), default=d["missing"].default,
                      help="undefined features (−999999, NaN): impute the training median, drop "
                      "the jet, or keep the sentinel (default impute)")
    data.add_argument("--standardize", choices=("robust", "standard", "none"),
                      default=d["standardize"].default)
    data.add_argument("--test-split", type=float, default=d["test_split"].default)
    data.add_argument("--val-split", type=float, default=d["val_split"].default,
                      help="fraction of the non-test jets used for validation")
    data.add_argument("--extra-eval-h5", nargs="+", default=[],
                      help="files evaluated after training only (e.g. Z+jets)")
    data.add_argument("--extra-eval-label", nargs="+", default=[],
                      help="one label, or one per --extra-eval-h5 file")
    net = sub.add_argument_group("network and optimiser")
    net.add_argument("--batch-size", type=int, default=t["batch_size"].default)
    net.add_argument("--epochs", type=int, default=t["epochs"].default)
    net.add_argument("--learning-rate", type=float, default=t["learning_rate"].default)
    net.add_argument("--hidden-sizes", type=int, nargs="+", default=list(t["hidden_sizes"].default))
    net.add_argument("--dropout", type=float, default=t["dropout"].default)
    net.add_argument("--batch-norm", action=argparse.BooleanOptionalAction,
                     default=t["batch_norm"].default)
    net.add_argument("--weight-decay", type=float, default=t["weight_decay"].default)
    net.add_argument("--patience", type=int, default=t["patience"].default,
                     help="early-stopping patience in epochs (0: off)")
    if task == "regression":
        net.add_argument("--loss", choices=("huber", "mse", "msle"), default=t["loss"].default)
        net.add_argument("--huber-delta", type=float, default=t["huber_delta"].default,
                         help="Huber δ in GeV")
    else:
        net.add_argument("--class-weight", choices=("balanced", "none"),
                         default=t["class_weight"].default)
        net.add_argument("--rejections", type=float, nargs="+", default=[10.0, 100.0, 1000.0],
                         help="background rejections 1/ε_B for the signal efficiency")
    run = sub.add_argument_group("run")
    run.add_argument("--seed", type=int, default=t["seed"].default)
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    run.add_argument("--threads", type=int, help="CPU threads for torch")
    run.add_argument("--no-plots", action="store_true")
    opt = sub.add_argument_group("Optuna")
    opt.add_argument("--optuna-trials", type=int, default=0, help="trials to run (0: no tuning)")
    opt.add_argument("--optuna-study", help=f"study name (default hzx_{task})")
    opt.add_argument("--optuna-storage", help="e.g. sqlite:///out/optuna.db (default: "
                     "optuna.db in --output-dir); an existing study is resumed")
    opt.add_argument("--optuna-direction", choices=("minimize", "maximize"),
                     help="regression: minimize val MSE (default) / maximize val R²; "
                     "classifier: maximize val AUC (default) / minimize val loss")
    opt.add_argument("--optuna-timeout", type=float, help="seconds")
    opt.add_argument("--optuna-pruner", choices=("median", "none"), default="median")


def _train(args) -> int:
    from hzx.nn.config import DataConfig, OptunaConfig, TrainConfig

    data = DataConfig(
        input_h5=tuple(args.input_h5), features_key=args.features_key, targets_key=args.targets_key,
        class_key=args.class_key, missing=args.missing, standardize=args.standardize,
        test_split=args.test_split, val_split=args.val_split,
        extra_eval_h5=tuple(args.extra_eval_h5), extra_eval_label=tuple(args.extra_eval_label))
    options = dict(
        batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.learning_rate,
        hidden_sizes=tuple(args.hidden_sizes), dropout=args.dropout, batch_norm=args.batch_norm,
        weight_decay=args.weight_decay, patience=args.patience, seed=args.seed,
        device=args.device, num_threads=args.threads, plots=not args.no_plots)
    if args.task == "regression":
        options.update(loss=args.loss, huber_delta=args.huber_delta)
    else:
        options.update(class_weight=args.class_weight)
    config = TrainConfig(**options)
    search = OptunaConfig(trials=args.optuna_trials, study=args.optuna_study,
                          storage=args.optuna_storage, direction=args.optuna_direction,
                          timeout=args.optuna_timeout, pruner=args.optuna_pruner)
    if search.trials:
        from hzx.nn.tuning import tune

        run = tune(args.task, data, config, search, args.output_dir)
    elif args.task == "regression":
        from hzx.nn.regression import train_regression

        run = train_regression(data, config, args.output_dir)
    else:
        from hzx.nn.classification import train_classifier

        run = train_classifier(data, config, args.output_dir, rejections=tuple(args.rejections))
    m = run.metrics
    if args.task == "regression":
        print(f"R² = {m['r2']:.4f}, resolution = {m['resolution']:.4g} GeV, bias = {m['bias']:.4g} "
              f"GeV on {m['n_test_jets']} test jets ({m['device']})")
    else:
        print(f"AUC = {m['auc']:.4f} on {m['n_jets']} test jets ({m['device']})")
    if "optuna" in m:
        o = m["optuna"]
        print(f"Optuna study '{o['study']}': {o['n_trials']} trials, best #{o['best_trial']} "
              f"({o['objective']} = {o['best_value']:.5g})")
    print(f"outputs in {run.output_dir}")
    return 0


def _apply(args) -> int:
    from hzx.nn.apply import apply_regression

    summary = apply_regression(args.model, args.input_h5, args.output_h5, overwrite=args.overwrite,
                               features_key=args.features_key, output_key=args.output_key,
                               batch_size=args.batch_size, device=args.device)
    print(f"wrote {summary['output_key']} {tuple(summary['shape'])} to {summary['output_h5']} "
          f"({summary['jets_per_second']:.3g} jets/s; {summary['jets_with_sentinel_mass']} jets "
          "with sentinel mass)")
    return 0


def _inspect(args) -> int:
    from hzx.nn.features import format_inspection, inspect_h5

    summary = inspect_h5(args.input_h5, args.features_key, args.class_key)
    print(json.dumps(summary, indent=2) if args.json else format_inspection(summary))
    return 0


def _plot_features(args) -> int:
    from hzx.nn.features import plot_features

    written = plot_features(args.input_h5, args.output_dir, features_key=args.features_key,
                            class_key=args.class_key, masses_GeV=args.masses, bins=args.bins,
                            log=args.log, include_background=not args.no_background)
    print(f"wrote {len(written)} plots to {args.output_dir}")
    return 0
