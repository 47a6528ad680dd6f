"""initlab.claims.fractional_training: every claim rule of the fractional training experiments on
synthetic runs where it must say reproduced, deviates and not-run, and the rows of ``claims``,
``tail_index_claims`` and ``cnn_claims`` well-formed."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initlab.claims import VERDICTS
from initlab.claims import fractional_training as ft

TARGETS = {"fig05", "table_mnist", "fig06", "fig07"}


def metrics_table(values: dict[str, list[float]], epochs=(1, 30), dataset=None) -> pd.DataFrame:
    """Long metrics with one value per run used for every column (accuracies as fractions / 100)."""
    rows = []
    for name, runs in values.items():
        for r, v in enumerate(runs):
            for epoch in epochs:
                rows.append({"init_name": name, "run": r, "epoch": epoch, "alive": True, "train_loss": v,
                             "train_loss_last_batch": v, "test_loss": v, "test_loss_last_batch": v,
                             "train_accuracy": v / 100, "test_accuracy": v / 100, "tail_index": v})
    frame = pd.DataFrame(rows)
    if dataset is not None:
        frame.insert(0, "dataset", dataset)
    return frame


def assert_well_formed(rows):
    for r in rows:
        assert isinstance(r["uncertainty"], float), r["claim_id"]
        assert r["target"] in TARGETS, r["claim_id"]
        assert r["verdict"] in VERDICTS and r["kind"] == "claim"
        assert r["paper_value"] == "" or isinstance(r["paper_value"], (int, float)), r["claim_id"]


def test_final_values_keeps_alive_runs_at_the_epoch():
    metrics = metrics_table({"a": [1.0, 2.0, 3.0]})
    metrics.loc[(metrics.run == 2), "alive"] = False
    assert ft.final_values(metrics, "a", "train_loss", 30).tolist() == [1.0, 2.0]


def test_cell_claim_reproduces_deviates_and_says_not_run_when_runs_cannot_tell():
    rng = np.random.default_rng(0)
    mean, sd, runs = 1.0, 0.5, 20  # synthetic paper summary (ddof 0)

    def cell(values, n_cells=16):
        return ft.cell_claim("c", "cell", values, mean, sd, runs, n_cells=n_cells, margin_sd=1.0)

    # many runs centred on the paper's mean: shown within 1 paper s.d.
    same = rng.normal(mean, sd, 400)
    out = cell(same)
    assert out["verdict"] == "reproduced" and out["target"] == "table_mnist" and out["paper_value"] == mean
    assert abs(out["replicated_value"] - mean) + out["uncertainty"] <= sd * math.sqrt(runs / (runs - 1))
    shifted = rng.normal(mean + 3 * sd, sd, 20)
    out = cell(shifted)
    assert out["verdict"] == "deviates" and "Welch" in out["description"]
    # the uncertainty is the half-width of the (1 - 2 alpha / n) interval of the difference
    paper_sd = sd * math.sqrt(runs / (runs - 1))
    var_ours, var_paper = shifted.var(ddof=1) / 20, paper_sd**2 / runs
    dof = (var_ours + var_paper) ** 2 / (var_ours**2 / 19 + var_paper**2 / (runs - 1))
    assert out["uncertainty"] == pytest.approx(stats.t.ppf(1 - 0.05 / 16, dof) * math.sqrt(var_ours + var_paper))
    # four runs that agree: no significant difference, but too few to show agreement -> not-run, not reproduced
    few = mean + sd * np.array([-1.0, -0.3, 0.3, 1.0])
    out = cell(few)
    assert out["verdict"] == "not-run" and "too few runs" in out["description"]
    assert cell([mean, mean + 0.1])["verdict"] == "not-run"  # below min_runs
    # Bonferroni: a difference significant alone is not over 16 cells
    borderline = same[:20] - same[:20].mean() + mean + 2.6 * math.sqrt(same[:20].var(ddof=1) / 20 + var_paper)
    assert cell(borderline, n_cells=1)["verdict"] == "deviates"
    assert cell(borderline, n_cells=16)["verdict"] != "deviates"


def test_improvement_claim():
    rng = np.random.default_rng(1)
    worse = rng.normal(80, 5, 20)
    out = ft.improvement_claim("i", "x", worse + 6, worse[::-1], target="fig05")
    assert out["verdict"] == "reproduced" and out["target"] == "fig05"
    assert out["replicated_value"] == pytest.approx(6.0)
    assert ft.improvement_claim("i", "x", worse - 6, worse[::-1], target="fig05")["verdict"] == "deviates"
    # same distribution: no significant difference either way is inconclusive, not a deviation
    out = ft.improvement_claim("i", "x", rng.normal(80, 5, 20), worse, target="fig05")
    assert out["verdict"] == "not-run" and abs(out["replicated_value"]) < 3 * out["uncertainty"]
    assert ft.improvement_claim("i", "x", [90, 91], [10, 11], target="fig05")["verdict"] == "not-run"  # p >= 1/6
    assert ft.improvement_claim("i", "x", [90, 91, 92], [10, 11, 12], target="fig05")["verdict"] == "not-run"  # 1/20
    assert ft.improvement_claim("i", "x", [90, 91, 92, 93], [10, 11, 12, 13],
                                target="fig05")["verdict"] == "reproduced"  # 1/70


def test_band_claim():
    values = [0.98, 1.02, 1.0, 0.99]
    out = ft.band_claim("b", "x", values, (0.75, 1.25), target="fig06")
    assert out["verdict"] == "reproduced" and out["target"] == "fig06"
    half = 3.182446305284263 * np.std(values, ddof=1) / 2  # t_{0.975, 3} * s / sqrt(4)
    assert out["uncertainty"] == pytest.approx(half)
    assert ft.band_claim("b", "x", [1.9, 1.95, 2.0, 1.92], (0.75, 1.25), target="fig06")["verdict"] == "deviates"
    assert ft.band_claim("b", "x", [1.2, 1.3, 1.25, 1.28], (0.75, 1.25),
                         target="fig06")["verdict"] == "not-run"  # on the edge
    assert ft.band_claim("b", "x", [1.0], (0.75, 1.25), target="fig06")["verdict"] == "not-run"


def test_accuracy_claim():
    printed = 90.0  # a synthetic printed accuracy
    out = ft.accuracy_claim("a", "x", [89.9, 90.1, 90.0, 90.05], printed, 0.5, target="fig07")
    assert out["verdict"] == "reproduced" and out["paper_value"] == printed
    assert ft.accuracy_claim("a", "x", [88.0, 88.1, 88.05, 88.02], printed, 0.5, target="fig07")["verdict"] == \
        "deviates"
    assert ft.accuracy_claim("a", "x", [89.5, 90.2, 89.1, 90.5], printed, 0.5, target="fig07")["verdict"] == \
        "not-run"
    assert ft.accuracy_claim("a", "x", [90.0], printed, 0.5, target="fig07")["verdict"] == "not-run"


def test_not_training_claim():
    out = ft.not_training_claim("n", "x", np.full(10, 0.11), 0.5, target="fig05")
    assert out["verdict"] == "reproduced" and out["replicated_value"] == 0.0 and out["target"] == "fig05"
    assert ft.not_training_claim("n", "x", np.full(10, 0.95), 0.5, target="fig05")["verdict"] == "deviates"
    assert ft.not_training_claim("n", "x", [0.1, 0.1], 0.5, target="fig05")["verdict"] == "not-run"
    assert ft.not_training_claim("n", "x", [0.1] * 5 + [0.9] * 5, 0.5, target="fig05")["verdict"] == "not-run"
    out = ft.not_training_claim("n", "x", [], 0.5, target="fig05")
    assert out["verdict"] == "not-run" and math.isnan(out["uncertainty"])


def claim_params(**over):
    paper = {name: {"train_loss": [0.5, 0.3], "test_loss": [0.5, 0.3], "train_accuracy": [85.0, 0.1],
                    "test_accuracy": [85.0, 0.1]} for name in ("kaiming", "s=0.8", "xavier")}
    return {"paper_table": paper, "paper_epochs": 30, "paper_runs": 20, "paper_accuracy_std_is_fraction": True,
            "train_rows": None, "test_rows": None, "alpha": 0.05, "cell_margin_sd": 1.0, "inits": {"kaiming": {}, "s=0.8": {}, "xavier": {}},
            "improvement": ["s=0.8", "kaiming"], "not_training": "xavier", "trained_accuracy": 0.5, **over}


def test_claims_at_paper_settings_and_reduced_scales():
    rng = np.random.default_rng(2)
    metrics = metrics_table({"kaiming": list(rng.normal(80, 5, 20)), "s=0.8": list(rng.normal(90, 5, 20)),
                             "xavier": list(rng.normal(11, 1, 20))})
    rows = ft.claims(metrics, claim_params())
    assert_well_formed(rows)
    out = {c["claim_id"]: c for c in rows}
    cells = [c for c in out if c.startswith("table_mnist_")]
    assert len(cells) == 12 and {out[c]["target"] for c in cells} == {"table_mnist"}
    assert out["fig05_s08_beats_kaiming"]["verdict"] == "reproduced"
    assert out["fig05_xavier_does_not_train"]["verdict"] == "reproduced"
    assert out["fig05_s08_beats_kaiming"]["target"] == out["fig05_xavier_does_not_train"]["target"] == "fig05"
    # the synthetic losses (about 80) are far from the table's 0.5: those cells deviate
    assert out["table_mnist_kaiming_train_loss"]["verdict"] == "deviates"
    # synthetic 80 % +- 5 against 85 % +- 10 (std printed as a fraction): not significantly different, but
    # 20 runs cannot show the gap within 1 paper s.d. (10 points); within 2 s.d. they can
    assert out["table_mnist_kaiming_test_accuracy"]["verdict"] == "not-run"
    wide = {c["claim_id"]: c for c in ft.claims(metrics, claim_params(cell_margin_sd=2.0))}
    assert wide["table_mnist_kaiming_test_accuracy"]["verdict"] == "reproduced"
    reduced_rows = ft.claims(metrics, claim_params(train_rows=10000))
    assert_well_formed(reduced_rows)
    reduced = {c["claim_id"]: c for c in reduced_rows}
    assert reduced["table_mnist_kaiming_train_loss"]["verdict"] == "not-run"
    assert "10000 training images" in reduced["table_mnist_kaiming_train_loss"]["description"]


def test_tail_index_claims():
    metrics = metrics_table({"s=1": [0.98, 1.02, 1.0, 0.99], "kaiming": [3.0, 3.1, 3.2, 3.3]}, epochs=(0, 1, 2))
    p = {"claim_init": "s=1", "claim_epochs": [0, 1], "claim_band": [0.75, 1.25]}
    [row] = ft.tail_index_claims(metrics, p)
    assert_well_formed([row])
    assert row["claim_id"] == "fig06_tail_index_about_1" and row["verdict"] == "reproduced"
    assert row["target"] == "fig06" and row["replicated_value"] == pytest.approx(0.9975)
    [far] = ft.tail_index_claims(metrics, {**p, "claim_init": "kaiming"})
    assert far["verdict"] == "deviates"
    [one] = ft.tail_index_claims(metrics[metrics.run == 0], p)
    assert one["verdict"] == "not-run"


CNN_P = {"datasets": ["mnist", "cifar10"], "alpha": 0.05, "improvement": ["s=0.8", "kaiming"], "early_epochs": 2,
         "accuracy_tolerance": 0.5, "paper_mnist_test_accuracy": 90.0, "paper_epochs": 3, "train_rows": None,
         "test_rows": None}


def cnn_metrics(s_mnist, kaiming_mnist, s_cifar, kaiming_cifar, epochs=(1, 2, 3)):
    return pd.concat([metrics_table({"s=0.8": s_mnist, "kaiming": kaiming_mnist}, epochs, "mnist"),
                      metrics_table({"s=0.8": s_cifar, "kaiming": kaiming_cifar}, epochs, "cifar10")],
                     ignore_index=True)


def test_cnn_claims():
    rng = np.random.default_rng(3)
    good, base = list(rng.normal(90.0, 0.1, 8)), list(rng.normal(80.0, 0.1, 8))
    rows = ft.cnn_claims(cnn_metrics(good, base, base, good), CNN_P, excluded=[])
    assert_well_formed(rows)
    out = {c["claim_id"]: c for c in rows}
    assert set(out) == {"fig07_mnist_s_beats_kaiming", "fig07_mnist_accuracy", "fig07_cifar10_s_beats_kaiming"}
    assert {c["target"] for c in rows} == {"fig07"}
    assert out["fig07_mnist_s_beats_kaiming"]["verdict"] == "reproduced"
    assert out["fig07_cifar10_s_beats_kaiming"]["verdict"] == "deviates"
    assert out["fig07_mnist_accuracy"]["verdict"] == "reproduced"
    assert out["fig07_mnist_accuracy"]["paper_value"] == 90.0
    far = {c["claim_id"]: c for c in ft.cnn_claims(cnn_metrics(base, good, good, base), CNN_P, excluded=[])}
    assert far["fig07_mnist_accuracy"]["verdict"] == "deviates"
    # fewer epochs than the paper's: the printed accuracy is not compared
    short = {c["claim_id"]: c for c in ft.cnn_claims(cnn_metrics(good, base, good, base, epochs=(1, 2)), CNN_P, [])}
    assert short["fig07_mnist_accuracy"]["verdict"] == "not-run"
    excluded_rows = ft.cnn_claims(cnn_metrics(good, base, good, base).query("dataset == 'mnist'"), CNN_P,
                                  excluded=["cifar10"])
    assert_well_formed(excluded_rows)
    excluded = {c["claim_id"]: c for c in excluded_rows}
    assert excluded["fig07_cifar10_s_beats_kaiming"]["verdict"] == "not-run"
    assert "exclude_datasets" in excluded["fig07_cifar10_s_beats_kaiming"]["description"]
