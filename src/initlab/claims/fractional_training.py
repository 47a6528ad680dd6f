"""Claim rules of the fractional paper's training experiments (shared/spec/sweeps.md part b): the MNIST
table and curves (fig05, table_mnist), the tail index of the gradient noise (fig06) and the CNN
(fig07).  Pure functions of the long metrics tables of ``initlab.sweeps.fractional`` (columns
init_name, run, epoch, alive and the metric columns; accuracies as fractions).

* ``cell_claim``: a table cell of the paper (mean and ddof = 0 std over its runs) against ours,
  Bonferroni over the cells: ``deviates`` when Welch's test rejects equal means, ``reproduced`` when
  the difference is shown to lie within ``cell_margin_sd`` paper s.d. (equivalence), else not-run.
* ``improvement_claim``: "a clear improvement" of one init over another: one-sided Mann-Whitney U
  on per-run values; reproduced when ``better`` is significantly larger, deviates when it is
  significantly smaller, not-run when neither (or when the runs are too few to reach alpha).
* ``band_claim``: a mean over runs lies in a band (its 95 % t interval inside, outside, or across
  an edge: reproduced, deviates, not-run).
* ``accuracy_claim``: a printed accuracy without a spread, within a tolerance (same three cases).
* ``not_training_claim``: runs "do not train": the Wilson interval of the fraction of runs above
  ``trained_accuracy`` lies below 1/2 (reproduced), above (deviates), or across (not-run).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from initlab.claims import row
from initlab.stats.compare import binomial_interval

# (quantity, record) of the paper's table, in its order; the records are the authors' logging.
TABLE_QUANTITIES = [("train_loss", "last_batch"), ("test_loss", "last_batch"),
                    ("train_accuracy", "running"), ("test_accuracy", "full_test")]
# The proper records beside them.
EXTRA_QUANTITIES = [("train_loss", "epoch_mean"), ("test_loss", "full_test")]
METRIC_COLUMN = {("train_loss", "last_batch"): "train_loss_last_batch", ("train_loss", "epoch_mean"): "train_loss",
                 ("test_loss", "last_batch"): "test_loss_last_batch", ("test_loss", "full_test"): "test_loss",
                 ("train_accuracy", "running"): "train_accuracy", ("test_accuracy", "full_test"): "test_accuracy"}


def final_values(metrics: pd.DataFrame, init_name: str, column: str, epoch: int) -> np.ndarray:
    """Values of ``column`` at ``epoch`` of the alive runs of ``init_name`` (diverged runs are
    excluded and counted separately)."""
    rows = metrics[(metrics["init_name"] == init_name) & (metrics["epoch"] == epoch) & metrics["alive"]]
    return rows[column].to_numpy(dtype=float)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def _stderr(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


def cell_claim(claim_id: str, what: str, ours, paper_mean: float, paper_std_ddof0: float, paper_runs: int,
               n_cells: int, *, margin_sd: float, target: str = "table_mnist", alpha: float = 0.05,
               min_runs: int = 3) -> dict[str, Any]:
    """One table cell: our mean over runs against the paper's (its std is ddof 0, converted to ddof 1),
    the difference with its Welch s.e. and d.o.f., family-wise ``alpha`` over ``n_cells`` (Bonferroni).
    ``deviates`` when Welch's test rejects equal means at alpha / n_cells; ``reproduced`` when the
    (1 - 2 alpha / n_cells) interval of the difference lies within +-``margin_sd`` paper s.d. (two
    one-sided tests: equivalence, not just "no difference found"); ``not-run`` otherwise, the runs
    being too few to tell.  Uncertainty: the half-width of that interval."""
    ours = np.asarray(ours, dtype=float)
    n = len(ours)
    if n < min_runs:
        return row(claim_id, f"{what}: only {n} run(s) at this scale (< {min_runs}); not compared", paper_mean,
                   _mean(ours), math.nan, "not-run", target=target)
    paper_std = paper_std_ddof0 * math.sqrt(paper_runs / (paper_runs - 1))
    ours_var, paper_var = ours.var(ddof=1) / n, paper_std**2 / paper_runs
    difference, stderr = float(ours.mean() - paper_mean), math.sqrt(ours_var + paper_var)
    margin, level = margin_sd * paper_std, alpha / n_cells
    if stderr == 0:
        p_value, half_width = (1.0 if difference == 0 else 0.0), 0.0
    else:
        dof = (ours_var + paper_var) ** 2 / (ours_var**2 / (n - 1) + paper_var**2 / (paper_runs - 1))
        p_value = float(2 * stats.t.sf(abs(difference) / stderr, dof))
        half_width = float(stats.t.ppf(1 - level, dof) * stderr)
    inside = abs(difference) + half_width <= margin
    verdict = "deviates" if p_value < level else "reproduced" if inside else "not-run"
    text = (f"{what}: mean over {n} runs - the paper's over {paper_runs} = {difference:.4g} "
            f"+- {half_width:.3g} ({100 * (1 - 2 * level):.2f} % interval; Welch p = {p_value:.3g}); deviates if "
            f"p < {level:.3g} = {alpha} / {n_cells} cells, reproduced if the interval lies within +-{margin:.3g} = "
            f"{margin_sd:g} paper s.d., not-run otherwise; uncertainty: the interval's half-width")
    if verdict == "not-run":
        text += " (not-run: the interval reaches past the margin: too few runs to show agreement)"
    return row(claim_id, text, paper_mean, float(ours.mean()), half_width, verdict, target=target)


def improvement_claim(claim_id: str, what: str, better, worse, *, target: str, alpha: float = 0.05
                      ) -> dict[str, Any]:
    """``better`` beats ``worse`` (larger is better): one-sided Mann-Whitney U over the runs in each
    direction.  Replicated value: the difference of means; uncertainty: its standard error."""
    better, worse = np.asarray(better, dtype=float), np.asarray(worse, dtype=float)
    n1, n2 = len(better), len(worse)
    smallest_p = 1.0 / math.comb(n1 + n2, n1) if n1 and n2 else 1.0
    diff = float(better.mean() - worse.mean()) if n1 and n2 else math.nan
    stderr = math.sqrt(better.var(ddof=1) / n1 + worse.var(ddof=1) / n2) if n1 > 1 and n2 > 1 else math.nan
    if smallest_p >= alpha:
        return row(claim_id, f"{what}: {n1} vs {n2} runs cannot reach p < {alpha} (smallest possible "
                   f"{smallest_p:.3g}); not judged at this scale", "", diff, stderr, "not-run", target=target)
    p_greater = float(stats.mannwhitneyu(better, worse, alternative="greater").pvalue)
    p_less = float(stats.mannwhitneyu(better, worse, alternative="less").pvalue)
    text = (f"{what}: difference of means over {n1} vs {n2} runs, uncertainty 1 s.e. (one-sided Mann-Whitney U: "
            f"p = {p_greater:.3g} for better, {p_less:.3g} for worse; decided below {alpha})")
    if p_greater < alpha:
        return row(claim_id, text, "", diff, stderr, "reproduced", target=target)
    if p_less < alpha:
        return row(claim_id, text, "", diff, stderr, "deviates", target=target)
    return row(claim_id, text + "; no significant difference either way: cannot tell at this scale", "", diff,
               stderr, "not-run", target=target)


def band_claim(claim_id: str, what: str, per_run, band: tuple[float, float], *, target: str,
               confidence: float = 0.95) -> dict[str, Any]:
    """The mean over runs of ``per_run`` lies in ``band``: its ``confidence`` t interval inside the
    band (reproduced), outside it (deviates), or across an edge (not-run: cannot tell).
    Uncertainty: the interval's half-width."""
    values = np.asarray(per_run, dtype=float)
    n = len(values)
    low_band, high_band = band
    if n < 2:
        return row(claim_id, f"{what}: {n} run(s): no interval at this scale", "", _mean(values), math.nan,
                   "not-run", target=target)
    mean, half = float(values.mean()), float(stats.t.ppf(0.5 + confidence / 2, n - 1) * _stderr(values))
    text = (f"{what}: mean over {n} runs {mean:.3f}, {confidence:.0%} t interval [{mean - half:.3f}, "
            f"{mean + half:.3f}] (uncertainty: its half-width) against the band [{low_band}, {high_band}]")
    if low_band <= mean - half and mean + half <= high_band:
        return row(claim_id, text, "", mean, half, "reproduced", target=target)
    if mean + half < low_band or mean - half > high_band:
        return row(claim_id, text, "", mean, half, "deviates", target=target)
    return row(claim_id, text + "; the interval crosses the band's edge: cannot tell", "", mean, half, "not-run",
               target=target)


