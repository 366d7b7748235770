"""Random shifts of replayed images (`lifelong.augment`) and the `augment` gene."""

import torch
from test_learner import grown

from lifelong.augment import random_shift
from lifelong.modes import Mode
from lifelong.systems.control import meta_action


def test_each_image_moves_as_a_whole_by_at_most_pad_cells_with_its_border_repeated():
    images = torch.arange(36.0).view(1, 6, 6, 1).repeat(64, 1, 1, 1)  # cell (r, c) holds 6r + c
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    offsets = set()
    for before, after in zip(images[..., 0], shifted[..., 0], strict=True):
        # Read each output cell's source cell back from its value.
        rows, cols = (after // 6) - torch.arange(6)[:, None], (after % 6) - torch.arange(6)
        centre = (rows[2:4, 2:4].unique(), cols[2:4, 2:4].unique())  # never clamped for pad 2
        assert len(centre[0]) == 1 and len(centre[1]) == 1, "one shift per image"
        dy, dx = int(centre[0]), int(centre[1])
        assert abs(dy) <= 2 and abs(dx) <= 2
        offsets.add((dy, dx))
        expected_rows = (torch.arange(6) + dy).clamp(0, 5)
        expected_cols = (torch.arange(6) + dx).clamp(0, 5)
        assert torch.equal(after, before[expected_rows][:, expected_cols])
    assert len(offsets) > 15, "the 25 offsets are all drawn"


def test_no_pad_is_the_identity_and_any_dtype_shifts():
    images = torch.randint(0, 2, (3, 4, 5, 5, 2), dtype=torch.uint8)
    assert random_shift(images, 0, torch.Generator()) is images
    shifted = random_shift(images, 1, torch.Generator().manual_seed(1))
    assert shifted.dtype == torch.uint8 and shifted.shape == images.shape
    assert not torch.equal(shifted, images)


def test_the_gene_shifts_each_replayed_image_of_the_mind_s_batch():
    """Two minds that lived alike sample the same sequences; with `augment` 1 each image is the
    other's moved by at most one cell."""
    plain_agent, genome = grown("b_only", steps=60, warmup=10**6)
    shifted_agent, _ = grown("b_only", steps=60, warmup=10**6, augment=1)
    meta = meta_action(genome, Mode.EXPLOIT, "test")
    plain = plain_agent.mind.sample(meta)["obs"]
    shifted = shifted_agent.mind.sample(meta)["obs"]
    assert plain.shape == shifted.shape and not torch.equal(plain, shifted)
    size = plain.shape[2]
    for before, after in zip(plain.flatten(0, 1), shifted.flatten(0, 1), strict=True):
        candidates = [
            before[(torch.arange(size) + dy).clamp(0, size - 1)][
                :, (torch.arange(size) + dx).clamp(0, size - 1)
            ]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
        assert any(torch.equal(after, c) for c in candidates)
