"""Accuracy against the labelled fraction (the paper's Fig. 5) for GG-CNN and VQ-VAE GG-CNN.

For each fraction, both models are trained on that seeded fraction of the labelled
training images with the same number of gradient steps (``--steps`` x ``--batch-size``
samples), the VQ-VAE GG-CNN on top of one VQ-VAE trained on every training image
(``--vqvae``, labels unused), and evaluated with the rectangle metric on the held-out
test objects (blind image-centred crops, top-1). Runs are resumable: a finished run's
card is reused.

    .venv/bin/python benchmarks/planar_label_fraction.py --data runs/planar/synth_train \
        --test-data runs/planar/synth_test --vqvae runs/planar/vqvae.pt
Writes benchmarks/results/planar_label_fraction.json and .png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from grasp_models.checkpoint import card_path
from grasp_models.datasets import CornellDataset
from grasp_models.planar.train import TrainConfig, train

RESULTS = Path(__file__).resolve().parent / "results"


def run_one(args, model: str, fraction: float, n_labelled: int) -> dict:
    out = Path(args.work) / f"{model}_f{fraction:.2f}.pt"
    if card_path(out).is_file():
        card = json.loads(card_path(out).read_text())
        if "metrics" in card:
            return card
    k = max(int(round(fraction * n_labelled)), 1)
    epochs = max(math.ceil(args.steps * args.batch_size / k), 1)
    cfg = TrainConfig(
        model=model,
        data=args.data,
        test_data=args.test_data,
        out=str(out),
        epochs=epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        label_fraction=fraction,
        seed=args.seed,
        vqvae=args.vqvae if model == "vqvae_ggcnn" else None,
        threads=args.threads,
        train_size=args.train_size,
    )
    return train(cfg, progress=not args.quiet)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for model, label in (("vqvae_ggcnn", "VQ-VAE GG-CNN"), ("ggcnn", "GG-CNN")):
        pts = sorted((float(f), r["top1_image"] * 100) for f, r in result["runs"][model].items())
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=label)
    ax.set_xlabel("labelled fraction of the training images")
    ax.set_ylabel("held-out top-1 accuracy (%)")
    ax.set_title("Synthetic held-out objects, blind crops")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".tmp.{path.name}")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--test-data", required=True)
    ap.add_argument("--vqvae", required=True, help="VQ-VAE trained on all training images")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9])
    ap.add_argument("--models", nargs="+", default=["ggcnn", "vqvae_ggcnn"])
    ap.add_argument("--steps", type=int, default=150, help="gradient steps per run")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--train-size", type=int, default=128, help="training patch [px]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="runs/planar/label_fraction")
    ap.add_argument("--out", default=str(RESULTS / "planar_label_fraction.json"))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    flags = CornellDataset(args.data).labelled_flags()
    n_labelled = sum(flags)
    out = Path(args.out)
    result = {
        "benchmark": "planar_label_fraction",
        "command": " ".join([sys.executable, *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "cpu_count": os.cpu_count()},
        "seed": args.seed,
        "data": args.data,
        "test_data": args.test_data,
        "vqvae": args.vqvae,
        "labelled_train_images": n_labelled,
        "train_images": len(flags),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "train_size": args.train_size,
        "runs": {m: {} for m in args.models},
    }
    for fraction in args.fractions:
        for model in args.models:
            card = run_one(args, model, fraction, n_labelled)
            m = card["metrics"]
            result["runs"][model][f"{fraction:.2f}"] = {
                "top1_image": m["image"]["top1"],
                "top5_image": m["image"]["top5"],
                "top1_gt": m["gt"]["top1"],
                "labelled_images": card["data"]["labelled_train_images"],
                "epochs": card["train_config"]["epochs"],
                "test_images": m["image"]["images"],
            }
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp")
            tmp.write_text(json.dumps(result, indent=2))
            os.replace(tmp, out)
            plot(result, out.with_suffix(".png"))
            print(model, fraction, result["runs"][model][f"{fraction:.2f}"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
