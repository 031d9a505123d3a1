"""The shared parameter block of every node (``grasp_bringup.node_utils``) on a real rclpy
node: an integer given for a float parameter is taken as that float, at start-up (``-p
max_rate:=5``, ``max_rate: 5`` in a YAML file) and at run time (``ros2 param set ... 5``),
as a user writing either would expect; every other rule still holds."""

from __future__ import annotations

import re
import time

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.exceptions import InvalidParameterTypeException, ParameterException  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from grasp_bringup.node_utils import ParamSpec, declare_params  # noqa: E402

pytestmark = pytest.mark.ros

SPECS = [
    ParamSpec("rate", 20.0, "publish rate [Hz]", (1.0, 100.0)),
    ParamSpec("stride", 2, "pixel stride", (1, 8)),
    ParamSpec("position", [0.5, 0.0, 0.8], "x y z [m]"),
    ParamSpec("period", Parameter.Type.DOUBLE, "period [s]"),
    ParamSpec("name", "panda", "robot name"),
]


class _Params(Node):
    """The specs declared in two calls, as a node with a helper's parameters does."""

    def __init__(self, **kwargs) -> None:
        super().__init__("params_under_test", **kwargs)
        self.values = declare_params(self, SPECS[:2])
        self.values.update(declare_params(self, SPECS[2:]))


def _node(*cli: str) -> _Params:
    return _Params(cli_args=["--ros-args", *[a for arg in cli for a in ("-p", arg)]])


def test_an_integer_for_a_float_parameter_is_that_float_at_start_up(ros_domain) -> None:
    with rclpy.init():
        node = _node("rate:=5", "stride:=3", "position:=[1, 0, 2]", "period:=2")
        try:
            assert node.values == {
                "rate": 5.0,
                "stride": 3,
                "position": [1.0, 0.0, 2.0],
                "period": 2.0,
                "name": "panda",
            }
            assert type(node.values["rate"]) is float and type(node.values["stride"]) is int
            types = node.get_parameter_types(["rate", "stride", "position", "period"])
            assert types == [
                Parameter.Type.DOUBLE,
                Parameter.Type.INTEGER,
                Parameter.Type.DOUBLE_ARRAY,
                Parameter.Type.DOUBLE,
            ]
        finally:
            node.destroy_node()


def test_the_other_rules_still_hold_at_start_up(ros_domain) -> None:
    """Out of range is refused after the conversion; a string for a float and a float for
    an integer are refused as before, naming the parameter."""
    with rclpy.init():
        for arg, word in (("rate:=500", "rate"), ("rate:=fast", "rate"), ("stride:=2.5", "stride")):
            with pytest.raises(ParameterException, match=word):
                _node(arg).destroy_node()
        with pytest.raises(InvalidParameterTypeException):
            _node("name:=3").destroy_node()


def test_an_integer_set_at_run_time_is_that_float(ros_domain) -> None:
    """Through the node's parameter service, as ``ros2 param set`` calls it."""
    from rclpy.parameter_client import AsyncParameterClient
    from spinning import Spinner

    def set_(*params: Parameter) -> list:
        future = client.set_parameters(list(params))
        deadline = time.monotonic() + 10.0
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert future.done(), "no answer from the parameter service"
        return future.result().results

    with rclpy.init():
        node, peer = _node(), Node("param_setter")
        client = AsyncParameterClient(peer, node.get_name())
        spinner = Spinner(node, peer)
        try:
            assert client.wait_for_services(timeout_sec=10.0)
            ok = set_(
                Parameter("rate", value=7),
                Parameter("position", value=[0, 1, 2]),
                Parameter("stride", value=4),
            )
            assert all(r.successful for r in ok), [r.reason for r in ok]
            rate = node.get_parameter("rate")
            assert rate.type_ is Parameter.Type.DOUBLE and rate.value == 7.0
            assert list(node.get_parameter("position").value) == [0.0, 1.0, 2.0]
            assert node.get_parameter("stride").type_ is Parameter.Type.INTEGER
            bad = set_(Parameter("rate", value=500))[0]  # out of range
            assert not bad.successful and node.get_parameter("rate").value == 7.0
            bad = set_(Parameter("stride", value=2.0))[0]  # a float for an integer
            assert not bad.successful and node.get_parameter("stride").value == 4
        finally:
            spinner.close()


def test_parameter_help_lists_types_defaults_ranges_and_the_files_values(tmp_path) -> None:
    from grasp_bringup.node_utils import parameter_help

    params = tmp_path / "params_under_test.yaml"
    params.write_text("params_under_test:\n  ros__parameters:\n    rate: 30.0\n    stride: 2\n")
    text = parameter_help("params_under_test", SPECS, params)
    assert "rate (double, default 20.0, 1 to 100, params_under_test.yaml: 30.0)" in text
    assert "stride (integer, default 2, 1 to 8)\n" in text  # the file agrees: not repeated
    assert "position (double list, default [0.5, 0.0, 0.8])" in text
    assert "period (double, unset)" in text
    assert text.count("\n      ") == len(SPECS)  # one description line each
    assert "      publish rate [Hz]" in text


