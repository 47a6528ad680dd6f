"""Decay paper section 6, Figures 9-11: Covertype training curves of AOL/SLL nets (bias zero / set)
and the plain feed-forward baseline, success rates by the paper's 1 % rule and the authors'
absolute rule, and the claims.  Reads the per-group metrics tables of decay_covtype_train.py."""

import json

import numpy as np
import pandas as pd
from scipy import stats

from initlab import plot
from initlab.jobs import run_job
from initlab.train.metrics import curve_summary, rate_summary, success_table

KEYS = ["model", "depth", "bias"]
GREEN = "#009E73"
BIAS_STYLE = {"zero": ("#0072B2", "AOL, bias 0"), "set": ("#D55E00", "AOL, bias set"),
              "default": (GREEN, "plain ReLU net (PyTorch init)")}


def _variant(p):
    bias = {"eq42": "eq. (42)", "uniform_fan_in": r"U($\pm 1/\sqrt{n}$)"}[p["bias_set_init"]]
    logits = "ReLU on logits" if p["relu_on_logits"] else "no ReLU on logits"
    return f"bias set = {bias}, {logits}, {p['seeds']} seeds"


def fig09(metrics, p):
    aol = metrics[metrics["model"] == "aol"]
    depths = sorted(aol["depth"].unique())
    colours = dict(zip(depths, plot.PALETTE))
    fig, axes = plot.subplots(1, 2, sharey=True)
    for ax, bias in zip(axes, ("zero", "set")):
        sub = aol[(aol["bias"] == bias) & (aol["epoch"] >= 1)]
        for (depth, seed), run in sub.groupby(["depth", "seed"]):
            ax.plot(run["epoch"], run["train_loss"], color=colours[depth], lw=0.9, alpha=0.7,
                    label=f"$n$ = {depth}" if seed == sub["seed"].min() else None)
        ax.set_title(f"AOL/SLL nets, bias {'0' if bias == 'zero' else 'set'}")
        ax.set_xlabel("epoch")
        ax.legend(title="internal layers")
    axes[0].set_ylabel("training loss (cross-entropy)")
    axes[0].set_yscale("log")
    fig.suptitle(f"Fig. 9: Covertype training loss of every run ({_variant(p)})", fontsize=10)
    return fig


