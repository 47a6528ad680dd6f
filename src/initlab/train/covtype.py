"""The decay paper's Covertype experiment (section 6, Figures 9-11) on the batched engine.

Run groups: one per (model, depth, bias): ``aol_d<depth>_zero`` and ``aol_d<depth>_set`` (the
AOL/SLL-normalised net, bias exactly 0 or "set"), and ``plain_d<depth>_default`` (the plain ReLU
net of the same shape with PyTorch's default nn.Linear initialisation, the paper's green baseline).
Every group trains all its seeds as one batched model (``initlab.train.train``).
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
import torch

from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.train.engine import Data, TrainResult, TrainSettings, train

COVTYPE_CLASSES = 7
GROUP_RE = re.compile(r"^(aol|plain)_d(\d+)_(zero|set|default)$")


def group_names(depths, baseline: bool = True) -> list[str]:
    names = []
    for depth in depths:
        names += [f"aol_d{depth}_zero", f"aol_d{depth}_set"]
        if baseline:
            names.append(f"plain_d{depth}_default")
    return names


def parse_group(name: str) -> tuple[str, int, str]:
    match = GROUP_RE.match(name)
    if not match:
        raise ValueError(f"run group {name!r}; expected aol_d<depth>_zero|set or plain_d<depth>_default")
    model, depth, bias = match.groups()
    if (model == "plain") != (bias == "default"):
        raise ValueError(f"run group {name!r}: the plain baseline uses bias 'default', AOL nets 'zero' or 'set'")
    return model, int(depth), bias


def split(features: np.ndarray, labels: np.ndarray, rows: int | None, test_fraction: float,
          seed: int) -> Data:
    """One random permutation (``seed``) of all rows; the first ``rows`` of it (all if None) are
    used, the first (1 - test_fraction) of those for training, the rest for testing (80/20 random
    split of the paper).  Raw features, no scaling."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction {test_fraction} must be in (0, 1)")
    n_total = len(labels)
    if rows is not None and not 2 <= rows <= n_total:
        raise ValueError(f"rows {rows} must be in 2..{n_total} (or null for all rows)")
    order = np.random.default_rng(seed).permutation(n_total)[: rows or n_total]
    n_train = int(round(len(order) * (1 - test_fraction)))
    train_idx, test_idx = order[:n_train], order[n_train:]
    x, y = torch.from_numpy(np.ascontiguousarray(features)), torch.from_numpy(np.ascontiguousarray(labels))
    return Data(x[train_idx], y[train_idx], x[test_idx], y[test_idx])


def group_spec(name: str, params: dict) -> MLPSpec:
    model, depth, bias = parse_group(name)
    bias_init = {"zero": "zero", "set": params["bias_set_init"], "default": "uniform_fan_in"}[bias]
    return MLPSpec(in_features=params.get("in_features", 54), width=params["width"], depth=depth,
                   out_features=COVTYPE_CLASSES, lipschitz="aol" if model == "aol" else None,
                   aol_scale=params["aol_scale"], aol_layers=params.get("aol_layers", "all"), bias_init=bias_init,
                   relu_on_logits=params["relu_on_logits"])


def train_group(name: str, data: Data, params: dict, device="cpu", checkpoint=None,
                log: Callable[[str], None] = print) -> tuple[pd.DataFrame, TrainResult]:
    """Train every seed of one run group; returns the long metrics table (with model/depth/bias
    columns) and the engine's result."""
    model, depth, bias = parse_group(name)
    seeds = [params["seed"] + k for k in range(params["seeds"])]
    settings = TrainSettings(epochs=params["epochs"], batch_size=params["batch_size"],
                             optimizer="adam", lr=params["lr"], loss="cross_entropy",
                             checkpoint_every=params["checkpoint_every"],
                             compile=params.get("compile", False), backward=params.get("backward", "auto"))
    result = train(BatchedMLP(group_spec(name, params)), seeds, data, settings, device=device,
                   checkpoint=checkpoint, log=log)
    metrics = result.metrics
    metrics.insert(0, "bias", bias)
    metrics.insert(0, "depth", depth)
    metrics.insert(0, "model", model)
    metrics.insert(0, "group", name)
    return metrics, result
