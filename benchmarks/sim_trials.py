"""Physics grasp-trial throughput on one core, and what the trials say.

Target (issue 3): >= 30 trials/s on one core for single primitive objects. The process is
pinned to one CPU. Objects: test-split primitives (all seven kinds); grasps: per object,
``--grasps`` candidates, half top-down (random yaw, depth and a small offset, as a planar
dataset would propose), half random 6-DOF poses aimed at the object centre (as a 6-DOF
sampler would), in both modes (free-floating and on the table). Reported:

- ``trials_per_s``: all trials (pre-check rejections are cheap and included),
- ``simulated_trials_per_s``: the trials that ran physics only (the slow path),
- ``check_per_s``: the geometric pre-filter alone,
- the same rates per CPU-second of the process (``*_per_cpu_s``): what one free core does,
  independent of how loaded the shared machine is,
- outcome rates (success, collision at approach, empty closing volume, slip).

    .venv/bin/python benchmarks/sim_trials.py [--objects 14] [--grasps 40] [--seed 0]
Writes benchmarks/results/sim_trials.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from sim_common import write_result

from grasp_core.se3 import look_at, make_transform, rot_z
from grasp_sim.objects import object_set
from grasp_sim.trial import (
    check_grasp_geometry,
    run_grasp_trials,
    top_down_grasp,
)


def candidates(obj, n: int, rng: np.random.Generator) -> np.ndarray:
    """Half top-down, half random 6-DOF grasps aimed at the object centre."""
    out = []
    he = obj.half_extents
    for _ in range(n // 2):
        off = rng.uniform(-0.3, 0.3, 3) * he * np.array([1.0, 1.0, 0.0])
        out.append(
            top_down_grasp(
                obj,
                yaw=rng.uniform(-np.pi / 2, np.pi / 2),
                depth=rng.uniform(0.0, 0.04),
                offset=off,
            )
        )
    for _ in range(n - n // 2):
        d = rng.normal(size=3)
        d[2] = abs(d[2]) + 0.2  # from above the equator: reachable on a table
        d /= np.linalg.norm(d)
        standoff = np.linalg.norm(he) * rng.uniform(0.2, 0.9)
        T = look_at(d * standoff, np.zeros(3), up=(0.0, 0.0, 1.0))  # +Z towards the centre
        out.append(T @ make_transform(rot_z(rng.uniform(-np.pi, np.pi))))
    return np.stack(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=14)
    ap.add_argument("--grasps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(args.seed)
    objects = object_set("test", seed=args.seed, count=args.objects)
    grasps = {o.name: candidates(o, args.grasps, rng) for o in objects}
    # compile every trial model first: compiling is a per-object cost, not a per-trial one
    for o in objects:
        for on_table in (False, True):
            check_grasp_geometry(o, grasps[o.name][0], on_table=on_table)
    results = []
    sim_time = sim_cpu = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    for on_table in (False, True):
        for o in objects:
            for k, T in enumerate(grasps[o.name]):
                t1, c1 = time.perf_counter(), time.process_time()
                (r,) = run_grasp_trials(o, T[None], seed=args.seed + k, on_table=on_table)
                if r.simulated:
                    sim_time += time.perf_counter() - t1
                    sim_cpu += time.process_time() - c1
                results.append((o.kind, on_table, r))
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    n_check = 0
    for o in objects:
        for T in grasps[o.name]:
            check_grasp_geometry(o, T)
            n_check += 1
    check_time = time.perf_counter() - t0
    rs = [r for _, _, r in results]
    n_sim = sum(r.simulated for r in rs)

    def rate(sel):
        sel = list(sel)
        return {
            "trials": len(sel),
            "success": float(np.mean([r.success for r in sel])) if sel else 0.0,
            "collision_at_approach": float(np.mean([r.collision_at_approach for r in sel]))
            if sel
            else 0.0,
            "empty_closing_volume": float(np.mean([r.empty_closing_volume for r in sel]))
            if sel
            else 0.0,
            "slipped": float(np.mean([r.slipped for r in sel])) if sel else 0.0,
            "simulated": int(sum(r.simulated for r in sel)),
        }

    by_kind = {
        k: rate(r for kk, _, r in results if kk == k) for k in sorted({k for k, _, _ in results})
    }
    out = {
        "seed": args.seed,
        "objects": len(objects),
        "grasps_per_object": args.grasps,
        "modes": ["free_floating", "on_table"],
        "cores_used": 1,
        "target_trials_per_s": 30.0,
        "trials": len(rs),
        "trials_per_s": len(rs) / total,
        "simulated_trials": n_sim,
        "simulated_trials_per_s": n_sim / sim_time if sim_time else 0.0,
        "check_per_s": n_check / check_time,
        # per CPU-second of this (single-threaded, pinned) process: what one free core does
        "trials_per_cpu_s": len(rs) / total_cpu,
        "simulated_trials_per_cpu_s": n_sim / sim_cpu if sim_cpu else 0.0,
        "outcomes": rate(rs),
        "outcomes_free_floating": rate(r for _, t, r in results if not t),
        "outcomes_on_table": rate(r for _, t, r in results if t),
        "outcomes_by_kind": by_kind,
    }
    path = write_result("sim_trials", out)
    print(
        f"{len(rs)} trials: {out['trials_per_s']:.1f} trials/s overall, "
        f"{out['simulated_trials_per_s']:.1f}/s simulated ({n_sim}), "
        f"pre-check {out['check_per_s']:.0f}/s; success {out['outcomes']['success']:.2f}; "
        f"per CPU-second: {out['trials_per_cpu_s']:.1f} overall, "
        f"{out['simulated_trials_per_cpu_s']:.1f} simulated"
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
