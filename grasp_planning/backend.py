"""Planning backends behind one small interface.

* :class:`EmbeddedBackend` — this package's pinocchio / coal / OMPL / ruckig stack.
* :class:`MoveItPyBackend` — MoveIt 2 through ``moveit.planning.MoveItPy`` (a system ROS 2
  install with MoveIt and a running ``move_group``-style configuration). Written against
  MoveItPy's documented API (``MoveItPy``, ``PlanningComponent``,
  ``RobotState.set_from_ik``, the planning scene monitor); imported lazily.

:func:`make_backend` picks MoveItPy automatically when ``moveit`` is importable (``"auto"``).
"""

from __future__ import annotations

import abc
import importlib.util
from collections.abc import Iterable, Sequence

import numpy as np

from grasp_core.cell import CellLayout
from grasp_core.grasp import Grasp
from grasp_core.se3 import pose_to_pq
from grasp_core.validation import require_choice
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import BackendUnavailable, MotionPlanningError
from grasp_planning.grasp_filter import FilterResult, filter_grasps_report
from grasp_planning.ik import solve_ik
from grasp_planning.motion import MotionParams, MotionPlanner, Trajectory
from grasp_planning.pick import PickParams, PickPlan, plan_pick
from grasp_planning.robot import RobotModel

BACKENDS = ("auto", "embedded", "moveit")


def moveit_available() -> bool:
    """Whether the ``moveit`` Python package (MoveItPy) can be imported here."""
    return importlib.util.find_spec("moveit") is not None


class PlanningBackend(abc.ABC):
    """What the executor needs from a planner. Poses are ``T_base_tcp`` (4x4, grasp TCP,
    robot base frame); configurations are the group's joints [rad]."""

    name: str = "abstract"

    def __init__(self, robot: RobotModel, scene: PlanningScene, layout: CellLayout) -> None:
        layout.require_frame(robot.config.base_frame, f"robot {robot.config.name}")
        self.robot = robot
        self.scene = scene
        self.layout = layout

    @abc.abstractmethod
    def ik(self, T_base_tcp: np.ndarray, q_seed: np.ndarray) -> np.ndarray | None:
        """A configuration reaching ``T_base_tcp`` (closest to ``q_seed``), or None."""

    @abc.abstractmethod
    def plan_joint(
        self, q_start: np.ndarray, q_goal: np.ndarray, ignore: Iterable[str] = ()
    ) -> Trajectory:
        """Collision-free, time-parameterised motion; raises MotionPlanningError."""

    @abc.abstractmethod
    def filter(self, grasps: Sequence[Grasp], q_current: np.ndarray) -> FilterResult:
        """Feasible grasps, ranked (see :func:`grasp_filter.filter_grasps`)."""

    @abc.abstractmethod
    def plan_pick(self, ranked, q_current: np.ndarray, params: PickParams) -> PickPlan:
        """Every segment of a pick; raises MotionPlanningError."""


class EmbeddedBackend(PlanningBackend):
    """pinocchio IK, coal collisions, OMPL RRTConnect, ruckig timing."""

    name = "embedded"

    def __init__(
        self,
        robot: RobotModel,
        scene: PlanningScene,
        layout: CellLayout,
        params: MotionParams | None = None,
    ) -> None:
        super().__init__(robot, scene, layout)
        self.planner = MotionPlanner(robot, scene, params or MotionParams())

    def ik(self, T_base_tcp: np.ndarray, q_seed: np.ndarray) -> np.ndarray | None:
        return solve_ik(self.robot, T_base_tcp, q_seed).q

    def plan_joint(
        self, q_start: np.ndarray, q_goal: np.ndarray, ignore: Iterable[str] = ()
    ) -> Trajectory:
        return self.planner.joint_trajectory(q_start, q_goal, ignore=tuple(ignore))

    def filter(self, grasps: Sequence[Grasp], q_current: np.ndarray) -> FilterResult:
        return filter_grasps_report(grasps, self.robot, self.scene, q_current)

    def plan_pick(self, ranked, q_current: np.ndarray, params: PickParams) -> PickPlan:
        return plan_pick(self.planner, ranked, q_current, self.layout, params)


