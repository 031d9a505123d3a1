"""``grasp datagen-6dof``, ``grasp train-6dof``, ``grasp eval-6dof`` (registered by
grasp_models.cli). Heavy imports happen inside the handlers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _datagen(args: argparse.Namespace) -> int:
    from grasp_models.graspnet6dof.datagen import DatagenConfig, generate

    cfg = DatagenConfig(candidates=args.candidates, perturbed=args.perturbed, views=args.views)
    summary = generate(
        args.split, Path(args.out), args.count, args.seed, args.workers, cfg, not args.quiet
    )
    keys = ("total_grasps", "total_positives", "objects_without_positives", "last_run")
    print(json.dumps({k: summary[k] for k in keys}, indent=1))
    return 0


def _train(args: argparse.Namespace) -> int:
    from grasp_models.graspnet6dof.train import TrainConfig, train

    cfg = TrainConfig(
        model=args.model,
        data=args.data,
        out=args.out,
        steps=args.steps,
        minutes=args.minutes,
        lr=args.lr,
        latent_size=args.latent_size,
        grasps_per_cloud=args.grasps_per_cloud,
        clouds_per_step=args.clouds_per_step,
        seed=args.seed,
        threads=args.threads,
        bf16=args.bf16,
        eval_mix=tuple(args.eval_mix),
    )
    train(cfg)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from grasp_models.graspnet6dof.evaluate import EvalConfig, evaluate

    cfg = EvalConfig(
        data=args.data,
        views=args.views,
        samples=args.samples,
        iterations=args.iterations,
        seed=args.seed,
        trials=args.trials,
        min_positives=args.min_positives,
    )
    result = evaluate(cfg, sampler=args.sampler, evaluator=args.evaluator)
    print(json.dumps(result["summary"], indent=1))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datagen-6dof", help="physics-labelled 6-DOF grasp data (ACRONYM HDF5)")
    p.add_argument(
        "--split",
        default="train",
        choices=("train", "val", "test"),
        help="object split to draw from (test: held out, never trained on)",
    )
    p.add_argument("--out", required=True, help="output folder (one .h5 per object)")
    p.add_argument("--count", type=int, default=100, help="objects of the split")
    p.add_argument("--seed", type=int, default=0, help="object draw, candidates and views")
    p.add_argument("--workers", type=int, default=2, help="processes running the trials")
    p.add_argument("--candidates", type=int, default=400, help="surface candidates per object")
    p.add_argument("--perturbed", type=int, default=200, help="perturbed positives per object")
    p.add_argument("--views", type=int, default=8, help="rendered partial clouds per object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_datagen)

    p = sub.add_parser("train-6dof", help="train the 6-DOF GraspNet sampler or evaluator")
    p.add_argument(
        "--model",
        required=True,
        choices=("vae", "evaluator"),
        help="the grasp sampler (VAE) or the grasp evaluator",
    )
    p.add_argument("--data", required=True, help="datagen-6dof output folder")
    p.add_argument("--out", required=True, help="checkpoint path (.pt); resumes if it exists")
    p.add_argument("--steps", type=int, default=2000, help="training steps in all")
    p.add_argument(
        "--minutes", type=float, default=20.0, help="wall-clock budget; stops at whichever first"
    )
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument(
        "--latent-size", type=int, default=2, help="vae: latent dimensions (the paper's 2)"
    )
    p.add_argument("--grasps-per-cloud", type=int, default=64, help="grasps of each batch cloud")
    p.add_argument("--clouds-per-step", type=int, default=2, help="point clouds per batch")
    p.add_argument("--seed", type=int, default=0, help="initialisation and batches")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--bf16", action="store_true", help="evaluator under CPU bf16 autocast")
    p.add_argument(
        "--eval-mix",
        type=float,
        nargs=3,
        default=[0.3, 0.3, 0.4],
        metavar=("POS", "NEG", "HARD"),
        help="evaluator batch fractions: positives, negatives, hard negatives (paper 0.3 0.3 0.4)",
    )
    p.set_defaults(handler=_train)

    p = sub.add_parser("eval-6dof", help="held-out success / coverage of the 6-DOF GraspNet")
    p.add_argument("--data", required=True, help="datagen-6dof folder of held-out objects")
    p.add_argument(
        "--sampler",
        default=None,
        help="sampler (VAE) weights: a .pt of train-6dof, or a folder holding "
        "graspnet6dof_vae.pt (default: the shipped ones)",
    )
    p.add_argument(
        "--evaluator",
        default=None,
        help="evaluator weights, a .pt of train-6dof (default: graspnet6dof_evaluator.pt "
        "beside the sampler)",
    )
    p.add_argument("--views", type=int, default=2, help="views per object")
    p.add_argument("--samples", type=int, default=200, help="grasps sampled per view")
    p.add_argument(
        "--iterations", type=int, default=10, help="gradient refinement steps of each grasp"
    )
    p.add_argument("--trials", type=int, default=10, help="top grasps trialled per view")
    p.add_argument("--seed", type=int, default=0, help="views, samples and trials")
    p.add_argument(
        "--min-positives",
        type=int,
        default=0,
        help="leave out objects with fewer positive physics labels (default: keep all)",
    )
    p.set_defaults(handler=_eval)
