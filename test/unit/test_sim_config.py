"""config/sim_driver.yaml and config/sim/panda_table.yaml agree with the code reading them."""

from __future__ import annotations

import pytest
import yaml

from grasp_core.cell import load_layout
from grasp_core.paths import config_path


def test_sim_driver_yaml_sets_exactly_the_declared_parameters():
    pytest.importorskip("rclpy")  # grasp_sim.node imports it; the parameter table is there
    from grasp_sim.node import NODE_NAME, NODE_PARAMS

    data = yaml.safe_load(config_path("sim_driver.yaml").read_text())
    params = data[NODE_NAME]["ros__parameters"]
    declared = {p.name: p for p in NODE_PARAMS}
    assert set(params) == set(declared)
    for name, value in params.items():
        spec = declared[name]
        assert type(value) is type(spec.default), name
        if spec.range is not None:
            assert spec.range[0] <= value <= spec.range[1], name
        assert spec.description, name


def test_layout_cameras_are_realsense_like():
    layout = load_layout()
    for name, cam in layout.cameras.items():
        if name == "viewer":  # the third-person view for reports is no robot sensor
            continue
        assert (cam.width, cam.height) == (640, 480)
        assert cam.fx == cam.fy == 615.0
    model = layout.cameras["overhead"].camera_model()
    assert model.frame_id == "camera_color_optical_frame" and model.base_frame == "panda_link0"
    # the overhead camera looks straight down from 0.8 m
    assert model.T_base_camera[2, 3] == pytest.approx(0.8)
    assert model.T_base_camera[:3, 2] == pytest.approx([0.0, 0.0, -1.0])


def test_sim_driver_draws_only_objects_that_fit_when_asked():
    pytest.importorskip("rclpy")
    from grasp_sim.node import NODE_PARAMS, _objects
    from grasp_sim.objects import object_set

    values = {p.name: p.default for p in NODE_PARAMS}
    values.update(object_split="test", object_seed=100, object_count=5)
    assert _objects(values) == object_set("test", seed=100, count=5)  # 0.0: any object
    values["object_max_grasp_width"] = 0.07
    fit = _objects(values)
    assert fit == object_set("test", seed=100, count=5, max_grasp_width=0.07)
    assert len(fit) == 5 and all(o.min_grasp_width <= 0.07 for o in fit)
    assert "test_0002_sphere" not in {o.name for o in fit}  # 8.1 cm: skipped
