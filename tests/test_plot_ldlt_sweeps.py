"""Figures 6-17 of the ldlt HIGGS sweep (initlab.plot.ldlt_sweeps) on small synthetic frames with
designed trends: panel counts, tables equal to direct pandas computations, the GP surface through
smooth data, and the degenerate inputs (one depth / scale / optimizer, NaN members, one epoch)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from initlab.plot import ldlt_sweeps as ls

SCALES = (1.0, 2.0, 4.0)
DEPTHS = (3, 5, 8)
EPOCHS = 4


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_metrics(optimizers=("sgd", "adamw"), scales=SCALES, depths=DEPTHS, folds=(0, 1), epochs=EPOCHS, seed=0):
    """One row per (run, epoch): AdamW learns regardless of scale, SGD less the larger the scale;
    deeper is slightly worse; traces, gradient norms and movement shrink with the scale."""
    rng = np.random.default_rng(seed)
    rows = []
    for optimizer in optimizers:
        for depth in depths:
            for member, (scale, fold) in enumerate((s, f) for s in scales for f in folds):
                gain = 0.35 if optimizer == "adamw" else 0.3 / scale
                sign = 1 if optimizer == "adamw" else -1
                movement = 0.0
                for epoch in range(epochs + 1):
                    learnt = 1 - np.exp(-epoch / 1.5)
                    auc = 0.5 + gain * learnt - 0.004 * depth
                    step_movement = (0.4 if optimizer == "adamw" else 0.05) / scale * (epoch > 0)
                    movement = movement + step_movement * rng.uniform(0.5, 1.5)
                    rows.append({
                        "member": member, "seed": 100 + fold, "depth": depth, "optimizer": optimizer,
                        "scale": scale, "fold": fold, "epoch": epoch,
                        "train_loss": np.nan if epoch == 0 else 0.7 - 0.2 * learnt,
                        "val_auc": auc + rng.normal(0, 0.01), "test_auc": auc + rng.normal(0, 0.01),
                        "hessian_trace": 10 / scale * (1 + sign * 0.03 * depth) * (1 + 0.2 * epoch)
                        * rng.uniform(0.8, 1.2),
                        "hessian_trace_stderr": 0.1,
                        "grad_norm": 1e-2 / scale * np.exp(-0.05 * depth) * rng.uniform(0.7, 1.3),
                        "movement": movement, "cka": 0.9 - (0.5 if optimizer == "adamw" else 0.1) * learnt / scale,
                        "dead_fraction": rng.uniform(0, 0.02), "grad_stable_rank": 1 + rng.exponential(0.3),
                        "alive": True,
                    })
    frame = pd.DataFrame(rows)
    frame["movement_max"] = frame.groupby(ls.RUN)["movement"].cummax()
    return frame


def make_features(metrics):
    """One row per (run, epoch in {0, 1, last}, layer): stable rank decays with the layer, faster
    after training and for larger scales."""
    last = int(metrics["epoch"].max())
    rows = []
    runs = metrics[ls.RUN + ["member"]].drop_duplicates()
    for run in runs.itertuples():
        for epoch in sorted({0, min(1, last), last}):
            for layer in range(1, run.depth):
                rank = 1 + 30 * np.exp(-layer * (1 + epoch) / (2 * run.scale))
                rows.append({"member": run.member, "depth": run.depth, "optimizer": run.optimizer,
                             "scale": run.scale, "fold": run.fold, "epoch": epoch, "layer": layer,
                             "stable_rank": rank, "dead_fraction": 0.01})
    return pd.DataFrame(rows)


METRICS = make_metrics()
FEATURES = make_features(METRICS)
FINAL = METRICS[METRICS["epoch"] == EPOCHS]

CURVE_FIGURES = [(ls.fig06, "val_auc", ("depth", "scale")), (ls.fig10, "hessian_trace", ("scale", "depth")),
                 (ls.fig12, "grad_norm", ("depth", "scale")), (ls.fig14, "cka", ("scale", "depth"))]
METRIC_FIGURES = [ls.fig06, ls.fig07, ls.fig08, ls.fig09, ls.fig10, ls.fig11, ls.fig12, ls.fig13, ls.fig14,
                  ls.fig16, ls.fig17]


def render(fig):
    """Draw the figure once at low resolution (catches layout and scale errors that construction
    does not; one draw, where savefig with bbox 'tight' draws twice)."""
    fig.set_dpi(40)
    fig.canvas.draw()


def main_axes(fig):
    """Axes other than colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


