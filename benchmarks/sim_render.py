"""Rendering speed of the simulated RealSense: 640x480 colour + depth frames per second.

Target (issue 3): >= 20 frames/s on the 2-core CPU. Scene: the cell with 5 test-split
objects at rest; times ``SimWorld.render("overhead")`` (colour + depth, one physics state)
after a warm-up, plus depth only, with the depth noise model, the wrist camera and
segmentation.

    MUJOCO_GL=egl .venv/bin/python benchmarks/sim_render.py [--frames 100] [--seed 0]
Writes benchmarks/results/sim_render.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_common import write_result

from grasp_sim.objects import object_set
from grasp_sim.world import SimWorld


def _time(fn, frames: int) -> dict:
    for _ in range(5):
        fn()
    times = []
    c0 = time.process_time()
    for _ in range(frames):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    cpu = time.process_time() - c0
    return {
        "frames": frames,
        "fps": frames / sum(times),
        "cpu_ms_per_frame": 1e3 * cpu / frames,  # all threads (Mesa llvmpipe may use several)
        "median_ms": 1e3 * statistics.median(times),
        "p90_ms": 1e3 * sorted(times)[int(0.9 * frames)],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    objects = object_set("test", seed=args.seed, count=5)
    cases = {}
    with SimWorld(objects, seed=args.seed) as world:
        cases["overhead_color_depth"] = _time(lambda: world.render("overhead"), args.frames)
        cases["overhead_depth_only"] = _time(
            lambda: world.render("overhead", color=False), args.frames
        )
        cases["wrist_color_depth"] = _time(lambda: world.render("wrist"), args.frames)
        cases["segmentation"] = _time(lambda: world.render_segmentation("overhead"), args.frames)
    with SimWorld(objects, seed=args.seed, depth_noise=True) as world:
        cases["overhead_color_depth_noise"] = _time(lambda: world.render("overhead"), args.frames)
    out = write_result(
        "sim_render",
        {
            "seed": args.seed,
            "objects": len(objects),
            "size": [640, 480],
            "target_fps": 20.0,
            "cases": cases,
        },
    )
    for name, c in cases.items():
        print(
            f"{name:30s} {c['fps']:6.1f} fps  median {c['median_ms']:.1f} ms  "
            f"cpu {c['cpu_ms_per_frame']:.1f} ms/frame"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
