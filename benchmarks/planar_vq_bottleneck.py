"""What the VQ-VAE's quantised latent keeps of a depth crop, measured by a grasp model.

The VQ-VAE GG-CNN sees its input only through the frozen encoder and quantiser. This
script feeds a trained GG-CNN (a) the normalised blind crops as usual and (b) the VQ-VAE's
reconstruction of the same crops, and compares blind top-1/top-5 on a held-out set, plus
the reconstruction error [mm] on the crops. A large drop in (b) means the quantised
latent loses detail the grasp maps need, which no decoder trained on top can recover.

    .venv/bin/python benchmarks/planar_vq_bottleneck.py --data runs/planar/synth_test_v3 \\
        --ggcnn runs/planar/v3/ggcnn_full.pt --vqvae runs/planar/v3/vqvae.pt \\
        --out benchmarks/results/planar_vq_bottleneck.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from common import write_result
from torch import nn

from grasp_models.datasets import CornellDataset
from grasp_models.datasets.torch_dataset import GraspMapDataset
from grasp_models.planar.evaluate import evaluate
from grasp_models.planar.inference import (
    PlanarGraspModel,
    load_network,
    load_vqvae,
    processing_from_card,
)
from grasp_models.planar.vqvae import VQVAE


class ThroughVQVAE(nn.Module):
    """A grasp network applied to the VQ-VAE reconstruction of its input."""

    def __init__(self, vqvae: VQVAE, net: nn.Module) -> None:
        super().__init__()
        self.vqvae, self.net = vqvae, net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recon, _, _ = self.vqvae(x)
        return self.net(self.vqvae.unscaled(recon))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="held-out Cornell-format folder")
    ap.add_argument("--ggcnn", required=True, help="trained GG-CNN weights (.pt, card beside)")
    ap.add_argument("--vqvae", required=True, help="trained VQ-VAE weights (.pt, card beside)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    vq, _ = load_vqvae(args.vqvae)
    if vq.config["in_channels"] != 1:  # a depth probe: depth crops, a depth GG-CNN, mm
        raise SystemExit(
            f"--vqvae {args.vqvae}: takes {vq.config['in_channels']} channels; this probe "
            "reads depth only (benchmarks/planar_vq_channels.py reads RGB-D)"
        )
    net, card = load_network(Path(args.ggcnn))
    source = CornellDataset(args.data)
    idx = source.labelled_indices()
    plain = evaluate(PlanarGraspModel(net, card, name="ggcnn"), source, idx, crop="image")
    through = evaluate(
        PlanarGraspModel(ThroughVQVAE(vq, net), card, name="ggcnn"), source, idx, crop="image"
    )
    cfg = processing_from_card(card)
    crops = GraspMapDataset(source, idx, cfg, crop="image", with_targets=False)
    errs, codes = [], set()
    with torch.inference_mode():
        for x, _, _ in crops:
            x = x[None]
            recon, _, k = vq(x)
            errs.append(float(torch.sqrt(((vq.unscaled(recon) - x) ** 2).mean())))
            codes.update(k.unique().tolist())
    result = {
        "data": args.data,
        "ggcnn": args.ggcnn,
        "vqvae": args.vqvae,
        "images": len(idx),
        "ggcnn_on_input": plain,
        "ggcnn_on_vqvae_reconstruction": through,
        "reconstruction_rmse_mm": {
            "median": float(np.median(errs)) * 1000,
            "max": float(np.max(errs)) * 1000,
        },
        "codes_used": len(codes),
        "codebook_size": vq.quantizer.K,
    }
    print(result, flush=True)
    write_result("planar_vq_bottleneck", result, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
