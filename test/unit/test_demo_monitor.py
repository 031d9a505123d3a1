"""The monitor's frame-arrival memory, which the latency benchmark reads."""

from __future__ import annotations

import pytest

from grasp_bringup.demo_monitor import FrameArrivals


def test_a_detection_slower_than_200_frames_is_still_timed():
    # 15 Hz for 30 s: 450 frames; the first frame's candidates arrive 30 s later
    frames = FrameArrivals(memory_s=60.0)
    for i in range(450):
        frames.arrived(100.0 + i / 15, now=i / 15)
    assert frames.latency(100.0, now=30.0) == pytest.approx(30.0)
    assert frames.unmatched == 0


def test_frames_older_than_the_memory_are_forgotten_and_counted():
    frames = FrameArrivals(memory_s=10.0)
    for i in range(300):
        frames.arrived(float(i), now=float(i))
    assert len(frames._arrived) == 11  # the last 10 s, both ends kept
    assert frames.latency(100.0, now=300.0) is None
    assert frames.latency(299.0, now=300.5) == pytest.approx(1.5)
    assert frames.latency(12345.0, now=301.0) is None
    assert frames.unmatched == 2


def test_stamps_match_to_the_microsecond():
    frames = FrameArrivals()
    frames.arrived(1.2345674, now=5.0)
    assert frames.latency(1.2345671, now=6.0) == pytest.approx(1.0)


def _pick_session(refusals: tuple[str, ...] = ()):
    """A ``PickSession`` stand-in whose executor refuses ``refusals`` first, then runs one
    pick: planning at 5 s, done at 10 s, the repeat at 12.5 s, nothing in the bin."""
    from types import SimpleNamespace

    import numpy as np

    from grasp_bringup.demo_monitor import ExecutorStatus
    from grasp_core.cell import load_layout

    layout = load_layout()
    centre, _ = layout.table_box()
    on_table = {"obj": centre + np.array([0.0, 0.0, 0.03])}

    class Monitor:
        def __init__(self):
            self.status_history, self.status = [], None
            self.poses, self.clock = SimpleNamespace(stamp=0.0), 0.0
            self.refusals = list(refusals)

        def request_pick(self):
            if self.refusals:
                return False, self.refusals.pop(0)
            done = {"state": "done", "planning_time": "0.5", "execution_time": "9.0"}
            self.status_history += [
                ExecutorStatus("planning", "", {"state": "planning"}, 5.0),
                ExecutorStatus("done", "", done, 10.0),
                ExecutorStatus("done", "", done, 12.5),  # the repeat, result stored
            ]
            self.clock, self.poses.stamp = 14.0, 15.0  # settled ground truth after
            return True, "pick started"

        def wait_for(self, predicate, timeout):
            return predicate()

        def now(self):
            return self.clock

        def object_positions(self):
            return on_table

    session = SimpleNamespace(
        monitor=Monitor(),
        layout=layout,
        reach=layout.crop_box(check_bin=False),
        in_bin=set(),
        opts=SimpleNamespace(attempt_timeout=1),
    )
    return session, on_table


def test_an_attempt_ends_at_the_executors_first_terminal_status():
    """``PickSession._pick`` returns when the executor's first terminal status arrived
    (monitor clock), not the later time its bookkeeping ends (the repeated status, the
    ground truth's settling): the next attempt takes candidates from frames after it. Until
    2026-12-07 the episode used the later time and refused the first detection after a
    pick."""
    from grasp_bringup.demo import PickSession
    from grasp_bringup.msgs import EXECUTOR_TERMINAL_STATES as TERMINAL_STATES
    from grasp_bringup.report import Attempt

    session, on_table = _pick_session()
    attempt, timings = Attempt(1, "no_candidates"), {}
    end = PickSession._pick(session, attempt, on_table, timings, TERMINAL_STATES)
    assert end == 10.0
    assert timings == {"plan": 0.5, "execute": 9.0}
    assert attempt.outcome == "dropped"  # done, but nothing reached the bin


def test_an_executor_not_ready_yet_is_waited_for_not_counted():
    """With one process per node the executor can start after the first candidates: its
    "no /joint_states received yet" was counted as a failed attempt (two of them in a
    3-object demo, 2026-12-07); a pick still running or a controller not yet discovered
    the same."""
    from grasp_bringup import msgs
    from grasp_bringup.demo import PickSession
    from grasp_bringup.msgs import EXECUTOR_TERMINAL_STATES as TERMINAL_STATES
    from grasp_bringup.report import Attempt

    refusals = (
        msgs.PICK_NO_JOINT_STATES,
        msgs.PICK_STALE_JOINT_STATES,
        f"{msgs.PICK_NO_CONTROLLER} /panda_hand_controller/joint_trajectory: is the controller "
        "running?",
        msgs.PICK_BUSY,
        msgs.PICK_NO_CANDIDATES_YET,
        msgs.PICK_NO_OBJECTS_YET,
        msgs.PICK_DISCOVERY_PENDING,
    )
    assert len(set(refusals)) == len(msgs.PICK_NOT_READY)
    session, on_table = _pick_session(refusals)
    attempt = Attempt(1, "no_candidates")
    assert PickSession._pick(session, attempt, on_table, {}, TERMINAL_STATES) == 10.0
    assert attempt.outcome == "dropped" and not session.monitor.refusals
    # any other refusal is the attempt's outcome
    session, on_table = _pick_session(("the latest grasp candidates hold no grasp",))
    assert PickSession._pick(session, attempt, on_table, {}, TERMINAL_STATES) is None
    assert attempt.outcome == "failed" and "hold no grasp" in attempt.reason


