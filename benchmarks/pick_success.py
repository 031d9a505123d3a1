"""Closed-loop pick-and-place success through the full ROS 2 graph in MuJoCo.

Modes (any combination; clutter and latency: one graph per mode and model, /sim/reset
between episodes):
  --single N    N trials, each a fresh graph with one held-out object (kinds cycle
                through --kinds, seed + i), one attempt each: success = placed in the
                bin (lifted and placed).
  --clutter M   M episodes of --objects objects (default 5), --budget attempts (default 8):
                fraction of objects cleared into the bin; episode i has the objects of
                seed + i on a fresh graph (--same-objects: those of seed every time).
  --fits-gripper  only held-out objects whose narrowest top-down grasp fits the stroke.
  --latency S   S seconds of the running graph: camera frame published -> grasp
                candidates received (wall clock), and whether it grows (a frame backlog).

    .venv/bin/python benchmarks/pick_success.py --model ggcnn --single 50
    .venv/bin/python benchmarks/pick_success.py --model ggcnn graspnet6dof --clutter 10 --latency 30

With no mode, it runs the README's headline: ``--single 50 --clutter 10 --fits-gripper``
(about 40 min per model on 2 cores; what ``make bench`` runs).

Writes benchmarks/results/pick_success.json (or --out), merging with what is there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml
from common import machine

from grasp_bringup.demo import SPLITS, EpisodeOptions, PickSession, isolate_domain
from grasp_bringup.report import write_json
from grasp_sim.objects import object_set

RESULTS = Path(__file__).resolve().parent / "results" / "pick_success.json"
#: The Panda hand's stroke and the clearance each side a top-down grasp needs [m]: objects
#: whose narrowest top-down grasp (grasp_sim ObjectSpec.min_grasp_width) does not fit are
#: counted apart (the test split has some wider than the stroke on purpose).
STROKE, FIT_CLEARANCE = 0.08, 0.005
FIT_RULE = f"min_grasp_width + 2 x {FIT_CLEARANCE} m <= {STROKE} m"


def fits_stroke(min_grasp_width: float | None) -> bool:
    """Whether an object's narrowest top-down grasp fits the stroke with the clearance."""
    return min_grasp_width is not None and min_grasp_width + 2 * FIT_CLEARANCE <= STROKE


def max_width(args: argparse.Namespace) -> float | None:
    """``--fits-gripper``: draw only objects that fit the stroke by FIT_RULE."""
    return STROKE - 2 * FIT_CLEARANCE if args.fits_gripper else None


def node_param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with VALUE read as YAML (numbers, booleans, strings)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return name, yaml.safe_load(value)


def episode_options(model: str, args: argparse.Namespace, **fields: object) -> EpisodeOptions:
    """What every mode's episodes share (model, objects, cell and camera, node parameters,
    weights, pacing), with ``fields`` over it."""
    common = dict(model=model, objects=args.objects, object_set=args.object_set, seed=args.seed,
                  real_time_factor=args.rtf, record=False, processes=args.processes,
                  weights=args.weights or None, executor_params=tuple(args.executor_param),
                  detector_params=tuple(args.detector_param),
                  perception_params=tuple(args.perception_param), cell=args.cell,
                  cell_camera=args.cell_camera, max_grasp_width=max_width(args))  # fmt: skip
    return EpisodeOptions(**{**common, **fields})


