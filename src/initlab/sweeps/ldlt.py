"""The ldlt paper's HIGGS sweep (Sec. V, Figs. 6-17) on the batched engine.

One training group per (depth, optimizer): its 5 init scales x CV folds are the members of one
batched LDLT network (``initlab.nn.models.BatchedLDLT``); members of the same fold share the data
order (common random numbers), so the scales are compared on the same batches.

Outputs of a group (the contract that the figures and claims read):

``results/<scale>/ldlt/higgs/d<depth>_<optimizer>.csv``: one row per (member, epoch), epoch 0 = init:
    member, seed, depth (int, number of LDLT layers), optimizer ("sgd" | "adamw"), scale (float, the
    init scale c of sigma = c / sqrt(fan_in)), fold (int, the held-out CV fold), epoch (int),
    train_loss (mean batch BCE over the epoch; NaN at epoch 0), val_auc (AUC on the held-out fold),
    test_auc (AUC on the test set), hessian_trace (Hutchinson estimate of tr of the Hessian of the
    probe loss w.r.t. the raw weights W), hessian_trace_stderr, grad_norm (global L2 norm of the
    gradient of the probe loss w.r.t. all parameters), movement (||W_t - W_0||_F / ||W_0||_F over all
    raw weights concatenated), movement_max (running max of movement over epochs <= t), cka (linear
    CKA of eq. (13) between the probe inputs and the network outputs), dead_fraction (fraction of
    post-ELU entries with |x| < 1e-6 over the probe rows, mean over hidden layers), grad_stable_rank
    (mean over the square hidden layers of the stable rank of dL/dW), alive (bool).
``results/<scale>/ldlt/higgs/d<depth>_<optimizer>.features.csv``: one row per (member, epoch in
    {0, 1, last}, layer): member, depth, optimizer, scale, fold, epoch, layer (1 .. depth - 1: the
    output of hidden layer l after ELU), stable_rank (||H_l||_F^2 / ||H_l||_2^2 of the probe rows'
    features, not centred), dead_fraction (of that layer).
"""

from __future__ import annotations


from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedKFold

from initlab.claims.ldlt_higgs import OPTIMIZERS
from initlab.nn.inits import InitSpec
from initlab.nn.ldlt_net import BatchedLDLT, LDLTNetSpec
from initlab.stats.representation import auc, dead_fraction, linear_cka, stable_rank
from initlab.train import Data, TrainSettings, train
from initlab.train.engine import per_seed_loss, seed_generator
from initlab.train.hessian import hutchinson_trace
from initlab.train.members import Member



def group_name(depth: int, optimizer: str) -> str:
    return f"d{int(depth)}_{optimizer}"


def parse_group(name: str) -> tuple[int, str]:
    """'d10_adamw' -> (10, 'adamw')."""
    depth, optimizer = name.split("_", 1)
    if not depth.startswith("d") or optimizer not in OPTIMIZERS:
        raise ValueError(f"ldlt HIGGS group {name!r}: expected d<depth>_<{'|'.join(OPTIMIZERS)}>")
    return int(depth[1:]), optimizer


# ---- data --------------------------------------------------------------------------------------

