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

Two paths compute the same function: :meth:`GraspEvaluator.forward_context` (training and
the reference, plain modules and autograd, bf16 by autocast) and
:meth:`GraspEvaluator.forward_fast` (inference: weights cast once per cloud by
:meth:`GraspEvaluator.fast_context`, an ``amax`` max-pool, gripper points without object
neighbours pooled over one row); tests check they agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.functional import linear

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


_BITS = {2: torch.int16, 4: torch.int32, 8: torch.int64}


class _MaxPool(torch.autograd.Function):
    """Max over dim -2 (neighbours) with the gradient split among tied maxima.

    Same values and, for the duplicated padding neighbours of :func:`ball_query`, the
    same summed gradient as ``max(dim=-2)``; the forward is an ``amax`` (on this CPU
    12-24x faster than ``max`` with indices) and the backward one mask.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor) -> torch.Tensor:
        out = h.amax(-2)
        ctx.save_for_backward(h, out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        h, out = ctx.saved_tensors
        # bitwise equality (= value equality for the non-negative, finite ReLU outputs)
        # is ~2x faster than a float compare here; the mask is summed in float32
        bits = _BITS[h.element_size()]
        mask = (h.view(bits) == out.view(bits).unsqueeze(-2)).to(
            torch.promote_types(h.dtype, torch.float32)
        )
        mask.mul_((grad.to(mask.dtype) / mask.sum(-2)).unsqueeze(-2))
        return mask.to(grad.dtype)


def max_pool(h: torch.Tensor) -> torch.Tensor:
    """``h`` (..., K, C) -> (..., C), max over K (see :class:`_MaxPool`)."""
    return _MaxPool.apply(h)


@dataclass(frozen=True, eq=False)
class FastContext:
    """An :class:`ObjectContext` plus the evaluator's weights cast once to ``dtype`` for
    :meth:`GraspEvaluator.forward_fast` (inference only: weights are detached copies)."""

    ctx: ObjectContext
    dtype: torch.dtype
    w: dict[str, torch.Tensor]  # first-layer parts (model dtype; level-2 feature part in dtype)
    rest: dict[str, list[tuple[torch.Tensor, torch.Tensor]]]  # (weight, bias) in dtype
    global3: torch.Tensor  # (512,) in dtype


def _layers(seq: list[nn.Module], dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [
        (m.weight.detach().to(dtype), m.bias.detach().to(dtype))
        for m in seq
        if isinstance(m, nn.Linear)
    ]


def _mlp(h: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """ReLU after each layer of ``layers`` on ``h`` (relu of the input is not taken)."""
    for w, b in layers:
        h = torch.relu(linear(h, w, b))
    return h


def _pool_object(
    obj_pre: torch.Tensor,
    idx: torch.Tensor,
    cen: torch.Tensor,
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    dtype: torch.dtype,
) -> torch.Tensor:
    """Object half of one gripper-centred level: first-layer pre-activations of the object
    neighbours ``obj_pre[idx]`` (idx (B, G, K)) minus the centroid term ``cen`` (B, G, C1),
    through the rest of the MLP, max over the neighbours -> (B, G, C).

    A centroid with no object point inside the radius has K copies of its nearest point
    (ball query padding): its max equals the max over one copy, so those centroids (most
    of the gripper points at 2 cm) are pooled over one row instead of K.
    """
    B, G, K = idx.shape
    idx, cen = idx.reshape(B * G, K), cen.reshape(B * G, -1)
    empty = (idx == idx[:, :1]).all(-1)
    parts, order = [], []
    for sel, k in ((~empty, K), (empty, 1)):
        ids = sel.nonzero().squeeze(-1)
        if len(ids) == 0:
            continue
        pre = obj_pre[idx[ids, :k]] - cen[ids].unsqueeze(1)
        parts.append(max_pool(_mlp(torch.relu(pre).to(dtype), layers)))
        order.append(ids)
    inverse = torch.argsort(torch.cat(order))
    return torch.cat(parts)[inverse].reshape(B, G, -1)


def _unique_pairs(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded neighbour lists ``idx`` (G, K) -> the distinct (centre, neighbour) pairs
    (P,), (P,) and, per list slot, the pair it holds (G, K)."""
    centre, nbr, slot = [], [], []
    for i, row in enumerate(idx.tolist()):
        seen: dict[int, int] = {}
        for j in row:
            if j not in seen:
                seen[j] = len(centre)
                centre.append(i)
                nbr.append(j)
        slot.append([seen[j] for j in row])
    return torch.tensor(centre), torch.tensor(nbr), torch.tensor(slot)


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
            centre, nbr, slot = _unique_pairs(idx)
            self.register_buffer(f"_pair{level}_centre", centre, persistent=False)
            self.register_buffer(f"_pair{level}_nbr", nbr, persistent=False)
            self.register_buffer(f"_pair{level}_slot", slot, persistent=False)

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

    def fast_context(self, ctx: ObjectContext, dtype: torch.dtype | None = None) -> FastContext:
        """``ctx`` with the weights cast once for :meth:`forward_fast` (``dtype`` of the
        layers after each first layer; default: the model's own). Inference only."""
        own = self.fc[0].weight.dtype
        dtype = dtype or own
        w = {}
        with torch.no_grad():
            for level, sa in ((1, self.sa1), (2, self.sa2)):
                lin: nn.Linear = sa.mlp[0]
                w[f"xyz{level}"] = (lin.weight[:, :3] * sa.xyz_scale).T.contiguous()
            # level 1: gripper points carry membership 1 -> W_member + b
            w["grip1"] = self.sa1.mlp[0].weight[:, 3] + self.sa1.mlp[0].bias
            w["feat2"] = self.sa2.mlp[0].weight[:, 3:].to(dtype)
            w["bias2"] = self.sa2.mlp[0].bias.clone()
            rest = {
                "sa1": _layers(list(self.sa1.mlp)[1:], dtype),
                "sa2": _layers(list(self.sa2.mlp)[1:], dtype),
                "sa3": _layers(list(self.sa3.mlp), dtype),
                "fc": _layers(list(self.fc), dtype),
            }
            return FastContext(ctx, dtype, w, rest, ctx.global3.detach().to(dtype))

    def _pool_gripper(
        self,
        level: int,
        grip: torch.Tensor,
        cen: torch.Tensor,
        layers: list[tuple[torch.Tensor, torch.Tensor]],
        dtype: torch.dtype,
    ) -> torch.Tensor:
        """Max over each gripper point's gripper neighbours (B, G, C): the MLP runs once
        per distinct (centre, neighbour) pair, not on the padded copies."""
        centre = getattr(self, f"_pair{level}_centre")
        nbr = getattr(self, f"_pair{level}_nbr")
        slot = getattr(self, f"_pair{level}_slot")
        h = _mlp(torch.relu(grip[:, nbr] - cen[:, centre]).to(dtype), layers)
        return max_pool(h[:, slot])

    def forward_fast(self, fc: FastContext, T_centroid_grasp: torch.Tensor) -> torch.Tensor:
        """:meth:`forward_context` for inference: the same computation with weights cast
        once per cloud (no autocast casts per call), an ``amax`` max-pool and the first
        layers' gripper terms in closed form. Differentiable w.r.t. the poses only;
        logits (B,) in the poses' dtype."""
        ctx, w, rest, dt = fc.ctx, fc.w, fc.rest, fc.dtype
        gp = self.gripper_xyz(T_centroid_grasp)

        # level 1: object points (precomputed first layer) + gripper points (membership 1)
        idx = ball_query(gp, ctx.xyz, self.sa1.radius, self.sa1.nsample)
        cen = gp @ w["xyz1"]
        grip = cen + w["grip1"]
        h1 = torch.maximum(
            _pool_object(ctx.pre1, idx, cen, rest["sa1"], dt),
            self._pool_gripper(1, grip, cen, rest["sa1"], dt),
        )

        # level 2: object level-1 centroids + gripper level-1 points
        idx = ball_query(gp, ctx.c1, self.sa2.radius, self.sa2.nsample)
        cen = gp @ w["xyz2"]
        grip = cen + linear(h1, w["feat2"]).to(cen.dtype) + w["bias2"]
        h2 = torch.maximum(
            _pool_object(ctx.pre2, idx, cen, rest["sa2"], dt),
            self._pool_gripper(2, grip, cen, rest["sa2"], dt),
        )

        # level 3 (object part precomputed) and the FC head
        x = torch.cat([(gp * self.sa3.xyz_scale).to(dt), h2], -1)
        g = torch.maximum(max_pool(_mlp(x, rest["sa3"])), fc.global3)
        w_out, b_out = rest["fc"][-1]
        out = linear(_mlp(g, rest["fc"][:-1]), w_out, b_out)
        return out.squeeze(-1).to(T_centroid_grasp.dtype)

    def forward(self, cloud: torch.Tensor, T_centroid_grasp: torch.Tensor) -> torch.Tensor:
        """Success logits (B,) of grasps (B, 4, 4) on ``cloud`` (1, N, 3)."""
        return self.forward_context(self.encode_object(cloud), T_centroid_grasp)
