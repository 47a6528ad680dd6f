"""Figures of the lyapunov paper's training experiments (data from initlab.sweeps.lyapunov).

Every function takes tidy frames (and the scale's parameters), draws the methods present in the
paper's order with one fixed colour per method (its index in ``METHODS`` into ``plot.PALETTE``),
and returns the Figure; the workflow script saves it with ``job.save_figure``.  All lines are
solid; the sampled Lyapunov methods are drawn thicker.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from initlab import plot
from initlab.sweeps.lyapunov import METHODS, PAPER_NAMES, ordered

# Used only if plot.PALETTE has fewer colours than there are methods (matplotlib's tab10 tail).
_EXTRA_COLOURS = ["#7f7f7f", "#8c564b", "#bcbd22", "#17becf", "#9467bd", "#2ca02c", "#d62728"]
_SAMPLED = ("sampled_lyapunov_gaussian", "sampled_lyapunov_orthogonal")
REFERENCE_COLOUR = "0.35"
TASK_NAMES = {"polynomial": "polynomial", "score": "score"}


def method_colour(method: str) -> str:
    """The method's colour in every figure: its index in METHODS into plot.PALETTE (extended if short)."""
    colours = list(plot.PALETTE)
    if len(colours) < len(METHODS):
        colours += _EXTRA_COLOURS[: len(METHODS) - len(colours)]
    return colours[METHODS.index(method)]


def method_style(method: str) -> dict[str, Any]:
    """Colour and line width of a method's curves: solid everywhere, the sampled methods thicker."""
    return {"color": method_colour(method), "lw": 2.8 if method in _SAMPLED else 1.6, "ls": "-"}


def present_methods(frame: pd.DataFrame) -> list[str]:
    """The methods in ``frame``, in paper order; an unknown method is an error, never dropped silently."""
    names = pd.unique(frame["method"].astype(str))
    unknown = sorted(set(names) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(METHODS)}")
    return ordered(names)


def _count_text(values: pd.Series) -> str:
    """'7' or '5-7' for a column that should be constant but need not be (e.g. runs per method)."""
    values = pd.Series(values).dropna().astype(int)
    if values.empty:
        return "0"
    low, high = int(values.min()), int(values.max())
    return f"{low}" if low == high else f"{low}-{high}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _one_combination(frame: pd.DataFrame, method: str) -> pd.DataFrame:
    """A method's rows of a curves frame, which must hold its selected combination only."""
    rows = frame[frame["method"] == method]
    if "combo" in rows and rows["combo"].nunique() > 1:
        raise ValueError(f"curves hold {rows['combo'].nunique()} combinations for method {method!r}; "
                         "pass each method's selected combination only")
    return rows


def _reference_line(ax, value: float, label: str, vertical: bool = False):
    line = (ax.axvline if vertical else ax.axhline)(value, color=REFERENCE_COLOUR, ls="--", lw=1.1, label=label,
                                                    zorder=1)
    return line


