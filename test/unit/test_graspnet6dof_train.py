"""Evaluator training batches: the positive / negative / hard-negative mix."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_models.graspnet6dof.dataset import ObjectGrasps
from grasp_models.graspnet6dof.train import TrainConfig, evaluator_batch


def _obj() -> ObjectGrasps:
    def poses(tag: float, n: int) -> np.ndarray:
        T = np.tile(np.eye(4), (n, 1, 1))
        T[:, 0, 3] = tag  # the source, readable from the batch
        return T

    return ObjectGrasps(
        name="o", positives=poses(1.0, 5), negatives=poses(2.0, 7),
        hard_negatives=poses(3.0, 4), views=[], T_object_camera=np.eye(4), file=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mix", "counts"), [((0.3, 0.3, 0.4), (19, 19, 26)), ((0.2, 0.2, 0.6), (13, 13, 38))]
)
def test_evaluator_batch_follows_the_mix(seed: int, mix, counts) -> None:
    T, y = evaluator_batch(_obj(), 64, np.random.default_rng(seed), mix)
    src = T[:, 0, 3]
    assert tuple(int((src == k).sum()) for k in (1.0, 2.0, 3.0)) == counts
    np.testing.assert_array_equal(y, src == 1.0)


@pytest.mark.parametrize("mix", [(0.5, 0.5, 0.5), (0.5, -0.1, 0.6), (0.5, 0.5)])
def test_train_config_rejects_a_bad_mix(mix) -> None:
    with pytest.raises(ValueError, match="eval_mix"):
        TrainConfig(model="evaluator", data="d", out="o.pt", eval_mix=mix)
