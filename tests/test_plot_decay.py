"""initlab.plot.decay: per-layer frames and the variance figure with its residual panel."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
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
    fig = plots.plot_distributions(frame, "y", "title", "N")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
