"""Figures of the lyapunov paper's theory outputs: Figure 1 (LLN and CLT), Lemma C.21 (LLN failures),
Appendix E (no CLT for tanh).  Each ``*_frame`` builds the tidy table that is written to the
figure's CSV, and each ``fig_*`` draws the figure from that table only, so the picture is exactly the
data of the CSV.  (The training figures are in ``initlab.plot.lyapunov_sweeps``.)"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from initlab import plot

WEIGHT_TITLES = {"gaussian": r"Gaussian, $\sigma_{\mathrm{He}}$", "orthogonal": r"orthogonal, $\eta_{\mathrm{He}}$"}
CLT_RANGE, CLT_BINS = (-4.0, 4.0), 30


# ---- Figure 1 ----------------------------------------------------------------------------------
def fig01_frame(run, test: dict) -> pd.DataFrame:
    """Rows of one (weights, slope, width) case: panel 'lln' (log||x_k||/k per layer: mean, s.e.,
    10-90 % band, lambda), 'clt' (histogram of the test-half z = (log||x_K|| - K lambda)/(s_fit sqrt(K))
    against the N(0, 1) density, with the test statistics as columns) and 'offset' (the centring bias
    E log(||x_k||/||x_0||) - k lambda per layer with its s.e.; theory 0 for i.i.d. increments)."""
    key = dict(weights=run.weights, slope=run.slope, width=run.width)
    lln = run.lln_curve()
    rows = [dict(panel="lln", **key, x=int(k), y_mc=m, y_mc_stderr=s, y_q10=lo, y_q90=hi, y_theory=run.lambda_theory)
            for k, m, s, lo, hi in zip(lln["k"], lln["mean"], lln["stderr"], lln["q10"], lln["q90"])]
    density, edges = np.histogram(test["z"], bins=CLT_BINS, range=CLT_RANGE, density=True)
    width = edges[1] - edges[0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    summary = {c: test[c] for c in ("s2_fit", "s2_fit_se", "offset", "offset_se", "mean_z", "var_ratio",
                                    "var_ratio_se", "ks_p", "ad_p")}
    rows += [dict(panel="clt", **key, x=c, y_mc=dens, y_mc_stderr=math.sqrt(dens / (test["n_test"] * width)),
                  y_theory=stats.norm.pdf(c), **summary) for c, dens in zip(centres, density)]
    k = np.arange(run.log_growth.shape[1])
    offset = run.log_growth - k * run.lambda_theory
    rows += [dict(panel="offset", **key, x=int(kk), y_mc=m, y_mc_stderr=s, y_theory=0.0)
             for kk, m, s in zip(k[1:], offset.mean(axis=0)[1:],
                                 offset.std(axis=0, ddof=1)[1:] / math.sqrt(offset.shape[0]))]
    return pd.DataFrame(rows)


def fig01(frame: pd.DataFrame, depth: int, n_networks: int):
    kinds = list(dict.fromkeys(frame.weights))
    fig, axes = plot.subplots(len(kinds), 3, squeeze=False)
    grid = np.linspace(*CLT_RANGE, 161)
    for row, weights in enumerate(kinds):
        ax_lln, ax_clt, ax_off = axes[row]
        sub = frame[frame.weights == weights]
        for (slope, width), case in sub.groupby(["slope", "width"], sort=False):
            label = f"d={width}, a={slope:g}"
            lln = case[case.panel == "lln"]
            line, = ax_lln.plot(lln.x, lln.y_mc, label=label)
            color = line.get_color()
            ax_lln.fill_between(lln.x, lln.y_q10, lln.y_q90, color=color, alpha=0.15, lw=0)
            ax_lln.axhline(lln.y_theory.iloc[0], color=color, ls="--", lw=1)
            clt = case[case.panel == "clt"]
            half = 0.5 * (clt.x.iloc[1] - clt.x.iloc[0])
            ax_clt.stairs(clt.y_mc, np.r_[clt.x - half, clt.x.iloc[-1] + half], color=color,
                          label=f"{label}: var {clt.var_ratio.iloc[0]:.2f}, KS p {clt.ks_p.iloc[0]:.2g}")
            off = case[case.panel == "offset"]
            ax_off.plot(off.x, off.y_mc, color=color, label=label)
            ax_off.fill_between(off.x, off.y_mc - 2 * off.y_mc_stderr, off.y_mc + 2 * off.y_mc_stderr,
                                color=color, alpha=0.15, lw=0)
        ax_lln.set_xscale("log")
        ax_lln.set_ylabel(r"$\frac{1}{k}\,\log\|x_k\| / \|x_0\|$")
        ax_lln.set_title(f"LLN, {WEIGHT_TITLES.get(weights, weights)}\n"
                         f"mean, 10-90% band; dashed: $\\lambda$ (Thm 4.{row + 1})")
        ax_lln.legend(ncol=2, loc="lower right", fontsize=7)
        ax_clt.plot(grid, stats.norm.pdf(grid), "k--", lw=1.2, label=r"$\mathcal{N}(0,1)$")
        ax_clt.set_ylabel("density (test half)")
        ax_clt.set_title(f"CLT at $k={depth}$: $s$ fitted on the other half")
        ax_clt.legend(fontsize=6.5, loc="upper left")
        ax_off.axhline(0.0, color="k", lw=0.8)
        ax_off.set_xscale("log")
        ax_off.set_ylabel(r"$\mathrm{E}\log\|x_k\|/\|x_0\| - k\lambda$")
        ax_off.set_title("centring bias ($\\pm$2 s.e.; i.i.d. increments: 0)")
    axes[-1, 0].set_xlabel("layer $k$")
    axes[-1, 1].set_xlabel(r"$(\log\|x_k\|/\|x_0\| - k\lambda)\,/\,(s\sqrt{k})$")
    axes[-1, 2].set_xlabel("layer $k$")
    fig.suptitle(f"Limit theorems for deep Leaky ReLU networks ({n_networks} networks per curve; CLT panel: "
                 f"theory centring $k\\lambda$, $s^2$ from an independent half)")
    return fig


# ---- Lemma C.21 --------------------------------------------------------------------------------
def lln_fail_frame(relu_widths, alive: np.ndarray, n_relu: int, rates: np.ndarray, start_names, slope: float,
                   width: int, bins: int = 80) -> pd.DataFrame:
    """Panels 'relu_survival' (P(x_k != 0), binomial s.e. at the theory value, (1 - 2^-d)^k),
    'positive_mean_rate' (mean of log||x_k||/k per start, s.e.), 'positive_final' (density of
    log||x_K||/K per start, bin centre in ``value``, density in ``theory``, as before) and
    'positive_paths' (the first 40 mixed-start paths).  Column ``mc_stderr``: the s.e. of the Monte
    Carlo value from the data alone (binomial sqrt(f (1 - f) / n) of the measured fraction f; the
    s.e. over networks of the mean rate), NaN where there is none."""
    rows = []
    k_relu = np.arange(alive.shape[1])
    for i, d in enumerate(relu_widths):
        frac = alive[i] / n_relu
        theory = (1.0 - 2.0**-d) ** k_relu
        se = np.sqrt(theory * (1 - theory) / n_relu)
        mc_se = np.sqrt(frac * (1 - frac) / n_relu)
        rows += [dict(panel="relu_survival", width=d, start="e1", k=int(k), value=v, stderr=s, theory=t, mc_stderr=m)
                 for k, v, s, t, m in zip(k_relu, frac, se, theory, mc_se)]
    depth = rates.shape[2]
    k = np.arange(1, depth + 1)
    final = rates[:, :, -1]
    lam_plus = final[:, 0].mean()
    edges = np.linspace(min(final.min(), lam_plus + math.log(slope)) - 0.3, max(final.max(), lam_plus) + 0.3, bins)
    for j, name in enumerate(start_names):
        density, _ = np.histogram(final[:, j], bins=edges, density=True)
        rows += [dict(panel="positive_final", width=width, start=name, k=depth, value=0.5 * (lo + hi),
                      stderr=float("nan"), theory=dens, mc_stderr=float("nan"))
                 for lo, hi, dens in zip(edges[:-1], edges[1:], density)]
        mean, se = rates[:, j, :].mean(axis=0), rates[:, j, :].std(axis=0, ddof=1) / math.sqrt(rates.shape[0])
        rows += [dict(panel="positive_mean_rate", width=width, start=name, k=int(kk), value=v, stderr=s,
                      theory=float("nan"), mc_stderr=s) for kk, v, s in zip(k, mean, se)]
    for i in range(min(40, rates.shape[0])):
        rows += [dict(panel="positive_paths", width=width, start=f"{start_names[2]} #{i}", k=int(kk), value=v,
                      stderr=float("nan"), theory=float("nan"), mc_stderr=float("nan"))
                 for kk, v in zip(k, rates[i, 2, :])]
    return pd.DataFrame(rows)


def fig_lln_fail(frame: pd.DataFrame, slope: float, width: int):
    fig, (ax_relu, ax_paths, ax_hist) = plot.subplots(1, 3)
    relu = frame[frame.panel == "relu_survival"]
    # log axis: a lower bar end at or below 0 (a fraction within 2 s.e. of 0) is drawn to the bottom edge
    floor = 0.3 * min(relu.value[relu.value > 0].min(), relu.theory.min())
    for d, sub in relu.groupby("width"):
        shown = sub[sub.value > 0]
        lower = shown.value - np.maximum(shown.value - 2 * shown.mc_stderr, floor)
        line = ax_relu.errorbar(shown.k, shown.value, yerr=[lower, 2 * shown.mc_stderr], fmt="o", ms=3, lw=0.8,
                                capsize=1.5, label=f"$d={int(d)}$ Monte Carlo $\\pm$2 s.e.")
        ax_relu.plot(sub.k, sub.theory, color=line[0].get_color(), lw=1.2, label=fr"$(1-2^{{-{int(d)}}})^k$")
    ax_relu.set_yscale("log")
    ax_relu.set_ylim(bottom=floor)
    ax_relu.set_xlabel("layer $k$")
    ax_relu.set_ylabel(r"$P(x_k \neq 0)$")
    ax_relu.set_title(r"(a) ReLU: $x_k=0$ eventually, $\frac{1}{k}\log\|x_k\|\to-\infty$")
    ax_relu.legend(fontsize=7, ncol=2)
    mean = frame[frame.panel == "positive_mean_rate"]
    starts = list(dict.fromkeys(mean.start))
    colors = dict(zip(starts, plot.PALETTE))
    for name in starts[:2]:
        sub = mean[mean.start == name]
        ax_paths.plot(sub.k, sub.value, color=colors[name], lw=2, label=f"{name} (mean $\\pm$2 s.e.)")
        ax_paths.fill_between(sub.k, sub.value - 2 * sub.mc_stderr, sub.value + 2 * sub.mc_stderr,
                              color=colors[name], alpha=0.3, lw=0)
    paths = frame[frame.panel == "positive_paths"]
    for i, (_, sub) in enumerate(paths.groupby("start", sort=False)):
        ax_paths.plot(sub.k, sub.value, color=colors[starts[2]], lw=0.5, alpha=0.5,
                      label=f"{starts[2]} (paths)" if i == 0 else None)
    lam_plus = mean[mean.start == starts[0]].value.iloc[-1]
    depth = int(mean.k.max())
    for value, name in ((lam_plus, r"$\lambda_+$"), (lam_plus + math.log(slope), r"$\lambda_+ + \log a$")):
        ax_paths.axhline(value, color="k", ls="--", lw=0.8)
        ax_paths.annotate(name, (depth, value), textcoords="offset points", xytext=(-30, 4), fontsize=9)
    ax_paths.set_xlabel("layer $k$")
    ax_paths.set_ylabel(r"$\frac{1}{k}\log\|x_k\|/\|x_0\|$")
    ax_paths.set_title(f"(b) positive entries, Leaky ReLU $a={slope:g}$, $d={width}$")
    ax_paths.legend(fontsize=7)
    final = frame[frame.panel == "positive_final"]
    for name in starts:
        sub = final[final.start == name]
        half = 0.5 * (sub.value.iloc[1] - sub.value.iloc[0])
        ax_hist.stairs(sub.theory, np.r_[sub.value - half, sub.value.iloc[-1] + half], color=colors[name],
                       fill=True, alpha=0.45, label=name)
    ax_hist.set_xlabel(fr"$\frac{{1}}{{k}}\log\|x_k\|/\|x_0\|$ at $k={depth}$")
    ax_hist.set_ylabel("density")
    ax_hist.set_title("(c) the limit depends on the start")
    ax_hist.legend(fontsize=7)
    fig.suptitle("Lemma C.21: the law of large numbers fails for ReLU and for positive-entry matrices")
    return fig


# ---- Appendix E --------------------------------------------------------------------------------
def tanh_frame(runs: dict, sigma_c: float, width: int, depth: int, n_points: int = 25) -> pd.DataFrame:
    """Panels 'moments' (Var(log||x_k||)/k and skewness per k and run) and 'histogram' (density of
    log||x_K||/sqrt(K) at sigma_c, tanh and linear)."""
    ks = np.unique(np.geomspace(10, depth, n_points).astype(int))
    s2_lin = linear_clt_variance(width)
    edges = np.linspace(-4.0 * math.sqrt(s2_lin), 4.0 * math.sqrt(s2_lin), 64)
    rows = []
    for label, (m, log_norm) in runs.items():
        r = log_norm[:, ks]
        rows += [dict(panel="moments", run=label, multiple=m, sigma=m * sigma_c, k=int(k), var_over_k=v, skewness=s,
                      value=float("nan"), density=float("nan"))
                 for k, v, s in zip(ks, r.var(axis=0, ddof=1) / ks, stats.skew(r, axis=0))]
        if m == 1.0:
            density, _ = np.histogram(log_norm[:, depth] / math.sqrt(depth), bins=edges, density=True)
            rows += [dict(panel="histogram", run=label, multiple=m, sigma=sigma_c, k=depth, var_over_k=float("nan"),
                          skewness=float("nan"), value=0.5 * (lo + hi), density=dens)
                     for lo, hi, dens in zip(edges[:-1], edges[1:], density)]
    return pd.DataFrame(rows)


def linear_clt_variance(width: int) -> float:
    """s^2 of the linear network (a = 1) at any sigma: Var(log chi2_d) / 4 = psi'(d/2) / 4."""
    return 0.25 * float(special.polygamma(1, width / 2.0))


