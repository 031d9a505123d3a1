"""Errors of the 6-DOF GraspNet subpackage (all under :class:`grasp_models.errors.ModelError`)."""

from __future__ import annotations

from grasp_core.errors import ValidationError
from grasp_models.errors import DatasetError, ModelError, NoObjectError


class GraspNet6DofError(ModelError):
    """Root of the 6-DOF GraspNet errors."""


class AcronymFormatError(GraspNet6DofError, DatasetError):
    """An ACRONYM-layout HDF5 file lacks a dataset or has the wrong shape; names the file."""


class InputCloudError(GraspNet6DofError, ValidationError):
    """An object point cloud is empty, too small or not Nx3 finite [m]."""


class NoObjectCloudError(InputCloudError, NoObjectError):
    """No object of the cloud has enough points to sample grasps on."""