def cv_folds(y_train: np.ndarray, p: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Stratified K-fold split of the training part (scikit-learn, shuffled with ``cv_seed``: an
    assumption, the paper names neither).  Returns (training rows (F, n), validation rows (F, m))
    for the folds ``p['folds']`` that run, and the number of training rows dropped so that every
    run trains on the same number of rows (the last rows of the longer subsets; 0-4 rows)."""
    splitter = StratifiedKFold(n_splits=p["folds_total"], shuffle=True, random_state=p["cv_seed"])
    splits = list(splitter.split(np.zeros(len(y_train)), y_train))
    chosen = [splits[k] for k in p["folds"]]
    n_train = min(len(tr) for tr, _ in chosen)
    n_val = min(len(va) for _, va in chosen)
    dropped = sum(len(tr) - n_train for tr, _ in chosen)
    train_rows = torch.from_numpy(np.stack([tr[:n_train] for tr, _ in chosen])).long()
    # validation rows: all of each held-out fold (AUC needs no equal sizes; NaN-padding avoided by
    # keeping the fold's own list)
    val_rows = [torch.from_numpy(va).long() for _, va in chosen]
    return train_rows, val_rows, dropped


def higgs_data(split: Mapping[str, Any], p: Mapping[str, Any]) -> tuple[Data, list[torch.Tensor], dict]:
    """The engine's data for one group: the training part (all folds) with its fold subsets, the
    test set standardised with the training part's mean and standard deviation (``standardize``;
    an assumption, the paper states no preprocessing).  Returns (data, validation rows per fold,
    facts for the meta)."""
    x_train, x_test = split["x_train"].astype(np.float64), split["x_test"].astype(np.float64)
    facts = {"standardize": bool(p["standardize"])}
    if p["standardize"]:
        mean, std = x_train.mean(0), x_train.std(0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    y_train = split["y_train"].astype(np.int64)
    train_rows, val_rows, dropped = cv_folds(y_train, p)
    facts.update(folds_total=p["folds_total"], folds=list(p["folds"]), train_rows_per_run=train_rows.shape[1],
                 train_rows_dropped_to_equalise=dropped, validation_rows=[len(v) for v in val_rows])
    data = Data(torch.from_numpy(x_train).float(), torch.from_numpy(y_train), torch.from_numpy(x_test).float(),
                torch.from_numpy(split["y_test"].astype(np.int64)), train_subsets=train_rows)
    return data, val_rows, facts


# ---- members -----------------------------------------------------------------------------------

def net_spec(p: Mapping[str, Any], depth: int) -> LDLTNetSpec:
    """28 features -> width ... -> one logit (``output_head`` one_logit_bce, the only head built)."""
    if p["output_head"] != "one_logit_bce":
        raise ValueError(f"output_head {p['output_head']!r}: only one_logit_bce is implemented")
    return LDLTNetSpec(28, p["width"], depth, 1, alpha=p["alpha"], gamma=p["gamma"], form=p["ldlt_form"],
                       bias_init=p["bias_init"])


def members(p: Mapping[str, Any], depth: int, optimizer: str) -> list[Member]:
    """Fold-major: for each fold, every scale.  Members of one fold share the init seed (W0 at scale
    c is c times the same draw: common random numbers across scales, and across depth groups and
    optimizers for the layers they share) and the data order."""
    out = []
    for subset, fold in enumerate(p["folds"]):
        seed = p["seed"] + fold
        for scale in p["scales"]:
            out.append(Member(seed, InitSpec.parse({"method": p["init_law"], "scale": float(scale)}), data_seed=seed,
                              train_subset=subset,
                              labels=(("depth", depth), ("optimizer", optimizer), ("scale", float(scale)),
                                      ("fold", int(fold)))))
    return out


def settings(p: Mapping[str, Any], optimizer: str) -> TrainSettings:
    """Batch 64, lr 1e-3 annealed (cosine) to 1e-4; SGD and AdamW with PyTorch's defaults (SGD: no
    momentum, no decay; AdamW: weight decay 0.01)."""
    return TrainSettings(epochs=p["epochs"], batch_size=p["batch_size"], optimizer=optimizer, lr=p["lr"],
                         weight_decay=p["adamw_weight_decay"] if optimizer == "adamw" else 0.0,
                         schedule=p["schedule"], lr_final_ratio=p["lr_final"] / p["lr"], loss="bce",
                         eval_batch_size=p["eval_batch_size"], backward="autograd")


# ---- per-epoch metrics -------------------------------------------------------------------------

def _scores(model: BatchedLDLT, params, x: torch.Tensor, batch: int) -> np.ndarray:
    """Every member's logit on the rows of x: (n, in) shared, or (S, n, in) one set per member -> (S, n)."""
    rows = x.shape[-2]
    with torch.no_grad():
        return torch.cat([model.forward(params, x[..., i:i + batch, :])[..., 0] for i in range(0, rows, batch)],
                         dim=1).double().cpu().numpy()