def fig_tanh_clt(frame: pd.DataFrame, width: int, n_networks: int, sigma_c: float):
    s2_lin = linear_clt_variance(width)
    depth = int(frame.k.max())
    fig, (ax_hist, ax_var, ax_skew) = plot.subplots(1, 3)
    runs = list(dict.fromkeys(frame.run))
    for label, color in zip(runs, plot.PALETTE):
        sub = frame[frame.run == label]
        m = sub.multiple.iloc[0]
        nice = "linear, $\\sigma=\\sigma_c$" if label == "linear" else f"tanh, $\\sigma={m:g}\\sigma_c$"
        mom = sub[sub.panel == "moments"]
        ax_var.plot(mom.k, mom.var_over_k, marker="o", ms=2.5, color=color, label=nice)
        ax_skew.plot(mom.k, mom.skewness, marker="o", ms=2.5, color=color, label=nice)
        hist = sub[sub.panel == "histogram"]
        if len(hist):
            half = 0.5 * (hist.value.iloc[1] - hist.value.iloc[0])
            ax_hist.stairs(hist.density, np.r_[hist.value - half, hist.value.iloc[-1] + half], color=color,
                           fill=True, alpha=0.4, label=nice)
    fine = np.linspace(-4.0 * math.sqrt(s2_lin), 4.0 * math.sqrt(s2_lin), 400)
    ax_hist.plot(fine, stats.norm.pdf(fine, 0.0, math.sqrt(s2_lin)), "k--", lw=1.2, label=r"CLT: $\mathcal{N}(0, s^2)$")
    ax_hist.plot(fine, np.where(fine <= 0, 2.0 * stats.norm.pdf(fine, 0.0, math.sqrt(s2_lin)), 0.0), "k:", lw=1.4,
                 label=r"$-|\mathcal{N}(0,s^2)|$")
    ax_hist.set_xlabel(fr"$(\log\|x_k\| - k\lambda)/\sqrt{{k}}$, $k={depth}$, $\lambda=0$")
    ax_hist.set_ylabel("density")
    ax_hist.set_title(r"(a) at $\sigma_c$: tanh vs linear")
    ax_hist.legend(fontsize=7)
    # references, dashed and dotted as in (a): the Gaussian N(0, s^2) of the CLT (linear net) and the
    # half-normal -|N(0, s^2)| of the tanh heuristic; their variance here, their skewness in (c)
    ax_var.axhline(s2_lin, color="k", ls="--", lw=0.8)
    ax_var.axhline((1 - 2 / math.pi) * s2_lin, color="k", ls=":", lw=0.8)
    ax_var.set_xscale("log")
    ax_var.set_yscale("log")
    ax_var.set_xlabel("layer $k$")
    ax_var.set_ylabel(r"$\mathrm{Var}(\log\|x_k\|)/k$")
    ax_var.set_title(r"(b) CLT variance: $\to 0$ above $\sigma_c$")
    ax_skew.axhline(0.0, color="k", ls="--", lw=0.8, label=r"CLT: $\mathcal{N}(0, s^2)$ (linear net): $s^2$, skewness 0")
    ax_skew.axhline(-math.sqrt(2) * (4 - math.pi) / (math.pi - 2) ** 1.5, color="k", ls=":", lw=0.8,
                    label=r"$-|\mathcal{N}(0,s^2)|$: $(1 - 2/\pi)\,s^2$, skewness $-\sqrt{2}(4-\pi)/(\pi-2)^{3/2}$")
    ax_skew.set_xscale("log")
    ax_skew.set_xlabel("layer $k$")
    ax_skew.set_ylabel(r"skewness of $\log\|x_k\|$")
    ax_skew.set_title("(c) skewness (Gaussian: 0)")
    # one legend for (b) and (c), below them: inside, seven entries cover the curves
    fig.legend(*ax_skew.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8)
    fig.suptitle(f"Appendix E: no CLT for tanh networks ($d={width}$, {n_networks} networks, "
                 fr"$\sigma_c=e^{{-J(d)}}={sigma_c:.3f}$)")
    return fig
