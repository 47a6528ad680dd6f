"""The seed-batched training engine (initlab.train) against independent references.

Tolerance (stated): a seed trained in a batch of seeds and the same seed trained alone differ
only by the summation order inside the batched matrix products.  Tolerances, relative to the
largest parameter entry, for a depth-4 AOL net trained with Adam (lr 2e-3, 25 steps per epoch):
float64 1e-9 after 250 steps (measured ~4e-14), float32 1e-4 after 100 steps (measured ~3e-6).
Over longer runs the gap grows exponentially, because training is chaotic: for seed 14 in float64
it was 3e-15 at 125 steps, 1e-11 at 350, 1e-9 at 400 and 3e-2 at 600 steps (x3-10 per epoch);
in float32 it reached 2e-2 by 300 steps.  Both trajectories are then equally valid roundings of
the same training run, so the test stops before that.  Reruns on the CPU are bit-identical.
"""

import math
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from initlab.nn.models import MLP, BatchedMLP, MLPSpec
from initlab.train import Data, StreamData, TrainSettings, seed_generator, train
from initlab.train.engine import ParamLayout
from initlab.train.members import Member
from initlab.train.optim import BatchedOptimizer, lr_factor

BATCH_VS_ALONE_RTOL = 1e-4


def toy_data(n=640, features=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, classes, generator=g)
    y = (x @ w + 0.5 * torch.randn(n, classes, generator=g)).argmax(1)
    cut = int(0.8 * n)
    return Data(x[:cut], y[:cut], x[cut:], y[cut:])


def rel_gap(a: dict, b: dict, index_a=None, index_b=None) -> float:
    gaps = []
    for name in a:
        x = a[name] if index_a is None else a[name][index_a]
        y = b[name] if index_b is None else b[name][index_b]
        gaps.append(((x - y).abs().max() / y.abs().max().clamp(min=1e-12)).item())
    return max(gaps)


# ---- optimizer vs torch.optim -------------------------------------------------------------------

@pytest.mark.parametrize("kind,kwargs", [("adam", {}), ("adam", {"weight_decay": 0.1}), ("adamw", {"weight_decay": 0.05}),
                                         ("sgd", {"momentum": 0.9}), ("sgd", {})])
