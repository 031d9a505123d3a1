"""Control points and the symmetric control-point loss."""

from __future__ import annotations

import math

import numpy as np
import torch

from grasp_core.gripper import load_gripper
from grasp_models.graspnet6dof.control_points import (
    control_point_loss,
    control_points,
    transform_points_batch,
)
from grasp_models.graspnet6dof.geometry import euler_xyz_to_matrix, pose_from_rt


def _poses(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    e = (torch.rand(n, 3, generator=g) - 0.5) * 2 * math.pi
    return pose_from_rt(euler_xyz_to_matrix(e), torch.randn(n, 3, generator=g) * 0.05).double()


def test_control_points_sit_on_the_panda_fingers() -> None:
    spec = load_gripper("panda_hand")
    pts = control_points(spec)
    assert pts.shape == (6, 3)
    np.testing.assert_allclose(pts[4], [spec.max_width / 2, 0, 0])  # fingertip at TCP height
    np.testing.assert_allclose(pts[3], [-spec.max_width / 2, 0, -spec.finger_length])


def test_loss_is_zero_for_identical_grasps_and_the_180_degree_twin(seed: int) -> None:
    p = torch.as_tensor(control_points(), dtype=torch.float64)
    T = _poses(16, seed)
    flip = torch.eye(4, dtype=torch.float64)
    flip[:2, :2] = torch.tensor([[-1.0, 0.0], [0.0, -1.0]])  # 180° about +Z (approach)
    twin = T @ flip
    a = transform_points_batch(T, p)
    assert torch.allclose(control_point_loss(a, a), torch.zeros(16, dtype=torch.float64))
    b = transform_points_batch(twin, p)
    assert not torch.allclose(a, b)  # the points did move...
    assert torch.allclose(
        control_point_loss(a, b), torch.zeros(16, dtype=torch.float64), atol=1e-12
    )


def test_loss_grows_with_translation_error(seed: int) -> None:
    p = torch.as_tensor(control_points(), dtype=torch.float64)
    T = _poses(4, seed)
    moved = T.clone()
    moved[:, 0, 3] += 0.01
    loss = control_point_loss(transform_points_batch(T, p), transform_points_batch(moved, p))
    # every point moves 1 cm along base x: L1 per point = 0.01
    assert torch.allclose(loss, torch.full((4,), 0.01, dtype=torch.float64))
    turned = (
        T
        @ pose_from_rt(
            euler_xyz_to_matrix(torch.tensor([[0.0, 0.0, 0.5]])), torch.zeros(1, 3)
        ).double()
    )
    assert torch.all(
        control_point_loss(transform_points_batch(T, p), transform_points_batch(turned, p)) > 1e-3
    )
