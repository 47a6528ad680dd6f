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

Claim rules (each a function of the runs, unit-tested both ways):

* ``cell_claim``: a table cell of the paper (mean and ddof = 0 std over its 20 runs) against ours
  by Welch's t-test from summary statistics (scipy.stats.ttest_ind_from_stats), Bonferroni over
  the cells: ``deviates`` when p < alpha / n_cells.
* ``improvement_claim``: "a clear improvement with s = 0.8" over Kaiming: one-sided Mann-Whitney U
  on the final test accuracy of the runs; ``not-run`` when the runs are too few for any outcome to
  reach alpha.
* ``band_claim``: the tail index is "around 1 from the first iterations": the mean over runs of
  each run's mean index over the first estimates, with its 95 % t interval; reproduced when the
  interval lies inside the band, deviates when it lies outside, not-run when it straddles an edge.
* ``not_training_claim``: Xavier "does not train": the fraction of runs whose final test accuracy
  exceeds ``trained_accuracy``, with its Wilson interval; reproduced when the interval lies below
  1/2, deviates when above, not-run when it straddles 1/2.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from scipy import stats

from initlab.nn.conv import BatchedCNN, CNNSpec
from initlab.nn.inits import InitSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.sweeps import claim
from initlab.train.augment import random_flip_crop
from initlab.train.engine import Data, TrainResult, TrainSettings, evaluate, train
from initlab.train.gradient_noise import tail_indices
from initlab.train.members import Member
from initlab.train.metrics import wilson_interval

MNIST_CLASSES = 10
MNIST_PIXELS = 28 * 28
# (quantity, record) of the paper's table, in its order; the records are the authors' logging.
TABLE_QUANTITIES = [("train_loss", "last_batch"), ("test_loss", "last_batch"),
                    ("train_accuracy", "running"), ("test_accuracy", "full_test")]
# The proper records beside them.
EXTRA_QUANTITIES = [("train_loss", "epoch_mean"), ("test_loss", "full_test")]
METRIC_COLUMN = {("train_loss", "last_batch"): "train_loss_last_batch", ("train_loss", "epoch_mean"): "train_loss",
                 ("test_loss", "last_batch"): "test_loss_last_batch", ("test_loss", "full_test"): "test_loss",
                 ("train_accuracy", "running"): "train_accuracy", ("test_accuracy", "full_test"): "test_accuracy"}


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
def _values(metrics: pd.DataFrame, init_name: str, column: str, epoch: int) -> np.ndarray:
    """Final values of alive runs (diverged runs are excluded and counted separately)."""
    rows = metrics[(metrics["init_name"] == init_name) & (metrics["epoch"] == epoch) & metrics["alive"]]
    return rows[column].to_numpy(dtype=float)


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
            values = _values(metrics, init_name, METRIC_COLUMN[quantity, record], epoch)
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


# ---- claim rules --------------------------------------------------------------------------------------
def cell_claim(claim_id: str, what: str, ours: np.ndarray, paper_mean: float, paper_std_ddof0: float,
               paper_runs: int, n_cells: int, alpha: float = 0.05, min_runs: int = 3) -> dict[str, Any]:
    """One table cell: Welch's t-test of our runs against the paper's summary (its std is ddof 0,
    converted to ddof 1), Bonferroni over ``n_cells`` cells."""
    ours = np.asarray(ours, dtype=float)
    n = len(ours)
    if n < min_runs:
        return claim(claim_id, f"{what}: only {n} run(s) at this scale (< {min_runs}); not compared",
                     paper_mean, ours.mean() if n else math.nan, math.nan, "not-run")
    stderr = ours.std(ddof=1) / math.sqrt(n)
    paper_std = paper_std_ddof0 * math.sqrt(paper_runs / (paper_runs - 1))
    if stderr == 0 and paper_std == 0:
        p_value = 1.0 if ours.mean() == paper_mean else 0.0
    else:
        p_value = float(stats.ttest_ind_from_stats(ours.mean(), ours.std(ddof=1), n, paper_mean, paper_std,
                                                   paper_runs, equal_var=False).pvalue)
    threshold = alpha / n_cells
    verdict = "reproduced" if p_value >= threshold else "deviates"
    return claim(claim_id, f"{what}: mean over {n} runs vs the paper's {paper_runs} (Welch t-test p = {p_value:.3g}; "
                 f"deviates below {threshold:.3g} = {alpha} / {n_cells} cells)", paper_mean, ours.mean(), stderr,
                 verdict)


