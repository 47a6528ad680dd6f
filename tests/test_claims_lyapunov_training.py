"""Claim rules of the lyapunov training experiments (initlab.claims.lyapunov_training) on synthetic
summaries whose right verdict is known by construction: each rule says reproduced, deviates and
(where it has one) not-run, and every row of a job is well-formed (numeric uncertainty, one known
target id)."""

import math

import numpy as np
import pandas as pd
import pytest

from initlab.claims import lyapunov_training as claims
from initlab.stats import order_stats

METHODS = ["glorot", "he", "orthogonal", "lyapunov_gaussian", "lyapunov_orthogonal", "sampled_lyapunov_gaussian",
           "sampled_lyapunov_orthogonal"]
TARGETS = {"table_mnist", "fig03", "fig06", "table_poly", "fig04", "fig07", "fig08", "table_score", "fig09", "fig10"}
# synthetic per-method loss levels (lower is better) ordered as the quotes claim: Lyapunov below the
# previous methods, sampled below unsampled
LEVEL = dict(zip(METHODS, [3.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5]))


def well_formed(rows):
    for r in rows:
        assert isinstance(r["uncertainty"], float), r["claim_id"]
        assert r["target"] in TARGETS, (r["claim_id"], r["target"])
        assert r["paper_value"] == "" or isinstance(r["paper_value"], (int, float)), r["claim_id"]
        assert r["verdict"] in ("reproduced", "deviates", "not-run")


# ---- building blocks ---------------------------------------------------------------------------

def test_value_claim_judges_the_paper_value_against_the_interval():
    assert claims.value_claim("c", "x", 50.0, (49.0, 51.0), 51.3, 0.5, target="table_mnist")["verdict"] == "reproduced"
    off = claims.value_claim("c", "x", 50.0, (49.0, 51.0), 54.0, 0.5, target="table_mnist")
    assert off["verdict"] == "deviates" and off["uncertainty"] == pytest.approx(1.0)
    assert claims.value_claim("c", "x", math.nan, (0, 1), 54.0, 0.5, target="table_mnist")["verdict"] == "deviates"
    # an interval far wider than the value (a few runs with losses of 1e10) separates nothing
    wide = claims.value_claim("c", "x", 1.2, (0.1, 2e10), 0.8, 0.005, target="table_poly")
    assert wide["verdict"] == "not-run" and wide["uncertainty"] == pytest.approx(1e10, rel=1e-6)


def test_bootstrap_interval_of_the_best_of_k_median_resists_diverged_runs():
    rng = np.random.default_rng(0)
    values = rng.normal(1.0, 0.1, 100)
    lo, hi = claims.best_of_k_median_interval(values, 5)
    assert lo < order_stats.best_of_k_median(values, 5) < hi and hi - lo < 0.2
    # three diverged runs of 100: percentiles stay near the healthy runs where a s.e. would be ~1e11
    lo2, hi2 = claims.best_of_k_median_interval(np.r_[values[:97], [1e12] * 3], 5)
    assert hi2 < 2.0
    assert all(math.isnan(v) for v in claims.best_of_k_median_interval(values[:1], 5))


def test_better_probability_is_one_when_every_run_is_better_and_a_half_when_alike():
    assert claims.better_probability(np.array([1.0, 2.0]), np.array([3.0, 4.0]), lower_is_better=True)[0] == 1.0
    assert claims.better_probability(np.ones(5), np.ones(5), lower_is_better=True) == (0.5, 0.0)


def test_ordering_claim_reproduced_deviates_and_not_run():
    rng = np.random.default_rng(0)
    good, bad = rng.normal(0, 1, 30), rng.normal(2, 1, 30)  # overlapping, yet clearly ordered
    ok = claims.ordering_claim("c", "a < b", [("a<b", good, bad)], 0.05, True, target="fig04")
    assert ok["verdict"] == "reproduced" and ok["paper_value"] == "" and 0.8 < ok["replicated_value"] < 1
    assert 0 < ok["uncertainty"] < 0.1
    assert claims.ordering_claim("c", "a < b", [("a<b", bad, good)], 0.05, True, target="fig04")["verdict"] == "deviates"
    # one pair significantly reversed -> deviates, even if the other pair holds
    two = claims.ordering_claim("c", "", [("1", good, bad), ("2", bad, good)], 0.05, True, target="fig04")
    assert two["verdict"] == "deviates" and "2 significantly the other way" in two["description"]
    # alike methods: the runs do not separate them -> not-run, never deviates
    alike = claims.ordering_claim("c", "", [("1", good, rng.normal(0, 1, 30))], 0.05, True, target="fig04")
    assert alike["verdict"] == "not-run"
    # diverged runs (NaN) count as the worst
    diverged = np.full(30, np.nan)
    assert claims.ordering_claim("c", "", [("1", good, diverged)], 0.05, True, target="fig04")["verdict"] == "reproduced"
    # two runs each: no ordering reaches the level
    assert claims.ordering_claim("c", "", [("1", good[:2], bad[:2])], 0.05, True, target="fig04")["verdict"] == "not-run"
    assert claims.ordering_claim("c", "", [], 0.05, True, target="fig04")["verdict"] == "not-run"


