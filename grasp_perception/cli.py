"""``grasp`` subcommands of grasp_perception: record RGB-D to MCAP, segment a source."""

from __future__ import annotations

import argparse
import json
import sys


def _params_file(args: argparse.Namespace):
    from grasp_core.paths import config_path

    return args.params or config_path("perception.yaml")


def _camera_mount(args: argparse.Namespace):
    """``(T_base_camera, base_frame)``: ``--camera-pose`` if given, else the mount the
    perception node would resolve from ``--params`` (``cell_layout`` / ``cell_camera`` /
    ``camera_position`` / ``camera_orientation`` / ``base_frame``)."""
    import numpy as np

    from grasp_core.cell import CellConfigError, camera_mount
    from grasp_core.se3 import pose_from_pq
    from grasp_perception.params import ParamsError, read_params_block

    block = read_params_block(_params_file(args))
    base_frame = str(block.get("base_frame", "panda_link0"))
    pose = args.camera_pose
    if pose is not None:
        return pose_from_pq(np.asarray(pose[:3], float), np.asarray(pose[3:], float)), base_frame
    try:
        T, _ = camera_mount(
            block.get("cell_layout", ""),
            block.get("cell_camera", "overhead"),
            block.get("camera_position"),
            block.get("camera_orientation"),
            base_frame,
            user="perception",
        )
    except CellConfigError as exc:
        raise ParamsError(
            f"{_params_file(args)}: {exc} (or pass --camera-pose x y z qx qy qz qw)"
        ) from exc
    return T, base_frame


def _open_source(args: argparse.Namespace):
    """A CameraSource from --source: ``sim``, ``realsense`` or an .mcap path. A RealSense
    is placed by the camera mount (``_camera_mount``); a recording by its ``/tf_static``
    chain, by ``--camera-pose`` when given, or by the mount when it has no ``/tf_static``."""
    if args.source == "sim":
        return _SimSource(args.objects, args.seed, args.frames)
    T_base_camera, base_frame = _camera_mount(args)
    if args.source == "realsense":
        from grasp_perception.sources import RealSenseSource

        return RealSenseSource(
            serial=args.serial, T_base_camera=T_base_camera, base_frame=base_frame
        )
    from grasp_perception.sources import McapSource

    return McapSource(
        args.source,
        realtime=args.realtime,
        T_base_camera=T_base_camera if args.camera_pose is not None else None,
        base_frame=base_frame,
        default_T_base_camera=T_base_camera,
    )


class _SimSource:
    """The sim overhead camera as a finite source (``--frames`` frames, 0.1 s apart)."""

    def __init__(self, objects: int, seed: int, frames: int) -> None:
        from grasp_sim.objects import object_set
        from grasp_sim.world import SimWorld

        self.world = SimWorld(
            object_set("test", seed=seed, count=objects), seed=seed, depth_noise=True
        )
        self.left = frames

    def __iter__(self):
        while self.left > 0:
            self.left -= 1
            self.world.step(int(round(0.1 / self.world.timestep)))
            yield self.world.render("overhead")

    def close(self) -> None:
        self.world.close()


def _cmd_record(args: argparse.Namespace) -> int:
    from grasp_perception.sources import McapRecorder

    src = _open_source(args)
    n = 0
    try:
        with McapRecorder(args.out, depth_encoding=args.depth_encoding) as rec:
            for frame in src:
                rec.write(frame)
                n += 1
                if n >= args.frames:
                    break
    finally:
        src.close()
    print(f"wrote {n} frames to {args.out}")
    return 0


def _cmd_segment(args: argparse.Namespace) -> int:
    from grasp_perception.params import PerceptionParams
    from grasp_perception.segmentation import segment

    params = PerceptionParams.from_yaml(_params_file(args))
    src = _open_source(args)
    try:
        for i, frame in enumerate(src):
            seg = segment(frame, params)
            print(
                json.dumps(
                    {
                        "stamp": frame.stamp,
                        "table_height": seg.table_height,
                        "objects": [
                            {
                                "label": o.label,
                                "points": len(o.points),
                                "centroid": [round(float(c), 4) for c in o.centroid],
                                "extent": [round(float(c), 4) for c in o.extent],
                            }
                            for o in seg.objects
                        ],
                        "warnings": list(seg.warnings),
                        "ms": round(seg.timings_ms["total"], 1),
                    }
                ),
                flush=True,
            )
            if i + 1 >= args.frames:
                break
    finally:
        src.close()
    return 0


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="sim", help="sim | realsense | path/to/recording.mcap")
    p.add_argument("--frames", type=int, default=10, help="stop after this many frames")
    p.add_argument("--objects", type=int, default=5, help="sim: test-split objects")
    p.add_argument("--seed", type=int, default=0, help="sim: scene seed")
    p.add_argument("--serial", default=None, help="realsense: device serial number")
    p.add_argument("--realtime", action="store_true", help="mcap: play at the recorded rate")
    p.add_argument(
        "--params",
        default=None,
        help="perception YAML (default config/perception.yaml): parameters, camera mount",
    )
    p.add_argument(
        "--camera-pose",
        type=float,
        nargs=7,
        default=None,
        metavar=("X", "Y", "Z", "QX", "QY", "QZ", "QW"),
        help="optical frame pose in the base frame [m, quaternion]; default: the params "
        "file's mount, its cell_layout's camera or camera_position/camera_orientation (a "
        "recording: its /tf_static)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("perception-record", help="record RGB-D frames to a rosbag2 MCAP file")
    _add_source_args(p)
    p.add_argument("--out", required=True, help="output .mcap path")
    p.add_argument(
        "--depth-encoding",
        default="16UC1",
        choices=["16UC1", "32FC1"],
        help="depth as millimetres (realsense2_camera's) or float metres",
    )
    p.set_defaults(handler=_cmd_record)
    p = sub.add_parser("perception-segment", help="table plane + objects of each frame, as JSON")
    _add_source_args(p)
    p.set_defaults(handler=_cmd_segment)


if __name__ == "__main__":  # pragma: no cover
    from grasp_bringup.cli import main

    sys.exit(main())
