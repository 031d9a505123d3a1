"""What a VQ-VAE reconstructs of each input channel: the share of each channel's variance
its reconstruction leaves unexplained, on the blind (image-centred) crops of a data set.

A share near 1 means the code carries nothing of that channel; an RGB-D VQ-VAE whose
depth share is near 1 cannot help a grasp model that needs shape. Also the codes used.

    .venv/bin/python benchmarks/planar_vq_channels.py --data runs/planar/synth_test_v4 \\
        --vqvae runs/planar/v4/vqvae_img300.pt runs/planar/v4/vqvae_img300_rgbd.pt \\
        --out benchmarks/results/planar_vq_channels.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from common import write_result

from grasp_models.datasets import CornellDataset
from grasp_models.datasets.torch_dataset import GraspMapDataset
from grasp_models.planar.inference import load_vqvae, processing_from_card

CHANNELS = ("depth", "red", "green", "blue")


def probe(weights: Path, data: str) -> dict:
    vq, card = load_vqvae(weights)
    cfg = processing_from_card(card)
    rgb = vq.config["in_channels"] == 4
    source = CornellDataset(data, load_rgb=rgb)
    crops = GraspMapDataset(
        source, source.labelled_indices(), cfg, crop="image", rgb=rgb, with_targets=False
    )
    x = torch.stack([c for c, _, _ in crops])
    with torch.no_grad():
        recon, _, codes = vq(x)
    target = vq.scaled(x)  # what the VQ-VAE reconstructs
    mse = ((recon - target) ** 2).mean(dim=(0, 2, 3))
    var = target.var(dim=(0, 2, 3))
    names = CHANNELS[: x.shape[1]]
    return {
        "weights": str(weights),
        "scales": {"input_scale": vq.input_scale, "rgb_scale": vq.rgb_scale},
        "crops": len(crops),
        "codes_used": int(torch.unique(codes).numel()),
        "num_embeddings": vq.config["num_embeddings"],
        "mse": dict(zip(names, mse.tolist(), strict=True)),
        "variance": dict(zip(names, var.tolist(), strict=True)),
        "unexplained": dict(zip(names, (mse / var).tolist(), strict=True)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="Cornell-format folder (labelled images)")
    ap.add_argument("--vqvae", nargs="+", required=True, help="VQ-VAE weights (.pt, card beside)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result = {"data": args.data, "vqvaes": [probe(Path(w), args.data) for w in args.vqvae]}
    for r in result["vqvaes"]:
        shares = ", ".join(f"{k} {v:.3f}" for k, v in r["unexplained"].items())
        print(f"{r['weights']}: unexplained {shares}; codes {r['codes_used']}")
    print(write_result("planar_vq_channels", result, Path(args.out) if args.out else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
