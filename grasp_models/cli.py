"""``grasp`` subcommands of grasp_models: ``datagen-planar``, ``train``, ``eval``.

``grasp train --model NAME`` dispatches to the trainer registered for NAME in
:data:`TRAINERS`; models with their own subcommands (the 6-DOF GraspNet adds
``datagen-6dof`` / ``train-6dof`` in ``grasp_models.graspnet6dof.cli``) are registered
from here when their module exists. Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

PLANAR = ("ggcnn", "ggcnn2", "vqvae", "vqvae_ggcnn")
#: ``--model`` name -> module whose ``train_from_args(args) -> int`` trains it.
TRAINERS: dict[str, str] = {name: "grasp_models.cli" for name in PLANAR}


def json_with_nulls(data, **kwargs) -> str:
    """``data`` as JSON with every NaN float as null (no labelled image to score gives
    NaN, which is not JSON)."""

    def clean(x):
        if isinstance(x, float) and math.isnan(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(data), allow_nan=False, **kwargs)


def _datagen(args: argparse.Namespace) -> int:
    from grasp_models.datasets.synthetic import SynthConfig, generate

    cfg = SynthConfig(
        out=args.out,
        split=args.split,
        objects=args.objects,
        views=args.views,
        unlabelled=args.unlabelled,
        unlabelled_views=args.unlabelled_views,
        unlabelled_first_view=args.unlabelled_first_view,
        seed=args.seed,
        labeller=args.labeller,
        trial_negatives=args.trial_negatives,
        max_negatives=args.max_negatives,
        shard=args.shard,
        shards=args.shards,
        depth_noise=args.depth_noise,
    )
    manifest = generate(cfg, progress=not args.quiet)
    print(json.dumps(manifest["stats"]))
    return 0


def train_from_args(args: argparse.Namespace) -> int:
    from grasp_models.planar.train import TrainConfig, train

    cfg = TrainConfig(
        model=args.model,
        data=args.data,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        width_loss=args.width_loss,
        label_fraction=args.label_fraction,
        test_fraction=args.test_fraction,
        test_data=args.test_data,
        val_data=args.val_data,
        val_every=args.val_every,
        split=args.split,
        seed=args.seed,
        rgb=args.rgb,
        vqvae=args.vqvae,
        threads=args.threads,
        device=args.device,
        channels_last=not args.no_channels_last,
        data_format=args.format,
        size=args.size,
        train_size=args.train_size,
        train_crop=args.train_crop,
        train_shift=args.train_shift,
        init_weights=args.init_weights,
        vq_decoder_lr_scale=args.vq_decoder_lr_scale,
        vq_num_embeddings=args.vq_codes,
        vq_dim=args.vq_dim,
        unlabelled_data=tuple(args.unlabelled_data),
    )
    card = train(cfg, progress=not args.quiet)
    print(json_with_nulls(card.get("metrics", {"final_train_loss": card.get("final_train_loss")})))
    return 0


def _train(args: argparse.Namespace) -> int:
    if not args.no_malloc_tuning:
        from grasp_models.malloc import tune_malloc

        tune_malloc()
    module = importlib.import_module(TRAINERS[args.model])
    return module.train_from_args(args)


def _eval(args: argparse.Namespace) -> int:
    import torch

    from grasp_core.files import file_sha256
    from grasp_core.validation import require_range
    from grasp_models.datasets.scale import dataset_pixels_per_metre
    from grasp_models.metrics import RectangleMetric
    from grasp_models.planar.evaluate import evaluate
    from grasp_models.planar.inference import ARCHS  # the planar grasp models
    from grasp_models.planar.train import open_dataset
    from grasp_models.registry import load_model

    if args.model not in ARCHS:  # the rectangle metric needs image rectangles
        from grasp_core.errors import ValidationError

        other = " (6-DOF: `grasp eval-6dof`)" if args.model == "graspnet6dof" else ""
        raise ValidationError(
            f"--model {args.model!r}: the rectangle metric is for the planar grasp models, "
            f"{', '.join(ARCHS)}{other}"
        )
    metric = RectangleMetric(args.iou, args.angle)
    ks = sorted({1, *(int(require_range("--k", k, 1)) for k in args.k)})
    zoom = None if args.zoom == "auto" else require_range("--zoom", args.zoom, 0.05, 20.0)
    torch.set_num_threads(int(require_range("--threads", args.threads, 1)))
    model = load_model(args.model, args.weights, device=args.device)
    rgb = getattr(model, "in_channels", 1) == 4  # an RGB-D model reads the colour images
    source = open_dataset(args.data, args.format, rgb)
    indices = source.labelled_indices()
    if zoom is None:  # auto: the data's scale (its camera.json) to the model's, or 1
        data_ppm = dataset_pixels_per_metre(source)
        zoom = model.data_zoom(data_ppm)
        if data_ppm is None:
            print(
                f"grasp eval: {args.data} has no camera.json, so its scale is unknown: zoom "
                "1; give --zoom for images of another scale than the model's training data",
                file=sys.stderr,
            )
    result = {
        crop: evaluate(model, source, indices, crop, ks, metric, progress=not args.quiet, zoom=zoom)
        for crop in args.crop
    }
    report = {
        "model": args.model,
        "weights": args.weights or "shipped",
        "weights_sha256": file_sha256(Path(args.weights)) if args.weights else None,
        "data": args.data,
        "format": args.format,
        "results": result,
    }
    text = json_with_nulls(report, indent=2)
    if args.out:
        from grasp_models.checkpoint import save_json

        save_json(Path(args.out), json.loads(text))
    print(text)
    return 0


def _export(args: argparse.Namespace) -> int:
    from grasp_models.checkpoint import load_card
    from grasp_models.datasets import CornellDataset
    from grasp_models.planar.evalset import export_eval_set, ship_weights
    from grasp_models.registry import WEIGHTS_DIR

    eval_set = Path(args.eval_set)
    if args.eval_data:
        # colour crops too when any of the weights takes RGB-D input
        rgb = any(load_card(Path(w)).get("in_channels", 1) == 4 for w in args.weights)
        source = CornellDataset(args.eval_data, load_rgb=rgb)
        n = export_eval_set(source, source.labelled_indices(), eval_set)
        print(f"wrote {n} crops to {eval_set}")
    for weights in args.weights:
        name = json.loads(Path(weights).with_suffix(".json").read_text())["arch"]
        notes = {"generator_commit": args.generator_commit} if args.generator_commit else None
        card = ship_weights(
            Path(weights), name, eval_set, Path(args.dest or WEIGHTS_DIR), data_notes=notes
        )
        print(name, json.dumps(card["shipped_eval"]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datagen-planar", help="render a synthetic Cornell-format grasp dataset")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--split",
        default="train",
        choices=("train", "val", "test"),
        help="object split to draw from (test: held out, never trained on)",
    )
    p.add_argument("--objects", type=int, default=100, help="labelled objects")
    p.add_argument("--views", type=int, default=2, help="poses per labelled object")
    p.add_argument("--unlabelled", type=int, default=0, help="extra unlabelled objects")
    p.add_argument("--unlabelled-views", type=int, default=1, help="poses per unlabelled object")
    p.add_argument(
        "--unlabelled-first-view",
        type=int,
        default=0,
        help="first pose of the unlabelled objects; with --objects 0 and a labelled set's "
        "--seed they are its objects, and its --views gives poses it does not have",
    )
    p.add_argument("--seed", type=int, default=0, help="object draw, poses and trials")
    p.add_argument(
        "--labeller",
        default="physics",
        choices=("physics", "geometric"),
        help="physics: every label from a grasp trial (default); geometric: antipodal check",
    )
    p.add_argument(
        "--trial-negatives",
        type=int,
        default=120,
        help="geometric negatives trialled per view (at most --max-negatives)",
    )
    p.add_argument(
        "--max-negatives",
        type=int,
        default=120,
        help="geometric negatives kept per view (thinned: 4 px and 15 deg apart)",
    )
    p.add_argument("--depth-noise", action="store_true", help="RealSense-like depth noise")
    p.add_argument(
        "--shard", type=int, default=0, help="render images with number %% shards == shard"
    )
    p.add_argument("--shards", type=int, default=1, help="processes rendering one dataset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_datagen)

    p = sub.add_parser(
        "train", help="train a grasp model (planar: ggcnn, ggcnn2, vqvae, vqvae_ggcnn)"
    )
    p.add_argument(
        "--model",
        required=True,
        choices=sorted(TRAINERS),
        help="network; vqvae is the VQ-VAE that vqvae_ggcnn's --vqvae takes",
    )
    p.add_argument("--data", required=True, help="dataset folder (--format's layout)")
    p.add_argument(
        "--format",
        default="cornell",
        choices=("cornell", "jacquard"),
        help="layout of --data, --test-data and --val-data",
    )
    p.add_argument("--out", required=True, help="weights file (.pt); card beside it")
    p.add_argument("--test-data", default=None, help="held-out dataset (else split --data)")
    p.add_argument(
        "--val-data", default=None, help="validation dataset (own objects): keep the best epoch"
    )
    p.add_argument("--val-every", type=int, default=1, help="epochs between validations")
    p.add_argument(
        "--epochs",
        type=int,
        default=20,
        help="total epochs; a planar run resumes from the checkpoint in its run folder "
        "(w.pt: w.run/) when the other options match (--out aside): raise it to extend",
    )
    p.add_argument("--batch-size", type=int, default=8, help="images per training step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument(
        "--lr-schedule",
        default="constant",
        choices=("constant", "cosine"),
        help="constant lr, or lr decayed to 0 along a half cosine over --epochs",
    )
    p.add_argument(
        "--width-loss",
        default="all",
        choices=("all", "grasp"),
        help="width MSE over all pixels (GG-CNN's) or only inside the grasp regions",
    )
    p.add_argument(
        "--label-fraction",
        type=float,
        default=1.0,
        help="keep the labels of this seeded fraction of the labelled training images "
        "(0 < f <= 1; the rest count as unlabelled)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="without --test-data: the share of --data held out for testing",
    )
    p.add_argument(
        "--split",
        default="object",
        choices=("image", "object"),
        help="without --test-data: hold out whole objects, or single images",
    )
    p.add_argument("--seed", type=int, default=0, help="initialisation, split, label subset")
    p.add_argument("--rgb", action="store_true", help="RGB-D input (default depth only)")
    p.add_argument(
        "--vqvae",
        default=None,
        help="trained VQ-VAE (.pt) for vqvae_ggcnn (not when fine-tuning with --init-weights)",
    )
    p.add_argument(
        "--vq-codes",
        type=int,
        default=128,
        help="vqvae: codebook size K (the vqvae_ggcnn takes its VQ-VAE's); the paper gives none",
    )
    p.add_argument(
        "--vq-dim",
        type=int,
        default=16,
        help="vqvae: dimension D of each code (the vqvae_ggcnn takes its VQ-VAE's)",
    )
    p.add_argument(
        "--vq-decoder-lr-scale",
        type=float,
        default=1.0,
        help="vqvae_ggcnn: the pretrained decoder learns at this multiple of --lr (the new "
        "GG-CNN at --lr); 1 trains both alike, as the paper",
    )
    p.add_argument(
        "--unlabelled-data",
        nargs="+",
        default=[],
        metavar="DIR",
        help="vqvae: more Cornell-format folders whose images it also trains on (labels "
        "unused), e.g. written by `grasp datagen-planar --objects 0 --unlabelled N`",
    )
    p.add_argument(
        "--init-weights",
        default=None,
        help="start from these weights (.pt, card beside; same --model) instead of a "
        "random initialisation: fine-tune, e.g. grasp_models/weights/ggcnn.pt on your data",
    )
    p.add_argument("--size", type=int, default=300, help="inference/eval crop [px]")
    p.add_argument("--train-size", type=int, default=160, help="training patch [px]")
    p.add_argument(
        "--train-crop",
        default="gt",
        choices=("gt", "image"),
        help="grasp models: patches around the labels (gt) or blind-style crops (image)",
    )
    p.add_argument(
        "--train-shift", type=float, default=30.0, help="random crop shift [px] in training"
    )
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda")
    p.add_argument(
        "--no-malloc-tuning",
        action="store_true",
        help="keep glibc's malloc defaults (see grasp_models/malloc.py)",
    )
    p.add_argument(
        "--no-channels-last",
        action="store_true",
        help="planar models on the CPU: train in PyTorch's default memory layout, not "
        "channels-last (same arithmetic up to rounding; a GG-CNN epoch ~1.2x slower)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_train)

    p = sub.add_parser("eval", help="rectangle-metric evaluation of a planar model")
    p.add_argument("--model", required=True, help="a planar grasp model, e.g. ggcnn, vqvae_ggcnn")
    p.add_argument("--weights", default=None, help="weights (.pt); default: shipped")
    p.add_argument("--data", required=True, help="dataset folder; its labelled images are read")
    p.add_argument(
        "--format", default="cornell", choices=("cornell", "jacquard"), help="layout of --data"
    )
    p.add_argument(
        "--zoom",
        default="auto",
        help="scale images by this in their crops; auto: the data's camera.json scale to "
        "the model card's pixels_per_metre, as the detector zooms frames (1 without both; "
        "Jacquard's 1024 px images have none: give one)",
    )
    p.add_argument(
        "--crop",
        nargs="+",
        default=["image", "gt"],
        choices=("image", "gt"),
        help="blind crops centred on the image, and/or crops centred on the ground truth "
        "(for comparison with published numbers)",
    )
    p.add_argument("--iou", type=float, default=0.25, help="IoU threshold")
    p.add_argument("--angle", type=float, default=30.0, help="angle threshold [deg]")
    p.add_argument("--k", type=int, nargs="+", default=[1, 5], help="top-k values")
    p.add_argument("--out", default=None, help="write the JSON result here")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_eval)

    p = sub.add_parser("export-planar", help="ship trained planar weights with an eval set")
    p.add_argument("--weights", nargs="+", required=True, help="trained .pt files (cards beside)")
    p.add_argument("--eval-set", required=True, help=".npz evaluation set (written if --eval-data)")
    p.add_argument("--eval-data", default=None, help="held-out dataset to export the set from")
    p.add_argument("--dest", default=None, help="folder (default: grasp_models/weights)")
    p.add_argument(
        "--generator-commit", default=None, help="git commit that generated the training data"
    )
    p.set_defaults(handler=_export)

    if importlib.util.find_spec("grasp_models.graspnet6dof") is not None and (
        importlib.util.find_spec("grasp_models.graspnet6dof.cli") is not None
    ):
        importlib.import_module("grasp_models.graspnet6dof.cli").register(sub)


if __name__ == "__main__":
    from grasp_bringup.cli import main

    sys.exit(main())
