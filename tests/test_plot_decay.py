"""initlab.plot.decay: per-layer frames and the variance figure with its residual panel."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from initlab.plot import decay as plots  # noqa: E402
from initlab.stats import compare  # noqa: E402


def _stats(depth):
    edges = np.linspace(-1, 1, 6)
    return [{"var": 0.1 ** l, "mean": 0.0, "count": 100, "fraction_in_range": 1.0, "hist_edges": edges,
             "hist_counts": np.array([5, 20, 50, 20, 5], dtype=float)} for l in range(1, depth + 1)]


def test_layer_frame_and_residual_figure():
    depth = 5
    theory = 0.1 ** np.arange(1, depth + 1)
    reps = theory * np.array([[1.0, 1.02, 0.98, 1.3, 1.0], [1.01, 0.99, 1.0, 1.31, 1.02], [0.99, 1.0, 1.01, 1.29, 0.98]])
    gap, se, df = compare.replicate_gaps(reps, theory)
    table = compare.compare_points(gap, se, 0.1, 0.05, df)
    frame = plots.layer_frame(_stats(depth), reps, theory, table, "var_theory_eq14", extra=np.ones(depth))
    for col in ("layer", "var_mc", "var_theory_eq14", "extra", "samples", "var_mc_mean", "rel_gap", "rel_gap_se",
                "rel_gap_ci_lo", "rel_gap_ci_hi", "p_deviates_holm", "layer_status"):
        assert col in frame
    assert frame["rel_gap"].iloc[3] == pytest.approx(0.3, abs=0.01)
    fig = plots.variance_figure(frame["layer"], [("sim", frame["var_mc_mean"], "o")], [("theory", theory, "-")],
                                [("gap", table, "o")], "t", "Var", tolerance=0.1)
    top, res = fig.axes[:2]
    assert top.get_yscale() == "log" and res.get_yscale() == "linear"
    lo, hi = res.get_ylim()
    assert lo < -0.1 and hi > 0.3  # the residual axis resolves the 30 % gap and the tolerance band
    assert res.get_xlabel() == "layer $l$"


def test_histogram_frame_density_integrates_to_one():
    frame = plots.histogram_frame(_stats(2), [0.1, 0.01])
    for _, sub in frame.groupby("layer"):
        assert float((sub["density"] * (sub["bin_right"] - sub["bin_left"])).sum()) == pytest.approx(1.0)
    fig = plots.plot_distributions(frame, "y", "title", "N", [0.1, 0.01], [0.11, 0.012])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    # each panel is on its own x scale: it prints its layer's variances, so the decay reads off the figure
    assert "1.00e-02" in panels[1].texts[0].get_text() and "1.20e-02" in panels[1].texts[0].get_text()


def _params(depth):
    return dict(width=8, depth=depth, family_alpha=0.05, layer_tolerance_rel=0.1, replicates=3, n_inputs=100,
                upstream_grad_var=1.0)


def _judged(depth):
    theory = 0.1 ** np.arange(1, depth + 1)
    reps = theory * np.exp(0.01 * np.random.default_rng(1).standard_normal((3, depth)))
    gap, se, df = compare.replicate_gaps(reps, theory)
    return reps, theory, compare.compare_points(gap, se, 0.1, 0.05, df)


def test_forward_outputs_frame_and_figures():
    depth = 4
    reps, theory, table = _judged(depth)
    run = {"forward": {"eq42": _stats(depth)}, "var_weight": [0.05] * depth, "var_bias": {"eq42": [0.01] * depth}}
    frame, hist, fig_dist, fig_var = plots.forward_outputs(run, "eq42", "bias", reps, theory, table, _params(depth),
                                                           0.01, 0.4)
    assert list(frame["layer"]) == [1, 2, 3, 4] and "var_theory_realized" in frame and "var_bias_realized" in frame
    assert set(hist["layer"]) == {1, 2, 3, 4}
    assert fig_var.axes[0].get_yscale() == "linear"  # the bias mode settles: linear axis with the fixed point
    assert len([ax for ax in fig_dist.axes if ax.get_visible()]) == depth


def test_backward_outputs_stack_the_modes():
    depth = 3
    reps, theory, table = _judged(depth)
    run = {"backward": {"zero": _stats(depth), "eq42": _stats(depth)}, "var_weight": [0.05] * depth}
    modes = {"zero": ("fig07", "zero bias", "o"), "eq42": ("fig08", "bias", "x")}
    frame, fig, dists = plots.backward_outputs(run, {"zero": reps, "eq42": reps}, theory,
                                               {"zero": table, "eq42": table}, _params(depth), modes)
    assert list(frame["bias"]) == ["zero"] * depth + ["eq42"] * depth
    assert set(dists) == {"fig07", "fig08"}
    assert fig.axes[0].get_yscale() == "log"


def _losses(low, high):
    epochs = np.arange(1, 6)  # fig09 draws epochs >= 1
    rows = [dict(model=m, depth=5, bias=b, seed=s, epoch=e, train_loss=high * (low / high) ** ((e - 1) / 4))
            for m, b in (("aol", "zero"), ("aol", "set"), ("plain", "default")) for s in (0, 1) for e in epochs]
    return pd.DataFrame(rows)


def _labelled(ax):
    lo, hi = ax.get_ylim()
    return [float(t.get_text()) for t in ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]


def test_covtype_log_axes_have_labels_above_one():
    # a loss from 1.4 to 0.7 spans less than a decade: the default log ticks label only 10^0
    p = dict(bias_set_init="eq42", relu_on_logits=False, seeds=2)
    fig = plots.fig09(_losses(0.7, 1.4), p)
    fig.canvas.draw()
    labels = _labelled(fig.axes[0])
    assert len(labels) >= 3 and max(labels) > 1.0 and min(labels) < 1.0
    summary = (_losses(0.7, 1.4).groupby(["model", "depth", "bias", "epoch"])["train_loss"]
               .agg(train_loss_mean="mean", train_loss_std="std").reset_index())
    fig = plots.fig10(summary, p)
    fig.canvas.draw()
    assert max(_labelled(fig.axes[0])) > 1.0
    # over several decades: 1-2-5 steps, plain numbers
    fig = plots.fig09(_losses(0.01, 2.0), p)
    fig.canvas.draw()
    assert {0.01, 0.1, 1.0} <= set(_labelled(fig.axes[0]))


def test_fig01_legend_clear_of_the_data():
    n = np.arange(1, 101)
    table = pd.DataFrame(dict(n=n, var_mc=1 / (10 * n) ** 1.2, var_mc_stderr=1e-3 / (10 * n) ** 1.2,
                              bound_eq23=1 / (10 * n), approx_eq36=1 / (10 * n) ** 1.2, rel_gap_eq36=0.0, samples=300))
    fig = plots.fig01(table, dict(d_over_n=10))
    fig.canvas.draw()
    ax, ax_gap = fig.axes[:2]
    for legend, panel, values in ((fig.legends[0], ax, table["var_mc"]), (ax_gap.get_legend(), ax_gap,
                                                                          table["rel_gap_eq36"])):
        box = legend.get_window_extent()
        points = panel.transData.transform(np.c_[table["n"], values])
        assert not any(box.contains(x, y) for x, y in points)