# ---- MNIST -------------------------------------------------------------------------------------

def mnist_params(**over):
    p = {"methods": {m: {} for m in METHODS}, "runs": 30, "grid": {"lr0": [1e-3, 1e-2], "weight_decay": [0.01]},
         "table_epochs": [1, 5, 15], "z_tolerance": 3.0, "alpha": 0.05}
    p.update(over)
    return p


def mnist_runs(epochs=5, runs=30, reverse=False, seed=0):
    """Accuracy rising with the epoch, higher for the methods the quotes favour (``reverse``: the
    sampled methods worse than the unsampled ones)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, m in enumerate(METHODS):
        rank = i if not (reverse and m.startswith("sampled")) else i - 3
        for e in range(epochs + 1):
            for r in range(runs):
                rows.append({"method": m, "epoch": e, "run": r,
                             "test_accuracy": 0.1 + 0.05 * rank * e / epochs + rng.normal(0, 0.005)})
    frame = pd.DataFrame(rows)
    curves = (frame.groupby(["method", "epoch"])["test_accuracy"]
              .agg(mean_test_accuracy="mean", stderr=lambda v: v.std(ddof=1) / math.sqrt(len(v)), runs="count")
              .reset_index())
    return frame, curves


def paper_table_from(curves, epochs, shift=0.0):
    return {m: [float(100 * curves[(curves.method == m) & (curves.epoch == e)].mean_test_accuracy.iloc[0]) + shift
                if e <= curves.epoch.max() else 50.0 for e in epochs] for m in METHODS}


def test_mnist_table_cells_reproduced_deviates_and_not_run():
    runs, curves = mnist_runs()
    p = mnist_params()
    verdicts = lambda p, paper: {r["claim_id"]: r["verdict"] for r in claims.mnist_claims(runs, curves, p, paper)}
    same = verdicts({**p, "paper_table": paper_table_from(curves, p["table_epochs"])}, True)
    assert same["table_mnist_he_epoch5"] == "reproduced" and same["table_mnist_he_epoch15"] == "not-run"
    off = verdicts({**p, "paper_table": paper_table_from(curves, p["table_epochs"], shift=5.0)}, True)
    assert off["table_mnist_he_epoch5"] == "deviates"
    reduced = verdicts({**p, "paper_table": paper_table_from(curves, p["table_epochs"])}, False)
    assert reduced["table_mnist_he_epoch5"] == "not-run"


def test_mnist_orderings_follow_the_runs():
    p = mnist_params()
    runs, curves = mnist_runs()
    p = {**p, "paper_table": paper_table_from(curves, p["table_epochs"])}
    rows = {r["claim_id"]: r for r in claims.mnist_claims(runs, curves, p, paper_settings=False)}
    assert rows["mnist_lyapunov_beats_previous"]["verdict"] == "reproduced"
    assert rows["mnist_sampled_better_early"]["verdict"] == "reproduced"
    assert rows["mnist_unsampled_better_later"]["verdict"] == "not-run"  # 5 epochs trained, the quote is later
    runs, curves = mnist_runs(reverse=True)
    rows = {r["claim_id"]: r for r in claims.mnist_claims(runs, curves, p, paper_settings=False)}
    assert rows["mnist_sampled_better_early"]["verdict"] == "deviates"
    runs, curves = mnist_runs(epochs=20, reverse=True)
    rows = {r["claim_id"]: r for r in claims.mnist_claims(runs, curves, p, paper_settings=True)}
    assert rows["mnist_unsampled_better_later"]["verdict"] == "reproduced"
    few, few_curves = mnist_runs(runs=2)
    rows = {r["claim_id"]: r for r in claims.mnist_claims(few, few_curves, p, paper_settings=False)}
    assert rows["mnist_lyapunov_beats_previous"]["verdict"] == "not-run"


# ---- polynomial and score ----------------------------------------------------------------------

def task_params(kind="polynomial", **over):
    methods = METHODS if kind == "polynomial" else ["he", "orthogonal", "sampled_lyapunov_gaussian",
                                                      "sampled_lyapunov_orthogonal"]
    p = {"kind": kind, "methods": {m: {} for m in methods}, "runs": 30, "steps": 2000, "k_best": 5, "alpha": 0.05,
         "grid": {"lr0": [1e-3, 1e-2], "lr_final": [1e-4], "batch_size": [500]},
         "table_steps": [500, 2000, 7000] if kind == "polynomial" else [100, 1000, 20000],
         "short_steps": 1000, "paper_zero_signal_loss": 3.0, "k_profile": [1, 2, 3, 5], "discard_factor": 10.0}
    p.update(over)
    return p


def task_summary(p, level=LEVEL, runs=None, seed=0):
    """A summary as initlab.sweeps.lyapunov.task_summary builds it: per-run losses around ``level``
    at the kept steps, the best-of-K median curves over them, the selection and the final losses."""
    rng = np.random.default_rng(seed)
    runs = runs or p["runs"]
    steps = sorted({*p["table_steps"], p["steps"]} - {s for s in p["table_steps"] if s > p["steps"]})
    run_rows = pd.DataFrame([{"method": m, "step": s, "run": r, "loss": level[m] * (1 + rng.normal(0, 0.02))}
                             for m in p["methods"] for s in steps for r in range(runs)])

    def curves_of(frame):
        return (frame.groupby(["method", "step"])["loss"]
                .apply(lambda v: float(order_stats.best_of_k_median(v.to_numpy(), min(p["k_best"], len(v)))))
                .rename("best_of_k_median").reset_index().assign(combo=0, k_best=min(p["k_best"], runs), runs=runs))

    final = run_rows[run_rows.step == p["steps"]].rename(columns={"loss": "final_loss"})
    chosen = pd.DataFrame([{"method": m, "combo": 0, "lr0": 1e-3, "lr_final": 1e-4, "weight_decay": 0.01,
                            "batch_size": 500,
                            "selection_score": float(order_stats.best_of_k_mean(final[final.method == m].final_loss.to_numpy(),
                                                                                min(p["k_best"], runs)))}
                           for m in p["methods"]])
    initial = pd.DataFrame([{"method": m, "run": r, "initial_loss": 10.0 ** (1 + 10 * r / runs * (not m.startswith("sampled")))}
                            for m in p["methods"] for r in range(runs)])
    summary = {"runs": run_rows, "curves": curves_of(run_rows), "final": final, "chosen": chosen, "initial": initial}
    if p["kind"] == "score":
        short = run_rows[run_rows.step <= p["short_steps"]]
        summary.update(short_runs=short, short_curves=curves_of(short))
    return summary


def table_of(summary, p):
    curves = pd.concat([summary["short_curves"][summary["short_curves"].step <= p["short_steps"]],
                        summary["curves"][summary["curves"].step > p["short_steps"]]]) if p["kind"] == "score" else summary["curves"]
    return curves[curves.step.isin(p["table_steps"])].reset_index(drop=True)


def with_paper_values(p, summary, scale=1.0):
    """The paper's values set to the synthetic truth (times ``scale``)."""
    table = table_of(summary, p)
    paper_table = {m: [float(table[(table.method == m) & (table.step == s)].best_of_k_median.iloc[0]) * scale
                       if s <= p["steps"] else 1.0 for s in p["table_steps"]] for m in p["methods"]}
    selected = {row.method: [1e-3, 1e-4, 500, row.selection_score * scale] for row in summary["chosen"].itertuples()}
    return {**p, "paper_table": paper_table, "paper_selected": selected,
            "paper_zero_signal_loss": float(np.mean([LEVEL["glorot"], LEVEL["he"]])) * scale}


