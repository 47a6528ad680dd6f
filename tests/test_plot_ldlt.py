"""ldlt theory figures (initlab.plot.ldlt): +-1 s.d. whiskers never clipped on the log axis (a lower
end <= 0 is drawn to the axis floor with a marker), and the figures render from the job tables."""

import math

import numpy as np
import pandas as pd

from initlab.plot import ldlt as lp


def test_log_whiskers_keep_full_length_or_mark_open():
    lower, upper, below = lp.log_whiskers([1.0, 1.0, 1.0], [0.5, 1.0, 3.0])
    np.testing.assert_allclose(upper, [0.5, 1.0, 3.0])  # the upper whisker is the full s.d.
    np.testing.assert_allclose(lower, [0.5, 0.0, 0.0])  # never shortened to fit the log axis
    assert below.tolist() == [False, True, True]


def test_axis_floor_below_every_positive_value():
    assert lp.axis_floor([1e-3, -2.0, 5.0, np.nan]) == 1e-3 / 3
    assert lp.axis_floor([-1.0]) > 0


def series_frame():
    rows = []
    for n in (2, 5):
        for s2 in np.geomspace(1e-4, 1e-1, 5):
            for order in (1, 2):
                err = n * s2 ** (1 + order)
                rows.append({"n": n, "m": n, "sigma2": s2, "order": order, "samples": 100, "var_mc": n * s2,
                             "var_mc_stderr": 1e-5, "var_mc_sd": 1e-4, "var_series": n * s2 - err,
                             "abs_error": err, "series_radius_sigma2": 1 / (2 * math.sqrt(n)) ** 2})
    return pd.DataFrame(rows)


def test_series_error_figure_whiskers_reach_the_floor():
    fig = lp.series_error_figure(series_frame(), "fig01", 1.0, 1.0, "dense")
    ax = fig.axes[0]
    floor = ax.get_ylim()[0] * lp.FLOOR_MARGIN
    assert floor > 0
    markers = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert markers, "open lower whiskers are marked"
    for line in markers:
        np.testing.assert_allclose(line.get_ydata(), floor)
    assert "1 s.d." in fig._suptitle.get_text()


def test_variance_scaling_figure_renders():
    rows = []
    for n in (2, 8):
        for c in (0.1, 1.0, 10.0):
            rows.append({"scaling": "sqrt_n", "n": n, "m": n, "c": c, "sigma2": c * c / n, "samples": 10,
                         "var_mc": 0.4, "var_mc_stderr": 0.01, "series_order": 10, "var_series": 0.4,
                         "series_broken": c > 5, "var_mp_limit": 0.39, "var_mc_sd": 0.1})
    p = {"scaling": "sqrt_n", "alpha": 1.0, "gamma": 1.0, "series_order": 10, "paper_scale_kaiming": 1.0,
         "paper_var_kaiming": 0.41, "paper_scale_large": 10.0, "paper_var_large": 0.9}
    fig = lp.variance_scaling_figure(pd.DataFrame(rows), {2: 10.0, 8: math.nan}, "fig05", p)
    assert len(fig.axes) == 2
