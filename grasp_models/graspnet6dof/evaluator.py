"""The grasp evaluator (paper §3.2): P(success | g, X) from the union of the object cloud
X and the gripper point cloud X_g placed at g, with a binary membership feature
(0 object, 1 gripper), through the same PointNet++ levels as the sampler and two
1024-unit fully connected layers.

CPU design (exact for the union cloud under this grouping rule): object centroids
(FPS over the object: 128, then 32) group object points only; gripper points are
centroids at every level and group both object and gripper points within the radius.
The object half of the network is then computed once per cloud (:meth:`encode_object`)
and only the 6 gripper control points are computed per grasp, so 200 grasps x 10 refinement
steps fit on a CPU. Every grasp still sees the object through its gripper's
neighbourhoods and through the global (third) level. The first MLP layer is linear in
(neighbour - centroid, feature), so its neighbour part is computed once per cloud too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from grasp_models.graspnet6dof.control_points import control_points, transform_points_batch
from grasp_models.graspnet6dof.pointnet2 import (
    SA_CHANNELS,
    SA_NPOINT,
    SA_RADIUS,
    SetAbstraction,
    ball_query,
    he_init,
)
from grasp_models.graspnet6dof.vae import FC_UNITS


@dataclass(frozen=True, eq=False)
class ObjectContext:
    """The per-cloud half of the evaluator (tensors without a batch axis)."""

    xyz: torch.Tensor  # (N, 3) object points
    pre1: torch.Tensor  # (N, 64) level-1 first-layer point term (membership 0)
    c1: torch.Tensor  # (S1, 3) level-1 object centroids
    pre2: torch.Tensor  # (S1, 128) level-2 first-layer point term of (c1, f1)
    global3: torch.Tensor  # (512,) max over the object's level-3 point features


def _pairs(points: torch.Tensor, radius: float) -> torch.Tensor:
    """For each point, the indices of the points within ``radius``, nearest first, padded
    with the point itself (the rigid gripper: the same pairs at every pose)."""
    d = torch.cdist(points, points)
    k = int((d <= radius).sum(1).max())
    d2, order = torch.topk(d, k, dim=1, largest=False)
    return torch.where(d2 <= radius, order, order[:, :1])


class GraspEvaluator(nn.Module):
    """Scores grasps T_centroid_grasp (B, 4, 4) on one cloud; returns logits (B,)."""

    def __init__(
        self, nsample: Sequence[int] = (16, 8), gripper_points: np.ndarray | None = None
    ) -> None:
        super().__init__()
        pts = control_points() if gripper_points is None else np.asarray(gripper_points)
        self.register_buffer("gripper_points", torch.as_tensor(pts, dtype=torch.float32))
        self.sa1 = SetAbstraction(SA_NPOINT[0], SA_RADIUS[0], nsample[0], 1, SA_CHANNELS[0])
        self.sa2 = SetAbstraction(
            SA_NPOINT[1], SA_RADIUS[1], nsample[1], self.sa1.out_channels, SA_CHANNELS[1]
        )
        self.sa3 = SetAbstraction(None, math.inf, None, self.sa2.out_channels, SA_CHANNELS[2])
        self.fc = nn.Sequential(
            nn.Linear(self.sa3.out_channels, FC_UNITS),
            nn.ReLU(inplace=True),
            nn.Linear(FC_UNITS, FC_UNITS),
            nn.ReLU(inplace=True),
            nn.Linear(FC_UNITS, 1),
        )
        he_init(self)
        for level, radius in ((1, self.sa1.radius), (2, self.sa2.radius)):
            idx = _pairs(self.gripper_points, radius)
            self.register_buffer(f"_grip{level}", idx, persistent=False)

    def encode_object(self, cloud: torch.Tensor) -> ObjectContext:
        """The grasp-independent half for ``cloud`` (1, N, 3) in the centroid frame [m]."""
        zeros = cloud.new_zeros(*cloud.shape[:2], 1)
        c1, f1 = self.sa1(cloud, zeros)
        c2, f2 = self.sa2(c1, f1)
        g3 = self.sa3.mlp(torch.cat([c2 * self.sa3.xyz_scale, f2], -1)).amax(1)
        return ObjectContext(
            xyz=cloud[0],
            pre1=self.sa1.point_term(cloud[0], zeros[0]),
            c1=c1[0],
            pre2=self.sa2.point_term(c1[0], f1[0]),
            global3=g3[0],
        )

    def gripper_xyz(self, T_centroid_grasp: torch.Tensor) -> torch.Tensor:
        """Gripper points (B, G, 3) at the grasps."""
        return transform_points_batch(T_centroid_grasp, self.gripper_points)

    def forward_context(self, ctx: ObjectContext, T_centroid_grasp: torch.Tensor) -> torch.Tensor:
        """Success logits (B,) of grasps (B, 4, 4) on the cloud of ``ctx``."""
        gp = self.gripper_xyz(T_centroid_grasp)
        B, G, _ = gp.shape
        ones = gp.new_ones(1)

        # level 1: object points + gripper points (membership 1) around each gripper point
        idx = ball_query(gp, ctx.xyz, self.sa1.radius, self.sa1.nsample)
        grip_pre = self.sa1.point_term(gp, ones.expand(B, G, 1))
        pre = torch.cat([ctx.pre1[idx], grip_pre[:, self._grip1]], 2)
        h1 = self.sa1.pool_pre(pre - self.sa1.centroid_term(gp)[:, :, None])

        # level 2: object level-1 centroids + gripper level-1 points
        idx = ball_query(gp, ctx.c1, self.sa2.radius, self.sa2.nsample)
        grip_pre = self.sa2.point_term(gp, h1)
        pre = torch.cat([ctx.pre2[idx], grip_pre[:, self._grip2]], 2)
        h2 = self.sa2.pool_pre(pre - self.sa2.centroid_term(gp)[:, :, None])

        # level 3: all level-2 points (object part precomputed), then the FC head
        g3 = self.sa3.mlp(torch.cat([gp * self.sa3.xyz_scale, h2], -1)).amax(1)
        return self.fc(torch.maximum(g3, ctx.global3)).squeeze(-1)

    def forward(self, cloud: torch.Tensor, T_centroid_grasp: torch.Tensor) -> torch.Tensor:
        """Success logits (B,) of grasps (B, 4, 4) on ``cloud`` (1, N, 3)."""
        return self.forward_context(self.encode_object(cloud), T_centroid_grasp)
