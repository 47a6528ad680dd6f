"""Figures 6-17 of the ldlt paper's HIGGS sweep (data contract: ``initlab.sweeps.ldlt``).

Every function takes the tidy frames (``metrics``: one row per (run, epoch); ``features``: one row
per (run, epoch, layer)) and returns ``(fig, table)``, ``table`` being the tidy frame actually drawn
(the figure's CSV) with the key columns depth / scale / optimizer / epoch (NaN where pooled).
A run is one (optimizer, depth, scale, fold); the fold is the only replicate.  Encodings: optimizer
colours and markers fixed (SGD vermillion squares, AdamW blue circles); depths and scales with
sequential colour maps (viridis, plasma) by rank.  Bands: the mean over runs and its 95 % percentile
bootstrap interval (1,000 resamples), as the paper's seaborn plots.  Any subset of optimizers,
depths, scales, folds and epochs may be present; NaN values (dead members) are left out of means
and boxes and counted in the tables.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib import cbook, colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import Matern, WhiteKernel
from threadpoolctl import threadpool_limits

from initlab import plot
from initlab.claims.ldlt_higgs import OPTIMIZER_NAMES, OPTIMIZERS
from initlab.stats.bootstrap import grouped_mean_ci

OPTIMIZER_COLOURS = {"sgd": plot.PALETTE[1], "adamw": plot.PALETTE[0]}
OPTIMIZER_MARKERS = {"sgd": "s", "adamw": "o"}
RUN = ["optimizer", "depth", "scale", "fold"]
KEYS = ["panel", "optimizer", "depth", "scale", "fold", "epoch", "layer"]
GROUP_CMAPS = {"depth": "viridis", "scale": "plasma"}
GROUP_TITLES = {"depth": "depth $L$", "scale": "init scale $c$"}
POOLED = {"depth": "scales", "scale": "depths"}
BAND_TEXT = "mean over runs, 95 % bootstrap CI (1,000 resamples)"
REFERENCE_COLOUR = "0.35"


def _optimizers(frame: pd.DataFrame) -> list[str]:
    """The optimizers in ``frame`` in fixed order; an unknown name is an error, never dropped."""
    names = set(frame["optimizer"].astype(str))
    if names - set(OPTIMIZERS):
        raise ValueError(f"unknown optimizer(s) {sorted(names - set(OPTIMIZERS))}; known: {list(OPTIMIZERS)}")
    return [name for name in OPTIMIZERS if name in names]


def _text(value) -> str:
    return f"{value:g}"


def _group_colours(values, key: str) -> dict:
    """Sequential colours by rank (evenly spaced on the map, so close values stay distinct)."""
    levels = sorted(pd.unique(pd.Series(values).dropna()))
    positions = np.linspace(0.0, 0.85, len(levels)) if len(levels) > 1 else [0.45]
    cmap = colormaps[GROUP_CMAPS[key]]
    return {level: cmap(p) for level, p in zip(levels, positions)}


def _final(metrics: pd.DataFrame) -> pd.DataFrame:
    """Each run's row at its last epoch (a repeated (run, epoch), e.g. a seed dimension, is an error)."""
    if metrics.duplicated(RUN + ["epoch"]).any():
        raise ValueError(f"metrics repeat (run, epoch) rows; a run must be one {tuple(RUN)}")
    metrics = metrics.reset_index(drop=True)
    return metrics.loc[metrics.groupby(RUN)["epoch"].idxmax()].reset_index(drop=True)


def _table(parts: list[pd.DataFrame], **constant) -> pd.DataFrame:
    """Concatenate the drawn pieces, key columns first (NaN where a key was pooled over)."""
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=KEYS)
    table = table.assign(**constant)
    keys = [k for k in KEYS if k in table or k in ("optimizer", "depth", "scale", "epoch")]
    table = table.reindex(columns=keys + [c for c in table.columns if c not in keys])
    return table


