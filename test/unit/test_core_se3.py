import numpy as np
import pytest

from grasp_core import ValidationError, se3


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    return se3.quat_to_matrix(q / np.linalg.norm(q))


def test_quaternion_round_trip(rng):
    for _ in range(100):
        R = random_rotation(rng)
        q = se3.matrix_to_quat(R)
        assert q[3] >= 0
        np.testing.assert_allclose(se3.quat_to_matrix(q), R, atol=1e-12)


def test_quaternion_known_values():
    # 90 degrees about z: x -> y
    R = se3.quat_to_matrix([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    np.testing.assert_allclose(R @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(se3.rot_z(np.pi / 2), R, atol=1e-12)


def test_non_unit_quaternion_is_rejected_with_its_norm():
    with pytest.raises(ValidationError, match="unit norm"):
        se3.quat_to_matrix([0, 0, 0, 2.0])


def test_invert_and_transform_points(rng):
    T = se3.make_transform(random_rotation(rng), rng.normal(size=3))
    np.testing.assert_allclose(se3.invert(T) @ T, np.eye(4), atol=1e-12)
    pts = rng.normal(size=(10, 3))
    back = se3.transform_points(se3.invert(T), se3.transform_points(T, pts))
    np.testing.assert_allclose(back, pts, atol=1e-12)


def test_check_transform_rejects_scaled_rotation():
    T = np.eye(4)
    T[:3, :3] *= 1.1
    with pytest.raises(ValidationError, match="not a rotation"):
        se3.check_transform("T", T)


def test_look_at_points_z_at_target():
    T = se3.look_at([0.5, 0.0, 1.0], [0.5, 0.0, 0.0], up=[1, 0, 0])
    np.testing.assert_allclose(T[:3, 2], [0, 0, -1], atol=1e-12)
    se3.check_transform("look_at", T)


def test_rotation_angle():
    assert se3.rotation_angle(np.eye(3), se3.rot_x(0.3)) == pytest.approx(0.3)
