"""6-DOF GraspNet speed: 200 latent samples + 10 refinement iterations on a 1024-point
cloud (issue 6 target: <= 1.0 s median), the reference evaluator path (autograd through
the modules, bf16 autocast) against the fast one (``GraspNet6DofParams.fast``), side by
side in one run: for each thread count, rounds alternate reference and fast calls, so
both see the same load; the ratio fast / reference is the comparable number on a shared
machine. Writes benchmarks/results/graspnet6dof_speed.json.

    .venv/bin/python benchmarks/graspnet6dof_speed.py [--weights DIR] [--rounds 11] [--threads 1 2]

Uses the shipped weights when present (timing does not depend on the values), else
untrained networks of the same architecture. Also records how far the fast path's
poses and scores are from the reference path's on the benchmark cloud, and times the
parts (sampling, object encoding, one refinement iteration, set-abstraction primitives).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

import numpy as np
import torch
from common import RESULTS_DIR, write_result

from grasp_models.errors import CheckpointError
from grasp_models.graspnet6dof.clouds import prepare_cloud
from grasp_models.graspnet6dof.evaluator import GraspEvaluator
from grasp_models.graspnet6dof.inference import GraspNet6Dof, GraspNet6DofParams, load_graspnet6dof
from grasp_models.graspnet6dof.pointnet2 import ball_query, farthest_point_sample
from grasp_models.graspnet6dof.refine import context, gradient_step
from grasp_models.graspnet6dof.vae import GraspSamplerVAE

TARGET_S = 1.0


def _time(fn) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def _median(fn, repeats: int) -> float:
    return float(np.median([_time(fn)[0] for _ in range(repeats)]))


def benchmark_cloud(seed: int) -> np.ndarray:
    """A partial (half) view of a 8 x 6 x 12 cm ellipsoid at the table, 2,000 points."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(4000, 3))
    pts = u / np.linalg.norm(u, axis=1, keepdims=True) * [0.04, 0.03, 0.06] + [0.5, 0.0, 0.06]
    return pts[pts[:, 0] < 0.5]


def side_by_side(model: GraspNet6Dof, pts: np.ndarray, params: GraspNet6DofParams, rounds: int):
    """Alternating reference / fast propose() calls; per path the wall and CPU times."""
    paths = {"reference": replace(params, fast=False), "fast": params}
    times = {k: {"wall_s": [], "cpu_s": []} for k in paths}
    for p in paths.values():  # warm-up
        model.propose(pts, p)
    for r in range(rounds):
        order = list(paths) if r % 2 == 0 else list(paths)[::-1]
        for name in order:
            wall, cpu = _time(lambda p=paths[name]: model.propose(pts, p))
            times[name]["wall_s"].append(wall)
            times[name]["cpu_s"].append(cpu)
    out = {}
    for name, t in times.items():
        out[name] = {
            "median_s": float(np.median(t["wall_s"])),
            "min_s": float(np.min(t["wall_s"])),
            "median_process_cpu_s": float(np.median(t["cpu_s"])),
            **t,
        }
    out["ratio_fast_over_reference_median"] = out["fast"]["median_s"] / out["reference"]["median_s"]
    out["ratio_fast_over_reference_min"] = out["fast"]["min_s"] / out["reference"]["min_s"]
    out["ratio_fast_over_reference_cpu"] = (
        out["fast"]["median_process_cpu_s"] / out["reference"]["median_process_cpu_s"]
    )
    out["fast_meets_target"] = out["fast"]["median_s"] <= TARGET_S
    return out


def agreement(model: GraspNet6Dof, pts: np.ndarray, params: GraspNet6DofParams) -> dict:
    """Fast vs reference on the benchmark cloud, fp32 and bf16, same seed."""
    out = {}
    fp32 = replace(params, precision="fp32")
    base = model.propose(pts, replace(fp32, fast=False))
    for prec in ("fp32", "bf16"):
        p = replace(params, precision=prec)
        ref = base if prec == "fp32" else model.propose(pts, replace(p, fast=False))
        fast = model.propose(pts, p)
        d = np.abs(ref.T_centroid_grasp - fast.T_centroid_grasp).max((1, 2))
        out[prec] = {
            "fraction_poses_within_1e-4": float((d < 1e-4).mean()),
            "max_pose_difference": float(d.max()),
            "fraction_scores_within_1e-3": float((np.abs(ref.scores - fast.scores) < 1e-3).mean()),
            "mean_score_reference": float(ref.scores.mean()),
            "mean_score_fast": float(fast.scores.mean()),
        }
    # bf16 error of each path against the fp32 reference, on the same (unrefined) grasps
    x = torch.from_numpy(prepare_cloud(pts, np.random.default_rng(0))[0])[None]
    ev = model.evaluator
    with torch.no_grad():
        T = model.sampler.decode_feature(model.sampler.cloud_feature(x), torch.randn(200, 2))
        ctx = ev.encode_object(x)
        s32 = torch.sigmoid(ev.forward_context(ctx, T))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            s_ref16 = torch.sigmoid(ev.forward_context(ctx, T).float())
        s_fast16 = torch.sigmoid(ev.forward_fast(ev.fast_context(ctx, torch.bfloat16), T))
    out["bf16"]["max_score_error_vs_fp32_reference_before_refinement"] = {
        "reference_bf16": float((s_ref16 - s32).abs().max()),
        "fast_bf16": float((s_fast16 - s32).abs().max()),
    }
    return out


