"""The figure helpers of hzx: mplhep styles and file output, for every plotting module.

The backend is the caller's choice: the CLI selects Agg, library code never calls
``matplotlib.use`` (notebook users keep theirs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STYLES = ("ATLAS", "CMS")


def setup(style: str = "ATLAS") -> Any:
    """Select an mplhep style (``ATLAS`` for the 4ℓ and nn figures, ``CMS`` for the Delphes
    studies' figures); return ``matplotlib.pyplot``."""
    import matplotlib.pyplot as plt
    import mplhep

    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    plt.style.use(getattr(mplhep.style, style))
    return plt


def save_file(fig: Any, path: str | Path, *, dpi: int | None = 120, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` (the format from its suffix) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi if path.suffix != ".pdf" else None,
                bbox_inches="tight" if tight else None)
    plt.close(fig)
    return path


def save(fig: Any, outdir: str | Path, name: str, formats: tuple[str, ...] = ("png", "pdf"),
         *, dpi: int = 120) -> list[Path]:
    """Write ``fig`` as ``outdir/name.<fmt>`` for each format (PNG at ``dpi``), close it."""
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = outdir / f"{name}.{fmt}"
        fig.savefig(path, dpi=dpi if fmt == "png" else None, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
