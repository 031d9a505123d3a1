"""Jacquard dataset format.

Per image ``<scene>_<object>``: ``*_grasps.txt`` with one ``x;y;θ;w;h`` line per grasp
(centre [px], θ [deg] of the opening axis from image +x towards +y, opening ``w`` and jaw
size ``h`` [px]), ``*_perfect_depth.tiff`` (float, metres) and ``*_RGB.png``. The object id
is the folder holding the files.
"""

from __future__ import annotations

import math
from pathlib import Path

from grasp_core import GraspRect
from grasp_models.datasets.sample import GraspSample, PlanarDataset, read_depth_tiff, read_rgb
from grasp_models.errors import DatasetError

_SUFFIX = "_grasps.txt"


def parse_jacquard_grasps(path: Path) -> list[GraspRect]:
    """Rectangles of a ``*_grasps.txt`` file; malformed lines raise naming file and line."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    rects = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        tokens = line.strip().split(";")
        if len(tokens) != 5:
            raise DatasetError(f"{path}:{lineno}: expected 'x;y;theta;w;h', got {line.strip()!r}")
        try:
            x, y, theta, w, h = (float(t) for t in tokens)
        except ValueError as exc:
            raise DatasetError(f"{path}:{lineno}: not a number in {line.strip()!r}") from exc
        if not all(math.isfinite(v) for v in (x, y, theta, w, h)) or w <= 0 or h <= 0:
            raise DatasetError(
                f"{path}:{lineno}: expected finite values and positive w, h, got {line.strip()!r}"
            )
        rects.append(GraspRect(center=(x, y), angle=math.radians(theta), width=w, length=h))
    return rects


class JacquardDataset(PlanarDataset):
    """All ``*_grasps.txt`` under ``root`` (recursively), sorted by path."""

    def __init__(self, root: str | Path, load_rgb: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"Jacquard dataset root is not a directory: {self.root}")
        self._stems = sorted(
            p.parent / p.name[: -len(_SUFFIX)] for p in self.root.rglob(f"*{_SUFFIX}")
        )
        if not self._stems:
            raise DatasetError(f"{self.root}: no *{_SUFFIX} files found")
        self.load_rgb = load_rgb

    def __len__(self) -> int:
        return len(self._stems)

    def image_ids(self) -> list[str]:
        return [s.name for s in self._stems]

    def object_ids(self) -> list[str]:
        return [s.parent.name for s in self._stems]

    def __getitem__(self, index: int) -> GraspSample:
        stem = self._stems[index]
        depth_path = Path(f"{stem}_perfect_depth.tiff")
        if not depth_path.is_file():
            raise DatasetError(f"{stem}: missing {depth_path.name}")
        rgb = read_rgb(Path(f"{stem}_RGB.png")) if self.load_rgb else None
        return GraspSample(
            depth=read_depth_tiff(depth_path),
            positives=tuple(parse_jacquard_grasps(Path(f"{stem}{_SUFFIX}"))),
            rgb=rgb,
            image_id=stem.name,
            object_id=stem.parent.name,
        )
