"""Entry point of the ``hzx`` command line.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (called with the parsed arguments, returning an exit code). Verb
modules import heavy libraries inside their functions so that ``hzx --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from hzx import __version__
from hzx.errors import HzxError
from hzx.runner.loggers import DASK_LOGGERS

# Order is the order of `hzx --help`.
VERB_MODULES = ("samples", "run", "plot", "fit", "generate", "h5", "nn", "cluster", "inspect", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hzx",
        description="Columnar Higgs analyses with coffea and Dask.",
    )
    parser.add_argument("--version", action="version", version=f"hzx {__version__}")
    _add_verbosity(parser, "")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"hzx.scripts.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"hzx.scripts.{name}":
                continue  # verb not part of this installation
            raise
        module.register(subparsers)
    for verb_parser in subparsers.choices.values():  # `hzx run … -v` as well as `hzx -v run …`
        _add_verbosity(verb_parser, "_after_verb")
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, suffix: str) -> None:
    # the verb's parser writes its own names: argparse would let its defaults overwrite the
    # values given before the verb
    group = parser.add_argument_group("messages")
    group.add_argument("-v", "--verbose", action="count", default=0, dest=f"verbose{suffix}",
                       help="more messages: -v debug lines of hzx, -vv also of the libraries")
    group.add_argument("-q", "--quiet", action="count", default=0, dest=f"quiet{suffix}",
                       help="fewer messages: -q warnings and errors only, -qq errors only")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as :data:`logging.lastResort` does), so
    a redirected or captured stderr receives the messages."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_HANDLER = _StderrHandler()
_HANDLER.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))


def configure_logging(verbosity: int) -> None:
    """Messages of hzx's loggers on stderr, once per command: ``verbosity`` 0 shows INFO and up,
    1 DEBUG, 2 DEBUG of every library too; -1 WARNING, -2 ERROR. Library code only logs; this is
    the one place that decides what is shown."""
    level = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO}.get(
        max(verbosity, -2), logging.DEBUG)
    hzx_logger, root = logging.getLogger("hzx"), logging.getLogger()
    hzx_logger.setLevel(level)
    # one handler, on hzx's logger or (-vv) on the root logger, so each message shows once
    shown_by, other = (root, hzx_logger) if verbosity >= 2 else (hzx_logger, root)
    if _HANDLER in other.handlers:
        other.removeHandler(_HANDLER)
    if _HANDLER not in shown_by.handlers:
        shown_by.addHandler(_HANDLER)
    if verbosity >= 2:
        root.setLevel(logging.DEBUG)
        for name in DASK_LOGGERS:  # distributed has its own handler: let it say everything
            logging.getLogger(name).setLevel(logging.DEBUG)


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
    configure_logging(args.verbose + getattr(args, "verbose_after_verb", 0)
                      - args.quiet - getattr(args, "quiet_after_verb", 0))
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
    """After Ctrl-C: silence the Dask loggers whose workers and comms are being torn down (for
    the rest of this process: it is about to exit)."""
    for name in DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
