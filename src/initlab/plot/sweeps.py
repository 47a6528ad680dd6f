"""Figures of the training sweeps (data from initlab.sweeps.*)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from initlab import plot
from initlab.sweeps.fractional import ordered

# The paper's legend names.
INIT_NAMES = {"xavier": "Xavier", "random_walk": "random walk", "kaiming": "Kaiming", "s=0.8": "$s$ = 0.8",
              "s=1": "$s$ = 1"}
LOSS_RECORDS = {"last_batch": {"train_loss": "last_batch", "test_loss": "last_batch"},
                "epoch_mean": {"train_loss": "epoch_mean", "test_loss": "full_test"}}
RECORD_TEXT = {"last_batch": "last minibatch, as the authors' code", "epoch_mean": "epoch mean / full test set",
               "full_test": "full test set", "running": "running, during the epoch"}


def fractional_fig05(summary: pd.DataFrame, p: dict[str, Any]):
    """Fig. 5: train/test loss and accuracy per init over epochs, mean +- std over runs (ddof 0, as
    the paper's table).  Losses: the ``loss_shown`` record solid with its band, the other record
    dashed (mean only)."""
    shown = LOSS_RECORDS[p["loss_shown"]]
    other = LOSS_RECORDS["epoch_mean" if p["loss_shown"] == "last_batch" else "last_batch"]
    fig, axes = plot.subplots(2, 2, sharex=True)
    panels = [("train_loss", axes[0, 0]), ("test_loss", axes[0, 1]),
              ("train_accuracy", axes[1, 0]), ("test_accuracy", axes[1, 1])]
    records = {"train_accuracy": "running", "test_accuracy": "full_test"}
    for k, init_name in enumerate(ordered(p["inits"])):
        colour = plot.PALETTE[k % len(plot.PALETTE)]
        label = INIT_NAMES.get(init_name, init_name)
        for quantity, ax in panels:
            record = shown.get(quantity, records.get(quantity))
            s = summary[(summary["init"] == init_name) & (summary["quantity"] == quantity)
                        & (summary["record"] == record)].sort_values("epoch")
            ax.plot(s["epoch"], s["mean"], color=colour, label=label if quantity == "train_loss" else None)
            ax.fill_between(s["epoch"], s["mean"] - s["std"], s["mean"] + s["std"], color=colour, alpha=0.15, lw=0)
            if quantity in other:
                o = summary[(summary["init"] == init_name) & (summary["quantity"] == quantity)
                            & (summary["record"] == other[quantity])].sort_values("epoch")
                ax.plot(o["epoch"], o["mean"], color=colour, lw=0.9, ls="--")
    titles = {"train_loss": f"train loss ({RECORD_TEXT[shown['train_loss']]})",
              "test_loss": f"test loss ({RECORD_TEXT[shown['test_loss']]})",
              "train_accuracy": "train accuracy (running, %)", "test_accuracy": "test accuracy (%)"}
    for quantity, ax in panels:
        ax.set_title(titles[quantity], fontsize=10)
        if quantity.endswith("accuracy"):
            ax.set_xlabel("epoch")
            ax.set_ylim(0, 100)
    axes[0, 0].set_ylabel("cross-entropy")
    axes[1, 0].set_ylabel("accuracy (%)")
    axes[0, 0].legend(title="init (mean $\\pm$ std)")
    runs = int(summary["runs"].max()) if len(summary) else 0
    other_name = "epoch mean / full test" if p["loss_shown"] == "last_batch" else "last minibatch"
    fig.suptitle(f"Fig. 5: MNIST, {p['layers']} layers of width {p['width']}, ReLU"
                 f"{' (also on the logits)' if p['relu_on_logits'] else ''}, SGD lr {p['lr']}, batch "
                 f"{p['batch_size']}; {runs} runs per init\n(dashed: the {other_name} loss)", fontsize=10)
    return fig


def fractional_fig06(metrics: pd.DataFrame, summary: pd.DataFrame, p: dict[str, Any]):
    """Fig. 6: tail index of the gradient noise vs epoch (0 = initialisation) per init: every run
    (thin) and the mean +- std over runs; the claim's band shaded, alpha = 2 (Gaussian noise) dashed."""
    fig, ax = plot.subplots(1, 1)
    low, high = p["claim_band"]
    ax.axhspan(low, high, color="0.85", alpha=0.6, lw=0, label=f"'around 1': [{low}, {high}]")
    ax.axhline(2.0, color="0.4", ls="--", lw=0.9, label=r"$\alpha$ = 2 (Gaussian)")
    for k, init_name in enumerate(ordered(p["inits"])):
        colour = plot.PALETTE[k % len(plot.PALETTE)]
        for _, run in metrics[(metrics["init_name"] == init_name) & metrics["alive"]].groupby("run"):
            ax.plot(run["epoch"], run["tail_index"], color=colour, lw=0.6, alpha=0.4)
        s = summary[summary["init"] == init_name].sort_values("epoch")
        ax.errorbar(s["epoch"], s["tail_index_mean"], yerr=s["tail_index_std"].fillna(0), color=colour, marker="o",
                    ms=3, label=f"{INIT_NAMES.get(init_name, init_name)} ({int(s['runs'].max())} runs, mean $\\pm$ std)")
    ax.set_xlabel("epoch (0 = initialisation)")
    ax.set_ylabel(r"tail index $\hat\alpha$ of the gradient noise")
    ax.set_ylim(0, max(2.2, float(metrics["tail_index"].max()) * 1.05))
    ax.legend(fontsize=8)
    ax.set_title(f"Fig. 6: {p['layers']} layers of width {p['width']}, ReLU, MNIST, batch {p['batch_size']}, "
                 f"SGD lr {p['lr']}\n(estimator of Simsekli et al. 2019 on the {p['estimate_on']} set)", fontsize=9)
    return fig


DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def fractional_fig07(summary: pd.DataFrame, p: dict[str, Any]):
    """Fig. 7: test accuracy (top) and training loss (bottom) per init, mean +- std over runs: (a)
    MNIST over the first ``early_epochs`` epochs, (b) MNIST over all, (c) CIFAR-10; a dataset left
    out by the config says so in its panel."""
    panels = [("mnist", p["early_epochs"], f"(a) MNIST, first {p['early_epochs']} epochs"),
              ("mnist", None, "(b) MNIST"), ("cifar10", None, "(c) CIFAR-10")]
    fig, axes = plot.subplots(2, 3)
    for col, (dataset, until, title) in enumerate(panels):
        top, bottom = axes[0, col], axes[1, col]
        top.set_title(title, fontsize=10)
        bottom.set_xlabel("epoch")
        if dataset in p["excluded_datasets"] or dataset not in p["datasets"]:
            for ax in (top, bottom):
                ax.text(0.5, 0.5, f"not run:\n{DATASET_NAMES[dataset]} left out\n(exclude_datasets, or no\nsmoke-scale fixture)",
                        ha="center", va="center", transform=ax.transAxes, color="0.4")
                ax.set_xticks([])
                ax.set_yticks([])
            continue
        for k, init_name in enumerate(ordered(p["inits"])):
            colour = plot.PALETTE[(k + 2) % len(plot.PALETTE)]
            s = summary[(summary["dataset"] == dataset) & (summary["init"] == init_name)].sort_values("epoch")
            if until is not None:
                s = s[s["epoch"] <= until]
            for ax, column in ((top, "test_accuracy"), (bottom, "train_loss")):
                std = s[f"{column}_std"].fillna(0)
                ax.plot(s["epoch"], s[f"{column}_mean"], color=colour, marker="o", ms=2.5,
                        label=f"{INIT_NAMES.get(init_name, init_name)} ({int(s['runs'].max())} runs)")
                ax.fill_between(s["epoch"], s[f"{column}_mean"] - std, s[f"{column}_mean"] + std, color=colour,
                                alpha=0.2, lw=0)
        top.legend(fontsize=8, title="mean $\\pm$ std")
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[1, 0].set_ylabel("training loss (epoch mean)")
    arch = ("1 conv + 4 FC layers" if p["arch"] == "paper" else "2 conv + 20 FC layers (public code)")
    drops = ", ".join(str(m + 1) for m in p["lr_milestones"])  # 1-based epochs on the axis
    fig.suptitle(f"Fig. 7: CNN ({arch}, width {p['width']}), SGD lr {p['lr']}, weight decay {p['weight_decay']}, "
                 f"batch {p['batch_size']}, lr x {p['lr_gamma']} from epoch {drops}", fontsize=10)
    return fig
