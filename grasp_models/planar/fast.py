"""Exact CPU inference path for GG-CNN: the same four maps from the same weights, faster.

At 300x300 GG-CNN's time goes to its last transposed convolution (16 -> 32 channels, 9x9,
stride 3, 100x100 -> 301x301) and to the 2x2 output heads (32 -> 4 channels) on that
full-resolution tensor. :class:`FastGGCNN` computes both differently, exactly in real
arithmetic (float results agree to rounding, see test/unit/test_planar_fast.py):

* **Sub-pixel convolution.** A transposed convolution with stride ``s`` and kernel ``k``
  equals a stride-1 convolution with ``ceil(k/s)``-sized kernels that gives ``s*s*C``
  channels, one group of ``C`` per output phase, followed by a pixel shuffle and a crop.
  The weights are rearranged once, here; no zeros are multiplied (9 = 3 x 3 taps).
* **Heads on the packed tensor.** The 2x2 heads are four 1x1 maps (one per kernel tap)
  summed with a one-pixel shift. The 1x1 maps (32 -> 4 taps x 4 maps) run as one matrix
  product on the phase-packed activations, so the 32-channel 301x301 tensor is never
  shuffled to full resolution: only the 16 tap products are, then summed with their
  shifts in two passes (x, then y).

ReLUs are fused into the convolutions and the product runs in oneDNN when this PyTorch
build has its oneDNN operators (``torch.ops.mkldnn``, what TorchInductor's CPU backend
calls; no compiler is involved); otherwise plain ``F.conv2d`` + ReLU and ``torch.addmm``.
Inference only: the weights are buffers, there is no gradient through the fused ops.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from grasp_models.errors import ModelError
from grasp_models.planar.networks import GGCNN


def mkldnn_ops_work() -> bool:
    """Whether the fused oneDNN operators exist and run in this PyTorch build."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        ops = torch.ops.mkldnn
        x = torch.ones(1, 2, 4, 4).contiguous(memory_format=torch.channels_last)
        w = torch.ones(3, 2, 3, 3)
        y = ops._convolution_pointwise(x, w, None, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")
        z = ops._linear_pointwise(torch.ones(4, 2), torch.ones(3, 2), None, "none", [], "")
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    return float(y[0, 0, 1, 1]) == 18.0 and float(z[0, 0]) == 2.0


def subpixel_weights(deconv: nn.ConvTranspose2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight ``(s*s*C_out, C_in, J, J)`` and bias of the stride-1 convolution that, pixel
    shuffled, gives ``deconv``'s output (before its crop; see :class:`SubpixelGeometry`).

    Output channels are phase-major: channel ``(ry*s + rx)*C_out + c`` is output channel
    ``c`` at phase ``(ry, rx)``, i.e. at pixel ``(s*qy + ry, s*qx + rx)`` of block ``(qy, qx)``.
    """
    if deconv.groups != 1 or deconv.dilation != (1, 1) or deconv.stride[0] != deconv.stride[1]:
        raise ModelError(
            f"sub-pixel form needs groups 1, dilation 1 and equal strides, got "
            f"groups {deconv.groups}, dilation {deconv.dilation}, stride {deconv.stride}"
        )
    w = deconv.weight.detach()
    cin, cout, kh, kw = w.shape
    s = deconv.stride[0]
    j = math.ceil(max(kh, kw) / s)
    padded = w.new_zeros(cin, cout, s * j, s * j)
    padded[:, :, :kh, :kw] = w
    # kernel index k = s*(j - 1 - m) + r: tap m of the stride-1 conv at phase r
    padded = padded.reshape(cin, cout, j, s, j, s).flip(2, 4)  # cin, cout, my, ry, mx, rx
    weight = padded.permute(3, 5, 1, 0, 2, 4).reshape(s * s * cout, cin, j, j)
    bias = deconv.bias.detach() if deconv.bias is not None else w.new_zeros(cout)
    return weight.contiguous(), bias.repeat(s * s)


class SubpixelGeometry:
    """Padding and crop that make the sub-pixel convolution of :func:`subpixel_weights`
    reproduce a transposed convolution's output along one axis of input length ``n_in``.
    ``deconv`` is ``(kernel, stride, padding, output_padding)`` of that axis and ``j`` the
    sub-pixel kernel size."""

    def __init__(self, deconv: tuple[int, int, int, int], j: int, n_in: int) -> None:
        k, s, p, output_padding = deconv
        self.n_out = (n_in - 1) * s - 2 * p + k + output_padding
        # output pixel u sits at u + p of the uncropped output, in block (u + p) // s
        q_min, q_max = p // s, (p + self.n_out - 1) // s
        self.pad = (j - 1 - q_min, q_max - (n_in - 1))  # before, after (negative: crop)
        self.blocks = q_max - q_min + 1
        self.offset = p - s * q_min  # first output pixel in the shuffled blocks


class FastGGCNN(nn.Module):
    """GG-CNN ``net`` rewritten for CPU inference (module docstring); ``forward`` gives
    what ``net.forward`` gives, Bx4xHxW, for any input size. ``fused=None`` uses the oneDNN
    operators when they work here, ``False`` forces the plain PyTorch operators."""

    def __init__(self, net: GGCNN, fused: bool | None = None) -> None:
        super().__init__()
        if not isinstance(net, GGCNN):
            raise ModelError(f"FastGGCNN needs a GGCNN, got {type(net).__name__}")
        self.in_channels = net.in_channels
        self.fused = mkldnn_ops_work() if fused is None else fused
        convs = [net.encoder[i] for i in (0, 2, 4)]
        self.enc_meta = [(c.stride, c.padding) for c in convs]
        for i, c in enumerate(convs):
            self.register_buffer(f"enc_w{i}", c.weight.detach().clone())
            self.register_buffer(f"enc_b{i}", c.bias.detach().clone())
        # the two small transposed convolutions are kept as they are (copies)
        self.up = copy.deepcopy(nn.ModuleList([net.decoder[0], net.decoder[2]]))
        self.up.requires_grad_(False)
        last = net.decoder[4]
        weight, bias = subpixel_weights(last)
        self.last_axes = [
            (last.kernel_size[a], last.stride[a], last.padding[a], last.output_padding[a])
            for a in (0, 1)
        ]
        self.last_j = weight.shape[-1]
        self.register_buffer("sub_w", weight)
        self.register_buffer("sub_b", bias)
        heads = net.heads.out
        if heads.stride != (1, 1) or heads.padding != (0, 0) or heads.dilation != (1, 1):
            raise ModelError(
                f"FastGGCNN: heads must be an unpadded stride-1 convolution, got stride "
                f"{heads.stride}, padding {heads.padding}, dilation {heads.dilation}"
            )
        self.kernel = heads.kernel_size  # (kh, kw)
        self.n_maps, c = heads.out_channels, heads.in_channels
        # tap products: row (dx, dy, o) of the 1x1 map is heads.weight[o, :, dy, dx]; the
        # heads' bias rides on the (0, 0) tap so it is added once
        taps = heads.weight.detach().permute(3, 2, 0, 1).reshape(-1, c)
        self.register_buffer("tap_w", taps.contiguous())
        tap_b = taps.new_zeros(taps.shape[0])
        tap_b[: self.n_maps] = heads.bias.detach()
        self.register_buffer("tap_b", tap_b)
        self.channels = c
        self.scale = last.stride[0]
        self.to(memory_format=torch.channels_last).eval()

    def _conv_relu(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride, padding):
        if self.fused:
            return torch.ops.mkldnn._convolution_pointwise(
                x, w, b, list(padding), list(stride), [1, 1], 1, "relu", [], ""
            )
        return F.conv2d(x, w, b, stride=stride, padding=padding).relu_()

    def _taps(self, z: torch.Tensor) -> torch.Tensor:
        if self.fused:
            return torch.ops.mkldnn._linear_pointwise(z, self.tap_w, self.tap_b, "none", [], "")
        return torch.addmm(self.tap_b, z, self.tap_w.t())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            raise ModelError(f"FastGGCNN runs on the CPU, got a tensor on {x.device}")
        size = x.shape[-2:]
        y = x.contiguous(memory_format=torch.channels_last)
        for i, (stride, padding) in enumerate(self.enc_meta):
            y = self._conv_relu(
                y, getattr(self, f"enc_w{i}"), getattr(self, f"enc_b{i}"), stride, padding
            )
        for up in self.up:
            y = F.relu(up(y))
        gy = SubpixelGeometry(self.last_axes[0], self.last_j, y.shape[-2])
        gx = SubpixelGeometry(self.last_axes[1], self.last_j, y.shape[-1])
        y = F.pad(y, (*gx.pad, *gy.pad)).contiguous(memory_format=torch.channels_last)
        z = self._conv_relu(y, self.sub_w, self.sub_b, (1, 1), (0, 0))
        # z: B x (s*s*C) x by x bx; as B, by, bx, s, s, C whatever its memory layout
        s, c, b = self.scale, self.channels, z.shape[0]
        z = z.permute(0, 2, 3, 1).reshape(-1, c)
        q = self._taps(z).view(b, gy.blocks, gx.blocks, s, s, -1)
        q = q.permute(0, 1, 3, 2, 4, 5).reshape(b, s * gy.blocks, s * gx.blocks, -1)
        # the heads: out[y, x] = sum over taps of q[y + dy, x + dx, tap], x shifts first
        kh, kw = self.kernel
        h, w = gy.n_out - kh + 1, gx.n_out - kw + 1
        oy, ox, m = gy.offset, gx.offset, kh * self.n_maps
        rows = q[:, oy : oy + h + kh - 1, ox : ox + w, :m]
        for dx in range(1, kw):
            rows = rows + q[:, oy : oy + h + kh - 1, ox + dx : ox + dx + w, dx * m : (dx + 1) * m]
        m = self.n_maps
        out = rows[:, :h, :, :m]
        for dy in range(1, kh):
            out = out + rows[:, dy : dy + h, :, dy * m : (dy + 1) * m]
        out = out.permute(0, 3, 1, 2)  # B x 4 x H x W, channels-last memory
        if out.shape[-2:] != size:  # as GGCNN.forward: sizes not a multiple of 12
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out