def accuracy_claim(claim_id: str, what: str, ours, paper_value: float, tolerance: float, *, target: str
                   ) -> dict[str, Any]:
    """A printed accuracy without a spread: reproduced when the 95 % t interval of our mean lies
    within ``tolerance`` (percentage points) of it, deviates when the interval lies farther, else
    not-run.  Uncertainty: the interval's half-width."""
    values = np.asarray(ours, dtype=float)
    n = len(values)
    if n < 2:
        return row(claim_id, f"{what}: {n} run(s): no interval at this scale", paper_value, _mean(values),
                   math.nan, "not-run", target=target)
    mean, half = float(values.mean()), float(stats.t.ppf(0.975, n - 1) * _stderr(values))
    text = (f"{what}: mean over {n} runs {mean:.2f} %, 95 % t interval [{mean - half:.2f}, {mean + half:.2f}] "
            f"(uncertainty: its half-width); agreement within {tolerance} percentage points of {paper_value}")
    if paper_value - tolerance <= mean - half and mean + half <= paper_value + tolerance:
        return row(claim_id, text, paper_value, mean, half, "reproduced", target=target)
    if mean + half < paper_value - tolerance or mean - half > paper_value + tolerance:
        return row(claim_id, text, paper_value, mean, half, "deviates", target=target)
    return row(claim_id, text + "; the interval crosses the tolerance: cannot tell", paper_value, mean, half,
               "not-run", target=target)


