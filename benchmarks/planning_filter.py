"""Feasibility filtering of 200 grasp candidates (IK with pre-grasp and lift + collisions).

Target (issue 7): <= 200 ms median on the 2-core development CPU. Each trial builds a
seeded cluttered table (5 boxes/cylinders, table, bin) and 200 candidates on those
objects (15 % deliberately bad: too wide, inside the table, out of reach), then times
:func:`grasp_planning.grasp_filter.filter_grasps_report` from the home configuration.

    .venv/bin/python benchmarks/planning_filter.py [--scenes 10 --reps 5 --seed 0]
Writes benchmarks/results/planning_filter.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result as write_report

from grasp_planning.grasp_filter import filter_grasps_report
from grasp_planning.robot import make_robot
from grasp_planning.scenarios import cluttered_scene, grasp_candidates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    robot = make_robot("panda")
    times, feasible, reasons = [], [], {}
    for s in range(args.scenes):
        rng = np.random.default_rng(args.seed + s)
        scene, names = cluttered_scene(robot, rng)
        grasps = grasp_candidates(scene, names, args.candidates, rng)
        filter_grasps_report(grasps, robot, scene, robot.home)  # warm-up (caches, imports)
        for _ in range(args.reps):
            t0 = time.perf_counter()
            rep = filter_grasps_report(grasps, robot, scene, robot.home)
            times.append(time.perf_counter() - t0)
        feasible.append(len(rep.ranked))
        for k, v in rep.reasons().items():
            reasons[k] = reasons.get(k, 0) + v
    ms = [1000 * t for t in times]
    report = {
        "seed": args.seed,
        "robot": "panda",
        "candidates_per_scene": args.candidates,
        "scenes": args.scenes,
        "reps_per_scene": args.reps,
        "time_ms": {
            "median": round(statistics.median(ms), 1),
            "p90": round(float(np.percentile(ms, 90)), 1),
            "min": round(min(ms), 1),
            "max": round(max(ms), 1),
        },
        "target_ms": 200,
        "feasible_per_scene": feasible,
        "rejections_total": reasons,
    }
    out = write_report("planning_filter", report)
    print(report["time_ms"], "feasible", feasible, reasons)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