@pytest.mark.parametrize("function, column, groups", CURVE_FIGURES)
def test_curve_figures_means_and_bands(function, column, groups):
    fig, table = function(METRICS)
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # rows (a), (b) x columns SGD, AdamW
    assert fig.axes[0].get_title().startswith(f"Fig. {function.__name__[3:].lstrip('0')}a")
    assert {"panel", "optimizer", "depth", "scale", "epoch", "mean", "ci_low", "ci_high", "n"} <= set(table)
    for panel, group in zip("ab", groups):
        drawn = table[table["panel"] == panel].sort_values(["optimizer", group, "epoch"])
        expected = METRICS.groupby(["optimizer", group, "epoch"])[column].agg(["mean", "count"]).reset_index()
        expected = expected.sort_values(["optimizer", group, "epoch"])
        np.testing.assert_allclose(drawn["mean"], expected["mean"])
        assert drawn["n"].tolist() == expected["count"].tolist()
        assert drawn[{"depth": "scale", "scale": "depth"}[group]].isna().all()  # pooled
        assert (drawn["ci_low"] <= drawn["mean"] + 1e-12).all() and (drawn["mean"] <= drawn["ci_high"] + 1e-12).all()
    assert (table["metric"] == column).all()


def test_fig06_trend_is_visible_in_the_table():
    _, table = ls.fig06(METRICS)
    last = table[(table["panel"] == "b") & (table["epoch"] == EPOCHS)].set_index(["optimizer", "scale"])["mean"]
    assert last["sgd", 1.0] > last["sgd", 4.0]  # SGD: larger scale, lower AUC
    assert last["adamw", 4.0] > last["sgd", 4.0]


def test_fig12_uses_a_log_axis():
    fig, _ = ls.fig12(METRICS)
    assert fig.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("function, x", [(ls.fig07, "depth"), (ls.fig08, "scale")])
def test_final_auc_boxes_match_groupby(function, x):
    fig, table = function(METRICS)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert any(np.allclose(line.get_ydata(), 0.5) for line in ax.get_lines())  # chance line
    expected = FINAL.groupby([x, "optimizer"])["test_auc"].agg(["median", "count"])
    drawn = table.set_index([x, "optimizer"]).loc[expected.index]
    np.testing.assert_allclose(drawn["median"], expected["median"])
    np.testing.assert_allclose(drawn["q3"], FINAL.groupby([x, "optimizer"])["test_auc"].quantile(0.75))
    assert drawn["n"].tolist() == expected["count"].tolist()
    assert (table["epoch"] == EPOCHS).all()
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["SGD", "AdamW"]


def test_fig09_and_fig11_tables_are_the_final_runs():
    for function, x in ((ls.fig09, "movement_max"), (ls.fig11, "movement")):
        fig, table = function(METRICS)
        assert len(main_axes(fig)) == 1
        assert len(table) == len(FINAL)
        merged = table.merge(FINAL, on=ls.RUN, suffixes=("", "_direct"))
        np.testing.assert_allclose(merged[x], merged[f"{x}_direct"])
        np.testing.assert_allclose(merged["hessian_trace"], merged["hessian_trace_direct"])
    assert len(ls.fig09(METRICS)[0].axes) == 2  # with the AUC colour bar


def test_fig09_symlog_when_traces_change_sign():
    metrics = METRICS.copy()
    metrics.loc[metrics["scale"] == 4.0, "hessian_trace"] *= -0.001
    fig, _ = ls.fig09(metrics)
    assert fig.axes[0].get_yscale() == "symlog"
    render(fig)


def test_fig13_gp_surface_passes_through_smooth_data():
    metrics = METRICS.copy()
    final = metrics["epoch"] == EPOCHS
    # a smooth surface with small fold noise
    metrics.loc[final, "test_auc"] = (0.9 - 0.05 * metrics["scale"] - 0.01 * metrics["depth"]
                                      + 0.002 * np.where(metrics["fold"] == 0, 1, -1))[final]
    fig, table = ls.fig13(metrics, grid_points=11)
    assert len(main_axes(fig)) == 2 and len(fig.axes) == 3  # 13a, 13b and one shared colour bar
    assert [ax.get_title()[:8] for ax in main_axes(fig)] == ["Fig. 13a", "Fig. 13b"]
    assert len(table) == 2 * 11 * 11
    assert {"optimizer", "scale", "depth", "auc_mean", "auc_std", "kernel"} <= set(table)
    assert table["kernel"].str.contains("Matern").all()
    for scale in (min(SCALES), max(SCALES)):
        for depth in (min(DEPTHS), max(DEPTHS)):
            row = table[(table["optimizer"] == "adamw") & np.isclose(table["scale"], scale)
                        & np.isclose(table["depth"], depth)]
            assert row["auc_mean"].iloc[0] == pytest.approx(0.9 - 0.05 * scale - 0.01 * depth, abs=0.01)


def test_fig15_first_and_last_epoch_means():
    fig, table = ls.fig15(FEATURES)
    assert len(fig.axes) == 4  # rows SGD, AdamW x columns first, last epoch
    assert sorted(table["epoch"].unique()) == [1, EPOCHS]
    assert set(table.groupby("panel")["epoch"].first().items()) == {("first", 1), ("last", EPOCHS)}
    expected = FEATURES[FEATURES["epoch"].isin([1, EPOCHS])].groupby(["optimizer", "epoch", "scale", "layer"])
    drawn = table.set_index(["optimizer", "epoch", "scale", "layer"]).sort_index()
    np.testing.assert_allclose(drawn["mean"], expected["stable_rank"].mean().sort_index())
    assert drawn["depth"].isna().all()
    assert fig.axes[0].get_yscale() == "log"


