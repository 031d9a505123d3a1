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
    grasps = model.predict(GraspInput(object_points=pts, base_frame="panda_link0"), max_grasps=10)
    assert 0 < len(grasps) <= 10
    q = [g.quality for g in grasps]
    assert q == sorted(q, reverse=True)
    assert all(g.frame_id == "panda_link0" and g.model == "graspnet6dof" for g in grasps)
    # the same cloud 1 m further along x gives the same grasps 1 m further along x
    model2 = load_graspnet6dof(weights, params=params)
    moved = model2.predict(
        GraspInput(object_points=pts + SHIFT, base_frame="panda_link0"), max_grasps=10
    )
    np.testing.assert_allclose(
        [g.position for g in moved], [g.position + SHIFT for g in grasps], atol=2e-3
    )


def test_threshold_drops_low_scores(weights, rng) -> None:
    model = load_graspnet6dof(
        weights, params=GraspNet6DofParams(num_samples=16, iterations=0, threshold=1.0)
    )
    assert model.predict(GraspInput(object_points=box_cloud(rng), base_frame="b")) == []


def test_each_labelled_object_gets_its_own_grasps(weights, rng) -> None:
    """Clusters are sampled one by one (the network saw single objects): with two boxes
    2 m apart in one cloud every grasp lies at one of them, not between them (untrained
    weights put grasps up to ~0.3 m from a cloud's centroid)."""
    params = GraspNet6DofParams(num_samples=16, iterations=1, threshold=0.0)
    a, b = box_cloud(rng), box_cloud(rng, center=(0.5, 2.0, 0.05))
    noise = rng.uniform(-1, 1, (15, 3))  # unassigned points, and a cluster too small
    pts = np.concatenate([a, b, noise, noise[:10] + 5.0])
    labels = np.concatenate([np.zeros(len(a)), np.ones(len(b)), -np.ones(15), np.full(10, 2)])
    model = load_graspnet6dof(weights, params=params)
    grasps = model.predict(
        GraspInput(object_points=pts, object_labels=labels, base_frame="base"), max_grasps=32
    )
    assert len(grasps) == 32 and all(g.frame_id == "base" for g in grasps)
    assert [g.quality for g in grasps] == sorted((g.quality for g in grasps), reverse=True)
    near = [[np.linalg.norm(g.position - c) < 0.5 for c in (a.mean(0), b.mean(0))] for g in grasps]
    assert all(any(n) for n in near)  # at an object, none in the middle or at the noise
    assert any(n[0] for n in near) and any(n[1] for n in near)
    with pytest.raises(InputCloudError, match="3 labels for 3000 object points"):
        model.predict(GraspInput(object_points=a, object_labels=[0, 0, 1], base_frame="b"))
    with pytest.raises(InputCloudError, match="no object with at least 20 points"):
        model.predict(GraspInput(object_points=noise, object_labels=np.arange(15), base_frame="b"))


def test_registry_and_errors(weights, tmp_path) -> None:
    assert (
        type(load_model("graspnet6dof", weights=weights, device="cpu")).__name__ == "GraspNet6Dof"
    )
    with pytest.raises(CheckpointError, match="train-6dof"):
        load_graspnet6dof(tmp_path)
    with pytest.raises(ModelError, match="object_points"):
        load_graspnet6dof(weights).predict(GraspInput())
    with pytest.raises(ModelError, match="frame of object_points is unknown"):
        load_graspnet6dof(weights).predict(GraspInput(object_points=np.zeros((30, 3))))


def test_sampler_and_evaluator_files_of_any_name_load_as_given(weights, tmp_path) -> None:
    """A sampler file stood for its folder: ``eval-6dof --sampler runs/vae.pt`` loaded
    runs/graspnet6dof_vae.pt, or failed naming it, though train-6dof wrote runs/vae.pt."""
    from pathlib import Path

    torch.manual_seed(1)
    vae, ev = GraspSamplerVAE(2), GraspEvaluator()
    save_checkpoint(tmp_path / "vae.pt", shipped_state(vae, "vae"), {"latent_size": 2})
    save_checkpoint(tmp_path / "ev.pt", shipped_state(ev, "evaluator"), {})
    model = load_graspnet6dof(tmp_path / "vae.pt", evaluator=tmp_path / "ev.pt")

    def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
        sa, sb = a.state_dict(), b.state_dict()
        return all(torch.allclose(sa[k].float(), sb[k].float(), atol=1e-3) for k in sb)

    assert same(model.evaluator, ev)
    dec = {k: v for k, v in vae.state_dict().items() if k.startswith("dec_")}
    got = model.sampler.state_dict()
    assert dec and all(torch.allclose(got[k], v, atol=1e-3) for k, v in dec.items())
    # the evaluator beside a sampler file is the folder's graspnet6dof_evaluator.pt
    with pytest.raises(CheckpointError, match=f"{tmp_path / EVALUATOR_FILE}.*give both"):
        load_graspnet6dof(tmp_path / "vae.pt")
    # a folder, or the evaluator file in it, is both of the folder's files, as before
    folder = Path(weights)
    for given in (folder, folder / EVALUATOR_FILE, folder / SAMPLER_FILE):
        assert not same(load_graspnet6dof(given).evaluator, ev)


def test_params_from_the_shipped_yaml() -> None:
    p = GraspNet6DofParams.from_yaml()
    assert p.num_samples == 200 and p.iterations == 10 and p.max_translation == 0.01