def _set_scale(ax, axis: str, values, log: bool = False) -> str:
    """log if the values are positive and span more than 30x (any span with ``log``); symlog if
    they change sign and span decades (Hutchinson traces can be negative); else linear.  Returns
    the scale's name."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    setter = ax.set_yscale if axis == "y" else ax.set_xscale
    magnitudes = np.abs(values[values != 0])
    if values.size == 0 or magnitudes.size == 0:
        return "linear"
    if (values > 0).all() and (log or values.max() / values.min() > 30):
        setter("log")
        return "log"
    if (values < 0).any() and magnitudes.max() / magnitudes.min() > 100:
        setter("symlog", linthresh=float(np.quantile(magnitudes, 0.1)))
        return "symlog"
    return "linear"


def _reference_line(ax, value: float, label: str):
    ax.axhline(value, color=REFERENCE_COLOUR, ls="--", lw=1.1, label=label, zorder=1)


def _no_data(ax, text: str = "no data"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


# ---- curves with bootstrap bands ---------------------------------------------------------------

def _band_curves(ax, frame: pd.DataFrame, x: str, group: str, column: str, colours: dict) -> pd.DataFrame:
    """One curve per value of ``group``: the mean of ``column`` over the rows at each ``x`` and its
    bootstrap band.  Returns the drawn table (group, x, mean, ci_low, ci_high, n)."""
    table = grouped_mean_ci(frame, [group, x], column)
    marker = "o" if table[x].nunique() <= 10 else None  # a single epoch must still show
    for level, curve in table.groupby(group, sort=True):
        ax.plot(curve[x], curve["mean"], color=colours[level], marker=marker, ms=3.5, label=_text(level))
        ax.fill_between(curve[x], curve["ci_low"], curve["ci_high"], color=colours[level], alpha=0.2, lw=0)
    if table["mean"].notna().sum() == 0:
        _no_data(ax)
    return table


def _legend_outside(ax, colours: dict, title: str):
    handles = [Line2D([], [], color=c, marker="o", ms=4, label=_text(level)) for level, c in colours.items()]
    ax.legend(handles=handles, title=title, title_fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5))


def _dynamics(metrics: pd.DataFrame, column: str, number: int, ylabel: str, groups: tuple[str, str],
              log: bool = False):
    """Panels (a) by groups[0], (b) by groups[1] (rows) per optimizer (columns): ``column`` vs epoch."""
    optimizers = _optimizers(metrics)
    fig, axes = plot.subplots(2, max(1, len(optimizers)), squeeze=False, sharex=True, sharey="row",
                              figsize=(plot.PANEL_WIDTH * max(1, len(optimizers)) + 1.6, 2 * plot.PANEL_HEIGHT))
    parts = []
    for row, (panel, group) in enumerate(zip("ab", groups)):
        colours = _group_colours(metrics[group], group)
        row_means = []
        for ax, optimizer in zip(axes[row], optimizers):
            drawn = _band_curves(ax, metrics[metrics["optimizer"] == optimizer], "epoch", group, column, colours)
            parts.append(drawn.assign(panel=panel, optimizer=optimizer))
            row_means.extend(drawn["mean"])
            ax.set_title(f"Fig. {number}{panel}: {OPTIMIZER_NAMES[optimizer]}, by {group}", fontsize=10)
        scale = _set_scale(axes[row, 0], "y", row_means, log)  # the row shares y
        axes[row, 0].set_ylabel(ylabel + ("" if scale == "linear" else f" ({scale})"))
        _legend_outside(axes[row, -1], colours, f"{GROUP_TITLES[group]}\n(pooled over\n{POOLED[group]}, folds)")
    for ax in axes[-1]:
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not optimizers:
        for ax in axes.ravel():
            _no_data(ax, "no runs")
    fig.suptitle(f"Fig. {number}: {ylabel} vs epoch; {BAND_TEXT}", fontsize=11)
    return fig, _table(parts, metric=column)


def fig06(metrics: pd.DataFrame):
    """Fig. 6: validation AUC (held-out fold) vs epoch, (a) per depth pooled over scales and folds,
    (b) per scale pooled over depths and folds; one column of panels per optimizer."""
    return _dynamics(metrics, "val_auc", 6, "validation AUC", ("depth", "scale"))


def fig10(metrics: pd.DataFrame):
    """Fig. 10: Hessian trace (Hutchinson) vs epoch, (a) per scale, (b) per depth."""
    return _dynamics(metrics, "hessian_trace", 10, "Hessian trace", ("scale", "depth"))


def fig12(metrics: pd.DataFrame):
    """Fig. 12: gradient norm vs epoch (log y when positive), (a) per depth, (b) per scale."""
    return _dynamics(metrics, "grad_norm", 12, "gradient norm", ("depth", "scale"), log=True)


def fig14(metrics: pd.DataFrame):
    """Fig. 14: input-output linear CKA vs epoch, (a) per scale, (b) per depth."""
    return _dynamics(metrics, "cka", 14, "input-output CKA", ("scale", "depth"))


def fig15(features: pd.DataFrame):
    """Fig. 15: feature stable rank vs layer, per scale (pooled over depths and folds), rows per
    optimizer, columns the first epoch (smallest > 0 present, else 0) and the last epoch; dashed:
    stable rank 1.  Deeper layers are averaged over fewer depths (``n`` in the table)."""
    optimizers = _optimizers(features)
    epochs = sorted(features["epoch"].unique())
    trained = [e for e in epochs if e > 0]
    shown = [("first", trained[0] if trained else (epochs[0] if epochs else 0)),
             ("last", epochs[-1] if epochs else 0)]
    colours = _group_colours(features["scale"], "scale")
    rows = max(1, len(optimizers))
    fig, axes = plot.subplots(rows, 2, squeeze=False, sharex=True, sharey=True,
                              figsize=(2 * plot.PANEL_WIDTH + 1.6, rows * plot.PANEL_HEIGHT))
    parts = []
    for ax_row, optimizer in zip(axes, optimizers):
        for ax, (panel, epoch) in zip(ax_row, shown):
            rows_drawn = features[(features["optimizer"] == optimizer) & (features["epoch"] == epoch)]
            drawn = _band_curves(ax, rows_drawn, "layer", "scale", "stable_rank", colours)
            parts.append(drawn.assign(panel=panel, optimizer=optimizer, epoch=epoch))
            _reference_line(ax, 1.0, "stable rank 1")
            ax.set_title(f"Fig. 15: {OPTIMIZER_NAMES[optimizer]}, {panel} epoch ({epoch})", fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("layer (output of hidden layer $l$)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not optimizers:
        for ax in axes.ravel():
            _no_data(ax, "no runs")
    values = [m for p in parts for m in p["mean"]]
    scale = _set_scale(axes[0, 0], "y", values + [1.0], log=True)  # all panels share y
    for ax in axes[:, 0]:
        ax.set_ylabel("feature stable rank" + ("" if scale == "linear" else f" ({scale})"))
    _legend_outside(axes[0, -1], colours, f"{GROUP_TITLES['scale']}\n(pooled over\ndepths, folds)")
    fig.suptitle(f"Fig. 15: stable rank of each layer's features; {BAND_TEXT}; dashed: 1", fontsize=11)
    return fig, _table(parts, metric="stable_rank")


# ---- box plots ---------------------------------------------------------------------------------

def _boxes(ax, frame: pd.DataFrame, x: str, hue: str, column: str, colours: dict, scale: float = 1.0):
    """Side-by-side boxes of ``scale * column`` per (x, hue) (1.5 IQR whiskers), every point drawn
    (jittered) when a box has at most 60.  Returns the box statistics drawn, one row per box."""
    x_levels = _optimizers(frame) if x == "optimizer" else sorted(frame[x].unique())
    width = 0.8 / max(1, len(colours))
    jitter = np.random.default_rng(0)
    rows = []
    for i, x_level in enumerate(x_levels):
        for j, (hue_level, colour) in enumerate(colours.items()):
            values = scale * frame.loc[(frame[x] == x_level) & (frame[hue] == hue_level), column].to_numpy(float)
            if values.size == 0:
                continue
            finite = values[np.isfinite(values)]
            row = {x: x_level, hue: hue_level, "n": finite.size, "n_missing": values.size - finite.size}
            position = i - 0.4 + width * (j + 0.5)
            if finite.size:
                stats = cbook.boxplot_stats(finite)[0]
                few = finite.size <= 60
                ax.bxp([stats], positions=[position], widths=0.8 * width, patch_artist=True, showfliers=not few,
                       boxprops={"facecolor": colour, "alpha": 0.35, "edgecolor": colour},
                       medianprops={"color": "k", "lw": 1.4}, whiskerprops={"color": colour},
                       capprops={"color": colour}, flierprops={"markeredgecolor": colour, "ms": 3})
                if few:
                    ax.scatter(position + jitter.uniform(-0.25, 0.25, finite.size) * width, finite, s=9,
                               color=colour, alpha=0.8, lw=0, zorder=3)
                row.update(median=stats["med"], q1=stats["q1"], q3=stats["q3"], whisker_low=stats["whislo"],
                           whisker_high=stats["whishi"], mean=stats["mean"])
            rows.append(row)
    ax.set_xticks(range(len(x_levels)), [OPTIMIZER_NAMES.get(v, v) if x == "optimizer" else _text(v)
                                         for v in x_levels])
    ax.grid(False, axis="x")  # grid lines at the category centres would run between the boxes
    ax.set_xlim(-0.6, len(x_levels) - 0.4)
    if not rows:
        _no_data(ax)
    return pd.DataFrame(rows)


def _hue_legend(ax, colours: dict, title: str, names: dict | None = None, extra=()):
    handles = [Patch(facecolor=c, alpha=0.5, edgecolor=c, label=names[k] if names else _text(k))
               for k, c in colours.items()]
    ax.legend(handles=handles + list(extra), title=title, title_fontsize=9, loc="center left",
              bbox_to_anchor=(1.02, 0.5))


def _optimizer_colours(frame: pd.DataFrame) -> dict:
    return {name: OPTIMIZER_COLOURS[name] for name in _optimizers(frame)}


def _with_final_epoch(drawn: pd.DataFrame, final: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The box table with the last epoch of the runs in each box (the key column ``epoch``)."""
    if drawn.empty:
        return drawn
    return drawn.merge(final.groupby(keys)["epoch"].max().reset_index(), on=keys, how="left")


