"""The exact GG-CNN CPU path (grasp_models.planar.fast) gives the reference network's maps.

Tolerance: max |difference| <= 1e-5 on maps of magnitude ~1 (float32 sums in another
order; observed ~3e-7 on the shipped weights).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from grasp_models.errors import ModelError
from grasp_models.planar import fast
from grasp_models.planar.fast import FastGGCNN, SubpixelGeometry, subpixel_weights
from grasp_models.planar.inference import PlanarGraspModel, load_ggcnn, load_network
from grasp_models.planar.networks import GGCNN, GGCNN2
from grasp_models.registry import WEIGHTS_DIR

ATOL = 1e-5


def _subpixel(deconv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    weight, bias = subpixel_weights(deconv)
    s, j = deconv.stride[0], weight.shape[-1]
    axes = [(deconv.kernel_size[a], s, deconv.padding[a], deconv.output_padding[a]) for a in (0, 1)]
    gy = SubpixelGeometry(axes[0], j, x.shape[-2])
    gx = SubpixelGeometry(axes[1], j, x.shape[-1])
    y = nn.functional.conv2d(nn.functional.pad(x, (*gx.pad, *gy.pad)), weight, bias)
    b, c = y.shape[0], deconv.out_channels
    # phase-major channels -> pixels
    y = y.view(b, s, s, c, gy.blocks, gx.blocks).permute(0, 3, 4, 1, 5, 2)
    y = y.reshape(b, c, s * gy.blocks, s * gx.blocks)
    return y[..., gy.offset : gy.offset + gy.n_out, gx.offset : gx.offset + gx.n_out]


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "output_padding"),
    [(9, 3, 3, 1), (5, 2, 2, 1), (3, 2, 1, 1), (4, 2, 1, 0), (3, 3, 0, 0), (7, 2, 0, 1)],
)
def test_subpixel_convolution_equals_the_transposed_convolution(
    kernel, stride, padding, output_padding, seed
) -> None:
    torch.manual_seed(seed)
    deconv = nn.ConvTranspose2d(3, 5, kernel, stride, padding, output_padding)
    x = torch.randn(2, 3, 11, 14)
    with torch.no_grad():
        expected = deconv(x)
        got = _subpixel(deconv, x)
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) <= ATOL


def test_subpixel_weights_reject_grouped_transposed_convolutions() -> None:
    with pytest.raises(ModelError, match="groups 2"):
        subpixel_weights(nn.ConvTranspose2d(4, 4, 3, 2, groups=2))


@pytest.fixture(scope="module")
def shipped() -> GGCNN:
    net, _ = load_network(WEIGHTS_DIR / "ggcnn.pt")
    return net


def _depth_like(seed: int, size: tuple[int, ...]) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, generator=g) * 0.01
    x[..., size[-2] // 3 : size[-2] // 2, size[-1] // 3 : size[-1] // 2] -= 0.05  # an object
    return x


@pytest.mark.parametrize("fused", [True, False])
def test_fast_ggcnn_gives_the_shipped_networks_four_maps(shipped, fused, seed) -> None:
    torch.set_num_threads(2)
    if fused and not fast.mkldnn_ops_work():
        pytest.skip("this PyTorch build has no working oneDNN fused operators")
    x = _depth_like(seed, (1, 1, 300, 300))
    with torch.inference_mode():
        expected = shipped(x)
        got = FastGGCNN(shipped, fused=fused)(x)
    assert got.shape == expected.shape == (1, 4, 300, 300)
    assert float((got - expected).abs().max()) <= ATOL
    assert float(expected.abs().max()) > 0.1  # the maps are not trivially zero


@pytest.mark.parametrize("size", [(96, 96), (97, 131)])
def test_fast_ggcnn_matches_on_other_sizes_batches_and_rgbd(size, seed) -> None:
    torch.manual_seed(seed)
    net = GGCNN(in_channels=4).eval()
    x = torch.randn(2, 4, *size)
    with torch.inference_mode():
        expected = net(x)
        for fused in (False, fast.mkldnn_ops_work()):
            got = FastGGCNN(net, fused=fused)(x)
            assert got.shape == expected.shape
            assert float((got - expected).abs().max()) <= ATOL


def test_fast_ggcnn_falls_back_to_plain_operators(shipped, monkeypatch, seed) -> None:
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert not fast.mkldnn_ops_work()
    model = FastGGCNN(shipped)
    assert not model.fused
    x = _depth_like(seed, (1, 1, 300, 300))
    with torch.inference_mode():
        assert float((model(x) - shipped(x)).abs().max()) <= ATOL


def test_fast_ggcnn_refuses_other_networks_and_devices(shipped) -> None:
    with pytest.raises(ModelError, match="needs a GGCNN, got GGCNN2"):
        FastGGCNN(GGCNN2())
    with pytest.raises(ModelError, match="CPU"):
        FastGGCNN(shipped)(torch.zeros(1, 1, 300, 300, device="meta"))


def test_planar_model_deploys_the_fast_path_with_the_same_maps(seed) -> None:
    model = load_ggcnn(device="cpu")
    assert isinstance(model.net, FastGGCNN)
    assert isinstance(model.reference_net, GGCNN)
    x = _depth_like(seed, (1, 300, 300)).numpy()
    with torch.inference_mode():
        expected = model.reference_net(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(model.forward_maps(x), expected, atol=ATOL, rtol=0)


def test_planar_model_keeps_other_networks_as_they_are(seed) -> None:
    torch.manual_seed(seed)
    model = PlanarGraspModel(GGCNN2(), {"arch": "ggcnn2"}, name="ggcnn2")
    assert isinstance(model.net, GGCNN2)
