"""Sample identity as the H → Z a study names it: signal samples, masses, class keys and ids.

The study's converter (``analysis/nn_training/convert_to_h5.py``) knows a sample only by its
file name. The rules, reproduced here (hzx's generated files are named so that they agree):

- the lower-cased file name contains ``hza`` → family ``HZA``; its pseudoscalar mass is the first
  ``ma<number>`` in the lower-cased name (``<number>`` = digits with an optional ``.digits``):
  ``delphes_output_HZA_mA1.00GeV.root`` → key ``HZA_mA1.00``, m_a = 1.0 GeV; no such match → key
  ``HZA`` and no sample mass;
- else it contains ``hzjpsi`` → ``HZJpsi`` (3.0969 GeV); else ``hzetac`` → ``HZetac`` (2.9839 GeV);
- anything else is not a signal sample (no class key).

A jet is signal when its truth label is in :data:`STUDY_SIGNAL_PIDS` (PID 36, the a, only) and it
has a finite truth mass. Its class key is ``<sample key>_PID<label>_m<mass:.3f>`` (the sample key
left out when the sample has none; the mass is the sample's, else the jet's truth mass), and its
class id :func:`deterministic_class_id` of that key: the first 8 bytes of the key's SHA-1 as a
signed big-endian integer, made non-negative. ``HZA_mA1.00_PID36_m1.000`` → 8218112266906435903.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Truth labels that make a jet signal in the study's converter (the a, PID 36).
STUDY_SIGNAL_PIDS: tuple[int, ...] = (36,)
#: Fixed masses (GeV) of the SM-resonance signal families.
FAMILY_MASSES_GEV = {"HZJpsi": 3.0969, "HZetac": 2.9839}
#: The truth PID of each signal family's resonance.
FAMILY_PIDS = {"HZA": 36, "HZJpsi": 443, "HZetac": 441}
#: Human-readable names of the signal families.
FAMILY_NAMES = {"HZJpsi": "HZ J/psi", "HZetac": "HZ eta_c"}
#: Fileset roles that never contain signal jets.
NON_SIGNAL_ROLES = ("background", "data")
ROLES = ("signal", "background", "data")

_MASS_IN_NAME = re.compile(r"ma(\d+(?:\.\d+)?)")


@dataclasses.dataclass(frozen=True)
class SampleInfo:
    """What the study's file-name rule says about one sample.

    Attributes
    ----------
    sample_name : str
        The base name the rule was applied to (with its extension, as the study keeps it).
    is_signal_sample : bool
        The name names a signal family.
    signal_family : str or None
        ``HZA``, ``HZJpsi``, ``HZetac``.
    signal_mass : float or None
        The resonance mass (GeV) the name gives (or the family's fixed mass).
    class_key, class_name : str or None
        The sample part of the class key (``HZA_mA1.00``) and its readable name.
    """

    sample_name: str
    is_signal_sample: bool = False
    signal_family: str | None = None
    signal_mass: float | None = None
    class_key: str | None = None
    class_name: str | None = None


def infer_sample_info(path_or_name: str) -> SampleInfo:
    """The study's file-name rule on the base name of ``path_or_name``."""
    base = os.path.basename(str(path_or_name))
    lower = base.lower()
    if "hza" in lower:
        found = _MASS_IN_NAME.search(lower)
        if found:
            text = found.group(1)
            return SampleInfo(base, True, "HZA", float(text), f"HZA_mA{text}",
                              f"HZA mA={text} GeV")
        return SampleInfo(base, True, "HZA", None, "HZA", "HZA")
    for token, family in (("hzjpsi", "HZJpsi"), ("hzetac", "HZetac")):
        if token in lower:
            return SampleInfo(base, True, family, FAMILY_MASSES_GEV[family], family,
                              FAMILY_NAMES[family])
    return SampleInfo(base, class_name=base)


def deterministic_class_id(key: str) -> int:
    """The study's class id of a class key: SHA-1 → first 8 bytes, signed big-endian, |value|."""
    value = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big", signed=True)
    return -value if value < 0 else value


def signal_class_key(sample_key: str | None, pid: int, mass_gev: float | None) -> str:
    """``<sample key>_PID<pid>_m<mass:.3f>``; parts without a value are left out."""
    parts = [sample_key] if sample_key else []
    parts.append(f"PID{int(pid)}")
    if mass_gev is not None and math.isfinite(mass_gev):
        parts.append(f"m{mass_gev:.3f}")
    return "_".join(parts)


def signal_class_name(info: SampleInfo, pid: int, mass_gev: float | None) -> str:
    """The study's readable class name, e.g. ``HZA mA=1.00 GeV (PID 36, m=1.000 GeV)``."""
    readable = info.class_name or info.sample_name
    if mass_gev is not None and math.isfinite(mass_gev):
        return f"{readable} (PID {int(pid)}, m={mass_gev:.3f} GeV)"
    return f"{readable} (PID {int(pid)})"


def mass_name_tag(m_a_gev: float) -> str:
    """The mass part of a generated H → Z a file name: ``mA1.00GeV`` (two decimals, as the study's
    Pythia driver writes it; more digits when two would change the value), so that
    :func:`infer_sample_info` reads back exactly ``m_a_gev``."""
    text = f"{m_a_gev:.2f}"
    if float(text) != float(m_a_gev):
        text = f"{m_a_gev:.6f}".rstrip("0")
    return f"mA{text}GeV"


@dataclasses.dataclass(frozen=True)
class RoleDecision:
    """A dataset's role and where it came from (``fileset``, ``file name`` or ``dataset name``)."""

    dataset: str
    role: str
    source: str
    info: SampleInfo

    @property
    def inferred(self) -> bool:
        return self.source != "fileset"

    def describe(self) -> str:
        if not self.inferred:
            return f"dataset {self.dataset!r}: role {self.role!r} (fileset)"
        why = (f"{self.info.sample_name!r} names signal family {self.info.signal_family}"
               if self.info.is_signal_sample else
               f"{self.info.sample_name!r} contains none of hza, hzjpsi, hzetac")
        return (f"dataset {self.dataset!r} has no role in its fileset: {self.role!r} inferred "
                f"from the {self.source} ({why})")


def sample_info_of(dataset: str, files: Iterable[str] = ()) -> SampleInfo:
    """Sample identity of a dataset: the study's rule on its first file name that names a signal
    family, else on the dataset name; else the (non-signal) identity of its first file."""
    files = [str(f) for f in files]
    for path in files:
        info = infer_sample_info(path)
        if info.is_signal_sample:
            return info
    by_name = infer_sample_info(dataset)
    if by_name.is_signal_sample or not files:
        return by_name
    return infer_sample_info(files[0])


def resolve_role(dataset: str, metadata: Mapping[str, Any] | None,
                 files: Iterable[str] = ()) -> RoleDecision:
    """The role of a dataset: the fileset's ``role`` when given, else inferred by the study's
    file-name rule (signal family in a file name or the dataset name → ``signal``, else
    ``background``). Callers report inferred roles (:meth:`RoleDecision.describe`)."""
    from hzx.errors import ConfigurationError

    files = list(files)
    info = sample_info_of(dataset, files)
    role = (metadata or {}).get("role")
    if role is not None:
        if role not in ROLES:
            raise ConfigurationError(
                f"dataset {dataset!r}: role {role!r} is not one of {', '.join(ROLES)}")
        return RoleDecision(dataset, str(role), "fileset", info)
    source = "file name" if any(infer_sample_info(f).is_signal_sample for f in files) or (
        files and not infer_sample_info(dataset).is_signal_sample) else "dataset name"
    return RoleDecision(dataset, "signal" if info.is_signal_sample else "background", source, info)