def _final_auc_boxes(metrics: pd.DataFrame, x: str, number: int):
    final = _final(metrics)
    colours = _optimizer_colours(final)
    fig, ax = plot.subplots(1, 1, figsize=(plot.PANEL_WIDTH * 1.6, plot.PANEL_HEIGHT * 1.1))
    drawn = _boxes(ax, final, x, "optimizer", "test_auc", colours)
    _reference_line(ax, 0.5, "chance (AUC 0.5)")
    ax.set_xlabel(GROUP_TITLES[x])
    ax.set_ylabel("final test AUC")
    _hue_legend(ax, colours, "optimizer", OPTIMIZER_NAMES, ax.get_lines()[-1:])
    ax.set_title(f"Fig. {number}: final test AUC by {x}\n(pooled over {POOLED[x]} and folds; one point per run)",
                 fontsize=10)
    return fig, _table([_with_final_epoch(drawn, final, ["optimizer", x])], metric="test_auc")


def fig07(metrics: pd.DataFrame):
    """Fig. 7: box plots of each run's final-epoch test AUC by depth, hue optimizer; dashed: chance."""
    return _final_auc_boxes(metrics, "depth", 7)


def fig08(metrics: pd.DataFrame):
    """Fig. 8: box plots of each run's final-epoch test AUC by scale, hue optimizer; dashed: chance."""
    return _final_auc_boxes(metrics, "scale", 8)


