"""The lyapunov paper's training experiments (Section 5, Appendices G-I) on the batched engine.

Three experiments share one structure: deep narrow Leaky ReLU nets, seven init methods
(``METHODS``), a grid of hyperparameter combinations, many seeds.  Every run of a group (one init
method, and for the regression tasks one batch size) is a member of one batched model; run r of
every method and combination shares seed and data order (common random numbers), so methods are
compared on the same batches and, where two methods draw alike, the same initial weights.

* MNIST (table_mnist, fig03, fig06): 784 -> 10, hidden 10 x 10 layers, 10 -> logits; AdamW, cosine
  decay per step from lr0 to lr_final; validation/test halves of the MNIST test set; the best
  (lr0, weight decay) per method by mean final validation accuracy.
* polynomial (table_poly, fig04, fig07, fig08) and score (table_score, fig09, fig10): width-2 /
  width-d nets learn p(x) or the score of a Gaussian mixture from fresh inputs every step
  (``initlab.train.StreamData``); a training step's batch loss is a loss on unseen points, so its
  moving median (polynomial) or mean (score) over the steps is the curve; "best of K_best seeds" is
  the exact order statistic over all K-subsets (``initlab.stats.order_stats``).

Unstated settings (slope, grids, lr_final, K_cand, the norm target, the tasks) are config values
marked ``x-assumption`` in ``config/schemas/lyapunov.schema.json``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from initlab.nn.inits import InitSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.stats import order_stats
from initlab.theory import lyapunov_tasks
from initlab.train import Data, StreamData, TrainSettings, train
from initlab.train.members import Member

METHODS = ("glorot", "he", "orthogonal", "lyapunov_gaussian", "lyapunov_orthogonal",
           "sampled_lyapunov_gaussian", "sampled_lyapunov_orthogonal")
PAPER_NAMES = {"glorot": "Glorot-Bengio", "he": "He", "orthogonal": "Scaled Orthogonal",
               "lyapunov_gaussian": "Lyapunov Gaussian", "lyapunov_orthogonal": "Lyapunov Orthogonal",
               "sampled_lyapunov_gaussian": "Sampled Lyapunov Gaussian",
               "sampled_lyapunov_orthogonal": "Sampled Lyapunov Orthogonal"}
_TAKES_SLOPE = ("he_normal", "scaled_orthogonal", "lyapunov_gaussian", "lyapunov_orthogonal")
_TAKES_WIDTH = ("lyapunov_gaussian", "lyapunov_orthogonal")


def ordered(methods) -> list[str]:
    """Methods in the paper's table order."""
    present = set(methods)
    return [m for m in METHODS if m in present]


# ---- members -----------------------------------------------------------------------------------

def init_spec(entry: Mapping[str, Any], slope: float, width: int, k_candidates: int, norm_target: float) -> InitSpec:
    """A config entry {method, first?, last?, sampled?} as an InitSpec: the Leaky ReLU slope goes to
    every method that takes one, the hidden width to the Lyapunov ones (their sigma is defined for
    the d x d hidden maps), and a sampled method keeps the best of ``k_candidates`` whole-network
    draws (``BatchedMLP``'s selection by output norm)."""
    def one(body: Mapping[str, Any]) -> dict[str, Any]:
        out = {"method": body["method"]}
        if body["method"] in _TAKES_SLOPE:
            out["slope"] = slope
        if body["method"] in _TAKES_WIDTH:
            out["width"] = width
        return out

    spec = one(entry)
    for layer in ("first", "last"):
        if entry.get(layer):
            spec[layer] = one(entry[layer])
    if entry.get("sampled", False):
        spec["candidates"] = int(k_candidates)
        spec["norm_target"] = float(norm_target)
    return InitSpec.parse(spec)


def net_spec(p: Mapping[str, Any]) -> MLPSpec:
    """in -> width, ``hidden_layers`` width x width maps, width -> out; Leaky ReLU of slope
    ``slope`` after every map but the last; biases zero at init (Appendix G)."""
    return MLPSpec(p["in_features"], p["width"], p["hidden_layers"], p["out_features"], activation="leaky_relu",
                   slope=p["slope"], bias_init="zero")


