"""Cornell grasping dataset format (also what the synthetic generator writes).

Per image ``pcdNNNN``: ``pcdNNNNcpos.txt`` / ``pcdNNNNcneg.txt`` hold rectangles as four
``x y`` lines each (x = column, y = row [px]); rectangles with a NaN corner are skipped.
The first edge p0 -> p1 runs along the gripper opening, so it is our closing axis.
Depth comes from ``pcdNNNNd.tiff`` or, if absent, from the ``pcdNNNN.txt`` point cloud
(``x y z rgb index`` rows after ``DATA ascii``); colour from ``pcdNNNNr.png``.
Object ids (for object-wise splits) come from an optional ``objects.txt`` or ``z.txt`` at
the root, one ``<image number> <object id> ...`` per line; otherwise each image is its own.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np

from grasp_core import GraspRect
from grasp_models.datasets.sample import GraspSample, PlanarDataset, read_depth_tiff, read_rgb
from grasp_models.errors import DatasetError

_NAME = re.compile(r"^pcd(\d+)cpos\.txt$")
CORNELL_SHAPE = (480, 640)


def rect_from_corners(corners: np.ndarray, quality: float = 1.0) -> GraspRect:
    """GraspRect of four ``(x, y)`` corners whose first edge is the gripper opening."""
    p = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    opening = p[1] - p[0]
    jaw = p[2] - p[1]
    return GraspRect(
        center=(float(p[:, 0].mean()), float(p[:, 1].mean())),
        angle=math.atan2(opening[1], opening[0]),
        width=max(float(np.hypot(*opening)), 1e-3),
        length=max(float(np.hypot(*jaw)), 1e-3),
        quality=quality,
    )


def parse_cornell_rects(path: Path, quality: float = 1.0) -> list[GraspRect]:
    """Rectangles of a ``cpos``/``cneg`` file; malformed lines raise naming file and line."""
    path = Path(path)
    rects: list[GraspRect] = []
    corners: list[tuple[float, float]] = []
    has_nan = False
    start = 1
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    lines_used = [(n, ln) for n, ln in enumerate(lines, 1) if ln.strip()]
    for lineno, line in lines_used:
        if not corners:
            start = lineno
        tokens = line.split()
        if len(tokens) != 2:
            raise DatasetError(f"{path}:{lineno}: expected 'x y', got {line.strip()!r}")
        try:
            x, y = float(tokens[0]), float(tokens[1])
        except ValueError as exc:
            raise DatasetError(f"{path}:{lineno}: not a number in {line.strip()!r}") from exc
        has_nan |= math.isnan(x) or math.isnan(y)
        if not has_nan and (math.isinf(x) or math.isinf(y)):
            raise DatasetError(f"{path}:{lineno}: infinite coordinate in {line.strip()!r}")
        corners.append((x, y))
        if len(corners) == 4:
            if not has_nan:
                try:
                    rects.append(rect_from_corners(np.array(corners), quality))
                except ValueError as exc:
                    raise DatasetError(f"{path}:{start}: degenerate rectangle: {exc}") from exc
            corners, has_nan = [], False
    if corners:
        raise DatasetError(
            f"{path}:{start}: incomplete rectangle ({len(corners)} of 4 corner lines)"
        )
    return rects


def depth_from_pcd(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Depth image [m] (range of each point) from a Cornell ``pcdNNNN.txt`` point cloud
    (ASCII PCD, ``x y z rgb index`` per point, index = row * width + column). ``shape``
    (H, W): default the size of the image's ``pcdNNNNr.png`` when it exists (your own
    captures need not be Cornell's), else Cornell's 640x480."""
    path = Path(path)
    if shape is None:
        png = path.with_name(path.stem + "r.png")
        size = cv2.imread(str(png), cv2.IMREAD_UNCHANGED).shape[:2] if png.is_file() else None
        shape = tuple(size) if size else CORNELL_SHAPE
    depth = _depth_from_pcd_fast(path, shape)
    if depth is None:  # not a plain table of numbers: the line-by-line reader names the line
        depth = _depth_from_pcd_lines(path, shape)
    valid = depth[depth > 0]
    if valid.size and np.median(valid) > 20.0:
        depth *= np.float32(1e-3)  # Cornell clouds are in millimetres
    return depth


