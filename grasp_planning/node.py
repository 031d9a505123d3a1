"""Executor node: grasp candidates in, pick-and-place motions out.

Subscribes ``/grasp_candidates`` (PointCloud2 grasp array), ``/joint_states`` and
optionally ``/perception/object_points`` (perceived objects for the collision scene);
serves ``/executor/pick`` and ``/executor/stop`` (std_srvs/Trigger); publishes
JointTrajectory on the arm and hand controllers' topics and
``/executor/status`` (diagnostic_msgs/DiagnosticStatus). ``continuous`` picks again
whenever new candidates arrive after the last pick (closed-loop clearing).

The pick runs in a worker thread (one at a time); callbacks never block, so a stop
request is served mid-motion.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import JointState, PointCloud2
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from grasp_bringup import msgs
from grasp_bringup.node_utils import (
    UNKNOWN_NODE,
    ParamSpec,
    SilenceWatch,
    declare_params,
    endpoints_outside,
    run_node,
)
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS
from grasp_core.cell import load_layout
from grasp_core.errors import GraspBringupError
from grasp_core.grasp import Grasp
from grasp_planning.backend import BACKENDS, make_backend
from grasp_planning.collision import PlanningScene
from grasp_planning.joint_state import JointStateCache
from grasp_planning.motion import MotionParams, Trajectory
from grasp_planning.pick import PickAndPlace, PickParams, PickResult, PickState, RobotIO
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.world import add_cell, add_perceived_objects

PARAMS = [
    ParamSpec("robot", "panda", "robot config name under config/robots (or a YAML path)"),
    ParamSpec("group", "", "planning group (empty: the robot's default group)"),
    ParamSpec(
        "backend",
        "embedded",
        f"planning backend, one of {BACKENDS}; moveit/auto need MoveIt's parameters on this node",
    ),
    ParamSpec(
        "cell_layout",
        "",
        "work-cell YAML, a path or relative to config/ (empty: sim/panda_table.yaml); its "
        "frame must be the robot's base frame; its robot.home, when given, is the home the "
        "arm returns to (else the robot config's)",
    ),
    ParamSpec("velocity_scaling", 0.3, "fraction of the joint velocity limits", (0.01, 1.0)),
    ParamSpec("acceleration_scaling", 0.3, "fraction of acceleration/jerk limits", (0.01, 1.0)),
    ParamSpec("planning_time", 1.0, "OMPL time budget per joint motion [s]", (0.05, 30.0)),
    ParamSpec("padding", 0.005, "robot-obstacle safety margin [m]", (0.0, 0.05)),
    ParamSpec("continuous", False, "pick again whenever new candidates arrive"),
    ParamSpec("continuous_period", 1.0, "how often continuous mode looks [s]", (0.05, 60.0)),
    ParamSpec(
        "require_controllers",
        True,
        "refuse a pick while nothing subscribes to the arm or hand trajectory topic (a "
        "controller not running, or a real Franka hand without its bridge)",
    ),
    ParamSpec("min_hold_width", 0.002, "finger gap below which a grasp is empty [m]", (0.0, 0.08)),
    ParamSpec(
        "close_width",
        0.0,
        "fingers commanded to this width (capped at the grasp width) [m]; the force limit "
        "stops them on the object",
        (0.0, 0.08),
    ),
    ParamSpec(
        "goal_tolerance", 0.02, "joint error accepted at a segment's goal [rad]", (0.001, 0.5)
    ),
    ParamSpec("timeout_factor", 1.5, "segment timeout = duration * factor + margin", (1.0, 10.0)),
    ParamSpec("timeout_margin", 2.0, "segment timeout margin [s]", (0.0, 60.0)),
    ParamSpec("gripper_time", 1.0, "time given to the gripper to open/close [s]", (0.05, 10.0)),
    ParamSpec(
        "gripper_settle",
        2.0,
        "then wait up to this long for the fingers to come to rest [s]; 0 = do not wait",
        (0.0, 30.0),
    ),
    ParamSpec(
        "lay_down",
        False,
        "lay objects taller than lay_down_ratio x the bin's walls, grasped top-down, along "
        "the bin's longer side",
    ),
    ParamSpec(
        "lay_down_ratio",
        1.0,
        "objects taller than this times the bin's wall height are laid down",
        (0.0, 10.0),
    ),
    ParamSpec("place_clearance", 0.05, "object clearance above the bin rim [m]", (0.0, 0.5)),
    ParamSpec(
        "place_descent",
        0.0,
        "lower the object this far into the bin before releasing it, stopping at contact "
        "(needs efforts on /joint_states; 0 = release above the rim) [m]",
        (0.0, 1.0),
    ),
    ParamSpec(
        "contact_force",
        15.0,
        "upward force on the hand, estimated from the joint efforts, that ends the lower [N]",
        (0.5, 200.0),
    ),
    ParamSpec(
        "retry_radius",
        0.02,
        "grasps this close to a recent execution failure are tried last [m]",
        (0.0, 0.5),
    ),
    ParamSpec("retry_memory", 3, "failed picks remembered for retry_radius (0 = off)", (0, 100)),
    ParamSpec(
        "use_object_points",
        True,
        "add /perception/object_points hulls to the scene; a pick then waits for a cloud "
        "of a camera frame taken after the last pick's end (the objects may have moved)",
    ),
    ParamSpec("max_candidate_age", 30.0, "ignore candidates older than this [s]", (0.1, 3600.0)),
    ParamSpec(
        "joint_state_timeout",
        0.5,
        "a joint whose /joint_states position is older than this is unknown: no motion is "
        "planned or sent from it [s, node clock]",
        (0.01, 60.0),
    ),
    ParamSpec(
        "sim_driver_node",
        "sim_driver",
        "while a node of this name publishes /joint_states (the simulated robot), refuse "
        "to pick if any other node publishes /joint_states too: a real robot's driver on "
        "the same ROS domain would take the trajectories (empty: no check)",
    ),
    ParamSpec("arm_topic", "", "arm JointTrajectory topic (empty: from the robot config)"),
    ParamSpec("hand_topic", "", "hand JointTrajectory topic (empty: from the robot config)"),
]

LEVELS = {
    PickState.FAILED: DiagnosticStatus.ERROR,
    PickState.STOPPED: DiagnosticStatus.WARN,
}


class ExecutorNode(Node):
    """Filters candidates and runs pick-and-place (see the module docstring)."""

    NODE_NAME = "executor"
    PARAM_SPECS = PARAMS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(self.NODE_NAME, **kwargs)
        p = declare_params(self, self.PARAM_SPECS)
        self.params = p
        self.robot = RobotModel(load_robot(p["robot"]), p["group"] or None)
        # the cell must be written in the robot's base frame (Baxter: base), else stop here
        base = self.robot.config.base_frame
        self.layout = load_layout(
            p["cell_layout"] or None, frame=base, user=f"robot {self.robot.config.name}"
        )
        if self.layout.home_q is not None and self.layout.home_q.size == self.robot.nq:
            # the cell's home (e.g. where a wrist camera sees the workspace) over the robot's
            self.robot.set_home(self.layout.home_q, f"{self.layout.source}: robot.home")
        self.scene = PlanningScene(self.robot, padding=p["padding"])
        add_cell(self.scene, self.layout)
        motion = MotionParams(
            velocity_scaling=p["velocity_scaling"],
            acceleration_scaling=p["acceleration_scaling"],
            planning_time=p["planning_time"],
        )
        self.backend = make_backend(p["backend"], self.robot, self.scene, self.layout, motion)
        pick = PickParams(
            place_clearance=p["place_clearance"],
            place_descent=p["place_descent"],
            contact_force=p["contact_force"],
            min_hold_width=p["min_hold_width"],
            close_width=p["close_width"],
            goal_tolerance=p["goal_tolerance"],
            timeout_factor=p["timeout_factor"],
            timeout_margin=p["timeout_margin"],
            gripper_time=p["gripper_time"],
            gripper_settle=p["gripper_settle"],
            lay_down=p["lay_down"],
            lay_down_ratio=p["lay_down_ratio"],
            retry_radius=p["retry_radius"],
            retry_memory=p["retry_memory"],
        )
        io = RobotIO(
            self._send_arm,
            self._send_gripper,
            self._joint_state,
            self._now,
            self._on_state,
            self._joint_effort,
        )
        self.pnp = PickAndPlace(self.backend, io, pick)

        self._lock = threading.Lock()
        self._joints = JointStateCache(p["joint_state_timeout"])
        self._grasps: list[Grasp] = []
        self._grasps_stamp = -np.inf  # receive time [s] of the candidates
        self._grasps_frame = -np.inf  # when their camera frame was taken [s] (msgs.frame_time)
        #: newest perceived objects not yet in the scene: (points, labels, arm q or None)
        self._objects: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        #: when the newest perceived objects' camera frame was taken [s] (msgs.frame_time):
        #: a pick waits for a frame taken after the last pick's end
        self._objects_frame = -np.inf
        self._last_pick_end = -np.inf
        self._worker: threading.Thread | None = None
        self._last: PickResult | None = None
        self._state_text = ""

        sensors = MutuallyExclusiveCallbackGroup()
        services = ReentrantCallbackGroup()
        self.arm_pub = self.create_publisher(
            JointTrajectory, p["arm_topic"] or self.robot.group.arm_controller_topic, RELIABLE_QOS
        )
        self.hand_pub = self.create_publisher(
            JointTrajectory, p["hand_topic"] or self.robot.gripper.controller_topic, RELIABLE_QOS
        )
        self.status_pub = self.create_publisher(DiagnosticStatus, "/executor/status", RELIABLE_QOS)
        self.create_subscription(
            PointCloud2,
            "/grasp_candidates",
            self._on_candidates,
            RELIABLE_QOS,
            callback_group=sensors,
        )
        self.create_subscription(
            JointState, "/joint_states", self._on_joint_state, SENSOR_QOS, callback_group=sensors
        )
        self._joints_watch = SilenceWatch(
            self,
            "/joint_states",
            "joint state",
            "is the robot driver (or the sim driver) running? No pick can start without it",
            sensors,
        )
        if p["use_object_points"]:
            self.create_subscription(
                PointCloud2,
                "/perception/object_points",
                self._on_object_points,
                RELIABLE_QOS,
                callback_group=sensors,
            )
        self.create_service(Trigger, "/executor/pick", self._on_pick, callback_group=services)
        self.create_service(Trigger, "/executor/stop", self._on_stop, callback_group=services)
        self.create_timer(p["continuous_period"], self._on_timer, callback_group=sensors)
        self._publish_status(PickState.IDLE, f"ready ({self.backend.name} backend)")
        self.get_logger().info(
            f"executor ready: {self.robot}, backend {self.backend.name}, "
            f"continuous={p['continuous']}"
        )

    # ---- robot IO (called from the worker thread) ----------------------------------------

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _joint_state(self) -> dict[str, float] | None:
        return self._joints.positions(self._now())

    def _joint_effort(self) -> dict[str, float] | None:
        return self._joints.efforts(self._now())

    def _send_arm(self, traj: Trajectory) -> None:
        msg = JointTrajectory()
        msg.joint_names = list(traj.joint_names)
        for t, q, v in zip(traj.times, traj.positions, traj.velocities, strict=True):
            pt = JointTrajectoryPoint()
            pt.positions = [float(x) for x in q]
            pt.velocities = [float(x) for x in v]
            pt.time_from_start = _duration(float(t))
            msg.points.append(pt)
        self.arm_pub.publish(msg)

    def _send_gripper(self, width: float, duration: float) -> None:
        g = self.robot.gripper
        msg = JointTrajectory()
        msg.joint_names = list(g.joints)
        pt = JointTrajectoryPoint()
        pt.positions = [float(x) for x in g.joint_positions(width)]
        pt.time_from_start = _duration(max(duration, 1e-3))
        msg.points.append(pt)
        self.hand_pub.publish(msg)

    def _on_state(self, state: PickState, text: str) -> None:
        self._publish_status(state, text)
        if state in (PickState.DONE, PickState.FAILED, PickState.STOPPED) or (
            state is PickState.LOWER and text
        ):
            self.get_logger().info(f"pick {state.value}: {text}")

    # ---- callbacks ----------------------------------------------------------------------

    def _on_joint_state(self, msg: JointState) -> None:
        self._joints_watch.heard()
        why = self._joints.update(msg.name, msg.position, msg.effort, self._now())
        if why is not None:
            self.get_logger().warning(f"dropping /joint_states: {why}", throttle_duration_sec=5.0)

    def _on_candidates(self, msg: PointCloud2) -> None:
        try:
            grasps, rejected = msgs.pointcloud2_to_grasps(msg)
        except GraspBringupError as exc:
            self.get_logger().warning(
                f"dropping /grasp_candidates: {exc}", throttle_duration_sec=2.0
            )
            return
        if rejected:
            self.get_logger().warning(
                f"/grasp_candidates: dropped {len(rejected)} rows, e.g. {rejected[0]}",
                throttle_duration_sec=2.0,
            )
        now = self._now()
        with self._lock:
            self._grasps = grasps
            self._grasps_stamp = now
            self._grasps_frame = msgs.frame_time(msgs.stamp_to_sec(msg.header.stamp), now)

    def _on_object_points(self, msg: PointCloud2) -> None:
        """Decode and keep the newest cloud with the arm's joint positions at its arrival;
        the hulls are built from it when a pick starts (:meth:`update_scene`), not for
        every cloud perception sends while the robot waits."""
        if self.pnp.busy:
            return  # keep the scene the running pick was planned in
        try:
            xyz, labels = msgs.pointcloud2_to_object_points(
                msg, self.robot.config.base_frame, require_labels=True
            )
        except GraspBringupError as exc:
            self._drop_objects(exc)
            return
        now = self._now()
        with self._lock:
            self._objects = (xyz, labels, self.pnp.current_q())
            self._objects_frame = msgs.frame_time(msgs.stamp_to_sec(msg.header.stamp), now)

    def update_scene(self) -> PlanningScene:
        """The collision scene with the newest perceived objects in it: one convex hull per
        label, the arm's own points dropped as it stood when the cloud arrived."""
        with self._lock:
            pending, self._objects = self._objects, None
        if pending is not None:
            xyz, labels, q = pending
            try:
                add_perceived_objects(
                    self.scene, xyz, labels, table_z=self.layout.table_top_z, q_robot=q
                )
            except GraspBringupError as exc:
                self._drop_objects(exc)
        return self.scene

    def _drop_objects(self, exc: GraspBringupError) -> None:
        """A cloud that cannot be decoded, or made into hulls, is left out with a warning."""
        self.get_logger().warning(
            f"dropping /perception/object_points: {exc}", throttle_duration_sec=2.0
        )

    def destroy_node(self) -> None:
        """Halt a running pick and wait for its thread before the publishers go: the
        thread would otherwise publish its result on a destroyed publisher."""
        if self.pnp.busy:
            self.pnp.stop()
        if self._worker is not None:
            self._worker.join(timeout=10.0)
        super().destroy_node()

    def _on_pick(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        ok, text = self._start_pick()
        response.success, response.message = ok, text
        return response

    def _on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        busy = self.pnp.busy
        self.pnp.stop()
        response.success = True
        response.message = "stopping the running pick" if busy else "halted (no pick was running)"
        return response

    def _on_timer(self) -> None:
        if not self.params["continuous"] or self.pnp.busy:
            return
        with self._lock:
            # candidates of a frame taken after the last pick (not ones detected on a
            # frame from during it that arrive after its end)
            fresh = self._grasps_frame > self._last_pick_end and bool(self._grasps)
        if fresh:
            started, why = self._start_pick()
            if started or self.pnp.busy:
                return
            # a service caller hears why; here, the log. Perception's next cloud after a
            # pick is a wait, not a fault (two calls: rclpy keeps one severity a call site)
            if why == msgs.PICK_NO_OBJECTS_YET:
                self.get_logger().info(f"continuous: waiting: {why}", throttle_duration_sec=5.0)
            else:
                self.get_logger().warning(
                    f"continuous: not picking: {why}", throttle_duration_sec=5.0
                )

    # ---- picking ------------------------------------------------------------------------

    def _start_pick(self) -> tuple[bool, str]:
        if self.pnp.busy or (self._worker is not None and self._worker.is_alive()):
            return False, msgs.PICK_BUSY
        with self._lock:
            grasps = list(self._grasps)
            age = self._now() - self._grasps_stamp
            objects_seen = self._objects_frame > self._last_pick_end
        if not self._joints.received:
            return False, msgs.PICK_NO_JOINT_STATES
        deaf = [
            pub.topic_name
            for pub in (self.arm_pub, self.hand_pub)
            if pub.get_subscription_count() == 0
        ]
        if deaf and self.params["require_controllers"]:
            return False, (
                f"{msgs.PICK_NO_CONTROLLER} {' and '.join(deaf)}: is the controller running? (a "
                "real Franka hand needs a bridge, docs/planning.md; require_controllers: "
                "false picks anyway)"
            )
        if self.pnp.current_q() is None:
            return False, msgs.PICK_STALE_JOINT_STATES
        shared = self._shared_sim_robot()
        if shared:
            return False, shared
        if not np.isfinite(age):
            return False, msgs.PICK_NO_CANDIDATES_YET
        if self.params["use_object_points"] and not objects_seen:
            # no collision scene of the objects (none yet, or the last pick moved them):
            # the fingers could come down on an object the filter never saw
            return False, msgs.PICK_NO_OBJECTS_YET
        if age > self.params["max_candidate_age"]:
            return False, f"no recent grasp candidates (the last came {age:.1f} s ago)"
        if not grasps:
            return False, (
                "the latest grasp candidates hold no grasp (nothing to grasp, or cleared "
                "by the last successful pick: the next detection brings new ones)"
            )
        self.update_scene()
        self._worker = threading.Thread(target=self._run_pick, args=(grasps,), daemon=True)
        self._worker.start()
        return True, f"pick started with {len(grasps)} candidates"

    def _shared_sim_robot(self) -> str:
        """The refusal while the robot is simulated (``sim_driver_node`` publishes
        /joint_states) and another node publishes /joint_states too: a real robot's
        driver on the same ROS domain, which would take this executor's trajectories
        (and mix its joint states into the simulation's). "" when the robot is not
        simulated, or the simulation alone publishes them. Other nodes taking the
        commands are only logged: a recorder or ``ros2 topic echo`` does too."""
        driver = self.params["sim_driver_node"]
        if not driver:
            return ""
        states = self.get_publishers_info_by_topic("/joint_states")
        names = {info.node_name for info in states}
        if UNKNOWN_NODE in names:
            return msgs.PICK_DISCOVERY_PENDING  # the driver could be among them
        if driver not in names:
            return ""  # a real robot's graph: its gripper may publish joint states too
        foreign = endpoints_outside([("/joint_states", states, "publishes it too")], {driver})
        readers = [
            (pub.topic_name, self.get_subscriptions_info_by_topic(pub.topic_name), "reads them")
            for pub in (self.arm_pub, self.hand_pub)
        ]
        also = endpoints_outside(readers, {driver})
        if also:
            self.get_logger().warning(
                f"beside the simulated robot {driver}, other nodes take its commands: "
                f"{'; '.join(also)} (a recorder is harmless; a robot's controller would move)",
                throttle_duration_sec=30.0,
            )
        if not foreign:
            return ""
        self.get_logger().error(
            f"not picking: {'; '.join(foreign)}, beside the simulated robot {driver}",
            throttle_duration_sec=10.0,
        )
        return (
            f"{msgs.PICK_SHARED_ROBOT} {'; '.join(foreign)}. A real robot's driver on this "
            "ROS_DOMAIN_ID would take this executor's trajectories: stop it, or run the "
            "simulation on another ROS_DOMAIN_ID (sim_driver_node: '' turns the check off)"
        )

    def _run_pick(self, grasps: list[Grasp]) -> None:
        try:
            result = self.pnp.pick(grasps)
        except GraspBringupError as exc:  # a bug-level failure: report, never crash
            result = PickResult(False, PickState.FAILED, f"internal error: {exc}")
            self._publish_status(result.state, result.reason)
        self._last = result
        with self._lock:
            self._last_pick_end = self._now()
            if result.state is PickState.DONE:
                self._grasps = []  # the scene changed: wait for fresh candidates
        self._publish_status(result.state, result.reason)

    def _publish_status(self, state: PickState, text: str) -> None:
        msg = DiagnosticStatus()
        msg.name = "executor"
        msg.hardware_id = self.robot.config.name
        msg.level = LEVELS.get(state, DiagnosticStatus.OK)
        msg.message = f"{state.value}: {text}" if text else state.value
        last = self._last
        values = {"state": state.value, "backend": self.backend.name}
        if last is not None:
            values.update(
                last_result="success" if last.success else last.state.value,
                last_reason=last.reason,
                planning_time=f"{last.planning_time:.3f}",
                execution_time=f"{last.execution_time:.3f}",
                place=last.details.get("place", ""),
            )
        msg.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        self.status_pub.publish(msg)


def _duration(t: float) -> Duration:
    sec, nanosec = divmod(int(round(t * 1e9)), 1_000_000_000)
    return Duration(sec=sec, nanosec=nanosec)


def main(args: list[str] | None = None) -> None:
    run_node(ExecutorNode, args)