def combinations(p: Mapping[str, Any]) -> list[dict[str, float]]:
    """The hyperparameter grid: every (lr0, lr_final, weight_decay[, batch_size]) in config order."""
    keys = [k for k in ("lr0", "lr_final", "weight_decay", "batch_size") if k in p["grid"]]
    values = [p["grid"][k] if isinstance(p["grid"][k], list) else [p["grid"][k]] for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def members(p: Mapping[str, Any], method: str, batch_size: int | None = None) -> list[Member]:
    """The runs of one group: ``runs`` seeds x the grid combinations (at one batch size), seed-major,
    so the combinations of one seed are consecutive and share its data order (one copy of each
    batch: the engine's grouped inputs)."""
    spec = init_spec(p["methods"][method], p["slope"], p["width"], p["k_candidates"], p["norm_target"])
    combos = [(k, c) for k, c in enumerate(combinations(p)) if batch_size is None or c.get("batch_size") == batch_size]
    if not combos:
        raise ValueError(f"no grid combination has batch_size {batch_size}; grid: {p['grid']}")
    out = []
    for run in range(p["runs"]):
        seed = p["seed"] + run
        for combo_index, combo in combos:  # the index in the whole grid
            lr0 = float(combo["lr0"])
            out.append(Member(seed, spec, lr=lr0, weight_decay=float(combo.get("weight_decay", p.get("weight_decay", 0.0))),
                              schedule="cosine", lr_final_ratio=float(combo["lr_final"]) / lr0, data_seed=seed,
                              labels=(("method", method), ("run", run), ("combo", combo_index),
                                      ("lr0", lr0), ("lr_final", float(combo["lr_final"])),
                                      ("weight_decay", float(combo.get("weight_decay", p.get("weight_decay", 0.0)))),
                                      ("batch_size", int(batch_size or p["batch_size"])))))
    return out


def _selection_columns(model: BatchedMLP, metrics: pd.DataFrame) -> pd.DataFrame:
    """The sampled methods' choice per member (candidate index, its output-to-input norm ratio;
    -1 / the plain draw's ratio where there was no choice) as metrics columns."""
    chosen, ratio = model.selection["candidate"].numpy(), model.selection["norm_ratio"].numpy()
    metrics["init_candidate"] = chosen[metrics["member"].to_numpy()]
    metrics["init_norm_ratio"] = ratio[metrics["member"].to_numpy()]
    return metrics


def _train_group(model: BatchedMLP, member_list: list[Member], data, settings: TrainSettings, device, checkpoint,
                 log) -> tuple[pd.DataFrame, Any]:
    result = train(model, member_list, data, settings, device=device, checkpoint=checkpoint, log=log)
    return _selection_columns(model, result.metrics), result


# ---- MNIST -------------------------------------------------------------------------------------

def split_validation(data: Data, seed: int, validation_rows: int) -> Data:
    """The paper's split of the MNIST test set: a fixed permutation (``seed``; numpy's default_rng,
    an assumption: the paper names only the seed), the first ``validation_rows`` for validation,
    the rest for test."""
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(data.y_test)))
    val, test = order[:validation_rows], order[validation_rows:]
    return Data(data.x_train, data.y_train, data.x_test[test], data.y_test[test], data.x_test[val], data.y_test[val])


def selection_probe(x: torch.Tensor, rows: int, seed: int) -> torch.Tensor:
    """Inputs on which the sampled methods measure a candidate's output norm: ``rows`` training
    inputs in a fixed random order (the paper: "the input distribution")."""
    g = torch.Generator().manual_seed(seed)
    return x[torch.randperm(len(x), generator=g)[:rows]]