def _panel_grid(n: int, ncols: int = 4):
    """A grid of small panels for n methods (n >= 1): at most ``ncols`` per row, unused axes hidden,
    shared x; every visible panel with nothing visible below it shows its x tick labels."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plot.subplots(nrows, ncols, sharex=True, squeeze=False,
                              figsize=(2.9 * ncols, 2.5 * nrows + 0.5))
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    for index, ax in enumerate(flat[:n]):
        below = index + ncols
        if below >= n:  # last visible panel in its column
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, axes, flat[:n]


def _empty_figure(text: str):
    fig, ax = plot.subplots(1, 1)
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    return fig


# ---- MNIST -------------------------------------------------------------------------------------

def _mnist_title(p: Mapping[str, Any]) -> str:
    """Depth counts the weight maps: in -> width, ``hidden_layers`` width x width, width -> out."""
    width = p.get("width", 10)
    depth = p["depth"] if "depth" in p else p["hidden_layers"] + 2 if "hidden_layers" in p else 100
    return f"MNIST, width {width}, depth {depth}"


def lyapunov_fig03(curves: pd.DataFrame, p: Mapping[str, Any]):
    """Fig. 3: MNIST mean test accuracy (%) vs epoch per method at its selected hyperparameters,
    band +- 1 standard error over runs (none with a single run).  ``curves``: method, epoch,
    mean_test_accuracy (fraction), stderr (fraction), runs (``sweeps.lyapunov.mnist_curves``)."""
    methods = present_methods(curves)
    fig, ax = plot.subplots(1, 1, figsize=(7.6, 4.4))
    for method in methods:
        s = curves[curves["method"] == method].sort_values("epoch")
        mean = 100 * s["mean_test_accuracy"].to_numpy(dtype=float)
        err = 100 * s["stderr"].to_numpy(dtype=float)
        style = method_style(method)
        ax.plot(s["epoch"], mean, label=PAPER_NAMES[method], **style)
        if np.isfinite(err).any():
            err = np.nan_to_num(err, nan=0.0)
            ax.fill_between(s["epoch"], mean - err, mean + err, color=style["color"], alpha=0.18, lw=0)
    ax.set_xlabel("epoch (0 = initialisation)")
    ax.set_ylabel("mean test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    runs = _count_text(curves["runs"]) if len(curves) else "0"
    ax.set_title(f"{_mnist_title(p)}: mean test accuracy over {runs} run{'' if runs == '1' else 's'}", fontsize=11)
    band = "band: $\\pm$1 standard error" if runs != "1" else "1 run: no error band"
    if methods:
        fig.legend(loc="outside right upper", title=f"init ({band})", title_fontsize=9)
    else:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="0.4")
    return fig


def lyapunov_fig06(final: pd.DataFrame, p: Mapping[str, Any]):
    """Fig. 6: histogram of every run's final MNIST test accuracy, one panel per method (bins of
    2 %, shared x 0..100 %), the mean over runs as a vertical line.  ``final``: method, run, seed,
    test_accuracy (fraction), alive, init_norm_ratio (``sweeps.lyapunov.mnist_histograms``).
    Runs that diverged keep their last accuracy (as in the table); their number is in the title."""
    methods = present_methods(final)
    if not methods:
        return _empty_figure("no runs")
    fig, axes, panels = _panel_grid(len(methods))
    bins = np.arange(0, 100 + 2, 2)
    for index, (method, ax) in enumerate(zip(methods, panels)):
        rows = final[final["method"] == method]
        acc = 100 * rows["test_accuracy"].to_numpy(dtype=float)
        finite = acc[np.isfinite(acc)]
        ax.hist(np.clip(finite, 0, 100), bins=bins, color=method_colour(method), alpha=0.85, lw=0)
        if finite.size:
            ax.axvline(finite.mean(), color="k", ls="-", lw=1.2, label="mean over runs")
        dead = int((~rows["alive"].astype(bool)).sum())
        extra = f", {dead} diverged" if dead else ""
        missing = acc.size - finite.size
        extra += f", {missing} without accuracy" if missing else ""
        ax.set_title(f"{PAPER_NAMES[method]}\n({_runs(len(rows))}{extra})", fontsize=9)
        ax.set_xlim(0, 100)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if index % axes.shape[1] == 0:
            ax.set_ylabel("runs (count)")
        if index + axes.shape[1] >= len(methods):
            ax.set_xlabel("final test accuracy (%)")
    panels[0].legend(loc="best", fontsize=8)
    epochs = f" after {p['epochs']} epochs" if "epochs" in p else ""
    fig.suptitle(f"{_mnist_title(p)}: histogram of every run's final test accuracy{epochs}\n"
                 "at the selected hyperparameters (bins of 2 %)", fontsize=10)
    return fig


# ---- polynomial and score ----------------------------------------------------------------------

def _loss_curves(ax, curves: pd.DataFrame, methods: list[str], max_step: float | None = None) -> None:
    for method in methods:
        s = _one_combination(curves, method).sort_values("step")
        if max_step is not None:
            s = s[s["step"] <= max_step]
        y = s["best_of_k_median"].to_numpy(dtype=float)
        ax.plot(s["step"], np.where(np.isfinite(y) & (y > 0), y, np.nan), label=PAPER_NAMES[method],
                **method_style(method))


def _finish_loss_figure(fig, ax, methods: list[str], p: Mapping[str, Any], ref_label: str,
                        title: str, ylabel: str) -> None:
    _reference_line(ax, float(p["zero_signal_loss"]), ref_label)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if not methods:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="0.4")
    fig.legend(loc="outside right upper", title="init", title_fontsize=9)


def _best_of_k_text(curves: pd.DataFrame) -> str:
    k = _count_text(curves["k_best"]) if len(curves) else "?"
    runs = _count_text(curves["runs"]) if len(curves) else "0"
    return f"median of the best of K = {k} runs (of {runs})"


def lyapunov_fig04(curves: pd.DataFrame, p: Mapping[str, Any]):
    """Fig. 4: polynomial task, median best-of-K training loss (batch of fresh points, moving median
    over ``p['smoothing_window']`` steps) vs step per method, log y; dashed: the best constant
    output's loss ``p['zero_signal_loss']`` (Var p).  ``curves``: method, combo, step,
    best_of_k_median, k_best, runs (``sweeps.lyapunov.best_of_k_curves``, selected combos only)."""
    methods = present_methods(curves)
    fig, ax = plot.subplots(1, 1, figsize=(7.6, 4.4))
    _loss_curves(ax, curves, methods)
    _finish_loss_figure(fig, ax, methods, p, "best constant output (Var $p$)",
                        f"polynomial: {_best_of_k_text(curves)},\n"
                        f"moving median over {p['smoothing_window']} steps",
                        "training loss (MSE on a fresh batch)")
    return fig


def lyapunov_fig07(final: pd.DataFrame, p: Mapping[str, Any]):
    """Fig. 7: polynomial task, histogram of every run's final loss per method (log-spaced bins,
    shared x); runs with a non-finite loss are counted in the panel title as diverged.  With
    ``p['zero_signal_loss']`` the best constant output's loss is a labelled vertical line.
    ``final``: method, run, seed, final_loss, alive."""
    methods = present_methods(final)
    if not methods:
        return _empty_figure("no runs")
    fig, axes, panels = _panel_grid(len(methods))
    values = final["final_loss"].to_numpy(dtype=float)
    good = values[np.isfinite(values) & (values > 0)]
    reference = p.get("zero_signal_loss")
    if good.size:
        low, high = math.floor(np.log10(good.min())), math.ceil(np.log10(good.max()))
    else:
        low, high = -2, 1
    if reference is not None and reference > 0:
        low, high = min(low, math.floor(np.log10(reference))), max(high, math.ceil(np.log10(reference)))
    high = max(high, low + 1)
    per_decade = 8 if high - low <= 4 else 4
    bins = np.logspace(low, high, (high - low) * per_decade + 1)
    for index, (method, ax) in enumerate(zip(methods, panels)):
        rows = final[final["method"] == method]
        loss = rows["final_loss"].to_numpy(dtype=float)
        finite = loss[np.isfinite(loss)]
        diverged = loss.size - finite.size
        ax.hist(np.clip(finite, bins[0], bins[-1]), bins=bins, color=method_colour(method), alpha=0.85, lw=0)
        if reference is not None:
            _reference_line(ax, float(reference), "best constant output (Var $p$)", vertical=True)
        ax.set_xscale("log")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{PAPER_NAMES[method]}\n({_runs(len(rows))}, {diverged} diverged)", fontsize=9)
        if index % axes.shape[1] == 0:
            ax.set_ylabel("runs (count)")
        if index + axes.shape[1] >= len(methods):
            ax.set_xlabel("final loss (MSE)")
    if reference is not None:  # below the panels: a legend inside one would cover its bars
        fig.legend(handles=panels[0].get_lines()[:1], loc="outside lower center", fontsize=9)
    fig.suptitle(f"polynomial: histogram of every run's final loss at the selected hyperparameters\n"
                 f"(log-spaced bins, {per_decade} per decade; diverged = non-finite loss, not shown)", fontsize=10)
    return fig


def lyapunov_fig08(profile: pd.DataFrame):
    """Fig. 8: the selection statistic (mean of the best of K runs' final test loss, at each
    method's selected combination) vs K; panels polynomial and score, a task absent from
    ``profile`` marked "not run".  ``profile``: task, method, k, best_of_k_mean."""
    fig, axes = plot.subplots(1, 2, figsize=(10.4, 4.0))
    legend_done = False
    for ax, task in zip(axes, ("polynomial", "score")):
        rows = profile[profile["task"] == task] if len(profile) else profile
        if rows.empty:
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{TASK_NAMES[task]}: not run", ha="center", va="center", transform=ax.transAxes,
                    color="0.4", fontsize=12)
            continue
        methods = present_methods(rows)
        for method in methods:
            s = rows[rows["method"] == method].sort_values("k")
            y = s["best_of_k_mean"].to_numpy(dtype=float)
            ax.plot(s["k"], np.where(np.isfinite(y), y, np.nan), marker="o", ms=3.5, label=PAPER_NAMES[method],
                    **method_style(method))
        y_all = rows["best_of_k_mean"].to_numpy(dtype=float)
        y_all = y_all[np.isfinite(y_all)]
        if y_all.size and (y_all > 0).all() and y_all.max() / y_all.min() > 20:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("K (runs per best-of-K draw)")
        ax.set_ylabel("mean of the best of K runs'\nfinal test loss")
        ax.set_title(TASK_NAMES[task], fontsize=11)
        if not legend_done:
            fig.legend(loc="outside right upper", title="init", title_fontsize=9)
            legend_done = True
    fig.suptitle("Selection statistic vs K at each method's selected hyperparameters", fontsize=11)
    return fig


def _score_figure(curves: pd.DataFrame, p: Mapping[str, Any], window: int, max_step: float | None, span: str):
    methods = present_methods(curves)
    fig, ax = plot.subplots(1, 1, figsize=(7.6, 4.4))
    _loss_curves(ax, curves, methods, max_step)
    shown = curves if max_step is None else curves[curves["step"] <= max_step]
    _finish_loss_figure(fig, ax, methods, p, "best constant output",
                        f"score, {span}: {_best_of_k_text(shown)},\nmoving mean over {window} steps",
                        "test loss (MSE on a fresh batch)")
    if max_step is not None:
        ax.set_xlim(0, max_step)
    return fig


def lyapunov_fig09(curves: pd.DataFrame, p: Mapping[str, Any]):
    """Fig. 9: score task, the first ``p.get('short_steps', 1000)`` steps: median best-of-K loss on
    fresh points (moving mean over ``p['short_window']`` steps) vs step; dashed: the best constant
    output's loss ``p['zero_signal_loss']``.  ``curves`` as for fig04."""
    short = p.get("short_steps", 1000)
    return _score_figure(curves, p, p["short_window"], short, f"first {short} steps")


def lyapunov_fig10(curves: pd.DataFrame, p: Mapping[str, Any]):
    """Fig. 10: score task, all steps: as fig09 with the moving mean over ``p['long_window']`` steps."""
    return _score_figure(curves, p, p["long_window"], None, "all steps")
