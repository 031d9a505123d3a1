"""Real-time factor of the sim driver node with the arm moving and one camera at 15 Hz.

Target (issue 3): >= 1.0. Runs :class:`grasp_sim.node.SimDriverNode` in-process (real
rclpy + Fast DDS, a peer subscribed to the camera and joint topics so messages are really
serialised; each node on its own single-threaded executor, as ``grasp_bringup``'s
launcher and demo spin them) while a 60 s joint trajectory sweeps every arm joint. Two
runs:

- ``max``: ``real_time_factor`` 0 (as fast as it can): the capacity;
- ``paced``: ``real_time_factor`` 1.0: what a user gets (should be 1.0).

    MUJOCO_GL=egl .venv/bin/python benchmarks/sim_driver_rtf.py [--seconds 20] [--seed 0]
Writes benchmarks/results/sim_driver_rtf.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(int.from_bytes(os.urandom(2), "little") % 100 + 100))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import rclpy
from builtin_interfaces.msg import Duration
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image, JointState
from sim_common import write_result
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from grasp_bringup.executors import PerNodeExecutor
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS
from grasp_sim.node import SimDriverNode

HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])


def sweep(seconds: float) -> JointTrajectory:
    msg = JointTrajectory(joint_names=[f"panda_joint{i}" for i in range(1, 8)])
    for t in np.arange(0.25, seconds, 0.25):
        q = HOME + 0.4 * np.sin(2 * np.pi * t / 3.7 + np.arange(7)) * np.array(
            [1, 0.5, 1, 0.5, 1, 0.5, 1]
        )
        sec = int(t)
        msg.points.append(
            JointTrajectoryPoint(
                positions=q.tolist(),
                time_from_start=Duration(sec=sec, nanosec=int((t - sec) * 1e9)),
            )
        )
    return msg


def run(rtf: float, seconds: float, seed: int) -> dict:
    with rclpy.init():
        node = SimDriverNode(
            parameter_overrides=[
                Parameter("real_time_factor", value=rtf),
                Parameter("camera_rate", value=15.0),
                Parameter("object_count", value=3),
                Parameter("seed", value=seed),
            ]
        )
        peer = rclpy.create_node("rtf_peer")
        counts = {"images": 0, "joints": 0}
        q1: list[float] = []  # panda_joint1 as published, to show the arm really moved
        peer.create_subscription(
            Image,
            "/camera/camera/color/image_raw",
            lambda m: counts.__setitem__("images", counts["images"] + 1),
            SENSOR_QOS,
        )

        def on_joints(m: JointState) -> None:
            counts["joints"] += 1
            q1.append(m.position[0])

        peer.create_subscription(JointState, "/joint_states", on_joints, RELIABLE_QOS)
        pub = peer.create_publisher(
            JointTrajectory, "/panda_arm_controller/joint_trajectory", RELIABLE_QOS
        )
        ex = PerNodeExecutor()  # as the launcher and the demo spin their nodes
        ex.add_node(node)
        ex.add_node(peer)
        th = threading.Thread(target=ex.spin, daemon=True)
        th.start()
        deadline = time.monotonic() + 20
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        pub.publish(sweep(max(60.0, seconds * 4)))
        time.sleep(1.0)  # let the trajectory start and the renderer warm up
        n_q1 = len(q1)
        t_sim0, t_wall0, t_cpu0 = node.driver.time, time.monotonic(), time.process_time()
        c0 = dict(counts)
        lag0 = node.dropped_lag_s
        time.sleep(seconds)
        t_sim1, t_wall1, t_cpu1 = node.driver.time, time.monotonic(), time.process_time()
        window = q1[n_q1:]
        moved = float(np.ptp(window)) if window else 0.0
        c1 = dict(counts)
        lag = node.dropped_lag_s - lag0
        ex.shutdown(timeout_sec=10.0)
        th.join(timeout=10.0)
        node.destroy_node()
        peer.destroy_node()
    sim = t_sim1 - t_sim0
    return {
        "requested_real_time_factor": rtf,
        "wall_s": t_wall1 - t_wall0,
        "sim_s": sim,
        "real_time_factor": sim / (t_wall1 - t_wall0),
        # CPU time of the whole process (all threads: physics, render, DDS, the peer) per
        # simulated second: < 2 means an idle 2-core machine can keep real time
        "cpu_s_per_sim_s": (t_cpu1 - t_cpu0) / sim,
        # wall time the paced loop fell behind by more than 2 s and gave up on (stalls)
        "dropped_lag_s": lag,
        "images_received_per_sim_s": (c1["images"] - c0["images"]) / sim,
        "joint_states_received_per_sim_s": (c1["joints"] - c0["joints"]) / sim,
        "joint1_range_rad": moved,  # swept by the trajectory (±0.4 rad) within the window
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    runs = {"max": run(0.0, args.seconds, args.seed), "paced": run(1.0, args.seconds, args.seed)}
    out = write_result(
        "sim_driver_rtf",
        {
            "seed": args.seed,
            "camera_rate_hz": 15.0,
            "objects": 3,
            "target_real_time_factor": 1.0,
            "runs": runs,
        },
    )
    for name, r in runs.items():
        print(
            f"{name:6s} RTF {r['real_time_factor']:.2f} (requested {r['requested_real_time_factor']}), "
            f"{r['images_received_per_sim_s']:.1f} images/sim-s, joint1 range {r['joint1_range_rad']:.2f} rad, "
            f"{r['cpu_s_per_sim_s']:.2f} CPU-s per sim-s, dropped lag {r['dropped_lag_s']:.2f} s"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
