"""PointNet++ set abstraction in pure PyTorch (no compiled extensions; CPU or GPU).

Farthest point sampling and ball query are vectorised torch ops: FPS loops over the
sampled points (not over the cloud), ball query takes the ``nsample`` nearest points
inside the radius with one ``topk`` over squared distances. Shapes use B batch, N points,
S centroids, K neighbours, C channels. Coordinates in metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

#: Paper settings (Mousavian et al. 2019, "Network Architecture Details").
SA_NPOINT = (128, 32, None)
SA_RADIUS = (0.02, 0.04, math.inf)
SA_CHANNELS = ((64, 64, 128), (128, 128, 256), (256, 256, 512))
#: Scale of coordinates at the global level [1/m].
GLOBAL_XYZ_SCALE = 10.0


def farthest_point_sample(xyz: torch.Tensor, npoint: int) -> torch.Tensor:
    """Indices (B, npoint) of ``npoint`` farthest points of ``xyz`` (B, N, 3).

    Starts from point 0 of each cloud (shuffle the cloud for a random start). When
    ``npoint >= N`` every index is returned once, then the first ones repeat.
    """
    B, N, _ = xyz.shape
    if npoint >= N:
        return torch.arange(npoint, device=xyz.device).remainder(N).expand(B, npoint)
    idx = torch.zeros(B, npoint, dtype=torch.long, device=xyz.device)
    dist = torch.full((B, N), math.inf, device=xyz.device, dtype=xyz.dtype)
    farthest = torch.zeros(B, dtype=torch.long, device=xyz.device)
    batch = torch.arange(B, device=xyz.device)
    with torch.no_grad():
        for i in range(npoint):
            idx[:, i] = farthest
            centre = xyz[batch, farthest].unsqueeze(1)
            dist = torch.minimum(dist, ((xyz - centre) ** 2).sum(-1))
            farthest = dist.argmax(-1)
    return idx


def ball_query(
    centroids: torch.Tensor, points: torch.Tensor, radius: float, nsample: int
) -> torch.Tensor:
    """Indices (..., S, K) of the ``nsample`` nearest ``points`` within ``radius``.

    ``centroids`` (..., S, 3); ``points`` (B, N, 3) with a matching batch axis, or (N, 3)
    shared by every centroid. K = min(nsample, N). Slots beyond the points inside the
    ball repeat the nearest point (as in PointNet++), so a max over K needs no mask; a
    centroid with no point inside gets its nearest point in every slot.
    """
    k = min(nsample, points.shape[-2])
    with torch.no_grad():
        if points.dim() == 2:
            flat = centroids.reshape(-1, 3)
            d2 = torch.cdist(flat, points).square_().reshape(*centroids.shape[:-1], -1)
        else:
            d2 = torch.cdist(centroids, points).square_()
        r2 = radius * radius
        d2min, nearest = d2.min(dim=-1, keepdim=True)
        some = d2min[..., 0] <= r2
        if bool(some.all()):
            return _nearest_in_ball(d2, k, r2)
        # centroids without a point in the ball (most gripper points at 2 cm) get their
        # nearest point K times without a top-k over all points
        idx = nearest.expand(*d2.shape[:-1], k).clone()
        idx[some] = _nearest_in_ball(d2[some], k, r2)
    return idx


def _nearest_in_ball(d2: torch.Tensor, k: int, r2: float) -> torch.Tensor:
    """The ``k`` smallest of squared distances ``d2`` (..., N) within ``r2``, padded."""
    d2k, idx = torch.topk(d2, k, dim=-1, largest=False, sorted=True)
    return torch.where(d2k <= r2, idx, idx[..., :1])


def gather(values: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``values`` (B, N, C) at ``idx`` (B, S, K) -> (B, S, K, C)."""
    B, S, K = idx.shape
    flat = idx.reshape(B, S * K, 1).expand(-1, -1, values.shape[-1])
    return torch.gather(values, 1, flat).reshape(B, S, K, values.shape[-1])