@pytest.mark.parametrize("kind", ["polynomial", "score"])
def test_task_table_cells_selection_and_plateau_reproduced_deviates_and_not_run(kind):
    p = task_params(kind)
    summary = task_summary(p)
    table_id = claims.TABLE_IDS[kind]
    first = "he"

    def verdicts(p, paper_settings):
        rows = claims.task_claims(summary, table_of(summary, p), p, 3.0, paper_settings)
        well_formed(rows)
        return {r["claim_id"]: r["verdict"] for r in rows}

    same = verdicts(with_paper_values(p, summary), True)
    step = p["table_steps"][0]
    assert same[f"{table_id}_{first}_step{step}"] == "reproduced"
    assert same[f"{table_id}_{first}_step{p['table_steps'][-1]}"] == "not-run"  # not trained
    assert same[f"{kind}_avg_test_loss_{first}"] == "reproduced"
    assert same[f"{kind}_selected_{first}"] == "reproduced"
    off = verdicts(with_paper_values(p, summary, scale=1.5), True)
    assert off[f"{table_id}_{first}_step{step}"] == "deviates"
    assert off[f"{kind}_avg_test_loss_{first}"] == "deviates"
    reduced = verdicts(with_paper_values(p, summary), False)
    assert reduced[f"{table_id}_{first}_step{step}"] == "not-run"
    assert reduced[f"{kind}_avg_test_loss_{first}"] == "not-run"
    assert reduced[f"{kind}_selected_{first}"] == "not-run"
    if kind == "polynomial":  # Glorot and He sit at the plateau in the synthetic summary
        assert same["polynomial_zero_signal_plateau"] == "reproduced"
        assert off["polynomial_zero_signal_plateau"] == "deviates"
        assert reduced["polynomial_zero_signal_plateau"] == "not-run"