class MoveItPyBackend(EmbeddedBackend):
    """MoveIt 2 via MoveItPy for IK and joint-space planning.

    Grasp filtering and Cartesian segments stay embedded (MoveItPy exposes no Cartesian
    path call); joint motions go through ``PlanningComponent.plan()`` with the
    perceived objects mirrored into MoveIt's planning scene. ``node_name`` is the MoveItPy
    node; MoveIt's own parameters (robot description, planning pipelines) come from the
    launch file as usual. Needs ``moveit`` (and ``moveit_msgs``) importable.
    """

    name = "moveit"

    def __init__(
        self,
        robot: RobotModel,
        scene: PlanningScene,
        layout: CellLayout,
        params: MotionParams | None = None,
        group_name: str | None = None,
        node_name: str = "grasp_executor_moveit",
        ik_timeout: float = 0.1,
    ) -> None:
        if not moveit_available():
            raise BackendUnavailable(
                "MoveItPyBackend needs the `moveit` Python package (MoveIt 2 system install); "
                f"valid backends here: {', '.join(b for b in BACKENDS if b != 'moveit')}"
            )
        super().__init__(robot, scene, layout, params)
        from moveit.core.robot_state import RobotState
        from moveit.planning import MoveItPy

        self._RobotState = RobotState
        self.moveit = MoveItPy(node_name=node_name)
        # MoveIt configs name the Panda arm group "panda_arm"; ours is "arm".
        self.group_name = group_name or f"{robot.config.name}_{robot.group.name}"
        self.component = self.moveit.get_planning_component(self.group_name)
        self.ik_timeout = ik_timeout

    def _state(self, q: np.ndarray):
        state = self._RobotState(self.moveit.get_robot_model())
        state.set_joint_group_positions(self.group_name, np.asarray(q, dtype=np.float64))
        state.update()
        return state

    def ik(self, T_base_tcp: np.ndarray, q_seed: np.ndarray) -> np.ndarray | None:
        from geometry_msgs.msg import Pose

        state = self._state(q_seed)
        # MoveIt solves for a link of its model: the URDF parent of our grasp TCP frame.
        tip = self.robot.group.tcp_parent
        T_parent_tcp = np.linalg.inv(self.robot.fk(q_seed, tip)) @ self.robot.fk(q_seed)
        p, qx = pose_to_pq(T_base_tcp @ np.linalg.inv(T_parent_tcp))
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = (float(v) for v in p)
        o = pose.orientation
        o.x, o.y, o.z, o.w = (float(v) for v in qx)
        if not state.set_from_ik(self.group_name, pose, tip, self.ik_timeout):
            return None
        return np.asarray(state.get_joint_group_positions(self.group_name), dtype=np.float64)

    def plan_joint(
        self, q_start: np.ndarray, q_goal: np.ndarray, ignore: Iterable[str] = ()
    ) -> Trajectory:
        self._sync_scene(ignore)
        self.component.set_start_state(robot_state=self._state(q_start))
        self.component.set_goal_state(robot_state=self._state(q_goal))
        result = self.component.plan()
        if not result:
            raise MotionPlanningError(f"MoveIt ({self.group_name}) found no plan")
        msg = result.trajectory.get_robot_trajectory_msg().joint_trajectory
        order = [list(msg.joint_names).index(n) for n in self.robot.joint_names]
        times = np.array(
            [p.time_from_start.sec + 1e-9 * p.time_from_start.nanosec for p in msg.points]
        )
        pos = np.array([[p.positions[i] for i in order] for p in msg.points])
        vel = np.array(
            [[p.velocities[i] if p.velocities else 0.0 for i in order] for p in msg.points]
        )
        return Trajectory(self.robot.joint_names, times, pos, vel)

    def _sync_scene(self, ignore: Iterable[str]) -> None:
        """Mirror our scene objects into MoveIt's planning scene (boxes, cylinders, spheres;
        convex hulls as meshes)."""
        from moveit_msgs.msg import CollisionObject
        from shape_msgs.msg import Mesh, MeshTriangle, SolidPrimitive

        skip = set(ignore)
        monitor = self.moveit.get_planning_scene_monitor()
        with monitor.read_write() as ps:
            for name, obj in self.scene.objects.items():
                co = CollisionObject()
                co.header.frame_id = self.robot.config.base_frame
                co.id = name
                if name in skip:
                    co.operation = CollisionObject.REMOVE
                    ps.apply_collision_object(co)
                    continue
                p, qx = pose_to_pq(obj.T_base_object)
                co.pose.position.x, co.pose.position.y, co.pose.position.z = (float(v) for v in p)
                (
                    co.pose.orientation.x,
                    co.pose.orientation.y,
                    co.pose.orientation.z,
                    co.pose.orientation.w,
                ) = (float(v) for v in qx)
                if obj.kind == "convex":
                    from scipy.spatial import ConvexHull

                    hull = ConvexHull(obj.vertices)
                    mesh = Mesh()
                    for v in obj.vertices:
                        pt = type(co.pose.position)()
                        pt.x, pt.y, pt.z = (float(c) for c in v)
                        mesh.vertices.append(pt)
                    for f in hull.simplices:
                        mesh.triangles.append(MeshTriangle(vertex_indices=[int(i) for i in f]))
                    co.meshes.append(mesh)
                else:
                    prim = SolidPrimitive()
                    prim.type = {
                        "box": SolidPrimitive.BOX,
                        "cylinder": SolidPrimitive.CYLINDER,
                        "sphere": SolidPrimitive.SPHERE,
                    }[obj.kind]
                    dims = list(obj.size)
                    if obj.kind == "cylinder":
                        dims = [obj.size[1], obj.size[0]]  # MoveIt: height, radius
                    prim.dimensions = [float(d) for d in dims]
                    co.primitives.append(prim)
                co.operation = CollisionObject.ADD
                ps.apply_collision_object(co)
            ps.current_state.update()


def make_backend(
    kind: str,
    robot: RobotModel,
    scene: PlanningScene,
    layout: CellLayout,
    params: MotionParams | None = None,
) -> PlanningBackend:
    """``"embedded"``, ``"moveit"`` or ``"auto"`` (MoveIt when importable)."""
    require_choice("backend", kind, BACKENDS)
    if kind == "moveit" or (kind == "auto" and moveit_available()):
        return MoveItPyBackend(robot, scene, layout, params)
    return EmbeddedBackend(robot, scene, layout, params)