def he_init(module: nn.Module) -> nn.Module:
    """He (Kaiming, fan-in, ReLU) weights and zero biases for every Linear layer: without
    batch norm, PyTorch's default init shrinks activations layer by layer and the deep
    PointNet++ + FC stack starts out nearly constant."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return module


class SharedMLP(nn.Sequential):
    """Point-wise fully connected layers with ReLU after each (last dim = channels)."""

    def __init__(self, in_channels: int, channels: Sequence[int]) -> None:
        layers: list[nn.Module] = []
        for c in channels:
            layers += [nn.Linear(in_channels, c), nn.ReLU(inplace=True)]
            in_channels = c
        super().__init__(*layers)
        self.out_channels = in_channels


class SetAbstraction(nn.Module):
    """One PointNet++ set abstraction level: sample, group, point-wise MLP, max-pool.

    ``npoint=None`` groups all points around the origin (the last, global level).
    ``in_features`` is the per-point feature size (without the 3 coordinates).
    """

    def __init__(
        self,
        npoint: int | None,
        radius: float,
        nsample: int | None,
        in_features: int,
        channels: Sequence[int],
    ) -> None:
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        self.in_features = in_features
        self.mlp = SharedMLP(3 + in_features, channels)
        self.out_channels = self.mlp.out_channels
        #: Relative coordinates enter the MLP in units of the radius (global level: 10 cm),
        #: so metre-scale inputs do not vanish next to the features (no batch norm here).
        self.xyz_scale = 1.0 / radius if math.isfinite(radius) else GLOBAL_XYZ_SCALE

    def point_term(self, xyz: torch.Tensor, feat: torch.Tensor | None) -> torch.Tensor:
        """First layer's per-point part ``W_xyz p + W_feat f + b`` (..., C1).

        The first layer is linear in (p - c, f), so ``point_term(p, f) - centroid_term(c)``
        equals it; computing the point part once per cloud saves work when many
        centroids (grasps) share the same points.
        """
        lin: nn.Linear = self.mlp[0]
        out = (xyz * self.xyz_scale) @ lin.weight[:, :3].T + lin.bias
        if feat is not None:
            out = out + feat @ lin.weight[:, 3:].T
        return out

    def centroid_term(self, centroids: torch.Tensor) -> torch.Tensor:
        """First layer's centroid part ``W_xyz c`` (..., C1)."""
        return (centroids * self.xyz_scale) @ self.mlp[0].weight[:, :3].T

    def pool_pre(self, pre: torch.Tensor) -> torch.Tensor:
        """Rest of the MLP on first-layer pre-activations (..., K, C1), max -> (..., C)."""
        h = pre
        for layer in list(self.mlp)[1:]:
            h = layer(h)
        return h.max(dim=-2).values

    def pool(
        self,
        centroids: torch.Tensor,
        nbr_xyz: torch.Tensor,
        nbr_feat: torch.Tensor | None,
    ) -> torch.Tensor:
        """MLP on (neighbour - centroid, neighbour feature), max over neighbours.

        ``centroids`` (..., 3), ``nbr_xyz`` (..., K, 3), ``nbr_feat`` (..., K, C) or None
        -> (..., C_out).
        """
        x = (nbr_xyz - centroids.unsqueeze(-2)) * self.xyz_scale
        if nbr_feat is not None:
            x = torch.cat([x, nbr_feat], dim=-1)
        return self.mlp(x).max(dim=-2).values

    def forward(
        self, xyz: torch.Tensor, feat: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``xyz`` (B, N, 3), ``feat`` (B, N, C) or None -> centroids (B, S, 3), (B, S, C_out)."""
        if self.npoint is None:
            centroids = xyz.new_zeros(xyz.shape[0], 1, 3)
            return centroids, self.pool(centroids, xyz.unsqueeze(1), _unsq(feat))
        cidx = farthest_point_sample(xyz, self.npoint)
        centroids = torch.gather(xyz, 1, cidx.unsqueeze(-1).expand(-1, -1, 3))
        idx = ball_query(centroids, xyz, self.radius, self.nsample or xyz.shape[1])
        nbr_feat = None if feat is None else gather(feat, idx)
        return centroids, self.pool(centroids, gather(xyz, idx), nbr_feat)


def _unsq(feat: torch.Tensor | None) -> torch.Tensor | None:
    return None if feat is None else feat.unsqueeze(1)


class PointNet2Encoder(nn.Module):
    """Three set abstraction levels (128, 32, all points; 2 cm, 4 cm, ∞) -> (B, 512)."""

    def __init__(self, in_features: int = 0, nsample: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        self.sa1 = SetAbstraction(
            SA_NPOINT[0], SA_RADIUS[0], nsample[0], in_features, SA_CHANNELS[0]
        )
        self.sa2 = SetAbstraction(
            SA_NPOINT[1], SA_RADIUS[1], nsample[1], self.sa1.out_channels, SA_CHANNELS[1]
        )
        self.sa3 = SetAbstraction(None, SA_RADIUS[2], None, self.sa2.out_channels, SA_CHANNELS[2])
        self.out_channels = self.sa3.out_channels

    def forward(self, xyz: torch.Tensor, feat: torch.Tensor | None = None) -> torch.Tensor:
        c1, f1 = self.sa1(xyz, feat)
        c2, f2 = self.sa2(c1, f1)
        _, f3 = self.sa3(c2, f2)
        return f3[:, 0]
