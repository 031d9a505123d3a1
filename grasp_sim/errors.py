"""Exceptions raised by grasp_sim; all derive from :class:`SimError`."""

from __future__ import annotations

from grasp_core.errors import GraspBringupError, ValidationError


class SimError(GraspBringupError):
    """Root of every error raised by grasp_sim."""


class SimConfigError(SimError, ValidationError):
    """A simulation config file or argument is invalid (the message names the key)."""


class ObjectError(SimError, ValidationError):
    """An object specification, object split or mesh file is invalid."""


class TrajectoryError(SimError, ValidationError):
    """A joint trajectory was rejected; the message says why (nothing moved)."""


class UnknownNameError(SimError, KeyError):
    """A camera, object or joint name is unknown; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
