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
