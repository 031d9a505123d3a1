"""Detection time against torch's CPU thread count when other work shares the cores.

The embedded graph runs the simulator, the renderer and every node in one process; a
robot runs a camera driver, MoveIt and rviz beside the detector. This times one
detection per model (6-DOF GraspNet: ``propose`` on the speed benchmark's cloud, 200
samples and 10 refinement steps; GG-CNN: ``detect`` on a rendered 640x480 frame) with
torch at 1 and 2 threads, alone, beside a busy thread in the same process (MuJoCo steps
and Python, as the simulator's loop) and beside a busy process; every configuration once
with OpenMP's default waiting (workers spin) and once with ``OMP_WAIT_POLICY=PASSIVE``
(workers sleep; it must be set before torch starts, so each policy runs in a child
process). Rounds alternate the thread counts so both see the same load.

    .venv/bin/python benchmarks/detector_threads.py [--reps 5] [--rounds 2]

Writes benchmarks/results/detector_threads.json; the node's ``threads`` default
(``grasp_models.node``) rests on it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import RESULTS_DIR, write_result

NEIGHBOURS = ("none", "thread", "process")
POLICIES = ("default", "passive")


def busy(stop) -> None:
    """Keep one core busy the way the simulator's loop does: MuJoCo steps, then Python."""
    import mujoco

    xml = "<mujoco><worldbody><body><freejoint/><geom size='.05'/></body></worldbody></mujoco>"
    m = mujoco.MjModel.from_xml_string(xml)
    d = mujoco.MjData(m)
    while not stop.is_set():
        for _ in range(50):
            mujoco.mj_step(m, d)
        sum(i * i for i in range(2000))


class Neighbour:
    """``none``, a busy ``thread`` in this process, or a busy ``process``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._stop = mp.Event() if kind == "process" else threading.Event()
        target = {"thread": threading.Thread, "process": mp.Process}.get(kind)
        self._worker = target(target=busy, args=(self._stop,), daemon=True) if target else None

    def __enter__(self) -> Neighbour:
        if self._worker is not None:
            self._worker.start()
            time.sleep(0.5)  # let it reach its loop
        return self

    def __exit__(self, *exc: object) -> None:
        if self._worker is not None:
            self._stop.set()
            self._worker.join()


def detectors() -> dict:
    """Per model a call that runs one detection (shipped weights; timing does not depend
    on the values)."""
    import numpy as np
    from graspnet6dof_speed import benchmark_cloud

    from grasp_core import CameraModel
    from grasp_core.se3 import look_at
    from grasp_models.registry import load_model
    from grasp_perception.synthetic import SyntheticBox, SyntheticScene, render

    six = load_model("graspnet6dof", device="cpu")
    cloud = benchmark_cloud(0)
    planar = load_model("ggcnn", device="cpu")
    planar.workspace_center_base = (0.5, 0.0, 0.0)
    T = look_at(np.array([0.5, 0.0, 0.8]), np.array([0.5, 0.0, 0.0]), up=(1.0, 0.0, 0.0))
    cam = CameraModel.from_intrinsics(615, 615, 319.5, 239.5, 640, 480, T_base_camera=T)
    box = SyntheticBox((0.52, 0.03), (0.03, 0.07, 0.06))
    frame = render(SyntheticScene(boxes=(box,)), cam)[0]
    return {
        "graspnet6dof": (lambda: six.propose(cloud), 1),
        "ggcnn": (lambda: planar.detect(frame, max_grasps=10), 20),
    }


def child(args: argparse.Namespace) -> dict:
    """One policy (this process's environment): median seconds per model, neighbour and
    thread count, rounds alternating the thread counts."""
    import torch

    runs = detectors()
    samples: dict = {}
    for model, (call, per_sample) in runs.items():
        for threads in (1, 2):  # warm-up
            torch.set_num_threads(threads)
            call()
        for neighbour in NEIGHBOURS:
            with Neighbour(neighbour):
                for r in range(args.rounds):
                    for threads in (1, 2) if r % 2 == 0 else (2, 1):
                        torch.set_num_threads(threads)
                        for _ in range(args.reps):
                            t = time.perf_counter()
                            for _ in range(per_sample):
                                call()
                            dt = (time.perf_counter() - t) / per_sample
                            samples.setdefault(model, {}).setdefault(neighbour, {}).setdefault(
                                str(threads), []
                            ).append(dt)
    out: dict = {}
    for model, by_n in samples.items():
        for neighbour, by_t in by_n.items():
            cell = {t: {"median_ms": statistics.median(v) * 1e3, "ms": [x * 1e3 for x in v]}
                    for t, v in by_t.items()}  # fmt: skip
            cell["ratio_2_over_1"] = cell["2"]["median_ms"] / cell["1"]["median_ms"]
            out.setdefault(model, {})[neighbour] = cell
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5, help="timed samples per round and setting")
    ap.add_argument("--rounds", type=int, default=2, help="rounds alternating 1 and 2 threads")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "detector_threads.json")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0
    result: dict = {"reps": args.reps, "rounds": args.rounds, "cpus": len(os.sched_getaffinity(0)),
                    "load_avg_before": os.getloadavg(), "by_policy": {}}  # fmt: skip
    for policy in POLICIES:
        env = dict(os.environ)
        env.pop("OMP_WAIT_POLICY", None)
        if policy == "passive":
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        cmd = [sys.executable, __file__, "--child", "--reps", str(args.reps),
               "--rounds", str(args.rounds)]  # fmt: skip
        t0 = time.monotonic()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        by_model = json.loads(done.stdout.strip().splitlines()[-1])
        result["by_policy"][policy] = {"wall_s": time.monotonic() - t0, **by_model}
        for model, by_n in by_model.items():
            row = "  ".join(
                f"{n}: 1 thr {c['1']['median_ms']:.0f} ms, 2 thr {c['2']['median_ms']:.0f} ms"
                for n, c in by_n.items()
            )
            print(f"[{policy}] {model}: {row}", flush=True)
    path = write_result("detector_threads", result, args.out, load_avg_after=os.getloadavg())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
