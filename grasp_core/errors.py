"""Exception hierarchy shared by every grasp_bringup package.

Each package family derives its own errors from :class:`GraspBringupError` so a caller
can catch everything the stack raises with one ``except`` clause, and the more specific
subclasses when it wants to react to one failure.
"""

from __future__ import annotations


class GraspBringupError(Exception):
    """Root of every exception raised by grasp_bringup."""


class ValidationError(GraspBringupError, ValueError):
    """A value crossing a boundary (constructor, message, file, CLI arg) is invalid."""
