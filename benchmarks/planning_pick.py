"""Planning one pick: every segment (pre-grasp, approach, lift, place, retreat, home),
collision-checked and time-parameterised.

Targets (issue 7): <= 1 s median; >= 99 % success on reachable targets in a cluttered
scene. Each trial builds a seeded cluttered table (5 objects, table, bin), filters 50
candidates on its objects, and plans the pick of the best-ranked feasible grasp (a
"reachable target": its grasp, pre-grasp and lift passed IK and collision checks). Two
start configurations: ``home`` and ``random`` (a random collision-free configuration with
the TCP above the table, which makes the first segment a real RRTConnect problem).

    .venv/bin/python benchmarks/planning_pick.py [--trials 100 --seed 0]
Writes benchmarks/results/planning_pick.json.
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

from grasp_core.cell import load_layout
from grasp_planning.errors import MotionPlanningError
from grasp_planning.grasp_filter import filter_grasps_report
from grasp_planning.motion import MotionPlanner
from grasp_planning.pick import plan_pick
from grasp_planning.robot import make_robot
from grasp_planning.scenarios import cluttered_scene, grasp_candidates


def random_start(robot, scene, rng: np.random.Generator) -> np.ndarray:
    while True:
        q = robot.random_configurations(1, rng)[0]
        p = robot.fk(q)[:3, 3]
        if p[2] > 0.15 and robot.in_workspace(p) and not scene.in_collision(q):
            return q


def run(kind: str, trials: int, seed: int) -> dict:
    robot = make_robot("panda")
    layout = load_layout()
    times, ok, errors, segs, durations = [], 0, [], [], []
    attempted = 0
    for t in range(trials):
        rng = np.random.default_rng(seed + t)
        scene, names = cluttered_scene(robot, rng)
        q0 = robot.home.copy() if kind == "home" else random_start(robot, scene, rng)
        grasps = grasp_candidates(scene, names, 50, rng, bad_fraction=0.0)
        ranked = filter_grasps_report(grasps, robot, scene, q0, seed=seed + t).ranked
        if not ranked:
            continue
        attempted += 1
        planner = MotionPlanner(robot, scene)
        t0 = time.perf_counter()
        try:
            plan = plan_pick(planner, ranked[0], q0, layout)
            ok += 1
            durations.append(plan.arm_duration)
            segs.append(sum(1 for s in plan.segments if s.trajectory is not None))
        except MotionPlanningError as exc:
            errors.append(f"trial {t}: {exc}")
        times.append(time.perf_counter() - t0)
    ms = [1000 * x for x in times]
    return {
        "start": kind,
        "trials_with_a_feasible_grasp": attempted,
        "success": ok,
        "success_rate": round(ok / max(attempted, 1), 4),
        "planning_time_ms": {
            "median": round(statistics.median(ms), 1),
            "p90": round(float(np.percentile(ms, 90)), 1),
            "max": round(max(ms), 1),
        },
        "arm_motion_s_median": round(statistics.median(durations), 2) if durations else None,
        "arm_segments": sorted(set(segs)),
        "failures": errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    results = {k: run(k, args.trials, args.seed) for k in ("home", "random")}
    for k, r in results.items():
        print(k, {key: v for key, v in r.items() if key != "failures"}, r["failures"][:3])
    out = write_report(
        "planning_pick",
        {
            "seed": args.seed,
            "robot": "panda",
            "targets": {"median_ms": 1000, "success_rate": 0.99},
            "velocity_scaling": 0.3,
            "results": results,
        },
    )
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
