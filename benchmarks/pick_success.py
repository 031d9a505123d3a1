"""Closed-loop pick-and-place success through the full ROS 2 graph in MuJoCo.

Modes (any combination; clutter and latency: one graph per mode and model, /sim/reset
between episodes):
  --single N    N trials, each a fresh graph with one held-out object (kinds cycle
                through --kinds, seed + i), one attempt each: success = placed in the
                bin (lifted and placed).
  --clutter M   M episodes of --objects objects (default 5), --budget attempts (default 8):
                fraction of objects cleared into the bin.
  --latency S   S seconds of the running graph: camera frame published -> grasp
                candidates received (wall clock), and whether it grows (a frame backlog).

    .venv/bin/python benchmarks/pick_success.py --model ggcnn --single 50
    .venv/bin/python benchmarks/pick_success.py --model ggcnn graspnet6dof --clutter 10 --latency 30

Writes benchmarks/results/pick_success.json (or --out), merging with what is there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from grasp_bringup.demo import EpisodeOptions, PickSession, isolate_domain
from grasp_bringup.report import write_json

RESULTS = Path(__file__).resolve().parent / "results" / "pick_success.json"


def single(model: str, args: argparse.Namespace) -> dict:
    """Trial ``i``: a fresh graph with one object of kind ``kinds[i % len(kinds)]`` drawn
    with seed ``seed + i`` (so every trial is a different held-out object), one attempt."""
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    trials = []
    for i in range(args.single):
        kind = kinds[i % len(kinds)]
        opts = EpisodeOptions(model=model, objects=1, object_set=args.object_set,
                              seed=args.seed + i, object_kinds=kind, real_time_factor=args.rtf,
                              record=False, processes=args.processes)  # fmt: skip
        t0 = time.monotonic()
        with PickSession(opts, log=lambda s: None) as session:
            attempts, n = session.episode(budget=1)
        a = attempts[0] if attempts else None
        trials.append({"trial": i, "kind": kind, "seed": args.seed + i, "objects": n,
                       "outcome": a.outcome if a else "none", "object": a.object if a else "",
                       "reason": a.reason if a else "", "timings": a.timings if a else {},
                       "wall_s": time.monotonic() - t0})  # fmt: skip
        ok = sum(t["outcome"] == "placed" for t in trials)
        print(f"[{model} single] trial {i + 1}/{args.single} ({kind}, seed {args.seed + i}): "
              f"{trials[-1]['outcome']} {trials[-1]['reason']} ({ok}/{len(trials)} placed)",
              flush=True)  # fmt: skip
    placed = sum(t["outcome"] == "placed" for t in trials)
    by_kind = {k: {"trials": sum(t["kind"] == k for t in trials),
                   "placed": sum(t["kind"] == k and t["outcome"] == "placed" for t in trials)}
               for k in kinds}  # fmt: skip
    return {"trials": len(trials), "placed": placed, "success_rate": placed / max(len(trials), 1),
            "outcomes": {o: sum(t["outcome"] == o for t in trials) for o in {t["outcome"] for t in trials}},
            "by_kind": by_kind, "per_trial": trials}  # fmt: skip


def clutter(model: str, args: argparse.Namespace) -> dict:
    opts = EpisodeOptions(model=model, objects=args.objects, object_set=args.object_set,
                          seed=args.seed, real_time_factor=args.rtf, record=False,
                          processes=args.processes)  # fmt: skip
    episodes = []
    with PickSession(opts, log=lambda s: None) as session:
        for i in range(args.clutter):
            if i:
                session.reset()
            attempts, n = session.episode(budget=args.budget)
            placed = sum(a.success for a in attempts)
            episodes.append({"episode": i, "objects": n, "placed": placed, "attempts": len(attempts),
                             "cleared_fraction": placed / max(n, 1)})  # fmt: skip
            print(f"[{model} clutter] episode {i + 1}/{args.clutter}: {placed}/{n} placed in "
                  f"{len(attempts)} attempts", flush=True)  # fmt: skip
    total = sum(e["objects"] for e in episodes)
    placed = sum(e["placed"] for e in episodes)
    return {"episodes": len(episodes), "objects": total, "placed": placed,
            "cleared_fraction": placed / max(total, 1), "budget": args.budget, "per_episode": episodes}  # fmt: skip


def latency(model: str, args: argparse.Namespace) -> dict:
    opts = EpisodeOptions(model=model, objects=args.objects, object_set=args.object_set,
                          seed=args.seed, real_time_factor=args.rtf, record=False,
                          processes=args.processes)  # fmt: skip
    with PickSession(opts, log=lambda s: None) as session:
        m = session.monitor
        n0 = len(m.detect_latencies)
        time.sleep(args.latency)
        lat = np.array(m.detect_latencies[n0:])
    if lat.size == 0:
        return {"samples": 0}
    half = lat.size // 2
    return {"samples": int(lat.size), "median_ms": float(np.median(lat) * 1e3),
            "p95_ms": float(np.percentile(lat, 95) * 1e3),
            "first_half_median_ms": float(np.median(lat[:half]) * 1e3) if half else None,
            "second_half_median_ms": float(np.median(lat[half:]) * 1e3),
            "candidates_per_s": float(lat.size / args.latency)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", nargs="+", default=["ggcnn"])
    ap.add_argument("--object-set", default="test", help="split name or folder of meshes")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--single", type=int, default=0, help="single-object trials per model")
    ap.add_argument("--clutter", type=int, default=0, help="clutter episodes per model")
    ap.add_argument("--objects", type=int, default=5, help="objects per clutter episode")
    ap.add_argument("--budget", type=int, default=8, help="attempts per clutter episode")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds of latency measurement")
    ap.add_argument("--rtf", type=float, default=1.0, help="simulation real-time factor")
    ap.add_argument(
        "--kinds",
        default="box,cylinder,sphere,capsule,bottle,mug,bowl",
        help="object kinds the single trials cycle through (grasp_sim kinds)",
    )
    ap.add_argument(
        "--processes",
        action="store_true",
        help="each node of the graph in its own process (default: one process)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if not (args.single or args.clutter or args.latency):
        ap.error("choose at least one of --single, --clutter, --latency")
    isolate_domain()
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for model in args.model:
        entry = results.setdefault(model, {})
        for mode, run in (("single", single), ("clutter", clutter), ("latency", latency)):
            if not getattr(args, mode):
                continue
            t0 = time.monotonic()
            entry[mode] = run(model, args)
            entry[mode]["meta"] = {  # each mode records how it was made
                "command": " ".join([Path(sys.executable).name, *sys.argv]),
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
                "object_set": args.object_set, "seed": args.seed, "real_time_factor": args.rtf,
                "processes": args.processes, "load_avg_1m": os.getloadavg()[0],
                "wall_time_s": time.monotonic() - t0,
            }  # fmt: skip
        write_json(args.out, results)
        summary = {
            k: {kk: v for kk, v in val.items() if not kk.startswith("per_")}
            for k, val in entry.items()
        }
        print(json.dumps({model: summary}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