def train_mnist_group(data: Data, p: Mapping[str, Any], method: str, device="cpu", checkpoint=None,
                      log=print) -> tuple[pd.DataFrame, Any]:
    """All runs of one init method (runs x (lr0, weight decay) combinations) on MNIST."""
    model = BatchedMLP(net_spec(p))
    model.selection_inputs = selection_probe(data.x_train, p["probe_rows"], p["seed"])
    settings = TrainSettings(epochs=p["epochs"], batch_size=p["batch_size"], optimizer="adamw", loss="cross_entropy",
                             schedule="cosine", eval_batch_size=p.get("eval_batch_size", 5000))
    return _train_group(model, members(p, method), data, settings, device, checkpoint, log)


def select_combination(metrics: pd.DataFrame, column: str, higher_is_better: bool, statistic=np.mean) -> pd.DataFrame:
    """Per method, the combination with the best ``statistic`` over runs of ``column`` at the last
    epoch (ties: the first in grid order); one row per method with the combination's labels."""
    last = metrics[metrics.epoch == metrics.epoch.max()]
    rows = []
    for method, frame in last.groupby("method", sort=False):
        scores = frame.groupby("combo")[column].apply(lambda v: statistic(v.to_numpy()))
        best = scores.idxmax() if higher_is_better else scores.idxmin()
        combo = frame[frame.combo == best].iloc[0]
        rows.append({"method": method, "combo": int(best), "lr0": combo.lr0, "lr_final": combo.lr_final,
                     "weight_decay": combo.weight_decay, "batch_size": int(combo.batch_size),
                     "selection_score": float(scores[best])})
    return pd.DataFrame(rows)