def fig16(metrics: pd.DataFrame):
    """Fig. 16: dead-neuron percentage (|x| < 1e-6 after ELU, mean over hidden layers) at each run's
    final epoch per optimizer, boxes per depth."""
    final = _final(metrics)
    colours = _group_colours(final["depth"], "depth")
    fig, ax = plot.subplots(1, 1, figsize=(plot.PANEL_WIDTH * 1.4, plot.PANEL_HEIGHT * 1.1))
    drawn = _boxes(ax, final, "optimizer", "depth", "dead_fraction", colours, scale=100.0)
    ax.set_xlabel("optimizer")
    ax.set_ylabel("dead neurons at the final epoch (%)")
    ax.set_ylim(bottom=0)
    _hue_legend(ax, colours, GROUP_TITLES["depth"])
    ax.set_title("Fig. 16: dead neurons ($|x| < 10^{-6}$)\n(pooled over scales and folds; one point per run)",
                 fontsize=10)
    return fig, _table([_with_final_epoch(drawn, final, ["optimizer", "depth"])], metric="dead_percent")


def fig17(metrics: pd.DataFrame):
    """Fig. 17: gradient stable rank by scale, hue optimizer: (a) each run's final epoch, (b) every
    epoch of every run pooled (0 = initialisation included); dashed: stable rank 1."""
    final = _final(metrics)
    colours = _optimizer_colours(metrics)
    fig, axes = plot.subplots(1, 2, sharey=True, figsize=(2 * plot.PANEL_WIDTH + 1.4, plot.PANEL_HEIGHT * 1.1))
    parts = []
    for ax, panel, frame, text in ((axes[0], "a", final, "final epoch, one point per run"),
                                   (axes[1], "b", metrics, "all epochs pooled")):
        drawn = _boxes(ax, frame, "scale", "optimizer", "grad_stable_rank", colours)
        parts.append(drawn.assign(panel=panel))
        _reference_line(ax, 1.0, "stable rank 1")
        ax.set_xlabel(GROUP_TITLES["scale"])
        ax.set_title(f"Fig. 17{panel}: {text}", fontsize=10)
    scale = _set_scale(axes[0], "y", np.append(metrics["grad_stable_rank"].to_numpy(float), 1.0))
    axes[0].set_ylabel("gradient stable rank" + ("" if scale == "linear" else f" ({scale})"))
    _hue_legend(axes[1], colours, "optimizer", OPTIMIZER_NAMES, axes[1].get_lines()[-1:])
    fig.suptitle("Fig. 17: stable rank of the weight gradients (mean over hidden layers), "
                 "pooled over depths and folds", fontsize=11)
    parts[0] = _with_final_epoch(parts[0], final, ["optimizer", "scale"])
    return fig, _table(parts, metric="grad_stable_rank")


