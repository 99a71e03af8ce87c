"""Which library inflates the zlib-compressed baskets of the ROOT files hzx reads.

ATLAS Open Data's ``mini`` trees (and uproot's own default for writing) are ZLIB level 1, and
inflating them is most of the time of reading: ``zlib.decompress`` took 3.0 s of a 4.4 s read of
the 4ℓ processor's branches of 10 M events. Intel's ISA-L (the ``isal`` package, its
``isal_zlib``) inflates the same streams to the same bytes, checksums verified, in about two
thirds of the time; uproot can use it for reading, so hzx does wherever it is installed
(``RunOptions(inflate="auto")``; ``"zlib"`` keeps Python's). Other compressions (LZ4, ZSTD,
LZMA) are not affected.

uproot documents the choice as ``uproot.ZLIB.library``; in uproot 5.7 that attribute configures
``ZLIB`` compression objects, while baskets are inflated by the module's own decompressor
instance (``uproot.compression._decompress_ZLIB``), whose ``library`` attribute is what this
module sets. Where an uproot version has no such instance the choice has no effect and
:func:`active` says ``"zlib"``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
from collections.abc import Callable, Iterator
from typing import Any

from hzx.errors import ConfigurationError

#: accepted values of ``RunOptions.inflate``
CHOICES = ("auto", "isal", "zlib")


def _name_isal_error() -> None:
    """python-isal's ``IsalError`` says it lives in a module ``igzip_lib`` (its C extension's
    own name), which no import finds, so pickle cannot name the class: a Runner task or a
    dask-awkward graph that lists it among the errors to skip would not reach a worker. The
    module is ``isal.igzip_lib``; hzx registers it under that name too. Every hzx worker imports
    this module first (the worker plugin and the process-pool tasks below live here)."""
    try:
        from isal import igzip_lib
    except ImportError:  # pragma: no cover - isal is a dependency
        return
    sys.modules.setdefault("igzip_lib", igzip_lib)


_name_isal_error()


def resolve(choice: str) -> str:
    """``"isal"`` or ``"zlib"`` for a ``RunOptions.inflate`` value (``"auto"``: ISA-L where the
    ``isal`` package is installed)."""
    if choice not in CHOICES:
        raise ConfigurationError(f"unknown inflate library {choice!r}: choose one of "
                                 f"{', '.join(CHOICES)}")
    installed = importlib.util.find_spec("isal") is not None
    if choice == "isal" and not installed:
        raise ConfigurationError("inflate='isal' needs the isal package: pip install isal")
    if choice == "auto":
        return "isal" if installed else "zlib"
    return choice


def _decompressor() -> Any | None:
    import uproot.compression

    instance = getattr(uproot.compression, "_decompress_ZLIB", None)
    return instance if hasattr(instance, "library") else None


def active() -> str:
    """The library that inflates ZLIB baskets in this process now."""
    instance = _decompressor()
    return "zlib" if instance is None else str(instance.library)


def use(library: str) -> None:
    """Inflate ZLIB baskets with ``library`` (``"isal"`` or ``"zlib"``) in this process from now
    on (what a worker process does before its first chunk)."""
    instance = _decompressor()
    if instance is not None and instance.library != library:
        instance.library = library


@contextlib.contextmanager
def inflating_with(library: str) -> Iterator[None]:
    """Inflate with ``library`` inside the block, then as before (the client process: a
    notebook's other reads keep their settings)."""
    before = active()
    use(library)
    try:
        yield
    finally:
        use(before)


def _call(library: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    use(library)
    return function(*args, **kwargs)


def inflating(function: Callable[..., Any], library: str) -> Callable[..., Any]:
    """``function`` made to inflate with ``library`` in whichever process runs it (a picklable
    wrapper: Dask and process-pool workers set it before their chunk)."""
    return functools.partial(_call, library, function)


def _worker_plugin_class() -> type:
    from distributed.diagnostics.plugin import WorkerPlugin

    class InflatePlugin(WorkerPlugin):
        """Sets the inflate library on every worker of a Dask cluster, those that join later
        (adaptive and batch clusters) included."""

        def __init__(self, library: str):
            self.library = library

        def setup(self, worker: Any) -> None:
            use(self.library)

    return InflatePlugin


def use_on_workers(client: Any, library: str) -> None:
    """Inflate with ``library`` on the Dask cluster of ``client`` (a worker plugin, registered
    under one name: a later run with another choice replaces it)."""
    client.register_plugin(_worker_plugin_class()(library), name="hzx-inflate")
