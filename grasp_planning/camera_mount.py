"""A camera on a robot link (an eye-in-hand camera): where it was when it took a frame.

ROS-free. The perception and grasp detector nodes feed :class:`LinkCameraMount` their
``/joint_states`` and ask it for ``T_base_camera`` at each frame's stamp: the joint
positions of that moment (interpolated between the two states around it) through forward
kinematics to the camera's link, then the link's fixed offset to the optical frame (the
cell file's ``parent`` / ``xyz`` / ``rpy``). A frame with no joint state close enough in
time is not placed at all: a wrong mount puts every grasp in the wrong place.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence

import numpy as np

from grasp_core.validation import as_array, require_range
from grasp_planning.errors import PlanningError
from grasp_planning.robot import RobotModel


class MountError(PlanningError):
    """No camera pose for a frame (no joint state near its stamp)."""


class LinkCameraMount:
    """Camera pose over time for a camera fixed on ``link`` of ``robot``.

    ``T_link_optical``: the optical frame (REP 103) in the link's frame. ``max_gap`` [s]:
    the farthest a frame may lie from the joint states it is placed with (past the
    newest, before the oldest, or between two states further apart than twice that).
    ``history`` [s]: how much joint-state history is kept, by stamp.
    """

    def __init__(
        self,
        robot: RobotModel,
        link: str,
        T_link_optical: np.ndarray,
        max_gap: float = 0.05,
        history: float = 2.0,
    ) -> None:
        self.robot = robot
        self.link = link
        robot.frame_id(link)  # an unknown link fails here, naming it
        self.T_link_optical = as_array("T_link_optical", T_link_optical, shape=(4, 4))
        self.max_gap = require_range("max_gap", max_gap, 0.0, 10.0)
        self.history = require_range("history", history, 0.1, 600.0)
        self._stamps: list[float] = []
        self._qs: list[np.ndarray] = []
        self._lock = threading.Lock()

    def add(self, stamp: float, names: Sequence[str], positions: Sequence[float]) -> str | None:
        """Take one joint state stamped ``stamp`` [s]; returns why it was dropped, or None.
        It must name every joint of the robot's group (other joints are ignored)."""
        if len(names) != len(positions):
            return "names and positions differ in length"
        values = dict(zip(names, positions, strict=True))
        missing = [n for n in self.robot.joint_names if n not in values]
        if len(missing) == len(self.robot.joint_names):
            return None  # a message of other joints only (the gripper's) is not an error
        if missing:
            return f"joints {missing[:3]} missing"
        q = np.array([float(values[n]) for n in self.robot.joint_names])
        if not np.all(np.isfinite(q)) or not math.isfinite(stamp):
            return "non-finite stamp or position"
        with self._lock:
            i = bisect.bisect(self._stamps, stamp)
            self._stamps.insert(i, float(stamp))
            self._qs.insert(i, q)
            cut = bisect.bisect_left(self._stamps, self._stamps[-1] - self.history)
            del self._stamps[:cut], self._qs[:cut]
        return None

    def q_at(self, stamp: float) -> np.ndarray:
        """The arm's joint positions at ``stamp`` [s], interpolated; :class:`MountError`
        when no joint state is within ``max_gap`` of it."""
        with self._lock:
            stamps, qs = list(self._stamps), list(self._qs)
        if not stamps:
            raise MountError(f"no joint state of {self.robot.config.name} yet to place the camera")
        i = bisect.bisect_left(stamps, stamp)
        if i < len(stamps) and stamps[i] == stamp:
            return qs[i].copy()
        if 0 < i < len(stamps) and stamps[i] - stamps[i - 1] <= 2 * self.max_gap:
            a = (stamp - stamps[i - 1]) / (stamps[i] - stamps[i - 1])
            return (1 - a) * qs[i - 1] + a * qs[i]
        nearest = min(
            (j for j in (i - 1, i) if 0 <= j < len(stamps)), key=lambda j: abs(stamps[j] - stamp)
        )
        gap = abs(stamps[nearest] - stamp)
        if gap <= self.max_gap:
            return qs[nearest].copy()
        raise MountError(
            f"no joint state within {self.max_gap:.3f} s of the frame at {stamp:.3f} s "
            f"(nearest {gap:.3f} s away; states from {stamps[0]:.3f} to {stamps[-1]:.3f} s)"
        )

    def at(self, stamp: float) -> np.ndarray:
        """``T_base_camera`` (optical frame) at ``stamp`` [s]."""
        return self.robot.fk(self.q_at(stamp), self.link) @ self.T_link_optical
