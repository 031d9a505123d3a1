"""GG-CNN, GG-CNN2, VQ-VAE and VQ-VAE GG-CNN networks: shapes, losses, gradients."""

from __future__ import annotations

import pytest
import torch

from grasp_models.planar.networks import GGCNN, GGCNN2, grasp_loss
from grasp_models.planar.vqvae import VQVAE, VQVAEGGCNN, VectorQuantizer


@pytest.mark.parametrize("net_cls", [GGCNN, GGCNN2])
@pytest.mark.parametrize("channels", [1, 4])
def test_grasp_networks_give_four_maps_of_the_input_size(net_cls, channels, seed) -> None:
    torch.manual_seed(seed)
    net = net_cls(in_channels=channels)
    for size in (300, 96):
        y = net(torch.randn(2, channels, size, size))
        assert y.shape == (2, 4, size, size)


def test_grasp_loss_is_zero_on_the_target_and_positive_elsewhere() -> None:
    t = torch.rand(2, 4, 16, 16)
    loss, parts = grasp_loss(t, t)
    assert float(loss) == 0.0 and set(parts) == {"q", "cos", "sin", "width"}
    assert float(grasp_loss(t + 0.1, t)[0]) == pytest.approx(4 * 0.01, rel=1e-4)


def test_grasp_width_loss_counts_only_the_grasp_pixels() -> None:
    target = torch.zeros(1, 4, 8, 8)
    target[0, 0, 2:4, 2:6] = 1.0  # one grasp region of 8 pixels
    target[0, 3, 2:4, 2:6] = 0.4
    pred = target.clone()
    pred[0, 3] += 0.1  # width off by 0.1 everywhere, inside and outside the region
    pred[0, 3, 2:4, 2:4] += 0.1  # and by 0.2 on half the region
    _, all_px = grasp_loss(pred, target)
    _, grasp_px = grasp_loss(pred, target, width_loss="grasp")
    assert all_px["width"] == pytest.approx((60 * 0.01 + 4 * 0.04) / 64)
    assert grasp_px["width"] == pytest.approx((4 * 0.01 + 4 * 0.04) / 8)
    assert grasp_px["q"] == all_px["q"] == 0.0
    empty, parts = grasp_loss(pred, torch.zeros_like(target), width_loss="grasp")
    assert parts["width"] == 0.0 and torch.isfinite(empty)  # no grasp pixel: no NaN
    with pytest.raises(ValueError, match="width_loss"):
        grasp_loss(pred, target, width_loss="masked")


def test_quantiser_picks_nearest_codes_with_straight_through_gradient(seed) -> None:
    torch.manual_seed(seed)
    vq = VectorQuantizer(num_embeddings=4, dim=2, beta=0.25)
    with torch.no_grad():
        vq.embedding.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    z = torch.tensor([[0.9, 0.1], [0.1, 0.8], [0.2, 0.1]]).t().reshape(1, 2, 1, 3)
    z.requires_grad_(True)
    z_q, loss, idx = vq(z)
    assert idx.flatten().tolist() == [1, 2, 0]
    expected = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]).t().reshape(1, 2, 1, 3)
    torch.testing.assert_close(z_q, expected)
    mse = float(((z.detach() - expected) ** 2).mean())
    assert float(loss.detach()) == pytest.approx(
        mse * 1.25, rel=1e-5
    )  # dictionary + 0.25 commitment
    (z_q * torch.arange(3.0).view(1, 1, 1, 3)).sum().backward()
    # straight-through: dL/dz equals dL/dz_q (plus nothing else here)
    torch.testing.assert_close(z.grad, torch.arange(3.0).view(1, 1, 1, 3).expand(1, 2, 1, 3))


def test_vq_loss_trains_the_codebook_and_the_encoder(seed) -> None:
    torch.manual_seed(seed)
    vq = VectorQuantizer(8, 3)
    z = torch.randn(1, 3, 4, 4, requires_grad=True)
    _, loss, _ = vq(z)
    loss.backward()
    assert vq.embedding.weight.grad.abs().sum() > 0  # dictionary term
    assert z.grad.abs().sum() > 0  # commitment term


def test_vqvae_reconstructs_input_size_and_reports_losses(seed) -> None:
    torch.manual_seed(seed)
    vae = VQVAE(num_embeddings=16, dim=4)
    x = torch.randn(2, 1, 64, 64) * 0.1
    recon, _, idx = vae(x)
    assert recon.shape == x.shape and idx.shape == (2, 16, 16)
    loss, parts = vae.loss(x)
    assert float(loss.detach()) == pytest.approx(parts["recon"] + parts["vq"], rel=1e-5)


def test_vqvae_ggcnn_freezes_encoder_and_quantiser_and_copies_the_decoder(seed) -> None:
    torch.manual_seed(seed)
    vae = VQVAE(num_embeddings=16, dim=4)
    model = VQVAEGGCNN(vae).train()
    for name, p in model.named_parameters():
        frozen = name.startswith(("encoder.", "quantizer."))
        assert p.requires_grad != frozen, name
    for (_, a), (_, b) in zip(
        model.decoder.state_dict().items(), vae.decoder.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b)
    assert not model.encoder.training
    x = torch.randn(1, 1, 64, 64) * 0.1
    y = model(x)
    assert y.shape == (1, 4, 64, 64)
    grasp_loss(y, torch.zeros_like(y))[0].backward()
    assert model.encoder.net[0].weight.grad is None
    assert model.decoder.net[0].weight.grad.abs().sum() > 0
    # same state_dict layout when rebuilt from its config (what loading weights does)
    rebuilt = VQVAEGGCNN.from_config(model.vq_config)
    rebuilt.load_state_dict(model.state_dict())


def test_vqvae_ggcnn_decoder_freeze_ablation_trains_only_the_ggcnn(seed) -> None:
    torch.manual_seed(seed)
    net = VQVAEGGCNN(VQVAE(num_embeddings=16, dim=4), train_decoder=False).train()
    trainable = {n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"ggcnn"}
    assert not net.decoder.training and net.ggcnn.training
    before = [p.clone() for p in net.decoder.parameters()]
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    loss, _ = grasp_loss(net(torch.randn(2, 1, 48, 48) * 0.05), torch.rand(2, 4, 48, 48))
    loss.backward()
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(before, net.decoder.parameters(), strict=True))
    default = VQVAEGGCNN(VQVAE(num_embeddings=16, dim=4))
    assert all(p.requires_grad for p in default.decoder.parameters())


def test_vqvae_scales_depth_and_colour_apart_and_older_cards_keep_one_scale() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 32, 32)
    vq = VQVAE(in_channels=4)  # new default: depth x10, colour as it comes
    assert vq.config["rgb_scale"] == 1.0
    scaled = vq.scaled(x)
    assert torch.equal(scaled[:, :1], x[:, :1] * 10.0)
    assert torch.equal(scaled[:, 1:], x[:, 1:])
    assert torch.equal(VQVAE(in_channels=1).scaled(x[:, :1]), x[:, :1] * 10.0)
    # a card written before rgb_scale existed scaled every channel by input_scale
    old = {k: v for k, v in vq.config.items() if k != "rgb_scale"}
    assert torch.equal(VQVAE.from_config(old).scaled(x), x * 10.0)
    # the VQ-VAE GG-CNN encodes what its VQ-VAE encoded, with either card
    for cfg in (vq.config, old):
        src = VQVAE.from_config(cfg)
        net = VQVAEGGCNN(src)
        idx = src.quantizer.codes(src.encoder(src.scaled(x)))
        assert torch.equal(net.latent(x), src.quantizer.embedding(idx).permute(0, 3, 1, 2))
