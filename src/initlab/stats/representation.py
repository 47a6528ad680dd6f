"""Representation estimators of the ldlt paper's HIGGS sweep (Appendices C-D, Figs. 14-17), per member.

* ``linear_cka``: input-output linear CKA, eq. (13) (Fig. 14).
* ``stable_rank``: SR(W) = ||W||_F^2 / ||W||_2^2, Appendix D (unnumbered; Figs. 15 and 17).
* ``dead_fraction``: fraction of entries with |x| < 1e-6, the paper's dead neuron (Fig. 16).
* ``auc``: ROC AUC of each member's scores (validation and test AUC, Figs. 6-8, 13).

The torch functions are vectorised over leading (member) dimensions, run on the inputs' device, accept
float32 or float64 and compute in float64 (results are float64).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata

__all__ = ["auc", "dead_fraction", "linear_cka", "stable_rank"]


def _centre_columns(x: torch.Tensor) -> torch.Tensor:
    """X - 1 mean(X) (= H X) in float64; columns that are exactly constant become exactly zero (rounding in
    the mean would otherwise leave tiny residues that CKA normalises into noise)."""
    x = x.double()
    constant = (x.amax(dim=-2, keepdim=True) == x.amin(dim=-2, keepdim=True))
    return torch.where(constant, torch.zeros_like(x), x - x.mean(dim=-2, keepdim=True))


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Linear CKA of eq. (13): HSIC(K, L) = tr(K H L H) / (n-1)^2, K = X X^T, L = Y Y^T, H = I - 11^T/n,
    CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)).

    x: (n, p) inputs shared by all members, or (S, n, p); y: (S, n, q) outputs -> (S,) float64.
    With Xc = H X, Yc = H Y: tr(K H L H) = ||Yc^T Xc||_F^2, so CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F
    ||Yc^T Yc||_F) and no n x n matrix is formed (the (n-1)^2 cancels). NaN where y (or x) has zero
    variance in every column (CKA is 0/0 there), and where y is not finite."""
    if y.ndim != 3 or x.ndim not in (2, 3) or x.shape[-2] != y.shape[-2]:
        raise ValueError(f"linear_cka needs x (n, p) or (S, n, p) and y (S, n, q) with the same n, got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    xc, yc = _centre_columns(x), _centre_columns(y)
    cross = (yc.transpose(-1, -2) @ xc).square().sum(dim=(-2, -1))
    x_norm = torch.linalg.matrix_norm(xc.transpose(-1, -2) @ xc)  # () when x is shared: broadcasts
    y_norm = torch.linalg.matrix_norm(yc.transpose(-1, -2) @ yc)
    return cross / (x_norm * y_norm)


def stable_rank(h: torch.Tensor) -> torch.Tensor:
    """Stable rank ||H||_F^2 / ||H||_2^2 (ldlt paper, Appendix D) of (..., n, p) matrices -> (...,) float64.

    ||H||_2^2 is the largest eigenvalue of the smaller Gram (H H^T or H^T H, eigvalsh), cheaper than an SVD;
    ||H||_F^2 is its trace. In [1, min(n, p)]; NaN for a zero matrix (0/0) and a non-finite one."""
    h = h.double()
    finite = torch.isfinite(h).all(dim=-1).all(dim=-1)
    h = torch.where(finite[..., None, None], h, torch.zeros_like(h))  # eigvalsh may fail on NaN
    gram = h @ h.transpose(-1, -2) if h.shape[-2] <= h.shape[-1] else h.transpose(-1, -2) @ h
    largest = torch.linalg.eigvalsh(gram)[..., -1]
    ratio = gram.diagonal(dim1=-2, dim2=-1).sum(dim=-1) / largest
    return torch.where(finite, ratio, torch.full_like(ratio, float("nan")))


def dead_fraction(h: torch.Tensor, threshold: float = 1e-6) -> torch.Tensor:
    """Fraction of the entries of each (..., n, p) matrix with |x| < threshold (the paper's dead neuron,
    Fig. 16: |x| < 1e-6) -> (...,) float64; NaN where the matrix has a non-finite entry (a diverged member
    is not "alive")."""
    dead = (h.abs() < threshold).double().mean(dim=(-2, -1))
    finite = torch.isfinite(h).all(dim=-1).all(dim=-1)
    return torch.where(finite, dead, torch.full_like(dead, float("nan")))


def auc(scores, labels) -> np.ndarray:
    """ROC AUC of each member: scores (S, n) (tensor or array), labels (n,) in {0, 1} shared -> (S,) float64.

    Mann-Whitney: AUC = (sum of the positives' ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg), ranks over
    the member's n scores with ties at their average rank (so a tie between a positive and a negative
    counts 1/2, as sklearn's roc_auc_score). NaN for a member whose scores are not all finite."""
    scores = np.asarray(scores.detach().cpu() if torch.is_tensor(scores) else scores, dtype=np.float64)
    labels = np.asarray(labels.detach().cpu() if torch.is_tensor(labels) else labels)
    if scores.ndim != 2 or labels.shape != (scores.shape[1],):
        raise ValueError(f"auc needs scores (S, n) and labels (n,), got {scores.shape} and {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("auc: labels must be 0 or 1")
    positive = labels == 1
    n_pos = int(positive.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"auc: labels hold one class only ({n_pos} positives, {n_neg} negatives); AUC is "
                         "undefined")
    finite = np.isfinite(scores).all(axis=1)
    ranks = rankdata(np.where(finite[:, None], scores, 0.0), axis=1)  # average ranks for ties
    u = ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2
    return np.where(finite, u / (n_pos * n_neg), np.nan)