def parts(model: GraspNet6Dof, pts: np.ndarray, params: GraspNet6DofParams, repeats: int) -> dict:
    cloud, _ = prepare_cloud(pts, np.random.default_rng(0))
    x = torch.from_numpy(cloud)[None]
    z = torch.randn(params.num_samples, model.sampler.latent_size)
    with torch.no_grad():
        T = model.sampler.decode_feature(model.sampler.cloud_feature(x), z)
        ctx = model.evaluator.encode_object(x)

    def sample():
        with torch.no_grad():
            model.sampler.decode_feature(model.sampler.cloud_feature(x), z)

    def encode():
        with torch.no_grad():
            model.evaluator.encode_object(x)

    ref_cfg = replace(params.refine_config(), bf16=model._bf16(params), fast=False)
    fast_cfg = replace(ref_cfg, fast=True)
    fctx = context(model.evaluator, ctx, fast_cfg)
    return {
        "sample_200_s": _median(sample, repeats),
        "evaluator_object_encoding_s": _median(encode, repeats),
        "refinement_iteration_reference_s": _median(
            lambda: gradient_step(model.evaluator, ctx, T, ref_cfg), repeats
        ),
        "refinement_iteration_fast_s": _median(
            lambda: gradient_step(model.evaluator, fctx, T, fast_cfg), repeats
        ),
        "fps_128_of_1024_s": _median(lambda: farthest_point_sample(x, 128), repeats),
        "ball_query_1200x1024_s": _median(
            lambda: ball_query(T[:, None, :3, 3].expand(-1, 6, -1), x[0], 0.02, 16), repeats
        ),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    ap.add_argument("--rounds", type=int, default=11, help="alternating rounds per thread count")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    params = GraspNet6DofParams(num_samples=args.samples, iterations=args.iterations, threshold=0.0)
    try:
        model = load_graspnet6dof(args.weights, params=params)
        weights = "shipped" if args.weights is None else args.weights
    except CheckpointError:
        model = GraspNet6Dof(GraspSamplerVAE(2), GraspEvaluator(), params)
        weights = "untrained (same architecture)"
    pts = benchmark_cloud(args.seed)
    load_start = os.getloadavg()
    by_threads = {}
    for n in args.threads:
        torch.set_num_threads(n)
        res = side_by_side(model, pts, params, args.rounds)
        res["parts_median_s"] = parts(model, pts, params, max(3, args.rounds // 2))
        res["load_average_after"] = os.getloadavg()
        by_threads[str(n)] = res
    torch.set_num_threads(1)
    result = {
        "seed": args.seed,
        "weights": weights,
        "precision": params.precision,
        "bf16_native": model._bf16(params),
        "torch": torch.__version__,
        "input_points": int(len(pts)),
        "network_points": 1024,
        "samples": args.samples,
        "iterations": args.iterations,
        "rounds": args.rounds,
        "target_s": TARGET_S,
        "load_average_at_start": load_start,
        "load_average_at_end": os.getloadavg(),
        "note": "wall times depend on the machine's load; compare the two paths by their "
        "ratio (same rounds, alternating order); process CPU time / threads is the "
        "uncontended lower bound",
        "by_threads": by_threads,
        "agreement_fast_vs_reference": agreement(model, pts, params),
    }
    out = RESULTS_DIR / f"graspnet6dof_speed{args.tag}.json"
    write_result("graspnet6dof_speed", result, out=out)
    summary = {
        n: {
            "reference_median_s": r["reference"]["median_s"],
            "fast_median_s": r["fast"]["median_s"],
            "ratio": r["ratio_fast_over_reference_median"],
            "fast_cpu_s": r["fast"]["median_process_cpu_s"],
        }
        for n, r in by_threads.items()
    }
    print(json.dumps({"by_threads": summary, "load": os.getloadavg()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
