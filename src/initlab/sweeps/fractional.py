"""The fractional paper's MNIST experiment (Gurbuzbalaban & Hu, Section 5, Figure 5 and its table):
a fully connected ReLU net of width 64 and 20 linear maps trained by SGD from four inits, every run
of every init a member of one batched model.

Settings follow the authors' public code (shared/spec/sweeps.md b.3): the 20 weight matrices get
the init, biases keep nn.Linear's default, ReLU also on the logits (``relu_on_logits``), pixels
normalised to [-1, 1], SGD lr 0.01, batch 128, 30 epochs.  Their logged losses are the last
minibatch's (train: 96 images; test: the last 16 test images) and their train accuracy is the
running accuracy over the epoch; both records and the proper ones (epoch-mean train loss, full
test loss) are kept.  ``loss_shown`` says which a figure shows.

The tail-index experiment (Fig. 6): a 5-layer width-64 ReLU net on MNIST at batch 32 from the
s = 1 init (and Kaiming beside it), the tail index of the gradient noise (Simsekli et al. 2019's
estimator, ``initlab.train.gradient_noise``) at initialisation and after every epoch, for every run.

The CNN experiment (Fig. 7): one convolutional and four fully connected layers of width 64 (the
paper's text; the public CIFAR-10 script's 2 conv + 20 FC net as ``arch: public_code``), Kaiming
vs the s-init on the FC layers, SGD as the authors' CIFAR-10 script (lr 0.01, weight decay 1e-4,
batch 512, lr / 10 from epoch 32), flip-and-crop augmentation on CIFAR-10, MNIST and CIFAR-10
trained as separate groups.

Its claim rules are in ``initlab.claims.fractional_training`` (torch-free).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from initlab.claims.fractional_training import (EXTRA_QUANTITIES, METRIC_COLUMN, TABLE_QUANTITIES,
                                               final_values)
from initlab.nn.conv import BatchedCNN, CNNSpec
from initlab.nn.inits import InitSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.train.augment import random_flip_crop
from initlab.train.engine import Data, TrainResult, TrainSettings, evaluate, train
from initlab.train.gradient_noise import tail_indices
from initlab.train.members import Member

MNIST_CLASSES = 10
MNIST_PIXELS = 28 * 28
# The paper's order of the inits (legend and table); labels not listed follow in their config order.
PAPER_ORDER = ("xavier", "random_walk", "kaiming", "s=0.8")


def ordered(labels) -> list[str]:
    """Init labels in the paper's order."""
    labels = list(labels)
    return sorted(labels, key=lambda name: (PAPER_ORDER.index(name) if name in PAPER_ORDER else len(PAPER_ORDER),
                                            labels.index(name)))


def mnist_data(raw: dict[str, np.ndarray], normalise: tuple[float, float] = (0.5, 0.5),
               train_rows: int | None = None, test_rows: int | None = None, seed: int = 0,
               flatten: bool = True) -> Data:
    """MNIST as the authors load it: ToTensor (pixels / 255) then Normalize(mean, std); flattened
    (N, 784) or as images (N, 1, 28, 28).  ``train_rows`` / ``test_rows`` (reduced scales): a random
    subset drawn with ``seed`` (test rows keep their order)."""
    mean, std = normalise

    def images(a: np.ndarray) -> torch.Tensor:
        shape = (len(a), -1) if flatten else (len(a), 1, *a.shape[1:])
        return ((torch.from_numpy(a.reshape(shape)).float() / 255.0) - mean) / std

    rng = np.random.default_rng(seed)
    train_idx = np.arange(len(raw["train_labels"]))
    test_idx = np.arange(len(raw["test_labels"]))
    if train_rows is not None:
        train_idx = np.sort(rng.choice(train_idx, train_rows, replace=False))
    if test_rows is not None:
        test_idx = np.sort(rng.choice(test_idx, test_rows, replace=False))
    return Data(images(raw["train_images"][train_idx]), torch.from_numpy(raw["train_labels"][train_idx]),
                images(raw["test_images"][test_idx]), torch.from_numpy(raw["test_labels"][test_idx]))


def fc_spec(p: dict[str, Any]) -> MLPSpec:
    """784 -> width x (layers - 1) -> 10: ``layers`` linear maps (the paper's depth; Fig. 5: 20,
    Fig. 6: 5)."""
    return MLPSpec(in_features=MNIST_PIXELS, width=p["width"], depth=p["layers"] - 2, out_features=MNIST_CLASSES,
                   bias_init="uniform_fan_in", relu_on_logits=p["relu_on_logits"], activation="relu")


