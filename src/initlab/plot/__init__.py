"""One figure style for every output: PDF + PNG, readable fonts, labelled axes.

Usage in a script::

    from initlab import plot
    fig, axes = plot.subplots(1, 2)
    ...
    job.save_figure("fig01", fig)
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Colour-blind safe palette (Okabe & Ito), cycled in this order.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "lines.linewidth": 1.6,
    "errorbar.capsize": 2,
    "pdf.fonttype": 42,
    "mathtext.fontset": "cm",
}

PANEL_WIDTH = 4.2   # inches per panel
PANEL_HEIGHT = 3.3


def apply_style() -> None:
    plt.rcParams.update(STYLE)


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` with the project style and a size that keeps fonts readable."""
    apply_style()
    kwargs.setdefault("figsize", (PANEL_WIDTH * ncols, PANEL_HEIGHT * nrows))
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)


def save_figure(fig, pdf_path: str | os.PathLike, png_path: str | os.PathLike) -> None:
    """Write the figure to both paths atomically (temporary file + rename), then close it."""
    for path, fmt in ((Path(pdf_path), "pdf"), (Path(png_path), "png")):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            fig.savefig(tmp, format=fmt, metadata=None if fmt == "png" else {"CreationDate": None})
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    plt.close(fig)