@pytest.mark.parametrize("per_seed_lr", [False, True])
def test_optimizer_matches_torch_optim(kind, kwargs, per_seed_lr):
    torch.manual_seed(1)
    S = 3
    params = {"w": torch.randn(S, 4, 5, dtype=torch.float64), "b": torch.randn(S, 4, dtype=torch.float64)}
    lrs = [1e-2, 3e-3, 5e-2]
    layout = ParamLayout(params)
    flat = layout.flatten(params)
    opt = BatchedOptimizer(layout, flat, kind, lr=torch.tensor(lrs, dtype=torch.float64) if per_seed_lr else lrs[0],
                           **kwargs)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind]
    refs = []
    for s in range(S):
        leaves = [params["w"][s].clone().requires_grad_(), params["b"][s].clone().requires_grad_()]
        refs.append((leaves, cls(leaves, lr=lrs[s] if per_seed_lr else lrs[0], **kwargs)))
    alive = torch.ones(S, dtype=torch.bool)
    for step in range(25):
        grads = {"w": torch.randn(S, 4, 5, dtype=torch.float64), "b": torch.randn(S, 4, dtype=torch.float64)}
        opt.step(layout.flatten(grads), alive)
        for s, (leaves, ref) in enumerate(refs):
            leaves[0].grad, leaves[1].grad = grads["w"][s].clone(), grads["b"][s].clone()
            ref.step()
    mine = layout.views(flat)
    for s, (leaves, _) in enumerate(refs):
        torch.testing.assert_close(mine["w"][s], leaves[0].detach(), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(mine["b"][s], leaves[1].detach(), rtol=1e-10, atol=1e-12)


def test_per_member_adamw_with_per_member_schedule_matches_torch_and_freezes_the_dead():
    """One lr, weight decay and schedule factor per member (the fused kernel's direction, then the
    per-member decay and step): each member follows its own torch.optim.AdamW; a member that dies
    keeps its parameters from then on."""
    torch.manual_seed(2)
    S = 3
    params = {"w": torch.randn(S, 4, 5, dtype=torch.float64), "b": torch.randn(S, 4, dtype=torch.float64),
              "c": torch.randn(S, 4, dtype=torch.float64), "q": torch.randn(S, 6, dtype=torch.float64)}
    lrs, decays = [1e-2, 3e-3, 5e-2], [0.0, 0.1, 0.02]
    layout = ParamLayout(params)
    assert [tuple(v.shape) for v in layout.member_blocks(layout.flatten(params))] == [(1, S, 20), (2, S, 4), (1, S, 6)]
    flat = layout.flatten(params)
    opt = BatchedOptimizer(layout, flat, "adamw", lr=torch.tensor(lrs, dtype=torch.float64),
                           weight_decay=torch.tensor(decays, dtype=torch.float64))
    refs = []
    for s in range(S):
        leaves = [params[n][s].clone().requires_grad_() for n in params]
        refs.append((leaves, torch.optim.AdamW(leaves, lr=lrs[s], weight_decay=decays[s])))
    frozen = None
    for step in range(25):
        factor = torch.tensor([1.0, 0.5, 0.1], dtype=torch.float64) ** (step / 25)
        alive = torch.tensor([True, step < 10, True])
        grads = {n: torch.randn(v.shape, dtype=torch.float64) for n, v in params.items()}
        opt.step(layout.flatten(grads), alive, factor)
        if step == 9:
            frozen = layout.views(flat)["w"][1].clone()
        for s, (leaves, ref) in enumerate(refs):
            if not alive[s]:
                continue
            for leaf, n in zip(leaves, params):
                leaf.grad = grads[n][s].clone()
            ref.param_groups[0]["lr"] = lrs[s] * float(factor[s])
            ref.step()
    mine = layout.views(flat)
    assert torch.equal(mine["w"][1], frozen)
    for s, (leaves, _) in enumerate(refs):
        for leaf, n in zip(leaves, params):
            torch.testing.assert_close(mine[n][s], leaf.detach(), rtol=1e-10, atol=1e-12)


def test_dead_seed_is_frozen_and_nan_grad_ignored():
    params = {"w": torch.randn(3, 4)}
    layout = ParamLayout(params)
    flat = layout.flatten(params)
    opt = BatchedOptimizer(layout, flat, "adam", lr=0.1)
    before = flat.clone()
    grad = torch.randn(3, 4)
    grad[1] = float("nan")
    alive = torch.tensor([True, False, True])
    opt.step(grad.reshape(-1), alive)
    after = layout.views(flat)["w"]
    assert torch.equal(after[1], before.view(3, 4)[1])
    assert torch.isfinite(after).all()
    assert not torch.equal(after[0], before.view(3, 4)[0])


def test_cosine_schedule_matches_torch_scheduler():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=0.05)
    for step in range(40):
        assert math.isclose(opt.param_groups[0]["lr"], 0.5 * lr_factor("cosine", step, 40, 0.1), rel_tol=1e-9)
        opt.step()
        sched.step()


# ---- the engine ------------------------------------------------------------------------------------

