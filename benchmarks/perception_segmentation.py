"""Segmentation quality on simulated scenes with ground truth (issue 4 targets).

Scenes come from the sim's held-out ``test`` object split (primitives: box, cylinder,
sphere, capsule, bottle, mug, bowl), seen by the overhead camera with RealSense-like depth
noise. Each object's cluster is matched to the ground-truth object it overlaps most
(``SimWorld.render_segmentation``); per object:

- precision = cluster points that belong to the object / cluster points;
- recall = object pixels that landed in its cluster / object pixels with a valid depth
  inside the crop box (the same stride-sampled pixel grid the pipeline reads).

An object with no cluster counts as recall 0 (precision undefined, reported as 0).
Suites: ``single`` (one object per scene; target >= 0.95 both) and ``clutter`` (5 objects,
re-placed in the crop box so that their bounding circles are >= ``--gap`` (2.5 cm) apart,
then settled; target
>= 0.90). ``dense`` (5 objects as ``SimWorld.reset`` drops them, 5 mm apart) is reported
for information only.

    MUJOCO_GL=egl .venv/bin/python benchmarks/perception_segmentation.py [--scenes 30]
Writes benchmarks/results/perception_segmentation.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from grasp_core.files import atomic_write_json
from grasp_core.paths import config_path
from grasp_core.se3 import make_transform
from grasp_perception.cloud import crop_mask, depth_to_cloud
from grasp_perception.params import PerceptionParams
from grasp_perception.segmentation import segment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

RESULTS = Path(__file__).resolve().parent / "results" / "perception_segmentation.json"


def evaluate(frame, gt: np.ndarray, params: PerceptionParams, names: list[str]) -> list[dict]:
    """Per ground-truth object: matched cluster's precision and recall (see module doc)."""
    seg = segment(frame, params)
    pts, pix = depth_to_cloud(
        frame.depth, frame.camera, "base", params.pixel_stride, params.depth_min, params.depth_max
    )
    pix = pix[crop_mask(pts, params.crop_min, params.crop_max)]
    gt_flat = gt.ravel()
    sampled = gt_flat[pix]  # ground truth of every pixel the pipeline could use
    out = []
    clusters = [(o, gt_flat[o.pixel_indices]) for o in seg.objects]
    for k, name in enumerate(names):
        n_gt = int(np.count_nonzero(sampled == k))
        best, best_tp = None, 0
        for obj, labels in clusters:
            tp = int(np.count_nonzero(labels == k))
            if tp > best_tp:
                best, best_tp = (obj, labels), tp
        if n_gt == 0:
            continue  # not visible (occluded, outside the crop)
        if best is None:
            out.append({"object": name, "precision": 0.0, "recall": 0.0, "gt_points": n_gt})
            continue
        obj, labels = best
        # the cluster must also be this object's best match (not a merged neighbour)
        out.append(
            {
                "object": name,
                "precision": best_tp / len(labels),
                "recall": best_tp / n_gt,
                "gt_points": n_gt,
                "cluster_points": len(labels),
                "clusters_in_scene": len(seg.objects),
                "warnings": list(seg.warnings),
            }
        )
    return out


def separate(world, rng: np.random.Generator, gap: float, area, tries: int = 50) -> bool:
    """Re-place the objects at random spots >= ``gap`` apart (bounding circles), settle."""
    (x0, x1), (y0, y1) = area
    for _ in range(tries):
        placed: list[tuple[float, float, float]] = []
        for obj in world.objects:
            r = obj.radius
            for _ in range(200):
                xy = rng.uniform([x0 + r, y0 + r], [x1 - r, y1 - r])
                if all(np.hypot(xy[0] - px, xy[1] - py) >= r + pr + gap for px, py, pr in placed):
                    placed.append((float(xy[0]), float(xy[1]), r))
                    break
            else:
                break
        if len(placed) == len(world.objects):
            break
    else:
        return False
    for obj, (x, y, _) in zip(world.objects, placed, strict=True):
        T = world.object_pose(obj.name)
        world.set_object_pose(obj.name, make_transform(T[:3, :3], [x, y, T[2, 3] + 0.002]))
    world.settle()
    return True


def run_suite(kind: str, scenes: int, seed: int, params: PerceptionParams, gap: float) -> dict:
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    per_object = []
    n_obj = 1 if kind == "single" else 5
    pool = object_set("test", seed=seed, count=max(scenes * n_obj, 40))
    rng = np.random.default_rng(seed)
    skipped = 0
    for s in range(scenes):
        objs = [pool[(s * n_obj + i) % len(pool)] for i in range(n_obj)]
        with SimWorld(objs, seed=seed + s, depth_noise=True) as world:
            if kind == "clutter" and not separate(world, rng, gap, ((0.25, 0.75), (-0.27, 0.27))):
                skipped += 1
                continue
            frame = world.render("overhead")
            gt = world.render_segmentation("overhead")
            for r in evaluate(frame, gt, params, [o.name for o in world.objects]):
                r["scene"] = s
                r["kind"] = r["object"].split("_")[-1]
                per_object.append(r)
    prec = np.array([r["precision"] for r in per_object])
    rec = np.array([r["recall"] for r in per_object])
    target = 0.95 if kind == "single" else 0.90
    ok = (prec >= target) & (rec >= target)
    by_kind: dict[str, list[int]] = {}
    for i, r in enumerate(per_object):
        by_kind.setdefault(r["kind"], []).append(i)
    return {
        "scenes": scenes,
        "scenes_skipped": skipped,
        "objects": len(per_object),
        "target": target,
        "precision_mean": float(prec.mean()),
        "precision_min": float(prec.min()),
        "recall_mean": float(rec.mean()),
        "recall_min": float(rec.min()),
        "fraction_meeting_target": float(ok.mean()),
        "by_kind": {
            k: {
                "objects": len(ix),
                "precision_mean": float(prec[ix].mean()),
                "recall_mean": float(rec[ix].mean()),
                "fraction_meeting_target": float(ok[ix].mean()),
            }
            for k, ix in sorted(by_kind.items())
        },
        "failures": [r for r, good in zip(per_object, ok, strict=True) if not good],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=30, help="scenes per suite")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gap", type=float, default=0.025, help="clutter: min gap [m]")
    ap.add_argument("--suites", default="single,clutter,dense")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="param overrides")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    params = PerceptionParams.from_yaml(config_path("perception.yaml"))
    if args.set:
        overrides = dict(kv.split("=", 1) for kv in args.set)
        params = PerceptionParams.from_dict(
            {**params.to_dict(), **{k: float(v) for k, v in overrides.items()}}
        )
    t0 = time.time()
    results = {}
    for kind in args.suites.split(","):
        results[kind] = run_suite(kind, args.scenes, args.seed, params, args.gap)
        summary = {k: v for k, v in results[kind].items() if k not in ("failures", "by_kind")}
        print(kind, json.dumps(summary), flush=True)
    report = {
        "benchmark": "perception_segmentation",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seed": args.seed,
        "machine": machine(),
        "wall_s": time.time() - t0,
        "split": "test",
        "camera": "overhead (sim), DepthNoise defaults",
        "params": params.to_dict(),
        "results": results,
    }
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