def metrics_hook(model: BatchedLDLT, member_list: list[Member], data: Data, val_rows: list[torch.Tensor],
                 p: Mapping[str, Any]) -> Callable:
    """The engine's ``metrics_hook``: the columns of the module docstring (movement_max is added
    afterwards by ``finish_metrics``).  Probes: the first ``probe_rows`` rows of each run's training
    subset (Hessian trace, gradient norm and stable rank: the training loss) and of its validation
    fold (CKA, features, dead neurons)."""
    device = data.x_train.device
    subset = torch.tensor([m.train_subset for m in member_list])
    P = p["probe_rows"]
    probe_train = data.train_subsets[:, :P][subset.to(device)]                   # (S, P)
    probe_val = torch.stack([rows[:P] for rows in val_rows]).to(device)[subset.to(device)]
    x_probe, y_probe = data.x_train[probe_train], data.y_train[probe_train]
    x_val_probe = data.x_train[probe_val]
    initial = {k: v.to(device, data.x_train.dtype)
               for k, v in model.init([seed_generator(m.seed, "init") for m in member_list],
                                      [m.init for m in member_list]).items()}
    weights = [f"weight_{k}" for k in range(model.spec.depth)]
    square = [f"weight_{k}" for k in range(1, model.spec.depth - 1)]
    initial_norm = torch.sqrt(sum(initial[w].pow(2).sum((1, 2)) for w in weights))
    folds = [m.train_subset for m in member_list]
    # each member is scored on its own validation fold only: (S, longest fold) row numbers, shorter
    # folds padded with their last row (the padding is never read)
    longest = max(len(rows) for rows in val_rows)
    padded = torch.stack([torch.cat([rows, rows[-1:].expand(longest - len(rows))]) for rows in val_rows])
    x_val = data.x_train[padded.to(device)[subset.to(device)]]
    y_train_np, y_test_np = data.y_train.cpu().numpy(), data.y_test.cpu().numpy()
    feature_epochs = {0, 1, p["epochs"]}

    def probe_loss(params):
        return per_seed_loss(model.forward(params, x_probe, twice_differentiable=True), y_probe, "bce")

    def hook(epoch: int, params: dict[str, torch.Tensor], alive: torch.Tensor) -> dict[str, torch.Tensor]:
        cols: dict[str, torch.Tensor] = {}
        val_scores = _scores(model, params, x_val, p["eval_batch_size"])
        test_scores = _scores(model, params, data.x_test, p["eval_batch_size"])
        val_auc = np.full(len(member_list), np.nan)
        for k, rows in enumerate(val_rows):
            members_k = [s for s, f in enumerate(folds) if f == k]
            if members_k:
                val_auc[members_k] = auc(val_scores[members_k][:, :len(rows)], y_train_np[rows.numpy()])
        cols["val_auc"] = torch.from_numpy(val_auc)
        cols["test_auc"] = torch.from_numpy(auc(test_scores, y_test_np))
        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence([p["seed"], epoch]).generate_state(1)[0]))
        trace, trace_se = hutchinson_trace(probe_loss, leaves, weights, p["hutchinson_probes"], generator)
        cols["hessian_trace"], cols["hessian_trace_stderr"] = trace.detach(), trace_se.detach()
        grads = torch.autograd.grad(probe_loss(leaves).sum(), list(leaves.values()))
        grads = dict(zip(leaves, grads))
        cols["grad_norm"] = torch.sqrt(sum(g.reshape(g.shape[0], -1).pow(2).sum(1) for g in grads.values()))
        cols["grad_stable_rank"] = (torch.stack([stable_rank(grads[w]) for w in square]).mean(0) if square
                                    else torch.full((len(member_list),), float("nan")))
        with torch.no_grad():
            moved = torch.sqrt(sum((params[w] - initial[w]).pow(2).sum((1, 2)) for w in weights))
            cols["movement"] = moved / initial_norm
            features: list[torch.Tensor] = []
            outputs = model.forward(params, x_val_probe, features=features)
            cols["cka"] = linear_cka(x_val_probe, outputs)
            dead = torch.stack([dead_fraction(h, p["dead_threshold"]) for h in features])  # (layers, S)
            cols["dead_fraction"] = dead.mean(0)
            if epoch in feature_epochs:
                for layer, h in enumerate(features, start=1):
                    cols[f"feature_stable_rank_{layer}"] = stable_rank(h)
                    cols[f"feature_dead_fraction_{layer}"] = dead[layer - 1]
        return {k: torch.where(alive.to(v.device), v.double(), float("nan")) for k, v in cols.items()}

    return hook


def finish_metrics(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics with movement_max and without the per-layer columns, the features table)."""
    layer_cols = [c for c in metrics.columns if c.startswith(("feature_stable_rank_", "feature_dead_fraction_"))]
    keys = ["member", "depth", "optimizer", "scale", "fold", "epoch"]
    metrics = metrics.sort_values(["member", "epoch"]).reset_index(drop=True)
    metrics["movement_max"] = metrics.groupby("member")["movement"].cummax()
    long = metrics[keys + layer_cols].melt(id_vars=keys, var_name="column", value_name="value").dropna(subset=["value"])
    long["layer"] = long["column"].str.rsplit("_", n=1).str[1].astype(int)
    long["quantity"] = np.where(long["column"].str.startswith("feature_stable_rank_"), "stable_rank", "dead_fraction")
    features = (long.pivot_table(index=keys + ["layer"], columns="quantity", values="value").reset_index()
                .rename_axis(columns=None).sort_values(keys + ["layer"]).reset_index(drop=True))
    return metrics.drop(columns=layer_cols), features


def train_group(split: Mapping[str, Any], p: Mapping[str, Any], depth: int, optimizer: str, device="cpu",
                checkpoint=None, log=print) -> tuple[pd.DataFrame, pd.DataFrame, Any, dict]:
    """Train every (scale, fold) run of one (depth, optimizer) group as one batched model.
    Returns (metrics, features, the engine's result, data facts for the meta)."""
    data, val_rows, facts = higgs_data(split, p)
    model = BatchedLDLT(net_spec(p, depth))
    member_list = members(p, depth, optimizer)
    run_data = data.to(device)
    hook = metrics_hook(model, member_list, run_data, val_rows, p)
    result = train(model, member_list, data, settings(p, optimizer), device=device, checkpoint=checkpoint, log=log,
                   metrics_hook=hook)
    metrics, features = finish_metrics(result.metrics)
    return metrics, features, result, facts