def test_selection_claims_say_deviates_for_another_choice_and_not_run_outside_the_grid():
    p = task_params()
    summary = task_summary(p)
    p = with_paper_values(p, summary)
    p["paper_selected"]["he"] = [1e-2, 1e-4, 500, p["paper_selected"]["he"][3]]       # in the grid, not ours
    p["paper_selected"]["glorot"] = [0.1, 1e-4, 500, p["paper_selected"]["glorot"][3]]  # not in the grid
    rows = {r["claim_id"]: r for r in claims.selection_claims(summary, p, paper_settings=True)}
    assert rows["polynomial_selected_he"]["verdict"] == "deviates"
    assert rows["polynomial_selected_glorot"]["verdict"] == "not-run"
    assert rows["polynomial_selected_orthogonal"]["verdict"] == "reproduced"
    well_formed(rows.values())


def test_polynomial_orderings_reproduced_deviates_and_not_run():
    p = task_params()

    def rows(level, paper_settings=False, runs=None):
        summary = task_summary(p, level, runs)
        p_full = with_paper_values(p, summary)
        return {r["claim_id"]: r for r in claims.task_claims(summary, table_of(summary, p), p_full, 3.0, paper_settings)}

    claimed = rows(LEVEL)
    assert claimed["poly_lyapunov_beats_previous_early"]["verdict"] == "reproduced"
    assert claimed["poly_sampled_beats_unsampled"]["verdict"] == "reproduced"
    assert claimed["poly_sampled_discard_large_inits"]["verdict"] == "reproduced"
    assert claimed["poly_orthogonal_overtakes_lyapunov_gaussian"]["verdict"] == "not-run"  # 'eventually': paper length
    orthogonal_wins = rows({**LEVEL, "orthogonal": 1.8}, paper_settings=True)
    assert orthogonal_wins["poly_orthogonal_overtakes_lyapunov_gaussian"]["verdict"] == "reproduced"
    assert rows(LEVEL, paper_settings=True)["poly_orthogonal_overtakes_lyapunov_gaussian"]["verdict"] == "deviates"
    swapped = rows({**LEVEL, "sampled_lyapunov_gaussian": 2.5, "lyapunov_gaussian": 1.0})
    assert swapped["poly_sampled_beats_unsampled"]["verdict"] == "deviates"
    alike = rows({**LEVEL, "sampled_lyapunov_gaussian": 2.0}, runs=30)
    assert alike["poly_sampled_beats_unsampled"]["verdict"] == "not-run"
    assert rows(LEVEL, runs=2)["poly_lyapunov_beats_previous_early"]["verdict"] == "not-run"


