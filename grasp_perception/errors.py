"""Errors raised by grasp_perception (all derive from :class:`PerceptionError`)."""

from __future__ import annotations

from grasp_core.errors import GraspBringupError, ValidationError


class PerceptionError(GraspBringupError):
    """Root of grasp_perception errors."""


class ParamsError(PerceptionError, ValidationError):
    """A perception parameter is unknown or out of range; the message lists the valid ones."""


class SourceError(PerceptionError):
    """A camera source cannot be opened or has failed (device gone, file unreadable)."""


class DeviceNotFoundError(SourceError):
    """No RealSense device (or not the requested serial number) is connected."""


class RecordingError(SourceError, ValidationError):
    """An MCAP recording is malformed or lacks the camera topics; the message names them."""
