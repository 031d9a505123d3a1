"""Differentiable pose helpers in torch: quaternions ``(w, x, y, z)`` inside the networks
(the paper's unit-quaternion output), XYZ Euler angles for refinement, and the
point-cloud-centroid frame the networks work in (axes parallel to the base frame)."""

from __future__ import annotations

import numpy as np
import torch


def quat_wxyz_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4) ``(w, x, y, z)`` (normalised here)."""
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)  # fmt: skip


def matrix_to_quat_wxyz(R: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4) ``(w, x, y, z)`` with ``w >= 0`` of rotations (..., 3, 3)."""
    m = R.reshape(-1, 3, 3)
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cand = torch.stack(
        [
            torch.stack([1 + tr, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]], -1),
            torch.stack([m[:, 2, 1] - m[:, 1, 2], 1 + 2 * m[:, 0, 0] - tr, m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0]], -1),
            torch.stack([m[:, 0, 2] - m[:, 2, 0], m[:, 0, 1] + m[:, 1, 0], 1 + 2 * m[:, 1, 1] - tr, m[:, 1, 2] + m[:, 2, 1]], -1),
            torch.stack([m[:, 1, 0] - m[:, 0, 1], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1], 1 + 2 * m[:, 2, 2] - tr], -1),
        ],
        dim=1,
    )  # fmt: skip
    diag = torch.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], -1)
    best = cand[torch.arange(m.shape[0]), diag.argmax(-1)]
    q = best / best.norm(dim=-1, keepdim=True)
    q = torch.where(q[:, :1] < 0, -q, q)
    return q.reshape(*R.shape[:-2], 4)


def euler_xyz_to_matrix(e: torch.Tensor) -> torch.Tensor:
    """R = Rz(e2) Ry(e1) Rx(e0) for Euler angles (..., 3) [rad]."""
    cx, cy, cz = torch.cos(e).unbind(-1)
    sx, sy, sz = torch.sin(e).unbind(-1)
    return torch.stack(
        [
            cy * cz, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
            cy * sz, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
            -sy, cy * sx, cy * cx,
        ],
        dim=-1,
    ).reshape(*e.shape[:-1], 3, 3)  # fmt: skip


def pose_from_rt(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """4x4 poses (B, 4, 4) from rotations (B, 3, 3) and translations (B, 3) [m]."""
    T = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    T[..., :3, :3] = R
    T[..., :3, 3] = t
    T[..., 3, 3] = 1.0
    return T


def centroid_frame(points_base: np.ndarray) -> np.ndarray:
    """T_base_centroid: origin at the mean of ``points_base`` (Nx3 [m]), base axes."""
    T = np.eye(4)
    T[:3, 3] = np.asarray(points_base, dtype=np.float64).mean(axis=0)
    return T


def yaw_rotation(angle: float) -> np.ndarray:
    """4x4 rotation about base +Z by ``angle`` [rad] (training augmentation)."""
    c, s = np.cos(angle), np.sin(angle)
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    return T
