"""Robot models from URDF + SRDF (pinocchio), one planning group at a time.

A robot is described by a small YAML file under ``config/robots/`` (joint names, groups,
TCP, limits, home pose, controller topics, URDF/SRDF locations); adding a robot is adding
a file. :func:`load_robot` reads it into a frozen :class:`RobotConfig`;
:class:`RobotModel` builds the pinocchio model of one group (every other joint locked,
fingers open), its collision geometry (coal) and the grasp TCP as an operational frame.

Kinematics: :meth:`RobotModel.fk` / :meth:`RobotModel.jacobian` call pinocchio;
:meth:`RobotModel.fk_batch` / :meth:`RobotModel.jacobian_batch` evaluate many
configurations at once in numpy from the same pinocchio model (joint placements and axes),
because a Python loop over pinocchio calls costs ~20 µs per configuration and the grasp
filter needs thousands of them; tests check both against each other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pinocchio as pin

from grasp_core import paths
from grasp_core.errors import GraspBringupError
from grasp_core.files import read_yaml_mapping
from grasp_core.paths import config_path, share_dir
from grasp_core.se3 import make_transform
from grasp_core.validation import as_array, readonly
from grasp_planning.errors import RobotConfigError

ERD_PREFIX = "example-robot-data://"
GRASP_TCP_FRAME = "grasp_tcp"


def example_robot_data_dir() -> Path:
    """:func:`grasp_core.paths.example_robot_data_dir`, raising a RobotConfigError."""
    try:
        return paths.example_robot_data_dir()
    except GraspBringupError as exc:
        raise RobotConfigError(str(exc)) from exc


def _resolve(value: str, config_file: Path) -> Path:
    if value.startswith(ERD_PREFIX):
        return example_robot_data_dir() / value[len(ERD_PREFIX) :]
    p = Path(value)
    return p if p.is_absolute() else (config_file.parent / p).resolve()


def _floats(name: str, value: object, n: int | None = None) -> tuple[float, ...]:
    arr = as_array(name, value, shape=(n,) if n is not None else (None,))
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class GripperConfig:
    """Parallel gripper of a group: finger joints, ``width_to_joint`` factors (joint
    position [m] = width [m] * factor), ``max_width`` [m], link names of the fingers
    (allowed to touch the target) and the hand, and the controller topic."""

    joints: tuple[str, ...]
    width_to_joint: tuple[float, ...]
    max_width: float
    finger_links: tuple[str, ...]
    hand_links: tuple[str, ...]
    controller_topic: str

    def joint_positions(self, width: float) -> np.ndarray:
        """Finger joint positions [m] for an opening ``width`` [m] (clipped to the stroke)."""
        w = float(np.clip(width, 0.0, self.max_width))
        return np.array([w * f for f in self.width_to_joint])

    def width_from_joints(self, positions: np.ndarray) -> float:
        """Opening [m] from finger joint positions (mean of the per-joint estimates)."""
        p = np.asarray(positions, dtype=np.float64)
        return float(np.mean([pi / f for pi, f in zip(p, self.width_to_joint, strict=True)]))


@dataclass(frozen=True)
class GroupConfig:
    """One planning group: ``joints`` (order of every q vector), ``home`` [rad], the grasp
    TCP as ``tcp_parent`` frame + ``tcp_xyz`` [m] / ``tcp_rpy`` [rad], ``reach_radius`` [m]
    around the first joint, acceleration [rad/s^2] and jerk [rad/s^3] limits."""

    name: str
    joints: tuple[str, ...]
    home: tuple[float, ...]
    tcp_parent: str
    tcp_xyz: tuple[float, ...]
    tcp_rpy: tuple[float, ...]
    reach_radius: float
    acceleration_limits: tuple[float, ...]
    jerk_limits: tuple[float, ...]
    arm_controller_topic: str
    gripper: GripperConfig


@dataclass(frozen=True)
class RobotConfig:
    """A robot: description files, base frame, workspace box [m] and its groups."""

    name: str
    urdf: Path
    srdf: Path | None
    base_frame: str
    default_group: str
    workspace_min: tuple[float, float, float]
    workspace_max: tuple[float, float, float]
    groups: tuple[GroupConfig, ...]
    source: Path

    def group(self, name: str | None = None) -> GroupConfig:
        """The group called ``name`` (default: ``default_group``)."""
        name = name or self.default_group
        for g in self.groups:
            if g.name == name:
                return g
        raise RobotConfigError(
            f"{self.source}: group {name!r} unknown; available: "
            + ", ".join(g.name for g in self.groups)
        )


def available_robots() -> list[str]:
    """Names of the robot config files under ``config/robots``."""
    return sorted(p.stem for p in (share_dir() / "config" / "robots").glob("*.yaml"))


def load_robot(name_or_path: str | Path) -> RobotConfig:
    """Read ``config/robots/<name>.yaml`` (``"panda"``, ``"baxter"``) or a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        if str(name_or_path) not in available_robots():
            raise RobotConfigError(
                f"robot {name_or_path!r} is unknown; available: {', '.join(available_robots())}"
            )
        path = config_path("robots", f"{name_or_path}.yaml")
    if not path.is_file():
        raise RobotConfigError(f"robot config not found: {path}")
    data = read_yaml_mapping(path, "robot config", RobotConfigError)
    try:
        groups = []
        for gname, g in data["groups"].items():
            where = f"{path}: groups.{gname}"
            joints = tuple(str(j) for j in g["joints"])
            n = len(joints)
            gr = g["gripper"]
            groups.append(
                GroupConfig(
                    name=gname,
                    joints=joints,
                    home=_floats(f"{where}.home", g["home"], n),
                    tcp_parent=str(g["tcp"]["parent_frame"]),
                    tcp_xyz=_floats(f"{where}.tcp.xyz", g["tcp"].get("xyz", [0, 0, 0]), 3),
                    tcp_rpy=_floats(f"{where}.tcp.rpy", g["tcp"].get("rpy", [0, 0, 0]), 3),
                    reach_radius=float(g["reach_radius"]),
                    acceleration_limits=_floats(
                        f"{where}.acceleration_limits", g["acceleration_limits"], n
                    ),
                    jerk_limits=_floats(f"{where}.jerk_limits", g["jerk_limits"], n),
                    arm_controller_topic=str(g["arm_controller_topic"]),
                    gripper=GripperConfig(
                        joints=tuple(gr["joints"]),
                        width_to_joint=_floats(
                            f"{where}.gripper.width_to_joint",
                            gr["width_to_joint"],
                            len(gr["joints"]),
                        ),
                        max_width=float(gr["max_width"]),
                        finger_links=tuple(gr["finger_links"]),
                        hand_links=tuple(gr.get("hand_links", ())),
                        controller_topic=str(gr["controller_topic"]),
                    ),
                )
            )
        cfg = RobotConfig(
            name=str(data["name"]),
            urdf=_resolve(data["urdf"], path),
            srdf=_resolve(data["srdf"], path) if data.get("srdf") else None,
            base_frame=str(data["base_frame"]),
            default_group=str(data.get("default_group", groups[0].name)),
            workspace_min=_floats(f"{path}: workspace.min", data["workspace"]["min"], 3),  # type: ignore[arg-type]
            workspace_max=_floats(f"{path}: workspace.max", data["workspace"]["max"], 3),  # type: ignore[arg-type]
            groups=tuple(groups),
            source=path,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise RobotConfigError(f"{path}: missing or malformed entry {exc}") from exc
    for f in (cfg.urdf, cfg.srdf):
        if f is not None and not f.is_file():
            raise RobotConfigError(f"{path}: description file not found: {f}")
    cfg.group()  # the default group exists
    return cfg


def _rpy_matrix(rpy: tuple[float, ...]) -> np.ndarray:
    return pin.rpy.rpyToMatrix(*rpy)


def _axis_of(joint: pin.JointModel) -> np.ndarray:
    short = joint.shortname()
    table = {"JointModelRX": (1, 0, 0), "JointModelRY": (0, 1, 0), "JointModelRZ": (0, 0, 1)}
    if short in table:
        return np.array(table[short], dtype=np.float64)
    if short == "JointModelRevoluteUnaligned":
        return np.asarray(joint.extract().axis, dtype=np.float64)
    raise RobotConfigError(
        f"joint type {short} is not supported in a planning group; "
        "valid: JointModelRX/RY/RZ, JointModelRevoluteUnaligned"
    )


class RobotModel:
    """Pinocchio model + collision geometry of one planning group of a robot.

    ``q`` vectors are in the group's joint order (``joint_names``), radians. All poses are
    ``T_base_<frame>`` (4x4) in the robot's base frame. The fingers are locked open at
    the gripper's ``max_width`` (conservative for collision checks).
    """

    def __init__(self, config: RobotConfig, group: str | None = None) -> None:
        self.config = config
        self.group = config.group(group)
        full = pin.buildModelFromUrdf(str(config.urdf))
        package_dir = example_robot_data_dir().parents[1]
        geom = pin.buildGeomFromUrdf(
            full, str(config.urdf), pin.COLLISION, package_dirs=[str(package_dir)]
        )
        names = list(full.names)
        missing = [j for j in self.group.joints if j not in names]
        if missing:
            raise RobotConfigError(
                f"{config.source}: joints {missing} not in {config.urdf.name}; "
                f"available: {', '.join(names[1:])}"
            )
        q_ref = pin.neutral(full)
        for j, v in zip(
            self.group.gripper.joints,
            self.group.gripper.joint_positions(self.group.gripper.max_width),
            strict=True,
        ):
            if j in names:
                jid = full.getJointId(j)
                q_ref[full.joints[jid].idx_q] = v
        lock = [full.getJointId(n) for n in names[1:] if n not in self.group.joints]
        self.model, self.geometry = pin.buildReducedModel(full, geom, lock, q_ref)
        self.full_model = full
        if list(self.model.names[1:]) != list(self.group.joints):
            raise RobotConfigError(
                f"{config.source}: group {self.group.name} joints must be listed in URDF order "
                f"{list(self.model.names[1:])}"
            )
        for fname in (self.group.tcp_parent, config.base_frame):
            if not self.model.existFrame(fname):
                raise RobotConfigError(f"{config.source}: frame {fname!r} not in the URDF")
        parent = self.model.frames[self.model.getFrameId(self.group.tcp_parent)]
        T_parent_tcp = pin.SE3(_rpy_matrix(self.group.tcp_rpy), np.array(self.group.tcp_xyz))
        self.tcp_frame_id = self.model.addFrame(
            pin.Frame(
                GRASP_TCP_FRAME,
                parent.parentJoint,
                parent.placement * T_parent_tcp,
                pin.FrameType.OP_FRAME,
            )
        )
        base_id = self.model.getFrameId(config.base_frame)
        self._data = self.model.createData()
        self._lock = threading.Lock()
        pin.framesForwardKinematics(self.model, self._data, pin.neutral(self.model))
        # Planning happens in the base frame; the URDF root may differ (Baxter: base).
        self.T_root_base = self._data.oMf[base_id].homogeneous.copy()
        if not np.allclose(self.T_root_base, np.eye(4)):
            raise RobotConfigError(
                f"{config.source}: base_frame {config.base_frame!r} must be the URDF root frame"
            )
        self.joint_names: tuple[str, ...] = self.group.joints
        self.nq = self.model.nq
        self.lower = readonly(self.model.lowerPositionLimit)
        self.upper = readonly(self.model.upperPositionLimit)
        self.velocity_limits = readonly(self.model.velocityLimit)
        self.acceleration_limits = readonly(np.array(self.group.acceleration_limits))
        self.jerk_limits = readonly(np.array(self.group.jerk_limits))
        self.home = readonly(np.array(self.group.home))
        if not self.within_limits(self.home):
            raise RobotConfigError(f"{config.source}: home {self.home} outside the joint limits")
        self.workspace_min = readonly(np.array(config.workspace_min))
        self.workspace_max = readonly(np.array(config.workspace_max))
        # Batch kinematics tables (serial chain of revolute joints).
        self._axes = np.array([_axis_of(self.model.joints[j]) for j in range(1, self.nq + 1)])
        self._placements = np.array(
            [self.model.jointPlacements[j].homogeneous for j in range(1, self.nq + 1)]
        )
        self._parents = [int(p) for p in self.model.parents[1:]]
        frame = self.model.frames[self.tcp_frame_id]
        self._tcp_joint = int(frame.parentJoint)
        self._T_joint_tcp = frame.placement.homogeneous.copy()
        skew = np.array(
            [[[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]] for k in self._axes]
        )
        rot = self._placements[:, :3, :3]
        self._rod_a = rot.copy()  # R(q) = I + sin q K + (1 - cos q) K^2, premultiplied
        self._rod_b = rot @ skew
        self._rod_c = rot @ skew @ skew
        self._offsets = self._placements[:, :3, 3].copy()
        chain = set()
        j = self._tcp_joint
        while j > 0:
            chain.add(j)
            j = self._parents[j - 1]
        self._off_chain = np.array([i for i in range(self.nq) if i + 1 not in chain], dtype=int)
        self.reach_center = self.fk_joint_origins(self.home)[0]

    def set_home(self, q: object, source: str) -> None:
        """Use ``q`` [rad] as the home configuration (the work cell's, ``source`` names
        where it came from); outside the joint limits it is refused, naming ``source``."""
        q = as_array(f"{source}: home", q, shape=(self.nq,))
        if not self.within_limits(q):
            raise RobotConfigError(f"{source}: home {q.tolist()} outside the joint limits")
        self.home = readonly(q.copy())

    # ---- single configuration (pinocchio) ----------------------------------------------

    def check_q(self, q: object, name: str = "q") -> np.ndarray:
        """``q`` as a float array of the group's size; raises naming ``name``."""
        return as_array(name, q, shape=(self.nq,))

    def fk(self, q: np.ndarray, frame: str | None = None) -> np.ndarray:
        """``T_base_<frame>`` (4x4) at ``q`` [rad]; default frame: the grasp TCP."""
        q = self.check_q(q)
        fid = self.tcp_frame_id if frame is None else self.frame_id(frame)
        with self._lock:
            pin.forwardKinematics(self.model, self._data, q)
            return pin.updateFramePlacement(self.model, self._data, fid).homogeneous.copy()

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """6xN TCP Jacobian in the base-aligned frame at the TCP: rows (v [m/s], w [rad/s])."""
        q = self.check_q(q)
        with self._lock:
            return pin.computeFrameJacobian(
                self.model, self._data, q, self.tcp_frame_id, pin.LOCAL_WORLD_ALIGNED
            ).copy()

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """Joint torques [N m] holding the group's links (hand included) against gravity
        at ``q``, from the URDF's inertias."""
        q = self.check_q(q)
        with self._lock:
            return pin.computeGeneralizedGravity(self.model, self._data, q).copy()

    def frame_id(self, frame: str) -> int:
        if not self.model.existFrame(frame):
            raise RobotConfigError(
                f"frame {frame!r} unknown to {self.config.name}; e.g. {GRASP_TCP_FRAME}, "
                + ", ".join(f.name for f in list(self.model.frames)[-6:])
            )
        return self.model.getFrameId(frame)

    def within_limits(self, q: np.ndarray, tol: float = 1e-9) -> bool:
        q = np.asarray(q, dtype=np.float64)
        return bool(np.all(q >= self.lower - tol) and np.all(q <= self.upper + tol))

    def clamp(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.lower, self.upper)

    def random_configurations(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` x nq uniform samples inside the joint limits."""
        return rng.uniform(self.lower, self.upper, size=(n, self.nq))

    def in_workspace(self, p_base: np.ndarray) -> np.ndarray:
        """Whether each point (..., 3) [m] lies inside the workspace box."""
        p = np.asarray(p_base)
        return np.all((p >= self.workspace_min) & (p <= self.workspace_max), axis=-1)

    @property
    def gripper(self) -> GripperConfig:
        return self.group.gripper

    # ---- many configurations (numpy, same model) -----------------------------------------

    def _joint_frames(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rotations (N, nq, 3, 3) and origins (N, nq, 3) [m] of every joint frame after
        its motion, in the base frame (Rodrigues with precomputed per-joint terms)."""
        Q = np.atleast_2d(np.asarray(Q, dtype=np.float64))
        n = Q.shape[0]
        R = np.empty((n, self.nq, 3, 3))
        p = np.empty((n, self.nq, 3))
        s = np.sin(Q)[:, :, None, None]
        c1 = (1.0 - np.cos(Q))[:, :, None, None]
        local = self._rod_a + s * self._rod_b + c1 * self._rod_c  # (N, nq, 3, 3)
        for i in range(self.nq):
            par = self._parents[i]
            if par == 0:
                R[:, i] = local[:, i]
                p[:, i] = self._offsets[i]
            else:
                R[:, i] = R[:, par - 1] @ local[:, i]
                p[:, i] = R[:, par - 1] @ self._offsets[i] + p[:, par - 1]
        return R, p

    def _joint_transforms(self, Q: np.ndarray) -> np.ndarray:
        """(N, nq, 4, 4) ``T_base_joint_i`` after each joint's motion."""
        R, p = self._joint_frames(Q)
        T = np.zeros((*R.shape[:2], 4, 4))
        T[..., :3, :3] = R
        T[..., :3, 3] = p
        T[..., 3, 3] = 1.0
        return T

    def fk_joint_origins(self, q: np.ndarray) -> np.ndarray:
        """(nq, 3) joint origins [m] in the base frame at one configuration."""
        return self._joint_transforms(q)[0, :, :3, 3]

    def fk_batch(self, Q: np.ndarray) -> np.ndarray:
        """(N, 4, 4) ``T_base_tcp`` for N configurations (N x nq) [rad]."""
        R, p = self._joint_frames(Q)
        return self._tcp_from(R, p)

    def _tcp_from(self, R: np.ndarray, p: np.ndarray) -> np.ndarray:
        j = self._tcp_joint - 1
        T = np.zeros((R.shape[0], 4, 4))
        T[:, :3, :3] = R[:, j] @ self._T_joint_tcp[:3, :3]
        T[:, :3, 3] = R[:, j] @ self._T_joint_tcp[:3, 3] + p[:, j]
        T[:, 3, 3] = 1.0
        return T

    def fk_jacobian_batch(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(T_base_tcp (N,4,4), J (N,6,nq))``; J as :meth:`jacobian` (base-aligned, at TCP)."""
        R, p = self._joint_frames(Q)
        T_tcp = self._tcp_from(R, p)
        z = R @ self._axes[:, :, None]  # (N, nq, 3, 1): joint axes in the base frame
        z = z[..., 0]
        r = T_tcp[:, None, :3, 3] - p
        J = np.empty((R.shape[0], 6, self.nq))
        J[:, 0] = z[..., 1] * r[..., 2] - z[..., 2] * r[..., 1]
        J[:, 1] = z[..., 2] * r[..., 0] - z[..., 0] * r[..., 2]
        J[:, 2] = z[..., 0] * r[..., 1] - z[..., 1] * r[..., 0]
        J[:, 3:] = z.transpose(0, 2, 1)
        if self._off_chain.size:
            J[:, :, self._off_chain] = 0.0  # joints that do not carry the TCP (a tree)
        return T_tcp, J

    def T_base_tcp_at_home(self) -> np.ndarray:
        return self.fk(self.home)

    def __repr__(self) -> str:
        return f"RobotModel({self.config.name}/{self.group.name}, nq={self.nq})"


def make_robot(name_or_path: str | Path = "panda", group: str | None = None) -> RobotModel:
    """Shortcut: ``RobotModel(load_robot(name_or_path), group)``."""
    return RobotModel(load_robot(name_or_path), group)


def T_from_xyz_rpy(xyz: np.ndarray, rpy: np.ndarray) -> np.ndarray:
    """4x4 transform from a translation [m] and roll-pitch-yaw [rad] (URDF convention)."""
    return make_transform(_rpy_matrix(tuple(float(v) for v in rpy)), np.asarray(xyz, float))
