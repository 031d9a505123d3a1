"""6-DOF GraspNet data generation throughput (issue 6 target: >= 100,000 labelled grasps
per hour on the 2-core CPU). Generates ``--count`` train-split objects into a temporary
folder with ``--workers`` processes and writes benchmarks/results/graspnet6dof_datagen.json.

    .venv/bin/python benchmarks/graspnet6dof_datagen.py --count 8 --workers 2

"Labelled" counts every candidate that got a label (pre-check rejects are failures
without physics, as in the paper's pipeline); "simulated" counts physics trials.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from grasp_models.checkpoint import save_json
from grasp_models.graspnet6dof.datagen import DatagenConfig, generate

OUT = Path(__file__).resolve().parent / "results" / "graspnet6dof_datagen.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--candidates", type=int, default=600)
    ap.add_argument("--perturbed", type=int, default=300)
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    cfg = DatagenConfig(candidates=args.candidates, perturbed=args.perturbed, views=args.views)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = generate("train", Path(tmp), args.count, args.seed, args.workers, cfg, False)
        wall = time.perf_counter() - t0
    rows = list(summary["objects"].values())
    grasps = sum(r["grasps"] for r in rows)
    simulated = sum(r["simulated"] for r in rows)
    result = {
        "benchmark": "graspnet6dof_datagen",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "command": " ".join([sys.executable, *sys.argv]),
        "seed": args.seed,
        "config": summary["config"],
        "workers": args.workers,
        "objects": len(rows),
        "wall_s": round(wall, 1),
        "labelled_grasps": grasps,
        "simulated_grasps": simulated,
        "positives": sum(r["positives"] for r in rows),
        "labelled_grasps_per_hour": round(grasps / wall * 3600),
        "simulated_grasps_per_hour": round(simulated / wall * 3600),
        "target_labelled_per_hour": 100_000,
        "meets_target": grasps / wall * 3600 >= 100_000,
        "per_object": rows,
    }
    save_json(OUT, result)
    keys = ("wall_s", "labelled_grasps_per_hour", "simulated_grasps_per_hour", "meets_target")
    print(json.dumps({k: result[k] for k in keys}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
