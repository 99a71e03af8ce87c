"""Training columns on disk: one HDF5 file per processed chunk, written by the worker.

The track-observable processor (:mod:`hzx.processors.tracks`) with a ``columns_dir`` does not put
its padded per-jet arrays (50 tracks × 8 floats, 100 constituents × 6 floats … per jet) into the
accumulator: each worker writes its chunk's arrays to ::

    <columns_dir>/<dataset>/<file stem>-<sha1(file path)[:12]>/<entry start>-<entry stop>.h5

and the accumulator keeps only a small reference per chunk (:func:`write_chunk`'s return value:
dataset, file, entry range, role, sample mass, path, row count, size and SHA-256). The name is a
function of (dataset, input file, entry range) only, so a retried chunk or a chunk recomputed on
``--resume`` replaces its own file instead of adding one. A file is written under a temporary
name in the same folder and renamed when complete (``os.replace`` is atomic): a reader never sees
a half-written chunk. A chunk without jets has a reference but no file.

:func:`read_chunk` (used by :func:`hzx.nn.h5.write_h5`) checks size and SHA-256 and raises
:class:`ColumnFileError` (an :class:`~hzx.errors.InputFileError`, exit 2 at the command line)
naming the missing or corrupt file. The arrays read back are the processor's, same dtypes and row
order, so the merged ``jet_data.h5`` is the one the in-memory path gives, byte for byte.

Why HDF5: h5py is already a dependency (``jet_data.h5``), it keeps every dtype (bool masks,
float64 observables) exactly, and a chunk file can be opened with any HDF5 tool; each array is
stored with the shuffle filter and LZF (fast; the padding compresses ~10×).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import InputFileError

#: Arrays of a chunk, in file order (the processor's per-chunk column dict).
ARRAYS = ("entry", "jet_index", "jet_features", "ghost_track_vars", "track_features",
          "track_mask", "constituent_features", "constituent_mask", "labels", "targets")
#: Padded arrays whose row shape the merged file needs even for a chunk without jets.
SHAPED = ("track_features", "constituent_features")
LAYOUT = "hzx track columns v1"


class ColumnFileError(InputFileError):
    """A chunk file of the training columns is missing, truncated or altered."""


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80] or "_"


def chunk_relpath(dataset: str, file: str, entry_start: int, entry_stop: int) -> str:
    """The chunk file's path inside the columns folder (deterministic: no run-dependent part)."""
    tag = hashlib.sha1(str(file).encode("utf-8")).hexdigest()[:12]
    stem = _safe(Path(str(file)).name.rsplit(".", 1)[0])
    return f"{_safe(str(dataset))}/{stem}-{tag}/{int(entry_start)}-{int(entry_stop)}.h5"


