"""The variational grasp sampler (paper §3.1): encoder Q(z | X, g), decoder P(g | X, z).

Both are PointNet++ (three set abstraction levels) followed by two 1024-unit fully
connected layers. The decoder outputs a unit quaternion (L2-normalised linear layer) and a
translation [m] of T_centroid_grasp, in the point-cloud-centroid frame (base axes).

CPU deviation from the paper: the grasp g (encoder) and the latent z (decoder) are
concatenated to the global point-cloud feature before the fully connected layers instead
of to every input point. The cloud is then encoded once for all grasps / latent samples,
which makes 200 samples cost one PointNet++ pass instead of 200.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from grasp_models.graspnet6dof.control_points import control_point_loss, transform_points_batch
from grasp_models.graspnet6dof.geometry import (
    matrix_to_quat_wxyz,
    pose_from_rt,
    quat_wxyz_to_matrix,
)
from grasp_models.graspnet6dof.pointnet2 import PointNet2Encoder, he_init

FC_UNITS = 1024
#: Translations enter / leave the FC layers in decimetres (inputs of order 1).
TRANSLATION_SCALE = 10.0
#: Paper: KL weight alpha in Eq. (2).
KL_WEIGHT = 0.01


def _head(in_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, FC_UNITS),
        nn.ReLU(inplace=True),
        nn.Linear(FC_UNITS, FC_UNITS),
        nn.ReLU(inplace=True),
    )


def grasp_vector(T_centroid_grasp: torch.Tensor) -> torch.Tensor:
    """(B, 7) = quaternion (w, x, y, z) with w >= 0 and translation [dm] of poses (B, 4, 4)."""
    return torch.cat(
        [matrix_to_quat_wxyz(T_centroid_grasp[:, :3, :3]), T_centroid_grasp[:, :3, 3]], -1
    )


class GraspSamplerVAE(nn.Module):
    """Encoder + decoder; ``latent_size`` 2 in the paper."""

    def __init__(self, latent_size: int = 2, nsample: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        self.latent_size = latent_size
        self.enc_points = PointNet2Encoder(0, nsample)
        self.dec_points = PointNet2Encoder(0, nsample)
        c = self.enc_points.out_channels
        self.enc_fc = _head(c + 7)
        self.enc_mu = nn.Linear(FC_UNITS, latent_size)
        self.enc_logvar = nn.Linear(FC_UNITS, latent_size)
        self.dec_fc = _head(c + latent_size)
        self.dec_quat = nn.Linear(FC_UNITS, 4)
        self.dec_trans = nn.Linear(FC_UNITS, 3)
        he_init(self)

    def encode(
        self, cloud: torch.Tensor, T_centroid_grasp: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``cloud`` (1, N, 3) and grasps (B, 4, 4) -> mu, logvar (B, latent)."""
        feat = self.enc_points(cloud).expand(T_centroid_grasp.shape[0], -1)
        h = self.enc_fc(torch.cat([feat, grasp_vector(T_centroid_grasp)], -1))
        return self.enc_mu(h), self.enc_logvar(h)

    def cloud_feature(self, cloud: torch.Tensor) -> torch.Tensor:
        """Decoder's global feature (1, 512) of ``cloud`` (1, N, 3) (reuse for many z)."""
        return self.dec_points(cloud)

    def decode_feature(self, feat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Grasps T_centroid_grasp (B, 4, 4) for latent ``z`` (B, latent) and ``feat`` (1, C)."""
        h = self.dec_fc(torch.cat([feat.expand(z.shape[0], -1), z], -1))
        return pose_from_rt(
            quat_wxyz_to_matrix(self.dec_quat(h)), self.dec_trans(h) / TRANSLATION_SCALE
        )

    def decode(self, cloud: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.decode_feature(self.cloud_feature(cloud), z)

    @torch.no_grad()
    def sample(
        self, cloud: torch.Tensor, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` grasps (n, 4, 4) from z ~ N(0, I)."""
        z = torch.randn(n, self.latent_size, generator=generator, device=cloud.device)
        return self.decode(cloud, z)

    def loss(
        self, cloud: torch.Tensor, T_centroid_grasp: torch.Tensor, control_pts: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Eq. (2): control-point reconstruction + ``KL_WEIGHT`` x KL(Q || N(0, I))."""
        mu, logvar = self.encode(cloud, T_centroid_grasp)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        pred = self.decode(cloud, z)
        rec = control_point_loss(
            transform_points_batch(pred, control_pts),
            transform_points_batch(T_centroid_grasp, control_pts),
        ).mean()
        kl = (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(-1)).mean()
        total = rec + KL_WEIGHT * kl
        parts = {"reconstruction": rec.item(), "kl": kl.item(), "loss": total.item()}
        return total, parts
