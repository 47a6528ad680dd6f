"""The lyapunov paper's training experiments (initlab.sweeps.lyapunov): sampled-Lyapunov selection,
members and grids, the best-of-K selection, and a tiny end-to-end group whose summary the claim rules
(initlab.claims.lyapunov_training) turn into well-formed ledger rows."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from initlab.claims import lyapunov_training as claims
from initlab.nn.inits import InitSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.sweeps import lyapunov
from initlab.theory import lyapunov_tasks
from initlab.train.engine import seed_generator

SLOPE = 0.01


def small_params(**over):
    p = {"seed": 5, "slope": SLOPE, "in_features": 1, "width": 2, "hidden_layers": 6, "out_features": 1,
         "methods": {"he": {"method": "he_normal"},
                     "sampled_lyapunov_orthogonal": {"method": "lyapunov_orthogonal", "first": {"method": "lyapunov_gaussian"},
                                                     "last": {"method": "lyapunov_gaussian"}, "sampled": True}},
         "k_candidates": 6, "norm_target": 1.0, "probe_rows": 64, "runs": 3,
         "grid": {"lr0": [1e-3, 1e-2], "lr_final": [1e-4], "batch_size": [16, 32]}, "weight_decay": 0.01,
         "kind": "polynomial", "coefficients": [0.0, 6.0, 0.0, -6.0, 0.0, 1.0], "box": [-1.0, 1.0], "input_dim": 1,
         "steps": 40, "eval_every": 20, "eval_points": 200, "divergence_loss": 1e6, "smoothing_window": 5,
         "curve_stride": 5, "k_best": 2}
    p.update(over)
    return p


def test_sampled_init_keeps_the_candidate_closest_to_the_target_from_the_members_own_stream():
    spec = MLPSpec(3, 4, 8, 2, activation="leaky_relu", slope=SLOPE, bias_init="zero")
    init = InitSpec.parse({"method": "lyapunov_orthogonal", "slope": SLOPE, "width": 4,
                           "first": {"method": "scaled_orthogonal", "slope": SLOPE}, "candidates": 7, "norm_target": 1.0})
    model = BatchedMLP(spec)
    model.selection_inputs = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    seeds = [11, 12, 13]
    params = model.init([seed_generator(s, "init") for s in seeds], [init] * 3)
    chosen = model.selection["candidate"]
    for k, seed in enumerate(seeds):
        # Brute force: the member's stream drawn candidate after candidate, each ratio by a plain loop.
        g = seed_generator(seed, "init")
        candidates = [model.init_one(g, init) for _ in range(7)]
        ratios = []
        for cand in candidates:
            h = model.selection_inputs.double()
            for i in range(len(spec.shapes)):
                h = h @ cand[f"weight_{i}"].double().T
                if i < len(spec.shapes) - 1:
                    h = torch.nn.functional.leaky_relu(h, SLOPE)
            ratios.append(float((h.norm(dim=1) / model.selection_inputs.double().norm(dim=1)).mean()))
        best = int(np.argmin(np.abs(np.array(ratios) - 1.0)))
        assert int(chosen[k]) == best
        assert model.selection["norm_ratio"][k].item() == pytest.approx(ratios[best], rel=1e-9)
        for name, value in candidates[best].items():
            assert torch.equal(params[name][k], value)
    # the same member alone, or among others, makes the same choice
    alone = BatchedMLP(spec)
    alone.selection_inputs = model.selection_inputs
    alone.init([seed_generator(12, "init")], [init])
    assert int(alone.selection["candidate"][0]) == int(chosen[1])


def test_sampled_init_without_probe_inputs_fails_with_a_message():
    model = BatchedMLP(MLPSpec(3, 4, 2, 2, activation="leaky_relu", slope=SLOPE))
    init = InitSpec.parse({"method": "he_normal", "slope": SLOPE, "candidates": 3})
    with pytest.raises(ValueError, match="selection_inputs"):
        model.init([seed_generator(0, "init")], [init])


def test_init_spec_fills_slope_width_and_candidates():
    p = small_params()
    spec = lyapunov.init_spec(p["methods"]["sampled_lyapunov_orthogonal"], SLOPE, 2, 6, 1.0)
    assert spec.candidates == 6 and dict(spec.options) == {"slope": SLOPE, "width": 2}
    assert dict(spec.first.options) == {"slope": SLOPE, "width": 2}
    plain = lyapunov.init_spec(p["methods"]["he"], SLOPE, 2, 6, 1.0)
    assert plain.candidates == 1 and dict(plain.options) == {"slope": SLOPE}


def test_members_are_seed_major_with_global_combination_indices_and_shared_orders():
    p = small_params()
    group = lyapunov.members(p, "he", batch_size=32)
    assert len(group) == 3 * 2
    labels = pd.DataFrame([dict(m.labels) for m in group])
    assert list(labels["run"]) == [0, 0, 1, 1, 2, 2]
    grid = lyapunov.combinations(p)
    assert all(grid[c]["batch_size"] == 32 for c in labels["combo"])  # global grid index
    assert [m.order_seed for m in group] == [5, 5, 6, 6, 7, 7]
    assert group[1].lr_final_ratio == pytest.approx(1e-4 / 1e-2)
    with pytest.raises(ValueError, match="batch_size 64"):
        lyapunov.members(p, "he", batch_size=64)


def test_selection_by_best_of_k_prefers_the_combination_with_the_better_best_runs():
    # combo 0: runs 1, 1, 1, 1 (mean 1, best of 2 = 1); combo 1: runs 0.1, 0.2, 5, 5 (mean 2.6, best of 2 lower)
    rows = [{"method": "he", "combo": c, "run": r, "epoch": 3, "test_loss": v, "lr0": 1e-3, "lr_final": 1e-4,
             "weight_decay": 0.0, "batch_size": 16}
            for c, values in ((0, [1, 1, 1, 1]), (1, [0.1, 0.2, 5, 5])) for r, v in enumerate(values)]
    frame = pd.DataFrame(rows)
    assert lyapunov.best_of_k_selection(frame, "test_loss", 2).combo.iloc[0] == 1
    assert lyapunov.select_combination(frame, "test_loss", higher_is_better=False).combo.iloc[0] == 0  # by the mean


def test_task_targets_and_plateau_come_from_the_theory_module():
    p = small_params()
    x, y = lyapunov.task_sampler(p)(torch.Generator().manual_seed(0), 1000)
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(y.numpy().ravel(), x.numpy().ravel() ** 5 - 6 * x.numpy().ravel() ** 3 + 6 * x.numpy().ravel())
    # the best constant output's loss: Var p by the exact moments, and by Monte Carlo on the sampler
    assert lyapunov.zero_signal_loss(p) == pytest.approx(
        lyapunov_tasks.polynomial_moments(np.array(p["coefficients"]), (-1.0, 1.0))["variance"])
    _, many = lyapunov.task_sampler(p)(torch.Generator().manual_seed(1), 200_000)
    se = many.var().item() * math.sqrt(2 / 200_000) * 3
    assert abs(many.var().item() - lyapunov.zero_signal_loss(p)) < 5 * se
    score = {"kind": "score", "box": [-4.0, 4.0], "input_dim": 2, "weights": [0.5, 0.5],
             "means": [[-1.0, 0.0], [1.0, 0.0]], "covariances": [np.eye(2).tolist()] * 2}
    xs, ys = lyapunov.task_sampler(score)(torch.Generator().manual_seed(0), 50)
    np.testing.assert_allclose(ys.numpy(), lyapunov_tasks.mixture_score(xs.numpy(), np.array([0.5, 0.5]),
                                                                        np.array(score["means"]), np.eye(2)[None].repeat(2, 0)))


def test_step_curves_smooth_trailing_and_keep_every_stride():
    losses = np.arange(1, 21, dtype=float)[:, None] * np.ones((1, 2))
    steps, curve = lyapunov.step_curves(losses, "mean", 4, 5)
    assert list(steps) == [1, 5, 10, 15, 20]
    np.testing.assert_allclose(curve[:, 0], [1, 3.5, 8.5, 13.5, 18.5])


def test_a_tiny_polynomial_group_trains_and_summarises():
    p = small_params()
    groups = []
    for method in p["methods"]:
        metrics, result = lyapunov.train_task_group(p, p, method, 16, log=lambda m: None)
        assert result.step_loss.shape == (40, 3 * 2)
        assert (metrics.loc[metrics.epoch == 0, "init_candidate"] >= 0).all() == (method != "he")
        groups.append((metrics, lyapunov.task_curves(result.step_loss.numpy(), p)))
    summary = lyapunov.task_summary(groups, p)
    assert set(summary["chosen"].method) == set(p["methods"])
    assert set(summary["curves"].method) == set(p["methods"])
    assert summary["curves"].groupby("method").combo.nunique().max() == 1
    p_claims = {**p, "table_steps": [20, 40, 80], "paper_table": {m: [1.0, 1.0, 1.0] for m in p["methods"]},
                "z_tolerance": 3.0, "alpha": 0.05, "paper_zero_signal_loss": 3.2, "discard_factor": 10.0}
    rows = claims.task_claims(summary, lyapunov.task_table(summary, p_claims), p_claims, lyapunov.zero_signal_loss(p),
                              paper_settings=True)
    verdicts = {r["claim_id"]: r["verdict"] for r in rows}
    assert verdicts["table_poly_he_step80"] == "not-run"
    assert verdicts["table_poly_he_step40"] in ("reproduced", "deviates", "not-run")
    assert "poly_sampled_discard_large_inits" in verdicts
    assert all(isinstance(r["uncertainty"], float) and "," not in r["target"] for r in rows)


def test_best_of_k_selections_pick_per_k_among_the_ks_the_runs_allow():
    # combo 0: steady runs; combo 1: one excellent run and bad others -> best of 2 prefers combo 0,
    # best of 5 prefers combo 1
    rows = [{"method": "he", "combo": c, "run": r, "epoch": 3, "test_loss": v, "lr0": 1e-3, "lr_final": 1e-4,
             "weight_decay": 0.0, "batch_size": 16}
            for c, values in ((0, [1.0] * 6), (1, [0.01, 5, 5, 5, 5, 5])) for r, v in enumerate(values)]
    picks = lyapunov.best_of_k_selections(pd.DataFrame(rows), "test_loss", [1, 2, 5, 10])
    assert picks.set_index("k")["combo"].to_dict() == {1: 0, 2: 0, 5: 1}  # K = 10 > 6 runs: left out
