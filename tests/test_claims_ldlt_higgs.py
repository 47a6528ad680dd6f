"""Claim rules of the ldlt HIGGS sweep (initlab.claims.ldlt_higgs) on synthetic sweeps: every rule says
reproduced on a sweep built to satisfy the claim, deviates on one built against it, and not-run when
the sweep has too few members or levels or its interval straddles the claimed band's edge; every row
keeps the ledger's conventions (initlab.claims.row)."""

import itertools
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from initlab.claims import VERDICTS
from initlab.claims import ldlt_higgs as lc

DEPTHS = (5, 10, 15, 20, 25, 30)
SCALES = (1.0, 2.0, 4.0, 8.0, 10.0)
EPOCHS = (0, 1, 10, 30, 44)

# Thresholds of the rules.  The claimed magnitudes and regions are test values, not the paper's: the
# synthetic sweeps are built from them, so the tests check the rules, not the paper.
P = {"alpha": 0.05, "n_boot": 1000, "seed": 0, "min_members": 5, "auc_margin": 0.01, "chance_margin": 0.02,
     "chance_fraction_min": 0.8, "sgd_chance_scale_above": 3.0, "adamw_fail_depth_above": 22, "adamw_fail_scale_min": 7.0,
     "initial_grad_norm": [{"scale": 1.0, "grad_norm": 0.05}, {"scale": 10.0, "grad_norm": 0.005}],
     "magnitude_tolerance_decades": 0.5, "grad_collapse_norm": 1e-8, "collapse_fraction_max": 0.05,
     "cka_margin": 0.05, "cka_converge_epoch": 30, "stable_rank_one_tolerance": 0.5, "dead_fraction_max": 0.05,
     "he_scale": 1.0}

# Effects of a sweep in which every claim holds.
AS_CLAIMED = dict(
    sgd_test_by_scale={1.0: 0.75, 2.0: 0.70, 4.0: 0.5, 8.0: 0.5, 10.0: 0.5}, adamw_test_scale_slope=-0.005,
    test_depth_slope=-0.0003, adamw_region_effect=-0.05,
    sgd_val_scale_slope=-0.02, adamw_val=0.80, adamw_val_scale_slope=0.0, val_depth_slope=0.0,
    adamw_movement_ratio=10.0, movement_scale_power=-1.0,
    hessian_scale_power=-1.0, hessian_depth_slope={"sgd": -0.02, "adamw": 0.02},
    grad_scale_power=-1.0, grad_depth_slope=-0.02, initial_grad_factor=1.0, collapse=False,
    adamw_cka_final=0.1, adamw_cka_late_drift=0.0, adamw_cka_scale_slope=0.0, sgd_cka_rise=0.2,
    sgd_cka_scale_slope=-0.02, dead_fraction=0.01, grad_stable_rank=1.05, feature_stable_rank=1.1,
    feature_stable_rank_scale_slope=-0.005)


