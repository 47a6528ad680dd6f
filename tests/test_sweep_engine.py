"""The sweep side of the engine: members with their own init, hyperparameters, schedule and data
order; divergence; evaluation broadcast; checkpoint safety (weights_only, unreadable files, code
fingerprint).  References are plain torch: nn.Modules with torch.optim and torch's schedulers."""

import math
import os
import pickle

import pytest
import torch
from torch.nn import functional as F

from initlab import fingerprint
from initlab.nn.inits import InitSpec
from initlab.nn.models import MLP, BatchedMLP, MLPSpec
from initlab.train import Data, TrainSettings, seed_generator, train
from initlab.train import engine
from initlab.train.engine import evaluate
from initlab.train.members import Member, as_members, members_table
from initlab.train.optim import lr_factor

QUIET = dict(log=lambda m: None)


def toy_data(n=320, features=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = (x @ torch.randn(features, classes, generator=g)).argmax(1)
    cut = int(0.8 * n)
    return Data(x[:cut], y[:cut], x[cut:], y[cut:])


def reference_run(spec, member: Member, data: Data, settings: TrainSettings, dtype=torch.float64):
    """One member trained the plain way: one nn.Module, torch.optim.SGD, torch's scheduler, the
    member's own init and data-order streams."""
    model = MLP(spec, generator=seed_generator(member.seed, "init"), init=member.init).to(dtype)
    lr = member.resolved("lr", settings)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=member.resolved("momentum", settings),
                          weight_decay=member.resolved("weight_decay", settings))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(settings.milestones), settings.gamma)
    order_gen = seed_generator(member.order_seed, "data")
    x, y = data.x_train.to(dtype), data.y_train
    for _ in range(settings.epochs):
        order = torch.randperm(len(y), generator=order_gen)
        for i in range(0, len(y), settings.batch_size):
            idx = order[i:i + settings.batch_size]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        sched.step()
    return {k: v.detach() for k, v in model.named_parameters()}


def test_members_with_own_hyperparameters_match_plain_torch_runs():
    """Per-member lr, momentum, weight decay, init method and a step schedule, trained as one batch,
    equal each run trained alone with torch.optim.SGD + MultiStepLR (float64)."""
    data = toy_data()
    spec = MLPSpec(6, 12, 2, 3)
    settings = TrainSettings(epochs=3, batch_size=32, optimizer="sgd", lr=0.05, schedule="step",
                             milestones=(1, 2), gamma=0.5)
    members = [Member(1, lr=0.1, momentum=0.9),
               Member(2, init=InitSpec.parse({"method": "kaiming_normal"}), weight_decay=1e-3),
               Member(3, init="xavier_normal", momentum=0.5, data_seed=1)]
    res = train(BatchedMLP(spec), members, data, settings, dtype=torch.float64, **QUIET)
    for s, member in enumerate(members):
        ref = reference_run(spec, member, data, settings)
        for name, value in ref.items():
            torch.testing.assert_close(res.params[name][s], value, rtol=1e-9, atol=1e-11)


def test_shared_data_order_is_common_random_numbers():
    """Members with the same data_seed see the same batches: same init and lr give identical
    trajectories; different data seeds give different ones."""
    data = toy_data()
    spec = MLPSpec(6, 8, 1, 3)
    settings = TrainSettings(epochs=2, batch_size=32, optimizer="sgd", lr=0.1)
    # the first two differ only in how their lr is given (the group's, their own): same run twice
    members = [Member(1, data_seed=7), Member(1, data_seed=7, lr=0.1), Member(1, data_seed=8)]
    res = train(BatchedMLP(spec), members, data, settings, **QUIET)
    assert all(torch.equal(res.params[k][0], res.params[k][1]) for k in res.params)
    assert not torch.equal(res.params["weight_0"][0], res.params["weight_0"][2])


def test_members_table_labels_and_errors():
    members = [Member(1, init="kaiming_normal", labels={"init_name": "kaiming", "run": 0}),
               Member(2, init={"method": "fractional_s", "s": 0.8}, labels={"init_name": "s=0.8", "run": 1})]
    table = members_table(members)
    assert list(table["init_name"]) == ["kaiming", "s=0.8"] and table["data_seed"].tolist() == [1, 2]
    assert "fractional_s s=0.8" in table["init"][1]
    res = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), members, toy_data(), TrainSettings(epochs=1, batch_size=64), **QUIET)
    assert set(res.metrics["init_name"]) == {"kaiming", "s=0.8"}
    with pytest.raises(ValueError, match="distinct"):
        as_members([Member(1), Member(1)])
    with pytest.raises(ValueError, match="same label columns"):
        as_members([Member(1, labels={"a": 1}), Member(2)])
    with pytest.raises(ValueError, match="lr"):
        Member(1, lr=-1.0)
    with pytest.raises(ValueError, match="schedule"):
        train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [Member(1, schedule="linear")], toy_data(),
              TrainSettings(epochs=1, batch_size=64), **QUIET)