def fig10(summary, p):
    depths = sorted(summary["depth"].unique())
    fig, axes = plot.subplots(1, len(depths), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, depth in zip(axes, depths):
        for bias, (colour, label) in BIAS_STYLE.items():
            s = summary[(summary["depth"] == depth) & (summary["bias"] == bias)]
            if s.empty:
                continue
            std = s["train_loss_std"].fillna(0)
            ax.plot(s["epoch"], s["train_loss_mean"], color=colour, label=label)
            ax.fill_between(s["epoch"], s["train_loss_mean"] - std, s["train_loss_mean"] + std,
                            color=colour, alpha=0.2, lw=0)
        ax.set_title(f"$n$ = {depth} internal layers")
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("training loss, mean $\\pm$ std")
    axes[0].set_yscale("log")
    axes[0].legend()
    fig.suptitle(f"Fig. 10: Covertype, AOL/SLL vs plain feed-forward ({_variant(p)})", fontsize=10)
    return fig


def fig11(rates, p):
    depths = sorted(rates["depth"].unique())
    fig, axes = plot.subplots(1, 2, sharey=True)
    titles = {"paper": f"paper: > {p['success_rel_drop']:.0%} drop after epoch {p['success_from_epoch']}",
              "authors": f"authors' code: |L[{p['success_abs_index']}] - L[last]| > {p['success_abs_change']}"}
    width = 0.27
    for ax, rule in zip(axes, ("paper", "authors")):
        for k, (bias, (colour, label)) in enumerate(BIAS_STYLE.items()):
            r = rates[(rates["rule"] == rule) & (rates["bias"] == bias)].set_index("depth").reindex(depths)
            x = np.arange(len(depths)) + (k - 1) * width
            err = np.vstack([r["rate"] - r["rate_lo"], r["rate_hi"] - r["rate"]])
            ax.bar(x, r["rate"], width, color=colour, label=label, yerr=err, ecolor="0.3")
        ax.set_xticks(np.arange(len(depths)), [str(d) for d in depths])
        ax.set_xlabel("internal layers $n$")
        ax.set_title(titles[rule], fontsize=10)
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("training success rate (95% Wilson CI)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    fig.suptitle(f"Fig. 11: Covertype training success ({_variant(p)})", fontsize=10)
    return fig


def _rate(rates, depth, bias, rule="paper"):
    r = rates[(rates["depth"] == depth) & (rates["bias"] == bias) & (rates["rule"] == rule)]
    return None if r.empty else r.iloc[0]


def claims(job, success, rates, p):
    depths = sorted(int(d) for d in success["depth"].unique())
    n_seeds = p["seeds"]
    for depth, key in ((5, "paper_success_rate_depth5_bias_set"), (30, "paper_success_rate_depth30_bias_set")):
        paper = p[key]
        r = _rate(rates, depth, "set")
        cid = f"covtype_success_depth{depth}_bias_set"
        desc = (f"Covertype, AOL/SLL net with {depth} internal layers and bias set: fraction of {n_seeds} seeds "
                f"whose training loss drops > {p['success_rel_drop']:.0%} after epoch {p['success_from_epoch']} "
                "(paper's rule; Figure 11)")
        if r is None:
            job.claim(cid, desc + f"; not run: depth {depth} is not in this scale's depths {depths}",
                      paper, "", "", "not-run")
            continue
        auth = _rate(rates, depth, "set", "authors")
        verdict = "reproduced" if r["rate_lo"] <= paper <= r["rate_hi"] else "deviates"
        job.claim(cid, desc + "; verdict: paper value inside the 95% Wilson interval",
                  paper, f"{r['successes']}/{r['runs']} = {r['rate']:.2f} (authors' rule: {auth['rate']:.2f})",
                  f"95% Wilson [{r['rate_lo']:.2f}, {r['rate_hi']:.2f}]", verdict)

    aol = success[success["model"] == "aol"]
    table = [[int(aol[aol["bias"] == b]["success_paper"].sum()), int((~aol[aol["bias"] == b]["success_paper"]).sum())]
             for b in ("set", "zero")]
    _, p_bias = stats.fisher_exact(table, alternative="greater")
    job.claim("covtype_bias_set_helps",
              "Covertype: setting the bias raises the training success rate of AOL/SLL nets (Figure 11), pooled "
              f"over depths {depths}, paper's rule; verdict: one-sided Fisher exact test p < 0.05",
              "higher success rate with bias set",
              f"set {table[0][0]}/{sum(table[0])} vs zero {table[1][0]}/{sum(table[1])}", f"p = {p_bias:.3g}",
              "reproduced" if p_bias < 0.05 else "deviates")

    shallow, deep = aol[aol["depth"] == depths[0]], aol[aol["depth"] == depths[-1]]
    table = [[int(shallow["success_paper"].sum()), int((~shallow["success_paper"]).sum())],
             [int(deep["success_paper"].sum()), int((~deep["success_paper"]).sum())]]
    _, p_depth = stats.fisher_exact(table, alternative="greater")
    job.claim("covtype_depth_stalls_training",
              f"Covertype: deeper AOL/SLL nets train less often ({depths[0]} vs {depths[-1]} internal layers, both bias "
              "settings pooled, paper's rule; Figures 9-11); verdict: one-sided Fisher exact test p < 0.05",
              "success falls with depth",
              f"n={depths[0]}: {table[0][0]}/{sum(table[0])}, n={depths[-1]}: {table[1][0]}/{sum(table[1])}",
              f"p = {p_depth:.3g}", "reproduced" if p_depth < 0.05 else "deviates")

    parts, p_values = [], []
    for depth in depths:
        base = success[(success["model"] == "plain") & (success["depth"] == depth)]["final_train_loss"]
        lip = success[(success["model"] == "aol") & (success["depth"] == depth)]["final_train_loss"]
        base, lip = base[np.isfinite(base)], lip[np.isfinite(lip)]
        pv = stats.ttest_ind(base, lip, equal_var=False, alternative="less").pvalue if len(base) > 1 and len(lip) > 1 else 1.0
        p_values.append(pv)
        parts.append(f"n={depth}: {base.mean():.4f} vs {lip.mean():.4f}")
    ok = all(pv < 0.05 for pv in p_values)
    job.claim("covtype_baseline_lower_loss",
              "Covertype: the plain feed-forward net reaches a lower final training loss than the AOL/SLL nets at "
              "every depth (Figure 10, green); mean final loss baseline vs AOL (both biases); verdict: one-sided "
              "Welch t-test p < 0.05 at every depth",
              "baseline loss below the Lipschitz nets", "; ".join(parts),
              "p = " + ", ".join(f"{pv:.3g}" for pv in p_values), "reproduced" if ok else "deviates")


def main(job):
    p = job.params
    metrics = pd.concat([pd.read_csv(path) for path in job.inputs["metrics"]], ignore_index=True)
    times = {}
    for path in job.inputs["metas"]:
        meta = json.loads(open(path).read())
        times[meta["group"]] = {k: meta.get(k) for k in ("train_seconds_this_process", "examples_per_s",
                                                         "resumed_from_epoch", "device", "seeds_diverged")}
    job.extra_meta["groups"] = times
    job.extra_meta["train_seconds_total"] = sum((t["train_seconds_this_process"] or 0) for t in times.values())
    job.log(f"{metrics['group'].nunique()} run groups, total training time "
            f"{job.extra_meta['train_seconds_total']:.0f} s")

    job.write_csv("fig09", metrics)
    job.save_figure("fig09", fig09(metrics, p))
    summary = curve_summary(metrics, KEYS)
    job.write_csv("fig10", summary)
    job.save_figure("fig10", fig10(summary, p))
    success = success_table(metrics, KEYS, p["success_from_epoch"], p["success_rel_drop"],
                            p["success_abs_index"], p["success_abs_change"])
    rates = rate_summary(success, KEYS)
    job.write_csv("fig11", rates)
    job.save_figure("fig11", fig11(rates, p))
    claims(job, success, rates, p)


if __name__ == "__main__":
    run_job(main)
