"""initlab.plot.fractional: Figures 1, 3 from their tidy tables and the pdf/cdf rows of Figures 2, 4."""

import numpy as np
import pandas as pd

from initlab import plot
from initlab.plot import fractional as P


def test_fig01_from_table():
    widths = np.array([2, 20, 200])
    rows = [dict(panel="left", s=s, width=int(d), x=np.log(d), y=-2 * np.log(d) + s, y_corollary4=-2 * np.log(d))
            for s in (0.5, 1.0) for d in widths]
    rows += [dict(panel="right", s=s, width=64, x=a, y=a - s, y_corollary4=np.nan) for s in (0.5, 1.0, 2.0)
             for a in (0.1, 1.0, 3.0)]
    fig = P.fig01(pd.DataFrame(rows), 64, 500)
    left, right = fig.axes
    assert len(left.lines) == 4  # solid + dashed per s
    assert len(right.lines) == 4  # one per s + the zero line
    assert np.allclose(left.lines[0].get_ydata(), -2 * np.log(widths) + 0.5)
    plot.plt.close(fig)


def test_fig03_from_table():
    rows = [dict(panel="vs_d", s=s, width=d, sigma_bar=1.0 / d) for s in (0.5, 1.0) for d in (1, 2, 4)]
    rows += [dict(panel="vs_s", s=s, width=d, sigma_bar=1.0 / (d * s)) for d in (2, 8) for s in (0.5, 1.0, 2.0)]
    fig = P.fig03(pd.DataFrame(rows))
    left, right = fig.axes
    assert [len(a.lines) for a in (left, right)] == [2, 2]
    assert right.lines[1].get_label() == "$d=8$"
    plot.plt.close(fig)


def test_distribution_row():
    rng = np.random.default_rng(0)
    results = {"Kaiming": dict(samples=rng.normal(0, 1, 1000), mean=0.0, var=1.0),
               "ours": dict(samples=rng.normal(0.5, 1, 1000), mean=0.5, var=1.0)}
    fig, (ax_pdf, ax_cdf) = plot.subplots(1, 2)
    edges, grid = np.linspace(-4, 4, 21), np.linspace(-4, 4, 50)
    P.distribution_row(ax_pdf, ax_cdf, results, edges, grid, "Theorem 5", "pdf", "cdf", "f", "F")
    assert len(ax_pdf.patches) == 2 and len(ax_pdf.lines) == 2 and len(ax_cdf.lines) == 4
    ecdf_line = ax_cdf.lines[0].get_ydata()
    assert np.all(np.diff(ecdf_line) >= 0) and ecdf_line[-1] == 1.0
    assert ax_pdf.get_title() == "pdf" and ax_cdf.get_ylabel() == "F"
    plot.plt.close(fig)
