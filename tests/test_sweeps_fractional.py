"""The fractional paper's training experiments (initlab.sweeps.fractional): members, data, training
groups and summaries (their claim rules: tests/test_claims_fractional_training.py)."""

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


def test_tail_index_group():
    g = torch.Generator().manual_seed(1)
    from initlab.train import Data
    x = torch.randn(256, 784, generator=g)
    y = torch.randint(0, 10, (256,), generator=g)
    p = {**P, "layers": 3, "runs": 2, "epochs": 1, "estimate_on": "train", "inits": {"s=1": {"method": "fractional_s",
         "s": 1.0}, "kaiming": {"method": "kaiming_normal"}}}
    metrics, result = fr.train_tail_index_group(Data(x[:192], y[:192], x[192:], y[192:]), p, log=lambda m: None)
    assert metrics["tail_index"].notna().all() and len(metrics) == 4 * 2
    summary = fr.tail_index_summary(metrics)
    assert set(summary["epoch"]) == {0, 1} and (summary["runs"] == 2).all()


CNN_P = {"seed": 7, "arch": "paper", "width": 8, "relu_on_logits": True, "runs": 2, "pairing": "independent",
         "inits": {"kaiming": {"method": "kaiming_normal"}, "s=0.8": {"method": "fractional_s", "s": 0.8}},
         "datasets": ["mnist", "cifar10"], "epochs": 2, "batch_size": 16, "lr": 0.01, "weight_decay": 1e-4,
         "lr_milestones": [1], "lr_gamma": 0.1, "normalise": [0.5, 0.5], "augment": {"mnist": False, "cifar10": True},
         "divergence_loss": 1e6, "checkpoint_every": 1, "eval_batch_size": 64, "train_rows": None, "test_rows": None}


def test_cnn_groups_with_augmentation():
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
