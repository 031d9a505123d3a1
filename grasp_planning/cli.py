"""``grasp`` subcommands of grasp_planning: inspect a robot model, check a grasp's reach."""

from __future__ import annotations

import argparse
import json


def _cmd_robot(args: argparse.Namespace) -> int:
    from grasp_planning.robot import make_robot

    robot = make_robot(args.robot, args.group)
    T = robot.fk(robot.home)
    print(
        json.dumps(
            {
                "robot": robot.config.name,
                "group": robot.group.name,
                "joints": list(robot.joint_names),
                "lower": robot.lower.round(4).tolist(),
                "upper": robot.upper.round(4).tolist(),
                "velocity_limits": robot.velocity_limits.round(4).tolist(),
                "home": robot.home.tolist(),
                "T_base_tcp_at_home": T.round(4).tolist(),
                "arm_topic": robot.group.arm_controller_topic,
                "hand_topic": robot.gripper.controller_topic,
            },
            indent=1,
        )
    )
    return 0


def _cmd_reach(args: argparse.Namespace) -> int:
    import numpy as np

    from grasp_core.grasp import Grasp
    from grasp_core.se3 import make_transform, rot_x, rot_z
    from grasp_planning.ik import check_grasp_reachable
    from grasp_planning.robot import make_robot

    robot = make_robot(args.robot, args.group)
    pose = make_transform(rot_z(np.radians(args.yaw)) @ rot_x(np.pi), [args.x, args.y, args.z])
    grasp = Grasp(pose=pose, width=args.width, frame_id=robot.config.base_frame)
    res = check_grasp_reachable(robot, grasp, robot.home)
    out = {"reachable": res.reachable, "reason": res.reason, "flipped": res.flipped}
    if res.reachable:
        out.update(
            q_grasp=res.q_grasp.round(4).tolist(), q_pregrasp=res.q_pregrasp.round(4).tolist()
        )
    print(json.dumps(out))
    return 0 if res.reachable else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan-robot", help="print a robot group's joints, limits and home TCP")
    p.add_argument("--robot", default="panda", help="config/robots/<name>.yaml or a path")
    p.add_argument("--group", default=None, help="planning group (default: the robot's)")
    p.set_defaults(handler=_cmd_robot)
    p = sub.add_parser(
        "plan-reach", help="is a top-down grasp at x y z [m] reachable with pre-grasp and lift?"
    )
    for axis in ("x", "y", "z"):
        p.add_argument(axis, type=float, help=f"TCP {axis} in the robot base frame [m]")
    p.add_argument("--yaw", type=float, default=0.0, help="rotation about the vertical [deg]")
    p.add_argument("--width", type=float, default=0.05, help="opening [m]")
    p.add_argument("--robot", default="panda", help="config/robots/<name>.yaml or a path")
    p.add_argument("--group", default=None, help="planning group (default: the robot's)")
    p.set_defaults(handler=_cmd_reach)
