"""Seeded image-wise and object-wise train/test splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grasp_core.validation import require_choice, require_range


def split_indices(
    object_ids: Sequence[str],
    test_fraction: float = 0.1,
    mode: str = "image",
    seed: int = 0,
) -> tuple[list[int], list[int]]:
    """``(train, test)`` index lists. ``mode="object"`` keeps every object on one side.

    The test side gets ``round(test_fraction * n)`` images (image-wise) or objects
    (object-wise), at least one when ``test_fraction > 0``.
    """
    require_choice("split mode", mode, ("image", "object"))
    require_range("test_fraction", test_fraction, 0.0, 1.0, high_inclusive=False)
    rng = np.random.default_rng(seed)
    n = len(object_ids)
    if mode == "image":
        order = rng.permutation(n)
        n_test = max(int(round(test_fraction * n)), 1 if test_fraction > 0 else 0)
        test = set(order[:n_test].tolist())
    else:
        objects = sorted(set(object_ids))
        order = rng.permutation(len(objects))
        n_test = max(int(round(test_fraction * len(objects))), 1 if test_fraction > 0 else 0)
        test_objects = {objects[i] for i in order[:n_test]}
        test = {i for i, o in enumerate(object_ids) if o in test_objects}
    train = [i for i in range(n) if i not in test]
    return train, sorted(test)


def labelled_subset(indices: Sequence[int], fraction: float, seed: int = 0) -> list[int]:
    """A seeded ``fraction`` of ``indices`` (at least one) to keep the labels of."""
    require_range("label fraction", fraction, 0.0, 1.0, low_inclusive=False)
    rng = np.random.default_rng(seed + 7919)
    k = max(int(round(fraction * len(indices))), 1)
    picked = rng.permutation(len(indices))[:k]
    return sorted(int(indices[i]) for i in picked)
