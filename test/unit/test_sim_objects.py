"""Object library: specs, seeded disjoint splits, user meshes and the random_urdfs library."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from grasp_sim.errors import ObjectError
from grasp_sim.objects import KINDS, PRIMITIVE_KINDS, ObjectSpec, object_set


def _key(o: ObjectSpec) -> tuple:
    return (o.kind, tuple(np.round(o.size, 9)))


def test_splits_are_reproducible_from_their_seed():
    a = object_set("train", seed=3, count=30)
    assert a == object_set("train", seed=3, count=30)
    assert a != object_set("train", seed=4, count=30)
    # a longer set extends a shorter one
    assert object_set("train", seed=3, count=50)[:30] == a


def test_splits_never_share_an_object():
    sets = {s: object_set(s, seed=0, count=70) for s in ("train", "val", "test")}
    names = [o.name for objs in sets.values() for o in objs]
    assert len(names) == len(set(names)) == 210
    shapes = {s: {_key(o) for o in objs} for s, objs in sets.items()}
    assert not shapes["train"] & shapes["val"]
    assert not shapes["train"] & shapes["test"]
    assert not shapes["val"] & shapes["test"]
    assert all(o.split == s for s, objs in sets.items() for o in objs)


def test_object_set_cycles_through_requested_kinds():
    objs = object_set("val", count=9, kinds=["box", "mug", "sphere"])
    assert [o.kind for o in objs] == ["box", "mug", "sphere"] * 3
    assert {o.kind for o in object_set("val", count=14)} == set(PRIMITIVE_KINDS)


def test_some_objects_fit_the_gripper_and_some_do_not():
    boxes = object_set("train", count=60, kinds=["box"])
    narrowest = np.array([min(o.size[:2]) for o in boxes])
    assert (narrowest < 0.08).mean() > 0.5
    assert (narrowest > 0.08).any()


def test_max_grasp_width_keeps_the_same_objects_that_fit():
    every = object_set("test", seed=100, count=60)
    fit = object_set("test", seed=100, count=20, max_grasp_width=0.07)
    assert len(fit) == 20
    assert all(o.min_grasp_width <= 0.07 for o in fit)
    # the kept objects are the unfiltered split's, in order, the wider ones skipped
    expected = [o for o in every if o.min_grasp_width <= 0.07][:20]
    assert fit == expected
    assert len(every[: every.index(fit[-1]) + 1]) > 20  # some were skipped
    # one kind: the first fitting sphere of the stream
    (sphere,) = object_set("test", seed=7, count=1, kinds=["sphere"], max_grasp_width=0.05)
    assert sphere.kind == "sphere" and 2 * sphere.size[0] <= 0.05


def test_max_grasp_width_no_object_can_meet_is_an_error():
    with pytest.raises(ObjectError, match="max_grasp_width"):
        object_set("test", count=2, kinds=["sphere"], max_grasp_width=0.01)
    with pytest.raises(ObjectError, match="max_grasp_width"):
        object_set("test", count=2, max_grasp_width=-0.1)


def test_min_grasp_width_per_kind():
    def spec(kind: str, size: tuple) -> ObjectSpec:
        return dataclasses.replace(object_set("val", count=1, kinds=[kind])[0], size=size)

    assert spec("box", (0.09, 0.03, 0.05)).min_grasp_width == pytest.approx(0.03)
    assert spec("cylinder", (0.02, 0.1)).min_grasp_width == pytest.approx(0.04)
    assert spec("sphere", (0.045,)).min_grasp_width == pytest.approx(0.09)  # wider than 8 cm
    assert spec("capsule", (0.01, 0.1)).min_grasp_width == pytest.approx(0.02)
    assert spec("bottle", (0.04, 0.2, 0.02)).min_grasp_width == pytest.approx(0.04)  # neck
    assert spec("mug", (0.04, 0.1, 0.005)).min_grasp_width == pytest.approx(0.005)  # rim


def test_bad_arguments_name_the_valid_choices():
    with pytest.raises(ObjectError, match="'train'"):
        object_set("training")
    with pytest.raises(ObjectError, match="cylinder"):
        object_set("train", kinds=["cube"])
    with pytest.raises(ObjectError, match="kind"):
        ObjectSpec("x", "cube", (0.1,))
    with pytest.raises(ObjectError, match="takes 3 values"):
        ObjectSpec("x", "box", (0.1, 0.1))
    with pytest.raises(ObjectError, match="mass"):
        ObjectSpec("x", "sphere", (0.1,), mass=-1.0)
    with pytest.raises(ObjectError, match="mesh_parts"):
        ObjectSpec("x", "mesh", (0.1, 0.1, 0.1))


def test_specs_are_frozen_and_hashable():
    o = ObjectSpec("b", "box", (0.05, 0.05, 0.05))
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.mass = 1.0  # type: ignore[misc]
    assert {o: 1}[ObjectSpec("b", "box", (0.05, 0.05, 0.05))] == 1
    assert set(KINDS) == set(PRIMITIVE_KINDS) | {"mesh"}
    assert np.allclose(ObjectSpec("c", "capsule", (0.02, 0.1)).half_extents, [0.05, 0.02, 0.02])


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BRINGUP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_user_mesh_loads_decomposes_once_and_is_graspable(tmp_path, cache, monkeypatch):
    import coacd
    import trimesh

    from grasp_sim.meshes import load_mesh_objects
    from grasp_sim.trial import run_grasp_trial, top_down_grasp

    folder = tmp_path / "meshes"
    folder.mkdir()
    trimesh.creation.box(extents=(50, 50, 50)).export(str(folder / "cube.stl"))  # millimetres
    (obj,) = load_mesh_objects(folder, scale=0.001)
    assert obj.kind == "mesh" and obj.name == "cube"
    assert np.allclose(obj.size, 0.05, atol=1e-6)
    assert obj.mesh_parts and all(str(cache) in p for p in obj.mesh_parts)

    def boom(*a, **k):
        raise AssertionError("decomposed again instead of using the cache")

    monkeypatch.setattr(coacd, "run_coacd", boom)
    assert load_mesh_objects(folder / "cube.stl", scale=0.001)[0] == obj
    assert run_grasp_trial(obj, top_down_grasp(obj, depth=0.02), on_table=True).success
    # a mesh's default table pose is where it comes to rest: the cube on a face
    from grasp_sim.trial import resting_pose

    T = resting_pose(obj)
    assert T[2, 3] == pytest.approx(0.025, abs=0.002) and abs(T[2, 2]) > 0.999


def test_user_mesh_errors_say_what_is_wrong(tmp_path, cache):
    from grasp_sim.meshes import load_mesh_objects

    with pytest.raises(ObjectError, match="not found"):
        load_mesh_objects(tmp_path / "nope.obj")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ObjectError, match="no .obj/.stl"):
        load_mesh_objects(tmp_path / "empty")
    bad = tmp_path / "bad.obj"
    bad.write_text("this is not a mesh\n")
    with pytest.raises(ObjectError, match="bad.obj"):
        load_mesh_objects(bad)


def test_library_meshes_are_partitioned_into_disjoint_splits():
    from grasp_sim.meshes import library_ids

    ids = {s: set(library_ids(s)) for s in ("train", "val", "test")}
    assert sum(len(v) for v in ids.values()) == 1000
    assert not (ids["train"] & ids["val"] or ids["train"] & ids["test"] or ids["val"] & ids["test"])
    assert 50 < len(ids["test"]) < 150


@pytest.mark.slow
def test_library_mesh_object_builds_in_the_world(cache):
    from grasp_sim.world import SimWorld

    objs = object_set("test", seed=0, count=2, kinds=["box", "mesh"])
    assert [o.kind for o in objs] == ["box", "mesh"]
    mesh = objs[1]
    assert mesh.source.startswith("pybullet_data/random_urdfs/") and mesh.split == "test"
    assert 0.05 <= max(mesh.size) <= 0.13 + 1e-9
    world = SimWorld(objs, seed=0)
    assert all(world.object_on_table(n) for n in world.object_names)