def test_engine_single_seed_matches_plain_torch_training():
    """Engine with one seed == an nn.Module + torch.optim.Adam fed the same batches in the same order."""
    data = toy_data()
    spec = MLPSpec(6, 16, 2, 3, lipschitz="aol", bias_init="eq42")
    settings = TrainSettings(epochs=3, batch_size=32, lr=3e-3)
    result = train(BatchedMLP(spec), [7], data, settings, log=lambda m: None)

    model = MLP(spec, BatchedMLP(spec).init_one(seed_generator(7, "init")))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    order_gen = seed_generator(7, "data")
    losses = []
    for epoch in range(3):
        order = torch.randperm(len(data.y_train), generator=order_gen)
        batch_losses = []
        for i in range(0, len(order), 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        losses.append(np.mean(batch_losses))
    reference = {n: p.detach().unsqueeze(0) for n, p in model.named_parameters()}
    assert rel_gap(result.params, reference) < BATCH_VS_ALONE_RTOL
    engine_losses = result.metrics.query("epoch >= 1")["train_loss"].to_numpy()
    np.testing.assert_allclose(engine_losses, losses, rtol=1e-5)


@pytest.mark.parametrize("dtype,epochs,rtol", [(torch.float64, 10, 1e-9), (torch.float32, 4, BATCH_VS_ALONE_RTOL)])
def test_seed_in_batch_matches_seed_alone(dtype, epochs, rtol):
    data = toy_data(n=1000)
    spec = MLPSpec(6, 24, 4, 3, lipschitz="aol", bias_init="eq42")
    settings = TrainSettings(epochs=epochs, batch_size=32, lr=2e-3)  # 25 steps per epoch
    seeds = [11, 14]
    batched = train(BatchedMLP(spec), seeds, data, settings, log=lambda m: None, dtype=dtype)
    for k in (0, 1):
        alone = train(BatchedMLP(spec), [seeds[k]], data, settings, log=lambda m: None, dtype=dtype)
        assert rel_gap(batched.params, alone.params, k, 0) < rtol
        a = batched.metrics[batched.metrics.seed == seeds[k]].reset_index(drop=True)
        b = alone.metrics.reset_index(drop=True)
        np.testing.assert_allclose(a["test_loss"], b["test_loss"], rtol=10 * rtol)


@pytest.mark.parametrize("lipschitz,activation", [(None, "relu"), ("aol", "relu"), (None, "leaky_relu")])
def test_manual_backward_trains_like_autograd_and_reruns_bit_identically(lipschitz, activation):
    """The engine's default for (Leaky) ReLU MLPs (hand-written backward) vs autograd: the same training
    run up to summation order (float64, 4 epochs = 100 steps); a rerun is bit-identical."""
    data = toy_data(n=1000)
    spec = MLPSpec(6, 24, 4, 3, lipschitz=lipschitz, bias_init="eq42", activation=activation,
                   slope=0.2 if activation == "leaky_relu" else None)
    run = lambda backward: train(BatchedMLP(spec), [3, 5], data,
                                 TrainSettings(epochs=4, batch_size=32, lr=2e-3, backward=backward),
                                 log=lambda m: None, dtype=torch.float64)
    manual, again, autograd = run("manual"), run("manual"), run("autograd")
    assert rel_gap(manual.params, autograd.params) < 1e-9
    np.testing.assert_allclose(manual.metrics["train_loss"], autograd.metrics["train_loss"], rtol=1e-9)
    pd.testing.assert_frame_equal(manual.metrics, again.metrics)
    for name in manual.params:
        assert torch.equal(manual.params[name], again.params[name])


def test_rerun_is_bit_identical():
    data = toy_data()
    spec = MLPSpec(6, 16, 3, 3, lipschitz="aol", bias_init="zero", dropout=0.2)
    settings = TrainSettings(epochs=2, batch_size=16)
    a = train(BatchedMLP(spec), [1, 2, 3], data, settings, log=lambda m: None)
    b = train(BatchedMLP(spec), [1, 2, 3], data, settings, log=lambda m: None)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name])
    c = train(BatchedMLP(spec), [1, 2, 4], data, settings, log=lambda m: None)
    assert not torch.equal(a.params["weight_0"][2], c.params["weight_0"][2])  # a different seed differs


