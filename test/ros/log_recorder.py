"""A stand-in for a node's rclpy logger in tests: records what is logged at INFO, WARN
and ERROR (as ``(level, text)``) and hands anything else to the real logger."""

from __future__ import annotations

from typing import Any


class LogRecorder:
    def __init__(self, logger: Any = None) -> None:
        self.lines: list[tuple[str, str]] = []
        self._logger = logger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)

    def info(self, text: str, **_: Any) -> None:
        self.lines.append(("info", text))

    def warning(self, text: str, **_: Any) -> None:
        self.lines.append(("warning", text))

    def error(self, text: str, **_: Any) -> None:
        self.lines.append(("error", text))

    def levels(self, containing: str = "") -> list[str]:
        """The levels of the lines whose text contains ``containing``, in order."""
        return [level for level, text in self.lines if containing in text]
