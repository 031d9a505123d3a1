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
