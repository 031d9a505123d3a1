"""VQ-VAE (van den Oord et al. 2017) and the semi-supervised VQ-VAE GG-CNN (Mahajan et al.).

The VQ-VAE is trained on every image (labelled or not) with the loss of the paper's
eq. (4): reconstruction + ||sg[z_e] - e||² (dictionary) + β ||z_e - sg[e]||² (commitment),
with straight-through gradients through the nearest-neighbour quantiser. The grasp model
then freezes the encoder and quantiser, starts its decoder from the VQ-VAE decoder and
cascades a GG-CNN on the decoder output, trained on the labelled images only.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from grasp_models.planar.networks import GGCNN


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Encoder(nn.Module):
    """Two stride-2 4x4 convolutions, a 3x3 convolution, residual blocks, 1x1 to ``D``."""

    def __init__(
        self, in_channels: int, hidden: int, res_hidden: int, n_res: int, dim: int
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden // 2, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden // 2, hidden, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            *[ResidualBlock(hidden, res_hidden) for _ in range(n_res)],
            nn.ReLU(),
            nn.Conv2d(hidden, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """Mirror of the encoder: 3x3 convolution, residual blocks, two stride-2 4x4 transposed
    convolutions back to the input resolution with ``out_channels`` channels."""

    def __init__(
        self, dim: int, hidden: int, res_hidden: int, n_res: int, out_channels: int
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(dim, hidden, 3, padding=1),
            *[ResidualBlock(hidden, res_hidden) for _ in range(n_res)],
            nn.ReLU(),
            nn.ConvTranspose2d(hidden, hidden // 2, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(hidden // 2, out_channels, 4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        y = self.net(z)
        if tuple(y.shape[-2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y


class VectorQuantizer(nn.Module):
    """Codebook of ``K`` embeddings of dimension ``D``; nearest-neighbour lookup with the
    dictionary and commitment losses and a straight-through gradient."""

    def __init__(
        self, num_embeddings: int, dim: int, beta: float = 0.25, restart_after: int = 20
    ) -> None:
        super().__init__()
        self.K, self.D, self.beta = num_embeddings, dim, beta
        self.restart_after = restart_after
        self.embedding = nn.Embedding(num_embeddings, dim)
        self.embedding.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)
        self.register_buffer(
            "idle", torch.zeros(num_embeddings, dtype=torch.long), persistent=False
        )

    @torch.no_grad()
    def _restart_dead_codes(self, z_e: torch.Tensor, idx: torch.Tensor) -> None:
        """Codes unused for ``restart_after`` training batches jump to random encoder
        outputs of the current batch (random restarts against codebook collapse)."""
        used = torch.zeros(self.K, dtype=torch.bool, device=idx.device)
        used[idx.unique()] = True
        self.idle = torch.where(used, torch.zeros_like(self.idle), self.idle + 1)
        dead = (self.idle >= self.restart_after).nonzero().flatten()
        if len(dead):
            flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.D)
            pick = torch.randint(0, len(flat), (len(dead),), device=flat.device)
            self.embedding.weight.data[dead] = flat[pick]
            self.idle[dead] = 0

    def codes(self, z_e: torch.Tensor) -> torch.Tensor:
        """BxHxW indices of the nearest embeddings to BxDxHxW encoder outputs."""
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.D)
        e = self.embedding.weight
        d2 = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
        return d2.argmin(1).view(z_e.shape[0], *z_e.shape[2:])

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z_q with straight-through gradient, dictionary + β commitment loss, codes)``."""
        idx = self.codes(z_e)
        if self.training and self.restart_after > 0:
            self._restart_dead_codes(z_e.detach(), idx)
        z_q = self.embedding(idx).permute(0, 3, 1, 2)
        dictionary = F.mse_loss(z_q, z_e.detach())
        commitment = F.mse_loss(z_e, z_q.detach())
        z_st = z_e + (z_q - z_e).detach()
        return z_st, dictionary + self.beta * commitment, idx


def scale_input(
    x: torch.Tensor, input_scale: float, rgb_scale: float, inverse: bool = False
) -> torch.Tensor:
    """The VQ-VAE's view of a network input: depth (channel 0) times ``input_scale``, the
    colour channels (RGB-D input) times ``rgb_scale``; ``inverse`` divides instead (a
    reconstruction back in network-input units)."""
    op = torch.div if inverse else torch.mul
    if x.shape[1] == 1:
        return op(x, input_scale)
    return torch.cat([op(x[:, :1], input_scale), op(x[:, 1:], rgb_scale)], dim=1)


