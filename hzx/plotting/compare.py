"""Compare a processor histogram with a reference histogram, with a ratio panel (PNG and PDF).

The study's ``compare_with_atlas``: the Delphes leading-muon pT against ATLAS truth. Here any 1D
histogram of any output can be compared with a reference read from

- a ROOT file: a TH1 (``reference_key`` names it; default: the first TH1 in the file), via uproot;
- a HEPData table (YAML or JSON export): first independent variable (bin edges ``low``/``high``)
  and first dependent variable (``value``, ``errors[0].symerror`` or ``asymerror``).

Both are normalised to unit area by default (shapes are compared; ``normalise=false`` keeps the
counts). The processor histogram is summed into the reference's bins when its edges are a
refinement of the reference edges; otherwise the binnings must be equal.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hzx.errors import ConfigurationError, InputFileError
from hzx.histograms import histogram_arrays
from hzx.plotting import style


def as_bool(value: Any) -> bool:
    """Plot options arrive as strings from ``--set``: read 'true'/'1'/'yes' as True."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def setup_matplotlib() -> Any:
    """The CMS mplhep style of the Delphes studies' figures; returns pyplot."""
    return style.setup("CMS")


def save_figure(fig: Any, outdir: str | Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` into ``outdir``; close the figure."""
    return style.save(fig, outdir, stem, dpi=100)


def outputs_list(output: Any) -> list[Any]:
    """One output or a list of outputs → list."""
    if isinstance(output, Sequence) and not isinstance(output, (str, bytes, Mapping)):
        return list(output)
    return [output]


def read_reference(path: str | Path, key: str | None = None) -> dict[str, Any]:
    """Reference histogram {edges, values, errors, label} from a ROOT TH1 or a HEPData table."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), "no such reference file")
    if path.suffix == ".root":
        import uproot

        with uproot.open(path) as f:
            names = [k for k, cls in f.classnames().items() if cls.startswith("TH1")]
            if key is None:
                if not names:
                    raise InputFileError(str(path), "has no TH1 histogram")
                key = names[0]
            try:
                th1 = f[key]
            except KeyError:
                raise InputFileError(str(path), f"has no histogram {key!r} (TH1s: "
                                     f"{', '.join(names) or 'none'})") from None
            values = np.asarray(th1.values(), dtype=float)
            errors = np.asarray(th1.errors(), dtype=float)
            edges = np.asarray(th1.axis().edges(), dtype=float)
            return {"edges": edges, "values": values, "errors": errors,
                    "label": key.split(";")[0]}
    text = path.read_text()
    if path.suffix == ".json":
        table = json.loads(text)
    else:
        import yaml

        table = yaml.safe_load(text)
    try:
        bins = table["independent_variables"][0]["values"]
        dep = table["dependent_variables"][0]
    except (KeyError, IndexError, TypeError):
        raise InputFileError(str(path), "not a HEPData table (independent_variables / "
                             "dependent_variables)") from None
    lows = [float(b["low"]) for b in bins]
    highs = [float(b["high"]) for b in bins]
    if not np.allclose(lows[1:], highs[:-1]):
        raise InputFileError(str(path), "HEPData bins are not contiguous")
    values, errors = [], []
    for v in dep["values"]:
        values.append(float(v["value"]))
        err = 0.0
        for e in v.get("errors", [])[:1]:
            if "symerror" in e:
                err = abs(float(str(e["symerror"]).rstrip("%")))
            elif "asymerror" in e:
                err = 0.5 * (abs(float(e["asymerror"]["plus"])) + abs(float(e["asymerror"]["minus"])))
        errors.append(err)
    label = dep.get("header", {}).get("name", path.stem) if isinstance(dep.get("header"), Mapping) \
        else path.stem
    return {"edges": np.array([*lows, highs[-1]]), "values": np.array(values),
            "errors": np.array(errors), "label": label}


def rebin_to(edges: np.ndarray, values: np.ndarray, variances: np.ndarray,
             target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum fine bins into ``target`` bins; ``target`` must be a subset of ``edges`` (1e-9 abs)."""
    positions = []
    for t in target:
        match = np.nonzero(np.isclose(edges, t, rtol=0, atol=1e-9))[0]
        if len(match) == 0:
            raise ConfigurationError(
                f"reference bin edge {t:g} is not an edge of the histogram's binning "
                f"({edges[0]:g}–{edges[-1]:g}, {len(edges) - 1} bins): choose a matching binning"
            )
        positions.append(int(match[0]))
    out_v = np.array([values[a:b].sum() for a, b in itertools.pairwise(positions)])
    out_w = np.array([variances[a:b].sum()
                      for a, b in itertools.pairwise(positions)])
    return out_v, out_w


def compare_arrays(h: Any, reference: dict[str, Any], normalise: bool = True) -> dict[str, np.ndarray]:
    """Histogram and reference on the reference's bins: values, errors and the ratio hist/ref."""
    if h.ndim != 1:
        h = h.project(h.axes[0].name)
    values, variances, edges = histogram_arrays(h)
    variances = values.copy() if variances is None else variances  # unweighted: Poisson
    values, variances = rebin_to(edges, values, variances, reference["edges"])
    ref_v = reference["values"].astype(float)
    ref_e = reference["errors"].astype(float)
    err = np.sqrt(variances)
    if normalise:
        widths = np.diff(reference["edges"])
        s1, s2 = (values * 1.0).sum(), ref_v.sum()
        if s1 > 0:
            values, err = values / s1 / widths, err / s1 / widths
        if s2 > 0:
            ref_v, ref_e = ref_v / s2 / widths, ref_e / s2 / widths
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref_v > 0, values / ref_v, np.nan)
        ratio_err = np.where(ref_v > 0, err / ref_v, np.nan)
    return {"edges": reference["edges"], "values": values, "errors": err, "ref_values": ref_v,
            "ref_errors": ref_e, "ratio": ratio, "ratio_errors": ratio_err}


def plot_output(output: Any, outdir: str | Path, *, reference: str | Path | None = None,
                histogram: str = "leading_muon_pt", dataset: str | None = None,
                reference_key: str | None = None, normalise: Any = True,
                label: str | None = None, **_: Any) -> list[Path]:
    """Plot ``histogram`` of every (or one) dataset against ``reference`` with a ratio panel."""
    if reference is None:
        raise ConfigurationError("the compare figures need a reference file (reference: a ROOT TH1 "
                                 "or HEPData table)")
    plt = setup_matplotlib()
    ref = read_reference(reference, reference_key)
    paths: list[Path] = []
    for out in outputs_list(output):
        names = [dataset] if dataset else list(out.datasets if hasattr(out, "datasets") else
                                               [k for k in out if not str(k).startswith("_")])
        for name in names:
            acc = out[name]
            if histogram not in acc:
                available = sorted(k for k, v in acc.items() if hasattr(v, "axes"))
                raise ConfigurationError(f"dataset {name!r} has no histogram {histogram!r}; "
                                         f"it has: {', '.join(available) or '(none)'}")
            c = compare_arrays(acc[histogram], ref, as_bool(normalise))
            fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 9),
                                              gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
            centres = 0.5 * (c["edges"][1:] + c["edges"][:-1])
            top.stairs(c["values"], c["edges"], label=label or name)
            top.errorbar(centres, c["ref_values"], yerr=c["ref_errors"], fmt="ko", ms=4,
                         label=ref["label"])
            top.set_ylabel("normalised" if as_bool(normalise) else "entries")
            top.legend()
            bottom.errorbar(centres, c["ratio"], yerr=c["ratio_errors"], fmt="o", ms=3)
            bottom.axhline(1.0, color="grey", ls="--")
            bottom.set_ylabel("ratio")
            bottom.set_ylim(0, 2)
            axis_label = acc[histogram].axes[0].label or histogram
            bottom.set_xlabel(axis_label)
            paths += save_figure(fig, outdir, f"compare_{name}_{histogram}")
    return paths
