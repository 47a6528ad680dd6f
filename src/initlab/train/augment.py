"""Batched data augmentation for the engine's ``augment`` hook: every member's images transformed
with its own random stream (``uniform(shape) -> (S, *shape)`` uniform(0, 1) draws)."""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn import functional as F


def random_flip_crop(images: torch.Tensor, uniform: Callable[[tuple], torch.Tensor], padding: int = 4,
                     fill: float = 0.0) -> torch.Tensor:
    """torchvision's RandomHorizontalFlip() then RandomCrop(size, padding) on (S, B, C, H, W) images:
    each image is flipped left-right with probability 1/2, padded by ``padding`` pixels of value
    ``fill`` on every side and cropped back to H x W at a uniformly random offset.  ``fill`` is the
    padding's value in the images' units (torchvision pads raw pixels with 0 before normalising:
    pass (0 - mean) / std for normalised images)."""
    S, B, C, H, W = images.shape
    draws = uniform((B, 3))  # per image: flip, row offset, column offset
    flip = draws[..., 0].reshape(-1) < 0.5
    span = 2 * padding + 1
    top = (draws[..., 1].reshape(-1) * span).long().clamp_(max=span - 1)
    left = (draws[..., 2].reshape(-1) * span).long().clamp_(max=span - 1)
    padded = F.pad(images.reshape(S * B, C, H, W), (padding,) * 4, value=fill)
    rows = top[:, None] + torch.arange(H, device=images.device)  # (S B, H)
    cols = left[:, None] + torch.arange(W, device=images.device)  # (S B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # a crop of the flipped image = the flipped crop
    n = torch.arange(S * B, device=images.device)[:, None, None, None]
    c = torch.arange(C, device=images.device)[None, :, None, None]
    out = padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]
    return out.reshape(S, B, C, H, W)