def test_an_object_pushed_out_of_the_crop_box_ends_the_episode_as_knocked_off():
    """An object pushed onto the table beyond perception's crop box cannot be picked (no
    cloud of it, every grasp on it rejected as closing on air), but until 2026-12-07 the
    episode counted it as still on the table and spent its whole budget on it."""
    import numpy as np

    session, _ = _pick_session()
    layout = session.layout
    _, hi = layout.crop_box()
    pushed = {"obj": np.array([0.5, hi[1] + 0.05, layout.table_top_z + 0.03])}
    attempts, n_objects = _episode_pushing_to(session, pushed, budget=5)
    assert n_objects == 1
    assert len(attempts) == 1  # not 5: nothing is left in reach
    assert attempts[0].outcome == "dropped" and attempts[0].knocked_off == ["obj"]


def _episode_pushing_to(session, pushed: dict, budget: int):
    """Run ``PickSession.episode`` on the stand-in, each pick leaving ``pushed``."""
    from types import SimpleNamespace

    from grasp_bringup.demo import PickSession

    m = session.monitor
    request = m.request_pick

    def request_and_push():
        m.object_positions = lambda: pushed  # the pick pushes it aside, onto the table
        return request()

    m.request_pick = request_and_push
    m.candidates = SimpleNamespace(stamp=1.0, value=["grasp"], count=1, received=1.0)
    m.latest_grasps = lambda: [SimpleNamespace(quality=0.9)]
    m.detect_latencies, m.object_points = [0.1], SimpleNamespace(count=0)
    session.opts = SimpleNamespace(attempt_timeout=1, model="ggcnn")
    session.recorder, session.log = None, lambda text: None
    session._snapshot = lambda k, grasps: None
    session._pick = lambda *args: PickSession._pick(session, *args)
    return PickSession.episode(session, budget=budget)


def test_the_episode_reach_is_the_crop_box_perception_is_given():
    """``--perception-param crop_x_max=...`` widens what perception sees; until late 2026-12-07
    the episode still judged reach by the cell's own box, so an object perception saw and
    the graph could pick counted as knocked off."""
    import numpy as np

    from grasp_bringup.demo import EpisodeOptions, episode_graph, reach_box
    from grasp_core.cell import load_layout

    layout = load_layout()
    lo, hi = layout.crop_box(check_bin=False)
    default = reach_box(episode_graph(EpisodeOptions()))
    np.testing.assert_allclose(default[0], lo)
    np.testing.assert_allclose(default[1], hi)
    wide = EpisodeOptions(perception_params=(("crop_x_max", hi[0] + 0.1),))
    box = reach_box(episode_graph(wide))
    np.testing.assert_allclose(box[0], lo)
    np.testing.assert_allclose(box[1], hi + np.array([0.1, 0.0, 0.0]))

    session, _ = _pick_session()
    session.reach = box
    pushed = {"obj": np.array([hi[0] + 0.05, 0.0, layout.table_top_z + 0.03])}
    attempts, n_objects = _episode_pushing_to(session, pushed, budget=3)
    assert n_objects == 1
    assert len(attempts) == 3  # still in the widened box: picked at again
    assert all(a.knocked_off == [] for a in attempts)


def test_ctrl_c_mid_episode_still_writes_the_report_of_the_finished_attempts(tmp_path, monkeypatch):
    """The run folder was left with images and no report.md or metrics.json."""
    import json

    from grasp_bringup import demo
    from grasp_bringup.report import Attempt

    class Session:
        def __init__(self, opts, log):
            self.images, self.recorder = [], None
            self.attempts, self.n_objects = [], 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def episode(self, budget):
            self.n_objects = 3
            self.attempts.append(Attempt(1, "placed", object="box", model="ggcnn"))
            raise KeyboardInterrupt  # during attempt 2

    monkeypatch.setattr(demo, "PickSession", Session)
    opts = demo.EpisodeOptions(objects=3, out_dir=tmp_path, record=False)
    try:
        metrics = demo.run_episode(opts, log=lambda text: None)
    except KeyboardInterrupt:  # would stop the whole test session, not fail this test
        pytest.fail("the Ctrl-C left run_episode without a report")
    assert metrics["meta"]["interrupted"] is True
    assert metrics["summary"]["attempts"] == 1 and metrics["summary"]["placed"] == 1
    assert json.loads((tmp_path / "metrics.json").read_text())["meta"]["interrupted"] is True
    assert "**interrupted** (Ctrl-C)" in (tmp_path / "report.md").read_text()