def single(model: str, args: argparse.Namespace) -> dict:
    """Trial ``i``: a fresh graph with one object of kind ``kinds[i % len(kinds)]`` drawn
    with seed ``seed + i`` (so every trial is a different held-out object), one attempt."""
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    trials = []
    for i in range(args.single):
        kind = kinds[i % len(kinds)]
        opts = episode_options(model, args, objects=1, seed=args.seed + i, object_kinds=kind)
        t0 = time.monotonic()
        with PickSession(opts, log=lambda s: None) as session:
            attempts, n = session.episode(budget=1)
        a = attempts[0] if attempts else None
        need = None
        if args.object_set in SPLITS:  # the object the sim driver dropped (same function)
            need = object_set(args.object_set, seed=args.seed + i, count=1, kinds=[kind],
                              max_grasp_width=max_width(args))[0].min_grasp_width  # fmt: skip
        trials.append({"trial": i, "kind": kind, "seed": args.seed + i, "objects": n,
                       "min_grasp_width": need,
                       "fits_gripper": fits_stroke(need),
                       "outcome": a.outcome if a else "none", "object": a.object if a else "",
                       "placed_above_rim": bool(a and a.above_rim),
                       "reason": a.reason if a else "", "timings": a.timings if a else {},
                       "wall_s": time.monotonic() - t0})  # fmt: skip
        ok = sum(t["outcome"] == "placed" for t in trials)
        print(f"[{model} single] trial {i + 1}/{args.single} ({kind}, seed {args.seed + i}): "
              f"{trials[-1]['outcome']} {trials[-1]['reason']} ({ok}/{len(trials)} placed)",
              flush=True)  # fmt: skip
    placed = sum(t["outcome"] == "placed" for t in trials)
    fit = [t for t in trials if t["fits_gripper"]]
    by_kind = {k: {"trials": sum(t["kind"] == k for t in trials),
                   "placed": sum(t["kind"] == k and t["outcome"] == "placed" for t in trials)}
               for k in kinds}  # fmt: skip
    return {"trials": len(trials), "placed": placed, "success_rate": placed / max(len(trials), 1),
            "outcomes": {o: sum(t["outcome"] == o for t in trials) for o in {t["outcome"] for t in trials}},
            "fits_gripper": {"trials": len(fit), "placed": sum(t["outcome"] == "placed" for t in fit),
                             "success_rate": sum(t["outcome"] == "placed" for t in fit) / max(len(fit), 1),
                             "rule": FIT_RULE},
            "by_kind": by_kind, "per_trial": trials}  # fmt: skip


def clutter(model: str, args: argparse.Namespace) -> dict:
    """Episode ``i``: ``--objects`` held-out objects drawn with seed ``seed + i`` on a fresh
    graph (every episode other objects), or with ``--same-objects`` the objects of ``seed``
    in every episode, dropped anew by ``/sim/reset`` on one graph."""
    episodes: list[dict] = []

    def options(seed: int) -> EpisodeOptions:
        return episode_options(model, args, seed=seed)

    def fits_of(seed: int) -> dict[str, bool]:
        """Whether each object the sim driver drops fits the stroke (same function)."""
        if args.object_set not in SPLITS:
            return {}
        specs = object_set(args.object_set, seed=seed, count=args.objects,
                           max_grasp_width=max_width(args))  # fmt: skip
        return {o.name: fits_stroke(o.min_grasp_width) for o in specs}

    def record(i: int, seed: int, session: PickSession) -> None:
        attempts, n = session.episode(budget=args.budget)
        fits = fits_of(seed)
        placed = sum(a.success for a in attempts)
        placed_names = [a.object for a in attempts if a.success]
        episodes.append({"episode": i, "object_seed": seed, "objects": n, "placed": placed,
                         "attempts": len(attempts), "cleared_fraction": placed / max(n, 1),
                         "fits_gripper": fits,
                         "graspable_objects": sum(fits.values()),
                         "graspable_placed": sum(fits.get(o, False) for o in placed_names),
                         "per_attempt": [{"outcome": a.outcome, "object": a.object,
                                          "reason": a.reason, "timings": a.timings,
                                          "knocked_off": a.knocked_off,
                                          "also_in_bin": a.also_in_bin,
                                          "above_rim": a.above_rim,
                                          "place": a.place}
                                         for a in attempts]})  # fmt: skip
        print(f"[{model} clutter] episode {i + 1}/{args.clutter} (objects of seed {seed}): "
              f"{placed}/{n} placed in {len(attempts)} attempts", flush=True)  # fmt: skip

    if args.same_objects:
        with PickSession(options(args.seed), log=lambda s: None) as session:
            for i in range(args.clutter):
                if i:
                    session.reset()
                record(i, args.seed, session)
    else:
        for i in range(args.clutter):
            with PickSession(options(args.seed + i), log=lambda s: None) as session:
                record(i, args.seed + i, session)
    total = sum(e["objects"] for e in episodes)
    placed = sum(e["placed"] for e in episodes)
    graspable = sum(e["graspable_objects"] for e in episodes)
    return {"episodes": len(episodes), "objects": total, "placed": placed,
            "cleared_fraction": placed / max(total, 1), "budget": args.budget,
            "objects_per_episode": "seed" if args.same_objects else "seed + episode",
            "fully_cleared_episodes": sum(e["placed"] == e["objects"] for e in episodes),
            "fits_gripper": {"rule": FIT_RULE, "graspable": graspable,
                             "placed": sum(e["graspable_placed"] for e in episodes),
                             "cleared_fraction": sum(e["graspable_placed"] for e in episodes)
                             / max(graspable, 1)},
            "per_episode": episodes}  # fmt: skip


