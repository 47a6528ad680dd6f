"""initlab.claims.decay: every rule says reproduced, deviates (and not-run) on synthetic inputs."""
import numpy as np
import pandas as pd
import pytest

from initlab.claims import decay as claims

RNG = np.random.default_rng(0)
THEORY = 0.02 ** np.arange(1, 16, dtype=float)  # 15 layers over 25 decades


def _nets(bias_per_layer, noise=0.02, reps=16):
    """reps x 15 simulated variances: theory * (1 + bias) * lognormal noise."""
    return THEORY * (1 + np.asarray(bias_per_layer)) * np.exp(noise * RNG.standard_normal((reps, THEORY.size)))


def _check(claim, verdict):
    assert claim["verdict"] == verdict, claim["description"]
    assert isinstance(claim["uncertainty"], float) and claim["uncertainty"] >= 0
    assert claim["paper_value"] == ""
    assert claim["target"]


def test_per_layer_reproduced():
    table, claim = claims.per_layer_claim("x", "what", _nets(np.zeros(15)), THEORY, 0.1, 0.05, "fig03", "eq. (14)")
    _check(claim, "reproduced")
    assert (table["status"] == "equivalent").all()
    assert claim["reference_value"] == pytest.approx(THEORY[int(np.argmin(table["p_deviates"]))])


def test_per_layer_one_bad_layer_deviates():
    """The referee's case: a +28 % gap in a few middle layers, first and last layers fine (a
    geometric-mean rate over the layers would not see it)."""
    bias = np.zeros(15)
    bias[5:11] = 0.28
    table, claim = claims.per_layer_claim("x", "what", _nets(bias), THEORY, 0.1, 0.05, "fig06", "eq. (45)")
    _check(claim, "deviates")
    assert set(table.loc[table["status"] == "deviates", "layer"]) == set(range(6, 12))
    assert "layers 6 (+28" in claim["description"].replace("+27", "+28").replace("+29", "+28") or "6 of 15" in claim["description"]


def test_per_layer_small_bias_within_tolerance_reproduced():
    table, claim = claims.per_layer_claim("x", "what", _nets(np.full(15, 0.03), noise=0.005), THEORY, 0.1, 0.05,
                                          "fig03", "eq. (14)")
    _check(claim, "reproduced")
    assert (table["p_deviates"] > 0.5).all() and (np.abs(table["z"]) > 5).all()  # significant, but tiny


def test_per_layer_too_noisy_not_run():
    _, claim = claims.per_layer_claim("x", "what", _nets(np.zeros(15), noise=0.3, reps=3), THEORY, 0.1, 0.05,
                                      "fig03", "eq. (14)")
    _check(claim, "not-run")
    assert "not-run" in claim["description"]


def test_paired_layer_claim():
    base = _nets(np.zeros(15))
    same = base * np.exp(0.01 * RNG.standard_normal(base.shape))
    _check(claims.paired_layer_claim("x", "what", same, base, 0.1, 0.05, "fig06")[1], "reproduced")
    shifted = same.copy()
    shifted[:, 5:11] *= 1.3
    table, claim = claims.paired_layer_claim("x", "what", shifted, base, 0.1, 0.05, "fig06")
    _check(claim, "deviates")
    assert claim["reference_value"] == 0.0 and claim["replicated_value"] == pytest.approx(0.3, abs=0.03)


def test_settled_claim():
    values = 1.0 + 0.01 * RNG.standard_normal(8)
    _check(claims.settled_claim("x", "what", values, 1.0, 0.1, 0.05, "fig05", "eq. (41)")[1], "reproduced")
    _check(claims.settled_claim("x", "what", values, 2.0, 0.1, 0.05, "fig05", "eq. (115)")[1], "deviates")
    _check(claims.settled_claim("x", "what", 1.0 + 0.3 * RNG.standard_normal(3), 1.0, 0.1, 0.05, "fig05", "r")[1],
           "not-run")


def test_sigma_invariance_on_simulation_and_on_a_scale_bug():
    per = {s: claims.transformed_weight_variances(32, 32, s, 32, seed=i) for i, s in enumerate((1e-6, 1.0, 1e6))}
    table, claim = claims.sigma_invariance_claim("x", per, 1.0, 0.02, 0.05, "fig03")
    _check(claim, "reproduced")
    assert len(table) == 2
    # a transform with a scale-dependent floor (eps added to T) would depend on sigma^2
    bug = dict(per)
    bug[1e-6] = per[1e-6] * 0.5
    _check(claims.sigma_invariance_claim("x", bug, 1.0, 0.02, 0.05, "fig03")[1], "deviates")


def _rates(successes, runs):
    labels = ["n=5, bias set", "n=5, bias 0", "n=30, bias set"]
    return pd.DataFrame({"label": labels, "successes": successes, "runs": runs})


def test_only_group_at_full_success():
    _, c = claims.only_group_at_full_success("x", _rates([40, 10, 5], [40, 40, 40]), "n=5, bias set", 0.2, 0.95, "fig11")
    assert c["verdict"] == "reproduced" and c["paper_value"] == 1.0
    _, c = claims.only_group_at_full_success("x", _rates([40, 40, 5], [40, 40, 40]), "n=5, bias set", 0.2, 0.95, "fig11")
    assert c["verdict"] == "deviates"
    table, c = claims.only_group_at_full_success("x", _rates([4, 4, 0], [4, 4, 4]), "n=5, bias set", 0.2, 0.95, "fig11")
    assert c["verdict"] == "not-run" and "cannot separate" in c["description"]


