"""Shared figure helpers: mplhep styles, PNG + PDF output."""

from __future__ import annotations

from pathlib import Path


def setup(style: str = "ATLAS"):
    """Select an mplhep style; return ``matplotlib.pyplot`` (the backend is the caller's choice:
    the CLI selects Agg, library code never calls ``matplotlib.use``)."""
    import matplotlib.pyplot as plt
    import mplhep

    mplhep.style.use(style)
    return plt


def save(fig, outdir: str | Path, name: str, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``outdir/name.<fmt>`` for each format, close it, return the paths."""
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = outdir / f"{name}.{fmt}"
        fig.savefig(path, dpi=120 if fmt == "png" else None, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
