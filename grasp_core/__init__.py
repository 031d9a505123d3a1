"""Shared vocabulary of grasp_bringup: grasps, cameras, RGB-D frames and SE(3), numpy only."""

from grasp_core.camera import CameraModel
from grasp_core.errors import GraspBringupError, ValidationError
from grasp_core.frame import RGBDFrame, depth_m_to_mm, depth_mm_to_m
from grasp_core.grasp import Grasp, GraspRect, wrap_half_pi

__all__ = [
    "CameraModel",
    "Grasp",
    "GraspBringupError",
    "GraspRect",
    "RGBDFrame",
    "ValidationError",
    "depth_m_to_mm",
    "depth_mm_to_m",
    "wrap_half_pi",
]
