"""Provenance records attached to every output: what made it, from what, how."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def jsonable(value: Any) -> Any:
    """Turn dataclasses, paths, sets and tuples into JSON-serialisable values."""
    return _jsonable(value)


def digest(value: Any) -> str:
    """SHA-256 of the canonical JSON form of ``value`` (dict keys sorted), as hex."""
    text = json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def git_revision(path: str | Path | None = None) -> str | None:
    """The git commit of the hzx checkout (with ``-dirty`` if modified), or None outside git."""
    where = Path(path) if path else Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}-dirty" if dirty else rev


def package_versions(names: tuple[str, ...] = (
    "coffea", "uproot", "awkward", "hist", "numpy", "dask", "distributed",
)) -> dict[str, str]:
    """Installed versions of the packages that shape a result."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def provenance(step: str, **details: Any) -> dict[str, Any]:
    """A provenance record for one step (``run``, ``fit``, ``generate`` …).

    ``details`` (configuration, inputs, seeds, executor …) are stored JSON-ready.
    """
    from hzx import __version__

    return {
        "step": step,
        "hzx_version": __version__,
        "git_revision": git_revision(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "host": platform.node(),
        "packages": package_versions(),
        **{k: _jsonable(v) for k, v in details.items()},
    }
