"""Summaries of per-seed training curves (long-format metrics tables from initlab.train.train).

Success rules of the decay paper's Covertype experiment (section 6, Figure 11):

* ``success_relative_drop`` (the paper's text): "the training loss changes (e.g. > 1 % reduction
  from epoch 2 and onward)".  A run succeeds when its epoch-mean training loss falls more than
  ``rel_drop`` below its epoch-``from_epoch`` value at some later epoch:
  min_{e > from_epoch} L_e < (1 - rel_drop) L_{from_epoch}.
* ``success_absolute_change`` (the authors' plotting code): |L[index] - L[last]| > ``abs_change``
  with 0-based ``index`` into the list of epoch losses (index 5 = epoch 6).

A diverged run (NaN loss) never succeeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def loss_curves(metrics: pd.DataFrame, keys: list[str], column: str = "train_loss") -> pd.DataFrame:
    """One row per run (``keys`` + seed), one column per training epoch (1..E) of ``column``."""
    trained = metrics[metrics["epoch"] >= 1]
    return trained.pivot(index=keys + ["seed"], columns="epoch", values=column)


def success_relative_drop(curve: np.ndarray, from_epoch: int = 2, rel_drop: float = 0.01) -> bool:
    """``curve[e - 1]`` is the loss of epoch e (1-based)."""
    curve = np.asarray(curve, dtype=float)
    if len(curve) <= from_epoch:
        raise ValueError(f"the relative-drop rule needs more than {from_epoch} epochs; got {len(curve)}")
    if not np.all(np.isfinite(curve)):
        return False
    return bool(curve[from_epoch:].min() < (1.0 - rel_drop) * curve[from_epoch - 1])


def success_absolute_change(curve: np.ndarray, index: int = 5, abs_change: float = 0.01) -> bool:
    curve = np.asarray(curve, dtype=float)
    if len(curve) <= index:
        raise ValueError(f"the absolute-change rule compares epoch index {index} with the last; "
                         f"needs more than {index} epochs, got {len(curve)}")
    if not np.all(np.isfinite(curve)):
        return False
    return bool(abs(curve[index] - curve[-1]) > abs_change)


def success_table(metrics: pd.DataFrame, keys: list[str], from_epoch: int, rel_drop: float,
                  abs_index: int, abs_change: float) -> pd.DataFrame:
    """Per run: both success flags and the final training loss."""
    curves = loss_curves(metrics, keys)
    rows = []
    for index, curve in curves.iterrows():
        values = curve.to_numpy(dtype=float)
        rows.append({**dict(zip(keys + ["seed"], index)),
                     "success_paper": success_relative_drop(values, from_epoch, rel_drop),
                     "success_authors": success_absolute_change(values, abs_index, abs_change),
                     "final_train_loss": values[-1]})
    return pd.DataFrame(rows)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (scipy's, which is exactly 0 at 0 successes and
    exactly 1 at all successes: the closed form rounds to 1 - 1e-16 there, an interval that misses
    its own rate and a negative error bar)."""
    if trials == 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def rate_summary(success: pd.DataFrame, keys: list[str], flags=("success_paper", "success_authors"),
                 confidence: float = 0.95) -> pd.DataFrame:
    """Long format: one row per (keys, rule) with successes, runs, rate and its Wilson interval."""
    rows = []
    for group, frame in success.groupby(keys, sort=True):
        group = group if isinstance(group, tuple) else (group,)
        for flag in flags:
            k, n = int(frame[flag].sum()), len(frame)
            lo, hi = wilson_interval(k, n, confidence)
            rows.append({**dict(zip(keys, group)), "rule": flag.removeprefix("success_"),
                         "successes": k, "runs": n, "rate": k / n, "rate_lo": lo, "rate_hi": hi})
    return pd.DataFrame(rows)


def curve_summary(metrics: pd.DataFrame, keys: list[str], column: str = "train_loss") -> pd.DataFrame:
    """Mean, std and count over seeds of ``column`` per (keys, epoch), diverged runs left out."""
    trained = metrics[(metrics["epoch"] >= 1) & np.isfinite(metrics[column])]
    out = trained.groupby(keys + ["epoch"])[column].agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"mean": f"{column}_mean", "std": f"{column}_std", "count": "runs"})