def test_diverging_seed_is_marked_frozen_and_others_unaffected():
    """SGD on a regression loss with a huge lr for seed 1 only: it blows up to inf/NaN."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(256, 4, generator=g)
    y = x @ torch.randn(4, 2, generator=g)
    data = Data(x, y)
    spec = MLPSpec(4, 16, 2, 2)
    lrs = {1: 1e-2, 2: 50.0, 3: 2e-2}

    def run(epochs, seeds):
        members = [Member(s, lr=lrs[s]) for s in seeds]
        return train(BatchedMLP(spec), members, data, TrainSettings(epochs=epochs, batch_size=32, optimizer="sgd",
                                                                    loss="mse"), log=lambda m: None)

    res = run(4, [1, 2, 3])
    assert res.alive.tolist() == [True, False, True]
    assert 0 <= int(res.diverged_step[1]) < 4 * 8
    assert res.diverged_step[[0, 2]].tolist() == [-1, -1]
    # The dead seed stays frozen: two more epochs leave its parameters unchanged.
    longer = run(6, [1, 2, 3])
    for name in res.params:
        assert torch.equal(res.params[name][1].nan_to_num(), longer.params[name][1].nan_to_num())
    # The survivors are exactly what they would be without the diverging seed beside them.
    survivors = run(4, [1, 3])
    assert rel_gap(res.params, survivors.params, [0, 2], slice(None)) < BATCH_VS_ALONE_RTOL
    last = res.metrics[res.metrics.epoch == 4].set_index("seed")
    assert not last.loc[2, "alive"] and last.loc[2, "diverged_step"] >= 0


def test_metrics_table_is_long_format():
    data = toy_data()
    res = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [5, 6], data, TrainSettings(epochs=2, batch_size=64),
                log=lambda m: None)
    m = res.metrics
    assert list(m.columns[:3]) == ["member", "seed", "epoch"]
    assert len(m) == 2 * 3 and sorted(m.epoch.unique()) == [0, 1, 2]
    assert m[m.epoch == 0]["train_loss"].isna().all() and m[m.epoch > 0]["train_loss"].notna().all()
    assert m["test_accuracy"].between(0, 1).all()


def test_bad_settings_fail_early():
    with pytest.raises(ValueError, match="optimizer"):
        TrainSettings(epochs=1, batch_size=4, optimizer="rmsprop")
    with pytest.raises(ValueError, match="distinct"):
        train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1, 1], toy_data(), TrainSettings(epochs=1, batch_size=4))


def test_checkpoint_of_another_run_is_not_resumed(tmp_path):
    data = toy_data()
    ckpt = tmp_path / "run.pt"
    settings = TrainSettings(epochs=1, batch_size=64)
    train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, checkpoint=ckpt, log=lambda m: None)
    messages = []
    other = train(BatchedMLP(MLPSpec(6, 8, 2, 3)), [1], data, settings, checkpoint=ckpt, log=messages.append)
    assert other.resumed_from_epoch == 0 and any("different run" in m for m in messages)
    fresh = train(BatchedMLP(MLPSpec(6, 8, 2, 3)), [1], data, settings, log=lambda m: None)
    assert all(torch.equal(other.params[k], fresh.params[k]) for k in fresh.params)
    again = train(BatchedMLP(MLPSpec(6, 8, 2, 3)), [1], data, settings, checkpoint=ckpt, log=lambda m: None)
    assert again.resumed_from_epoch == 1  # the overwritten checkpoint is now this run's (finished) state


# ---- kill and resume -------------------------------------------------------------------------------

RUNNER = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from initlab.nn.models import BatchedMLP, MLPSpec
    from initlab.train import Data, TrainSettings, train
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 8, generator=g); y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    data = Data(x[:1600], y[:1600], x[1600:], y[1600:])
    res = train(BatchedMLP(MLPSpec(8, 32, 4, 3, lipschitz="aol", bias_init="eq42")), [1, 2, 3], data,
                TrainSettings(epochs=8, batch_size=16), checkpoint=sys.argv[1], log=lambda m: print(m, flush=True))
    res.metrics.to_csv(sys.argv[2], index=False, float_format="%.17g")
    torch.save(res.params, sys.argv[2] + ".pt")
    print("elapsed_all", res.elapsed_seconds_all_processes, flush=True)
    print("resumed_from", res.resumed_from_epoch, flush=True)
""")


