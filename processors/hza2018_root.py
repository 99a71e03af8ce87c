"""SimpleAnalysis-style ROOT output of the HZa2018 processor (``hzx run hza2018 … --root FILE``).

What SimpleAnalysis writes for the study's analysis (``DefineAnalysis(HZa2018)``), run as
``simpleAnalysis -a HZa2018 <one sample's files>`` without ``-o``:

- ``HZa2018.root``: one ``TH1D`` per ``addHistogram(label, bins, low, high)``, at the top of the
  file (no sub-directory), object name = title = the label (``hist_jet1pt`` …), with ``Sumw2``;
  every ``fill`` uses the event weight (an ntuple only with ``-n``, not written here). There is no
  cutflow histogram.
- ``HZa2018.txt``: the regions as CSV, header ``SR,events,acceptance,err``, then ``All`` (every
  event: count, Σw, Σw²) and each ``addRegions`` region in order (``Inclusive``, ``SR``: count,
  Σw/Σw_All, √Σw²/Σw_All).
- With ``-o NAME`` SimpleAnalysis merges analyses into ``NAME.root``/``NAME.txt`` and prefixes
  every name with ``HZa2018__``; ``prefix="HZa2018__"`` reproduces that layout.

SimpleAnalysis runs once per input sample, so one file is written per dataset of the run
(:func:`root_paths`). Histogram contents, variances and flow bins are the processor's
``hist.Hist`` values exactly; ``fEntries`` is the number of fills, the ``fTsumw*`` statistics
are computed from bin centres (the exact fill values are not kept).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError

#: SimpleAnalysis's name of the study's analysis (``DefineAnalysis(HZa2018)`` in HZa_2018.cxx).
ANALYSIS_NAME = "HZa2018"
#: Regions of HZa_2018.cxx in ``addRegions`` order; SimpleAnalysis adds ``All`` first.
REGIONS = ("Inclusive", "SR")


def th1d(h: Any, name: str, entries: float | None = None) -> Any:
    """A 1D ``hist.Hist`` (regular axis, Weight or Double storage) as an uproot-writable TH1D.

    Name and title are ``name`` (SimpleAnalysis: ``TH1D(label, label, …)``, no axis titles).
    ``entries``: the number of fills (ROOT's fEntries); default the sum of the flow-inclusive
    contents, exact for unit weights.
    """
    import uproot

    if h.ndim != 1:
        raise ConfigurationError(f"histogram {name!r} has {h.ndim} axes; a TH1D needs one")
    axis = h.axes[0]
    edges = np.asarray(axis.edges, dtype=np.float64)
    values = np.asarray(h.values(flow=True), dtype=np.float64)
    variances = h.variances(flow=True)
    variances = values.copy() if variances is None else np.asarray(variances, dtype=np.float64)
    if len(values) != len(edges) + 1:
        raise ConfigurationError(f"histogram {name!r} has no under/overflow bins")
    uniform = np.allclose(np.diff(edges), edges[1] - edges[0], rtol=1e-12, atol=0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside, inside_var = values[1:-1], variances[1:-1]
    taxis = uproot.writing.identify.to_TAxis(
        fName="xaxis", fTitle="", fNbins=len(edges) - 1, fXmin=float(edges[0]),
        fXmax=float(edges[-1]), fXbins=np.array([], dtype=">f8") if uniform else edges)
    return uproot.writing.identify.to_TH1x(
        fName=name, fTitle=name, data=values.astype(">f8"),
        fEntries=float(values.sum() if entries is None else entries),
        fTsumw=float(inside.sum()), fTsumw2=float(inside_var.sum()),
        fTsumwx=float((inside * centres).sum()), fTsumwx2=float((inside * centres**2).sum()),
        fSumw2=variances.astype(">f8"), fXaxis=taxis)


def regions_table(cutflow: Mapping[str, Mapping[str, float]], regions: tuple[str, ...] = REGIONS,
                  prefix: str = "") -> str:
    """SimpleAnalysis's region file (``HZa2018.txt``) from an HZa2018 cutflow.

    ``All`` is every event read (the cutflow's ``Inclusive``, which accepts every event). Numbers
    as C++ streams print doubles (6 significant digits).
    """
    def num(x: float) -> str:
        return f"{x:.6g}"

    def sumw2(entry: Mapping[str, float]) -> float:
        return float(entry.get("sumw2", entry["raw"]))  # unit weights: Σw² = count

    missing = [r for r in ("Inclusive", *regions) if r not in cutflow]
    if missing:
        raise ConfigurationError(f"the cutflow has no region {', '.join(missing)}")
    every = cutflow["Inclusive"]
    total = float(every["weighted"])
    lines = ["SR,events,acceptance,err",
             f"{prefix}All,{int(every['raw'])},{num(total)},{num(sumw2(every))}"]
    for region in regions:
        entry = cutflow[region]
        acc = float(entry["weighted"]) / total if total else math.nan
        err = math.sqrt(sumw2(entry)) / total if total else math.nan
        lines.append(f"{prefix}{region},{int(entry['raw'])},{num(acc)},{num(err)}")
    return "\n".join(lines) + "\n"


def root_paths(path: str | Path, datasets: list[str]) -> dict[str, Path]:
    """Where each dataset's file goes: ``path`` itself for a single dataset; with several,
    ``path``'s folder / dataset / ``path``'s name (one SimpleAnalysis run per sample, each in its
    own folder); a ``{dataset}`` in ``path`` is replaced by the dataset name instead."""
    text = str(path)
    if not text.endswith(".root"):
        raise ConfigurationError(f"{text}: a SimpleAnalysis file name must end in .root")
    if "{dataset}" in text:
        return {ds: Path(text.replace("{dataset}", ds)) for ds in datasets}
    p = Path(text)
    if len(datasets) == 1:
        return {datasets[0]: p}
    return {ds: p.parent / ds / p.name for ds in datasets}


def dataset_objects(acc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The TH1Ds of one dataset's HZa2018 accumulator, keyed by their SimpleAnalysis names."""
    from hzx.processors.hza2018 import HISTOGRAMS

    entries = acc.get("entries") or {}
    missing = [n for n in HISTOGRAMS if n not in acc]
    if missing:
        raise ConfigurationError("not an HZa2018 output: no histogram " + ", ".join(missing))
    return {prefix + n: th1d(acc[n], prefix + n, entries.get(n)) for n in HISTOGRAMS}


def write_dataset(acc: Mapping[str, Any], path: str | Path, prefix: str = "") -> list[Path]:
    """Write one dataset's ``FILE.root`` (TH1Ds) and ``FILE.txt`` (regions); return both paths."""
    import uproot

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    objects = dataset_objects(acc, prefix)
    with uproot.recreate(path) as f:
        for name, th1 in objects.items():
            f[name] = th1
    text_path = path.with_suffix(".txt")
    text_path.write_text(regions_table(acc["cutflow"], prefix=prefix))
    return [path, text_path]


def write_output(output: Mapping[str, Any], path: str | Path, prefix: str = "") -> list[Path]:
    """Write every dataset of an HZa2018 output (:func:`root_paths` layout); return the paths."""
    datasets = [str(k) for k in output if not str(k).startswith("_")]
    if not datasets:
        raise ConfigurationError("the output has no dataset to write")
    paths: list[Path] = []
    for dataset, target in root_paths(path, datasets).items():
        paths += write_dataset(output[dataset], target, prefix)
    return paths
