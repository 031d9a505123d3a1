"""6-DOF GraspNet: physics success of the 10 best-scored grasps per held-out view after 10
refinement iterations, for several weight folders on the same views and seeds — the top-10
measure of ``graspnet6dof_eval.py`` without the full curves (only the 10 best grasps of
each view are trialled, so more views fit in the time). Writes
``benchmarks/results/graspnet6dof_top10{TAG}.json``.

    .venv/bin/python benchmarks/graspnet6dof_top10.py --views 3 \\
        --weights a=runs/graspnet6dof/train b=runs/graspnet6dof/train150
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import run_header

from grasp_models.checkpoint import save_json
from grasp_models.graspnet6dof.evaluate import EvalConfig, export_eval_set, reproduce_topk
from grasp_models.graspnet6dof.inference import load_graspnet6dof

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="runs/graspnet6dof/data/test")
    ap.add_argument("--views", type=int, default=3, help="views per held-out object")
    ap.add_argument("--weights", nargs="+", required=True, help="NAME=FOLDER (both .pt files)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--min-positives",
        type=int,
        default=0,
        help="leave out held-out objects with fewer positive physics labels (0: none)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    cfg = EvalConfig(
        data=args.data, views=args.views, samples=200, iterations=20, trials=10,
        topk_iteration=10, seed=args.seed, min_positives=args.min_positives,
    )  # fmt: skip
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        eval_set = Path(tmp) / "set.npz"
        info = export_eval_set(cfg, eval_set)
        for item in args.weights:
            name, folder = item.split("=", 1)
            t = time.perf_counter()
            r = reproduce_topk(load_graspnet6dof(folder), eval_set)
            per_object: dict[str, list[int]] = {}
            for v in r["by_view"]:
                per_object.setdefault(v["object"], []).append(v["successes"])
            runs[name] = {
                "weights": folder,
                "top10_success": r["success"],
                "successes": sum(v["successes"] for v in r["by_view"]),
                "trials": sum(len(v["indices"]) for v in r["by_view"]),
                "successes_by_object": per_object,
                "seconds": round(time.perf_counter() - t, 1),
            }
            print(f"{name}: {r['success']:.3f} ({runs[name]['seconds']} s)", flush=True)
    result = {
        **run_header("graspnet6dof_top10", args.threads, load_start),
        "seed": args.seed,
        "data": args.data,
        "views": info["views"],
        "objects_left_out": {
            "min_positives": args.min_positives,
            "names": info["objects_left_out"],
        },
        "config": info["config"],
        "runs": runs,
    }
    save_json(RESULTS / f"graspnet6dof_top10{args.tag}.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
