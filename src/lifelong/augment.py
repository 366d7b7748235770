"""Random shifts of replayed images: the augmentation that made pixel RL sample-efficient.

DrQ (Kostrikov et al. 2021) and SPR (Schwarzer et al. 2021) found that shifting each replayed
image by a few pixels, edges replicated, let value learning at high replay ratios stop fitting
the exact pixels it has seen. Here a shift moves a whole egocentric or arcade frame by up to
`pad` cells, so B's values and A's predictions must hold across small translations.

Every image of a batch (each frame of each sequence) is shifted on its own, as DrQ does for a
transition's two frames: A's target latents then ask for what a frame means, not where it sits.
"""

from __future__ import annotations

import torch
from torch import Tensor


def random_shift(images: Tensor, pad: int, generator: torch.Generator) -> Tensor:
    """Images (..., H, W, C), channels last, each shifted by up to `pad` cells along H and W.

    Each image is read at rows y + dy and columns x + dx for offsets dy, dx drawn uniformly in
    [-pad, pad], clamped to the frame: what slides in from outside repeats the border, as DrQ's
    replicate padding does, and any dtype shifts alike.
    """
    if pad <= 0:
        return images
    shape = images.shape
    flat = images.reshape(-1, *shape[-3:])
    n, height, width, _ = flat.shape
    device = images.device
    dy, dx = torch.randint(-pad, pad + 1, (2, n, 1), generator=generator, device=device)
    rows = (dy + torch.arange(height, device=device)).clamp(0, height - 1)  # (N, H)
    cols = (dx + torch.arange(width, device=device)).clamp(0, width - 1)  # (N, W)
    index = torch.arange(n, device=device)[:, None, None]
    return flat[index, rows[:, :, None], cols[:, None, :]].reshape(shape)
