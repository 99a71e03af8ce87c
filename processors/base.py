"""The processor contract of hzx: :class:`HzxProcessor`, a coffea ``ProcessorABC`` with typed hooks.

Every analysis processor (``hzx run NAME``) subclasses :class:`HzxProcessor` and writes only its
physics: :meth:`~HzxProcessor.accumulator` (the empty per-dataset result) and
:meth:`~HzxProcessor.fill` (one chunk into it). The template :meth:`~HzxProcessor.process` does
the rest once for all of them: it builds the accumulator, fills the bookkeeping metadata
(:data:`METADATA_COUNTERS`) and returns ``{dataset: accumulator}`` as coffea's Runner expects.

The runner (:mod:`hzx.runner`) relies on the hooks, never on ``getattr`` probing:

- :meth:`required_branches` — branches every input file must have (checked before the run);
- :meth:`preload_branches` — branches every chunk reads whole (read in bulk);
- :meth:`validate_metadata` — raise before the run when a dataset's fileset metadata is unusable;
- :meth:`empty_output` — the result of a dataset that yielded no chunk (all files skipped);
- :attr:`checkpoint_key` — digest of class and options: checkpoints of another configuration
  never mix.

A dataset's role (``signal`` / ``background`` / ``data``) is resolved once, when the runner
normalises the fileset: the fileset metadata's ``role`` if given, else :meth:`infer_role` (the
4ℓ notebook's name rule for :class:`~hzx.processors.fourlep.FourLeptonProcessor`, none for
Delphes samples, whose roles come from the generation manifest or
:mod:`hzx.samples.identity`). It is stored in the fileset, reaches the processor in
``events.metadata["role"]``, and the runner writes it into the output's metadata after the run
(coffea's ``accumulate`` would concatenate a string chunk after chunk).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from coffea.processor import ProcessorABC

#: the roles a dataset can have
ROLES = ("signal", "background", "data")

#: Bookkeeping counters of every dataset's ``metadata`` (all mergeable by coffea's accumulate).
METADATA_COUNTERS = ("events_read", "chunks", "entries_by_file")


class HzxProcessor(ProcessorABC, abc.ABC):
    """A coffea processor configured by one frozen options dataclass.

    Subclasses set :attr:`options_class` and implement :meth:`accumulator` and :meth:`fill`;
    they may extend :meth:`required_branches` and :meth:`validate_metadata`.

    Parameters
    ----------
    options
        An instance of :attr:`options_class`; ``None`` takes its defaults (which reproduce the
        seeds). Stored in every output's provenance.
    """

    #: the frozen dataclass of this processor's options
    options_class: ClassVar[type]

    #: decompressed bytes of the branches it reads, at most, per automatic chunk
    #: (:func:`hzx.runner.auto_chunksize`); the runner's default when ``None``
    chunk_bytes: ClassVar[int | None] = None

    #: whether :meth:`fill` also takes a dask-awkward collection (written with
    #: :mod:`hzx.processors.backend`), so that ``backend="dask-awkward"`` can run it
    dask_awkward_ready: ClassVar[bool] = False

    def __init__(self, options: Any = None):
        if options is None:
            options = self.options_class()
        elif not isinstance(options, self.options_class):
            raise TypeError(f"{type(self).__name__} takes {self.options_class.__name__}, "
                            f"not {type(options).__name__}")
        self.options = options

    # -- hooks -------------------------------------------------------------------------------
    def required_branches(self) -> tuple[str, ...]:
        """Branches (tree paths) every input file must have; checked before any chunk runs."""
        return ()

    def preload_branches(self, role: str | None) -> tuple[str, ...]:
        """Branches that every chunk of a dataset of ``role`` reads whole: the runner has
        coffea preload them in one bulk read when it builds NanoEvents (``()``: every branch is
        read lazily, when first touched)."""
        return ()

    def validate_metadata(self, dataset: str, metadata: Mapping[str, Any]) -> None:
        """Raise :class:`~hzx.errors.HzxError` naming ``dataset`` if its metadata is unusable."""

    def infer_role(self, dataset: str) -> str | None:
        """The role of a dataset whose fileset metadata has none (``None``: unknown)."""
        return None

    @abc.abstractmethod
    def accumulator(self, dataset: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """The empty result of one dataset (histograms, cutflow, columns), without ``metadata``.

        Values must be mergeable by coffea's ``accumulate``: numbers, ``hist.Hist``, dicts, sets.
        """

    @abc.abstractmethod
    def fill(self, events: Any, out: dict[str, Any], metadata: Mapping[str, Any]) -> None:
        """Fill one chunk of ``events`` into ``out`` (from :meth:`accumulator`), in place.

        ``metadata`` is the chunk's ``events.metadata`` (dataset, filename, role, the fileset
        metadata such as ``xsec_pb``) as a plain dict.
        """

    # -- template ----------------------------------------------------------------------------
    def empty_output(self, dataset: str, metadata: Mapping[str, Any] | None = None
                     ) -> dict[str, Any]:
        """The accumulator with zeroed bookkeeping: a dataset none of whose chunks ran."""
        out = self.accumulator(dataset, dict(metadata or {}))
        out["metadata"] = {"events_read": 0, "chunks": 0, "entries_by_file": {}}
        return out

    def process(self, events: Any) -> dict[str, Any]:
        from hzx.processors import backend

        metadata = dict(events.metadata)
        dataset = metadata["dataset"]
        out = self.empty_output(dataset, metadata)
        if backend.is_dask(events):  # a dask-awkward collection: histograms fill lazily
            out = backend.lazy_histograms(out)
        self.fill(events, out, metadata)
        n = backend.count_events(events)
        out["metadata"].update(events_read=n, chunks=1,
                               entries_by_file={metadata["filename"]: n})
        return {dataset: out}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator

    @property
    def checkpoint_key(self) -> str:
        """Digest of class and options (20 hex digits); assignable, so that a subclass instance
        can share another configuration's checkpoints."""
        custom = self.__dict__.get("_checkpoint_key")
        if custom is not None:
            return custom
        from hzx.provenance import digest

        cls = type(self)
        return digest({"processor": f"{cls.__module__}.{cls.__qualname__}",
                       "options": self.options})[:20]

    @checkpoint_key.setter
    def checkpoint_key(self, value: str) -> None:
        self.__dict__["_checkpoint_key"] = str(value)
