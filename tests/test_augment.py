"""Batched flip-and-crop augmentation against direct per-image constructions."""

import torch
import torch.nn.functional as F

from initlab.train.augment import random_flip_crop


def fixed(values):
    """A 'uniform' stream returning the given (flip, row, col) draws for every image."""
    def uniform(shape):
        return torch.tensor(values, dtype=torch.float32).expand(2, shape[0], 3).clone()
    return uniform


def test_centre_crop_without_flip_is_the_identity_and_flip_is_a_mirror():
    images = torch.randn(2, 3, 1, 6, 5)
    centre = (4 + 0.5) / 9  # offset 4 = padding: the original window
    torch.testing.assert_close(random_flip_crop(images, fixed([0.9, centre, centre])), images)
    torch.testing.assert_close(random_flip_crop(images, fixed([0.1, centre, centre])), images.flip(-1))


def test_offset_crop_matches_slicing_the_padded_image():
    images = torch.randn(2, 3, 2, 8, 8)
    out = random_flip_crop(images, fixed([0.9, 0.0, 8.9 / 9]), padding=4, fill=-1.0)  # top 0, left 8
    padded = F.pad(images, (4, 4, 4, 4), value=-1.0)
    torch.testing.assert_close(out, padded[..., 0:8, 8:16])


def test_offsets_and_flips_are_uniform():
    g = torch.Generator().manual_seed(0)

    def uniform(shape):
        draws = torch.rand((1, *shape), generator=g)
        draws[..., 1] = 4.5 / 9  # row offset fixed at the original window
        return draws

    images = torch.arange(9.0).reshape(1, 1, 1, 1, 9).expand(1, 4000, 1, 1, 9).contiguous()
    out = random_flip_crop(images, uniform, padding=4, fill=-1.0)[0, :, 0, 0]  # (4000, 9)
    pads = (out == -1.0).sum(-1)  # padding columns in the crop: |column offset - 4|
    counts = torch.bincount(pads, minlength=5).float() / 4000
    assert torch.allclose(counts, torch.tensor([1, 2, 2, 2, 2]) / 9, atol=0.03)
    kept = out[pads == 0]  # offset 4: either the image or its mirror, half each
    mirrored = (kept[:, 0] == 8).float().mean()
    assert abs(mirrored - 0.5) < 0.1 and ((kept[:, 0] == 0) | (kept[:, 0] == 8)).all()