def test_fig15_without_trained_epochs_uses_epoch_0():
    _, table = ls.fig15(FEATURES[FEATURES["epoch"] == 0])
    assert set(table["epoch"]) == {0}


def test_fig16_percent_medians():
    fig, table = ls.fig16(METRICS)
    assert len(fig.axes) == 1
    expected = 100 * FINAL.groupby(["optimizer", "depth"])["dead_fraction"].median()
    np.testing.assert_allclose(table.set_index(["optimizer", "depth"]).loc[expected.index, "median"], expected)


def test_fig17_final_and_pooled_panels():
    fig, table = ls.fig17(METRICS)
    assert len(fig.axes) == 2
    final = table[table["panel"] == "a"].set_index(["scale", "optimizer"])
    pooled = table[table["panel"] == "b"].set_index(["scale", "optimizer"])
    expected = FINAL.groupby(["scale", "optimizer"])["grad_stable_rank"].median()
    np.testing.assert_allclose(final.loc[expected.index, "median"], expected)
    counts = METRICS.groupby(["scale", "optimizer"]).size()
    assert pooled.loc[counts.index, "n"].tolist() == counts.tolist()
    assert (final["epoch"] == EPOCHS).all() and pooled["epoch"].isna().all()


DEGENERATE = {
    "one depth": dict(depths=(5,)),
    "one scale": dict(scales=(2.0,)),
    "one optimizer, one fold, one epoch": dict(optimizers=("adamw",), folds=(0,), epochs=1),
    "one run": dict(optimizers=("sgd",), depths=(3,), scales=(1.0,), folds=(0,), epochs=1),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_every_figure_draws_degenerate_inputs(case):
    metrics = make_metrics(**DEGENERATE[case])
    for function in METRIC_FIGURES:
        fig, table = function(metrics)
        assert isinstance(fig, Figure) and len(table), (case, function.__name__)
        assert {"optimizer", "depth", "scale", "epoch"} <= set(table), function.__name__
        render(fig)
        plt.close(fig)
    fig, table = ls.fig15(make_features(metrics))
    assert len(table)
    render(fig)


def test_panels_follow_the_optimizers_present():
    metrics = make_metrics(optimizers=("adamw",))
    assert len(ls.fig06(metrics)[0].axes) == 2
    assert len(ls.fig15(make_features(metrics))[0].axes) == 2
    (panel,) = main_axes(ls.fig13(metrics, grid_points=5)[0])
    assert panel.get_title().startswith("Fig. 13b: AdamW")  # the paper's letter, not the position


def test_fig13_one_depth_is_a_1d_fit_and_one_location_is_no_fit():
    fig, table = ls.fig13(make_metrics(depths=(5,)), grid_points=7)
    assert all("1-D fit over scale" in ax.get_title() for ax in fig.axes)
    assert len(table) == 2 * 7 and (table["depth"] == 5).all()
    fig, table = ls.fig13(make_metrics(depths=(5,), scales=(1.0,)))
    assert all("no fit" in ax.get_title() for ax in fig.axes)
    assert (table["kernel"] == "none").all() and len(table) == 2


def test_nan_members_are_left_out_and_counted():
    metrics = METRICS.copy()
    dead = (metrics["optimizer"] == "sgd") & (metrics["scale"] == 4.0) & (metrics["fold"] == 1)
    metrics.loc[dead, ["val_auc", "test_auc", "hessian_trace", "grad_norm", "cka", "grad_stable_rank"]] = np.nan
    _, table = ls.fig07(metrics)
    sgd = table[table["optimizer"] == "sgd"]
    assert sgd["n_missing"].tolist() == [1, 1, 1] and sgd["n"].tolist() == [5, 5, 5]
    _, table = ls.fig06(metrics)
    row = table[(table["panel"] == "b") & (table["optimizer"] == "sgd") & (table["scale"] == 4.0)]
    assert (row["n"] == len(DEPTHS)).all() and row["mean"].notna().all()
    for function in METRIC_FIGURES:
        render(function(metrics)[0])
        plt.close("all")


def test_empty_frames_give_empty_tables():
    for function in METRIC_FIGURES + [ls.fig15]:
        fig, table = function((FEATURES if function is ls.fig15 else METRICS).iloc[:0])
        assert isinstance(fig, Figure) and table.empty
        assert {"optimizer", "depth", "scale", "epoch"} <= set(table)
        plt.close(fig)


def test_unknown_optimizer_is_an_error():
    metrics = METRICS.replace({"optimizer": {"sgd": "momentum"}})
    with pytest.raises(ValueError, match="unknown optimizer"):
        ls.fig07(metrics)


def test_repeated_runs_are_an_error_not_merged():
    with pytest.raises(ValueError, match="repeat"):
        ls.fig07(pd.concat([METRICS, METRICS]))
