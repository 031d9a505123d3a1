import json
import os

import pytest

from grasp_core.files import atomic_write, atomic_write_bytes, atomic_write_json, read_yaml_mapping


def test_crash_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "ckpt.bin"
    atomic_write_bytes(path, b"old")

    def crash(fh):
        fh.write(b"half of the new")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, crash)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.bin"]


def test_json_and_mode(tmp_path):
    import numpy as np

    path = atomic_write_json(tmp_path / "sub" / "r.json", {"b": np.float32(1.5), "a": np.arange(2)})
    assert json.loads(path.read_text()) == {"a": [0, 1], "b": 1.5}
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_example_robot_data_is_found_in_a_colcon_workspace(tmp_path, monkeypatch):
    """rosdep installs example-robot-data as a ROS package (share/example-robot-data in
    an ament prefix), not as the pip wheel: the robot descriptions are found there too."""
    import sys

    pytest.importorskip("ament_index_python.packages")  # imported before sys.path goes
    from grasp_core import GraspBringupError, paths

    prefix = tmp_path / "install"
    robots = prefix / "share" / "example-robot-data" / "robots"
    robots.mkdir(parents=True)
    marker = prefix / "share" / "ament_index" / "resource_index" / "packages"
    marker.mkdir(parents=True)
    (marker / "example-robot-data").write_text("")
    monkeypatch.delenv("EXAMPLE_ROBOT_DATA_DIR", raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "no-cmeel-here")])  # no pip wheel
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert paths.example_robot_data_dir() == robots
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "empty"))
    if not os.path.isdir("/opt/openrobots/share/example-robot-data/robots"):
        with pytest.raises(GraspBringupError, match="rosdep install it"):
            paths.example_robot_data_dir()


def test_read_yaml_mapping_names_the_file_and_what_it_holds(tmp_path):
    from grasp_core.errors import ValidationError

    good = tmp_path / "good.yaml"
    good.write_text("a: 1\nb: [2, 3]\n")
    assert read_yaml_mapping(good, "cell") == {"a": 1, "b": [2, 3]}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml_mapping(empty, "cell") == {}

    class CellError(ValidationError):
        pass

    for text, says in (("{a: 1", "cannot read cell: while parsing"), ("- 1\n", "got list")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(CellError, match=f"^{bad}: .*{says}"):
            read_yaml_mapping(bad, "cell", CellError)
    with pytest.raises(ValidationError, match="nowhere.yaml: cannot read cell: .*No such file"):
        read_yaml_mapping(tmp_path / "nowhere.yaml", "cell")


@pytest.mark.parametrize("kind", ["gripper", "robot"])
def test_a_malformed_gripper_or_robot_file_is_an_error_naming_it(tmp_path, kind):
    """Both read the YAML bare: a typo was a yaml.ParserError, or a TypeError on a list."""
    from grasp_core.errors import GraspBringupError
    from grasp_core.gripper import load_gripper
    from grasp_planning.robot import load_robot

    bad = tmp_path / f"my_{kind}.yaml"
    bad.write_text("joints: [a, b\n")
    load = load_gripper if kind == "gripper" else load_robot
    with pytest.raises(GraspBringupError, match=f"{bad}: cannot read {kind}"):
        load(str(bad))
