"""Les Houches Event files: check, classify (POWHEG-BOX or MadGraph) and rewrite the Higgs id.

Only the header and the event count are read here (quickly, before any work starts); Pythia
reads the events itself.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
from pathlib import Path

from hzx.errors import InputFileError


@dataclasses.dataclass(frozen=True)
class LHEInfo:
    """What an LHE file holds.

    Attributes
    ----------
    path : str
    generator : {"powheg", "madgraph"}
    events : int
        Number of ``<event>`` blocks.
    beam_energy_gev : float
        Energy of beam 1, GeV.
    has_higgs : bool
        Whether a Higgs (25 or 35) appears in the first events.
    xqcut_gev : float or None
        MadGraph's ``xqcut`` (MLM), GeV.
    ickkw : int or None
        MadGraph's matching switch: 0 none (or CKKW-L with a merging-scale cut), 1 MLM, 2 CKKW.
    ktdurham_gev, ptlund_gev : float or None
        MadGraph's CKKW-L merging-scale cuts (``ktdurham``, ``ptlund``; −1 or absent: none), GeV.
    """

    path: str
    generator: str
    events: int
    beam_energy_gev: float
    has_higgs: bool
    xqcut_gev: float | None
    ickkw: int | None
    ktdurham_gev: float | None = None
    ptlund_gev: float | None = None

    @property
    def merging(self) -> str:
        """How a MadGraph sample was made for merging: ``mlm`` (ickkw = 1), ``ckkw`` (ickkw = 2),
        ``ckkwl`` (ickkw = 0 with ktdurham or ptlund > 0) or ``none``."""
        if self.ickkw == 1:
            return "mlm"
        if self.ickkw == 2:
            return "ckkw"
        if (self.ktdurham_gev or 0) > 0 or (self.ptlund_gev or 0) > 0:
            return "ckkwl"
        return "none"


def _open_text(path: Path):
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("rt", encoding="utf-8", errors="replace")


def inspect_lhe(path: str | Path) -> LHEInfo:
    """Check that ``path`` is a readable LHE file and classify it.

    Raises
    ------
    InputFileError
        Missing, unreadable, not LHE, no events, or from an unknown generator.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputFileError(str(p), "LHE file not found")
    try:
        with _open_text(p) as handle:
            text = handle.read()
    except (OSError, EOFError, UnicodeError) as err:
        raise InputFileError(str(p), f"unreadable LHE file ({type(err).__name__}: {err})") from err
    if "<LesHouchesEvents" not in text[:5000]:
        raise InputFileError(str(p), "not a Les Houches Event file (no <LesHouchesEvents> tag)")
    init = re.search(r"<init>\s*\n(.*?)\n", text, re.S)
    if init is None:
        raise InputFileError(str(p), "LHE file has no <init> block")
    try:
        fields = init.group(1).split()
        beam_energy = float(fields[2])
    except (IndexError, ValueError) as err:
        raise InputFileError(str(p), "malformed <init> block") from err
    n_events = text.count("<event")
    if n_events == 0:
        raise InputFileError(str(p), "LHE file has no events")
    header = text[: text.find("<init>")]
    lower = header.lower()
    if "madgraph" in lower or "mg5" in lower or "<mgruncard>" in lower:
        generator = "madgraph"
    elif "powheg" in lower:
        generator = "powheg"
    else:
        raise InputFileError(str(p), "cannot tell the generator (neither POWHEG-BOX nor MadGraph)")
    xqcut = ickkw = None
    m = re.search(r"^\s*([-+0-9.eE]+)\s*=\s*xqcut", header, re.M)
    if m:
        xqcut = float(m.group(1))
    m = re.search(r"^\s*(\d+)\s*=\s*ickkw", header, re.M)
    if m:
        ickkw = int(m.group(1))
    scales = {}
    for name in ("ktdurham", "ptlund"):
        m = re.search(rf"^\s*([-+0-9.eE]+)\s*=\s*{name}\b", header, re.M)
        scales[name] = float(m.group(1)) if m else None
    first = text[text.find("<event") : text.find("<event") + 20000]
    has_higgs = bool(re.search(r"^\s*(25|35)\s+\d+\s", first, re.M))
    return LHEInfo(str(p.resolve()), generator, n_events, beam_energy, has_higgs, xqcut, ickkw,
                   scales["ktdurham"], scales["ptlund"])


def rewrite_higgs_id(src: str | Path, dst: str | Path, old: int = 25, new: int = 35) -> Path:
    """Copy an LHE file, replacing the particle id ``old`` by ``new`` in event lines
    (the study's 25 → 35 rewrite of POWHEG gg → H events for H → Z a)."""
    src, dst = Path(src), Path(dst)
    pattern = re.compile(rf"^(\s*){old}(\s+-?\d+\s+)", re.M)
    with _open_text(src) as handle:
        text = handle.read()
    head, sep, body = text.partition("<event")
    dst.write_text(head + sep + pattern.sub(rf"\g<1>{new}\g<2>", body), encoding="utf-8")
    return dst