def improvement_claim(claim_id: str, what: str, better: np.ndarray, worse: np.ndarray,
                      alpha: float = 0.05) -> dict[str, Any]:
    """``better`` beats ``worse`` (larger is better): one-sided Mann-Whitney U over the runs.
    Replicated value: the difference of means, with its standard error."""
    better, worse = np.asarray(better, dtype=float), np.asarray(worse, dtype=float)
    n1, n2 = len(better), len(worse)
    smallest_p = 1.0 / math.comb(n1 + n2, n1) if n1 and n2 else 1.0
    diff = better.mean() - worse.mean() if n1 and n2 else math.nan
    stderr = math.sqrt(better.var(ddof=1) / n1 + worse.var(ddof=1) / n2) if n1 > 1 and n2 > 1 else math.nan
    if smallest_p >= alpha:
        return claim(claim_id, f"{what}: {n1} vs {n2} runs cannot reach p < {alpha} (smallest possible "
                     f"{smallest_p:.3g}); not judged at this scale", "", diff, stderr, "not-run")
    p_value = float(stats.mannwhitneyu(better, worse, alternative="greater").pvalue)
    verdict = "reproduced" if p_value < alpha else "deviates"
    return claim(claim_id, f"{what}: difference of means over {n1} vs {n2} runs (one-sided Mann-Whitney U "
                 f"p = {p_value:.3g}; reproduced below {alpha})", "", diff, stderr, verdict)


def band_claim(claim_id: str, what: str, per_run: np.ndarray, band: tuple[float, float],
               confidence: float = 0.95) -> dict[str, Any]:
    """The mean over runs of ``per_run`` lies in ``band``: its ``confidence`` t interval inside the
    band (reproduced), outside it (deviates), or across an edge (not-run: cannot tell)."""
    values = np.asarray(per_run, dtype=float)
    n = len(values)
    low_band, high_band = band
    if n < 2:
        return claim(claim_id, f"{what}: {n} run(s): no interval at this scale", "", values.mean() if n else math.nan,
                     math.nan, "not-run")
    mean, stderr = values.mean(), values.std(ddof=1) / math.sqrt(n)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * stderr
    text = (f"{what}: mean over {n} runs {mean:.3f}, {confidence:.0%} t interval [{mean - half:.3f}, "
            f"{mean + half:.3f}] against the band [{low_band}, {high_band}]")
    if low_band <= mean - half and mean + half <= high_band:
        return claim(claim_id, text, "", mean, stderr, "reproduced")
    if mean + half < low_band or mean - half > high_band:
        return claim(claim_id, text, "", mean, stderr, "deviates")
    return claim(claim_id, text + "; the interval crosses the band's edge: cannot tell", "", mean, stderr, "not-run")