def test_per_member_cosine_schedules():
    """Members with different cosine final ratios: each member's lr follows its own curve (checked
    on plain SGD of a quadratic through the optimizer step sizes)."""
    for step in (0, 5, 17, 31):
        a = lr_factor("cosine", step, 32, 0.1)
        b = lr_factor("cosine", step, 32, 0.5)
        assert a <= b or math.isclose(a, b)
    data = toy_data()
    spec = MLPSpec(6, 8, 1, 3)
    settings = TrainSettings(epochs=2, batch_size=32, optimizer="sgd", lr=0.1, schedule="cosine")
    together = train(BatchedMLP(spec), [Member(1, lr_final_ratio=0.1), Member(2, lr_final_ratio=0.5)], data,
                     settings, dtype=torch.float64, **QUIET)
    for s, ratio in enumerate((0.1, 0.5)):
        alone = train(BatchedMLP(spec), [Member(s + 1, lr_final_ratio=ratio)], data, settings,
                      dtype=torch.float64, **QUIET)
        for name in alone.params:
            torch.testing.assert_close(together.params[name][s], alone.params[name][0], rtol=1e-10, atol=1e-12)


def test_step_schedule_matches_multisteplr():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [2, 4], 0.1)
    for epoch in range(6):
        for step in range(epoch * 3, epoch * 3 + 3):
            assert math.isclose(lr_factor("step", step, 18, steps_per_epoch=3, milestones=(2, 4), gamma=0.1),
                                opt.param_groups[0]["lr"])
            opt.step()
        sched.step()


def test_loss_above_the_divergence_bound_is_diverged_at_that_step():
    """A finite but absurd loss (huge logits) is divergence; the others are unaffected."""
    data = toy_data()
    spec = MLPSpec(6, 8, 1, 3)
    big = InitSpec.parse({"method": "kaiming_normal", "first": {"method": "xavier_normal", "gain": 1e4}})
    settings = TrainSettings(epochs=1, batch_size=32, optimizer="sgd", lr=1e-3, divergence_loss=1e3)
    res = train(BatchedMLP(spec), [Member(1), Member(2, init=big)], data, settings, **QUIET)
    assert res.alive.tolist() == [True, False] and int(res.diverged_step[1]) == 0
    unbounded = train(BatchedMLP(spec), [Member(1), Member(2, init=big)], data,
                      TrainSettings(epochs=1, batch_size=32, optimizer="sgd", lr=1e-3, divergence_loss=1e30), **QUIET)
    assert unbounded.alive.tolist() == [True, True]
    with pytest.raises(ValueError, match="divergence_loss"):
        TrainSettings(epochs=1, batch_size=4, divergence_loss=0)


def test_non_finite_gradient_is_caught_at_its_step():
    """A member whose gradient is NaN while its loss is finite is frozen at that step, before the
    update could write NaN into its parameters."""
    layout_params = {"w": torch.ones(2, 3)}
    layout = engine.ParamLayout(layout_params)
    flat = layout.flatten(layout_params)
    grad_flat = torch.zeros_like(flat)
    params = layout.leaves(flat, grad_flat)

    def loss_and_grad(params, xb, yb, alive, kind, rng=None):
        params["w"].grad.copy_(torch.tensor([[1.0, 1.0, 1.0], [1.0, float("nan"), 1.0]]))
        return torch.tensor([0.5, 0.5]), None

    from initlab.train.optim import BatchedOptimizer
    opt = BatchedOptimizer(layout, flat, "sgd", lr=0.1)
    alive = torch.ones(2, dtype=torch.bool)
    _, _, alive, div = engine.train_step(loss_and_grad, params, grad_flat, opt, None, None, alive,
                                         torch.full((2,), -1), 7, layout=layout)
    assert alive.tolist() == [True, False] and div.tolist() == [-1, 7]
    assert torch.equal(layout.views(flat)["w"][1], torch.ones(3)) and torch.isfinite(flat).all()


