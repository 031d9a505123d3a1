"""Data generation: paper-style candidates, perturbations, one object end to end."""

from __future__ import annotations

import numpy as np

from grasp_core.gripper import load_gripper
from grasp_models.graspnet6dof.data import read_grasps
from grasp_models.graspnet6dof.datagen import (
    DatagenConfig,
    ObjectScene,
    candidate_grasps,
    generate_object,
    perturb_grasps,
    spec_from_dict,
)


def test_candidates_approach_against_the_normal_within_finger_length(rng) -> None:
    L = load_gripper("panda_hand").finger_length
    pts = rng.normal(size=(200, 3))
    nrm = rng.normal(size=(200, 3))
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    T = candidate_grasps(pts, nrm, L, rng)
    np.testing.assert_allclose(T[:, :3, 2], -nrm, atol=1e-12)
    R = T[:, :3, :3]
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.tile(np.eye(3), (200, 1, 1)), atol=1e-9)
    assert np.all(np.linalg.det(R) > 0)
    depth = np.einsum("ij,ij->i", T[:, :3, 3] - pts, -nrm)  # TCP behind the surface point
    assert depth.min() >= 0 and depth.max() <= L
    np.testing.assert_allclose(np.cross(T[:, :3, 3] - pts, nrm), 0, atol=1e-12)
    # roll is uniform: closing axes are spread around the approach
    assert np.abs(np.mean(T[:, :3, 0], axis=0)).max() < 0.2


def test_perturbations_stay_in_the_paper_bounds(rng) -> None:
    T = np.tile(np.eye(4), (10, 1, 1))
    P = perturb_grasps(T, 500, 0.6, 0.03, rng)
    assert P.shape == (500, 4, 4)
    assert np.abs(P[:, :3, 3]).max() <= 0.03
    angle = np.arccos(np.clip((np.trace(P[:, :3, :3], axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert angle.max() <= np.sqrt(3) * 0.6 + 1e-9 and angle.mean() > 0.2


def test_surface_samples_lie_on_a_sphere_with_outward_normals(rng) -> None:
    from grasp_sim.objects import ObjectSpec

    obj = ObjectSpec(name="ball", kind="sphere", size=(0.03,))
    pts, nrm = ObjectScene(obj).surface(100, rng)
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 0.03, atol=1e-6)
    np.testing.assert_allclose(nrm, pts / 0.03, atol=1e-4)


def test_generate_object_writes_labelled_grasps_and_views(tmp_path, seed) -> None:
    from grasp_sim.objects import ObjectSpec

    obj = ObjectSpec(name="cyl", kind="cylinder", size=(0.02, 0.08), mass=0.1)
    cfg = DatagenConfig(candidates=40, perturbed=10, views=1, view_points=300)
    summary = generate_object(obj, tmp_path / "cyl.h5", cfg, seed)
    g = read_grasps(tmp_path / "cyl.h5")
    assert summary["grasps"] == len(g.transforms) <= 50
    assert summary["positives"] == int(g.success.sum()) > 0
    assert set(np.unique(g.prefilter)) <= {0, 1, 2}
    assert not g.success[g.prefilter != 0].any()  # pre-check rejects are failures
    assert g.view_points.shape == (1, 300, 3)
    finite = g.view_points[0][np.isfinite(g.view_points[0]).all(1)]
    assert len(finite) > 50 and np.abs(finite).max() < 0.1  # the object, in its frame
    assert spec_from_dict(g.spec) == obj
