"""Accuracy against the labelled fraction (the paper's Fig. 5) for GG-CNN and VQ-VAE GG-CNN.

For each fraction and seed, both models are trained on that seed's fraction of the
labelled training images (each seed draws another labelled subset and initialisation)
with the same number of gradient steps (``--steps`` x ``--batch-size`` samples) and the
same augmentation, the VQ-VAE GG-CNN on top of one VQ-VAE trained on every training image
(``--vqvae``, labels unused). With ``--val-data`` both keep their best checkpoint on the
validation objects (checked ``--val-checks`` times over the run, 4 by default, and at its
end); the held-out test objects are only
reported (rectangle metric, blind image-centred crops, top-1): per run, and mean and
standard deviation over the seeds, and each model's difference to GG-CNN paired by seed.
``--ablations`` adds variants (``VARIANTS``) at
``--ablation-fractions``. Runs are resumable: a finished run's card is reused.
``--extra-test-data`` names further held-out sets (one or more folders): each run's kept
checkpoint is also evaluated on each (cached beside the run, per folder), on the extra
sets pooled (``extra_*``) and on all test sets pooled (``pooled_*``), image by image; the
paired differences are then given for each, with a 95 % t-interval of the mean.
``--checkpoint last`` reads every run's final weights instead of its kept (validation-
picked) ones: exported from the run's resumable checkpoint to ``<run>.last.pt`` with a
card, and evaluated like the kept ones (cached the same way).

    .venv/bin/python benchmarks/planar_label_fraction.py --data runs/planar/synth_train_v3 \
        --test-data runs/planar/synth_test_v3 --val-data runs/planar/synth_val_v3 \
        --vqvae runs/planar/v3/vqvae.pt --fractions 0.1 0.3 0.5 --seeds 0 1 2 \
        --ablations vqvae_ggcnn_frozen_decoder --work runs/planar/label_fraction_v3
Writes benchmarks/results/planar_label_fraction.json and .png (mean +- std error bars).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

from common import machine, paired_points

from grasp_models.checkpoint import card_path, load_checkpoint, save_checkpoint, save_json
from grasp_models.datasets import CornellDataset
from grasp_models.planar.evaluate import evaluate, pooled_top1
from grasp_models.planar.train import TrainConfig, train
from grasp_models.registry import load_model

RESULTS = Path(__file__).resolve().parent / "results"
#: Ablations run like a model: ``--models NAME`` trains ``model`` with these settings.
VARIANTS = {
    "vqvae_ggcnn_frozen_decoder": {
        "model": "vqvae_ggcnn",
        "vq_train_decoder": False,
        "label": "VQ-VAE GG-CNN, decoder frozen (ablation)",
    },
    # the pretrained decoder at a tenth of the GG-CNN's learning rate
    "vqvae_ggcnn_decoder_lr01": {
        "model": "vqvae_ggcnn",
        "vq_decoder_lr_scale": 0.1,
        "label": "VQ-VAE GG-CNN, decoder at 0.1x lr",
    },
    # on the VQ-VAE given by --vqvae-more-unlabelled (trained with more unlabelled images)
    "vqvae_ggcnn_more_unlabelled": {
        "model": "vqvae_ggcnn",
        "vqvae_option": "vqvae_more_unlabelled",
        "label": "VQ-VAE GG-CNN, more unlabelled images",
    },
}
#: Plot labels of the two models (the variants carry their own).
LABELS = {"vqvae_ggcnn": "VQ-VAE GG-CNN", "ggcnn": "GG-CNN"}


def run_one(args, model: str, fraction: float, n_labelled: int, seed: int) -> dict:
    out = run_path(args, model, fraction, seed)
    variant = VARIANTS.get(model, {})
    arch = variant.get("model", model)
    if card_path(out).is_file():
        card = json.loads(card_path(out).read_text())
        if "metrics" in card:
            return card
    k = max(int(round(fraction * n_labelled)), 1)
    epochs = max(math.ceil(args.steps * args.batch_size / k), 1)
    option = variant.get("vqvae_option", "vqvae")
    vqvae = getattr(args, option)
    if arch == "vqvae_ggcnn" and not vqvae:
        raise SystemExit(f"--models {model} needs --{option.replace('_', '-')} PATH")
    cfg = TrainConfig(
        model=arch,
        data=args.data,
        test_data=args.test_data,
        val_data=args.val_data,
        val_every=max(epochs // args.val_checks, 1),
        out=str(out),
        epochs=epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        label_fraction=fraction,
        seed=seed,
        vqvae=vqvae if arch == "vqvae_ggcnn" else None,
        vq_train_decoder=variant.get("vq_train_decoder", True),
        vq_decoder_lr_scale=variant.get("vq_decoder_lr_scale", 1.0),
        threads=args.threads,
        train_size=args.train_size,
        train_crop=args.train_crop,
        train_shift=args.train_shift,
        rgb=args.rgb,
    )
    return train(cfg, progress=not args.quiet)


def run_path(args, model: str, fraction: float, seed: int, last: bool = False) -> Path:
    """The run's kept weights, or with ``last`` its final weights' export."""
    return Path(args.work) / f"{model}_f{fraction:.2f}_s{seed}{'.last' if last else ''}.pt"


def last_checkpoint(args, model: str, fraction: float, seed: int, kept: dict) -> dict:
    """The card of the run's final weights (``--checkpoint last``), exported once from its
    resumable checkpoint and evaluated on ``--test-data`` like the kept weights."""
    out = run_path(args, model, fraction, seed, last=True)
    if card_path(out).is_file():
        card = json.loads(card_path(out).read_text())
        if "metrics" in card:
            return card
    run_dir = run_path(args, model, fraction, seed).with_suffix(".run")
    state = load_checkpoint(run_dir / "checkpoint.pt")
    epochs = kept["train_config"]["epochs"]
    if int(state["epoch"]) != epochs:
        raise SystemExit(
            f"{run_dir}: checkpoint at epoch {state['epoch']}, "
            f"the run's card says {epochs}; finish the run before reading its last weights"
        )
    card = {k: v for k, v in kept.items() if k not in ("metrics", "selection")}
    card["selection"] = {"rule": "last epoch (no selection)", "chosen_epoch": epochs}
    card["exported_from"] = str(run_dir / "checkpoint.pt")
    save_checkpoint(out, state["model"], card)  # metrics added below mark it complete
    card["metrics"] = both_crops(args, kept["arch"], out, args.test_data)
    save_json(card_path(out), card)
    return card


def both_crops(args, arch: str, weights: Path, data: str) -> dict:
    """Blind (``image``) and ground-truth-centred (``gt``) top-k of ``weights`` on the
    labelled images of ``data``."""
    import torch

    torch.set_num_threads(args.threads)  # as the training runs (train() sets it there)
    net = load_model(arch, weights, device="cpu")
    source = CornellDataset(data, load_rgb=net.in_channels == 4)
    indices = source.labelled_indices()
    if not indices:
        raise SystemExit(f"{data}: no labelled images")
    return {
        crop: evaluate(net, source, indices, crop=crop, progress=not args.quiet)
        for crop in ("image", "gt")
    }


def extra_eval(args, model: str, fraction: float, seed: int, card: dict, data: str) -> dict:
    """Blind and ground-truth-centred top-k of a run's read weights (kept, or final with
    ``--checkpoint last``) on ``data`` (one of ``--extra-test-data``); cached beside
    those weights, keyed by that folder."""
    weights = run_path(args, model, fraction, seed, last=args.checkpoint == "last")
    cache = weights.with_name(f"{weights.stem}.eval_{Path(data).name}.json")
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("data") == data:
            return cached
    result = {"data": data, "weights": str(weights)}
    result.update(both_crops(args, card["arch"], weights, data))
    save_json(cache, result)
    return result


#: Per-run metrics summarised and paired when every run of a model has them.
METRICS = (
    "top1_image",
    "top5_image",
    "top1_gt",
    "extra_top1_image",
    "extra_top1_gt",
    "pooled_top1_image",
    "pooled_top1_gt",
)


def summary(runs: dict) -> dict:
    """Mean and (sample) standard deviation over the seeds of each metric."""
    out = {"seeds": sorted(int(s) for s in runs)}
    for key in METRICS:
        if not all(key in r for r in runs.values()):
            continue
        vals = [r[key] for r in runs.values()]
        out[f"{key}_mean"] = statistics.fmean(vals)
        out[f"{key}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return out


def paired_vs_ggcnn(result: dict, key: str = "top1_image") -> dict:
    """Per fraction and model, ``key`` (blind top-1 by default) minus GG-CNN's on the same
    seeds (same labelled subsets), in points (:func:`common.paired_points`)."""
    base = result["runs"].get("ggcnn", {})
    out: dict = {}
    for model, by_fraction in result["runs"].items():
        if model == "ggcnn":
            continue
        for f, runs in by_fraction.items():
            seeds = sorted(set(runs) & set(base.get(f, {})), key=int)
            seeds = [s for s in seeds if key in runs[s] and key in base[f][s]]
            if not seeds:
                continue
            out.setdefault(model, {})[f] = paired_points(
                {s: 100 * (runs[s][key] - base[f][s][key]) for s in seeds}
            )
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the larger --extra-test-data sets, pooled, when there are any; else --test-data
    key = "extra_top1_image" if result.get("extra_test_data") else "top1_image"
    images = {
        r.get("extra_test_images" if key.startswith("extra_") else "test_images")
        for by_fraction in result["runs"].values()
        for runs in by_fraction.values()
        for r in runs.values()
    }
    fig, ax = plt.subplots(figsize=(5, 3.5))
    # every model and variant of the result; the two models first, in their usual colours
    order = [*LABELS, *(m for m in result["summary"] if m not in LABELS)]
    for model in order:
        label = LABELS.get(model) or VARIANTS.get(model, {}).get("label", model)
        pts = sorted(
            (float(f), r[f"{key}_mean"] * 100, r[f"{key}_std"] * 100)
            for f, r in result["summary"].get(model, {}).items()
            if f"{key}_mean" in r
        )
        if pts:
            x, y, e = zip(*pts, strict=True)
            ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label=label)
    fractions = sorted({float(f) for by_f in result["summary"].values() for f in by_f})
    if fractions:
        ax.set_xticks(fractions)
    ax.set_xlabel("labelled fraction of the training images")
    n_seeds = len(result.get("seeds", []))
    spread = f"mean +- std, {n_seeds} seeds" if n_seeds > 1 else "one run per point"
    ax.set_ylabel(f"held-out top-1 accuracy (%), {spread}", fontsize=8)
    n = "/".join(str(i) for i in sorted(i for i in images if i)) or "?"
    ax.set_title(
        f"Held-out objects ({n} images), blind crops, {result['steps']} steps/run", fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".tmp.{path.name}")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--test-data", required=True)
    ap.add_argument("--val-data", default=None, help="validation objects (model selection)")
    ap.add_argument("--vqvae", required=True, help="VQ-VAE trained on all training images")
    ap.add_argument(
        "--vqvae-more-unlabelled",
        default=None,
        help="VQ-VAE trained on those and more unlabelled images (vqvae_ggcnn_more_unlabelled)",
    )
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9])
    ap.add_argument("--models", nargs="+", default=["ggcnn", "vqvae_ggcnn"])
    ap.add_argument("--ablations", nargs="*", default=[], choices=sorted(VARIANTS))
    ap.add_argument("--ablation-fractions", type=float, nargs="+", default=[0.1])
    ap.add_argument("--steps", type=int, default=150, help="gradient steps per run")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--train-size", type=int, default=128, help="training patch [px]")
    ap.add_argument("--train-crop", default="gt", choices=("gt", "image"))
    ap.add_argument("--train-shift", type=float, default=30.0, help="crop shift [px]")
    ap.add_argument(
        "--val-checks", type=int, default=4, help="validation checks per run (with --val-data)"
    )
    ap.add_argument(
        "--rgb", action="store_true", help="RGB-D input for every model (--vqvae RGB-D too)"
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="runs/planar/label_fraction")
    ap.add_argument("--out", default=str(RESULTS / "planar_label_fraction.json"))
    ap.add_argument(
        "--extra-test-data",
        nargs="+",
        default=None,
        help="further held-out sets: every kept checkpoint is also evaluated on each",
    )
    ap.add_argument(
        "--checkpoint",
        default="kept",
        choices=("kept", "last"),
        help="read each run's kept (validation-picked) weights or its final ones",
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    flags = CornellDataset(args.data).labelled_flags()
    n_labelled = sum(flags)
    out = Path(args.out)
    result = {
        "benchmark": "planar_label_fraction",
        "command": " ".join([sys.executable, *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "seeds": args.seeds,
        "data": args.data,
        "test_data": args.test_data,
        "extra_test_data": args.extra_test_data,
        "val_data": args.val_data,
        "vqvae": args.vqvae,
        "labelled_train_images": n_labelled,
        "train_images": len(flags),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "train_size": args.train_size,
        "train_crop": args.train_crop,
        "train_shift": args.train_shift,
        "rgb": args.rgb,
        "val_checks": args.val_checks,
        "checkpoint": args.checkpoint,
        "runs": {m: {} for m in [*args.models, *args.ablations]},
        "summary": {m: {} for m in [*args.models, *args.ablations]},
        "ablation_fractions": args.ablation_fractions if args.ablations else [],
    }
    for fraction in args.fractions:
        f = f"{fraction:.2f}"
        ablations = [
            a
            for a in args.ablations
            if any(abs(fraction - g) < 1e-9 for g in args.ablation_fractions)
        ]
        for seed in args.seeds:
            for model in [*args.models, *ablations]:
                card = run_one(args, model, fraction, n_labelled, seed)
                if args.checkpoint == "last":
                    card = last_checkpoint(args, model, fraction, seed, card)
                m = card["metrics"]
                runs = result["runs"][model].setdefault(f, {})
                runs[str(seed)] = {
                    "top1_image": m["image"]["top1"],
                    "top5_image": m["image"]["top5"],
                    "top1_gt": m["gt"]["top1"],
                    "labelled_images": card["data"]["labelled_train_images"],
                    "epochs": card["train_config"]["epochs"],
                    "chosen_epoch": card.get("selection", {}).get("chosen_epoch"),
                    "val_top1": card.get("selection", {}).get("val_top1"),
                    "test_images": m["image"]["images"],
                }
                if args.extra_test_data:
                    es = [
                        extra_eval(args, model, fraction, seed, card, d)
                        for d in args.extra_test_data
                    ]
                    runs[str(seed)].update(
                        extra_top1_image=pooled_top1(*(e["image"] for e in es)),
                        extra_top1_gt=pooled_top1(*(e["gt"] for e in es)),
                        extra_test_images=sum(e["image"]["images"] for e in es),
                        pooled_top1_image=pooled_top1(m["image"], *(e["image"] for e in es)),
                        pooled_top1_gt=pooled_top1(m["gt"], *(e["gt"] for e in es)),
                    )
                result["summary"][model][f] = summary(runs)
                result["paired_vs_ggcnn"] = paired_vs_ggcnn(result)
                if args.extra_test_data:
                    result["paired_vs_ggcnn_by_metric"] = {
                        key: paired_vs_ggcnn(result, key)
                        for key in METRICS
                        if key.startswith(("extra_", "pooled_")) or key == "top1_gt"
                    }
                result["load_avg_last"] = [round(x, 2) for x in os.getloadavg()]
                save_json(out, result)
                plot(result, out.with_suffix(".png"))
                print(model, f, seed, runs[str(seed)], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