def test_evaluation_broadcasts_shared_inputs():
    """evaluate() gives each member what it gets on its own, and the shared-input forward never
    copies the inputs per member (same result as the explicitly expanded input)."""
    data = toy_data()
    net = BatchedMLP(MLPSpec(6, 8, 2, 3))
    params = net.init([seed_generator(s, "init") for s in (1, 2, 3)])
    shared = net.forward(params, data.x_test)
    expanded = net.forward(params, data.x_test.expand(3, -1, -1).contiguous())
    torch.testing.assert_close(shared, expanded, rtol=1e-5, atol=1e-6)
    result = evaluate(net, params, data.x_test, data.y_test, "cross_entropy", batch_size=17)
    for s in range(3):
        out = MLP(net.spec, {k: v[s] for k, v in params.items()})(data.x_test)
        assert math.isclose(result["loss"][s], F.cross_entropy(out, data.y_test).item(), rel_tol=1e-5)
        assert math.isclose(result["accuracy"][s], (out.argmax(1) == data.y_test).float().mean().item(), abs_tol=1e-9)


def test_binary_cross_entropy_with_one_logit():
    data = toy_data(classes=2)
    data = Data(data.x_train, data.y_train.float(), data.x_test, data.y_test.float())
    res = train(BatchedMLP(MLPSpec(6, 8, 1, 1)), [1, 2], data, TrainSettings(epochs=3, batch_size=32, loss="bce"),
                **QUIET)
    last = res.metrics[res.metrics.epoch == 3]
    assert last["test_accuracy"].between(0, 1).all() and (last["train_loss"] < math.log(2) * 1.5).all()
    net = BatchedMLP(MLPSpec(6, 8, 1, 1))
    ev = evaluate(net, res.params, data.x_test, data.y_test, "bce", 1000)
    out = MLP(net.spec, {k: v[0] for k, v in res.params.items()})(data.x_test).squeeze(1)
    assert math.isclose(ev["loss"][0], F.binary_cross_entropy_with_logits(out, data.y_test).item(), rel_tol=1e-5)


def test_running_train_accuracy_and_last_batch_loss():
    data = toy_data(n=330)  # 264 training rows: 8 batches of 32 and one of 8
    res = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [4], data, TrainSettings(epochs=2, batch_size=32), **QUIET)
    row = res.metrics[res.metrics.epoch == 2].iloc[0]
    assert 0 <= row["train_accuracy"] <= 1 and math.isfinite(row["train_loss_last_batch"])
    assert row["train_loss_last_batch"] != row["train_loss"]


# ---- checkpoints --------------------------------------------------------------------------------

class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


def test_crafted_checkpoint_does_not_execute(tmp_path):
    flag = tmp_path / "pwned"
    _Exploit.flag = flag
    ckpt = tmp_path / "run.pt"
    with open(ckpt, "wb") as fh:
        pickle.dump({"fingerprint": "x", "code": "y", "epoch": 1, "payload": _Exploit()}, fh)
    messages = []
    res = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], toy_data(), TrainSettings(epochs=1, batch_size=64),
                checkpoint=ckpt, log=messages.append)
    assert not flag.exists()
    assert res.resumed_from_epoch == 0 and any("unreadable" in m and str(ckpt) in m for m in messages)
    assert list(tmp_path.glob("run.pt.unreadable-*"))  # kept aside, not deleted


def test_corrupt_checkpoint_is_moved_aside_and_training_restarts(tmp_path):
    data, settings = toy_data(), TrainSettings(epochs=2, batch_size=64)
    ckpt = tmp_path / "run.pt"
    fresh = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, **QUIET)
    train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, checkpoint=ckpt, **QUIET)
    ckpt.write_bytes(ckpt.read_bytes()[:200])  # truncated
    messages = []
    res = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, checkpoint=ckpt, log=messages.append)
    assert res.resumed_from_epoch == 0 and sum("unreadable" in m for m in messages) == 1
    assert all(torch.equal(res.params[k], fresh.params[k]) for k in res.params)
    assert ckpt.exists()  # rewritten by the restarted run


def test_checkpoint_of_other_code_is_not_resumed(tmp_path, monkeypatch):
    data, settings = toy_data(), TrainSettings(epochs=1, batch_size=64)
    ckpt = tmp_path / "run.pt"
    train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, checkpoint=ckpt, **QUIET)
    again = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, checkpoint=ckpt, **QUIET)
    assert again.resumed_from_epoch == 1
    monkeypatch.setattr(engine, "code_fingerprint", lambda: "0123456789abcdef")
    messages = []
    other = train(BatchedMLP(MLPSpec(6, 8, 1, 3)), [1], data, settings, checkpoint=ckpt, log=messages.append)
    assert other.resumed_from_epoch == 0
    assert any("other initlab code" in m and "restarts" in m for m in messages)


def test_code_fingerprint_covers_the_package_sources(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    first = fingerprint.code_fingerprint.__wrapped__(tmp_path)
    (tmp_path / "sub" / "b.json").write_text("{\"k\": 1}")
    assert fingerprint.code_fingerprint.__wrapped__(tmp_path) != first
    (tmp_path / "notes.txt").write_text("ignored")
    assert len(fingerprint.code_fingerprint()) == 16