def sweep(depths=DEPTHS, scales=SCALES, folds=5, epochs=EPOCHS, seed=1, **effects):
    """Synthetic (metrics, features) tables of the ldlt contract with the given effects."""
    e = {**AS_CLAIMED, **effects}
    rng = np.random.default_rng(seed)
    m = pd.DataFrame(list(itertools.product(lc.OPTIMIZERS, depths, scales, range(folds))), columns=lc.GRID)
    m["member"] = np.arange(len(m))
    n, sgd, depth, scale = len(m), (m.optimizer == "sgd").to_numpy(), m.depth.to_numpy(), m.scale.to_numpy()
    centred_depth = depth - 17.5
    region = (depth > P["adamw_fail_depth_above"]) & (scale >= P["adamw_fail_scale_min"])
    sgd_test = m.scale.map(e["sgd_test_by_scale"]).to_numpy()
    adamw_test = 0.8 + e["adamw_test_scale_slope"] * scale + e["adamw_region_effect"] * region
    test = np.where(sgd, sgd_test, adamw_test) + e["test_depth_slope"] * centred_depth + rng.normal(0, 0.003, n)
    val = (np.where(sgd, 0.72 + e["sgd_val_scale_slope"] * scale, e["adamw_val"] + e["adamw_val_scale_slope"] * scale)
           + e["val_depth_slope"] * centred_depth + rng.normal(0, 0.003, n))
    movement = 0.01 * np.where(sgd, 1.0, e["adamw_movement_ratio"]) * scale ** e["movement_scale_power"]
    hessian_depth = np.where(sgd, e["hessian_depth_slope"]["sgd"], e["hessian_depth_slope"]["adamw"]) * depth
    hessian = scale ** e["hessian_scale_power"] * np.exp(hessian_depth + rng.normal(0, 0.1, n))
    grad0 = (e["initial_grad_factor"] * P["initial_grad_norm"][0]["grad_norm"] * scale ** e["grad_scale_power"]
             * np.exp(e["grad_depth_slope"] * centred_depth + rng.normal(0, 0.05, n)))
    sgd_cka_rise = e["sgd_cka_rise"] + e["sgd_cka_scale_slope"] * scale
    adamw_cka_final = e["adamw_cka_final"] + e["adamw_cka_scale_slope"] * scale
    rows = []
    for epoch in epochs:
        frac = epoch / max(epochs)
        settle = 1 - np.exp(-epoch / 5)
        grad = grad0 * (1 + epoch) ** -0.3
        if e["collapse"] and epoch == max(epochs):
            grad = np.where(depth >= 20, grad * 1e-9, grad)
        cka = np.where(sgd, 0.6 + sgd_cka_rise * settle,
                       adamw_cka_final + (0.6 - adamw_cka_final) * (1 - settle)
                       + e["adamw_cka_late_drift"] * (epoch > P["cka_converge_epoch"]))
        rows.append(m.assign(
            epoch=epoch, seed=m.fold, train_loss=np.nan if epoch == 0 else 0.6,
            val_auc=0.5 + (val - 0.5) * frac, test_auc=0.5 + (test - 0.5) * frac,
            hessian_trace=hessian * (0.5 + frac), hessian_trace_stderr=0.01, grad_norm=grad,
            movement=movement * frac, movement_max=movement * frac, cka=cka + rng.normal(0, 0.01, n),
            dead_fraction=e["dead_fraction"] * rng.uniform(0.5, 1.5, n),
            grad_stable_rank=e["grad_stable_rank"] * rng.uniform(0.95, 1.05, n), alive=True))
    metrics = pd.concat(rows, ignore_index=True)
    final_rank = (e["feature_stable_rank"] + e["feature_stable_rank_scale_slope"] * m.scale
                  + rng.normal(0, 0.01, n))
    features = []
    for epoch in (0, 1, max(epochs)):
        for layer in range(1, max(depths)):
            at = m[m.depth > layer]
            rank = final_rank[at.index] + 30 * np.exp(-1.5 * layer) if epoch == max(epochs) else 30.0 / layer
            features.append(at[[*lc.GRID, "member"]].assign(epoch=epoch, layer=layer, stable_rank=rank,
                                                            dead_fraction=0.01))
    return metrics, pd.concat(features, ignore_index=True)


# Per rule: the claim's row id and effects that contradict it.
AGAINST = {
    lc.depth_no_decay_fig06a: dict(val_depth_slope=-0.004),
    lc.depth_decreases_fig07: dict(test_depth_slope=0.002),
    lc.adamw_beats_sgd: dict(adamw_val=0.5),
    lc.sgd_val_auc_decreases_with_scale_fig06b: dict(sgd_val_scale_slope=0.02),
    lc.adamw_val_auc_no_scale_relation_fig06b: dict(adamw_val_scale_slope=0.01),
    lc.test_auc_decreases_with_scale_fig08: dict(sgd_test_by_scale={1.0: 0.5, 2.0: 0.55, 4.0: 0.6, 8.0: 0.7, 10.0: 0.75},
                                                 adamw_test_scale_slope=0.005, adamw_region_effect=0.0),
    lc.scale_drop_larger_for_sgd_fig08: dict(sgd_test_by_scale=dict.fromkeys(SCALES, 0.7), adamw_test_scale_slope=-0.01),
    lc.adamw_rich_sgd_lazy_fig09: dict(adamw_movement_ratio=0.1),
    lc.sharper_higher_auc_fig09: dict(hessian_scale_power=1.0),
    lc.hessian_decreases_with_scale_fig10a: dict(hessian_scale_power=1.0),
    lc.hessian_depth_sgd_down_adamw_up_fig10b: dict(hessian_depth_slope={"sgd": 0.02, "adamw": -0.02}),
    lc.movement_decreases_with_scale_fig11: dict(movement_scale_power=1.0),
    lc.grad_norm_decreases_with_depth_fig12a: dict(grad_depth_slope=0.02),
    lc.grad_norm_decreases_with_scale_fig12b: dict(grad_scale_power=1.0),
    lc.initial_grad_norm_fig12b: dict(initial_grad_factor=100.0),
    lc.no_gradient_collapse_fig12: dict(collapse=True),
    lc.sgd_chance_above_scale2: dict(sgd_test_by_scale={1.0: 0.75, 2.0: 0.74, 4.0: 0.73, 8.0: 0.72, 10.0: 0.71}),
    lc.adamw_fails_deep_large_scale_fig13: dict(adamw_region_effect=0.05),
    lc.adamw_cka_decreases_fig14: dict(adamw_cka_final=0.9),
    lc.adamw_cka_converged_fig14: dict(adamw_cka_late_drift=0.2),
    lc.adamw_cka_no_scale_depth_relation_fig14: dict(adamw_cka_scale_slope=0.03),
    lc.sgd_cka_increases_fig14: dict(sgd_cka_rise=-0.2),
    lc.sgd_cka_decreases_with_scale_fig14: dict(sgd_cka_scale_slope=0.02),
    lc.dead_neurons_minimal_fig16: dict(dead_fraction=0.3),
    lc.grad_stable_rank_one_fig17: dict(grad_stable_rank=5.0),
    lc.he_init_best: dict(sgd_test_by_scale={1.0: 0.5, 2.0: 0.55, 4.0: 0.6, 8.0: 0.7, 10.0: 0.75},
                          adamw_test_scale_slope=0.005),
    lc.feature_stable_rank_one_fig15: dict(feature_stable_rank=8.0),
    lc.feature_stable_rank_smaller_scale_fig15: dict(feature_stable_rank_scale_slope=0.005),
}
RULES = list(lc.METRIC_CLAIMS + lc.FEATURE_CLAIMS)


