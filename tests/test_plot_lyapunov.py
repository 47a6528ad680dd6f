"""Figures of the lyapunov theory outputs (initlab.plot.lyapunov): the tidy frames hold what the
figures draw, the CLT panel is standardised by the theory centre and an independent-half variance,
and every figure renders from its frame alone."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import special, stats

from initlab.nn.limit_theorems import LimitTheoremRun
from initlab.plot import lyapunov as P
from initlab.stats.clt import clt_split_test, split_halves
from initlab.theory import lyapunov_mc as mc


def _run(weights="gaussian", lam=-0.3, offset=0.0, n=600, depth=40, seed=0):
    rng = np.random.default_rng(seed)
    growth = np.c_[np.zeros(n), np.cumsum(rng.normal(lam, 1.0, (n, depth)), axis=1)]
    growth[:, 1:] += offset
    return LimitTheoremRun(weights=weights, slope=0.1, width=2, scale=1.0, lambda_theory=lam, log_growth=growth,
                           lambda_mc=float(growth[:, -1].mean() / depth), lambda_mc_stderr=0.01, clt_variance=1.0,
                           clt_skewness=0.0, clt_excess_kurtosis=0.0, ks_statistic=0.0, ks_pvalue=1.0)


def _frame(run):
    fit, test = split_halves(run.log_growth.shape[0], 1)
    t = clt_split_test(run.log_growth[:, -1], run.depth, run.depth * run.lambda_theory, fit, test)
    return P.fig01_frame(run, t), t


def test_fig01_frame_columns_and_panels():
    frame, t = _frame(_run())
    old = {"panel", "weights", "slope", "width", "x", "y_mc", "y_mc_stderr", "y_q10", "y_q90", "y_theory"}
    assert old <= set(frame.columns)  # columns are only ever added
    assert set(frame.panel) == {"lln", "clt", "offset"}
    clt = frame[frame.panel == "clt"]
    assert np.allclose(clt.y_theory, stats.norm.pdf(clt.x))
    assert clt.ks_p.iloc[0] == t["ks_p"] and clt.var_ratio.iloc[0] == t["var_ratio"]
    off = frame[frame.panel == "offset"]
    assert off.x.min() == 1 and (off.y_theory == 0).all()


def test_fig01_clt_panel_is_not_self_standardised():
    # a constant O(1) centring bias of 3 (in units where s sqrt(k) = sqrt(40) ~ 6.3) shifts the
    # histogram and shows in the offset panel; sample standardisation would have hidden it
    frame, t = _frame(_run(offset=3.0))
    clt = frame[frame.panel == "clt"]
    width = clt.x.iloc[1] - clt.x.iloc[0]
    centre = float(np.sum(clt.x * clt.y_mc) * width)
    assert centre == pytest.approx(3.0 / math.sqrt(40), abs=0.1)
    off = frame[frame.panel == "offset"]
    assert off.y_mc.iloc[-1] == pytest.approx(3.0, abs=0.3)


def test_fig01_renders():
    frame = pd.concat([_frame(_run("gaussian"))[0], _frame(_run("orthogonal", seed=1))[0]], ignore_index=True)
    fig = P.fig01(frame, 40, 600)
    assert len(fig.axes) == 6
    assert "s\\sqrt{k}" in fig.axes[4].get_xlabel()


def test_lln_fail_frame_and_figure():
    gen = torch.Generator().manual_seed(0)
    alive = np.stack([mc.relu_survival(d, 10, 300, gen) for d in (2, 3)])
    assert alive[:, 0].tolist() == [300, 300] and np.all(np.diff(alive, axis=1) <= 0)
    rates = mc.positive_entry_rates(2, 0.1, 0.0, 1.0, 30, 200, gen)
    assert rates.shape == (200, 3, 30)
    assert np.allclose(rates[:, 1] - rates[:, 0], math.log(0.1))
    frame = P.lln_fail_frame([2, 3], alive, 300, rates, mc.START_NAMES, 0.1, 2)
    assert {"panel", "width", "start", "k", "value", "stderr", "theory"} <= set(frame.columns)
    assert set(frame.panel) == {"relu_survival", "positive_final", "positive_mean_rate", "positive_paths"}
    fig = P.fig_lln_fail(frame, 0.1, 2)
    assert len(fig.axes) == 3
    # the Monte Carlo s.e. comes from the measured fractions and rates, not from the theory
    relu = frame[frame.panel == "relu_survival"]
    f = relu.value.to_numpy()
    np.testing.assert_allclose(relu.mc_stderr, np.sqrt(f * (1 - f) / 300))
    mean = frame[frame.panel == "positive_mean_rate"]
    np.testing.assert_allclose(mean.mc_stderr, mean.stderr)
    assert frame[frame.panel.isin(["positive_final", "positive_paths"])].mc_stderr.isna().all()
    # and is drawn: error bars in (a), a +-2 s.e. band around each mean in (b)
    assert len(fig.axes[0].containers) == 2
    assert len(fig.axes[1].collections) == 2


def test_lln_fail_error_bars_stay_on_the_log_axis():
    # one survivor of 100: the fraction minus 2 s.e. is negative; its bar ends at the axis bottom
    alive = np.array([[100, 50, 1, 0]])
    rates = np.zeros((4, 3, 5))
    frame = P.lln_fail_frame([2], alive, 100, rates, mc.START_NAMES, 0.1, 2)
    fig = P.fig_lln_fail(frame, 0.1, 2)
    ax = fig.axes[0]
    lo = ax.get_ylim()[0]
    assert 0 < lo < 0.01
    segments = ax.containers[0].lines[2][0].get_segments()
    assert min(seg[:, 1].min() for seg in segments) >= lo


def test_tanh_frame_and_figure():
    gen = torch.Generator().manual_seed(0)
    sigma_c, runs = mc.tanh_log_norms(3, 40, 300, [1.0, 2.0], gen)
    assert sigma_c == pytest.approx(math.exp(-0.5 * (math.log(2) + float(special.digamma(1.5)))))
    assert set(runs) == {"tanh, sigma=1 sigma_c", "tanh, sigma=2 sigma_c", "linear"}
    frame = P.tanh_frame(runs, sigma_c, 3, 40)
    columns = {"panel", "run", "sigma", "k", "var_over_k", "skewness", "value", "density", "multiple"}
    assert columns <= set(frame.columns)
    assert set(frame[frame.panel == "histogram"].run) == {"tanh, sigma=1 sigma_c", "linear"}
    fig = P.fig_tanh_clt(frame, 3, 300, sigma_c)
    assert len(fig.axes) == 3
    # the reference lines of (b) and (c) are in the shared legend, with the runs
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == len(runs) + 2
    assert any("CLT" in t and "skewness 0" in t for t in labels)
    assert any("1 - 2/" in t and "skewness" in t for t in labels)
    styles = {line.get_linestyle() for ax in fig.axes[1:] for line in ax.lines if line.get_color() == "k"}
    assert styles == {"--", ":"}  # one style per reference, the same in both panels