@pytest.mark.parametrize(
    "module",
    ["grasp_models.node", "grasp_perception.node", "grasp_planning.node", "grasp_sim.node"],
)
def test_every_node_executable_answers_help_with_its_parameters_without_starting(module) -> None:
    """``ros2 run grasp_bringup grasp_detector --help`` started the node (rclpy ignores
    the flag); now it lists the parameters and exits. ``--ros-args`` after it still go to
    rclpy: a ``--help`` there is not the node's."""
    import importlib
    import subprocess
    import sys

    node_class = {
        "grasp_models.node": "GraspDetectorNode",
        "grasp_perception.node": "PerceptionNode",
        "grasp_planning.node": "ExecutorNode",
        "grasp_sim.node": "SimDriverNode",
    }[module]
    from grasp_bringup.node_utils import declared_param_specs

    specs = declared_param_specs(getattr(importlib.import_module(module), node_class))
    run = [sys.executable, "-c", f"from {module} import main; main()", "--help"]
    out = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # a parameter's line is indented two spaces, its description six
    listed = re.findall(r"^  (\w+) \(", out.stdout, flags=re.MULTILINE)
    assert listed == [s.name for s in specs]
    # the camera nodes' mount parameters, declared by a helper, are listed too
    camera_node = module in ("grasp_models.node", "grasp_perception.node")
    assert ("camera_position" in listed) == camera_node, listed
    assert "[INFO]" not in out.stdout + out.stderr  # no node came up


def test_a_help_after_ros_args_is_not_the_nodes() -> None:
    from grasp_bringup.node_utils import wants_help

    assert wants_help(["--help"]) and wants_help(["-h", "--ros-args", "-p", "a:=1"])
    assert not wants_help(["--ros-args", "--help"]) and not wants_help([])


def test_a_silence_watch_names_the_quiet_topic_and_stops_when_it_speaks(monkeypatch) -> None:
    """The executor's /joint_states and the camera's depth topic use it."""
    from log_recorder import LogRecorder
    from spinning import Spinner

    from grasp_bringup import node_utils

    monkeypatch.setattr(node_utils, "SILENCE_WARN", 0.3)
    with rclpy.init():
        node = rclpy.create_node("silence_watch_test")
        log = LogRecorder(node.get_logger())
        node.get_logger = lambda: log
        watch = node_utils.SilenceWatch(node, "/quiet", "joint state", "is the driver running?")
        spinner = Spinner(node)
        try:
            time.sleep(1.0)
            said = [t for lv, t in log.lines if lv == "warning"]
            assert 1 <= len(said) <= 5, said  # once a period (~3), not at each of ~12 checks
            assert said[0].startswith("no joint state on /quiet for 0 s: is the driver running?")
            assert said[0].endswith("(`ros2 topic hz /quiet`)")
            log.lines.clear()
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                watch.heard()
                time.sleep(0.05)
            assert log.lines == []
            watch.close()
        finally:
            spinner.close()


class _PublishesAfterShutdown(Node):
    """A callback that is publishing when the context goes down (Ctrl-C in a process of
    its own), or, with ``fault``, fails while the context is still up."""

    NODE_NAME = "publishes_after_shutdown"
    PARAM_SPECS = ()
    fault = False

    def __init__(self, **kwargs) -> None:
        super().__init__(self.NODE_NAME, **kwargs)
        from std_msgs.msg import String

        self.pub = self.create_publisher(String, "/chatter_under_test", 1)
        self.create_timer(0.05, self._tick)

    def _tick(self) -> None:
        from std_msgs.msg import String

        if self.fault:
            raise RuntimeError("a real fault")
        rclpy.shutdown(context=self.context)
        self.pub.publish(String(data="late"))  # RCLError: the context is invalid


def test_a_publish_cut_off_by_shutdown_ends_the_node_quietly(ros_domain) -> None:
    """``grasp launch --processes`` stopped with Ctrl-C printed the detector's traceback
    ("Failed to publish: publisher's context is invalid"); a fault while the context is
    up still propagates."""
    from grasp_bringup.node_utils import run_node

    run_node(_PublishesAfterShutdown, args=[])  # returns, no exception

    class _Fault(_PublishesAfterShutdown):
        fault = True

    with pytest.raises(RuntimeError, match="a real fault"):
        run_node(_Fault, args=[])


def test_a_late_ctrl_c_during_cleanup_still_ends_the_node_quietly(ros_domain, monkeypatch) -> None:
    """rclpy's handler shuts the context down (spin ends), then Python's KeyboardInterrupt
    for the same Ctrl-C lands in the cleanup: every stop of ``grasp launch --processes``
    printed its traceback. The node is still destroyed, and nothing is raised."""
    from grasp_bringup import node_utils

    destroyed = []
    real_shutdown = node_utils.SingleThreadedExecutor.shutdown

    def interrupted_shutdown(self, *args, **kwargs):
        real_shutdown(self, *args, **kwargs)
        raise KeyboardInterrupt  # as delivered late, inside the cleanup

    class _Ends(_PublishesAfterShutdown):
        def _tick(self) -> None:
            rclpy.shutdown(context=self.context)  # spin ends: ExternalShutdownException

        def destroy_node(self) -> None:
            destroyed.append(True)
            super().destroy_node()

    monkeypatch.setattr(node_utils.SingleThreadedExecutor, "shutdown", interrupted_shutdown)
    try:
        node_utils.run_node(_Ends, args=[])
    except KeyboardInterrupt:  # would end the whole pytest run, not fail this test
        pytest.fail("the late KeyboardInterrupt escaped run_node")
    assert destroyed  # the cleanup went on past the interrupt
