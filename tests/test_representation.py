"""Representation estimators of the ldlt sweep: linear CKA (eq. 13) against explicit kernel matrices,
stable rank against numpy's SVD, dead fraction on a constructed tensor, AUC against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from initlab.stats.representation import auc, dead_fraction, linear_cka, stable_rank


def _randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _orthogonal(p, seed):
    q, _ = torch.linalg.qr(_randn(p, p, seed=seed))
    return q


def _cka_brute_force(x, y):
    """eq. (13) literally: n x n kernels and the centring matrix H."""
    n = x.shape[0]
    H = torch.eye(n, dtype=torch.float64) - torch.ones(n, n, dtype=torch.float64) / n
    K, L = x @ x.T, y @ y.T

    def hsic(a, b):
        return torch.trace(a @ H @ b @ H) / (n - 1) ** 2

    return (hsic(K, L) / torch.sqrt(hsic(K, K) * hsic(L, L))).item()


def test_cka_matches_explicit_kernels():
    S, n, p, q = 3, 9, 4, 2
    x_shared, x_batched = _randn(n, p, seed=1) + 2.0, _randn(S, n, p, seed=2)  # offset: centring matters
    y = _randn(S, n, q, seed=3) * torch.tensor([1.0, 5.0])  # unequal column scales
    shared, batched = linear_cka(x_shared, y), linear_cka(x_batched, y)
    assert shared.shape == batched.shape == (S,) and shared.dtype == torch.float64
    for s in range(S):
        assert shared[s].item() == pytest.approx(_cka_brute_force(x_shared, y[s]), rel=1e-12)
        assert batched[s].item() == pytest.approx(_cka_brute_force(x_batched[s], y[s]), rel=1e-12)
    assert not np.allclose(shared.numpy(), batched.numpy())  # the members really differ


def test_cka_invariances_and_identity():
    S, n, p = 4, 50, 6
    x, y = _randn(n, p, seed=4), torch.tanh(_randn(n, p, seed=4) @ _randn(S, p, 3, seed=5))
    base = linear_cka(x, y)
    assert torch.allclose(linear_cka(3.7 * x @ _orthogonal(p, 6) + 1.5, y), base, rtol=1e-12, atol=0)
    assert torch.allclose(linear_cka(x, -0.01 * y @ _orthogonal(3, 7)), base, rtol=1e-12, atol=0)
    # not invariant to a general invertible map (the paper's remark): the checks above can fail
    stretch = torch.diag(torch.tensor([1.0, 10.0, 1.0, 1.0, 0.1, 1.0], dtype=torch.float64))
    assert (linear_cka(x @ stretch, y) - base).abs().min() > 1e-3
    assert torch.allclose(linear_cka(x, x.expand(S, n, p) * 2.0), torch.ones(S, dtype=torch.float64), atol=1e-14)
    assert (base < 0.99).all() and (base > 0).all()


def test_cka_float32_and_constant_output():
    S, n, p = 3, 200, 5
    x = _randn(n, p, seed=8)
    y = x[:, :2] ** 2 + 0.5 * _randn(S, n, 2, seed=9)
    expected = linear_cka(x, y)
    assert torch.allclose(linear_cka(x.float(), y.float()), expected, rtol=1e-5, atol=0)
    # constant outputs (a dead network) have zero variance: CKA is 0/0 -> NaN, also when the constant
    # is not exactly representable (0.1 in float32: the mean's rounding must not leave a residue)
    y32 = y.float().clone()
    y32[1] = 0.1
    y32[2, :, 0] = -3.3  # one constant column: the other column still defines CKA
    cka = linear_cka(x.float(), y32)
    assert torch.isnan(cka[1]) and torch.isfinite(cka[[0, 2]]).all()
    assert cka[2].item() == pytest.approx(linear_cka(x, y[2:3, :, 1:]).item(), rel=1e-5)
    with pytest.raises(ValueError, match="same n"):
        linear_cka(x, y[:, :-1])


@pytest.mark.parametrize("shape", [(3, 7, 12), (2, 3, 15, 6)])
def test_stable_rank_matches_svd(shape):
    h = _randn(*shape, seed=10) * torch.linspace(0.1, 3.0, shape[-1], dtype=torch.float64)  # spread spectrum
    singular = np.linalg.svd(h.numpy(), compute_uv=False)
    expected = (singular ** 2).sum(axis=-1) / singular[..., 0] ** 2
    result = stable_rank(h)
    assert result.shape == shape[:-2] and result.dtype == torch.float64
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(stable_rank(h.float()).numpy(), expected, rtol=1e-5)
    assert (result > 1.2).all()  # not trivially one


def test_stable_rank_extremes():
    u, v = _randn(2, 20, 1, seed=11), _randn(2, 1, 8, seed=12)
    assert torch.allclose(stable_rank(u @ v), torch.ones(2, dtype=torch.float64), atol=1e-12)
    q = torch.stack([torch.linalg.qr(_randn(30, 5, seed=s))[0] for s in (13, 14)])  # orthonormal columns
    assert torch.allclose(stable_rank(3.0 * q), torch.full((2,), 5.0, dtype=torch.float64), rtol=1e-12)
    assert torch.allclose(stable_rank(q.transpose(-1, -2)), torch.full((2,), 5.0, dtype=torch.float64), rtol=1e-12)
    bad = q.clone()
    bad[0] = 0.0
    bad[1, 2, 3] = float("nan")
    assert torch.isnan(stable_rank(bad)).all()


def test_dead_fraction_counts_small_entries():
    h = torch.ones(3, 4, 5)
    h[0, 0, :3] = torch.tensor([0.0, 5e-7, -9e-7])  # 3 dead of 20
    h[0, 1, 0] = 2e-6  # alive: |x| >= 1e-6
    h[1] = -0.0  # all dead
    h[2, 3, 4] = float("nan")  # diverged member
    result = dead_fraction(h)
    assert result.shape == (3,) and result.dtype == torch.float64
    assert result[0].item() == pytest.approx(3 / 20) and result[1].item() == 1.0 and torch.isnan(result[2])
    assert dead_fraction(h, threshold=1e-5)[0].item() == pytest.approx(4 / 20)
    assert dead_fraction(h.double().reshape(3, 2, 2, 5))[0].tolist() == [3 / 10, 0.0]


def test_auc_matches_sklearn_with_ties_and_nan():
    rng = np.random.default_rng(15)
    S, n = 6, 300
    labels = rng.integers(0, 2, n)
    scores = labels[None, :] * rng.uniform(0.0, 1.5, (S, 1)) + rng.normal(size=(S, n))
    scores[1] = np.round(scores[1])  # heavy ties, between classes too
    scores[2] = 0.25  # all tied: 0.5
    scores[3] = -scores[3]  # below 0.5
    scores[4, 7] = np.nan
    scores[5, 0] = np.inf
    result = auc(torch.tensor(scores, dtype=torch.float32), torch.tensor(labels))
    assert result.shape == (S,) and result.dtype == np.float64
    for s in range(4):
        expected = roc_auc_score(labels, scores[s].astype(np.float32))
        assert result[s] == pytest.approx(expected, rel=1e-12, abs=1e-15), s
    assert result[2] == 0.5 and result[3] < 0.5 < result[0]
    assert np.isnan(result[4]) and np.isnan(result[5])
    assert auc(scores[:1].tolist(), labels.astype(float))[0] == pytest.approx(roc_auc_score(labels, scores[0]))


def test_auc_rejects_bad_labels():
    scores = np.zeros((2, 4))
    with pytest.raises(ValueError, match="one class"):
        auc(scores, np.ones(4))
    with pytest.raises(ValueError, match="0 or 1"):
        auc(scores, np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"\(S, n\)"):
        auc(scores[0], np.array([0, 1, 0, 1]))
