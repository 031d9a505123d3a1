"""The newest joint positions and efforts, each with the time it arrived.

ROS-free: the executor node feeds it ``/joint_states`` and reads it back. A message with
a non-finite position is dropped whole (ros2_control reports NaN before its first read);
a non-finite effort (a joint without an effort interface) is left out. A value older than
``timeout`` is unknown: the pick state machine then neither plans from it nor holds the
arm at it (a driver that stopped publishing leaves the last positions behind, and a hold
there throws the arm back to where it was).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence


class JointStateCache:
    """Thread-safe ``{joint: (value, arrival time)}`` of positions and efforts."""

    def __init__(self, timeout: float) -> None:
        self.timeout = float(timeout)
        self._positions: dict[str, tuple[float, float]] = {}
        self._efforts: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def update(
        self,
        names: Sequence[str],
        positions: Sequence[float],
        efforts: Sequence[float],
        now: float,
    ) -> str | None:
        """Take one message received at ``now`` [s]; returns why it was dropped, or None."""
        if len(names) != len(positions):
            return "names and positions differ in length"
        pos = [float(x) for x in positions]
        bad = [n for n, x in zip(names, pos, strict=True) if not math.isfinite(x)]
        if bad:
            return f"non-finite position of {list(bad[:3])}"
        with self._lock:
            self._positions.update((n, (x, now)) for n, x in zip(names, pos, strict=True))
            if len(efforts) == len(names):  # efforts are optional in JointState
                self._efforts.update(
                    (n, (float(e), now))
                    for n, e in zip(names, efforts, strict=True)
                    if math.isfinite(e)
                )
        return None

    @property
    def received(self) -> bool:
        """Whether any position ever arrived."""
        with self._lock:
            return bool(self._positions)

    def positions(self, now: float) -> dict[str, float] | None:
        """Positions younger than ``timeout`` at ``now``; None when there is none."""
        return self._fresh(self._positions, now)

    def efforts(self, now: float) -> dict[str, float] | None:
        return self._fresh(self._efforts, now)

    def _fresh(self, values: dict[str, tuple[float, float]], now: float) -> dict[str, float] | None:
        oldest = now - self.timeout
        with self._lock:
            fresh = {name: v for name, (v, t) in values.items() if t >= oldest}
        return fresh or None