class VQVAE(nn.Module):
    """Encoder -> quantiser -> decoder reconstructing the (normalised) input, its depth
    scaled by ``input_scale`` (depth deviations of a few cm would otherwise sit far below
    the codebook's scale and collapse it onto a handful of codes). Colour (RGB-D input,
    already ±0.5) is scaled by ``rgb_scale``, 1 by default: scaled like the depth it has
    23-30x its variance on table-top crops and the reconstruction loss keeps colour only
    (docs/BENCHMARKS.md, "RGB-D input"). Cards written before ``rgb_scale`` existed
    scaled every channel by ``input_scale``; :meth:`from_config` keeps that for them."""

    def __init__(
        self,
        in_channels: int = 1,
        hidden: int = 32,
        res_hidden: int = 16,
        n_res: int = 1,
        num_embeddings: int = 128,
        dim: int = 16,
        beta: float = 0.25,
        input_scale: float = 10.0,
        rgb_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.input_scale = input_scale
        self.rgb_scale = rgb_scale
        self.config = {
            "in_channels": in_channels,
            "hidden": hidden,
            "res_hidden": res_hidden,
            "n_res": n_res,
            "num_embeddings": num_embeddings,
            "dim": dim,
            "beta": beta,
            "input_scale": input_scale,
            "rgb_scale": rgb_scale,
        }
        self.encoder = Encoder(in_channels, hidden, res_hidden, n_res, dim)
        self.quantizer = VectorQuantizer(num_embeddings, dim, beta)
        self.decoder = Decoder(dim, hidden, res_hidden, n_res, in_channels)

    @classmethod
    def from_config(cls, config: dict) -> VQVAE:
        """The VQ-VAE a card's ``vq_config`` describes (older cards: every channel scaled
        by ``input_scale``)."""
        config = dict(config)
        config.setdefault("rgb_scale", config.get("input_scale", 10.0))
        return cls(**config)

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        return scale_input(x, self.input_scale, self.rgb_scale)

    def unscaled(self, recon: torch.Tensor) -> torch.Tensor:
        """A reconstruction in the units of the network input (undoes :meth:`scaled`)."""
        return scale_input(recon, self.input_scale, self.rgb_scale, inverse=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, vq loss, codes)``."""
        z_q, vq_loss, idx = self.quantizer(self.encoder(self.scaled(x)))
        return self.decoder(z_q, x.shape[-2:]), vq_loss, idx

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Eq. (4): Gaussian log-likelihood as MSE + dictionary + β commitment."""
        recon, vq_loss, idx = self(x)
        rec = F.mse_loss(recon, self.scaled(x))  # reconstructs the scaled input
        used = torch.unique(idx).numel()
        return rec + vq_loss, {
            "recon": float(rec.detach()),
            "vq": float(vq_loss.detach()),
            "codes_used": used,
        }


class VQVAEGGCNN(nn.Module):
    """Frozen VQ-VAE encoder + quantiser, a trainable decoder (initialised from the VQ-VAE
    decoder) and a GG-CNN cascaded on the decoder output."""

    def __init__(
        self,
        vqvae: VQVAE,
        ggcnn_filters: tuple[int, ...] = (32, 16, 8),
        train_decoder: bool = True,
    ) -> None:
        super().__init__()
        cfg = vqvae.config
        self.vq_config = dict(cfg)
        self.input_scale = float(cfg["input_scale"])  # VQVAE.config always has both
        self.rgb_scale = float(cfg["rgb_scale"])
        self.encoder = copy.deepcopy(vqvae.encoder)
        self.quantizer = copy.deepcopy(vqvae.quantizer)
        self.decoder = copy.deepcopy(vqvae.decoder)
        self.train_decoder = train_decoder  # False: an ablation, the paper trains it
        frozen = [*self.encoder.parameters(), *self.quantizer.parameters()]
        if not train_decoder:
            frozen += list(self.decoder.parameters())
        for p in frozen:
            p.requires_grad_(False)
        self.ggcnn = GGCNN(in_channels=cfg["in_channels"], filters=ggcnn_filters)

    @classmethod
    def from_config(cls, vq_config: dict, ggcnn_filters: tuple[int, ...] = (32, 16, 8)):
        return cls(VQVAE.from_config(vq_config), ggcnn_filters)

    def train(self, mode: bool = True) -> VQVAEGGCNN:
        super().train(mode)
        self.encoder.eval()  # frozen parts stay in eval mode
        self.quantizer.eval()
        if not self.train_decoder:
            self.decoder.eval()
        return self

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """Quantised latent z_q(x) of the frozen encoder."""
        with torch.no_grad():
            idx = self.quantizer.codes(
                self.encoder(scale_input(x, self.input_scale, self.rgb_scale))
            )
            return self.quantizer.embedding(idx).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ggcnn(self.decoder(self.latent(x), x.shape[-2:]))
