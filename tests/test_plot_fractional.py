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
    assert len(left.lines) == 4  # markers + dashed per s
    assert len(right.lines) == 4  # one per s + the zero line
    exact, corollary = left.lines[0], left.lines[1]
    assert np.allclose(exact.get_ydata(), -2 * np.log(widths) + 0.5)
    # the dashed Corollary 4 is drawn above the hollow markers of the exact values, not hidden under them
    assert exact.get_linestyle() == "None" and exact.get_markerfacecolor() == "none"
    assert corollary.get_linestyle() == "--" and corollary.get_zorder() > exact.get_zorder()
    plot.plt.close(fig)


def test_fig03_from_table():
    rows = [dict(panel="vs_d", s=s, width=d, sigma_bar=1.0 / d) for s in (0.5, 1.0) for d in (1, 2, 4)]
    rows += [dict(panel="vs_s", s=s, width=d, sigma_bar=1.0 / (d * s)) for d in (2, 8) for s in (0.5, 1.0, 2.0)]
    fig = P.fig03(pd.DataFrame(rows))
    left, right = fig.axes
    assert [len(a.lines) for a in (left, right)] == [2, 2]
    assert right.lines[1].get_label() == "$d=8$"
    fig.canvas.draw()
    labels = [t.get_text() for t in right.get_yticklabels() if t.get_text()]
    assert labels and all("times" not in t and "^" not in t for t in labels)  # plain numbers: 0.2, 0.5, 1, ...
    assert [t.get_text() for t in left.yaxis.get_minorticklabels() if t.get_text()] == []
    plot.plt.close(fig)


def test_plain_log_ticks():
    fig, ax = plot.subplots(1, 1)
    ax.plot([0.12, 6.0], [0.12, 6.0])
    ax.set_yscale("log")
    P.plain_log_ticks(ax.yaxis)
    ax.set_ylim(0.12, 6.0)
    fig.canvas.draw()
    visible = [t.get_text() for t in ax.get_yticklabels() if 0.12 <= t.get_position()[1] <= 6.0]
    assert visible == ["0.2", "0.5", "1", "2", "5"]
    plot.plt.close(fig)


def distribution_results(rng):
    return {"Kaiming": dict(samples=rng.normal(0, 1, 1000), mean=0.0, var=1.0),
            "ours": dict(samples=rng.normal(0.5, 1, 1000), mean=0.5, var=1.0)}


def test_fig02_and_fig04():
    rng = np.random.default_rng(1)
    edges, grid = np.linspace(-4, 4, 21), np.linspace(-4, 4, 50)
    fig = P.fig02(distribution_results(rng), edges, grid, 64, 100, 1000, 2.5)
    assert len(fig.axes) == 2 and "k=100" in fig.axes[0].get_title() and "1000 networks" in fig._suptitle.get_text()
    plot.plt.close(fig)
    fig = P.fig04({1.0: (distribution_results(rng), edges, grid), 0.01: (distribution_results(rng), edges, grid)},
                  64, 100, 1000, 1.0)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4 and "linear" in titles[0] and "a=0.01" in titles[2]
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