def test_rate_claim():
    assert claims.rate_claim("x", "d", 40, 40, 1.0, 0.25, 0.95, "fig11")["verdict"] == "reproduced"
    assert claims.rate_claim("x", "d", 5, 40, 1.0, 0.25, 0.95, "fig11")["verdict"] == "deviates"
    c = claims.rate_claim("x", "d", 4, 4, 1.0, 0.25, 0.95, "fig11")
    assert c["verdict"] == "not-run" and c["paper_value"] == 1.0 and "cannot separate" in c["description"]
    assert claims.rate_claim("x", "d", 0, 4, 0.1, 0.25, 0.95, "fig11")["verdict"] == "not-run"
    assert claims.rate_claim("x", "d", 2, 40, 0.1, 0.25, 0.95, "fig11")["verdict"] == "reproduced"
    assert claims.rate_claim("x", "d", 30, 40, 0.1, 0.25, 0.95, "fig11")["verdict"] == "deviates"


def test_two_rate_claim():
    assert claims.two_rate_claim("x", "d", (18, 20), (4, 20), 0.05, "fig11")["verdict"] == "reproduced"
    assert claims.two_rate_claim("x", "d", (4, 20), (18, 20), 0.05, "fig11")["verdict"] == "deviates"
    c = claims.two_rate_claim("x", "d", (3, 4), (2, 4), 0.05, "fig11")
    assert c["verdict"] == "not-run" and c["reference_value"] == 0.0 and c["replicated_value"] == pytest.approx(0.25)


def test_lower_mean_claim():
    lo = [RNG.normal(0.5, 0.01, 10) for _ in range(3)]
    hi = [RNG.normal(0.8, 0.01, 10) for _ in range(3)]
    assert claims.lower_mean_claim("x", "d", lo, hi, ["5", "15", "30"], 0.05, "fig10")["verdict"] == "reproduced"
    assert claims.lower_mean_claim("x", "d", hi, lo, ["5", "15", "30"], 0.05, "fig10")["verdict"] == "deviates"
    noisy = [RNG.normal(0.5, 1.0, 3) for _ in range(3)]
    assert claims.lower_mean_claim("x", "d", noisy, noisy[::-1], ["5", "15", "30"], 0.05, "fig10")["verdict"] == "not-run"


def test_bias_limit_claims_fixed_point_vs_eq115():
    from initlab.theory import decay

    n = 256
    var_b, gain = float(decay.bias_variance_eq42(n, n)), float(decay.layer_gain_eq38(n, n))
    theory = decay.forward_variance_eq14(12, 1.0, n, float(decay.approx_eq36(n, n)), var_b)
    sim = theory * (1 + 0.01 * RNG.standard_normal((8, theory.size)))
    fixed, eq115 = claims.bias_limit_claims(sim, theory, var_b, gain, 0.1, 0.05)
    assert fixed["verdict"] == "reproduced" and eq115["verdict"] == "deviates"
    assert eq115["reference_value"] == pytest.approx(2 * var_b)
    fixed, _ = claims.bias_limit_claims(2 * sim, theory, var_b, gain, 0.1, 0.05)
    assert fixed["verdict"] == "deviates"


def _runs(direction, per_net):
    """simulate_deep_net-like runs: per_net[r][mode] = per-layer variances of net r."""
    return [{direction: {mode: [{"var": v} for v in values] for mode, values in net.items()}} for net in per_net]


def test_replicate_variances_stacks_nets_by_mode():
    runs = _runs("forward", [{"zero": [1.0, 2.0], "eq42": [3.0, 4.0]}, {"zero": [5.0, 6.0], "eq42": [7.0, 8.0]}])
    var = claims.replicate_variances(runs, "forward")
    np.testing.assert_array_equal(var["zero"], [[1.0, 2.0], [5.0, 6.0]])
    np.testing.assert_array_equal(var["eq42"], [[3.0, 4.0], [7.0, 8.0]])


def test_forward_claims_judge_each_mode_against_its_theory():
    var = {"zero": _nets(np.zeros(15)), "eq42": _nets(np.r_[np.zeros(10), np.full(5, 0.3)])}
    judged = claims.forward_claims(var, {"zero": THEORY, "eq42": THEORY}, 64, 15, 0.1, 0.05)
    _check(judged["zero"][1], "reproduced")
    _check(judged["eq42"][1], "deviates")
    assert judged["zero"][1]["target"] == "fig02,fig03" and judged["eq42"][1]["target"] == "fig04,fig05"
    assert judged["zero"][1]["claim_id"] == "forward_decay_rate"
    assert list(judged["eq42"][0]["layer"]) == list(range(1, 16))


def test_backward_claims_per_mode_and_paired():
    zero = _nets(np.zeros(15))
    labels = {"zero": ("fig07", "zero bias"), "eq42": ("fig08", "bias")}
    jitter = np.exp(0.01 * RNG.standard_normal(zero.shape))
    judged, same = claims.backward_claims({"zero": zero, "eq42": zero * jitter}, THEORY, 64, 15, 0.1, 0.05, labels)
    _check(judged["zero"][1], "reproduced")
    assert judged["eq42"][1]["target"] == "fig06,fig08" and judged["zero"][1]["claim_id"] == "backward_decay_rate_zero"
    _check(same, "reproduced")
    _, same = claims.backward_claims({"zero": zero, "eq42": zero * 1.5 * jitter}, THEORY, 64, 15, 0.1, 0.05, labels)
    _check(same, "deviates")
