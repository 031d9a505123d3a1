"""SE(3) helpers on plain numpy arrays.

Conventions: quaternions are ``(x, y, z, w)`` as in ROS ``geometry_msgs``; poses are 4x4
homogeneous matrices named ``T_<parent>_<child>`` (``T_base_tcp`` maps points expressed in
the TCP frame into the base frame); translations are in metres, angles in radians.
"""

from __future__ import annotations

import numpy as np

from grasp_core.errors import ValidationError
from grasp_core.validation import as_array

#: Quaternions whose norm differs from 1 by more than this are rejected, not normalised.
UNIT_QUATERNION_TOLERANCE = 1e-3
#: Rotation matrices with ``|R^T R - I|`` above this are rejected.
ROTATION_TOLERANCE = 1e-4


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix (3x3) of a unit quaternion ``(x, y, z, w)``."""
    q = as_array("quaternion", q, shape=(4,))
    norm = np.linalg.norm(q)
    if abs(norm - 1.0) > UNIT_QUATERNION_TOLERANCE:
        raise ValidationError(f"quaternion: expected unit norm, got |q| = {norm:.6f} for {q}")
    x, y, z, w = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(x, y, z, w)`` with ``w >= 0`` of a rotation matrix."""
    R = as_array("rotation", R, shape=(3, 3))
    tr = np.trace(R)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = np.array(
            [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, s / 4]
        )
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = np.array(
            [s / 4, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s]
        )
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = np.array(
            [(R[0, 1] + R[1, 0]) / s, s / 4, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s]
        )
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = np.array(
            [(R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, s / 4, (R[1, 0] - R[0, 1]) / s]
        )
    q = q / np.linalg.norm(q)
    return q if q[3] >= 0 else -q


def axis_angle_to_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix of ``angle`` [rad] about ``axis`` (normalised here)."""
    axis = as_array("axis", axis, shape=(3,))
    n = np.linalg.norm(axis)
    if n < 1e-12:
        raise ValidationError("axis: must be non-zero")
    x, y, z = axis / n
    c, s = np.cos(angle), np.sin(angle)
    C = 1 - c
    return np.array(
        [
            [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
            [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
            [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
        ]
    )


def rot_x(angle: float) -> np.ndarray:
    """Rotation about +X by ``angle`` [rad]."""
    return axis_angle_to_matrix(np.array([1.0, 0.0, 0.0]), angle)


def rot_y(angle: float) -> np.ndarray:
    """Rotation about +Y by ``angle`` [rad]."""
    return axis_angle_to_matrix(np.array([0.0, 1.0, 0.0]), angle)


def rot_z(angle: float) -> np.ndarray:
    """Rotation about +Z by ``angle`` [rad]."""
    return axis_angle_to_matrix(np.array([0.0, 0.0, 1.0]), angle)


def check_rotation(name: str, R: np.ndarray) -> np.ndarray:
    """Return ``R`` if it is a proper rotation matrix, else raise naming ``name``."""
    R = as_array(name, R, shape=(3, 3))
    err = np.abs(R.T @ R - np.eye(3)).max()
    if err > ROTATION_TOLERANCE or np.linalg.det(R) < 0:
        raise ValidationError(
            f"{name}: not a rotation matrix (|R^T R - I| = {err:.2e}, det = {np.linalg.det(R):.3f})"
        )
    return R


def check_transform(name: str, T: np.ndarray) -> np.ndarray:
    """Return ``T`` if it is a finite 4x4 rigid transform, else raise naming ``name``."""
    T = as_array(name, T, shape=(4, 4))
    check_rotation(f"{name} rotation", T[:3, :3])
    if not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
        raise ValidationError(f"{name}: last row must be [0, 0, 0, 1], got {T[3]}")
    return T


def make_transform(R: np.ndarray | None = None, t: np.ndarray | None = None) -> np.ndarray:
    """4x4 transform from rotation ``R`` (default identity) and translation ``t`` [m]."""
    T = np.eye(4)
    if R is not None:
        T[:3, :3] = as_array("rotation", R, shape=(3, 3))
    if t is not None:
        T[:3, 3] = as_array("translation", t, shape=(3,))
    return T


def pose_from_pq(position: np.ndarray, quaternion: np.ndarray) -> np.ndarray:
    """4x4 transform from a position [m] and a quaternion ``(x, y, z, w)``."""
    return make_transform(quat_to_matrix(quaternion), position)


def pose_to_pq(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position [m] and quaternion ``(x, y, z, w)`` of a 4x4 transform."""
    T = as_array("transform", T, shape=(4, 4))
    return T[:3, 3].copy(), matrix_to_quat(T[:3, :3])


def invert(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid transform (uses R^T, not a general matrix inverse)."""
    T = as_array("transform", T, shape=(4, 4))
    out = np.eye(4)
    out[:3, :3] = T[:3, :3].T
    out[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return out


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply ``T`` to an Nx3 (or 3,) array of points."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ T[:3, :3].T + T[:3, 3]


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Pose of an optical frame at ``eye`` whose +Z points at ``target``.

    Optical frame convention (REP 103): +Z forward, +X right, +Y down in the image.
    ``up`` is the world direction that should appear upwards in the image.
    """
    eye = as_array("eye", eye, shape=(3,))
    target = as_array("target", target, shape=(3,))
    z = target - eye
    if np.linalg.norm(z) < 1e-9:
        raise ValidationError("look_at: eye and target coincide")
    z /= np.linalg.norm(z)
    up = np.asarray(up, dtype=np.float64)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-6:  # looking along `up`: pick any perpendicular
        x = np.cross(z, np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_transform(np.column_stack([x, y, z]), eye)


def rotation_angle(R_a: np.ndarray, R_b: np.ndarray) -> float:
    """Angle [rad] of the relative rotation between two rotation matrices."""
    c = (np.trace(np.asarray(R_a).T @ np.asarray(R_b)) - 1.0) / 2.0
    return float(np.arccos(np.clip(c, -1.0, 1.0)))
