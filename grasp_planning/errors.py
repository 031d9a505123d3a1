"""Exceptions of grasp_planning; every one derives from :class:`PlanningError`."""

from __future__ import annotations

from grasp_core.errors import GraspBringupError, ValidationError


class PlanningError(GraspBringupError):
    """Root of everything grasp_planning raises."""


class RobotConfigError(PlanningError, ValidationError):
    """A robot config file (or a name in it) is invalid; the message lists valid values."""


class SceneError(PlanningError, ValidationError):
    """A planning-scene object is malformed, or a name is unknown (valid names listed)."""


class MotionPlanningError(PlanningError):
    """No collision-free motion / Cartesian path / time parameterisation was found."""


class BackendUnavailable(PlanningError):
    """A planning backend cannot be built here (e.g. ``moveit`` is not importable)."""