# ---- scatter plots -----------------------------------------------------------------------------

def _optimizer_marker_handles(optimizers, colour="0.3"):
    return [Line2D([], [], ls="", marker=OPTIMIZER_MARKERS[o], color=colour, label=OPTIMIZER_NAMES[o])
            for o in optimizers]


def _movement_trace_axes(ax, final: pd.DataFrame, x: str, xlabel: str) -> str:
    xscale = _set_scale(ax, "x", final[x])
    yscale = _set_scale(ax, "y", final["hessian_trace"])
    ax.set_xlabel(xlabel + ("" if xscale == "linear" else f" ({xscale})"))
    ax.set_ylabel("final Hessian trace" + ("" if yscale == "linear" else f" ({yscale})"))
    missing = int((~np.isfinite(final[[x, "hessian_trace"]].to_numpy(float)).all(axis=1)).sum())
    return f"; {missing} run(s) with NaN not shown" if missing else ""


def fig09(metrics: pd.DataFrame):
    """Fig. 9: each run's final Hessian trace vs its maximum movement max_t ||W_t - W_0|| / ||W_0||,
    colour = final test AUC, marker = optimizer.  Axes log when positive and spanning decades,
    symlog when traces change sign (Hutchinson estimates can be negative), else linear."""
    final = _final(metrics)
    optimizers = _optimizers(final)
    fig, ax = plot.subplots(1, 1, figsize=(plot.PANEL_WIDTH * 1.6, plot.PANEL_HEIGHT * 1.3))
    auc = final["test_auc"].to_numpy(float)
    auc = auc[np.isfinite(auc)]
    norm = Normalize(auc.min(), auc.max()) if auc.size else Normalize(0.5, 1.0)
    for optimizer in optimizers:
        rows = final[final["optimizer"] == optimizer]
        ax.scatter(rows["movement_max"], rows["hessian_trace"], c=rows["test_auc"], cmap="viridis", norm=norm,
                   marker=OPTIMIZER_MARKERS[optimizer], s=28, edgecolors="0.2", linewidths=0.4, plotnonfinite=False)
    fig.colorbar(ScalarMappable(norm, "viridis"), ax=ax, label="final test AUC")
    missing = _movement_trace_axes(ax, final, "movement_max", r"max. movement $\max_t\,\|W_t-W_0\|/\|W_0\|$")
    ax.legend(handles=_optimizer_marker_handles(optimizers), title="optimizer", title_fontsize=9, loc="best")
    ax.set_title(f"Fig. 9: final Hessian trace vs maximum parameter movement\n(one point per run{missing})",
                 fontsize=10)
    if not optimizers:
        _no_data(ax, "no runs")
    return fig, _table([final[RUN + ["epoch", "movement_max", "hessian_trace", "test_auc"]]])


