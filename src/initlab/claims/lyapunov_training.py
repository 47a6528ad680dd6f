"""Claim rules of the lyapunov paper's training experiments (Section 5, Appendices G-I): MNIST
(table_mnist, fig03), the polynomial (table_poly, fig04, fig08) and the score (table_score, fig09,
fig10), over the summaries of ``initlab.sweeps.lyapunov``.

Two kinds of rule:

* a printed value (a table cell, a selected combination and its average test loss, the plateau,
  "robust to K") depends on every training setting (seeds, steps or epochs and the cosine schedule
  over them, the grid the selection searches, the training rows); it is judged only where the run
  uses the paper's settings (``paper_settings``: the full scale) and is ``not-run`` elsewhere.
* an ordering ("A beats B") compares methods trained under one common setting with common random
  numbers; it is judged at every scale (the description names the settings) by one-sided
  Mann-Whitney tests, and is ``not-run`` where the runs cannot separate the methods.  A claim about
  late training ("eventually", "after longer scales") needs the paper's length of training.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from initlab.claims import row
from initlab.stats import order_stats
from initlab.stats.bootstrap import percentile_interval

PREVIOUS = ("glorot", "he", "orthogonal")
LYAPUNOV = ("lyapunov_gaussian", "lyapunov_orthogonal", "sampled_lyapunov_gaussian", "sampled_lyapunov_orthogonal")
SAMPLED_PAIRS = (("sampled_lyapunov_gaussian", "lyapunov_gaussian"),
                 ("sampled_lyapunov_orthogonal", "lyapunov_orthogonal"))
TABLE_IDS = {"polynomial": "table_poly", "score": "table_score"}
# An initial loss "very large" against another: an order of magnitude above it.

Comparison = tuple[str, np.ndarray, np.ndarray]


def settings_note(p: Mapping[str, Any], length: str) -> str:
    """The training settings of this run, for descriptions (``length``: '5 epochs', '1000 steps')."""
    combos = math.prod(len(v) if isinstance(v, list) else 1 for v in p["grid"].values())
    return f"{p['runs']} runs, {length}, {combos} combinations per method"


def not_run(claim_id: str, description: str, paper_value: Any, reason: str, *, target: str) -> dict[str, Any]:
    return row(claim_id, f"{description}: not run at this scale ({reason})", paper_value, "", math.nan, "not-run",
               target=target)


# ---- printed values ----------------------------------------------------------------------------

def value_claim(claim_id: str, what: str, ours: float, interval: tuple[float, float], paper_value: float,
                half_unit: float, *, target: str) -> dict[str, Any]:
    """A printed number against ours with its 95 % interval (lo, hi): reproduced when the paper's
    value lies in the interval widened by half a printed unit (the paper's rounding), deviates when
    outside; not-run when the interval is wider than the value itself (e.g. a few runs with losses
    of 1e10), which can confirm or refute nothing.  Uncertainty: the interval's half-width."""
    lo, hi = interval
    half_width = (hi - lo) / 2 if np.isfinite(lo) and np.isfinite(hi) else math.nan
    if not np.isfinite(ours):
        return row(claim_id, f"{what}: no finite replicated value", paper_value, float(ours), half_width, "deviates",
                   target=target)
    interval_text = f"95 % interval [{lo:.4g}, {hi:.4g}] (uncertainty: its half-width) widened by {half_unit:g} rounding"
    if not np.isfinite(half_width) or half_width > max(abs(paper_value), half_unit):
        return row(claim_id, f"{what}: {ours:.4g}, {interval_text}: the interval is wider than the value, so the "
                   "runs cannot separate the outcomes (not run)", paper_value, round(float(ours), 6), half_width,
                   "not-run", target=target)
    inside = lo - half_unit <= paper_value <= hi + half_unit
    return row(claim_id, f"{what}: {ours:.4g}, {interval_text}; the paper's {paper_value:g} is "
               f"{'inside' if inside else 'outside'}", paper_value, round(float(ours), 6), half_width,
               "reproduced" if inside else "deviates", target=target)


def best_of_k_median_interval(values: np.ndarray, k: int, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the best-of-k median over runs (``values``: one per run)."""
    k = min(k, len(values))
    return percentile_interval(values, lambda draws, axis: order_stats.best_of_k_median(draws, k, axis=axis),
                               confidence)


def best_of_k_mean_interval(values: np.ndarray, k: int, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the best-of-k mean over runs (the selection statistic)."""
    k = min(k, len(values))
    return percentile_interval(values, lambda draws, axis: order_stats.best_of_k_mean(draws, k, axis=axis),
                               confidence)


# ---- orderings ---------------------------------------------------------------------------------

def better_probability(better: np.ndarray, worse: np.ndarray, lower_is_better: bool) -> tuple[float, float]:
    """P(a run of the first method is better than one of the second; ties count half) = U / (n m),
    and its standard error (DeLong's variance of the two-sample U-statistic)."""
    a, b = (-better, -worse) if lower_is_better else (better, worse)
    wins = (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])
    se = math.sqrt(np.var(wins.mean(axis=1), ddof=1) / len(a) + np.var(wins.mean(axis=0), ddof=1) / len(b))
    return float(wins.mean()), se


def ordering_claim(claim_id: str, description: str, comparisons: Sequence[Comparison], alpha: float,
                   lower_is_better: bool, *, target: str) -> dict[str, Any]:
    """'A is better than B' for every (label, A's runs, B's runs), diverged runs (NaN) counting as
    the worst: one-sided Mann-Whitney tests at the Bonferroni level alpha / comparisons.
    Reproduced when every A is significantly better; deviates when some A is significantly worse
    (the opposite one-sided test); otherwise not-run (the runs do not separate the methods), as when
    the runs are too few for any outcome to reach the level.  Replicated: the deciding pair's
    P(A better than B) (0.5: no difference; 1: every run of A better); uncertainty: its s.e."""
    if not comparisons:
        return not_run(claim_id, description, "", "the methods it compares are not all trained at this scale",
                       target=target)
    level = alpha / len(comparisons)
    worst = np.inf if lower_is_better else -np.inf
    tests = []
    for label, better, worse in comparisons:
        a = np.where(np.isfinite(better), better, worst)
        b = np.where(np.isfinite(worse), worse, worst)
        if 1 / math.comb(len(a) + len(b), len(a)) >= level:
            return not_run(claim_id, description, "", f"{len(a)} and {len(b)} runs: no ordering of them reaches the "
                           f"Bonferroni level {level:.2g} of a one-sided Mann-Whitney test", target=target)
        claimed, reverse = ("less", "greater") if lower_is_better else ("greater", "less")
        tests.append((label, stats.mannwhitneyu(a, b, alternative=claimed).pvalue,
                      stats.mannwhitneyu(a, b, alternative=reverse).pvalue, *better_probability(a, b, lower_is_better)))
    reversed_pairs = [t for t in tests if t[2] < level]
    if reversed_pairs:
        verdict, deciding = "deviates", min(reversed_pairs, key=lambda t: t[2])
    else:
        verdict = "reproduced" if all(t[1] < level for t in tests) else "not-run"
        deciding = max(tests, key=lambda t: t[1])
    parts = "; ".join(f"{label} p={p:.2g} (reverse p={q:.2g}, P(better)={prob:.2f})" for label, p, q, prob, _ in tests)
    outcome = {"reproduced": "every pair significant as claimed",
               "deviates": f"{deciding[0]} significantly the other way",
               "not-run": "the runs do not separate the methods at this scale"}[verdict]
    return row(claim_id, f"{description}. One-sided Mann-Whitney per pair at the Bonferroni level {level:.2g}: {parts}. "
               f"{outcome}; replicated: P(better) of the deciding pair {deciding[0]}, uncertainty its s.e. (DeLong)",
               "", round(deciding[3], 6), deciding[4], verdict, target=target)


def comparisons(pairs, runs_at: Callable[[str, int], np.ndarray], at: int, symbol: str) -> list[Comparison]:
    """``ordering_claim``'s comparisons: for every (better, worse) method pair, both methods' runs at
    ``at`` (an epoch or a step), labelled 'better<symbol>worse'."""
    return [(f"{a}{symbol}{b}", runs_at(a, at), runs_at(b, at)) for a, b in pairs]


def _in_order(p: Mapping[str, Any], present) -> list[str]:
    """The methods present, in the config's (the paper's) order."""
    return [m for m in p["methods"] if m in set(present)]


# ---- MNIST -------------------------------------------------------------------------------------

def mnist_claims(runs: pd.DataFrame, curves: pd.DataFrame, p: Mapping[str, Any], paper_settings: bool) -> list[dict]:
    """Every printed cell of table_mnist and the ordering claims of Section 5.  ``runs``: every
    run's test accuracy per epoch at the selected combination; ``curves``: their mean and s.e. per
    method and epoch (``initlab.sweeps.lyapunov.mnist_curves``)."""
    out = []
    trained = int(runs.epoch.max())
    settings = settings_note(p, f"{trained} epochs")
    methods = _in_order(p, curves["method"].unique())
    for method in methods:
        for epoch, paper_value in zip(p["table_epochs"], p["paper_table"][method]):
            cid = f"table_mnist_{method}_epoch{epoch}"
            what = f"Section 5 table: {method} mean test accuracy (%) at epoch {epoch}"
            if epoch > trained:
                out.append(not_run(cid, what, paper_value, f"{trained} epochs trained", target="table_mnist"))
            elif not paper_settings:
                out.append(not_run(cid, what, paper_value, f"{settings}: not the paper's settings, whose value this "
                                   "is", target="table_mnist"))
            else:
                at = curves[(curves.method == method) & (curves.epoch == epoch)].iloc[0]
                mean, half = 100 * at.mean_test_accuracy, p["z_tolerance"] * 100 * at.stderr
                out.append(value_claim(cid, what + f" over {int(at.runs)} runs (interval: {p['z_tolerance']:g} s.e.)",
                                       mean, (mean - half, mean + half), paper_value, 0.5, target="table_mnist"))

    def runs_at(method, epoch):
        return runs[(runs.method == method) & (runs.epoch == epoch)].sort_values("run")["test_accuracy"].to_numpy()

    present = set(methods)
    new_vs_old = [(a, b) for a in LYAPUNOV if a in present for b in PREVIOUS if b in present]
    out.append(ordering_claim("mnist_lyapunov_beats_previous",
                              f"'All our four new methods strongly outperform the previous methods': final (epoch {trained}) "
                              f"test accuracy ({settings})", comparisons(new_vs_old, runs_at, trained, ">"),
                              p["alpha"], lower_is_better=False, target="fig03"))
    pairs = [(s, u) for s, u in SAMPLED_PAIRS if s in present and u in present]
    # The quote's "epochs 1 and 5" are the table's first two columns; "higher epochs" the later ones.
    early_epochs, later_epochs = p["table_epochs"][:2], p["table_epochs"][2:]
    early = [e for e in early_epochs if e <= trained]
    what = f"'the sampled methods are better at epochs {' and '.join(map(str, early_epochs))} than the unsampled ones'"
    out.append(ordering_claim("mnist_sampled_better_early", f"{what} ({settings})",
                              [(f"{label}@{e}", a, b) for pair in pairs for e in early
                               for label, a, b in comparisons([pair], runs_at, e, ">")],
                              p["alpha"], lower_is_better=False, target="fig03") if early else
               not_run("mnist_sampled_better_early", what, "", "no such epoch trained", target="fig03"))
    what = "'for higher epochs the unsampled versions perform better'"
    if trained >= later_epochs[0] and paper_settings:
        out.append(ordering_claim("mnist_unsampled_better_later", f"{what} (epoch {trained}; {settings})",
                                  comparisons([(u, s) for s, u in pairs], runs_at, trained, ">"),
                                  p["alpha"], lower_is_better=False, target="fig03"))
    else:
        out.append(not_run("mnist_unsampled_better_later", what, "",
                           f"{settings}: a claim about late training needs the paper's {max(later_epochs)} epochs",
                           target="fig03"))
    return out


# ---- polynomial and score ----------------------------------------------------------------------

def task_claims(summary: Mapping[str, Any], table: pd.DataFrame, p: Mapping[str, Any], zero_signal: float,
                paper_settings: bool) -> list[dict]:
    """Every printed cell of table_poly / table_score (``table``: ``initlab.sweeps.lyapunov.task_table``;
    the best-of-K median against the paper with its bootstrap interval over runs), the plateau of the
    nets whose signal dies, the selected hyperparameters, and the ordering claims (Section 5,
    Appendices H, I).  ``summary``: ``initlab.sweeps.lyapunov.task_summary``."""
    task = p["kind"]
    table_id = TABLE_IDS[task]
    out = []
    steps_trained = p["steps"]
    settings = settings_note(p, f"{steps_trained} steps")
    runs, short_runs = summary["runs"], summary.get("short_runs")
    methods = _in_order(p, summary["curves"]["method"].unique())

    def runs_at(method, step):
        frame = short_runs if (task == "score" and step <= p["short_steps"]) else runs
        rows = frame[(frame.method == method) & (frame.step == step)]
        return rows.sort_values("run")["loss"].to_numpy()

    for method in methods:
        for step, paper_value in zip(p["table_steps"], p["paper_table"][method]):
            cid = f"{table_id}_{method}_step{step}"
            at = table[(table.method == method) & (table.step == step)] if not table.empty else table
            k = int(at.k_best.iloc[0]) if not at.empty else p["k_best"]
            what = f"{task} table: {method} median best-of-{k} loss at step {step}"
            if step > steps_trained or at.empty:
                out.append(not_run(cid, what, paper_value, f"{steps_trained} steps trained", target=table_id))
            elif not paper_settings:
                out.append(not_run(cid, what, paper_value, f"{settings}: not the paper's settings, whose value this is",
                                   target=table_id))
            else:
                interval = best_of_k_median_interval(runs_at(method, step), p["k_best"], 1 - p["alpha"])
                out.append(value_claim(cid, what + f" over {int(at.runs.iloc[0])} runs (bootstrap over runs)",
                                       float(at.best_of_k_median.iloc[0]), interval, paper_value, 0.005,
                                       target=table_id))
    out += plateau_claims(summary, p, zero_signal, paper_settings, methods, settings, runs_at)
    out += selection_claims(summary, p, paper_settings)
    present = set(methods)
    last_step = int(runs.step.max())
    if task == "polynomial":
        out += polynomial_orderings(summary, p, runs_at, present, last_step, paper_settings, settings)
    else:
        out += score_orderings(summary, p, runs_at, present, paper_settings, settings)
    return out


def plateau_claims(summary: Mapping[str, Any], p: Mapping[str, Any], zero_signal: float, paper_settings: bool,
                   methods: list[str], settings: str, runs_at: Callable[[str, int], np.ndarray]) -> list[dict]:
    """The paper's plateau of the nets whose signal dies (Glorot, He) against their measured loss:
    polynomial at the last step (they stay on it, the paper's rows), score at the first printed step
    (He leaves it later).  Within 5 % (the table's spread around it); the loss depends on training,
    so judged at the paper's settings only."""
    task, table_id = p["kind"], TABLE_IDS[p["kind"]]
    flat = [m for m in ("glorot", "he") if m in methods]
    if not flat:
        return []
    at = int(summary["curves"].step.max()) if task == "polynomial" else p["table_steps"][0]
    what = (f"loss of {' and '.join(flat)} at step {at}, the paper's plateau of nets whose signal dies with depth "
            f"(5 % tolerance; the best constant output of the assumed task gives {zero_signal:.4g})")
    cid, paper_value = f"{task}_zero_signal_plateau", p["paper_zero_signal_loss"]
    if not paper_settings:
        return [not_run(cid, what, paper_value, f"{settings}: not the paper's settings", target=table_id)]
    curves = summary["short_curves"] if task == "score" and at <= p["short_steps"] else summary["curves"]
    measured = float(curves[(curves.step == at) & curves.method.isin(flat)]["best_of_k_median"].mean())
    # the interval of the mean of the methods' best-of-K medians: the mean of their intervals
    intervals = np.array([best_of_k_median_interval(runs_at(m, at), p["k_best"], 1 - p["alpha"]) for m in flat])
    lo, hi = intervals.mean(axis=0)
    return [value_claim(cid, what, measured, (lo, hi), paper_value, 0.05 * paper_value, target=table_id)]


def polynomial_orderings(summary, p, runs_at, present, last_step, paper_settings, settings) -> list[dict]:
    """Section 5's orderings of the polynomial (fig04) and the discarded large initialisations (fig07)."""
    out = []
    early = min(p["table_steps"][1], p["steps"])  # "the first few thousand steps": the table's second column
    new_vs_old = [(a, b) for a in LYAPUNOV if a in present for b in PREVIOUS if b in present]
    out.append(ordering_claim("poly_lyapunov_beats_previous_early",
                              "'All Lyapunov initializations outperform the previous initialization methods in the first few "
                              f"thousand training steps' (step {early}; {settings})",
                              comparisons(new_vs_old, runs_at, early, "<"), p["alpha"], lower_is_better=True,
                              target="fig04"))
    pairs = [(s, u) for s, u in SAMPLED_PAIRS if s in present and u in present]
    out.append(ordering_claim("poly_sampled_beats_unsampled",
                              f"'our sampled methods are ... strongly outperforming the unsampled methods' (step {last_step}; "
                              f"{settings})", comparisons(pairs, runs_at, last_step, "<"), p["alpha"], lower_is_better=True,
                              target="fig04"))
    out.append(discard_claim(summary["initial"], pairs, p["discard_factor"]))
    what = "'scaled orthogonal initialization eventually outperforms Lyapunov Gaussian initialization'"
    if not {"orthogonal", "lyapunov_gaussian"} <= present:
        out.append(not_run("poly_orthogonal_overtakes_lyapunov_gaussian", what, "", "the methods are not both trained",
                           target="fig04"))
    elif not paper_settings:
        out.append(not_run("poly_orthogonal_overtakes_lyapunov_gaussian", what, "",
                           f"{settings}: 'eventually' needs the paper's length of training", target="fig04"))
    else:
        out.append(ordering_claim("poly_orthogonal_overtakes_lyapunov_gaussian", f"{what} (step {last_step})",
                                  comparisons([("orthogonal", "lyapunov_gaussian")], runs_at, last_step, "<"),
                                  p["alpha"], lower_is_better=True, target="fig04"))
    return out


def discard_claim(initial: pd.DataFrame, pairs, factor: float) -> dict[str, Any]:
    """'the initializations with very large coefficients are discarded': the largest initial test
    loss over runs (before training: no training setting enters) is at least ``factor`` times
    smaller for each sampled method than for its unsampled version (reproduced), or that much larger
    for one (deviates: a large draw kept); maxima within the factor leave it not-run (no large draw
    among these runs to discard).  Replicated: the smallest log10(unsampled max / sampled max)."""
    cid, what = "poly_sampled_discard_large_inits", "'the initializations with very large coefficients are discarded'"
    counts = initial.groupby("method").size()
    if not pairs or min(counts.get(m, 0) for pair in pairs for m in pair) < 2:
        return not_run(cid, what, "", "fewer than 2 runs of a sampled method and its unsampled version", target="fig07")
    worst = {m: float(np.max(np.where(np.isfinite(v), v, np.inf)))
             for m, v in initial.groupby("method")["initial_loss"] if m in {x for pair in pairs for x in pair}}
    gaps = [math.log10(worst[u]) - math.log10(worst[s]) for s, u in pairs]
    gaps = [0.0 if math.isnan(g) else g for g in gaps]  # both diverged at init: nothing separates them
    margin = math.log10(factor)
    verdict = "reproduced" if min(gaps) >= margin else "deviates" if min(gaps) <= -margin else "not-run"
    return row(cid, f"{what}: the largest initial test loss over runs, sampled vs unsampled (" +
               "; ".join(f"{s} {worst[s]:.3g} vs {u} {worst[u]:.3g}" for s, u in pairs) +
               f"); replicated: the smallest log10 ratio unsampled/sampled (>= {margin:g}: discarded; within "
               f"+-{margin:g}: no large draw among these runs); no uncertainty (a maximum over the runs)", "",
               round(min(gaps), 6), math.nan, verdict, target="fig07")


def score_orderings(summary, p, runs_at, present, paper_settings, settings) -> list[dict]:
    """Appendix I's orderings of the score: fig09 (early) and fig10 (the crossing)."""
    out = []
    early = min(p["short_steps"], p["steps"])
    if "sampled_lyapunov_orthogonal" in present:
        others = [m for m in present if m != "sampled_lyapunov_orthogonal"]
        out.append(ordering_claim("score_sampled_orthogonal_fastest",
                                  f"'Sampled Lyapunov Orthogonal is the fastest learning initialization' (step {early}; {settings})",
                                  comparisons([("sampled_lyapunov_orthogonal", m) for m in _in_order(p, others)], runs_at,
                                              early, "<"), p["alpha"], lower_is_better=True, target="fig09"))
    sampled_vs_old = [(a, b) for a in ("sampled_lyapunov_gaussian", "sampled_lyapunov_orthogonal") if a in present
                      for b in ("he", "orthogonal") if b in present]
    out.append(ordering_claim("score_sampled_faster_than_existing",
                              "'the losses of both sampled Lyapunov methods decrease faster than with existing initialization "
                              f"methods' (step {early}; {settings})", comparisons(sampled_vs_old, runs_at, early, "<"),
                              p["alpha"], lower_is_better=True, target="fig09"))
    cid = "score_orthogonal_overtakes_then_sampled_gaussian_wins"
    what = ("'Orthogonal initialization overtakes after a few thousand training steps even Sampled Lyapunov Gaussian "
            "initialization, yet after longer scales Sampled Lyapunov Gaussian initialization outperforms Orthogonal'")
    if not {"orthogonal", "sampled_lyapunov_gaussian"} <= present:
        out.append(not_run(cid, what, "", "the methods are not both trained", target="fig10"))
    elif not paper_settings:
        out.append(not_run(cid, what, "", f"{settings}: 'after longer scales' needs the paper's length of training",
                           target="fig10"))
    else:
        curves = summary["curves"]
        o = curves[curves.method == "orthogonal"].set_index("step")["best_of_k_median"]
        g = curves[curves.method == "sampled_lyapunov_gaussian"].set_index("step")["best_of_k_median"]
        o, g = o.align(g, join="inner")
        overtakes = bool((o < g).any()) and bool(g.iloc[-1] < o.iloc[-1])
        out.append(row(cid, f"{what} (best-of-K median curves: orthogonal below at {int((o < g).sum())} of {len(o)} kept "
                       f"steps; at the last, {g.iloc[-1]:.3g} vs {o.iloc[-1]:.3g}); replicated: orthogonal minus sampled "
                       "Lyapunov Gaussian at the last step (> 0: the latter wins); no uncertainty (curves of order "
                       "statistics)", "", round(float(o.iloc[-1] - g.iloc[-1]), 6), math.nan,
                       "reproduced" if overtakes else "deviates", target="fig10"))
    return out


# ---- hyperparameter selection (Appendix H table, Table 7; fig08) -------------------------------

def _in_grid(grid: Mapping[str, Any], **values) -> bool:
    def options(key):
        return grid[key] if isinstance(grid[key], list) else [grid[key]]
    return all(any(math.isclose(v, o) for o in options(k)) for k, v in values.items())


def selection_claims(summary: Mapping[str, Any], p: Mapping[str, Any], paper_settings: bool) -> list[dict]:
    """Appendix H / Table 7: per method, whether the paper's selected (lr0, lr_final, batch) is in our
    grid and is what we select, and its average test loss (the mean of the best of K_best runs'
    final test loss at the selection) against ours with its bootstrap interval over runs.  Both
    depend on the grid searched and on the training length: judged at the paper's settings only."""
    out = []
    task = p["kind"]
    table_id = TABLE_IDS[task]
    final = summary["final"]
    settings = settings_note(p, f"{p['steps']} steps")
    for _, chosen in summary["chosen"].iterrows():
        if chosen.method not in p.get("paper_selected", {}):
            continue
        lr0, lr_final, batch, avg_loss = p["paper_selected"][chosen.method]
        paper = f"lr0 {lr0:g}, lr_final {lr_final:g}, batch {int(batch)}"
        cid = f"{task}_selected_{chosen.method}"
        what = f"{task}: hyperparameters selected for {chosen.method} (paper: {paper})"
        if not _in_grid(p["grid"], lr0=lr0, lr_final=lr_final, batch_size=batch):
            out.append(not_run(cid, what, "", "the paper's combination is not in this scale's grid", target=table_id))
        elif not paper_settings:
            out.append(not_run(cid, what, "", f"{settings}: not the paper's grid and training", target=table_id))
        else:
            same = (math.isclose(chosen.lr0, lr0) and math.isclose(chosen.lr_final, lr_final)
                    and int(chosen.batch_size) == batch)
            out.append(row(cid, f"{what}; ours: lr0 {chosen.lr0:g}, lr_final {chosen.lr_final:g}, batch "
                           f"{int(chosen.batch_size)}; replicated: 1 when the same, 0 otherwise; no uncertainty",
                           "", int(same), math.nan, "reproduced" if same else "deviates", target=table_id))
        runs = final[final.method == chosen.method]["final_loss"].to_numpy()
        k = min(p["k_best"], len(runs))
        cid = f"{task}_avg_test_loss_{chosen.method}"
        what = (f"{task}: average test loss at the selected hyperparameters, {chosen.method} (mean of the best of {k} of "
                f"{len(runs)} runs' final test loss, bootstrap over runs)")
        if not paper_settings:
            out.append(not_run(cid, what, avg_loss, f"{settings}: not the paper's settings, whose value this is",
                               target=table_id))
        else:
            out.append(value_claim(cid, what, float(chosen.selection_score),
                                   best_of_k_mean_interval(runs, k, 1 - p["alpha"]), avg_loss, 0.005, target=table_id))
    return out


def k_robustness_claim(task: str, picks: pd.DataFrame, p: Mapping[str, Any], paper_settings: bool) -> dict[str, Any]:
    """Appendix H: "our results are robust to the choice of K ... as long as we don't use [lost,
    probably K = 1]": the combination selected for every method is the same for every K >= 2 the
    runs allow (``picks``: k, method, combo; ``initlab.sweeps.lyapunov.best_of_k_selections``).
    With few runs over a reduced grid near-ties flip by chance: judged at the paper's settings only.
    Replicated: the number of methods whose selection changes with K."""
    ks = sorted(int(k) for k in picks.k.unique() if k >= 2)
    cid = f"{task}_robust_to_k"
    description = f"{task}: 'our results are robust to the choice of K' (selected combination per method for K in {ks})"
    if len(ks) < 2:
        return not_run(cid, description, "", "the runs allow fewer than two K >= 2", target="fig08")
    if not paper_settings:
        return not_run(cid, description, "", f"{settings_note(p, str(p['steps']) + ' steps')}: not the paper's seeds "
                       "and grid", target="fig08")
    at = picks[picks.k.isin(ks)]
    changed = sorted(m for m, combos in at.groupby("method")["combo"] if combos.nunique() > 1)
    return row(cid, description + (f"; changes with K for {', '.join(changed)}" if changed else "; never changes") +
               "; replicated: the number of methods whose selection changes; no uncertainty", "", len(changed),
               math.nan, "reproduced" if not changed else "deviates", target="fig08")
