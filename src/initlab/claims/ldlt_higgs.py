"""Claim rules of the ldlt paper's HIGGS sweep (Sec. V, Appendices B-D; spec sweeps.md a.4).

Inputs are the tables of ``initlab.sweeps.ldlt`` (its docstring is the contract): ``metrics`` (one
row per member and epoch, all groups concatenated) and ``features`` (feature stable ranks per
layer).  A member is one (optimizer, depth, scale, fold).

Every rule reduces each part of its claim (e.g. one optimizer's trend) to an interval and the band
the claim implies (``outcome``): reproduced when the (1 - alpha) interval lies inside the band,
deviates when it lies outside, not-run when it straddles an edge (the data cannot separate at this
scale).  A row deviates when one part does, is reproduced when every part is, and is not-run
otherwise or when a part has too few members or levels; its description says why.

Rows are built by ``initlab.claims.row``: the quote, the rule and every part's value and interval go
in the description; ``replicated_value`` and ``uncertainty`` (the half-width of its interval) are
those of the deciding part (``deciding_part``); ``paper_value`` is a number only where the paper
prints one for the measured quantity; ``target`` is the claim's figure, read from the ``_figNN`` of
its id or named by the rule (from spec a.4) where the id has none.

Trends in depth (or scale) are measured inside strata of the other grid factors, (scale, fold) (or
(depth, fold)) of one optimizer, so the other factors' effects do not drown them: the number is the
mean over strata of a per-stratum statistic, its interval a bootstrap over strata.  Diverged members
(NaN AUC) count as chance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from initlab.claims import row
from initlab.stats.compare import binomial_interval

GRID = ["optimizer", "depth", "scale", "fold"]
# The sweep's optimizers in the paper's order, and their names in figures (one definition for
# initlab.sweeps.ldlt, the claims and initlab.plot.ldlt_sweeps; this module needs no torch).
OPTIMIZERS = ("sgd", "adamw")
OPTIMIZER_NAMES = {"sgd": "SGD", "adamw": "AdamW"}
CHANCE_AUC = 0.5
# "a single component" (Fig. 15) / "ranks are one" (Fig. 17): a stable rank of one.
RANK_ONE = 1.0
OTHER_FACTORS = {"depth": ["scale", "fold"], "scale": ["depth", "fold"]}
INF = math.inf


@dataclass
class Part:
    """One measured part of a claim (e.g. one optimizer's trend)."""
    label: str
    value: float
    interval: str  # the name of its interval, e.g. "bootstrap 95 % CI"
    half_width: float  # of that interval; NaN when it has none
    text: str  # the interval and the sample sizes behind it
    outcome: str  # a ledger verdict
    clearance: float  # how far the interval lies inside the claimed band (negative: not inside)
    paper_value: Any = ""  # the number the paper prints for this part, if any


# ----------------------------------------------------------------------------------------------
# Shared helpers


def member_values(metrics: pd.DataFrame, column: str, epoch: int | str = "last") -> pd.DataFrame:
    """One row per member (GRID + ``column``): the value at the member's last epoch (``"last"``), at
    a given epoch (int), or averaged over its epochs (``"mean"``).  NaN AUC counts as chance."""
    frame = metrics[[*GRID, "epoch", column]].copy()
    if column.endswith("_auc"):
        frame[column] = frame[column].fillna(CHANCE_AUC)
    if epoch == "last":
        frame = frame[frame.epoch == frame.groupby(GRID).epoch.transform("max")]
    elif epoch == "mean":
        frame = frame.groupby(GRID, as_index=False)[column].mean()
    else:
        frame = frame[frame.epoch == epoch]
    return frame.dropna(subset=[column])[[*GRID, column]].reset_index(drop=True)


def paired_differences(first: pd.DataFrame, second: pd.DataFrame, column: str, on: list[str]) -> pd.Series:
    """first - second of ``column`` for the rows matched on ``on`` (indexed by ``on``)."""
    merged = first.merge(second, on=on, suffixes=("_first", "_second"))
    return (merged[f"{column}_first"] - merged[f"{column}_second"]).set_axis(
        pd.MultiIndex.from_frame(merged[on]))


def per_stratum(frame: pd.DataFrame, x: str, y: str, statistic: Callable[[np.ndarray, np.ndarray], float]) -> pd.Series:
    """``statistic(x, y)`` in every stratum (optimizer + the grid factors other than ``x``) that has
    at least two levels of ``x``; indexed by the stratum."""
    strata = ["optimizer", *OTHER_FACTORS[x]]
    values = {key: statistic(g[x].to_numpy(float), g[y].to_numpy(float))
              for key, g in frame.groupby(strata) if g[x].nunique() >= 2}
    return pd.Series(values, dtype=float)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return math.nan if np.ptp(y) == 0 else float(stats.spearmanr(x, y).statistic)


def bootstrap(statistic: Callable[..., np.ndarray], samples: list[np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
    """``statistic`` over n_boot resamples (rows drawn with replacement, each sample on its own);
    ``statistic`` gets arrays with a leading resample axis."""
    rng = np.random.default_rng(p["seed"])
    return statistic(*[s[rng.integers(0, len(s), size=(p["n_boot"], len(s)))] for s in samples])


def outcome(lo: float, hi: float, low: float = -INF, high: float = INF) -> str:
    """Interval [lo, hi] against the claimed band (low, high); not-run when it straddles an edge."""
    if low < lo and hi < high:
        return "reproduced"
    if hi < low or lo > high:
        return "deviates"
    return "not-run"


def combine(outcomes: list[str]) -> str:
    if "deviates" in outcomes:
        return "deviates"
    return "reproduced" if all(o == "reproduced" for o in outcomes) else "not-run"


def ci_name(p: Mapping[str, Any]) -> str:
    return f"{100 * (1 - p['alpha']):g} % CI"


def judged(label: str, value: float, interval: str, lo: float, hi: float, text: str, low: float = -INF,
           high: float = INF) -> Part:
    """A part whose interval [lo, hi] is judged against the claimed band (low, high)."""
    return Part(label, value, interval, (hi - lo) / 2, text, outcome(lo, hi, low, high), min(lo - low, high - hi))


def bootstrap_part(label: str, statistic: Callable[..., np.ndarray], samples: list[np.ndarray], p: Mapping[str, Any],
                   low: float = -INF, high: float = INF, note: str = "") -> Part | str:
    """``statistic`` of the samples with its percentile bootstrap interval, against (low, high)."""
    sizes = [len(s) for s in samples]
    if min(sizes) < p["min_members"]:
        return f"{label}: {min(sizes)} values, fewer than min_members = {p['min_members']}"
    draws = bootstrap(statistic, samples, p)
    lo, hi = np.nanpercentile(draws, [50 * p["alpha"], 100 - 50 * p["alpha"]])
    value = float(statistic(*[s[None] for s in samples])[0])
    interval = f"bootstrap {ci_name(p)}"
    return judged(label, value, interval, lo, hi,
                  f"{interval} [{lo:.3g}, {hi:.3g}], n = {'/'.join(map(str, sizes))}{note}", low, high)


def mean_of(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=-1)


def mean_part(label: str, values: Any, p: Mapping[str, Any], low: float = -INF, high: float = INF) -> Part | str:
    values = np.asarray(values, dtype=float)
    return bootstrap_part(label, mean_of, [values[np.isfinite(values)]], p, low, high)


def paired_part(label: str, differences: Any, p: Mapping[str, Any], low: float = -INF, high: float = INF) -> Part | str:
    """Mean of paired differences with its bootstrap interval, plus the Wilcoxon signed-rank p."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    wilcoxon = 1.0 if len(d) < 2 or np.all(d == 0) else stats.wilcoxon(d).pvalue
    return bootstrap_part(label, mean_of, [d], p, low, high, f", Wilcoxon signed-rank p = {wilcoxon:.2g}")


def trend_part(label: str, frame: pd.DataFrame, x: str, y: str, p: Mapping[str, Any], sign: int) -> Part | str:
    """Mean within-stratum Spearman correlation of ``y`` with ``x``; claimed sign ``sign``."""
    if frame[x].nunique() < 2:
        return f"{label}: {frame[x].nunique()} {x} level(s)"
    rho = per_stratum(frame, x, y, spearman)
    return mean_part(label, rho, p, *((0.0, INF) if sign > 0 else (-INF, 0.0)))


def change_part(label: str, frame: pd.DataFrame, x: str, y: str, p: Mapping[str, Any], low: float = -INF,
                high: float = INF) -> Part | str:
    """Mean within-stratum least-squares change of ``y`` from the smallest to the largest ``x``."""
    if frame[x].nunique() < 2:
        return f"{label}: {frame[x].nunique()} {x} level(s)"
    span = frame[x].max() - frame[x].min()
    change = per_stratum(frame, x, y, lambda a, b: np.polyfit(a, b, 1)[0] * span)
    return mean_part(label, change, p, low, high)


def correlation_part(label: str, x: Any, y: Any, p: Mapping[str, Any], sign: int) -> Part | str:
    """Spearman correlation over members with its Fisher-z interval (se^2 = 1.06 / (n - 3))."""
    n = len(x)
    if n < max(p["min_members"], 4):
        return f"{label}: {n} members"
    rho, pvalue = stats.spearmanr(x, y)
    if not np.isfinite(rho):
        return f"{label}: a constant variable"
    half = stats.norm.ppf(1 - p["alpha"] / 2) * math.sqrt(1.06 / (n - 3))
    z = math.atanh(min(max(rho, -0.999999), 0.999999))
    lo, hi = math.tanh(z - half), math.tanh(z + half)
    interval = f"Fisher-z {ci_name(p)}"
    return judged(label, float(rho), interval, lo, hi, f"{interval} [{lo:.3g}, {hi:.3g}], p = {pvalue:.2g}, n = {n}",
                  *((0.0, INF) if sign > 0 else (-INF, 0.0)))


def fraction_part(label: str, hits: Any, p: Mapping[str, Any], low: float = -INF, high: float = INF) -> Part | str:
    """Fraction of members with a property, with its exact (Clopper-Pearson) interval."""
    hits = np.asarray(hits, dtype=bool)
    if len(hits) < p["min_members"]:
        return f"{label}: {len(hits)} members, fewer than min_members = {p['min_members']}"
    k, n = int(hits.sum()), len(hits)
    ci_low, ci_high = binomial_interval(k, n, 1 - p["alpha"], "exact")
    interval = f"exact {ci_name(p)}"
    return judged(label, k / n, interval, ci_low, ci_high, f"{k}/{n}, {interval} [{ci_low:.3g}, {ci_high:.3g}]",
                  low, high)


def printed(part: Part | str, paper_value: float) -> Part | str:
    """The part with the number the paper prints for it (an unmeasured part stays a reason)."""
    return replace(part, paper_value=paper_value) if isinstance(part, Part) else part


def deciding_part(parts: list[Part], verdict: str) -> Part:
    """The part a row's verdict rests on: the first deviating part of a deviating row, the first
    undecided part of a not-run row, the part nearest its band's edge of a reproduced row."""
    if verdict == "reproduced":
        return min(parts, key=lambda part: part.clearance)
    return next(part for part in parts if part.outcome == verdict)


def figure_of(claim_id: str) -> str:
    """The figure a claim id names by its ``_figNN`` (fig06a -> fig06)."""
    found = re.search(r"_(fig\d\d)[a-z]?$", claim_id)
    if not found:
        raise ValueError(f"claim {claim_id!r} names no figure: give its target")
    return found.group(1)


def ledger_row(claim_id: str, quote: str, rule: str, parts: list[Part | str], target: str = "") -> dict[str, Any]:
    """The claims-ledger row: not-run when a part could not be measured, else the combined outcome;
    ``target`` defaults to the figure of the claim id."""
    target = target or figure_of(claim_id)
    reasons = [part for part in parts if isinstance(part, str)]
    measured = [part for part in parts if isinstance(part, Part)]
    summary = "; ".join(f"{part.label} = {part.value:.4g} ({part.text})" for part in measured)
    description = f"{quote}. Rule: {rule}. " + (f"Measured: {summary}. " if summary else "")
    if reasons:
        return row(claim_id, description + f"Not run: {'; '.join(reasons)}", "", "", math.nan, "not-run",
                   target=target)
    verdict = combine([part.outcome for part in measured])
    decisive = deciding_part(measured, verdict)
    description += f"Outcome: {verdict}"
    if verdict == "not-run":
        description += (f". Not run: {decisive.label}: the {decisive.interval} straddles the margin: cannot separate "
                        "at this scale")
    description += f". replicated_value: {decisive.label}; uncertainty: " + (
        f"the half-width of its {decisive.interval}" if math.isfinite(decisive.half_width)
        else f"NaN (its {decisive.interval} is no interval)")
    return row(claim_id, description, decisive.paper_value, decisive.value, decisive.half_width, verdict,
               target=target)


def of(frame: pd.DataFrame, optimizer: str) -> pd.DataFrame:
    return frame[frame.optimizer == optimizer]


def sign_rule(p: Mapping[str, Any], what: str) -> str:
    return (f"reproduced if the {ci_name(p)} of {what} excludes 0 on the claimed side for every part, deviates if it "
            "excludes 0 on the other side for one part, not-run otherwise")


def trend_rows(claim_id: str, quote: str, what: str, frame: pd.DataFrame, x: str, y: str, signs: Mapping[str, int],
               p: Mapping[str, Any]) -> dict[str, Any]:
    """A monotone-trend claim per optimizer (``signs``: optimizer -> claimed sign of the trend)."""
    parts = [trend_part(f"{opt} rho({x}, {y})", of(frame, opt), x, y, p, sign) for opt, sign in signs.items()]
    strata = ", ".join(OTHER_FACTORS[x])
    rule = (f"{what}: mean over ({strata}) strata of the Spearman correlation with {x}, claimed sign "
            + ", ".join(f"{opt} {'+' if s > 0 else '-'}" for opt, s in signs.items()) + "; "
            + sign_rule(p, "the mean correlation"))
    return ledger_row(claim_id, quote, rule, parts)


def both(sign: int) -> dict[str, int]:
    return {opt: sign for opt in OPTIMIZERS}


# ----------------------------------------------------------------------------------------------
# Claim 1 (Fig. 6a vs Fig. 7): depth


def depth_no_decay_fig06a(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final, margin = member_values(metrics, "val_auc"), p["auc_margin"]
    parts = [change_part(f"{opt} val AUC change shallowest->deepest", of(final, opt), "depth", "val_auc", p, low=-margin)
             for opt in OPTIMIZERS]
    return ledger_row(
        "higgs_depth_no_decay_fig06a",
        "'relative to the depth hyperparameter, there is no expected decay, with the larger networks showing little to "
        "no decrease in accuracy as depth increases' (Sec. V-C, Fig. 6a)",
        "final validation AUC, per optimizer: mean over (scale, fold) strata of the least-squares change from the "
        f"shallowest to the deepest depth; reproduced if its {ci_name(p)} lies above -auc_margin = -{margin:g} for both "
        "optimizers, deviates if it lies below it for one, not-run otherwise", parts)


def depth_decreases_fig07(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_depth_decreases_fig07",
                      "'as the network depth increase, the performance decrease for both the SGD and the AdamW "
                      "optimizers' (Sec. V-C, Fig. 7)", "final test AUC", member_values(metrics, "test_auc"),
                      "depth", "test_auc", both(-1), p)


# Claim 2 (Fig. 6a)


def adamw_beats_sgd(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final = member_values(metrics, "val_auc")
    d = paired_differences(of(final, "adamw"), of(final, "sgd"), "val_auc", ["depth", "scale", "fold"])
    return ledger_row(
        "higgs_adamw_beats_sgd",
        "'the training using the AdamW optimizer consistently performing better than SGD' (Fig. 6a)",
        "final validation AUC AdamW - SGD over members matched on (depth, scale, fold); "
        + sign_rule(p, "the mean difference") + "; the Wilcoxon signed-rank p is reported; target fig06 (spec a.4 "
        "item 2: Fig. 6a)",
        [paired_part("mean val AUC AdamW - SGD", d, p, low=0.0)], target="fig06")


# Claim 3 (Fig. 6b)


def sgd_val_auc_decreases_with_scale_fig06b(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_sgd_val_auc_decreases_with_scale_fig06b",
                      "'In training with SGD, we observe the opposite relationship: the larger the initialization "
                      "scale, the lower the expected validation AUC' (Sec. V-C, Fig. 6b)", "final validation AUC",
                      member_values(metrics, "val_auc"), "scale", "val_auc", {"sgd": -1}, p)


def adamw_val_auc_no_scale_relation_fig06b(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final, margin = member_values(metrics, "val_auc"), p["auc_margin"]
    return ledger_row(
        "higgs_adamw_val_auc_no_scale_relation_fig06b",
        "'during AdamW optimizer training, there is not only no relationship between the initialization scheme's scale "
        "and training' (Sec. V-C, Fig. 6b)",
        "final validation AUC, AdamW: mean over (depth, fold) strata of the least-squares change from the smallest to "
        f"the largest scale; reproduced if its {ci_name(p)} lies inside +-auc_margin = {margin:g}, deviates if it lies "
        "outside, not-run otherwise",
        [change_part("adamw val AUC change over scale", of(final, "adamw"), "scale", "val_auc", p, -margin, margin)])


# Claim 4 (Fig. 8)


def test_auc_decreases_with_scale_fig08(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_test_auc_decreases_with_scale_fig08",
                      "'the larger the initialization scale, the worse the test AUC ended up being. This negative trend "
                      "is reflected in both the AdamW and SGD optimizers' final test AUC' (Sec. V-C, Fig. 8)",
                      "final test AUC", member_values(metrics, "test_auc"), "scale", "test_auc", both(-1), p)


def scale_drop_larger_for_sgd_fig08(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final = member_values(metrics, "test_auc")
    parts: list[Part | str]
    if final.scale.nunique() < 2:
        parts = [f"{final.scale.nunique()} scale level(s)"]
    else:
        span = final.scale.max() - final.scale.min()
        change = per_stratum(final, "scale", "test_auc", lambda a, b: np.polyfit(a, b, 1)[0] * span)
        present = set(change.index.get_level_values(0))
        sgd, adamw = (change.xs(opt) if opt in present else pd.Series(dtype=float) for opt in ("sgd", "adamw"))
        parts = [paired_part("test AUC change over scale, SGD - AdamW", (sgd - adamw).dropna(), p, high=0.0)]
    return ledger_row(
        "higgs_scale_drop_larger_for_sgd_fig08",
        "'This is especially prevalent in network training using the SGD optimizer' (Sec. V-C, Fig. 8; its 'no better "
        "than random chance, with an AUC of 0.5' is checked by higgs_sgd_chance_above_scale2)",
        "final test AUC: least-squares change from the smallest to the largest scale in each (depth, fold) stratum, SGD "
        "minus AdamW matched on the stratum; " + sign_rule(p, "the mean (claimed negative)"), parts)


# Claim 5 (Fig. 9)


def adamw_rich_sgd_lazy_fig09(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final = member_values(metrics, "movement_max")
    final = final[final.movement_max > 0].assign(movement_max=lambda f: np.log10(f.movement_max))
    d = paired_differences(of(final, "adamw"), of(final, "sgd"), "movement_max", ["depth", "scale", "fold"])
    return ledger_row(
        "higgs_adamw_rich_sgd_lazy_fig09",
        "'the AdamW optimizer operates in the rich regime during training, where the parameters change a lot, while the "
        "SGD optimizer usually operates in the smaller lazy regime' (Sec. V-C, Fig. 9)",
        "log10 of the maximum parameter movement max_t ||W_t - W_0|| / ||W_0||, AdamW - SGD over members matched on "
        "(depth, scale, fold); " + sign_rule(p, "the mean log10 ratio"),
        [paired_part("mean log10 movement ratio AdamW / SGD", d, p, low=0.0)])


def sharper_higher_auc_fig09(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final = member_values(metrics, "hessian_trace").merge(member_values(metrics, "test_auc"), on=GRID)
    parts = [correlation_part(f"{opt} rho(hessian_trace, test_auc)", of(final, opt).hessian_trace,
                              of(final, opt).test_auc, p, +1) for opt in OPTIMIZERS]
    return ledger_row(
        "higgs_sharper_higher_auc_fig09",
        "'when the network achieved a larger Hessian trace and a sharper minimum, the networks consistently achieved "
        "larger test AUC' (Sec. V-C, Fig. 9)",
        "per optimizer, Spearman correlation over members of the final Hessian trace with the final test AUC; "
        + sign_rule(p, "the correlation (Fisher z)"), parts)


# Claim 6 (Figs. 10, 11)


def hessian_decreases_with_scale_fig10a(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_hessian_decreases_with_scale_fig10a",
                      "'The larger the initialization scale, the smaller the Hessian trace, and vice versa for both "
                      "optimizers' (Sec. V-C, Fig. 10a)", "final Hessian trace",
                      member_values(metrics, "hessian_trace"), "scale", "hessian_trace", both(-1), p)


def hessian_depth_sgd_down_adamw_up_fig10b(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_hessian_depth_sgd_down_adamw_up_fig10b",
                      "'For SGD, as network depth increases, the Hessian trace decreases, whereas for AdamW it "
                      "increases' (Fig. 10b)", "final Hessian trace", member_values(metrics, "hessian_trace"),
                      "depth", "hessian_trace", {"sgd": -1, "adamw": +1}, p)


def movement_decreases_with_scale_fig11(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_movement_decreases_with_scale_fig11",
                      "'the smaller the initialization scale, the larger the parameter movement' (Sec. V-C, Fig. 11)",
                      "final parameter movement ||W_T - W_0|| / ||W_0||", member_values(metrics, "movement"),
                      "scale", "movement", both(-1), p)


# Claim 7 (Fig. 12)


def grad_norm_decreases_with_depth_fig12a(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_grad_norm_decreases_with_depth_fig12a",
                      "'the deeper the network, the smaller the parameter gradient norms' (Fig. 12a)",
                      "gradient norm averaged over each member's epochs", member_values(metrics, "grad_norm", "mean"),
                      "depth", "grad_norm", both(-1), p)


def grad_norm_decreases_with_scale_fig12b(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_grad_norm_decreases_with_scale_fig12b",
                      "'the larger the initialization scale of the parameters, the smaller the parameter gradient "
                      "norms' (Fig. 12b)", "gradient norm averaged over each member's epochs",
                      member_values(metrics, "grad_norm", "mean"), "scale", "grad_norm", both(-1), p)


def initial_grad_norm_fig12b(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    initial, tol = member_values(metrics, "grad_norm", 0), p["magnitude_tolerance_decades"]
    initial = initial[initial.grad_norm > 0]
    parts = []
    for item in p["initial_grad_norm"]:
        claimed = math.log10(item["grad_norm"])
        at_scale = initial[np.isclose(initial.scale, item["scale"])]
        parts.append(printed(mean_part(f"scale {item['scale']:g} mean log10 grad norm at epoch 0",
                                       np.log10(at_scale.grad_norm), p, claimed - tol, claimed + tol), claimed))
    return ledger_row(
        "higgs_initial_grad_norm_fig12b",
        "'when the scale is one the initial gradients hover around 10^-2, while when the scale is 10 the gradients "
        "start at around 10^-3' (Sec. V-C, Fig. 12b)",
        "mean over members (both optimizers) of log10 of the epoch-0 gradient norm at each scale of config "
        f"initial_grad_norm; reproduced if its {ci_name(p)} lies within +-magnitude_tolerance_decades = {tol:g} of the "
        "log10 of the claimed value for every scale, deviates if it lies outside for one, not-run otherwise; "
        "paper_value: the printed exponent (log10 of the claimed value) at the deciding part's scale", parts)


def no_gradient_collapse_fig12(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    smallest = metrics.dropna(subset=["grad_norm"]).groupby(GRID).grad_norm.min()
    threshold, most = p["grad_collapse_norm"], p["collapse_fraction_max"]
    return ledger_row(
        "higgs_no_gradient_collapse_fig12",
        "'we do not observe the expected gradient collapse issue' (Sec. V-C, Fig. 12)",
        f"fraction of members whose gradient norm falls below grad_collapse_norm = {threshold:g} at some epoch; "
        f"reproduced if its exact {ci_name(p)} lies below collapse_fraction_max = {most:g}, deviates if it lies "
        "above, not-run otherwise",
        [fraction_part("collapsed members", smallest.to_numpy() < threshold, p, high=most)])


# Claim 8 (Fig. 13)


def sgd_chance_above_scale2(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    sgd = of(member_values(metrics, "test_auc"), "sgd")
    above, margin, least = p["sgd_chance_scale_above"], p["chance_margin"], p["chance_fraction_min"]
    sgd = sgd[sgd.scale > above]
    return ledger_row(
        "higgs_sgd_chance_above_scale2",
        "'above a scale of 2, the network does not train and achieves a random guessing performance (AUC = 0.5)' "
        "(Appendix B, Fig. 13a); also Sec. V-C 'SGD ... effectively works no better than random chance'",
        f"fraction of SGD members with scale > sgd_chance_scale_above = {above:g} whose final test AUC is within "
        f"chance_margin = {margin:g} of 0.5; reproduced if its exact {ci_name(p)} lies above chance_fraction_min = "
        f"{least:g}, deviates if it lies below, not-run otherwise; target fig13 (spec a.4 item 8); the paper's AUC = "
        "0.5 and scale 2 define the measured set, they are no value of the measured fraction, so paper_value is empty",
        [fraction_part("SGD members at chance", (sgd.test_auc - CHANCE_AUC).abs() <= margin, p, low=least)],
        target="fig13")


def adamw_fails_deep_large_scale_fig13(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    adamw = of(member_values(metrics, "test_auc"), "adamw")
    depth, scale = p["adamw_fail_depth_above"], p["adamw_fail_scale_min"]
    inside = (adamw.depth > depth) & (adamw.scale >= scale)
    part = bootstrap_part("AdamW test AUC, region - rest", lambda a, b: a.mean(-1) - b.mean(-1),
                          [adamw.test_auc[inside].to_numpy(), adamw.test_auc[~inside].to_numpy()], p, high=0.0)
    return ledger_row(
        "higgs_adamw_fails_deep_large_scale_fig13",
        "'the AdamW optimizer ... fails predominantly in regions of both deep networks (above 20 layers) and larger "
        "scale factors (around 6)' (Appendix B, Fig. 13b)",
        f"AdamW final test AUC, mean over members with depth > adamw_fail_depth_above = {depth:g} and scale >= "
        f"adamw_fail_scale_min = {scale:g} minus mean over the other members; " + sign_rule(p, "the difference "
                                                                                          "(claimed negative)"),
        [part])


# Claim 9 (Fig. 14): input-output CKA


def cka_change(metrics: pd.DataFrame, optimizer: str, since: int) -> pd.Series:
    """Per member of ``optimizer``: CKA at its last epoch minus CKA at epoch ``since``."""
    cka = of(metrics, optimizer)
    return paired_differences(member_values(cka, "cka"), member_values(cka, "cka", since), "cka", GRID)


def adamw_cka_decreases_fig14(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return ledger_row(
        "higgs_adamw_cka_decreases_fig14",
        "'When exploring CKA of AdamW, we see that it achieves small values' ... 'rather than decreasing as in AdamW' "
        "(Appendix C, Fig. 14)", "AdamW, per member, CKA at the last epoch minus at epoch 0; "
        + sign_rule(p, "the mean (claimed negative)"),
        [paired_part("adamw CKA last - initial", cka_change(metrics, "adamw", 0), p, high=0.0)])


def adamw_cka_converged_fig14(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    since, margin = p["cka_converge_epoch"], p["cka_margin"]
    last = int(metrics.epoch.max()) if len(metrics) else 0
    part = (paired_part(f"adamw CKA last - epoch {since}", cka_change(metrics, "adamw", since), p, -margin, margin)
            if last > since else f"{last} epochs trained, not more than cka_converge_epoch = {since}")
    return ledger_row(
        "higgs_adamw_cka_converged_by_epoch40_fig14",
        "'[AdamW CKA] converges within 40 epochs, without significant changes later on' (Appendix C, Fig. 14)",
        f"AdamW, per member, CKA at the last epoch minus at epoch cka_converge_epoch = {since}; reproduced if the "
        f"{ci_name(p)} of the mean lies inside +-cka_margin = {margin:g}, deviates if outside, not-run otherwise",
        [part])


def adamw_cka_no_scale_depth_relation_fig14(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final, margin = of(member_values(metrics, "cka"), "adamw"), p["cka_margin"]
    parts = [change_part(f"adamw final CKA change over {x}", final, x, "cka", p, -margin, margin)
             for x in ("scale", "depth")]
    return ledger_row(
        "higgs_adamw_cka_no_scale_depth_relation_fig14",
        "'[AdamW CKA] shows no relationship between the scale and depth hyperparameters' (Appendix C, Fig. 14)",
        "AdamW final CKA: mean over strata of the least-squares change from the smallest to the largest scale (depth); "
        f"reproduced if both {ci_name(p)}s lie inside +-cka_margin = {margin:g}, deviates if one lies outside, "
        "not-run otherwise", parts)


def sgd_cka_increases_fig14(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return ledger_row(
        "higgs_sgd_cka_increases_fig14",
        "'SGD ... the input CKA increases from its initial position rather than decreasing as in AdamW' (Appendix C, "
        "Fig. 14)", "SGD, per member, CKA at the last epoch minus at epoch 0; " + sign_rule(p, "the mean"),
        [paired_part("sgd CKA last - initial", cka_change(metrics, "sgd", 0), p, low=0.0)])


def sgd_cka_decreases_with_scale_fig14(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_sgd_cka_decreases_with_scale_fig14",
                      "'we observe a general trend: the larger the initialization scale, the smaller the resulting CKA' "
                      "(Appendix C; Fig. 14a: 'Scale in SGD is related to CKA training'; AdamW is claimed to show no "
                      "relation, so the trend is checked for SGD)", "final CKA", member_values(metrics, "cka"),
                      "scale", "cka", {"sgd": -1}, p)


# Claim 10 (Figs. 15-17): ranks and dead neurons


def last_layer_features(features: pd.DataFrame) -> pd.DataFrame:
    """Each member's last hidden layer at its last epoch."""
    last = features[features.epoch == features.groupby(GRID).epoch.transform("max")]
    return last[last.layer == last.groupby(GRID).layer.transform("max")].dropna(subset=["stable_rank"])


def feature_stable_rank_one_fig15(features: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    last, tol = last_layer_features(features), p["stable_rank_one_tolerance"]
    return ledger_row(
        "higgs_feature_stable_rank_one_fig15",
        "'the stable rank of ... the feature propoagatoin throughout the layers ... decays drastically to a single "
        "component by the end' (Appendix D, Fig. 15)",
        "per optimizer, mean over members of the last hidden layer's feature stable rank at the last epoch; reproduced "
        f"if its {ci_name(p)} lies below 1 + stable_rank_one_tolerance = {RANK_ONE + tol:g} for both optimizers, "
        "deviates if it lies above for one, not-run otherwise; paper_value: 'a single component', a stable rank of 1",
        [printed(mean_part(f"{opt} last-layer feature stable rank", of(last, opt).stable_rank, p, high=RANK_ONE + tol),
                 RANK_ONE) for opt in OPTIMIZERS])


def feature_stable_rank_smaller_scale_fig15(features: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    return trend_rows("higgs_feature_stable_rank_smaller_scale_better_fig15",
                      "'with only a slight improvement for smaller initialization scales' (Appendix D, Fig. 15)",
                      "last hidden layer's feature stable rank at the last epoch", last_layer_features(features),
                      "scale", "stable_rank", both(-1), p)


def dead_neurons_minimal_fig16(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final, most = member_values(metrics, "dead_fraction"), p["dead_fraction_max"]
    return ledger_row(
        "higgs_dead_neurons_minimal_fig16",
        "'Only a minimal number are dead' (Fig. 16; a dead neuron has |x| < 1e-6)",
        f"per optimizer, mean over members of the final dead fraction; reproduced if its {ci_name(p)} lies below "
        f"dead_fraction_max = {most:g} for both optimizers, deviates if it lies above for one, not-run otherwise",
        [mean_part(f"{opt} dead fraction", of(final, opt).dead_fraction, p, high=most) for opt in OPTIMIZERS])


def grad_stable_rank_one_fig17(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    ranks, tol = member_values(metrics, "grad_stable_rank", "mean"), p["stable_rank_one_tolerance"]
    return ledger_row(
        "higgs_grad_stable_rank_one_fig17",
        "'the gradient throughout training follows a very similar low-rank representation' (Appendix D); Fig. 17: "
        "'Illustrates rank collapse as ranks are one'",
        "per optimizer, mean over members of the weight-gradient stable rank averaged over epochs; reproduced if its "
        f"{ci_name(p)} lies below 1 + stable_rank_one_tolerance = {RANK_ONE + tol:g} for both optimizers, deviates if "
        "it lies above for one, not-run otherwise; paper_value: 'ranks are one'",
        [printed(mean_part(f"{opt} gradient stable rank", of(ranks, opt).grad_stable_rank, p, high=RANK_ONE + tol),
                 RANK_ONE) for opt in OPTIMIZERS])


# Claim 11 (abstract)


def best_scale_part(label: str, final: pd.DataFrame, p: Mapping[str, Any]) -> Part | str:
    """Bootstrap support (resampling (depth, fold) strata) that the He scale has the best mean test AUC."""
    table = final.pivot_table(index=["depth", "fold"], columns="scale", values="test_auc")
    he = [i for i, s in enumerate(table.columns) if np.isclose(s, p["he_scale"])]
    if len(table.columns) < 2 or not he:
        return f"{label}: scales {list(table.columns)}, need the He scale {p['he_scale']:g} and another"
    if len(table) < p["min_members"]:
        return f"{label}: {len(table)} (depth, fold) strata, fewer than min_members = {p['min_members']}"

    def best(means: np.ndarray) -> np.ndarray:
        means = np.nanmean(means, axis=-2)
        return np.where(np.isnan(means), -INF, means).argmax(axis=-1)

    support = float(np.mean(bootstrap(best, [table.to_numpy()], p) == he[0]))
    observed = table.columns[best(table.to_numpy()[None])[0]]
    result = "reproduced" if support >= 1 - p["alpha"] else "deviates" if support <= p["alpha"] else "not-run"
    return Part(label, support, "bootstrap support", math.nan, f"best scale {observed:g} observed, bootstrap support "
                f"of scale {p['he_scale']:g} {support:.3g} over {p['n_boot']} resamples of {len(table)} strata", result,
                support - (1 - p["alpha"]))


def he_init_best(metrics: pd.DataFrame, p: Mapping[str, Any]) -> dict[str, Any]:
    final = member_values(metrics, "test_auc")
    return ledger_row(
        "higgs_he_init_best",
        "'although the derivation ensures variance preservation, empirical results indicate He initialization still "
        "performs better' (Abstract)",
        f"per optimizer, the scale with the best mean final test AUC; reproduced if the bootstrap support of he_scale = "
        f"{p['he_scale']:g} being best is >= 1 - alpha = {1 - p['alpha']:g} for both optimizers, deviates if it is <= "
        f"alpha for one, not-run otherwise (between alpha and 1 - alpha); target fig08 (final test AUC by scale, spec "
        "a.4 item 11: scale 1 best test AUC)",
        [best_scale_part(f"{opt} support of He best", of(final, opt), p) for opt in OPTIMIZERS], target="fig08")


METRIC_CLAIMS = (depth_no_decay_fig06a, depth_decreases_fig07, adamw_beats_sgd, sgd_val_auc_decreases_with_scale_fig06b,
                 adamw_val_auc_no_scale_relation_fig06b, test_auc_decreases_with_scale_fig08,
                 scale_drop_larger_for_sgd_fig08, adamw_rich_sgd_lazy_fig09, sharper_higher_auc_fig09,
                 hessian_decreases_with_scale_fig10a, hessian_depth_sgd_down_adamw_up_fig10b,
                 movement_decreases_with_scale_fig11, grad_norm_decreases_with_depth_fig12a,
                 grad_norm_decreases_with_scale_fig12b, initial_grad_norm_fig12b, no_gradient_collapse_fig12,
                 sgd_chance_above_scale2, adamw_fails_deep_large_scale_fig13, adamw_cka_decreases_fig14,
                 adamw_cka_converged_fig14, adamw_cka_no_scale_depth_relation_fig14, sgd_cka_increases_fig14,
                 sgd_cka_decreases_with_scale_fig14, dead_neurons_minimal_fig16, grad_stable_rank_one_fig17,
                 he_init_best)
FEATURE_CLAIMS = (feature_stable_rank_one_fig15, feature_stable_rank_smaller_scale_fig15)


def higgs_claims(metrics: pd.DataFrame, features: pd.DataFrame, p: Mapping[str, Any]) -> list[dict]:
    """Every claim of spec a.4 (items 1-11) as a claims-ledger row.  Item 12 (the paper's compute, 300
    configurations and 328.637 GPU-h) has no row: it is a record, not a result, and the ledger has no
    'not checkable' verdict."""
    return [rule(metrics, p) for rule in METRIC_CLAIMS] + [rule(features, p) for rule in FEATURE_CLAIMS]
