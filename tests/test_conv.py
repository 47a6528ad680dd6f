"""The batched Figure 7 CNN (initlab.nn.conv) against one member as a plain nn.Module.

Tolerances (stated): the batched net and the module differ only in summation order (batched
products vs F.linear, S ordinary convolutions or one with S*C_out channels vs one per member), so
logits and gradients agree to 1e-12 (relative and absolute) in float64 and 1e-5 in float32.
Initialisation is drawn per member from its own generator, so it is bit-identical alone or in a
batch.  Statistical init checks use fixed seeds; their tolerances are stated where they appear.
"""

import math

import pytest
import torch
from torch.nn import functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from initlab.nn.conv import CNN, BatchedCNN, CNNSpec
from initlab.nn.inits import InitSpec, fractional_variance, uniform
from initlab.train import Data, TrainSettings, seed_generator, train

DATASETS = {"mnist": (1, 28), "cifar": (3, 32)}
TOL = {torch.float64: {"rtol": 1e-12, "atol": 1e-12}, torch.float32: {"rtol": 1e-5, "atol": 1e-5}}
KAIMING = InitSpec.parse("kaiming_normal")  # keeps the signal alive through public_code's 20 linear maps


def gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def member(params, s):
    return {name: value[s] for name, value in params.items()}


def setup(arch, dataset, dtype=torch.float64, S=3, B=4, shared=False, relu_on_logits=True):
    c, n = DATASETS[dataset]
    spec = CNNSpec(in_channels=c, image_size=n, arch=arch, relu_on_logits=relu_on_logits)
    model = BatchedCNN(spec)
    params = {k: v.to(dtype) for k, v in model.init(gens(*range(S)), [KAIMING] * S).items()}
    g = torch.Generator().manual_seed(99)
    shape = (B, c, n, n) if shared else (S, B, c, n, n)
    x = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randint(0, spec.classes, (S, B), generator=g)
    return spec, model, params, x, y


# ---- a member in a batch is the same network as that member alone ---------------------------------

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("dataset", ["mnist", "cifar"])
@pytest.mark.parametrize("arch", ["paper", "public_code"])
def test_forward_matches_module_per_member(arch, dataset, shared, dtype):
    spec, model, params, x, _ = setup(arch, dataset, dtype, shared=shared)
    out = model.forward(params, x)
    assert out.shape == (3, 4, spec.classes) and out.dtype == dtype
    for s in range(3):
        module = CNN(spec, member(params, s))
        expected = module(x if shared else x[s])
        torch.testing.assert_close(out[s], expected, **TOL[dtype])
    assert out.abs().max() > 0.1  # the comparison is not between two (near-)zero outputs


def test_relu_on_logits_off_gives_negative_logits_and_matches_module():
    spec, model, params, x, _ = setup("paper", "cifar", relu_on_logits=False)
    out = model.forward(params, x)
    assert (out < 0).any()
    torch.testing.assert_close(out[1], CNN(spec, member(params, 1))(x[1]), **TOL[torch.float64])
    _, model_on, params_on, x_on, _ = setup("paper", "cifar", relu_on_logits=True)  # same parameters and x
    torch.testing.assert_close(model_on.forward(params_on, x_on), out.relu(), **TOL[torch.float64])


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("arch,dataset", [("paper", "mnist"), ("paper", "cifar"), ("public_code", "mnist"),
                                          ("public_code", "cifar")])