def _depth_from_pcd_fast(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """:func:`depth_from_pcd`'s ranges by numpy's C reader (a few times faster than
    the line-by-line reader on a 640x480 cloud); None when the file is anything but an ASCII header and
    rows of at least five numbers with pixel indices inside ``shape``."""
    with path.open(errors="replace") as fh:
        for line in fh:
            if line.startswith("DATA"):
                if line.split()[1:2] != ["ascii"]:
                    return None
                break
        else:
            return None
        try:
            rows = np.loadtxt(fh, dtype=np.float64, usecols=(0, 1, 2, 4), ndmin=2)
        except ValueError:
            return None
    if not np.isfinite(rows[:, 3]).all():
        return None
    index = rows[:, 3].astype(np.int64)  # int(float(token)), as the line reader
    if (index < 0).any() or (index >= shape[0] * shape[1]).any():
        return None
    depth = np.zeros(shape, dtype=np.float32)
    depth.reshape(-1)[index] = np.sqrt((rows[:, :3] ** 2).sum(axis=1))
    return depth


def _depth_from_pcd_lines(path: Path, shape: tuple[int, int]) -> np.ndarray:
    depth = np.zeros(shape, dtype=np.float32)
    in_data = False
    with path.open(errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not in_data:
                in_data = line.startswith("DATA")
                if in_data and line.split()[1:2] != ["ascii"]:
                    raise DatasetError(
                        f"{path}:{lineno}: only 'DATA ascii' point clouds are read, got "
                        f"{line.strip()!r} (save it as ASCII, or write pcdNNNNd.tiff depth)"
                    )
                continue
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) < 5:
                raise DatasetError(f"{path}:{lineno}: expected 'x y z rgb index', got {line!r}")
            try:
                x, y, z = (float(t) for t in tokens[:3])
                index = int(float(tokens[4]))
            except ValueError as exc:
                raise DatasetError(f"{path}:{lineno}: not a number in {line.strip()!r}") from exc
            row, col = divmod(index, shape[1])
            if not (0 <= row < shape[0]):
                raise DatasetError(f"{path}:{lineno}: pixel index {index} outside {shape}")
            depth[row, col] = math.sqrt(x * x + y * y + z * z)
    if not in_data:
        raise DatasetError(f"{path}: no 'DATA ascii' header line")
    return depth


def _read_object_map(root: Path) -> dict[str, str]:
    for name in ("objects.txt", "z.txt"):
        path = root / name
        if not path.is_file():
            continue
        out: dict[str, str] = {}
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) < 2:
                raise DatasetError(f"{path}:{lineno}: expected '<image> <object id>', got {line!r}")
            try:
                out[str(int(tokens[0]))] = tokens[1]
            except ValueError:
                raise DatasetError(
                    f"{path}:{lineno}: expected an image number, got {tokens[0]!r}"
                ) from None
        return out
    return {}


_IMAGE = re.compile(r"^pcd(\d+)(?:d\.tiff|\.txt)$")


class CornellDataset(PlanarDataset):
    """All ``pcdNNNNcpos.txt`` under ``root`` (recursively), sorted by image number.

    A folder without any ``cpos`` file holds unlabelled images: every ``pcdNNNNd.tiff`` /
    ``pcdNNNN.txt`` is one (your own captures for the VQ-VAE, ``--unlabelled-data``).
    """

    def __init__(self, root: str | Path, load_rgb: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"Cornell dataset root is not a directory: {self.root}")
        found = []
        for path in self.root.rglob("pcd*cpos.txt"):
            m = _NAME.match(path.name)
            if m:
                found.append((int(m.group(1)), m.group(1), path))
        self.unlabelled_only = not found
        if not found:  # unlabelled captures: depth images, no rectangles
            stems = {}
            for path in self.root.rglob("pcd*"):
                m = _IMAGE.match(path.name)
                if m:
                    stems[(int(m.group(1)), m.group(1), str(path.parent))] = path
            found = [(num, digits, path) for (num, digits, _), path in stems.items()]
        if not found:
            raise DatasetError(
                f"{self.root}: no pcdNNNNcpos.txt (labelled) nor pcdNNNNd.tiff / pcdNNNN.txt "
                "(unlabelled) files found"
            )
        found.sort()
        self._entries = [(num, path.parent / f"pcd{digits}") for num, digits, path in found]
        self.load_rgb = load_rgb
        self._objects = _read_object_map(self.root)

    def __len__(self) -> int:
        return len(self._entries)

    def image_ids(self) -> list[str]:
        return [str(num) for num, _ in self._entries]

    def has_object_ids(self) -> bool:
        """An ``objects.txt`` (or Cornell's ``z.txt``): ``<image number> <object id>`` lines."""
        return bool(self._objects)

    def object_ids(self) -> list[str]:
        return [self._objects.get(str(num), f"image{num}") for num, _ in self._entries]

    def positive_counts(self) -> list[int]:
        if self.unlabelled_only:
            return [0] * len(self._entries)
        return [len(parse_cornell_rects(Path(f"{stem}cpos.txt"))) for _, stem in self._entries]

    def __getitem__(self, index: int) -> GraspSample:
        num, stem = self._entries[index]
        tiff = Path(f"{stem}d.tiff")
        if tiff.is_file():
            depth = read_depth_tiff(tiff)
        elif Path(f"{stem}.txt").is_file():
            depth = depth_from_pcd(Path(f"{stem}.txt"))
        else:
            raise DatasetError(f"{stem}: neither {tiff.name} nor {stem.name}.txt exists")
        neg_path = Path(f"{stem}cneg.txt")
        negatives = parse_cornell_rects(neg_path, 0.0) if neg_path.is_file() else []
        rgb = read_rgb(Path(f"{stem}r.png")) if self.load_rgb else None
        return GraspSample(
            depth=depth,
            positives=()
            if self.unlabelled_only
            else tuple(parse_cornell_rects(Path(f"{stem}cpos.txt"))),
            negatives=tuple(negatives),
            rgb=rgb,
            image_id=str(num),
            object_id=self._objects.get(str(num), f"image{num}"),
        )
