"""The fractional paper's MNIST experiment (initlab.sweeps.fractional): members, data, summaries, and
every claim rule on synthetic runs where it must say reproduced, deviates and not-run."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from initlab.nn.models import MLP
from initlab.sweeps import fractional as fr

P = {"seed": 100, "width": 8, "layers": 4, "relu_on_logits": True, "runs": 3, "pairing": "independent",
     "inits": {"s=0.8": {"method": "fractional_s", "s": 0.8}, "kaiming": {"method": "kaiming_normal"},
               "xavier": {"method": "xavier_normal"}},
     "epochs": 2, "batch_size": 32, "lr": 0.01, "divergence_loss": 1e6, "checkpoint_every": 1, "eval_batch_size": 50,
     "train_rows": None, "test_rows": None}


def test_members_independent_and_paired():
    independent = fr.members(P)
    assert len(independent) == 9 and len({m.seed for m in independent}) == 9
    assert [dict(m.labels)["init_name"] for m in independent[::3]] == ["xavier", "kaiming", "s=0.8"]
    paired = fr.members({**P, "pairing": "paired"})
    by_run = {}
    for m in paired:
        by_run.setdefault(dict(m.labels)["run"], set()).add(m.seed)
    assert all(len(seeds) == 1 for seeds in by_run.values()) and len(by_run) == 3


def test_paper_order():
    assert fr.ordered(["s=0.8", "other", "kaiming", "xavier", "random_walk"]) == \
        ["xavier", "random_walk", "kaiming", "s=0.8", "other"]


def test_mnist_data_normalisation_and_subsets():
    raw = {"train_images": np.array([[[0, 255]], [[51, 102]], [[1, 2]]], dtype=np.uint8),
           "train_labels": np.array([3, 4, 5]), "test_images": np.array([[[255, 0]]], dtype=np.uint8),
           "test_labels": np.array([7])}
    data = fr.mnist_data(raw)
    assert torch.equal(data.x_train[0], torch.tensor([-1.0, 1.0]))
    assert data.x_train[1].tolist() == pytest.approx([51 / 127.5 - 1, 102 / 127.5 - 1])
    sub = fr.mnist_data(raw, train_rows=2, seed=4)
    again = fr.mnist_data(raw, train_rows=2, seed=4)
    assert torch.equal(sub.y_train, again.y_train) and len(sub.y_train) == 2
    assert sorted(sub.y_train.tolist()) == sub.y_train.tolist()


def test_last_batch_rows():
    assert fr.last_batch_rows(10000, 128) == 16 and fr.last_batch_rows(60000, 128) == 96
    assert fr.last_batch_rows(256, 128) == 128


def synthetic_metrics(values: dict[str, list[float]], epochs=(1, 30), alive=None) -> pd.DataFrame:
    """Long metrics with one value per run used for every column (accuracies as fractions / 100)."""
    rows = []
    for name, runs in values.items():
        for r, v in enumerate(runs):
            for epoch in epochs:
                ok = True if alive is None else alive.get((name, r), True)
                rows.append({"init_name": name, "run": r, "seed": r, "epoch": epoch, "alive": ok,
                             "train_loss": v, "train_loss_last_batch": v, "test_loss": v, "test_loss_last_batch": v,
                             "train_accuracy": v / 100, "test_accuracy": v / 100})
    return pd.DataFrame(rows)


def test_final_table_statistics_and_diverged_runs():
    metrics = synthetic_metrics({"kaiming": [10.0, 20.0, 60.0], "xavier": [5.0, 7.0]},
                                alive={("kaiming", 2): False})
    paper = {"kaiming": {"train_loss": [1.0, 0.5], "test_loss": [1, 1], "train_accuracy": [80.0, 0.15],
                         "test_accuracy": [79.0, 0.15]}}
    table = fr.final_table(metrics, ["kaiming", "xavier"], paper)
    row = table[(table.init == "kaiming") & (table.quantity == "train_loss") & (table.record == "last_batch")].iloc[0]
    assert row["runs"] == 2 and row["runs_diverged"] == 1
    assert row["mean"] == 15.0 and row["std"] == 5.0 and row["stderr"] == pytest.approx(5.0)  # ddof 0 / ddof 1
    acc = table[(table.init == "kaiming") & (table.quantity == "test_accuracy")].iloc[0]
    assert acc["mean"] == pytest.approx(15.0) and acc["paper_std"] == pytest.approx(15.0) and acc["units"] == "%"
    assert math.isnan(table[(table.init == "xavier")].iloc[0]["paper_mean"])
    as_printed = fr.final_table(metrics, ["kaiming"], paper, paper_accuracy_std_is_fraction=False)
    assert as_printed[as_printed.quantity == "test_accuracy"].iloc[0]["paper_std"] == pytest.approx(0.15)


def test_cell_claim_reproduces_deviates_and_refuses_small_samples():
    rng = np.random.default_rng(0)
    same = rng.normal(0.6, 0.42, 20)
    assert fr.cell_claim("c", "cell", same, 0.6, 0.42, 20, n_cells=16)["verdict"] == "reproduced"
    shifted = rng.normal(0.6 + 3 * 0.42, 0.42, 20)
    out = fr.cell_claim("c", "cell", shifted, 0.6, 0.42, 20, n_cells=16)
    assert out["verdict"] == "deviates" and "Welch" in out["description"]
    assert out["uncertainty"] == pytest.approx(shifted.std(ddof=1) / math.sqrt(20))
    assert fr.cell_claim("c", "cell", [0.6, 0.7], 0.6, 0.42, 20, n_cells=16)["verdict"] == "not-run"
    # Bonferroni: a difference significant alone (p ~ 0.01) is not over 16 cells
    borderline = same - same.mean() + 0.6 + 2.6 * math.sqrt(same.var(ddof=1) / 20 + 0.42**2 * 20 / 19 / 20)
    assert fr.cell_claim("c", "cell", borderline, 0.6, 0.42, 20, n_cells=1)["verdict"] == "deviates"
    assert fr.cell_claim("c", "cell", borderline, 0.6, 0.42, 20, n_cells=16)["verdict"] == "reproduced"


def test_improvement_claim():
    rng = np.random.default_rng(1)
    worse = rng.normal(80, 5, 20)
    assert fr.improvement_claim("i", "x", worse + 6, worse[::-1])["verdict"] == "reproduced"
    out = fr.improvement_claim("i", "x", rng.normal(80, 5, 20), worse)
    assert out["verdict"] == "deviates" and abs(out["replicated_value"]) < 3 * out["uncertainty"]
    assert fr.improvement_claim("i", "x", [90, 91], [10, 11])["verdict"] == "not-run"  # best p = 1/6
    assert fr.improvement_claim("i", "x", [90, 91, 92], [10, 11, 12])["verdict"] == "not-run"  # best p = 1/20
    assert fr.improvement_claim("i", "x", [90, 91, 92, 93], [10, 11, 12, 13])["verdict"] == "reproduced"  # 1/70


def test_not_training_claim():
    assert fr.not_training_claim("n", "x", np.full(10, 0.11), 0.5)["verdict"] == "reproduced"
    assert fr.not_training_claim("n", "x", np.full(10, 0.95), 0.5)["verdict"] == "deviates"
    assert fr.not_training_claim("n", "x", [0.1, 0.1], 0.5)["verdict"] == "not-run"
    assert fr.not_training_claim("n", "x", [0.1] * 5 + [0.9] * 5, 0.5)["verdict"] == "not-run"


def claim_params(**over):
    paper = {name: {"train_loss": [0.5, 0.3], "test_loss": [0.5, 0.3], "train_accuracy": [85.0, 0.1],
                    "test_accuracy": [85.0, 0.1]} for name in ("kaiming", "s=0.8", "xavier")}
    return {"paper_table": paper, "paper_epochs": 30, "paper_runs": 20, "paper_accuracy_std_is_fraction": True,
            "train_rows": None, "test_rows": None, "alpha": 0.05, "inits": {"kaiming": {}, "s=0.8": {}, "xavier": {}},
            "improvement": ["s=0.8", "kaiming"], "not_training": "xavier", "trained_accuracy": 0.5, **over}


def test_claims_at_paper_settings_and_reduced_scales():
    rng = np.random.default_rng(2)
    metrics = synthetic_metrics({"kaiming": list(rng.normal(80, 5, 20)), "s=0.8": list(rng.normal(90, 5, 20)),
                                 "xavier": list(rng.normal(11, 1, 20))})
    out = {c["claim_id"]: c for c in fr.claims(metrics, claim_params())}
    assert len([c for c in out if c.startswith("table_mnist_")]) == 12
    assert out["fig05_s08_beats_kaiming"]["verdict"] == "reproduced"
    assert out["fig05_xavier_does_not_train"]["verdict"] == "reproduced"
    # the synthetic losses (about 80) are far from the paper's 0.5: those cells deviate
    assert out["table_mnist_kaiming_train_loss"]["verdict"] == "deviates"
    reduced = {c["claim_id"]: c for c in fr.claims(metrics, claim_params(train_rows=10000))}
    assert reduced["table_mnist_kaiming_train_loss"]["verdict"] == "not-run"
    assert "10000 training images" in reduced["table_mnist_kaiming_train_loss"]["description"]


def test_train_group_records_the_authors_last_test_batch():
    g = torch.Generator().manual_seed(0)
    from initlab.train import Data
    x = torch.randn(300, 784, generator=g)
    y = torch.randint(0, 10, (300,), generator=g)
    data = Data(x[:200], y[:200], x[200:], y[200:])
    metrics, result = fr.train_group(data, P, log=lambda m: None)
    assert len(metrics) == 9 * 3 and set(metrics["init_name"]) == set(P["inits"])
    tail = fr.last_batch_rows(100, 32)  # 4 images
    last = metrics[metrics.epoch == 2].set_index("member")
    spec = fr.fc_spec(P)
    for s in (0, 4):
        out = MLP(spec, {k: v[s] for k, v in result.params.items()})(data.x_test[-tail:])
        assert last.loc[s, "test_loss_last_batch"] == pytest.approx(F.cross_entropy(out, data.y_test[-tail:]).item(),
                                                                    rel=1e-5)
    summary = fr.curve_summary(metrics)
    assert set(summary["record"]) == {"last_batch", "epoch_mean", "running", "full_test"}
    assert (summary[summary.quantity.str.endswith("accuracy")]["mean"] <= 100).all()


def test_band_claim():
    assert fr.band_claim("b", "x", [0.98, 1.02, 1.0, 0.99], (0.75, 1.25))["verdict"] == "reproduced"
    assert fr.band_claim("b", "x", [1.9, 1.95, 2.0, 1.92], (0.75, 1.25))["verdict"] == "deviates"
    assert fr.band_claim("b", "x", [1.2, 1.3, 1.25, 1.28], (0.75, 1.25))["verdict"] == "not-run"  # on the edge
    assert fr.band_claim("b", "x", [1.0], (0.75, 1.25))["verdict"] == "not-run"


def test_tail_index_group_and_claim():
    g = torch.Generator().manual_seed(1)
    from initlab.train import Data
    x = torch.randn(256, 784, generator=g)
    y = torch.randint(0, 10, (256,), generator=g)
    p = {**P, "layers": 3, "runs": 2, "epochs": 1, "estimate_on": "train", "inits": {"s=1": {"method": "fractional_s",
         "s": 1.0}, "kaiming": {"method": "kaiming_normal"}}, "claim_init": "s=1", "claim_epochs": [0, 1],
         "claim_band": [0.0, 5.0]}
    metrics, result = fr.train_tail_index_group(Data(x[:192], y[:192], x[192:], y[192:]), p, log=lambda m: None)
    assert metrics["tail_index"].notna().all() and len(metrics) == 4 * 2
    summary = fr.tail_index_summary(metrics)
    assert set(summary["epoch"]) == {0, 1} and (summary["runs"] == 2).all()
    [row] = fr.tail_index_claims(metrics, p)
    assert row["claim_id"] == "fig06_tail_index_about_1" and row["verdict"] in ("reproduced", "not-run")
    [far] = fr.tail_index_claims(metrics, {**p, "claim_band": [10.0, 11.0]})
    assert far["verdict"] == "deviates"


def test_accuracy_claim():
    assert fr.accuracy_claim("a", "x", [98.3, 98.4, 98.35, 98.38], 98.36, 0.5)["verdict"] == "reproduced"
    assert fr.accuracy_claim("a", "x", [97.0, 97.1, 97.05, 97.02], 98.36, 0.5)["verdict"] == "deviates"
    assert fr.accuracy_claim("a", "x", [97.9, 98.6, 97.5, 98.9], 98.36, 0.5)["verdict"] == "not-run"
    assert fr.accuracy_claim("a", "x", [98.4], 98.36, 0.5)["verdict"] == "not-run"


CNN_P = {"seed": 7, "arch": "paper", "width": 8, "relu_on_logits": True, "runs": 2, "pairing": "independent",
         "inits": {"kaiming": {"method": "kaiming_normal"}, "s=0.8": {"method": "fractional_s", "s": 0.8}},
         "datasets": ["mnist", "cifar10"], "epochs": 2, "batch_size": 16, "lr": 0.01, "weight_decay": 1e-4,
         "lr_milestones": [1], "lr_gamma": 0.1, "normalise": [0.5, 0.5], "augment": {"mnist": False, "cifar10": True},
         "divergence_loss": 1e6, "checkpoint_every": 1, "eval_batch_size": 64, "train_rows": None, "test_rows": None,
         "alpha": 0.05, "improvement": ["s=0.8", "kaiming"], "early_epochs": 30, "accuracy_tolerance": 0.5,
         "paper_mnist_test_accuracy": 98.36, "paper_epochs": 50}


def test_cnn_groups_with_augmentation_and_claims():
    raw = {"train_images": np.random.default_rng(0).integers(0, 256, (48, 3, 32, 32), dtype=np.uint8),
           "train_labels": np.arange(48) % 10, "test_images": np.zeros((20, 3, 32, 32), dtype=np.uint8),
           "test_labels": np.arange(20) % 10}
    data = fr.cifar10_data(raw)
    assert data.x_train.shape == (48, 3, 32, 32) and data.x_test.min() == -1.0
    cifar, result = fr.train_cnn_group(data, "cifar10", CNN_P, log=lambda m: None)
    assert set(cifar["dataset"]) == {"cifar10"} and result.alive.all()
    mnist_raw = {"train_images": np.random.default_rng(1).integers(0, 256, (48, 28, 28), dtype=np.uint8),
                 "train_labels": np.arange(48) % 10, "test_images": np.zeros((20, 28, 28), dtype=np.uint8),
                 "test_labels": np.arange(20) % 10}
    mnist, _ = fr.train_cnn_group(fr.mnist_data(mnist_raw, flatten=False), "mnist", CNN_P, log=lambda m: None)
    metrics = pd.concat([mnist, cifar], ignore_index=True)
    summary = fr.cnn_summary(metrics)
    assert set(summary["dataset"]) == {"mnist", "cifar10"} and (summary["runs"] == 2).all()
    claims = {c["claim_id"]: c for c in fr.cnn_claims(metrics, CNN_P, excluded=[])}
    assert set(claims) == {"fig07_mnist_s_beats_kaiming", "fig07_mnist_accuracy", "fig07_cifar10_s_beats_kaiming"}
    assert claims["fig07_mnist_accuracy"]["verdict"] == "not-run"  # 2 epochs, not the paper's 50
    excluded = {c["claim_id"]: c for c in fr.cnn_claims(mnist, CNN_P, excluded=["cifar10"])}
    assert excluded["fig07_cifar10_s_beats_kaiming"]["verdict"] == "not-run"
    assert "exclude_datasets" in excluded["fig07_cifar10_s_beats_kaiming"]["description"]