def tail_index_claims(metrics: pd.DataFrame, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Fig. 6: "heavy tails arise starting from the initial iterations with a tail index alpha
    around 1" for the s-init (``claim_init``), judged on the estimates at ``claim_epochs``."""
    name = p["claim_init"]
    early = metrics[(metrics["init_name"] == name) & metrics["epoch"].isin(p["claim_epochs"]) & metrics["alive"]]
    per_run = early.groupby("run")["tail_index"].mean().to_numpy()
    epochs = ", ".join(str(e) for e in p["claim_epochs"])
    return [band_claim("fig06_tail_index_about_1", f"tail index of the gradient noise, {name} init, "
                       f"estimates at epochs {epochs} (0 = initialisation)", per_run, tuple(p["claim_band"]))]


def accuracy_claim(claim_id: str, what: str, ours: np.ndarray, paper_value: float, tolerance: float
                   ) -> dict[str, Any]:
    """A printed accuracy without a spread: reproduced when the 95 % t interval of our mean lies
    within ``tolerance`` (percentage points) of it, deviates when the interval lies farther, else
    not-run."""
    values = np.asarray(ours, dtype=float)
    n = len(values)
    if n < 2:
        return claim(claim_id, f"{what}: {n} run(s): no interval at this scale", paper_value,
                     values.mean() if n else math.nan, math.nan, "not-run")
    mean, stderr = values.mean(), values.std(ddof=1) / math.sqrt(n)
    half = stats.t.ppf(0.975, n - 1) * stderr
    text = (f"{what}: mean over {n} runs {mean:.2f} %, 95 % t interval [{mean - half:.2f}, {mean + half:.2f}]; "
            f"agreement within {tolerance} percentage points of {paper_value}")
    if paper_value - tolerance <= mean - half and mean + half <= paper_value + tolerance:
        return claim(claim_id, text, paper_value, mean, stderr, "reproduced")
    if mean + half < paper_value - tolerance or mean - half > paper_value + tolerance:
        return claim(claim_id, text, paper_value, mean, stderr, "deviates")
    return claim(claim_id, text + "; the interval crosses the tolerance: cannot tell", paper_value, mean, stderr,
                 "not-run")


def cnn_claims(metrics: pd.DataFrame, p: dict[str, Any], excluded: list[str]) -> list[dict[str, Any]]:
    """Fig. 7: MNIST test accuracy 98.36 % after 50 epochs (the s-init); s-init better than Kaiming
    'especially in the first 30 epochs' on MNIST (mean test accuracy over epochs 1..early_epochs per
    run) and over 50 epochs on CIFAR-10; a dataset left out by config gives not-run rows."""
    better, worse = p["improvement"]
    out = []
    for dataset in p["datasets"]:
        if dataset in excluded:
            for cid in ([f"fig07_{dataset}_accuracy"] if dataset == "mnist" else []) + [f"fig07_{dataset}_s_beats_kaiming"]:
                out.append(claim(cid, f"Fig. 7 {dataset}: not run: this run leaves {dataset} out (config exclude_datasets, or no fixture at the smoke scale)", "",
                                 math.nan, math.nan, "not-run"))
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
            f"averaged over epochs 1..{horizon} (percentage points)", per_run(better), per_run(worse), p["alpha"]))
        if dataset == "mnist":
            final = 100 * _values(m, better, "test_accuracy", last)
            what = f"Fig. 7 MNIST test accuracy of {better} after {last} epochs (paper: after {p['paper_epochs']})"
            reduced = last != p["paper_epochs"] or p["train_rows"] is not None or p["test_rows"] is not None
            if reduced:
                out.append(claim("fig07_mnist_accuracy", f"{what}: a reduced experiment at this scale; not compared",
                                 p["paper_mnist_test_accuracy"], final.mean() if len(final) else math.nan, math.nan,
                                 "not-run"))
            else:
                out.append(accuracy_claim("fig07_mnist_accuracy", what, final, p["paper_mnist_test_accuracy"],
                                          p["accuracy_tolerance"]))
    return out


def not_training_claim(claim_id: str, what: str, final_accuracy: np.ndarray, trained_accuracy: float,
                       confidence: float = 0.95) -> dict[str, Any]:
    """Runs "do not train": the fraction of runs whose final accuracy exceeds ``trained_accuracy``
    is below 1/2 with ``confidence`` (Wilson interval)."""
    acc = np.asarray(final_accuracy, dtype=float)
    k, n = int((acc > trained_accuracy).sum()), len(acc)
    low, high = wilson_interval(k, n, confidence)
    rate = k / n if n else math.nan
    text = (f"{what}: {k}/{n} runs reach test accuracy > {trained_accuracy:.0%} (Wilson {confidence:.0%} "
            f"[{low:.2f}, {high:.2f}])")
    if n and high < 0.5:
        return claim(claim_id, text, "", rate, (high - low) / 2, "reproduced")
    if n and low > 0.5:
        return claim(claim_id, text, "", rate, (high - low) / 2, "deviates")
    return claim(claim_id, text + "; too few runs to tell at this scale", "", rate,
                 (high - low) / 2 if n else math.nan, "not-run")


def claims(metrics: pd.DataFrame, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claims row of fig05 / table_mnist (see the module docstring)."""
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
            out.append(claim(cid, f"{what}: this scale runs a reduced experiment ({reduced}); not compared",
                             mean, math.nan, math.nan, "not-run"))
            continue
        ours = scale * _values(metrics, init_name, METRIC_COLUMN[quantity, record], epoch)
        out.append(cell_claim(cid, what, ours, mean, std * (std_scale if scale == 100.0 else 1.0), paper_runs,
                              len(cells), p["alpha"]))
    final_acc = {name: _values(metrics, name, "test_accuracy", epoch) for name in p["inits"]}
    better, worse = p["improvement"]
    out.append(improvement_claim(
        "fig05_s08_beats_kaiming", f"'clear improvement' of {better} over {worse}: final test accuracy (epoch {epoch}, "
        "percentage points)", 100 * final_acc[better], 100 * final_acc[worse], p["alpha"]))
    out.append(not_training_claim(
        "fig05_xavier_does_not_train", f"Xavier does not train (epoch {epoch})", final_acc[p["not_training"]],
        p["trained_accuracy"]))
    return out
