"""Inference path: base-frame cloud in, base-frame grasps out (untrained weights on disk)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grasp_models.base import GraspInput
from grasp_models.checkpoint import save_checkpoint
from grasp_models.errors import CheckpointError, ModelError
from grasp_models.graspnet6dof.clouds import prepare_cloud, voxel_downsample
from grasp_models.graspnet6dof.errors import InputCloudError
from grasp_models.graspnet6dof.evaluator import GraspEvaluator
from grasp_models.graspnet6dof.inference import (
    EVALUATOR_FILE,
    SAMPLER_FILE,
    GraspNet6DofParams,
    load_graspnet6dof,
)
from grasp_models.graspnet6dof.train import shipped_state
from grasp_models.graspnet6dof.vae import GraspSamplerVAE
from grasp_models.registry import load_model


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("w")
    save_checkpoint(
        folder / SAMPLER_FILE, shipped_state(GraspSamplerVAE(2), "vae"), {"latent_size": 2}
    )
    save_checkpoint(folder / EVALUATOR_FILE, shipped_state(GraspEvaluator(), "evaluator"), {})
    return str(folder)


SHIFT = np.array([1.0, 0.0, 0.0])


def box_cloud(rng: np.random.Generator, center=(0.5012, 0.0013, 0.0517)) -> np.ndarray:
    """Points on the faces of a 6 x 4 x 10 cm box [m]."""
    unit = rng.uniform(-1, 1, size=(3000, 3))
    unit[np.arange(3000), rng.integers(0, 3, 3000)] = np.sign(rng.normal(size=3000))
    return unit * [0.03, 0.02, 0.05] + np.asarray(center)


def test_prepare_cloud_centres_and_resamples(rng) -> None:
    pts = box_cloud(rng)
    cloud, centroid = prepare_cloud(pts, rng, n=1024)
    assert cloud.shape == (1024, 3) and cloud.dtype == np.float32
    np.testing.assert_allclose(centroid, voxel_downsample(pts).mean(axis=0))
    assert np.abs(cloud.mean(axis=0)).max() < 0.01
    with pytest.raises(InputCloudError, match="at least"):
        prepare_cloud(pts[:5], rng)


def test_predict_returns_sorted_base_frame_grasps_that_follow_the_cloud(weights, rng) -> None:
    params = GraspNet6DofParams(num_samples=32, iterations=2, threshold=0.0)
    model = load_graspnet6dof(weights, params=params)
    pts = box_cloud(rng)
    grasps = model.predict(GraspInput(object_points=pts), max_grasps=10)
    assert 0 < len(grasps) <= 10
    q = [g.quality for g in grasps]
    assert q == sorted(q, reverse=True)
    assert all(g.frame_id == "panda_link0" and g.model == "graspnet6dof" for g in grasps)
    # the same cloud 1 m further along x gives the same grasps 1 m further along x
    model2 = load_graspnet6dof(weights, params=params)
    moved = model2.predict(GraspInput(object_points=pts + SHIFT), max_grasps=10)
    np.testing.assert_allclose(
        [g.position for g in moved], [g.position + SHIFT for g in grasps], atol=2e-3
    )


def test_threshold_drops_low_scores(weights, rng) -> None:
    model = load_graspnet6dof(
        weights, params=GraspNet6DofParams(num_samples=16, iterations=0, threshold=1.0)
    )
    assert model.predict(GraspInput(object_points=box_cloud(rng))) == []


def test_registry_and_errors(weights, tmp_path) -> None:
    assert (
        type(load_model("graspnet6dof", weights=weights, device="cpu")).__name__ == "GraspNet6Dof"
    )
    with pytest.raises(CheckpointError, match="train-6dof"):
        load_graspnet6dof(tmp_path)
    with pytest.raises(ModelError, match="object_points"):
        load_graspnet6dof(weights).predict(GraspInput())


def test_params_from_the_shipped_yaml() -> None:
    p = GraspNet6DofParams.from_yaml()
    assert p.num_samples == 200 and p.iterations == 10 and p.max_translation == 0.01
