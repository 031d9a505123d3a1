"""GG-CNN and GG-CNN2 (Morrison, Corke, Leitner 2018/2020): pixel-wise grasp maps.

Both map a CxHxW input (normalised depth, optionally + RGB) to four HxW maps: grasp
quality (sigmoid-free, trained towards [0,1]), cos2θ, sin2θ and width/``WIDTH_SCALE``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from grasp_core.validation import require_choice


class GraspHeads(nn.Module):
    """Four per-pixel outputs stacked as Bx4xHxW (quality, cos2θ, sin2θ, width)."""

    def __init__(self, channels: int, kernel: int = 1) -> None:
        super().__init__()
        self.out = nn.Conv2d(channels, 4, kernel_size=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x)


class GGCNN(nn.Module):
    """GG-CNN: 3 strided convolutions (9/5/3 px, stride 3/2/2) and 3 transposed ones back.

    A 300x300 input gives 300x300 maps (the last transposed conv gives 301 px and the
    2x2 heads bring it back, as in the original).
    """

    def __init__(self, in_channels: int = 1, filters: tuple[int, ...] = (32, 16, 8)) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.in_channels = in_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, f1, 9, stride=3, padding=3),
            nn.ReLU(inplace=True),
            nn.Conv2d(f1, f2, 5, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(f2, f3, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(f3, f3, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(f3, f2, 5, stride=2, padding=2, output_padding=1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(f2, f1, 9, stride=3, padding=3, output_padding=1),
            nn.ReLU(inplace=True),
        )
        self.heads = GraspHeads(f1, kernel=2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                nn.init.xavier_uniform_(m.weight, gain=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        y = self.heads(self.decoder(self.encoder(x)))
        if y.shape[-2:] != size:  # inputs whose size is not a multiple of 12
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y


class GGCNN2(nn.Module):
    """GG-CNN2: two conv+pool stages, two dilated convolutions (dilation 2 and 4), and
    bilinear upsampling back to the input size."""

    def __init__(self, in_channels: int = 1, filters: tuple[int, ...] = (16, 16, 32, 16)) -> None:
        super().__init__()
        f1, f2, f3, f4 = filters
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, f1, 11, padding=5),
            nn.ReLU(inplace=True),
            nn.Conv2d(f1, f1, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(f1, f2, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(f2, f2, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(f2, f3, 5, dilation=2, padding=4),
            nn.ReLU(inplace=True),
            nn.Conv2d(f3, f3, 5, dilation=4, padding=8),
            nn.ReLU(inplace=True),
        )
        self.up1 = nn.Conv2d(f3, f4, 3, padding=1)
        self.up2 = nn.Conv2d(f4, f4, 3, padding=1)
        self.heads = GraspHeads(f4)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight, gain=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        y = self.features(x)
        half = (size[0] // 2, size[1] // 2)
        y = F.relu(self.up1(F.interpolate(y, size=half, mode="bilinear", align_corners=False)))
        y = F.relu(self.up2(F.interpolate(y, size=size, mode="bilinear", align_corners=False)))
        return self.heads(y)


#: ``grasp_loss`` width terms: "all" pixels (GG-CNN's loss) or only the "grasp" pixels.
WIDTH_LOSSES = ("all", "grasp")


def grasp_loss(
    pred: torch.Tensor, target: torch.Tensor, width_loss: str = "all"
) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum of the per-map MSE losses (GG-CNN's training loss) and their values.

    ``width_loss="grasp"`` (a variant, not the paper's) averages the width error over the
    pixels inside a grasp region (quality target > 0) only: the zeros elsewhere no longer
    pull the width towards 0 next to a region's edge, where the quality peaks can land.
    """
    require_choice("width_loss", width_loss, WIDTH_LOSSES)
    names = ("q", "cos", "sin", "width")
    losses = [F.mse_loss(pred[:, i], target[:, i]) for i in range(3)]
    if width_loss == "all":
        losses.append(F.mse_loss(pred[:, 3], target[:, 3]))
    else:
        err = (pred[:, 3] - target[:, 3])[target[:, 0] > 0]
        losses.append(err.pow(2).mean() if err.numel() else pred[:, 3].sum() * 0.0)
    total = sum(losses)
    return total, {n: float(v.detach()) for n, v in zip(names, losses, strict=True)}
