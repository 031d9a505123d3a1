"""PyTorch view of a planar dataset: crops, augmentation and GG-CNN target maps, built
with the shared processing path (:mod:`grasp_models.planar.processing`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from grasp_core.validation import require_choice
from grasp_models.datasets.sample import GraspSample, PlanarDataset
from grasp_models.planar import processing as P

CROP_MODES = ("image", "gt")


def crop_center_for(sample: GraspSample, mode: str) -> tuple[float, float]:
    """Blind crop centre (``"image"``) or the mean ground-truth centre (``"gt"``, eval only)."""
    require_choice("crop mode", mode, CROP_MODES)
    if mode == "gt" and sample.positives:
        c = np.mean([r.center for r in sample.positives], axis=0)
        return float(c[0]), float(c[1])
    return P.image_center(sample.depth.shape)


class GraspMapDataset(Dataset):
    """``(input CxSxS, targets 4xSxS, index)`` of ``indices`` of ``source``.

    With ``augment``, each item gets a seeded random rotation (any angle), zoom in
    [0.85, 1.15] and shift of up to ``shift`` px; samples are cached in memory.
    ``with_targets=False`` serves unlabelled images (targets are zeros).
    """

    def __init__(
        self,
        source: PlanarDataset,
        indices: Sequence[int],
        cfg: P.ProcessingConfig,
        augment: bool = False,
        crop: str = "image",
        rgb: bool = False,
        seed: int = 0,
        shift: float = 20.0,
        with_targets: bool = True,
    ) -> None:
        self.source = source
        self.indices = list(indices)
        self.cfg = cfg
        self.augment = augment
        self.crop = require_choice("crop mode", crop, CROP_MODES)
        self.rgb = rgb
        self.seed = seed
        self.shift = shift
        self.with_targets = with_targets
        self.epoch = 0
        self._cache: dict[int, GraspSample] = {}

    def __len__(self) -> int:
        return len(self.indices)

    def sample(self, i: int) -> GraspSample:
        idx = self.indices[i]
        if idx not in self._cache:
            self._cache[idx] = self.source[idx]
        return self._cache[idx]

    def transform(self, i: int) -> np.ndarray:
        """The crop transform of item ``i`` (random when augmenting, seeded per epoch)."""
        sample = self.sample(i)
        u, v = crop_center_for(sample, self.crop)
        if not self.augment:
            return P.crop_transform((u, v), self.cfg.size)
        rng = np.random.default_rng((self.seed, self.epoch, i))
        du, dv = rng.uniform(-self.shift, self.shift, 2)
        return P.crop_transform(
            (u + du, v + dv),
            self.cfg.size,
            rotation=float(rng.uniform(-math.pi, math.pi)),
            zoom=float(rng.uniform(0.85, 1.15)),
        )

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        sample = self.sample(i)
        M = self.transform(i)
        rgb = sample.rgb if self.rgb else None
        if self.rgb and rgb is None:
            rgb = np.zeros((*sample.depth.shape, 3), dtype=np.uint8)
        x = P.prepare_input(sample.depth, M, self.cfg, rgb)
        if self.with_targets:
            rects = [P.transform_rect(r, M) for r in sample.positives]
            y = P.grasp_maps(rects, self.cfg.size, self.cfg.width_scale)
        else:
            y = np.zeros((4, self.cfg.size, self.cfg.size), dtype=np.float32)
        return torch.from_numpy(x), torch.from_numpy(y), i


class ConcatGraspMaps(ConcatDataset):
    """Several :class:`GraspMapDataset` as one (e.g. the VQ-VAE's images from several
    folders); setting ``epoch`` reseeds every part's augmentation."""

    @property
    def epoch(self) -> int:
        return self.datasets[0].epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        for part in self.datasets:
            part.epoch = value