def members(p: dict[str, Any]) -> list[Member]:
    """``runs`` members per init of ``inits`` (label -> init spec).  ``pairing: independent``: every
    member its own seed; ``paired``: run r of every init shares seed ``seed + r`` (same init stream,
    same data order: common random numbers)."""
    out = []
    for k, label in enumerate(ordered(p["inits"])):
        init = InitSpec.parse(p["inits"][label])
        for run in range(p["runs"]):
            seed = p["seed"] + run + (0 if p["pairing"] == "paired" else 1000 * k)
            out.append(Member(seed, init=init, labels={"init_name": label, "run": run}))
    return out


def cifar10_data(raw: dict[str, np.ndarray], normalise: tuple[float, float] = (0.5, 0.5),
                 train_rows: int | None = None, test_rows: int | None = None, seed: int = 0) -> Data:
    """CIFAR-10 images (N, 3, 32, 32) as the authors' script loads them: ToTensor then Normalize
    with the same (mean, std) on every channel; subsets as ``mnist_data``."""
    mean, std = normalise
    rng = np.random.default_rng(seed)
    train_idx, test_idx = np.arange(len(raw["train_labels"])), np.arange(len(raw["test_labels"]))
    if train_rows is not None:
        train_idx = np.sort(rng.choice(train_idx, train_rows, replace=False))
    if test_rows is not None:
        test_idx = np.sort(rng.choice(test_idx, test_rows, replace=False))

    def images(a: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(a).float() / 255.0 - mean) / std

    return Data(images(raw["train_images"][train_idx]), torch.from_numpy(raw["train_labels"][train_idx]),
                images(raw["test_images"][test_idx]), torch.from_numpy(raw["test_labels"][test_idx]))


def train_cnn_group(data: Data, dataset: str, p: dict[str, Any], device="cpu", checkpoint=None,
                    log: Callable[[str], None] = print) -> tuple[pd.DataFrame, TrainResult]:
    """Fig. 7, one dataset: every member of the CNN experiment as one batched model."""
    image_shape = tuple(data.x_train.shape[1:])
    spec = CNNSpec(in_channels=image_shape[0], image_size=image_shape[1], classes=10, arch=p["arch"],
                   width=p["width"], relu_on_logits=p["relu_on_logits"])
    settings = TrainSettings(epochs=p["epochs"], batch_size=p["batch_size"], optimizer="sgd", lr=p["lr"],
                             weight_decay=p["weight_decay"], schedule="step", milestones=tuple(p["lr_milestones"]),
                             gamma=p["lr_gamma"], loss="cross_entropy", checkpoint_every=p["checkpoint_every"],
                             divergence_loss=p["divergence_loss"], eval_batch_size=p["eval_batch_size"])
    augment = None
    if p["augment"][dataset]:
        fill = (0.0 - p["normalise"][0]) / p["normalise"][1]  # torchvision pads raw pixels with 0

        def augment(xb, uniform):
            return random_flip_crop(xb, uniform, padding=4, fill=fill)

    result = train(BatchedCNN(spec), members(p), data, settings, device=device, checkpoint=checkpoint, log=log,
                   augment=augment)
    metrics = result.metrics
    metrics.insert(0, "dataset", dataset)
    return metrics, result


def cnn_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, init, epoch): mean and std (ddof 1) over alive runs of the train loss (epoch
    mean) and the test accuracy (%)."""
    rows = []
    trained = metrics[metrics["epoch"] >= 1]
    for (dataset, init_name, epoch), frame in trained.groupby(["dataset", "init_name", "epoch"], sort=True):
        alive = frame[frame["alive"]]
        row = {"dataset": dataset, "init": init_name, "epoch": int(epoch), "runs": len(alive)}
        for column, scale in (("train_loss", 1.0), ("test_accuracy", 100.0)):
            values = scale * alive[column].to_numpy(dtype=float)
            row[f"{column}_mean"] = values.mean() if len(values) else math.nan
            row[f"{column}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def last_batch_rows(n_rows: int, batch_size: int) -> int:
    """Size of the last minibatch of a pass over ``n_rows`` in order (10,000 test images at 128: 16)."""
    return n_rows % batch_size or batch_size


def train_group(data: Data, p: dict[str, Any], device="cpu", checkpoint=None,
                log: Callable[[str], None] = print) -> tuple[pd.DataFrame, TrainResult]:
    """Train every member of the experiment as one batched model; the long metrics table adds the
    authors' last-test-batch loss (``test_loss_last_batch``)."""
    settings = TrainSettings(epochs=p["epochs"], batch_size=p["batch_size"], optimizer="sgd", lr=p["lr"],
                             loss="cross_entropy", checkpoint_every=p["checkpoint_every"],
                             divergence_loss=p["divergence_loss"], eval_batch_size=p["eval_batch_size"])
    tail = last_batch_rows(len(data.y_test), p["batch_size"])

    def last_test_batch(epoch, params, alive):
        x, y = data.x_test[-tail:].to(device), data.y_test[-tail:].to(device)
        return {"test_loss_last_batch": evaluate(model, params, x, y, "cross_entropy", tail)["loss"]}

    model = BatchedMLP(fc_spec(p))
    result = train(model, members(p), data, settings, device=device, checkpoint=checkpoint, log=log,
                   metrics_hook=last_test_batch)
    return result.metrics, result