def not_training_claim(claim_id: str, what: str, final_accuracy, trained_accuracy: float, *, target: str,
                       confidence: float = 0.95) -> dict[str, Any]:
    """Runs "do not train": the fraction of runs whose final accuracy exceeds ``trained_accuracy``
    is below 1/2 with ``confidence`` (Wilson interval; uncertainty: its half-width)."""
    acc = np.asarray(final_accuracy, dtype=float)
    k, n = int((acc > trained_accuracy).sum()), len(acc)
    if n == 0:
        return row(claim_id, f"{what}: no alive runs at this scale", "", math.nan, math.nan, "not-run",
                   target=target)
    low, high = binomial_interval(k, n, confidence, "wilson")
    text = (f"{what}: {k}/{n} runs reach test accuracy > {trained_accuracy:.0%} (Wilson {confidence:.0%} "
            f"[{low:.2f}, {high:.2f}]; uncertainty: its half-width)")
    verdict = "reproduced" if high < 0.5 else "deviates" if low > 0.5 else "not-run"
    if verdict == "not-run":
        text += "; too few runs to tell at this scale"
    return row(claim_id, text, "", k / n, (high - low) / 2, verdict, target=target)


def claims(metrics: pd.DataFrame, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claims row of table_mnist (one per printed cell) and fig05 (the improvement of
    ``p["improvement"]`` and Xavier not training)."""
    epoch = int(metrics["epoch"].max())
    paper, paper_epochs, paper_runs = p["paper_table"], p["paper_epochs"], p["paper_runs"]
    std_scale = 100.0 if p["paper_accuracy_std_is_fraction"] else 1.0
    reduced = [f"{epoch} epochs" if epoch != paper_epochs else "",
               f"{p['train_rows']} training images" if p["train_rows"] is not None else "",
               f"{p['test_rows']} test images" if p["test_rows"] is not None else ""]
    reduced = ", ".join(r for r in reduced if r)
    out = []
    cells = [(init_name, quantity, record) for init_name in paper for quantity, record in TABLE_QUANTITIES]
    for init_name, quantity, record in cells:
        cid = f"table_mnist_{init_name}_{quantity}".replace("=", "").replace(".", "")
        mean, std = paper[init_name][quantity]
        scale = 100.0 if quantity.endswith("accuracy") else 1.0
        what = f"Fig. 5 table, {init_name}, {quantity.replace('_', ' ')} ({record}) at epoch {paper_epochs}"
        if reduced:
            out.append(row(cid, f"{what}: this scale runs a reduced experiment ({reduced}); not compared",
                           mean, math.nan, math.nan, "not-run", target="table_mnist"))
            continue
        ours = scale * final_values(metrics, init_name, METRIC_COLUMN[quantity, record], epoch)
        out.append(cell_claim(cid, what, ours, mean, std * (std_scale if scale == 100.0 else 1.0), paper_runs,
                              len(cells), margin_sd=p["cell_margin_sd"], alpha=p["alpha"]))
    final_acc = {name: final_values(metrics, name, "test_accuracy", epoch) for name in p["inits"]}
    better, worse = p["improvement"]
    out.append(improvement_claim(
        "fig05_s08_beats_kaiming", f"'clear improvement' of {better} over {worse}: final test accuracy (epoch {epoch}, "
        "percentage points)", 100 * final_acc[better], 100 * final_acc[worse], target="fig05", alpha=p["alpha"]))
    out.append(not_training_claim(
        "fig05_xavier_does_not_train", f"Xavier does not train (epoch {epoch})", final_acc[p["not_training"]],
        p["trained_accuracy"], target="fig05"))
    return out


def tail_index_claims(metrics: pd.DataFrame, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Fig. 6: "heavy tails arise starting from the initial iterations with a tail index alpha
    around 1" for the s-init (``claim_init``), judged on the estimates at ``claim_epochs``."""
    name = p["claim_init"]
    early = metrics[(metrics["init_name"] == name) & metrics["epoch"].isin(p["claim_epochs"]) & metrics["alive"]]
    per_run = early.groupby("run")["tail_index"].mean().to_numpy()
    epochs = ", ".join(str(e) for e in p["claim_epochs"])
    return [band_claim("fig06_tail_index_about_1", f"'tail index alpha around 1' from the first iterations: tail "
                       f"index of the gradient noise, {name} init, per-run mean of the estimates at epochs {epochs} "
                       "(0 = initialisation)", per_run, tuple(p["claim_band"]), target="fig06")]


def cnn_claims(metrics: pd.DataFrame, p: dict[str, Any], excluded: list[str]) -> list[dict[str, Any]]:
    """Fig. 7: the MNIST test accuracy of the s-init after ``paper_epochs`` (printed); the s-init
    better than Kaiming 'especially in the first 30 epochs' on MNIST (mean test accuracy over epochs
    1..early_epochs per run) and over all epochs on CIFAR-10; a dataset left out by config gives
    not-run rows."""
    better, worse = p["improvement"]
    out = []
    for dataset in p["datasets"]:
        if dataset in excluded:
            ids = ([f"fig07_{dataset}_accuracy"] if dataset == "mnist" else []) + [f"fig07_{dataset}_s_beats_kaiming"]
            out += [row(cid, f"Fig. 7 {dataset}: not run: this run leaves {dataset} out (config exclude_datasets, "
                        "or no fixture at the smoke scale)", "", math.nan, math.nan, "not-run", target="fig07")
                    for cid in ids]
            continue
        m = metrics[(metrics["dataset"] == dataset) & (metrics["epoch"] >= 1)]
        last = int(m["epoch"].max())
        horizon = min(p["early_epochs"], last) if dataset == "mnist" else last

        def per_run(name):
            rows = m[(m["init_name"] == name) & (m["epoch"] <= horizon)]
            alive_runs = rows.groupby("run")["alive"].all()
            means = rows.groupby("run")["test_accuracy"].mean()
            return 100 * means[alive_runs].to_numpy()

        out.append(improvement_claim(
            f"fig07_{dataset}_s_beats_kaiming", f"Fig. 7 {dataset}: {better} better than {worse}: test accuracy "
            f"averaged over epochs 1..{horizon} (percentage points)", per_run(better), per_run(worse), target="fig07",
            alpha=p["alpha"]))
        if dataset == "mnist":
            final = 100 * final_values(m, better, "test_accuracy", last)
            what = f"Fig. 7 MNIST test accuracy of {better} after {last} epochs (paper: after {p['paper_epochs']})"
            reduced = last != p["paper_epochs"] or p["train_rows"] is not None or p["test_rows"] is not None
            if reduced:
                out.append(row("fig07_mnist_accuracy", f"{what}: a reduced experiment at this scale; not compared",
                               p["paper_mnist_test_accuracy"], _mean(final), math.nan, "not-run", target="fig07"))
            else:
                out.append(accuracy_claim("fig07_mnist_accuracy", what, final, p["paper_mnist_test_accuracy"],
                                          p["accuracy_tolerance"], target="fig07"))
    return out