def test_gradients_match_module_per_member(arch, dataset, shared):
    spec, model, params, x, y = setup(arch, dataset, shared=shared)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    out = model.forward(leaves, x)
    sum(F.cross_entropy(out[s], y[s]) for s in range(3)).backward()
    for s in range(3):
        module = CNN(spec, member(params, s))
        F.cross_entropy(module(x if shared else x[s]), y[s]).backward()
        for name, p in module.named_parameters():
            assert p.grad.abs().max() > 0 or name.startswith("linear"), name  # conv layers do get a gradient
            torch.testing.assert_close(leaves[name].grad[s], p.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_flattened_inputs_are_accepted():
    spec, model, params, x, _ = setup("paper", "mnist")
    torch.testing.assert_close(model.forward(params, x.flatten(2)), model.forward(params, x), rtol=0, atol=0)
    torch.testing.assert_close(model.forward(params, x[0].flatten(1)), model.forward(params, x[0]), rtol=0, atol=0)
    torch.testing.assert_close(CNN(spec, member(params, 0))(x[0].flatten(1)), CNN(spec, member(params, 0))(x[0]))


# ---- a shared batch -----------------------------------------------------------------------------------

class OutputSizes(TorchDispatchMode):
    """Records the shape of every tensor an aten operator returns."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.shapes += [tuple(t.shape) for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        return out


@pytest.mark.parametrize("arch", ["paper", "public_code"])
def test_shared_input_equals_expanded_input_and_is_not_copied_per_member(arch):
    S, B = 3, 2
    spec, model, params, x, y = setup(arch, "cifar", S=S, B=B, shared=True)
    expanded = model.forward(params, x.expand(S, *x.shape))
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    with OutputSizes() as sizes:
        out = model.forward(leaves, x)
        F.cross_entropy(out.flatten(0, 1), y.flatten()).backward()
    torch.testing.assert_close(out.detach(), expanded, **TOL[torch.float64])
    # No tensor of S copies of the batch (S*B*C*H*W elements) appears, forward or backward.
    assert sizes.shapes and all(math.prod(shape) != S * x.numel() for shape in sizes.shapes)


# ---- initialisation --------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["paper", "public_code"])
def test_member_init_is_the_same_alone_or_in_a_batch(arch):
    spec = CNNSpec(arch=arch)
    model = BatchedCNN(spec)
    inits = ["pytorch_default", "kaiming_normal", {"method": "fractional_s", "s": 0.5, "first": "xavier_uniform"}]
    batch = model.init(gens(5, 6, 7), inits)
    for s, (seed, init) in enumerate(zip((5, 6, 7), inits)):
        alone = model.init(gens(seed), [init])
        module = CNN(spec, generator=gens(seed)[0], init=init)
        for name, value in batch.items():
            assert torch.equal(value[s], alone[name][0]), name
            assert torch.equal(value[s], getattr(module, name).detach()), name
    assert not torch.equal(batch["linear1_weight"][0], batch["linear1_weight"][1])


def test_init_layout_names_order_and_shapes():
    spec = CNNSpec(arch="public_code")
    params = BatchedCNN(spec).init(gens(0, 1))
    linear = [f"linear{i}_{kind}" for i in range(20) for kind in ("weight", "bias")]
    assert list(params) == ["conv0_weight", "conv0_bias", "conv1_weight", "conv1_bias"] + linear
    assert params["conv0_weight"].shape == (2, 6, 3, 5, 5) and params["conv0_bias"].shape == (2, 6)
    assert params["conv1_weight"].shape == (2, 16, 6, 5, 5) and params["conv1_bias"].shape == (2, 16)
    assert params["linear0_weight"].shape == (2, 64, 400) and params["linear0_bias"].shape == (2, 64)
    assert all(params[f"linear{i}_weight"].shape == (2, 64, 64) for i in range(1, 19))
    assert params["linear19_weight"].shape == (2, 10, 64) and params["linear19_bias"].shape == (2, 10)
    assert all(v.dtype == torch.float32 for v in params.values())
    paper = BatchedCNN(CNNSpec(in_channels=1, image_size=28)).init(gens(0))
    assert [tuple(paper[f"linear{i}_weight"].shape[1:]) for i in range(4)] == [(64, 864), (64, 64), (64, 64), (10, 64)]


def test_init_draw_order_per_member():
    """Layers in forward order, weight then bias, conv at PyTorch's default, linear weights from
    the member's InitSpec with its first/last rule: replayed by hand from the same generator."""
    spec = CNNSpec(arch="public_code")
    init = InitSpec.parse({"method": "kaiming_normal", "first": "xavier_normal", "last": "random_walk"})
    params = BatchedCNN(spec).init(gens(3), [init])
    g = gens(3)[0]
    for i, (c_in, c_out) in enumerate(spec.convs):
        bound = 1 / math.sqrt(25 * c_in)
        assert torch.equal(params[f"conv{i}_weight"][0], uniform((c_out, c_in, 5, 5), bound, g))
        assert torch.equal(params[f"conv{i}_bias"][0], uniform((c_out,), bound, g))
    methods = ["xavier_normal"] + ["kaiming_normal"] * 18 + ["random_walk"]
    for i, ((fan_in, fan_out), method) in enumerate(zip(spec.linear_shapes, methods)):
        assert torch.equal(params[f"linear{i}_weight"][0], InitSpec(method).draw(fan_in, fan_out, g)), i
        assert torch.equal(params[f"linear{i}_bias"][0], uniform((fan_out,), 1 / math.sqrt(fan_in), g)), i


def test_init_distributions():
    """Empirical std within 3 % of the target (>= 2,400 draws per check: the standard error of a
    sample std is 1/sqrt(2n) <= 1.5 %), uniform draws inside their bound and reaching 97 % of it."""
    spec = CNNSpec(arch="public_code", width=256)
    init = {"method": "kaiming_normal", "last": {"method": "fractional_s", "s": 0.5}}
    p = member(BatchedCNN(spec).init(gens(0), [init]), 0)
    shapes = spec.linear_shapes
    for i in range(len(shapes) - 1):  # kaiming_normal: std sqrt(2 / fan_in)
        fan_in = shapes[i][0]
        w = p[f"linear{i}_weight"].double()
        assert abs(w.std().item() / math.sqrt(2 / fan_in) - 1) < 0.03, i
        assert abs(w.mean().item()) < 3 * math.sqrt(2 / fan_in) / math.sqrt(w.numel()), i
    last = p[f"linear{len(shapes) - 1}_weight"].double()  # the last rule: fractional_s, s = 0.5
    assert abs(last.std().item() / math.sqrt(fractional_variance(0.5, 256)) - 1) < 0.03
    uniforms = [(p[f"conv{i}_{kind}"], 1 / math.sqrt(25 * c_in)) for i, (c_in, _) in enumerate(spec.convs)
                for kind in ("weight", "bias")]
    uniforms += [(p[f"linear{i}_bias"], 1 / math.sqrt(fan_in)) for i, (fan_in, _) in enumerate(shapes)]
    for value, bound in uniforms:
        assert value.abs().max() <= bound
    for name, (c_in, _) in zip(("conv0_weight", "conv1_weight"), spec.convs):  # 450 and 2,400 draws
        value, bound = p[name].double(), 1 / math.sqrt(25 * c_in)
        assert value.abs().max() > 0.97 * bound
        assert abs(value.std().item() / (bound / math.sqrt(3)) - 1) < 0.08  # 450 draws: 4.5 standard errors


# ---- in the training engine ------------------------------------------------------------------------

def test_member_trained_in_a_batch_matches_member_trained_alone():
    """Through initlab.train (flattened images, float64, Adam, 6 steps): the per-member gap is
    summation order only (tests/test_train_engine.py states the engine's tolerance)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 1 * 8 * 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (60,), generator=g)
    data = Data(x[:48], y[:48], x[48:], y[48:])
    model = BatchedCNN(CNNSpec(in_channels=1, image_size=8, classes=3, relu_on_logits=False))
    settings = TrainSettings(epochs=2, batch_size=16, lr=1e-2)
    batched = train(model, [4, 9], data, settings, log=lambda m: None, dtype=torch.float64)
    alone = train(model, [9], data, settings, log=lambda m: None, dtype=torch.float64)
    for name, value in alone.params.items():
        torch.testing.assert_close(batched.params[name][1], value[0], rtol=1e-9, atol=1e-12, msg=name)
    initial = model.init([seed_generator(9, "init")])
    assert (initial["conv0_weight"].double() - alone.params["conv0_weight"]).abs().max() > 1e-3  # it trained


# ---- bad specs and inputs ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,message", [
    ({"arch": "lenet"}, "CNNSpec.arch = 'lenet'; allowed: paper, public_code"),
    ({"image_size": 5}, "image_size 5 is too small for arch 'paper'.*smallest image_size is 6"),
    ({"arch": "public_code", "image_size": 15}, "image_size 15 is too small for arch 'public_code': conv1.*"
                                                "smallest image_size is 16"),
    ({"in_channels": 0}, r"CNNSpec.in_channels = 0; must be an integer >= 1"),
    ({"width": 2.5}, r"CNNSpec.width = 2.5; must be an integer >= 1"),
    ({"classes": 0}, r"CNNSpec.classes = 0; must be an integer >= 1"),
    ({"relu_on_logits": "yes"}, "CNNSpec.relu_on_logits = 'yes'; must be True or False"),
])
def test_bad_specs_fail_with_clear_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CNNSpec(**kwargs)


def test_smallest_images_work():
    for arch, size in (("paper", 6), ("public_code", 16)):
        spec = CNNSpec(arch=arch, image_size=size)
        assert spec.feature_size == 1
        model = BatchedCNN(spec)
        assert model.forward(model.init(gens(0, 1)), torch.randn(2, 3, 3, size, size)).shape == (2, 3, 10)


def test_bad_inputs_and_inits_fail_with_clear_messages():
    model = BatchedCNN(CNNSpec())
    params = model.init(gens(0, 1))
    with pytest.raises(ValueError, match=r"input of shape \(2, 4, 1, 32, 32\); expected \(S, B, 3, 32, 32\)"):
        model.forward(params, torch.randn(2, 4, 1, 32, 32))
    with pytest.raises(ValueError, match="input has 3 members in dimension 0, the parameters 2"):
        model.forward(params, torch.randn(3, 4, 3, 32, 32))
    with pytest.raises(ValueError, match="1 init specs for 2 generators"):
        model.init(gens(0, 1), ["kaiming_normal"])
    with pytest.raises(ValueError, match="init method 'he'"):
        model.init(gens(0), ["he"])
    assert BatchedCNN.manual_backward is False