def check(rule, tables):
    metrics, features = tables
    return rule(features if rule in lc.FEATURE_CLAIMS else metrics, P)


@pytest.fixture(scope="module")
def as_claimed():
    return sweep()


def test_every_rule_has_a_contradicting_sweep():
    assert set(AGAINST) == set(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_rule_reproduces_on_a_sweep_that_satisfies_the_claim(rule, as_claimed):
    row = check(rule, as_claimed)
    assert row["verdict"] == "reproduced", row


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_rule_deviates_on_a_sweep_against_the_claim(rule):
    row = check(rule, sweep(**AGAINST[rule]))
    assert row["verdict"] == "deviates" and "Outcome: deviates" in row["description"], row


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_rule_is_not_run_with_one_member_per_optimizer(rule):
    row = check(rule, sweep(depths=(5,), scales=(1.0,), folds=1))
    assert row["verdict"] == "not-run" and "Not run:" in row["description"], row


def test_depth_rules_say_one_depth_level_and_scale_rules_still_run():
    tables = sweep(depths=(10,))
    for rule in (lc.depth_no_decay_fig06a, lc.depth_decreases_fig07, lc.grad_norm_decreases_with_depth_fig12a):
        row = check(rule, tables)
        assert row["verdict"] == "not-run" and "1 depth level" in row["description"], row
    assert check(lc.test_auc_decreases_with_scale_fig08, tables)["verdict"] == "reproduced"


def test_cka_convergence_is_not_run_when_training_stops_before_the_convergence_epoch():
    row = check(lc.adamw_cka_converged_fig14, sweep(epochs=(0, 1, 2)))
    assert row["verdict"] == "not-run" and "epochs trained" in row["description"]


def test_an_undecided_comparison_is_not_run_and_says_why():
    # AdamW and SGD equal in expectation, so the interval straddles 0 (checked for this seed).
    row = check(lc.adamw_beats_sgd, sweep(sgd_val_scale_slope=0.0, adamw_val=0.72))
    assert row["verdict"] == "not-run", row
    assert "Outcome: not-run" in row["description"] and "straddles the margin: cannot separate" in row["description"]
    assert math.isfinite(row["uncertainty"]) and row["uncertainty"] > 0


def test_he_best_is_not_run_when_two_scales_tie():
    # scales 1 and 2 equal in expectation for both optimizers: the support of scale 1 is neither
    # near 1 nor near 0 (checked for this seed).
    tied = {1.0: 0.75, 2.0: 0.75, 4.0: 0.5, 8.0: 0.5, 10.0: 0.5}
    row = check(lc.he_init_best, sweep(sgd_test_by_scale=tied, adamw_test_scale_slope=0.0, adamw_region_effect=0.0))
    assert row["verdict"] == "not-run" and "straddles the margin" in row["description"], row
    assert math.isnan(row["uncertainty"]) and "NaN (its bootstrap support is no interval)" in row["description"]


def test_higgs_claims_rows_ids_and_verdicts(as_claimed):
    rows = lc.higgs_claims(*as_claimed, P)
    ids = [row["claim_id"] for row in rows]
    assert len(ids) == len(set(ids)) == len(RULES) and all(i.startswith("higgs_") for i in ids)
    assert {row["verdict"] for row in rows} == {"reproduced"}
    smoke = lc.higgs_claims(*sweep(depths=(5, 10), scales=(1.0, 10.0), folds=2, epochs=(0, 1, 2)), P)
    assert all(row["verdict"] in VERDICTS for row in smoke)


def test_outcome_and_combine():
    assert lc.outcome(0.1, 0.2, low=0.0) == "reproduced"
    assert lc.outcome(-0.2, -0.1, low=0.0) == "deviates"
    assert lc.outcome(-0.1, 0.1, low=0.0) == "not-run"
    assert lc.outcome(-0.01, 0.02, -0.05, 0.05) == "reproduced"
    assert lc.outcome(0.06, 0.1, -0.05, 0.05) == "deviates"
    assert lc.outcome(np.nan, np.nan, low=0.0) == "not-run"
    assert lc.combine(["reproduced", "not-run"]) == "not-run"
    assert lc.combine(["not-run", "deviates"]) == "deviates"
    assert lc.combine(["reproduced", "reproduced"]) == "reproduced"


FIGURES = {f"fig{number:02d}" for number in range(6, 18)}  # the sweep's figures (inventory: fig06-fig17)


@pytest.mark.parametrize("effects", [{}, AGAINST[lc.adamw_beats_sgd], AGAINST[lc.grad_stable_rank_one_fig17],
                                     dict(depths=(5,), scales=(1.0,), folds=1),
                                     dict(depths=(5, 10), scales=(1.0, 10.0), folds=2, epochs=(0, 1, 2))],
                         ids=["as-claimed", "adamw-not-better", "high-gradient-rank", "one-member", "smoke-like"])
def test_every_row_keeps_the_ledger_conventions(effects):
    for row in lc.higgs_claims(*sweep(**effects), P):
        assert row["verdict"] in VERDICTS and row["kind"] == "claim", row
        assert isinstance(row["uncertainty"], float), row
        assert row["target"] in FIGURES, row
        # paper_value is a printed number or empty, never the quote (the quote is in the description)
        assert row["paper_value"] == "" or isinstance(row["paper_value"], float), row
        assert row["description"].startswith("'"), row
        if row["verdict"] != "not-run":
            assert isinstance(row["replicated_value"], float), row
            assert math.isfinite(row["uncertainty"]) or row["claim_id"] == "higgs_he_init_best", row


def test_targets_are_the_claims_own_figures(as_claimed):
    targets = {row["claim_id"]: row["target"] for row in lc.higgs_claims(*as_claimed, P)}
    assert targets["higgs_depth_no_decay_fig06a"] == targets["higgs_adamw_beats_sgd"] == "fig06"
    assert targets["higgs_hessian_depth_sgd_down_adamw_up_fig10b"] == "fig10"
    assert targets["higgs_adamw_cka_converged_by_epoch40_fig14"] == "fig14"
    assert targets["higgs_sgd_chance_above_scale2"] == "fig13"
    assert targets["higgs_he_init_best"] == "fig08"
    with pytest.raises(ValueError, match="names no figure"):
        lc.figure_of("higgs_adamw_beats_sgd")


def test_printed_numbers_are_paper_values_of_the_deciding_part(as_claimed):
    metrics, features = as_claimed
    # against: the epoch-0 gradients are 100x the claimed level at every scale, so the first scale decides
    row = check(lc.initial_grad_norm_fig12b, sweep(**AGAINST[lc.initial_grad_norm_fig12b]))
    assert row["verdict"] == "deviates"
    assert row["paper_value"] == pytest.approx(math.log10(P["initial_grad_norm"][0]["grad_norm"]))
    assert row["replicated_value"] == pytest.approx(row["paper_value"] + 2, abs=0.1)
    for rule, tables in ((lc.grad_stable_rank_one_fig17, metrics), (lc.feature_stable_rank_one_fig15, features)):
        assert rule(tables, P)["paper_value"] == lc.RANK_ONE
    # qualitative quotes print no number
    assert lc.depth_decreases_fig07(metrics, P)["paper_value"] == ""


def test_the_weakest_part_decides_a_reproduced_row():
    # two parts inside the band (-inf, 1.5): the second lies nearer its edge
    wide = lc.judged("adamw", 1.0, "CI", 0.9, 1.1, "", high=1.5)
    near = lc.judged("sgd", 1.3, "CI", 1.2, 1.4, "", high=1.5)
    assert lc.deciding_part([wide, near], "reproduced") is near
    row = lc.ledger_row("x_fig17", "'q'", "rule", [wide, near])
    assert row["replicated_value"] == 1.3 and row["uncertainty"] == pytest.approx(0.1) and row["target"] == "fig17"
    assert "replicated_value: sgd; uncertainty: the half-width of its CI" in row["description"]


def test_the_rules_import_no_torch():
    code = "import sys, initlab.claims.ldlt_higgs; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