def test_killed_run_resumes_to_identical_results(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ckpt = tmp_path / "ckpt" / "run.pt"
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt), str(tmp_path / "killed.csv")],
                            stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:  # kill it hard once epoch 2 of 8 has finished (epoch 1 is checkpointed)
        if line.startswith("epoch 2/8"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL and ckpt.exists()
    assert not (tmp_path / "killed.csv").exists()
    killed_elapsed = torch.load(ckpt, weights_only=False)["elapsed_seconds"]
    assert killed_elapsed > 0
    resumed = subprocess.run([sys.executable, str(script), str(ckpt), str(tmp_path / "resumed.csv")],
                             capture_output=True, text=True, env=env, timeout=300, check=True)
    start = int(resumed.stdout.strip().splitlines()[-1].split()[-1])
    assert 1 <= start < 8, resumed.stdout
    elapsed_all = float(resumed.stdout.strip().splitlines()[-2].split()[-1])
    assert elapsed_all > killed_elapsed  # the killed process's time is carried over, not lost
    fresh = subprocess.run([sys.executable, str(script), str(tmp_path / "other.pt"), str(tmp_path / "fresh.csv")],
                           capture_output=True, text=True, env=env, timeout=300, check=True)
    assert fresh.stdout.strip().endswith("resumed_from 0")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "resumed.csv"), pd.read_csv(tmp_path / "fresh.csv"),
                                  check_exact=True)
    a, b = torch.load(tmp_path / "resumed.csv.pt"), torch.load(tmp_path / "fresh.csv.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_compiled_forward_trains_like_eager():
    """settings.compile = True (torch.compile of the batched forward pass, used by the Covertype runs)
    computes the same training up to float32 rounding (a partial last batch included)."""
    data = toy_data(n=300)  # 240 training rows: 7 full batches of 32 and one of 16
    spec = MLPSpec(6, 16, 2, 3, lipschitz="aol", bias_init="eq42")
    eager = train(BatchedMLP(spec), [1, 2], data, TrainSettings(epochs=2, batch_size=32), log=lambda m: None)
    compiled = train(BatchedMLP(spec), [1, 2], data, TrainSettings(epochs=2, batch_size=32, compile=True),
                     log=lambda m: None)
    assert rel_gap(eager.params, compiled.params) < BATCH_VS_ALONE_RTOL


def test_flush_denormals_reaches_every_openmp_thread():
    """After the OpenMP pool exists (as in any process that has trained before), flush_denormals
    switches every worker between IEEE denormals and denormals-are-zero: a large elementwise
    product, split over the threads, keeps each denormal input (off) or maps it to exactly 0 (on);
    a thread left out would leave a block of the other value.  scikit-learn, imported first, maps
    its own libgomp below torch's: the pool reached must still be torch's."""
    import sklearn.metrics  # noqa: F401

    from initlab.train.engine import flush_denormals

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.ones(1 << 22) * 1.0  # the pool exists
        flush_denormals(False)
        tiny = torch.full((1 << 22,), 1e-39)  # made while denormals are kept
        assert int((tiny * 1.0).eq(0).sum()) == 0
        assert flush_denormals(True)
        assert int((tiny * 1.0).ne(0).sum()) == 0
    finally:
        torch.set_num_threads(previous)



class _PerMemberInputs(BatchedMLP):
    grouped_inputs = False  # the engine then copies each batch to every member


@pytest.mark.parametrize("backward", ["manual", "autograd"])
def test_members_sharing_an_order_share_one_copy_of_the_batch(backward):
    """Blocks of consecutive members with one data seed get one copy of each batch (grouped_linear):
    the same training run as per-member copies, up to summation order (float64)."""
    data = toy_data(n=600)
    spec = MLPSpec(6, 12, 3, 3, activation="leaky_relu", slope=0.1)
    members = [Member(seed=10 + k, data_seed=k // 3, lr=1e-3 * (1 + k % 3)) for k in range(6)]
    settings = TrainSettings(epochs=3, batch_size=40, optimizer="adamw", weight_decay=0.01, backward=backward)
    grouped = train(BatchedMLP(spec), members, data, settings, log=lambda m: None, dtype=torch.float64)
    copied = train(_PerMemberInputs(spec), members, data, settings, log=lambda m: None, dtype=torch.float64)
    assert rel_gap(grouped.params, copied.params) < 1e-10
    np.testing.assert_allclose(grouped.metrics["train_loss"], copied.metrics["train_loss"], rtol=1e-10)
    # members of one block saw the same batches; the two blocks saw different ones
    alone = train(BatchedMLP(spec), [members[4]], data, settings, log=lambda m: None, dtype=torch.float64)
    assert rel_gap(grouped.params, alone.params, 4, 0) < 1e-10


def _line_stream(slope=2.0):
    def sample(generator, n):
        x = torch.rand(n, 1, generator=generator, dtype=torch.float64) * 2 - 1
        return x, slope * x
    return sample


def test_stream_data_draws_fresh_batches_per_order_and_records_every_step():
    """StreamData: every step a fresh draw from the member's data stream (shared by members with one
    data seed), the per-step losses kept (record_step_loss) and the epoch's train_loss their mean."""
    x_test = torch.linspace(-1, 1, 101, dtype=torch.float64).unsqueeze(1)
    data = StreamData(_line_stream(), steps_per_epoch=25, description="y = 2x, x ~ U(-1, 1)",
                      x_test=x_test, y_test=2 * x_test, x_val=x_test[::2], y_val=2 * x_test[::2])
    spec = MLPSpec(1, 8, 2, 1, activation="leaky_relu", slope=0.1)
    members = [Member(seed=k, data_seed=k // 2) for k in range(4)]
    settings = TrainSettings(epochs=4, batch_size=16, loss="mse", lr=1e-2, record_step_loss=True)
    result = train(BatchedMLP(spec), members, data, settings, log=lambda m: None, dtype=torch.float64)
    assert result.step_loss.shape == (100, 4)
    per_epoch = result.step_loss.view(4, 25, 4).double().mean(1)
    trained = result.metrics.query("epoch >= 1").sort_values(["epoch", "member"])
    np.testing.assert_allclose(trained["train_loss"].to_numpy(), per_epoch.numpy().ravel(), rtol=1e-6)
    assert {"val_loss", "test_loss"} <= set(result.metrics.columns)
    final = result.metrics.query("epoch == 4")["test_loss"].to_numpy()
    initial = result.metrics.query("epoch == 0")["test_loss"].to_numpy()
    assert (final < initial).all()  # it learns
    alone = train(BatchedMLP(spec), [members[3]], data, settings, log=lambda m: None, dtype=torch.float64)
    assert rel_gap(result.params, alone.params, 3, 0) < 1e-10
    np.testing.assert_allclose(result.step_loss[:, 3], alone.step_loss[:, 0], rtol=1e-6)
    # members 0 and 1 share draws, 1 and 2 do not: a different data seed changes the first loss at equal init
    same_init = [Member(seed=0, data_seed=0), Member(seed=0, data_seed=1)]
    two = train(BatchedMLP(spec), same_init, data, settings, log=lambda m: None, dtype=torch.float64)
    assert two.step_loss[0, 0] != two.step_loss[0, 1]


def test_mse_sum_sums_over_outputs():
    from initlab.train.engine import per_seed_loss
    out = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])
    target = torch.zeros(1, 2, 2)
    assert per_seed_loss(out, target, "mse_sum").item() == pytest.approx(2.5)  # (1 + 4 + 0) / 2 examples
    assert per_seed_loss(out, target, "mse").item() == pytest.approx(1.25)


def test_train_flushes_denormals_only_while_it_runs():
    """Inside train (seen from a metrics hook) denormals flush to zero; afterwards the process
    computes with IEEE denormals again (other code, e.g. hypothesis, relies on them)."""
    seen = []

    def hook(epoch, params, alive):
        seen.append(float(torch.tensor(1e-39) * 1.0))
        return {}

    train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [0], toy_data(n=64), TrainSettings(epochs=1, batch_size=32),
          log=lambda m: None, metrics_hook=hook)
    assert seen and all(v == 0.0 for v in seen)
    assert float(torch.tensor(1e-39) * 1.0) != 0.0