def train_tail_index_group(data: Data, p: dict[str, Any], device="cpu", checkpoint=None,
                           log: Callable[[str], None] = print) -> tuple[pd.DataFrame, TrainResult]:
    """Fig. 6: train every member by SGD; at initialisation and after each epoch, the tail index of
    each member's gradient noise over one pass of the training set (``estimate_on: train``) or the
    test set, in order, at the training batch size (column ``tail_index``)."""
    settings = TrainSettings(epochs=p["epochs"], batch_size=p["batch_size"], optimizer="sgd", lr=p["lr"],
                             loss="cross_entropy", checkpoint_every=p["checkpoint_every"],
                             divergence_loss=p["divergence_loss"], eval_batch_size=p["eval_batch_size"])
    x, y = (data.x_train, data.y_train) if p["estimate_on"] == "train" else (data.x_test, data.y_test)
    x, y = x.to(device), y.to(device)
    model = BatchedMLP(fc_spec(p))

    def tail_index(epoch, params, alive):
        return {"tail_index": tail_indices(model, params, x, y, p["batch_size"])}

    result = train(model, members(p), data, settings, device=device, checkpoint=checkpoint, log=log,
                   metrics_hook=tail_index)
    return result.metrics, result


def tail_index_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (init, epoch): mean, std (ddof 1) and runs of the tail index over alive runs."""
    rows = []
    for (init_name, epoch), frame in metrics.groupby(["init_name", "epoch"], sort=True):
        values = frame.loc[frame["alive"], "tail_index"].to_numpy(dtype=float)
        rows.append({"init": init_name, "epoch": int(epoch), "runs": len(values),
                     "tail_index_mean": values.mean() if len(values) else math.nan,
                     "tail_index_std": values.std(ddof=1) if len(values) > 1 else math.nan})
    return pd.DataFrame(rows)


# ---- summaries --------------------------------------------------------------------------------------
def curve_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (init, quantity, record, epoch): mean, std (ddof 0, as the paper) and runs over alive runs."""
    rows = []
    trained = metrics[metrics["epoch"] >= 1]
    for (quantity, record), column in METRIC_COLUMN.items():
        for (init_name, epoch), frame in trained.groupby(["init_name", "epoch"], sort=False):
            values = frame.loc[frame["alive"], column].to_numpy(dtype=float)
            scale = 100.0 if quantity.endswith("accuracy") else 1.0
            rows.append({"init": init_name, "quantity": quantity, "record": record, "epoch": int(epoch),
                         "runs": len(values), "mean": scale * values.mean() if len(values) else math.nan,
                         "std": scale * values.std() if len(values) else math.nan})
    return pd.DataFrame(rows)


def final_table(metrics: pd.DataFrame, inits: list[str], paper: dict[str, dict[str, list[float]]] | None = None,
                paper_accuracy_std_is_fraction: bool = True) -> pd.DataFrame:
    """The table printed with Fig. 5 at the last epoch, in the paper's order: per init and quantity
    the mean, std (ddof 0), standard error and run counts; accuracies in % (mean and std alike).
    ``paper``: init -> quantity -> [mean, std] as printed (accuracy std printed as a fraction when
    ``paper_accuracy_std_is_fraction``)."""
    epoch = int(metrics["epoch"].max())
    rows = []
    for init_name in inits:
        all_runs = metrics[(metrics["init_name"] == init_name) & (metrics["epoch"] == epoch)]
        for quantity, record in TABLE_QUANTITIES + EXTRA_QUANTITIES:
            values = final_values(metrics, init_name, METRIC_COLUMN[quantity, record], epoch)
            scale = 100.0 if quantity.endswith("accuracy") else 1.0
            printed = (paper or {}).get(init_name, {}).get(quantity) if (quantity, record) in TABLE_QUANTITIES else None
            rows.append({
                "init": init_name, "quantity": quantity, "record": record, "epoch": epoch,
                "runs": len(values), "runs_diverged": int((~all_runs["alive"]).sum()),
                "mean": scale * values.mean() if len(values) else math.nan,
                "std": scale * values.std() if len(values) else math.nan,
                "stderr": scale * values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan,
                "paper_mean": printed[0] if printed else math.nan,
                "paper_std": (printed[1] * (scale if paper_accuracy_std_is_fraction else 1.0)
                              if printed else math.nan),
                "units": "%" if scale == 100.0 else "cross-entropy",
            })
    return pd.DataFrame(rows)