def selected_runs(metrics: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``metrics`` at each method's selected combination (``chosen``)."""
    keys = chosen[["method", "combo", "batch_size"]]
    return metrics.merge(keys, on=["method", "combo", "batch_size"])


def mnist_curves(metrics: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """fig03: mean test accuracy (with its standard error over runs) per method and epoch, at the
    selected combination; diverged runs count with their last accuracy (chance if never trained)."""
    sel = selected_runs(metrics, chosen)
    out = (sel.groupby(["method", "epoch"])["test_accuracy"]
           .agg(mean_test_accuracy="mean", stderr=lambda v: v.std(ddof=1) / math.sqrt(len(v)), runs="count")
           .reset_index())
    out["method"] = pd.Categorical(out["method"], ordered(out["method"].unique()), ordered=True)
    return out.sort_values(["method", "epoch"]).assign(method=lambda f: f["method"].astype(str)).reset_index(drop=True)


def mnist_table(curves: pd.DataFrame, chosen: pd.DataFrame, epochs: list[int]) -> pd.DataFrame:
    """table_mnist: the curves at the paper's epochs (those trained at this scale), in percent."""
    rows = curves[curves.epoch.isin(epochs)].copy()
    rows["test_accuracy_pct"] = 100 * rows["mean_test_accuracy"]
    rows["stderr_pct"] = 100 * rows["stderr"]
    rows = rows.merge(chosen[["method", "lr0", "weight_decay", "lr_final"]], on="method")
    rows["paper_name"] = rows["method"].map(PAPER_NAMES)
    return rows[["method", "paper_name", "epoch", "test_accuracy_pct", "stderr_pct", "runs", "lr0", "weight_decay",
                 "lr_final"]]


def mnist_histograms(metrics: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """fig06: every run's final test accuracy at the selected combination."""
    sel = selected_runs(metrics, chosen)
    last = sel[sel.epoch == sel.epoch.max()]
    return last[["method", "run", "seed", "test_accuracy", "alive", "init_norm_ratio"]].reset_index(drop=True)


# ---- regression tasks (polynomial, score) ------------------------------------------------------

def task_sampler(task: Mapping[str, Any]):
    """``sample(generator, n) -> (x, y)`` of a task: x ~ U(box) (float64), y = p(x) or the mixture's
    score, in torch float64 (``mixture_score_torch``: called at every step, so no LAPACK call, whose
    thread pool would fight torch's for the cores; ``task_target`` is the reference)."""
    low, high = task["box"]
    dim = task["input_dim"]
    if task["kind"] == "score":
        target = mixture_score_torch(task)
    else:
        coefficients = torch.tensor(task["coefficients"], dtype=torch.float64)
        target = lambda x: sum(c * x ** k for k, c in enumerate(coefficients))  # noqa: E731

    def sample(generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.rand(n, dim, generator=generator, dtype=torch.float64) * (high - low) + low
        return x, target(x)
    return sample


def mixture_score_torch(task: Mapping[str, Any]):
    """x (n, D) -> grad log rho(x) (n, D) of the task's Gaussian mixture in torch float64:
    -sum_m r_m(x) P_m (x - mu_m) with precisions P_m and responsibilities r_m by a stable softmax."""
    means = torch.tensor(task["means"], dtype=torch.float64)
    covariances = torch.tensor(task["covariances"], dtype=torch.float64)
    precisions = torch.linalg.inv(covariances)
    log_norm = torch.log(torch.tensor(task["weights"], dtype=torch.float64)) - 0.5 * torch.logdet(covariances)

    def score(x: torch.Tensor) -> torch.Tensor:
        diff = x[:, None, :] - means                                    # (n, M, D)
        pulled = torch.einsum("mde,nme->nmd", precisions, diff)         # P_m (x - mu_m)
        logits = log_norm - 0.5 * (diff * pulled).sum(-1)               # log w_m N(x; mu_m, S_m) + const
        return -(torch.softmax(logits, dim=1)[..., None] * pulled).sum(1)
    return score


def task_target(task: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """The regression target at points x (n, input_dim)."""
    if task["kind"] == "polynomial":
        return lyapunov_tasks.polynomial(x, np.asarray(task["coefficients"], dtype=float)).reshape(len(x), 1)
    if task["kind"] == "score":
        return lyapunov_tasks.mixture_score(x, np.asarray(task["weights"], dtype=float), np.asarray(task["means"], dtype=float),
                                            np.asarray(task["covariances"], dtype=float))
    raise ValueError(f"task kind {task['kind']!r}; allowed: polynomial, score")


def zero_signal_loss(task: Mapping[str, Any]) -> float:
    """The loss of a net whose output is the best constant (the plateau of a net whose signal dies
    with depth, while its last bias learns the mean): Var p(x), or E||s(x) - E s||^2."""
    low, high = task["box"]
    if task["kind"] == "polynomial":
        return float(lyapunov_tasks.polynomial_moments(np.asarray(task["coefficients"], dtype=float), (low, high))["variance"])
    return float(lyapunov_tasks.score_moments((low, high), np.asarray(task["weights"], dtype=float),
                                              np.asarray(task["means"], dtype=float),
                                              np.asarray(task["covariances"], dtype=float))["variance"])


def task_data(task: Mapping[str, Any], p: Mapping[str, Any]) -> StreamData:
    """Fresh training draws every step; fixed validation and test sets of ``eval_points`` each."""
    sample = task_sampler(task)
    val = sample(torch.Generator().manual_seed(p["seed"] + 10_000_001), p["eval_points"])
    test = sample(torch.Generator().manual_seed(p["seed"] + 10_000_002), p["eval_points"])
    description = repr(sorted((k, v) for k, v in task.items()))
    return StreamData(sample, steps_per_epoch=p["eval_every"], description=description,
                      x_test=test[0], y_test=test[1], x_val=val[0], y_val=val[1])


def train_task_group(task: Mapping[str, Any], p: Mapping[str, Any], method: str, batch_size: int, device="cpu",
                     checkpoint=None, log=print) -> tuple[pd.DataFrame, Any]:
    """All runs of one init method at one batch size (runs x (lr0, lr_final) combinations)."""
    model = BatchedMLP(net_spec(p))
    data = task_data(task, p)
    model.selection_inputs = task_sampler(task)(torch.Generator().manual_seed(p["seed"] + 10_000_003),
                                                p["probe_rows"])[0].float()
    if p["steps"] % p["eval_every"]:
        raise ValueError(f"steps ({p['steps']}) must be a multiple of eval_every ({p['eval_every']})")
    settings = TrainSettings(epochs=p["steps"] // p["eval_every"], batch_size=batch_size, optimizer="adamw",
                             loss="mse_sum", schedule="cosine", record_step_loss=True,
                             eval_batch_size=p.get("eval_batch_size", 10_000), divergence_loss=p["divergence_loss"])
    metrics, result = _train_group(model, members(p, method, batch_size), data, settings, device, checkpoint, log)
    metrics["step"] = metrics["epoch"] * p["eval_every"]
    return metrics, result


def step_curves(step_loss: np.ndarray, smoothing: str, window: int, stride: int, first: int | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed per-step batch losses (steps, members): trailing moving ``smoothing`` ('median' or
    'mean') over ``window`` steps, kept every ``stride`` steps (1-based step numbers), optionally
    only the ``first`` steps.  Returns (steps, curves (kept steps, members))."""
    values = step_loss if first is None else step_loss[:first]
    smooth = {"median": order_stats.moving_median, "mean": order_stats.moving_mean}[smoothing]
    curves = smooth(values.astype(np.float64), window, axis=0)
    steps = np.arange(1, len(values) + 1)
    keep = (steps % stride == 0) | (steps == 1)
    return steps[keep], curves[keep].astype(np.float32)


def best_of_k_curves(steps: np.ndarray, curves: np.ndarray, members: pd.DataFrame, k_best: int) -> pd.DataFrame:
    """Per (method, combo) and kept step: the median of the best of ``k_best`` runs (exact order
    statistic over all k-subsets of the runs; a diverged run counts as the worst)."""
    rows = []
    for (method, combo), frame in members.groupby(["method", "combo"], sort=False):
        cols = frame["member"].to_numpy()
        k = min(k_best, len(cols))
        median = order_stats.best_of_k_median(curves[:, cols], k, axis=1)
        rows.append(pd.DataFrame({"method": method, "combo": combo, "step": steps, "best_of_k_median": median,
                                  "k_best": k, "runs": len(cols)}))
    return pd.concat(rows, ignore_index=True)


def best_of_k_selection(final: pd.DataFrame, column: str, k_best: int) -> pd.DataFrame:
    """The paper's selection for the regression tasks: per method, the combination with the lowest
    mean of the best of ``k_best`` runs' final ``column`` (exact order statistic)."""
    def statistic(values):
        return order_stats.best_of_k_mean(values, min(k_best, len(values)))
    return select_combination(final, column, higher_is_better=False, statistic=statistic)


def best_of_k_selections(final: pd.DataFrame, column: str, ks) -> pd.DataFrame:
    """The combination ``best_of_k_selection`` picks per method for every K of ``ks`` that the runs
    of every (method, combination) allow: columns k, method, combo."""
    runs = int(final.groupby(["method", "combo"]).size().min())
    rows = [{"k": int(k), "method": pick.method, "combo": int(pick.combo)}
            for k in ks if 1 <= k <= runs for pick in best_of_k_selection(final, column, k).itertuples()]
    return pd.DataFrame(rows, columns=["k", "method", "combo"])


def best_of_k_profile(final: pd.DataFrame, chosen: pd.DataFrame, column: str, ks) -> pd.DataFrame:
    """fig08: the selection statistic (mean of the best of K runs' final ``column``) vs K, at each
    method's selected combination."""
    sel = selected_runs(final, chosen)
    sel = sel[sel.epoch == sel.epoch.max()]
    rows = []
    for method, frame in sel.groupby("method", sort=False):
        values = frame[column].to_numpy()
        for k in ks:
            if k <= len(values):
                rows.append({"method": method, "k": int(k), "best_of_k_mean": float(order_stats.best_of_k_mean(values, k))})
    return pd.DataFrame(rows)


def task_curves(step_loss: np.ndarray, p: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The smoothed per-step loss curves a regression group keeps (``step_curves``): polynomial, the
    moving median over ``smoothing_window`` steps; score, the moving mean over ``long_window`` steps
    and, for the first ``short_steps``, over ``short_window`` steps (Appendix I)."""
    if p["kind"] == "polynomial":
        steps, curve = step_curves(step_loss, "median", p["smoothing_window"], p["curve_stride"])
        return {"steps": steps, "curve": curve}
    steps, curve = step_curves(step_loss, "mean", p["long_window"], p["curve_stride"])
    short_steps, short_curve = step_curves(step_loss, "mean", p["short_window"], 1, first=p["short_steps"])
    return {"steps": steps, "curve": curve, "short_steps": short_steps, "short_curve": short_curve}


# ---- summaries of the regression tasks ---------------------------------------------------------

def task_summary(groups: list[tuple[pd.DataFrame, Mapping[str, np.ndarray]]], p: Mapping[str, Any]) -> dict[str, Any]:
    """From every training group's (metrics, curves): the selected combination per method (lowest
    mean best-of-K_best final test loss), the best-of-K median curves at it (``curves``, and
    ``short_curves`` for the score), every run's final test loss (``final``) and the per-run
    smoothed values at every kept step (``runs``: for the claims)."""
    metrics = pd.concat([m for m, _ in groups], ignore_index=True)
    last = metrics[metrics.epoch == metrics.epoch.max()]
    chosen = best_of_k_selection(last, "test_loss", p["k_best"])
    keys = ["curve"] + (["short_curve"] if p["kind"] == "score" else [])
    curves = {k: [] for k in keys}
    runs = {k: [] for k in keys}
    for frame, arrays in groups:
        method, batch = frame["method"].iloc[0], int(frame["batch_size"].iloc[0])
        pick = chosen[(chosen.method == method) & (chosen.batch_size == batch)]
        if pick.empty:
            continue
        members_at = frame[(frame.epoch == 0) & (frame.combo == int(pick.combo.iloc[0]))][["member", "method", "combo", "run"]]
        for key in keys:
            steps = arrays["steps" if key == "curve" else "short_steps"]
            values = np.asarray(arrays[key], dtype=np.float64)
            curves[key].append(best_of_k_curves(steps, values, members_at, p["k_best"]))
            cols = members_at["member"].to_numpy()
            runs[key].append(pd.DataFrame({"method": method, "step": np.repeat(steps, len(cols)),
                                           "run": np.tile(members_at["run"].to_numpy(), len(steps)),
                                           "loss": values[:, cols].ravel()}))
    final = selected_runs(last, chosen)[["method", "run", "seed", "test_loss", "alive", "init_norm_ratio"]]
    initial = selected_runs(metrics[metrics.epoch == 0], chosen)[["method", "run", "test_loss"]]
    return {"chosen": chosen, "final": final.rename(columns={"test_loss": "final_loss"}).reset_index(drop=True),
            "initial": initial.rename(columns={"test_loss": "initial_loss"}),
            **{("curves" if k == "curve" else "short_curves"): _paper_order(pd.concat(v, ignore_index=True))
               for k, v in curves.items()},
            **{("runs" if k == "curve" else "short_runs"): pd.concat(v, ignore_index=True) for k, v in runs.items()}}


def _paper_order(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {m: i for i, m in enumerate(METHODS)}
    return frame.sort_values(["method", "step"], key=lambda c: c.map(rank) if c.name == "method" else c
                             ).reset_index(drop=True)


def task_table(summary: Mapping[str, Any], p: Mapping[str, Any]) -> pd.DataFrame:
    """table_poly / table_score: the best-of-K median curve at the paper's steps (those trained),
    the score's first ``short_steps`` from the short-window curve; with the selected combination."""
    rows = []
    for step in p["table_steps"]:
        short = p["kind"] == "score" and step <= p["short_steps"]
        curves = summary["short_curves" if short else "curves"]
        at = curves[curves.step == step]
        for _, row in at.iterrows():
            rows.append({"method": row.method, "paper_name": PAPER_NAMES[row.method], "step": int(step),
                         "best_of_k_median": row.best_of_k_median, "k_best": int(row.k_best), "runs": int(row.runs),
                         "smoothing_window": p["short_window"] if short else p.get("smoothing_window", p.get("long_window"))})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    chosen = summary["chosen"][["method", "lr0", "lr_final", "batch_size"]]
    return _paper_order(table.merge(chosen, on="method"))
