"""Errors raised by grasp_models."""

from __future__ import annotations

from grasp_core.errors import GraspBringupError, ValidationError


class ModelError(GraspBringupError):
    """Root of grasp_models errors."""


class UnknownModelError(ModelError, ValidationError):
    """A model name that the registry does not know; the message lists the known ones."""


class CheckpointError(ModelError):
    """A checkpoint or model card is missing, truncated or does not match the model."""


class DatasetError(ModelError, ValidationError):
    """A dataset file is malformed; the message names the file and line."""


class NoObjectError(ModelError, ValidationError):
    """The input holds nothing to grasp (a cleared table): a model's answer is no grasps,
    which the detector node publishes as such; the message says what was missing."""
