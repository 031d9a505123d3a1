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


@pytest.mark.parametrize("model", ["vae", "evaluator"])
def test_a_stopped_and_resumed_run_ends_as_one_that_never_stopped(tmp_path, monkeypatch, model):
    """``grasp train-6dof`` runs in chunks (``--minutes``) and resumes from its checkpoint;
    until late 2026-12-07 a resumed run drew its batches from a fresh stream seeded by the step
    and the VAE its latents from a reseeded torch stream, so it ended with other weights
    than a run never stopped."""
    import torch

    from grasp_models.graspnet6dof import train as train_module
    from grasp_models.graspnet6dof.data import GraspFile, write_grasps

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        T = np.tile(np.eye(4), (12, 1, 1))
        T[:, :3, 3] = rng.normal(scale=0.02, size=(12, 3))
        write_grasps(
            data / f"obj_{i}.h5",
            GraspFile(
                object_file=f"obj_{i}", scale=1.0, transforms=T,
                success=np.arange(12) % 2 == 0, kind=np.array([0] * 9 + [1] * 3, np.int8),
                view_points=rng.normal(scale=0.03, size=(2, 200, 3)).astype(np.float32),
                T_object_camera=np.tile(np.eye(4), (2, 1, 1)),
            ),
        )  # fmt: skip
    common = dict(model=model, data=str(data), steps=6, save_every=2, grasps_per_cloud=8, seed=4)
    straight, stopped = tmp_path / "a" / "m.pt", tmp_path / "b" / "m.pt"
    card = train_module.train(train_module.TrainConfig(out=str(straight), **common))
    saves, save = [], train_module.save_checkpoint

    def save_then_stop(path, state, card=None):  # a kill right after the step-4 checkpoint
        save(path, state, card)
        saves.append(path)
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(train_module.TrainConfig(out=str(stopped), **common))
    monkeypatch.setattr(train_module, "save_checkpoint", save)
    resumed = train_module.train(train_module.TrainConfig(out=str(stopped), **common))
    assert resumed["steps"] == card["steps"] == 6
    assert resumed["history"] == card["history"]
    a, b = torch.load(straight, weights_only=True), torch.load(stopped, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
