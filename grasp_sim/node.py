"""Sim driver node: MuJoCo standing in for ros2_control + realsense2_camera.

Publishes (simulated time in every stamp):

- ``/clock`` (rosgraph_msgs/Clock), ``/joint_states`` (panda_joint1..7,
  panda_finger_joint1/2; positions [rad, m], velocities, efforts: arm joint torques
  as a torque-sensing arm reports them, gravity included);
- ``<camera_namespace>/color/image_raw`` (rgb8), ``.../aligned_depth_to_color/image_raw``
  (16UC1 mm, 0 = no return), ``.../color/camera_info`` and
  ``.../aligned_depth_to_color/camera_info``, optionally ``.../depth/color/points``
  (PointCloud2 x y z in the optical frame), all with sensor-data QoS and frame
  ``camera_color_optical_frame`` — the realsense2_camera names (default namespace
  ``/camera/camera``);
- ``/sim/object_poses`` (geometry_msgs/PoseArray, frame ``panda_link0``, ground truth for
  evaluation only) and ``/sim/object_names`` (std_msgs/String, latched: a JSON list of the
  object names in PoseArray order);
- ``/sim/viewer/image_raw`` (rgb8) when ``viewer_rate`` > 0: the layout's third-person
  ``viewer`` camera, for reports and animations (not a robot sensor).

Follows trajectory_msgs/JointTrajectory on ``/panda_arm_controller/joint_trajectory`` and
``/panda_hand_controller/joint_trajectory`` (finger position = half the width), like
ros2_control's joint_trajectory_controller; a malformed trajectory is dropped with a
throttled warning saying why, and the robot keeps doing what it did. ``/sim/reset``
(std_srvs/Trigger) re-drops the objects (next seed) and sends the arm home.

Physics, control and rendering run in one thread of their own (the GL context is bound to
it), paced to ``real_time_factor`` x wall time (0 = as fast as possible). All the logic
lives in :class:`grasp_sim.driver.SimDriver`; this node only converts messages.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import Pose, PoseArray
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2
from std_msgs.msg import String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from grasp_bringup import msgs
from grasp_bringup.node_utils import ParamSpec, declare_params, run_node
from grasp_bringup.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from grasp_bringup.ros_camera import WarnThrottle
from grasp_core import ValidationError, depth_m_to_mm
from grasp_core.se3 import pose_to_pq
from grasp_sim.driver import SimDriver
from grasp_sim.errors import SimError
from grasp_sim.objects import PRIMITIVE_KINDS, object_set
from grasp_sim.world import SimWorld

NODE_NAME = "sim_driver"
ARM_TOPIC = "/panda_arm_controller/joint_trajectory"
HAND_TOPIC = "/panda_hand_controller/joint_trajectory"
#: Pacing: sleep only when this far ahead of real time [s] (fewer, longer sleeps), and
#: forget a lag larger than MAX_DEBT [s] (catching it up would race the clock).
MIN_SLEEP = 0.002
MAX_DEBT = 2.0

NODE_PARAMS = [
    ParamSpec(
        "real_time_factor",
        1.0,
        "simulated seconds per wall-clock second; 0 = as fast as possible",
        (0.0, 100.0),
    ),
    ParamSpec(
        "joint_state_rate", 100.0, "/joint_states and /clock rate [Hz, sim time]", (1.0, 1000.0)
    ),
    ParamSpec("camera_rate", 15.0, "camera topics rate [Hz, sim time]; 0 = off", (0.0, 60.0)),
    ParamSpec(
        "viewer_rate",
        0.0,
        "/sim/viewer/image_raw rate [Hz, sim time], the layout's 'viewer' camera; 0 = off",
        (0.0, 30.0),
    ),
    ParamSpec("object_pose_rate", 10.0, "/sim/object_poses rate [Hz, sim time]", (0.0, 100.0)),
    ParamSpec(
        "camera", "overhead", "camera of config/sim layout published on the topics", read_only=True
    ),
    ParamSpec(
        "camera_namespace", "/camera/camera", "realsense2_camera topic prefix", read_only=True
    ),
    ParamSpec("publish_pointcloud", False, "also publish <ns>/depth/color/points"),
    ParamSpec("depth_noise", True, "RealSense-like depth noise and holes", read_only=True),
    ParamSpec("object_split", "test", "object split: train, val or test", read_only=True),
    ParamSpec("object_count", 3, "objects dropped on the table", (0, 30), read_only=True),
    ParamSpec("object_seed", 0, "seed of the object split", (0, 2**31 - 1), read_only=True),
    ParamSpec(
        "object_max_grasp_width",
        0.0,
        "drop only split objects whose narrowest top-down grasp is at most this wide [m] "
        "(0: any object)",
        (0.0, 1.0),
        read_only=True,
    ),
    ParamSpec(
        "object_kinds",
        ",".join(PRIMITIVE_KINDS),
        "comma-separated object kinds (add 'mesh' for pybullet random_urdfs meshes)",
        read_only=True,
    ),
    ParamSpec(
        "object_meshes",
        "",
        "OBJ/STL file or folder of user objects (replaces the split)",
        read_only=True,
    ),
    ParamSpec(
        "mesh_scale",
        1.0,
        "scale of object_meshes (file units to metres)",
        (1e-4, 1e3),
        read_only=True,
    ),
    ParamSpec(
        "seed",
        0,
        "seed of the first scene; each /sim/reset uses the next",
        (0, 2**31 - 1),
        read_only=True,
    ),
    ParamSpec(
        "layout_file", "", "cell layout YAML (empty: config/sim/panda_table.yaml)", read_only=True
    ),
    ParamSpec(
        "log_throttle", 5.0, "min time between two warnings with the same cause [s]", (0.0, 3600.0)
    ),
]


def _objects(values: dict[str, Any]):
    if values["object_meshes"]:
        from grasp_sim.meshes import load_mesh_objects

        return load_mesh_objects(values["object_meshes"], scale=values["mesh_scale"])
    kinds = [k.strip() for k in str(values["object_kinds"]).split(",") if k.strip()]
    return object_set(
        values["object_split"],
        seed=values["object_seed"],
        count=values["object_count"],
        kinds=kinds,
        max_grasp_width=values["object_max_grasp_width"] or None,
    )


def _trajectory_args(msg: JointTrajectory) -> dict[str, Any]:
    times = [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points]
    vels = [list(p.velocities) for p in msg.points]
    return {
        "joint_names": list(msg.joint_names),
        "times": times,
        "positions": [list(p.positions) for p in msg.points],
        "velocities": vels if all(len(v) for v in vels) and vels else None,
        "start_time": msgs.stamp_to_sec(msg.header.stamp),
    }


class SimDriverNode(Node):
    """MuJoCo cell on ROS 2 topics (see the module docstring)."""

    NODE_NAME = NODE_NAME
    PARAM_SPECS = NODE_PARAMS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(self.NODE_NAME, **kwargs)
        v = declare_params(self, self.PARAM_SPECS)
        self.values = v
        self._warn = WarnThrottle(self, v["log_throttle"])
        world = SimWorld(
            _objects(v),
            seed=v["seed"],
            depth_noise=v["depth_noise"],
            layout=v["layout_file"] or None,
        )
        if v["camera"] not in world.camera_names:
            raise SimError(f"parameter camera: {v['camera']!r} is not one of {world.camera_names}")
        self.driver = SimDriver(world)
        self._seed = int(v["seed"])
        self.camera = v["camera"]
        ns = v["camera_namespace"].rstrip("/")
        self._group = MutuallyExclusiveCallbackGroup()
        self.clock_pub = self.create_publisher(Clock, "/clock", RELIABLE_QOS)
        self.joint_pub = self.create_publisher(JointState, "/joint_states", RELIABLE_QOS)
        self.color_pub = self.create_publisher(Image, f"{ns}/color/image_raw", SENSOR_QOS)
        self.depth_pub = self.create_publisher(
            Image, f"{ns}/aligned_depth_to_color/image_raw", SENSOR_QOS
        )
        self.info_pub = self.create_publisher(CameraInfo, f"{ns}/color/camera_info", SENSOR_QOS)
        self.depth_info_pub = self.create_publisher(
            CameraInfo, f"{ns}/aligned_depth_to_color/camera_info", SENSOR_QOS
        )
        self.points_pub = self.create_publisher(PointCloud2, f"{ns}/depth/color/points", SENSOR_QOS)
        self.viewer_pub = self.create_publisher(Image, "/sim/viewer/image_raw", SENSOR_QOS)
        self.poses_pub = self.create_publisher(PoseArray, "/sim/object_poses", RELIABLE_QOS)
        self.names_pub = self.create_publisher(String, "/sim/object_names", LATCHED_QOS)
        self.names_pub.publish(String(data=json.dumps(world.object_names)))
        self.create_subscription(
            JointTrajectory,
            ARM_TOPIC,
            lambda m: self._on_trajectory("arm", m),
            RELIABLE_QOS,
            callback_group=self._group,
        )
        self.create_subscription(
            JointTrajectory,
            HAND_TOPIC,
            lambda m: self._on_trajectory("hand", m),
            RELIABLE_QOS,
            callback_group=self._group,
        )
        self.create_service(Trigger, "/sim/reset", self._on_reset, callback_group=self._group)
        self.rejected = 0
        self.measured_rtf = 0.0
        self.dropped_lag_s = 0.0  # wall time [s] the pacing gave up catching up on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim_driver_physics", daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"sim_driver: {len(world.objects)} objects, camera {self.camera!r} on {ns}/*, "
            f"real-time factor {v['real_time_factor']}"
        )

    # -- commands ----------------------------------------------------------------------
    def _on_trajectory(self, controller: str, msg: JointTrajectory) -> None:
        try:
            self.driver.submit(controller, **_trajectory_args(msg))
        except ValidationError as exc:  # TrajectoryError and malformed fields
            self.rejected += 1
            self._warn(f"traj_{controller}", f"rejected {controller} trajectory: {exc}")

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._seed += 1
        self.driver.reset(self._seed)
        response.success = True
        response.message = f"scene reset with seed {self._seed}"
        return response

    # -- physics thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # keep the node alive to report it; stop stepping
            if self._stop.is_set() or not self.context.ok():
                return  # shut down under it (Ctrl-C shuts the context down first): no fault
            self.get_logger().error(f"physics thread stopped: {type(exc).__name__}: {exc}")
        finally:
            self.driver.world.close()  # GL context belongs to this thread

    def _loop(self) -> None:
        v = self.values
        d = self.driver
        dt = d.world.timestep
        chunk = max(1, int(round(0.004 / dt)))  # control + bookkeeping every 4 ms
        periods = {
            "joints": 1.0 / v["joint_state_rate"],
            "camera": 1.0 / v["camera_rate"] if v["camera_rate"] > 0 else None,
            "poses": 1.0 / v["object_pose_rate"] if v["object_pose_rate"] > 0 else None,
            "viewer": 1.0 / v["viewer_rate"]
            if v["viewer_rate"] > 0 and "viewer" in d.world.camera_names
            else None,
        }
        due = dict.fromkeys(periods, 0.0)
        wall0, sim0 = time.monotonic(), d.time
        win_wall, win_sim = wall0, sim0
        rtf_used = float(self.get_parameter("real_time_factor").value)
        while not self._stop.is_set():
            d.step(chunk)
            t = d.time  # monotonic: SimDriver.reset keeps the clock running
            for key, period in periods.items():
                if period is not None and t + 1e-9 >= due[key]:
                    # keep the phase so the average rate is exact despite 4 ms chunks
                    due[key] = due[key] + period if due[key] + period > t else t + period
                    getattr(self, f"_publish_{key}")()
            now = time.monotonic()
            if now - win_wall >= 1.0:
                self.measured_rtf = (t - win_sim) / (now - win_wall)
                win_wall, win_sim = now, t
            rtf = float(self.get_parameter("real_time_factor").value)
            if rtf != rtf_used:  # changed at run time: re-anchor the pacing
                wall0, sim0, rtf_used = now, t, rtf
            if rtf > 0:
                ahead = (t - sim0) / rtf - (now - wall0)
                if ahead > MIN_SLEEP:
                    self._stop.wait(ahead)
                elif ahead < -MAX_DEBT:  # hopelessly behind: drop the debt instead of racing
                    self.dropped_lag_s += -ahead
                    wall0, sim0 = now, t

    def _publish_joints(self) -> None:
        d = self.driver
        with d.lock:
            t = d.time
            q = d.world.joint_positions()
            dq = d.world.joint_velocities()
            eff = d.world.joint_efforts()
        stamp = msgs.sec_to_stamp(t)
        self.clock_pub.publish(Clock(clock=stamp))
        js = JointState()
        js.header.stamp = stamp
        js.name = list(d.world.joint_names)
        js.position = q.tolist()
        js.velocity = dq.tolist()
        js.effort = eff.tolist()
        self.joint_pub.publish(js)

    def _publish_camera(self) -> None:
        d = self.driver
        with d.lock:
            frame = d.world.render(self.camera)
        stamp = msgs.sec_to_stamp(frame.stamp)
        fid = frame.frame_id
        info = msgs.model_to_camera_info(frame.camera, stamp)
        self.info_pub.publish(info)
        self.depth_info_pub.publish(info)
        self.color_pub.publish(msgs.numpy_to_image(frame.color, "rgb8", stamp, fid))
        self.depth_pub.publish(msgs.numpy_to_image(depth_m_to_mm(frame.depth), "16UC1", stamp, fid))
        if self.get_parameter("publish_pointcloud").value:
            pts = frame.camera.depth_to_points(frame.depth, frame="camera")[::2, ::2]
            pts = pts[np.isfinite(pts[..., 2])]
            self.points_pub.publish(msgs.points_to_pointcloud2(pts, fid, stamp))

    def _publish_viewer(self) -> None:
        d = self.driver
        with d.lock:
            frame = d.world.render("viewer")
        stamp = msgs.sec_to_stamp(frame.stamp)
        self.viewer_pub.publish(msgs.numpy_to_image(frame.color, "rgb8", stamp, frame.frame_id))

    def _publish_poses(self) -> None:
        d = self.driver
        with d.lock:
            t = d.time
            poses = d.world.object_poses()
        msg = PoseArray()
        msg.header.stamp = msgs.sec_to_stamp(t)
        msg.header.frame_id = "panda_link0"
        for T in poses.values():
            p, q = pose_to_pq(T)
            pose = Pose()
            pose.position.x, pose.position.y, pose.position.z = map(float, p)
            pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = map(
                float, q
            )
            msg.poses.append(pose)
        self.poses_pub.publish(msg)

    def destroy_node(self) -> None:
        stop, thread = getattr(self, "_stop", None), getattr(self, "_thread", None)
        if stop is not None:  # absent when the constructor failed before starting physics
            stop.set()
        if thread is not None and thread.is_alive() and threading.current_thread() is not thread:
            thread.join(timeout=5.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(SimDriverNode, args)
