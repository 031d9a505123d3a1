"""The demo report: metrics, markdown, grasp drawings and files written whole."""

import json

import numpy as np
import pytest

from grasp_bringup.report import Attempt, draw_grasps, summarise, write_animation, write_report
from grasp_core import CameraModel, Grasp, GraspRect
from grasp_core.se3 import look_at


def attempts():
    return [
        Attempt(1, "placed", "box_3", "ggcnn", 0.9, 20, timings={"detect": 0.05, "attempt": 20.0}),
        Attempt(
            2,
            "dropped",
            "mug_1",
            "ggcnn",
            0.7,
            12,
            "not in the bin",
            {"detect": 0.07, "attempt": 30.0},
        ),
        Attempt(3, "placed", "mug_1", "ggcnn", 0.8, 9, timings={"detect": 0.03, "attempt": 25.0}),
    ]


def test_summary_counts_and_medians():
    s = summarise(attempts(), n_objects=2)
    assert s["placed"] == 2 and s["attempts"] == 3
    assert s["success_rate"] == pytest.approx(2 / 3)
    assert s["table_cleared"] is True
    assert s["outcomes"] == {"placed": 2, "dropped": 1, "failed": 0, "no_candidates": 0}
    assert s["median_timings"] == {"attempt": 25.0, "detect": 0.05}
    assert summarise([], 3)["success_rate"] == 0.0


def test_report_files(tmp_path):
    metrics = write_report(tmp_path, {"model": "ggcnn", "run_id": "r1"}, attempts(), 3, ["a.png"])
    assert metrics["summary"]["table_cleared"] is False
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["attempts"][1]["reason"] == "not in the bin"
    md = (tmp_path / "report.md").read_text()
    assert "**2 of 3 objects placed" in md
    assert "| 2 | mug_1 | ggcnn | 0.70 | 12 | dropped (not in the bin) | 30.00 | 0.07 |" in md
    assert "![a.png](a.png)" in md
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    assert "Not counted" not in md


def test_objects_that_leave_the_table_unpicked_are_reported(tmp_path):
    a = attempts()
    a[1].knocked_off = ["cyl_2"]
    a[2].also_in_bin = ["box_4"]
    s = summarise(a, n_objects=4)
    assert (s["placed"], s["knocked_off"], s["also_in_bin"]) == (2, 1, 1)
    md = tmp_path / "report.md"
    write_report(tmp_path, {"model": "ggcnn"}, a, 4, [])
    text = md.read_text()
    assert "Not counted as placed: 1 knocked out of reach; 1 fell into the bin" in text
    assert "dropped (not in the bin); knocked out of reach: cyl_2 |" in text


def camera():
    return CameraModel.from_intrinsics(
        615,
        615,
        319.5,
        239.5,
        640,
        480,
        T_base_camera=look_at([0.5, 0, 0.8], [0.5, 0, 0], up=[1, 0, 0]),
    )


def test_draw_planar_grasp_marks_its_rectangle():
    rgb = np.zeros((480, 640, 3), np.uint8)
    rect = GraspRect(center=(320, 240), angle=0.0, width=60, length=20, quality=1.0)
    g = Grasp(pose=np.eye(4), width=0.05, quality=1.0, rect=rect)
    out = draw_grasps(rgb, [g], camera())
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert out[240 - 10, 300].any()  # top edge of the rectangle
    assert not out[100, 100].any()  # far from it nothing is drawn
    assert rgb.sum() == 0  # input untouched


def test_draw_6dof_grasp_projects_its_fingers():
    rgb = np.zeros((480, 640, 3), np.uint8)
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])  # approach straight down
    T[:3, 3] = [0.5, 0.0, 0.05]
    out = draw_grasps(rgb, [Grasp(pose=T, width=0.06, quality=0.2)], camera())
    ys, xs = np.nonzero(out.any(axis=2))
    assert len(xs) > 50
    # centred on the principal point (the grasp is under the camera)
    assert abs(xs.mean() - 319.5) < 10 and abs(ys.mean() - 239.5) < 10


def test_animation_is_a_gif(tmp_path):
    frames = [np.full((30, 40, 3), i * 40, np.uint8) for i in range(4)]
    write_animation(tmp_path / "run.gif", frames, fps=5)
    assert (tmp_path / "run.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
