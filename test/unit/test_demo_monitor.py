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


def test_an_attempt_ends_at_the_executors_first_terminal_status():
    """``PickSession._pick`` returns when the executor's first terminal status arrived
    (monitor clock), not the later time its bookkeeping ends (the repeated status, the
    ground truth's settling): the next attempt takes candidates from frames after it. Until
    2026-12-07 the episode used the later time and refused the first detection after a
    pick."""
    from types import SimpleNamespace

    import numpy as np

    from grasp_bringup.demo import PickSession
    from grasp_bringup.demo_monitor import TERMINAL_STATES, ExecutorStatus
    from grasp_bringup.report import Attempt
    from grasp_core.cell import load_layout

    layout = load_layout()
    centre, _ = layout.table_box()
    on_table = {"obj": centre + np.array([0.0, 0.0, 0.03])}

    class Monitor:
        def __init__(self):
            self.status_history, self.status = [], None
            self.poses, self.clock = SimpleNamespace(stamp=0.0), 0.0

        def request_pick(self):
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
        monitor=Monitor(), layout=layout, in_bin=set(), opts=SimpleNamespace(attempt_timeout=1)
    )
    attempt, timings = Attempt(1, "no_candidates"), {}
    end = PickSession._pick(session, attempt, on_table, timings, TERMINAL_STATES)
    assert end == 10.0
    assert timings == {"plan": 0.5, "execute": 9.0}
    assert attempt.outcome == "dropped"  # done, but nothing reached the bin
