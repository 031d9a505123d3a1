"""PointNet++ set abstraction, the VAE sampler and the evaluator: shapes and exactness."""

from __future__ import annotations

import math

import pytest
import torch

from grasp_models.graspnet6dof.control_points import control_points
from grasp_models.graspnet6dof.evaluator import GraspEvaluator
from grasp_models.graspnet6dof.geometry import (
    euler_xyz_to_matrix,
    matrix_to_quat_wxyz,
    pose_from_rt,
    quat_wxyz_to_matrix,
)
from grasp_models.graspnet6dof.pointnet2 import (
    PointNet2Encoder,
    SetAbstraction,
    ball_query,
    farthest_point_sample,
)
from grasp_models.graspnet6dof.vae import GraspSamplerVAE


@pytest.fixture
def cloud(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 1024, 3, generator=g) * 0.03


def random_poses(n: int, seed: int, spread: float = 0.03) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    e = (torch.rand(n, 3, generator=g) - 0.5) * 2 * math.pi
    return pose_from_rt(euler_xyz_to_matrix(e), torch.randn(n, 3, generator=g) * spread)


def test_set_abstraction_output_shapes(cloud: torch.Tensor) -> None:
    xyz = cloud.expand(2, -1, -1)
    sa1 = SetAbstraction(128, 0.02, 32, 0, (64, 64, 128))
    c1, f1 = sa1(xyz, None)
    assert c1.shape == (2, 128, 3) and f1.shape == (2, 128, 128)
    sa2 = SetAbstraction(32, 0.04, 32, 128, (128, 128, 256))
    c2, f2 = sa2(c1, f1)
    assert c2.shape == (2, 32, 3) and f2.shape == (2, 32, 256)
    sa3 = SetAbstraction(None, math.inf, None, 256, (256, 256, 512))
    c3, f3 = sa3(c2, f2)
    assert c3.shape == (2, 1, 3) and f3.shape == (2, 1, 512)
    assert PointNet2Encoder()(xyz).shape == (2, 512)


def test_fps_picks_spread_points() -> None:
    xyz = torch.tensor([[[0.0, 0, 0], [0.001, 0, 0], [1.0, 0, 0], [0.5, 0, 0]]])
    assert farthest_point_sample(xyz, 3).tolist() == [[0, 2, 3]]


def test_ball_query_keeps_nearest_inside_radius_and_pads_with_nearest() -> None:
    pts = torch.tensor([[0.0, 0, 0], [0.01, 0, 0], [0.05, 0, 0], [0.015, 0, 0]])
    idx = ball_query(torch.zeros(1, 1, 3), pts, radius=0.02, nsample=4)
    assert idx.tolist() == [[[0, 1, 3, 0]]]


def test_quaternion_round_trip(seed: int) -> None:
    T = random_poses(64, seed)
    q = matrix_to_quat_wxyz(T[:, :3, :3])
    assert torch.all(q[:, 0] >= 0)
    assert torch.allclose(quat_wxyz_to_matrix(q), T[:, :3, :3], atol=1e-5)


def test_vae_shapes_and_finite_loss(cloud: torch.Tensor, seed: int) -> None:
    torch.manual_seed(seed)
    vae = GraspSamplerVAE(latent_size=2)
    grasps = random_poses(8, seed)
    mu, logvar = vae.encode(cloud, grasps)
    assert mu.shape == (8, 2) and logvar.shape == (8, 2)
    out = vae.sample(cloud, 5)
    assert out.shape == (5, 4, 4)
    R = out[:, :3, :3]
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3).expand(5, 3, 3), atol=1e-5)
    loss, parts = vae.loss(cloud, grasps, torch.as_tensor(control_points(), dtype=torch.float32))
    assert torch.isfinite(loss) and parts["reconstruction"] > 0
    loss.backward()
    assert vae.dec_quat.weight.grad is not None


def test_evaluator_shared_object_path_equals_direct_union_grouping(
    cloud: torch.Tensor, seed: int
) -> None:
    """The per-cloud precomputation must give exactly the union-cloud grouping."""
    torch.manual_seed(seed)
    ev = GraspEvaluator(nsample=(16, 8))
    T = random_poses(5, seed)
    logits = ev(cloud, T)
    assert logits.shape == (5,)
    # direct: group with pool() on explicit union neighbourhoods
    gp = ev.gripper_xyz(T)
    B, G, _ = gp.shape
    zeros = cloud.new_zeros(1, 1024, 1)
    c1, f1 = ev.sa1(cloud, zeros)
    c2, f2 = ev.sa2(c1, f1)
    pts = cloud[0]
    idx1 = ball_query(gp, pts, 0.02, 16)
    gg1, gg2 = ev._grip1, ev._grip2
    nbr = torch.cat([pts[idx1], gp[:, gg1]], 2)
    mem = torch.cat([torch.zeros(B, G, 16, 1), torch.ones(B, G, gg1.shape[1], 1)], 2)
    h1 = ev.sa1.pool(gp, nbr, mem)
    idx2 = ball_query(gp, c1[0], 0.04, 8)
    nbr = torch.cat([c1[0][idx2], gp[:, gg2]], 2)
    feat = torch.cat([f1[0][idx2], h1[:, gg2]], 2)
    h2 = ev.sa2.pool(gp, nbr, feat)
    allxyz = torch.cat([c2.expand(B, -1, -1), gp], 1)
    allfeat = torch.cat([f2.expand(B, -1, -1), h2], 1)
    g3 = ev.sa3.pool(torch.zeros(B, 3), allxyz, allfeat)
    direct = ev.fc(g3).squeeze(-1)
    assert torch.allclose(logits, direct, atol=1e-5)


def test_evaluator_score_depends_on_grasp_pose(cloud: torch.Tensor, seed: int) -> None:
    torch.manual_seed(seed)
    ev = GraspEvaluator()
    T = random_poses(4, seed)
    far = T.clone()
    far[:, :3, 3] += 0.2
    assert not torch.allclose(ev(cloud, T), ev(cloud, far))
