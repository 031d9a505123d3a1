"""The one camera interface: every source yields :class:`grasp_core.RGBDFrame` objects."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

from grasp_core.frame import RGBDFrame

#: Topic names of realsense2_camera (also used by the sim driver and the recordings).
COLOR_TOPIC = "/camera/camera/color/image_raw"
DEPTH_TOPIC = "/camera/camera/aligned_depth_to_color/image_raw"
INFO_TOPIC = "/camera/camera/color/camera_info"
TF_STATIC_TOPIC = "/tf_static"


class CameraSource(ABC):
    """A stream of RGB-D frames (colour, depth [m], camera model, stamp [s], frame id).

    ``read(timeout)`` returns the next frame, or ``None`` when none arrived within
    ``timeout`` [s] or the source is finished (then ``exhausted`` is True). Iterating
    yields frames until the source is exhausted or closed; timeouts are retried. Use it
    as a context manager (or call ``close()``) to release the device or file.
    """

    _closed: bool = False

    @abstractmethod
    def read(self, timeout: float | None = 1.0) -> RGBDFrame | None:
        """The next frame, or None on timeout / end of stream."""

    @property
    def exhausted(self) -> bool:
        """True when no further frame will come (end of a recording, source closed)."""
        return self._closed

    def close(self) -> None:
        """Release the device or file; idempotent."""
        self._closed = True

    def __iter__(self) -> Iterator[RGBDFrame]:
        while not self.exhausted:
            frame = self.read()
            if frame is not None:
                yield frame

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def pop_stamp_pair(depths, colors, slop: float):
    """Approximate-time pairing shared by the ROS topic source and MCAP playback.

    ``depths`` and ``colors`` are deques of ``(stamp [s], message)`` in arrival order. The
    oldest depth entry with a colour entry within ``slop`` [s] is returned as
    ``(depth_message, color_message)``, and everything up to that pair is dropped from both
    deques; ``None`` when no pair exists yet (nothing is dropped then).
    """
    for i, (td, dmsg) in enumerate(depths):
        best = min(colors, key=lambda c: abs(c[0] - td), default=None)
        if best is not None and abs(best[0] - td) <= slop:
            for _ in range(i + 1):
                depths.popleft()
            while colors and colors[0][0] <= best[0]:
                colors.popleft()
            return dmsg, best[1]
    return None
