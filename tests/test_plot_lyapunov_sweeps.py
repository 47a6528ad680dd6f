"""Figures of the lyapunov training experiments (initlab.plot.lyapunov_sweeps) on small synthetic
frames: one line / panel per method present, in paper order and fixed colours, the reference lines
labelled, absent tasks marked, and every figure renders to PNG."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from initlab import plot
from initlab.plot import lyapunov_sweeps as ls
from initlab.sweeps.lyapunov import METHODS, PAPER_NAMES

SOME = ["sampled_lyapunov_orthogonal", "glorot", "lyapunov_gaussian"]  # out of order on purpose
PAPER_LABELS = set(PAPER_NAMES.values())
P_MNIST = {"width": 10, "hidden_layers": 98, "epochs": 5}  # 100 weight maps, as the config
P_POLY = {"zero_signal_loss": 2.5, "smoothing_window": 50}
P_SCORE = {"zero_signal_loss": 1.7, "short_window": 10, "long_window": 100}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def mnist_curves(methods, runs=5, epochs=4):
    rows = []
    for i, m in enumerate(methods):
        for e in range(epochs + 1):
            acc = 0.1 + (0.8 - 0.05 * i) * (1 - np.exp(-e))
            rows.append({"method": m, "epoch": e, "mean_test_accuracy": acc,
                         "stderr": np.nan if runs == 1 else 0.02, "runs": runs})
    return pd.DataFrame(rows)


def mnist_final(methods, runs=20, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for m in methods:
        for r in range(runs):
            acc = float(np.clip(rng.normal(0.85, 0.05), 0, 1)) if r % 7 else 0.098
            rows.append({"method": m, "run": r, "seed": 100 + r, "test_accuracy": acc, "alive": bool(r % 7),
                         "init_norm_ratio": 1.0})
    return pd.DataFrame(rows)


def loss_curves(methods, steps, runs=8, k_best=3):
    rows = []
    for i, m in enumerate(methods):
        for s in steps:
            rows.append({"method": m, "combo": i, "step": s, "best_of_k_median": 5 * np.exp(-s / 300) + 0.01 * (i + 1),
                         "k_best": min(k_best, runs), "runs": runs})
    return pd.DataFrame(rows)


def poly_final(methods, runs=30, seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for m in methods:
        for r in range(runs):
            loss = float(10 ** rng.uniform(-2, 1)) if r % 10 else np.inf
            rows.append({"method": m, "run": r, "seed": 100 + r, "final_loss": loss, "alive": bool(np.isfinite(loss))})
    return pd.DataFrame(rows)


def profile_frame(tasks, methods, ks=(1, 2, 3, 5)):
    return pd.DataFrame([{"task": t, "method": m, "k": k, "best_of_k_mean": 1.0 / k + 0.1 * i}
                         for t in tasks for i, m in enumerate(methods) for k in ks])


def method_lines(ax):
    return [line for line in ax.get_lines() if line.get_label() in PAPER_LABELS]


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def save(fig, tmp_path, name):
    assert isinstance(fig, Figure)
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
    plt.close(fig)


def expected_order(methods):
    return [PAPER_NAMES[m] for m in METHODS if m in methods]


def test_colours_fixed_and_distinct():
    colours = [ls.method_colour(m) for m in METHODS]
    assert len(set(colours)) == len(METHODS)
    assert colours == list(plot.PALETTE[:len(METHODS)])
    assert ls.method_style("sampled_lyapunov_gaussian")["ls"] == ls.method_style("glorot")["ls"] == "-"
    assert ls.method_style("sampled_lyapunov_gaussian")["lw"] > ls.method_style("lyapunov_gaussian")["lw"]


def test_colours_extend_short_palette(monkeypatch):
    monkeypatch.setattr(plot, "PALETTE", plot.PALETTE[:3])
    colours = [ls.method_colour(m) for m in METHODS]
    assert colours[:3] == list(plot.PALETTE) and len(set(colours)) == len(METHODS)


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="unknown method"):
        ls.lyapunov_fig03(mnist_curves(["glorot", "bogus"]), P_MNIST)


@pytest.mark.parametrize("methods, runs", [(list(METHODS), 5), (SOME, 5), (["he"], 1)])
def test_fig03(methods, runs, tmp_path):
    fig = ls.lyapunov_fig03(mnist_curves(methods, runs=runs), P_MNIST)
    ax = fig.axes[0]
    lines = method_lines(ax)
    assert [line.get_label() for line in lines] == expected_order(methods)
    for line, m in zip(lines, [m for m in METHODS if m in methods]):
        assert to_hex(line.get_color()) == to_hex(ls.method_colour(m)) and line.get_linestyle() == "-"
    assert max(lines[0].get_ydata()) > 1  # percent, not fraction
    assert "mean test accuracy" in ax.get_ylabel()
    assert ax.get_title() == f"MNIST, width 10, depth 100: mean test accuracy over {runs} run{'s' * (runs > 1)}"
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_labels == expected_order(methods)
    assert len(ax.collections) == (len(methods) if runs > 1 else 0)  # error bands
    save(fig, tmp_path, "fig03")


@pytest.mark.parametrize("methods, runs", [(list(METHODS), 20), (SOME, 20), (["orthogonal"], 1)])
def test_fig06(methods, runs, tmp_path):
    fig = ls.lyapunov_fig06(mnist_final(methods, runs=runs), P_MNIST)
    axes = visible_axes(fig)
    assert len(axes) == len(methods)
    assert [ax.get_title().split("\n")[0] for ax in axes] == expected_order(methods)
    for ax in axes:
        assert sum(p.get_height() for p in ax.patches) == runs
        assert len(ax.patches) == 50  # bins of 2 % on 0..100
        assert [line.get_label() for line in ax.get_lines()] == ["mean over runs"]
        assert ax.get_xlim() == (0, 100)
    assert "mean over runs" in [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert any("final test accuracy (%)" == ax.get_xlabel() for ax in axes)
    if len(methods) == 7:
        assert len(fig.axes) == 8 and not fig.axes[-1].get_visible()
        assert "3 diverged" in axes[0].get_title()  # runs 0, 7, 14 of 20
    save(fig, tmp_path, "fig06")


@pytest.mark.parametrize("methods, runs", [(list(METHODS), 8), (SOME, 8), (["he"], 1)])
def test_fig04(methods, runs, tmp_path):
    curves = loss_curves(methods, range(0, 2001, 50), runs=runs)
    fig = ls.lyapunov_fig04(curves, P_POLY)
    ax = fig.axes[0]
    assert [line.get_label() for line in method_lines(ax)] == expected_order(methods)
    refs = [line for line in ax.get_lines() if line.get_label() == "best constant output (Var $p$)"]
    assert len(refs) == 1 and refs[0].get_linestyle() == "--" and set(refs[0].get_ydata()) == {2.5}
    assert ax.get_yscale() == "log"
    k = min(3, runs)
    assert f"median of the best of K = {k} runs" in ax.get_title()
    assert "moving median over 50 steps" in ax.get_title()
    assert "best constant output (Var $p$)" in [t.get_text() for t in fig.legends[0].get_texts()]
    save(fig, tmp_path, "fig04")


def test_loss_curves_reject_several_combinations():
    curves = pd.concat([loss_curves(["he"], [1, 2]), loss_curves(["he"], [1, 2]).assign(combo=5)])
    with pytest.raises(ValueError, match="selected combination"):
        ls.lyapunov_fig04(curves, P_POLY)


@pytest.mark.parametrize("methods, runs", [(list(METHODS), 30), (SOME, 30), (["glorot"], 1)])
def test_fig07(methods, runs, tmp_path):
    final = poly_final(methods, runs=runs)
    fig = ls.lyapunov_fig07(final, P_POLY)
    axes = visible_axes(fig)
    assert [ax.get_title().split("\n")[0] for ax in axes] == expected_order(methods)
    diverged = (runs + 9) // 10  # runs 0, 10, 20 have an infinite loss
    for ax in axes:
        assert ax.get_xscale() == "log"
        assert f"{diverged} diverged" in ax.get_title()
        assert sum(p.get_height() for p in ax.patches) == runs - diverged
        assert [line.get_label() for line in ax.get_lines()] == ["best constant output (Var $p$)"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["best constant output (Var $p$)"]
    save(fig, tmp_path, "fig07")


def test_fig08_both_tasks(tmp_path):
    fig = ls.lyapunov_fig08(profile_frame(["polynomial", "score"], SOME))
    poly, score = fig.axes
    for ax in (poly, score):
        assert ax.axison
        assert [line.get_label() for line in method_lines(ax)] == expected_order(SOME)
        assert ax.get_ylabel() == "mean of the best of K runs'\nfinal test loss"
        assert ax.get_xlabel().startswith("K")
        assert all(float(t).is_integer() for t in ax.get_xticks())
    assert [poly.get_title(), score.get_title()] == ["polynomial", "score"]
    save(fig, tmp_path, "fig08")


def test_fig08_score_not_run(tmp_path):
    fig = ls.lyapunov_fig08(profile_frame(["polynomial"], list(METHODS), ks=(1,)))
    poly, score = fig.axes
    assert poly.axison and len(method_lines(poly)) == len(METHODS)
    assert not score.axison and not score.get_lines()
    assert any("not run" in t.get_text() for t in score.texts)
    save(fig, tmp_path, "fig08_poly_only")


@pytest.mark.parametrize("methods, runs", [(list(METHODS), 8), (SOME, 8), (["lyapunov_orthogonal"], 1)])
def test_fig09_fig10(methods, runs, tmp_path):
    curves = loss_curves(methods, [1] + list(range(50, 5001, 50)), runs=runs)
    for name, function, window in (("fig09", ls.lyapunov_fig09, 10), ("fig10", ls.lyapunov_fig10, 100)):
        fig = function(curves, P_SCORE)
        ax = fig.axes[0]
        lines = method_lines(ax)
        assert [line.get_label() for line in lines] == expected_order(methods)
        if name == "fig09":
            assert all(max(line.get_xdata()) <= 1000 for line in lines)
        else:
            assert max(lines[0].get_xdata()) == 5000
        refs = [line for line in ax.get_lines() if line.get_label() == "best constant output"]
        assert len(refs) == 1 and set(refs[0].get_ydata()) == {1.7}
        assert f"moving mean over {window} steps" in ax.get_title()
        assert "median of the best of K" in ax.get_title() and "test loss" in ax.get_ylabel()
        save(fig, tmp_path, name)

