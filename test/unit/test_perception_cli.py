"""``grasp perception-record`` / ``perception-segment`` on the simulator and a recording."""

from __future__ import annotations

import json

import pytest

from grasp_bringup.cli import main
from grasp_perception.errors import ParamsError


def test_record_sim_then_segment_recording(tmp_path, capsys) -> None:
    out = tmp_path / "sim.mcap"
    assert main(["perception-record", "--frames", "2", "--objects", "2", "--out", str(out)]) == 0
    assert out.exists()
    capsys.readouterr()
    assert main(["perception-segment", "--source", str(out), "--frames", "5"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2  # the recording has two frames
    for rec in lines:
        assert abs(rec["table_height"]) < 0.005 and rec["warnings"] == []
        assert len(rec["objects"]) == 2


def test_realsense_and_recordings_are_placed_by_the_perception_mount(tmp_path, monkeypatch) -> None:
    """``--source realsense`` gets the camera mount of the perception YAML (the node's), or
    ``--camera-pose``; before, it ran with an identity mount and cropped nothing."""
    import numpy as np
    import yaml

    import grasp_perception.sources as sources
    from grasp_core.cell import load_layout
    from grasp_core.paths import config_path
    from grasp_perception import cli

    seen = {}

    class FakeRealSense:
        def __init__(self, **kwargs) -> None:
            seen.update(kwargs)

        def __iter__(self):
            return iter(())

        def close(self) -> None:
            pass

    monkeypatch.setattr(sources, "RealSenseSource", FakeRealSense)
    node = yaml.safe_load(config_path("perception.yaml").read_text())["perception"]
    node = node["ros__parameters"]
    assert main(["perception-segment", "--source", "realsense", "--frames", "1"]) == 0
    T = load_layout(node["cell_layout"]).cameras[node["cell_camera"]].T_parent_optical
    np.testing.assert_allclose(seen["T_base_camera"], T)
    assert seen["base_frame"] == node["base_frame"]
    pose = [0.1, 0.2, 0.9, 0.0, 0.0, 0.0, 1.0]
    assert (
        main(
            [
                "perception-record",
                "--source",
                "realsense",
                "--out",
                str(tmp_path / "r.mcap"),
                "--camera-pose",
                *map(str, pose),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(seen["T_base_camera"][:3, 3], pose[:3])
    bad = tmp_path / "bad.yaml"
    bad.write_text("perception:\n  ros__parameters:\n    camera_position: [0.5, 0.0]\n")
    args = cli.argparse.Namespace(params=str(bad), camera_pose=None)
    with pytest.raises(ParamsError, match="camera_orientation"):
        cli._camera_mount(args)
