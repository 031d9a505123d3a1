"""``grasp`` subcommands of grasp_sim: look at scenes, list objects, cache meshes, try grasps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _objects(args: argparse.Namespace):
    from grasp_sim.objects import object_set

    if args.object_set in ("train", "val", "test"):
        kinds = args.kinds.split(",") if args.kinds else None
        return object_set(args.object_set, seed=args.object_seed, count=args.objects, kinds=kinds)
    from grasp_sim.meshes import load_mesh_objects

    return load_mesh_objects(Path(args.object_set), scale=args.scale)[: args.objects]


def _cmd_objects(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    for o in _objects(args):
        print(json.dumps(asdict(o)))
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    import imageio.v3 as iio
    import numpy as np

    from grasp_sim.world import SimWorld

    out = Path(args.out)
    prefix = out.with_suffix("") if out.suffix in (".png", ".npy") else out  # not r.png_color.png
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with SimWorld(_objects(args), seed=args.seed, depth_noise=args.noise) as world:
        frame = world.render(args.camera)
        iio.imwrite(f"{prefix}_color.png", frame.color)
        np.save(f"{prefix}_depth.npy", frame.depth)
        print(json.dumps({"camera": frame.camera.to_dict(), "objects": world.object_names}))
    print(f"wrote {prefix}_color.png and {prefix}_depth.npy (float32 metres)")
    return 0


def _cmd_trial(args: argparse.Namespace) -> int:
    import numpy as np

    from grasp_sim.trial import run_grasp_trial, top_down_grasp

    for o in _objects(args):
        T = top_down_grasp(o, yaw=np.deg2rad(args.yaw), depth=args.depth)
        r = run_grasp_trial(o, T, seed=args.seed, on_table=args.on_table)
        print(json.dumps({"object": o.name, "kind": o.kind, **r.to_dict()}))
    return 0


def _add_object_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--object-set", default="test", help="train|val|test or an OBJ/STL file/folder")
    p.add_argument("--objects", type=int, default=5, help="how many objects")
    p.add_argument("--object-seed", type=int, default=0, help="seed of the split")
    p.add_argument("--kinds", default="", help="comma-separated kinds (default: all primitives)")
    p.add_argument("--scale", type=float, default=1.0, help="mesh units to metres")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim-objects", help="list (and cache) simulation objects as JSON lines")
    _add_object_args(p)
    p.set_defaults(handler=_cmd_objects)
    p = sub.add_parser("sim-render", help="drop objects in the sim cell and save one RGB-D frame")
    _add_object_args(p)
    p.add_argument("--seed", type=int, default=0, help="scene seed")
    p.add_argument("--camera", default="overhead", help="overhead or wrist")
    p.add_argument("--noise", action="store_true", help="RealSense-like depth noise")
    p.add_argument("--out", default="sim_frame", help="output path prefix")
    p.set_defaults(handler=_cmd_render)
    p = sub.add_parser("sim-trial", help="physics trial of a top-down grasp on each object")
    _add_object_args(p)
    p.add_argument("--yaw", type=float, default=0.0, help="closing axis from object +X [deg]")
    p.add_argument("--depth", type=float, default=0.02, help="TCP below the top face [m]")
    p.add_argument("--on-table", action="store_true", help="object resting on a table")
    p.add_argument("--seed", type=int, default=0, help="trial seed")
    p.set_defaults(handler=_cmd_trial)