def sha256_of(path: str | Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(block):
            digest.update(data)
    return digest.hexdigest()


def write_chunk(directory: str | Path, chunk: Mapping[str, Any]) -> dict[str, Any]:
    """Write one chunk's arrays (atomically) and return its reference for the accumulator.

    ``chunk`` holds :data:`ARRAYS` and ``dataset``, ``file``, ``entry_start``, ``entry_stop``,
    ``role``, ``sample_mass_GeV``. The reference holds everything but the arrays, plus ``path``
    (absolute), ``relpath`` (inside ``directory``), ``n_jets``, ``bytes``, ``sha256`` and
    ``shapes`` (row shapes of :data:`SHAPED`); ``path`` is ``None`` for a chunk without jets.
    """
    import h5py

    n = len(chunk["entry"])
    relpath = chunk_relpath(chunk["dataset"], chunk["file"], chunk["entry_start"],
                            chunk["entry_stop"])
    ref: dict[str, Any] = {k: chunk[k] for k in ("dataset", "file", "entry_start", "entry_stop",
                                                "role", "sample_mass_GeV")}
    ref["file"] = str(ref["file"])
    ref.update(n_jets=int(n), shapes={k: list(np.shape(chunk[k])[1:]) for k in SHAPED},
               path=None, relpath=None, bytes=0, sha256=None)
    if n == 0:
        return ref
    path = Path(directory).resolve() / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with h5py.File(tmp, "w", track_order=False) as h5:
            for name in ARRAYS:
                values = np.asarray(chunk[name])
                h5.create_dataset(name, data=values, shuffle=values.ndim > 0 and n > 1,
                                  compression="lzf" if values.size else None, track_times=False)
            h5.attrs["layout"] = LAYOUT
            for key in ("dataset", "file", "entry_start", "entry_stop"):
                h5.attrs[key] = ref[key]
        ref["bytes"] = tmp.stat().st_size
        ref["sha256"] = sha256_of(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    ref["path"] = str(path)
    ref["relpath"] = relpath
    return ref


def is_reference(chunk: Mapping[str, Any]) -> bool:
    """Whether ``chunk`` is a reference to a chunk file (else the arrays themselves)."""
    return "sha256" in chunk and "relpath" in chunk


def _describe(ref: Mapping[str, Any]) -> str:
    return (f"training columns of dataset {ref['dataset']!r}, {Path(str(ref['file'])).name} "
            f"entries {ref['entry_start']}-{ref['entry_stop']}")


def resolve(ref: Mapping[str, Any], base: str | Path | None = None) -> Path:
    """The chunk file: ``base/relpath`` when that exists (a moved ``OUT.coffea`` with its
    ``OUT.coffea.columns/``), else the recorded absolute path if that exists, else
    ``base/relpath`` (the path a missing file is reported under)."""
    recorded = Path(ref["path"])
    if base is not None and ref.get("relpath"):
        candidate = Path(base) / ref["relpath"]
        if candidate.is_file() or not recorded.is_file():
            return candidate
    return recorded


def check_present(ref: Mapping[str, Any], base: str | Path | None = None) -> Path | None:
    """The chunk's file, checked to exist with its recorded size (``None``: chunk without jets)."""
    if not ref.get("n_jets"):
        return None
    path = resolve(ref, base)
    if not path.is_file():
        raise ColumnFileError(str(path), f"missing chunk file ({_describe(ref)}); run the tracks "
                                         "processor again with the same output path to write it "
                                         "again")
    size = path.stat().st_size
    if size != ref["bytes"]:
        raise ColumnFileError(str(path), f"corrupt chunk file: {size} bytes, {ref['bytes']} "
                                         f"expected ({_describe(ref)}); rerun `hzx run tracks`")
    return path


def read_chunk(ref: Mapping[str, Any], base: str | Path | None = None) -> dict[str, Any]:
    """The arrays of a chunk file after checking its SHA-256 (and the reference's fields)."""
    import h5py

    out: dict[str, Any] = dict(ref)
    path = check_present(ref, base)
    if path is None:
        shapes = ref.get("shapes", {})
        for name in ARRAYS:
            out[name] = _EMPTY[name](shapes)
        return out
    digest = sha256_of(path)
    if digest != ref["sha256"]:
        raise ColumnFileError(str(path), f"corrupt chunk file: SHA-256 {digest[:12]}… differs "
                                         f"from the recorded {str(ref['sha256'])[:12]}… "
                                         f"({_describe(ref)}); rerun `hzx run tracks`")
    try:
        with h5py.File(path, "r") as h5:
            for name in ARRAYS:
                out[name] = h5[name][()]
    except (OSError, KeyError) as err:
        raise ColumnFileError(str(path), f"unreadable chunk file ({err}; {_describe(ref)})") \
            from err
    return out


_EMPTY = {
    "entry": lambda s: np.zeros(0, np.int64),
    "jet_index": lambda s: np.zeros(0, np.int32),
    "jet_features": lambda s: np.zeros((0, 6), np.float32),
    "ghost_track_vars": lambda s: np.zeros((0, 7), np.float64),
    "track_features": lambda s: np.zeros((0, *s.get("track_features", (50, 8))), np.float32),
    "track_mask": lambda s: np.zeros((0, *s.get("track_features", (50, 8))[:1]), bool),
    "constituent_features": lambda s: np.zeros((0, *s.get("constituent_features", (100, 6))),
                                               np.float32),
    "constituent_mask": lambda s: np.zeros((0, *s.get("constituent_features", (100, 6))[:1]),
                                           bool),
    "labels": lambda s: np.zeros(0, np.int32),
    "targets": lambda s: np.zeros(0, np.float64),
}

