"""The ldlt HIGGS sweep's groups (initlab.sweeps.ldlt): folds, members, the per-epoch metrics
against per-member brute force, and resuming a killed group."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from initlab.config import resolve
from initlab.nn.ldlt_net import LDLTNet
from initlab.sweeps import ldlt
from initlab.train.engine import per_seed_loss


def _params(**changes):
    with open("config/ldlt.yaml") as fh:
        p = resolve(yaml.safe_load(fh)["ldlt"]["higgs"], "smoke")
    p.update(width=6, depths=[3], epochs=2, folds=[0, 2], scales=[1.0, 8.0], probe_rows=40, hutchinson_probes=3,
             eval_batch_size=50, batch_size=32)
    p.update(changes)
    return p


def _split(n_train=300, n_test=120, seed=0):
    rng = np.random.default_rng(seed)
    x_train, x_test = rng.normal(size=(n_train, 28)).astype(np.float32), rng.normal(size=(n_test, 28)).astype(np.float32)
    w = rng.normal(size=28)
    y_train, y_test = (x_train @ w > 0).astype(np.int64), (x_test @ w > 0).astype(np.int64)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def test_folds_are_stratified_disjoint_and_cover_the_training_part():
    p = _params(folds=[0, 1, 2, 3, 4])
    y = np.r_[np.zeros(203), np.ones(97)].astype(np.int64)
    train_rows, val_rows, dropped = ldlt.cv_folds(y, p)
    assert sorted(np.concatenate([v.numpy() for v in val_rows]).tolist()) == list(range(300))
    for k, val in enumerate(val_rows):
        assert not set(train_rows[k].tolist()) & set(val.tolist())
        assert abs(y[val.numpy()].mean() - y.mean()) < 0.02  # stratified
    assert train_rows.shape == (5, 240) and dropped == 0


def test_members_share_init_and_order_within_a_fold():
    members = ldlt.members(_params(), 3, "adamw")
    assert [(dict(m.labels)["fold"], dict(m.labels)["scale"]) for m in members] == [(0, 1.0), (0, 8.0), (2, 1.0), (2, 8.0)]
    assert members[0].seed == members[1].seed != members[2].seed
    assert [m.train_subset for m in members] == [0, 0, 1, 1]


def test_group_metrics_match_per_member_brute_force():
    p = _params()
    split = _split(n_train=301)  # folds of 61 and 60 validation rows: members scored on unequal folds
    metrics, features, result, facts = ldlt.train_group(split, p, 3, "adamw", log=lambda _: None)
    assert {"val_auc", "test_auc", "hessian_trace", "hessian_trace_stderr", "grad_norm", "movement", "movement_max",
            "cka", "dead_fraction", "grad_stable_rank"} <= set(metrics.columns)
    assert not any(c.startswith("feature_") for c in metrics.columns)
    assert (metrics.query("epoch == 0").movement == 0).all()
    assert np.allclose(metrics.groupby("member").movement.cummax(), metrics.movement_max)
    assert sorted(features.epoch.unique()) == [0, 1, 2] and sorted(features.layer.unique()) == [1, 2]
    # movement and gradient norm of one member, recomputed alone
    data, val_rows, _ = ldlt.higgs_data(split, p)
    assert len(val_rows[0]) != len(val_rows[1])
    model = ldlt.BatchedLDLT(ldlt.net_spec(p, 3))
    members = ldlt.members(p, 3, "adamw")
    start = model.init([ldlt.seed_generator(m.seed, "init") for m in members], [m.init for m in members])
    s = 3
    final = {k: v[s] for k, v in result.params.items()}
    moved = np.sqrt(sum(float((final[f"weight_{k}"] - start[f"weight_{k}"][s]).pow(2).sum()) for k in range(3)))
    norm0 = np.sqrt(sum(float(start[f"weight_{k}"][s].pow(2).sum()) for k in range(3)))
    last = metrics.query("epoch == 2 and member == @s").iloc[0]
    assert last.movement == pytest.approx(moved / norm0, rel=1e-5)
    net = LDLTNet(model.spec, final)
    rows = data.train_subsets[members[s].train_subset, :p["probe_rows"]]
    loss = per_seed_loss(net(data.x_train[rows]).unsqueeze(0), data.y_train[rows].unsqueeze(0), "bce")[0]
    grads = torch.autograd.grad(loss, list(net.parameters()))
    assert last.grad_norm == pytest.approx(float(torch.sqrt(sum(g.pow(2).sum() for g in grads))), rel=1e-4)
    # validation AUC on the member's own held-out fold, for a member of each fold
    from sklearn.metrics import roc_auc_score
    for member in (0, s):
        alone = LDLTNet(model.spec, {k: v[member] for k, v in result.params.items()})
        val = val_rows[members[member].train_subset]
        with torch.no_grad():
            scores = alone(data.x_train[val])[:, 0].numpy()
        row = metrics.query("epoch == 2 and member == @member").iloc[0]
        assert row.val_auc == pytest.approx(roc_auc_score(data.y_train[val].numpy(), scores), abs=1e-6)


def test_a_killed_group_resumes_to_the_same_numbers(tmp_path):
    p = _params(epochs=3)
    whole, *_ = ldlt.train_group(_split(), p, 3, "sgd", log=lambda _: None)

    def killed(line):
        if line.startswith("epoch 2/"):
            raise KeyboardInterrupt
    checkpoint = tmp_path / "group.pt"
    with pytest.raises(KeyboardInterrupt):
        ldlt.train_group(_split(), p, 3, "sgd", checkpoint=checkpoint, log=killed)
    assert checkpoint.exists()
    resumed, _, result, _ = ldlt.train_group(_split(), p, 3, "sgd", checkpoint=checkpoint, log=lambda _: None)
    assert result.resumed_from_epoch == 1
    pd.testing.assert_frame_equal(whole, resumed)


def test_parse_group_names_the_expected_form():
    assert ldlt.parse_group("d15_adamw") == (15, "adamw")
    with pytest.raises(ValueError, match="d<depth>_"):
        ldlt.parse_group("15_adam")
