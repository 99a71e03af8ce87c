"""Entry point of the ``hzx`` command line.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (called with the parsed arguments, returning an exit code). Verb
modules import heavy libraries inside their functions so that ``hzx --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hzx import __version__
from hzx.errors import HzxError

# Order is the order of `hzx --help`.
VERB_MODULES = ("samples", "run", "plot", "fit", "generate", "h5", "nn", "cluster", "inspect", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hzx",
        description="Columnar Higgs analyses with coffea and Dask.",
    )
    parser.add_argument("--version", action="version", version=f"hzx {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"hzx.scripts.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"hzx.scripts.{name}":
                continue  # verb not part of this installation
            raise
        module.register(subparsers)
    return parser


def _files_only_backend() -> None:
    """The command line writes figures to files and never opens a window: Agg (library code
    leaves the backend to its caller)."""
    import matplotlib

    matplotlib.use("Agg")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the command as typed (for messages such as the --resume command after Ctrl-C)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.verb is None else 2
    _files_only_backend()
    try:
        return int(args.func(args) or 0)
    except HzxError as err:
        print(f"hzx {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`hzx h5 inspect FILE | head`): stop quietly like other Unix tools
        _silence_stdout()
        return 141
    except KeyboardInterrupt as err:
        # one line, then exit 130 (128 + SIGINT); no tracebacks of workers shutting down
        _quiet_shutdown()
        message = str(err) if str(err) else "interrupted"
        print(f"hzx {args.verb}: {message}", file=sys.stderr, flush=True)
        return 130


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the final flush raises nothing."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _quiet_shutdown() -> None:
    """After Ctrl-C: silence the Dask loggers whose workers and comms are being torn down."""
    import logging

    for name in ("distributed", "dask_jobqueue", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
