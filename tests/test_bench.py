"""``python -m initlab.bench training``: the JSON contract and the three variants computing the same
training (timings are never asserted: they belong to the bench's output, not to tests)."""

import json
import subprocess
import sys

import pytest
import torch

from initlab.bench import main, training_benchmark


def test_training_bench_cli_prints_the_json_contract():
    out = subprocess.run([sys.executable, "-m", "initlab.bench", "training", "--depth", "2", "--width", "8",
                          "--seeds", "3", "--batch", "4", "--steps", "3", "--rounds", "2", "--threads", "1",
                          "--json"], capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout)
    for key in ("batched_examples_per_s", "loop_examples_per_s", "vmap_examples_per_s", "speedup", "vmap_speedup"):
        assert result[key] > 0
    assert result["speedup"] == pytest.approx(result["batched_examples_per_s"] / result["loop_examples_per_s"])
    assert len(result["per_round_examples_per_s"]["batched"]) == 2
    assert (result["depth"], result["width"], result["seeds"], result["batch"]) == (2, 8, 3, 4)
    assert result["model"] == "aol"  # the decay Covertype net is the default workload


@pytest.mark.parametrize("model,backward", [("aol", "auto"), ("aol", "autograd"), ("plain", "auto")])
def test_variants_train_the_same_networks(model, backward):
    """After the timed steps, the batched engine, torch.func/vmap and the per-seed loop hold the same
    parameters (same initialisation, same batches, Adam in all three)."""
    torch.set_num_threads(1)
    res = training_benchmark(depth=2, width=8, seeds=3, batch=4, steps=5, rounds=1, model=model,
                             return_state=True, backward=backward)
    assert (res["model"], res["backward"]) == (model, backward)
    batched, vmapped, loop = res["state"]["batched"], res["state"]["vmap"], res["state"]["loop"]
    for name in batched:
        torch.testing.assert_close(batched[name], vmapped[name], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(batched[name], loop[name], rtol=1e-4, atol=1e-5)


def test_bad_arguments_fail_with_a_message(capsys):
    with pytest.raises(SystemExit):
        main(["training", "--seeds", "0"])
    assert "--seeds must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["training", "--variants", "batched,jax"])
    assert "unknown" in capsys.readouterr().err


def test_sweep_bench_cli_prints_the_json_contract():
    out = subprocess.run([sys.executable, "-m", "initlab.bench", "sweep", "--experiment", "fractional_fig05",
                          "--members", "4", "--steps", "2", "--rounds", "1", "--threads", "1", "--json"],
                         capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout)
    for key in ("batched_examples_per_s", "loop_examples_per_s", "speedup", "gflops_per_s", "matmul_gflops_per_s"):
        assert result[key] > 0
    assert (result["experiment"], result["members"]) == ("fractional_fig05", 4)
    assert result["gflops_per_s"] == pytest.approx(6 * result["parameters_per_member"]
                                                   * result["batched_examples_per_s"] / 1e9)
    assert result["parameters_per_member"] == 784 * 64 + 64 + 18 * (64 * 64 + 64) + 64 * 10 + 10


def test_sweep_bench_variants_train_the_same_networks():
    """The batched engine and the authors' structure (nn.Module + torch.optim.SGD per run) end the
    timed steps with the same parameters (each variant ran its steps once per round, on the same
    batches)."""
    torch.set_num_threads(1)
    from initlab.bench import sweep_benchmark
    res = sweep_benchmark("fractional_fig05", members=4, steps=3, rounds=1, return_state=True)
    batched, loop = res["state"]["batched"], res["state"]["loop"]
    for name in batched:
        torch.testing.assert_close(batched[name], loop[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("experiment", ["lyapunov_polynomial", "lyapunov_mnist"])
def test_lyapunov_sweep_bench_variants_train_the_same_networks(experiment):
    """The lyapunov groups: batched (grouped inputs, per-member AdamW lr / weight decay) and one
    nn.Module + torch.optim.AdamW per run end with the same parameters; one seed's 42 members.
    Adam moves a weight by about lr whatever the size of its gradient, so a gradient within rounding
    of zero (summed in another order) can flip a step's sign: such entries (under 1 %) may differ
    by up to 2 lr per step, all others agree to 1e-5."""
    torch.set_num_threads(1)
    from initlab.bench import sweep_benchmark
    res = sweep_benchmark(experiment, members=42, steps=2, rounds=1, return_state=True)
    assert res["members"] == 42
    batched, loop = res["state"]["batched"], res["state"]["loop"]
    steps = 2 + 2  # warm-up and one timed round
    max_lr = 1e-2  # the full-scale grid's largest lr0
    close, total = 0, 0
    for name in batched:
        gap = (batched[name] - loop[name]).abs()
        assert float(gap.max()) <= 2 * max_lr * steps
        close += int((gap <= 1e-5 + 1e-4 * loop[name].abs()).sum())
        total += gap.numel()
    assert close / total > 0.99