def fig11(metrics: pd.DataFrame):
    """Fig. 11: each run's final Hessian trace vs its final movement ||W_T - W_0|| / ||W_0||,
    colour = scale, marker = optimizer (axis scales as fig09)."""
    final = _final(metrics)
    optimizers = _optimizers(final)
    colours = _group_colours(final["scale"], "scale")
    fig, ax = plot.subplots(1, 1, figsize=(plot.PANEL_WIDTH * 1.6, plot.PANEL_HEIGHT * 1.3))
    for optimizer in optimizers:
        rows = final[final["optimizer"] == optimizer]
        ax.scatter(rows["movement"], rows["hessian_trace"], c=[colours[s] for s in rows["scale"]],
                   marker=OPTIMIZER_MARKERS[optimizer], s=28, edgecolors="0.2", linewidths=0.4)
    missing = _movement_trace_axes(ax, final, "movement", r"final movement $\|W_T-W_0\|/\|W_0\|$")
    scale_handles = [Line2D([], [], ls="", marker="o", color=c, label=_text(s)) for s, c in colours.items()]
    first = ax.legend(handles=scale_handles, title=GROUP_TITLES["scale"], title_fontsize=9, loc="upper left",
                      bbox_to_anchor=(1.02, 1.0))
    ax.add_artist(first)
    ax.legend(handles=_optimizer_marker_handles(optimizers), title="optimizer", title_fontsize=9,
              loc="lower left", bbox_to_anchor=(1.02, 0.0))
    ax.set_title(f"Fig. 11: final Hessian trace vs final parameter movement\n(one point per run{missing})",
                 fontsize=10)
    if not optimizers:
        _no_data(ax, "no runs")
    return fig, _table([final[RUN + ["epoch", "movement", "hessian_trace", "test_auc"]]])


# ---- Gaussian-process contour ------------------------------------------------------------------

def _gp_surface(points: pd.DataFrame, inputs: list[str], grid_points: int, seed: int):
    """GP fit of test_auc on the standardised ``inputs``; its mean and sd on a regular grid over the
    data's range.  Returns (grid frame with the inputs, auc_mean, auc_std, fit_warning: the
    optimizer's convergence warnings; fitted kernel text)."""
    x = points[inputs].to_numpy(float)
    centre, spread = x.mean(axis=0), x.std(axis=0)
    kernel = Matern(length_scale=1.0, nu=1.5) + WhiteKernel()
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
    axes = [np.linspace(x[:, k].min(), x[:, k].max(), grid_points) for k in range(len(inputs))]
    grid = np.column_stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")])
    # One BLAS thread: the matrices are small (runs x runs), and threaded OpenBLAS on a busy machine
    # made each Cholesky ~1000x slower.  Convergence warnings (e.g. noise at its bound) go to the table.
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        gp.fit((x - centre) / spread, points["test_auc"].to_numpy(float))
        mean, std = gp.predict((grid - centre) / spread, return_std=True)
    notes = "; ".join(sorted({str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)}))
    return pd.DataFrame(grid, columns=inputs).assign(auc_mean=mean, auc_std=std, fit_warning=notes), str(gp.kernel_)