def latency(model: str, args: argparse.Namespace) -> dict:
    opts = episode_options(model, args)  # before 2026-12-07 without --weights/--executor-param
    with PickSession(opts, log=lambda s: None) as session:
        m = session.monitor
        n0, u0 = len(m.detect_latencies), m.frames.unmatched
        time.sleep(args.latency)
        lat = np.array(m.detect_latencies[n0:])
        unmatched = m.frames.unmatched - u0  # candidates of frames no longer remembered
    if lat.size == 0:
        return {"samples": 0, "unmatched": unmatched}
    half = lat.size // 2
    return {"samples": int(lat.size), "unmatched": unmatched,
            "median_ms": float(np.median(lat) * 1e3),
            "p95_ms": float(np.percentile(lat, 95) * 1e3),
            "first_half_median_ms": float(np.median(lat[:half]) * 1e3) if half else None,
            "second_half_median_ms": float(np.median(lat[half:]) * 1e3),
            "candidates_per_s": float(lat.size / args.latency)}  # fmt: skip


def detector_latency(model: str, args: argparse.Namespace) -> dict:
    """The robot-side path without the simulator: rendered held-out scenes replayed as
    camera topics at --rate Hz (wall-clock stamps), the graph's perception and detector
    nodes (``camera:=topics``) as processes with --processes, else in this process.
    Latency = candidates received - frame stamp, matched by stamp."""
    import threading

    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from grasp_bringup import msgs
    from grasp_bringup.graph import load_graph
    from grasp_bringup.launcher import InProcessGraph, ProcessGraph
    from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS
    from grasp_core import depth_m_to_mm
    from grasp_sim.world import SimWorld

    graph = load_graph("panda_grasp", {"model": model, "camera": "topics", "use_sim_time": "false"})
    keep = ("grasp_detector",) if args.detector_only else ("perception", "grasp_detector")
    graph = dataclasses.replace(graph, nodes=tuple(n for n in graph.nodes if n.name in keep))
    det = next(n for n in graph.nodes if n.name == "grasp_detector").parameters
    topics = {k: det[k] for k in ("color_topic", "depth_topic", "info_topic")}
    objs = object_set(args.object_set, seed=args.seed, count=args.objects)
    frames = []
    with SimWorld(objs, seed=args.seed) as world:
        for i in range(args.frames):
            world.reset(seed=args.seed + i)
            frames.append(world.render("overhead", color=True))
    rclpy.init(args=[sys.argv[0]])
    node = Node("latency_player")
    pubs = {"color_topic": node.create_publisher(Image, topics["color_topic"], SENSOR_QOS),
            "depth_topic": node.create_publisher(Image, topics["depth_topic"], SENSOR_QOS),
            "info_topic": node.create_publisher(CameraInfo, topics["info_topic"], SENSOR_QOS)}  # fmt: skip
    msgs_per_frame = [(msgs.numpy_to_image(f.color, "rgb8", None, f.frame_id),
                       msgs.numpy_to_image(depth_m_to_mm(f.depth), "16UC1", None, f.frame_id),
                       msgs.model_to_camera_info(f.camera)) for f in frames]  # fmt: skip
    sent: dict[int, float] = {}
    lat: list[float] = []
    lock = threading.Lock()

    def on_candidates(msg: PointCloud2) -> None:
        now = time.time()
        key = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        with lock:
            if key in sent:
                lat.append(now - sent[key])

    node.create_subscription(PointCloud2, "/grasp_candidates", on_candidates, RELIABLE_QOS)
    running = (ProcessGraph if args.processes else InProcessGraph)(graph, log=lambda s: None)
    running.executor.add_node(node)
    running.nodes["latency_player"] = node
    running.start()
    published = 0

    def replay(seconds: float, until=lambda: False) -> int:
        """Publish frames at --rate for ``seconds`` or until ``until()``; returns how many."""
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds and not until():
            color, depth, info = msgs_per_frame[n % len(msgs_per_frame)]
            stamp = msgs.sec_to_stamp(time.time())
            for m in (color, depth, info):
                m.header.stamp = stamp
            with lock:
                sent[stamp.sec * 10**9 + stamp.nanosec] = msgs.stamp_to_sec(stamp)
            pubs["info_topic"].publish(info)
            pubs["depth_topic"].publish(depth)
            pubs["color_topic"].publish(color)
            n += 1
            time.sleep(max(0.0, t0 + n / args.rate - time.monotonic()))
        return n

    try:
        replay(120.0, until=lambda: len(lat) >= 3)  # start-up: model loaded, first outputs
        time.sleep(1.0)
        with lock:
            lat.clear()
        published = replay(args.detector_latency)
        time.sleep(1.0)  # the last frames' candidates
    finally:
        running.close()
        rclpy.try_shutdown()
    arr = np.array(lat)
    if arr.size == 0:
        return {"samples": 0, "frames_published": published}
    half = arr.size // 2
    return {"nodes": list(keep), "input_rate_hz": args.rate, "frames_published": published,
            "samples": int(arr.size), "processed_fraction": arr.size / max(published, 1),
            "median_ms": float(np.median(arr) * 1e3), "p95_ms": float(np.percentile(arr, 95) * 1e3),
            "first_half_median_ms": float(np.median(arr[:half]) * 1e3) if half else None,
            "second_half_median_ms": float(np.median(arr[half:]) * 1e3),
            "candidates_per_s": float(arr.size / args.detector_latency)}  # fmt: skip


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
    ap.add_argument(
        "--same-objects",
        action="store_true",
        help="clutter: the objects of --seed in every episode, re-dropped by /sim/reset on "
        "one graph (before 2026-12-04 the only way); default: episode i draws seed + i",
    )
    ap.add_argument("--latency", type=float, default=0.0, help="seconds of latency measurement")
    ap.add_argument("--rtf", type=float, default=1.0, help="simulation real-time factor")
    ap.add_argument(
        "--detector-latency",
        type=float,
        default=0.0,
        help="seconds of camera replay into perception + detector (no simulator)",
    )
    ap.add_argument(
        "--detector-only",
        action="store_true",
        help="--detector-latency without the perception node",
    )
    ap.add_argument("--rate", type=float, default=15.0, help="replayed camera rate [Hz]")
    ap.add_argument("--frames", type=int, default=10, help="distinct scenes replayed")
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
    ap.add_argument(
        "--fits-gripper",
        action="store_true",
        help=f"draw only held-out objects that fit the stroke ({FIT_RULE}); the same "
        "objects as without it, the others skipped",
    )
    ap.add_argument("--weights", default="", help="detector weights (default: the shipped ones)")
    for node, yaml_file, example in (
        ("executor", "executor", "place_descent=0.15"),
        ("perception", "perception", "max_rate=5"),
        ("detector", "grasp_detector", "planar_view=camera"),
    ):
        ap.add_argument(
            f"--{node}-param",
            nargs="*",
            default=[],
            type=node_param,
            metavar="NAME=VALUE",
            help=f"{node} node parameters over config/{yaml_file}.yaml's (e.g. {example})",
        )
    ap.add_argument(
        "--cell",
        default=None,
        help="work-cell file (the graph's cell argument; default config/sim/panda_table.yaml)",
    )
    ap.add_argument(
        "--cell-camera",
        default="overhead",
        help="the cell's camera the nodes read (the graph's cell_camera argument; wrist: on "
        "the hand, placed from the joint states)",
    )
    ap.add_argument("--tag", default="", help="suffix of the model's key in the results")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if not (args.single or args.clutter or args.latency or args.detector_latency):
        args.single, args.clutter, args.fits_gripper = 50, 10, True  # the README's headline
        print("no mode given: --single 50 --clutter 10 --fits-gripper", flush=True)
    isolate_domain()
    commit = machine()["git_commit"]  # at the start: the code this run imported
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for model in args.model:
        entry = results.setdefault(model + args.tag, {})
        modes = (("single", single), ("clutter", clutter), ("latency", latency),
                 ("detector_latency", detector_latency))  # fmt: skip
        for mode, run in modes:
            if not getattr(args, mode):
                continue
            t0 = time.monotonic()
            key = mode
            if mode == "detector_latency":  # one entry per configuration
                nodes = "detector" if args.detector_only else "perception+detector"
                key = (
                    f"detector_latency[{nodes}, {'processes' if args.processes else 'one process'}]"
                )
            else:  # a different object draw: never overwrite the other
                tags = ["fits_gripper"] if args.fits_gripper else []
                if mode == "clutter" and args.same_objects:
                    tags.append("same_objects")
                key = f"{mode}[{', '.join(tags)}]" if tags else mode
            entry[key] = run(model, args)
            entry[key]["meta"] = {  # each mode records how it was made
                "command": " ".join([Path(sys.executable).name, *sys.argv]),
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
                "object_set": args.object_set, "seed": args.seed, "real_time_factor": args.rtf,
                "processes": args.processes, "load_avg_1m": os.getloadavg()[0],
                "fits_gripper_only": args.fits_gripper, "git_commit": commit,
                "weights": args.weights or "shipped", "cell": args.cell or "default",
                "cell_camera": args.cell_camera,
                "executor_params": dict(args.executor_param),
                "detector_params": dict(args.detector_param),
                "perception_params": dict(args.perception_param),
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