def test_discard_claim_compares_the_largest_initial_losses():
    pairs = [("sampled_lyapunov_gaussian", "lyapunov_gaussian")]
    frame = lambda s, u: pd.DataFrame({"method": ["sampled_lyapunov_gaussian"] * 3 + ["lyapunov_gaussian"] * 3,
                                       "initial_loss": s + u})
    assert claims.discard_claim(frame([3, 3, 4], [3, 1e9, np.nan]), pairs, 10.0)["verdict"] == "reproduced"
    assert claims.discard_claim(frame([3, 3, 1e9], [3, 4, 5]), pairs, 10.0)["verdict"] == "deviates"
    assert claims.discard_claim(frame([3, 3, 4], [3, 3, 4]), pairs, 10.0)["verdict"] == "not-run"  # nothing to discard
    assert claims.discard_claim(frame([3, 3, 4], [3, 3, 20]), pairs, 10.0)["verdict"] == "not-run"  # not an order larger
    assert claims.discard_claim(frame([3, 3, 4], [3, 3, 4]), [], 10.0)["verdict"] == "not-run"


def test_score_orderings_reproduced_deviates_and_not_run():
    p = task_params("score")

    def rows(level, paper_settings=False):
        summary = task_summary(p, level)
        return {r["claim_id"]: r for r in claims.task_claims(summary, table_of(summary, p), with_paper_values(p, summary),
                                                              3.0, paper_settings)}

    claimed = rows(LEVEL)
    assert claimed["score_sampled_orthogonal_fastest"]["verdict"] == "reproduced"
    assert claimed["score_sampled_faster_than_existing"]["verdict"] == "reproduced"
    assert claimed["score_orthogonal_overtakes_then_sampled_gaussian_wins"]["verdict"] == "not-run"
    slow = rows({**LEVEL, "sampled_lyapunov_orthogonal": 4.0})
    assert slow["score_sampled_orthogonal_fastest"]["verdict"] == "deviates"
    assert slow["score_sampled_faster_than_existing"]["verdict"] == "deviates"
    # constant levels: orthogonal never below sampled Lyapunov Gaussian -> the crossing deviates
    assert rows(LEVEL, True)["score_orthogonal_overtakes_then_sampled_gaussian_wins"]["verdict"] == "deviates"


def test_score_crossing_reproduced_when_orthogonal_leads_then_falls_behind():
    p = task_params("score")
    summary = task_summary(p)
    curves = summary["curves"].copy()
    steps = sorted(curves.step.unique())
    o = curves.method == "orthogonal"
    curves.loc[o, "best_of_k_median"] = np.where(curves.loc[o, "step"] == steps[-1], 2.0, 0.5)
    rows = {r["claim_id"]: r for r in claims.task_claims({**summary, "curves": curves}, table_of(summary, p),
                                                          with_paper_values(p, summary), 3.0, True)}
    assert rows["score_orthogonal_overtakes_then_sampled_gaussian_wins"]["verdict"] == "reproduced"


# ---- fig08 -------------------------------------------------------------------------------------

def test_k_robustness_claim_reproduced_deviates_and_not_run():
    p = task_params()
    steady = pd.DataFrame({"k": [1, 2, 3, 5, 1, 2, 3, 5], "method": ["he"] * 4 + ["glorot"] * 4,
                           "combo": [1, 0, 0, 0, 2, 2, 2, 2]})
    assert claims.k_robustness_claim("polynomial", steady, p, True)["verdict"] == "reproduced"  # K = 1 is left out
    changes = steady.assign(combo=[1, 0, 0, 3, 2, 2, 2, 2])
    row = claims.k_robustness_claim("polynomial", changes, p, True)
    assert row["verdict"] == "deviates" and row["replicated_value"] == 1 and row["target"] == "fig08"
    assert claims.k_robustness_claim("polynomial", changes, p, False)["verdict"] == "not-run"
    assert claims.k_robustness_claim("polynomial", steady[steady.k <= 2], p, True)["verdict"] == "not-run"


# ---- every row well-formed ---------------------------------------------------------------------

@pytest.mark.parametrize("paper_settings", [True, False])
def test_every_row_is_well_formed(paper_settings):
    runs, curves = mnist_runs()
    p = mnist_params()
    rows = claims.mnist_claims(runs, curves, {**p, "paper_table": paper_table_from(curves, p["table_epochs"])},
                               paper_settings)
    for kind in ("polynomial", "score"):
        tp = task_params(kind)
        summary = task_summary(tp)
        tp = with_paper_values(tp, summary)
        rows += claims.task_claims(summary, table_of(summary, tp), tp, 3.0, paper_settings)
        rows += claims.selection_claims(summary, tp, paper_settings)
    picks = pd.DataFrame({"k": [2, 3], "method": ["he", "he"], "combo": [0, 0]})
    rows.append(claims.k_robustness_claim("score", picks, task_params("score"), paper_settings))
    well_formed(rows)