def fig13(metrics: pd.DataFrame, grid_points: int = 50, seed: int = 0):
    """Fig. 13: final test AUC over (scale, depth) per optimizer (13a SGD, 13b AdamW): the mean of a
    Gaussian-process regressor (Matern nu = 1.5 + white noise, standardised inputs, normalize_y)
    fitted to every run's final test AUC, as filled contours on a shared colour scale, with the
    training locations (colour: mean over folds).  With one depth (or one scale) the fit is 1-D
    (mean and +-2 sd band vs the other input); with one location or under two runs nothing is
    fitted.  Table: the grid prediction per optimizer with the fitted kernel."""
    final = _final(metrics)
    final = final[np.isfinite(final["test_auc"].to_numpy(float))]
    optimizers = _optimizers(metrics)
    fits = {}
    for optimizer in optimizers:
        points = final[final["optimizer"] == optimizer]
        inputs = [c for c in ("scale", "depth") if points[c].nunique() > 1]
        if len(points) >= 2 and inputs:
            grid, kernel = _gp_surface(points, inputs, grid_points, seed)
        else:  # nothing to fit: the observed mean per location
            inputs = []
            grid = points.groupby(["scale", "depth"])["test_auc"].agg(auc_mean="mean", auc_std="std").reset_index()
            kernel = "none"
        for c in ("scale", "depth"):
            if c not in grid:
                grid[c] = points[c].iloc[0]
        fits[optimizer] = (points, inputs, grid.assign(optimizer=optimizer, epoch=points["epoch"].max(), kernel=kernel,
                                                       n_runs=len(points)))
    surfaces = [g for _, inputs, g in fits.values() if len(inputs) == 2]
    observed = final.groupby(RUN[:3])["test_auc"].mean()
    values = np.concatenate([g["auc_mean"].to_numpy() for g in surfaces] + [observed.to_numpy()])
    norm = Normalize(values.min(), values.max()) if values.size else Normalize(0.5, 1.0)
    fig, axes = plot.subplots(1, max(1, len(optimizers)), squeeze=False,
                              figsize=(plot.PANEL_WIDTH * max(1, len(optimizers)) + 1.0, plot.PANEL_HEIGHT * 1.2))
    for ax, optimizer in zip(axes[0], optimizers):
        points, inputs, grid = fits[optimizer]
        cells = points.groupby(["scale", "depth"])["test_auc"].mean().reset_index()
        name = f"Fig. 13{'ab'[OPTIMIZERS.index(optimizer)]}: {OPTIMIZER_NAMES[optimizer]}"  # the paper's letter
        if len(inputs) == 2:
            shape = (grid_points, grid_points)
            ax.contourf(grid["scale"].to_numpy().reshape(shape), grid["depth"].to_numpy().reshape(shape),
                        grid["auc_mean"].to_numpy().reshape(shape), levels=np.linspace(norm.vmin, norm.vmax, 16)
                        if norm.vmax > norm.vmin else 16, cmap="viridis", norm=norm, extend="both")
            ax.scatter(cells["scale"], cells["depth"], c=cells["test_auc"], cmap="viridis", norm=norm, s=30,
                       edgecolors="w", linewidths=0.8, clip_on=False)  # runs on the edges stay whole
            ax.grid(False)
            ax.set_xlabel(GROUP_TITLES["scale"])
            ax.set_ylabel(GROUP_TITLES["depth"])
            ax.set_title(f"{name}, GP mean of final test AUC", fontsize=10)
        else:
            x = inputs[0] if inputs else "scale"
            fixed = "depth" if x == "scale" else "scale"
            if inputs:
                ax.plot(grid[x], grid["auc_mean"], color=OPTIMIZER_COLOURS[optimizer], label="GP mean")
                ax.fill_between(grid[x], grid["auc_mean"] - 2 * grid["auc_std"], grid["auc_mean"] + 2 * grid["auc_std"],
                                color=OPTIMIZER_COLOURS[optimizer], alpha=0.2, lw=0, label="GP mean $\\pm$ 2 sd")
            ax.scatter(points[x], points["test_auc"], color=OPTIMIZER_COLOURS[optimizer],
                       marker=OPTIMIZER_MARKERS[optimizer], s=18, label="runs")
            ax.set_xlabel(GROUP_TITLES[x])
            ax.set_ylabel("final test AUC")
            levels = ", ".join(_text(v) for v in sorted(points[fixed].unique())) or "none"
            what = f"1-D fit over {x}" if inputs else "no fit (one location)" if len(points) else "no runs"
            ax.set_title(f"{name}: {what}\n({fixed} {levels})", fontsize=10)
            if len(points):
                ax.legend(loc="best", fontsize=8)
    if surfaces:
        fig.colorbar(ScalarMappable(norm, "viridis"), ax=list(axes[0]), label="final test AUC (GP mean)")
    if not optimizers:
        _no_data(axes[0, 0], "no runs")
    circles = "\n(circles: the runs' locations, filled with their mean over folds)" if surfaces else ""
    fig.suptitle("Fig. 13: GP regression (Matern $\\nu$=1.5 + white noise) of the final test AUC over init "
                 f"scale and depth{circles}", fontsize=11)
    table = _table([fits[o][2] for o in optimizers], metric="test_auc")
    return fig, table
