"""Table plane (RANSAC) and object clusters (DBSCAN) of one RGB-D frame, in the base frame.

Pipeline, cheapest first so a 640x480 frame fits the camera's 33 ms period:
strided back-projection -> workspace crop -> voxel grid -> RANSAC plane (open3d) with a
tilt check and least-squares refit -> points above the table -> DBSCAN (open3d) on voxels
-> labels carried back to every cropped point and its pixel. Bad input (no valid depth,
nothing in the crop box, no table, no object) gives an empty-but-valid result whose
``warnings`` say why; it never raises for a well-formed frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import open3d as o3d

from grasp_core.frame import RGBDFrame
from grasp_core.validation import readonly
from grasp_perception.cloud import (
    column_max,
    column_mean,
    column_min,
    crop_mask,
    depth_to_cloud,
    to_o3d,
    voxel_downsample,
)
from grasp_perception.depth import clean_depth, edge_preserving_filter, valid_depth_mask
from grasp_perception.params import PerceptionParams

#: A horizontal plane with more than this fraction of the cropped voxels below it is not
#: the table (it is e.g. a plane through object tops).
TABLE_MAX_BELOW_FRACTION = 0.05
#: Voxels handed to RANSAC at most (inliers are then counted over all voxels).
RANSAC_SAMPLE = 4000

__all__ = ["ObjectCluster", "PerceptionParams", "SceneSegmentation", "fit_plane", "segment"]


@dataclass(frozen=True, eq=False)
class ObjectCluster:
    """One object's points [m, base frame] and the pixels they came from.

    ``pixel_indices`` are flat indices ``v * width + u`` into the ``image_shape`` image
    (every ``stride``-th pixel was sampled); ``mask()`` turns them into an image mask.
    """

    label: int
    points: np.ndarray
    pixel_indices: np.ndarray
    image_shape: tuple[int, int]
    stride: int = 1
    centroid: np.ndarray = field(init=False)
    bbox_min: np.ndarray = field(init=False)
    bbox_max: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64).reshape(-1, 3)
        object.__setattr__(self, "points", readonly(pts))
        object.__setattr__(self, "pixel_indices", readonly(np.asarray(self.pixel_indices)))
        empty = len(pts) == 0
        nan = np.full(3, np.nan)
        object.__setattr__(self, "centroid", readonly(nan if empty else column_mean(pts)))
        object.__setattr__(self, "bbox_min", readonly(nan if empty else column_min(pts)))
        object.__setattr__(self, "bbox_max", readonly(nan if empty else column_max(pts)))

    @property
    def extent(self) -> np.ndarray:
        """Axis-aligned size of the bounding box [m]."""
        return self.bbox_max - self.bbox_min

    def pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``v`` and columns ``u`` of the sampled pixels of this object."""
        return np.divmod(self.pixel_indices, self.image_shape[1])

    def mask(self) -> np.ndarray:
        """HxW bool mask; with ``stride`` > 1 each sampled pixel covers its stride block."""
        h, w = self.image_shape
        s = self.stride
        grid = np.zeros(((h + s - 1) // s, (w + s - 1) // s), dtype=bool)
        v, u = self.pixels()
        grid[v // s, u // s] = True
        return np.repeat(np.repeat(grid, s, axis=0), s, axis=1)[:h, :w]


class SegmentationNote(str):
    """Why a segmentation came out empty: the text, with its ``cause``, one of
    :data:`NOTE_CAUSES` (a ``str``, so the text reads, prints and serialises as before)."""

    cause: str

    def __new__(cls, cause: str, text: str) -> SegmentationNote:
        if cause not in NOTE_CAUSES:
            raise ValueError(f"SegmentationNote cause {cause!r} is not one of {NOTE_CAUSES}")
        note = super().__new__(cls, text)
        note.cause = cause
        return note

    def __reduce__(self):  # pickles (and copies) with its cause
        return (SegmentationNote, (self.cause, str(self)))


#: :class:`SegmentationNote` causes: no valid depth pixel, nothing in the crop box, no
#: table plane, no object on the table. Only "no_object" is a state of the scene (a
#: cleared table), not a fault of the input or the parameters.
NOTE_CAUSES = ("no_depth", "empty_crop", "no_table", "no_object")


@dataclass(frozen=True, eq=False)
class SceneSegmentation:
    """Result of :func:`segment`: everything in the base frame ``frame_id`` [m].

    ``table_plane`` is ``(a, b, c, d)`` with ``a x + b y + c z + d = 0``, unit normal
    pointing up (towards +Z of the base), or ``None`` when no table was found.
    ``scene_points`` are the cropped points not on the table; ``clean_depth`` is the
    filled depth image [m]; ``warnings`` (:class:`SegmentationNote`) explain empty results.
    """

    table_plane: np.ndarray | None
    objects: tuple[ObjectCluster, ...]
    scene_points: np.ndarray
    clean_depth: np.ndarray
    warnings: tuple[SegmentationNote, ...] = ()
    frame_id: str = "panda_link0"
    stamp: float = 0.0
    table_points: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    timings_ms: dict = field(default_factory=dict)

    @property
    def table_height(self) -> float | None:
        """Height of the table plane above the base origin along +Z [m] (None if no table)."""
        if self.table_plane is None or abs(self.table_plane[2]) < 1e-6:
            return None
        return float(-self.table_plane[3] / self.table_plane[2])

    def object_points(self) -> tuple[np.ndarray, np.ndarray]:
        """All object points stacked (Nx3) and their object labels (N int32)."""
        if not self.objects:
            return np.empty((0, 3)), np.empty(0, dtype=np.int32)
        pts = np.concatenate([o.points for o in self.objects])
        labels = np.concatenate([np.full(len(o.points), o.label, np.int32) for o in self.objects])
        return pts, labels

    def label_image(self) -> np.ndarray:
        """HxW int32 image: object label at its sampled pixels, -1 elsewhere."""
        h, w = self.clean_depth.shape
        out = np.full(h * w, -1, dtype=np.int32)
        for o in self.objects:
            out[o.pixel_indices] = o.label
        return out.reshape(h, w)


def fit_plane(points: np.ndarray) -> np.ndarray:
    """Least-squares plane ``(a, b, c, d)`` of Nx3 points (unit normal with c >= 0)."""
    points = np.asarray(points, dtype=np.float64)
    c = column_mean(points)
    X = points - c
    _, vecs = np.linalg.eigh(X.T @ X)  # smallest eigenvalue's vector is the normal
    n = vecs[:, 0]
    if n[2] < 0:
        n = -n
    return np.array([*n, -n @ c])


def _find_table(
    vox: np.ndarray, p: PerceptionParams, warnings: list[SegmentationNote]
) -> np.ndarray | None:
    """RANSAC the dominant near-horizontal plane among voxel centroids (up to 3 tries).

    Everything runs on a uniform random sample of at most :data:`RANSAC_SAMPLE` voxels (the
    table dominates the crop box; a few thousand voxels pin a plane far below 1 mm), and
    counts are scaled back to the whole set.
    """
    rng = np.random.default_rng(p.seed)
    o3d.utility.random.seed(p.seed)
    sample = vox if len(vox) <= RANSAC_SAMPLE else vox[rng.integers(0, len(vox), RANSAC_SAMPLE)]
    scale = len(vox) / max(len(sample), 1)
    max_tilt = np.deg2rad(p.plane_max_tilt_deg)
    for _ in range(3):
        if len(sample) * scale < max(p.plane_min_points, 3) or len(sample) < 3:
            break
        model, _ = to_o3d(sample).segment_plane(p.plane_distance, 3, p.plane_iterations)
        model = np.asarray(model, dtype=float)
        inl = np.abs(sample @ model[:3] + model[3]) <= p.plane_distance
        if inl.sum() * scale < p.plane_min_points:
            break
        tilt = np.arccos(min(abs(model[2]) / max(np.linalg.norm(model[:3]), 1e-12), 1.0))
        if tilt <= max_tilt:
            plane = fit_plane(sample[inl])
            # one refit with the inliers of the least-squares plane
            height = sample @ plane[:3] + plane[3]
            support = np.abs(height) <= p.plane_distance
            if support.sum() >= 3:
                plane = fit_plane(sample[support])
                height = sample @ plane[:3] + plane[3]
            # objects stand on a table: little may lie below it (else: object tops, shelves)
            if np.mean(height < -3 * p.plane_distance) <= TABLE_MAX_BELOW_FRACTION:
                return plane
        sample = sample[~inl]
    warnings.append(
        SegmentationNote(
            "no_table",
            f"no table plane: no near-horizontal plane (tilt <= {p.plane_max_tilt_deg:g} deg) "
            f"with >= {p.plane_min_points} voxels and nothing below it in the crop box",
        )
    )
    return None


def _hull_grid(u: np.ndarray, v: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 mask (grid ``shape``) of the convex hull of grid cells ``(u, v)``."""
    grid = np.zeros(shape, np.uint8)
    uv = np.column_stack([u, v]).astype(np.int32)
    cv2.fillConvexPoly(grid, cv2.convexHull(uv), 1)
    return grid


def _merge_nested(
    pix: np.ndarray, labels: np.ndarray, shape: tuple[int, int], stride: int, n: int
) -> np.ndarray:
    """Root cluster of each of ``n`` clusters after merging every cluster that has at least
    half of its pixels inside the image-space convex hull of a cluster with a larger hull."""
    h, w = shape
    grid_shape = ((h + stride - 1) // stride, (w + stride - 1) // stride)
    v, u = np.divmod(pix, w)
    u, v = u // stride, v // stride
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    members = [order[bounds[k] : bounds[k + 1]] for k in range(n)]
    hulls = {k: _hull_grid(u[m], v[m], grid_shape) for k, m in enumerate(members) if len(m) >= 3}
    by_area = sorted(hulls, key=lambda k: -int(hulls[k].sum()))
    root = np.arange(n)
    for i, k in enumerate(by_area):
        top = k
        while root[top] != top:
            top = root[top]
        for j in by_area[i + 1 :]:
            if root[j] == j and hulls[k][v[members[j]], u[members[j]]].mean() >= 0.5:
                root[j] = top
    return root


def _footprint_owner(
    pix: np.ndarray,
    labels: np.ndarray,
    shape: tuple[int, int],
    stride: int,
    query_pix: np.ndarray,
) -> np.ndarray:
    """Label of the object whose image-space convex hull covers each query pixel (-1: none).

    Seen from the camera, the table is hidden behind an object except through concave
    parts of its silhouette, so table-height points inside an object's hull are mostly
    its own low parts (the floor of a bowl or mug) rather than the table.
    """
    h, w = shape
    grid = np.full(((h + stride - 1) // stride, (w + stride - 1) // stride), -1, np.int32)
    v, u = np.divmod(pix, w)
    for k in range(int(labels.max()) + 1):
        sel = labels == k
        if np.count_nonzero(sel) < 3:
            continue
        uv = np.column_stack([u[sel] // stride, v[sel] // stride]).astype(np.int32)
        cv2.fillConvexPoly(grid, cv2.convexHull(uv), int(k))
    qv, qu = np.divmod(query_pix, w)
    return grid[qv // stride, qu // stride]


def segment(frame: RGBDFrame, params: PerceptionParams | None = None) -> SceneSegmentation:
    """Table plane and object clusters of ``frame`` (see the module docstring)."""
    p = params or PerceptionParams()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    warnings: list[SegmentationNote] = []
    camera = frame.camera
    base = camera.base_frame

    def lap(name: str, start: float) -> float:
        now = time.perf_counter()
        timings[name] = (now - start) * 1e3
        return now

    def empty(clean: np.ndarray, plane=None, table=None) -> SceneSegmentation:
        timings["total"] = (time.perf_counter() - t0) * 1e3
        return SceneSegmentation(
            table_plane=None if plane is None else readonly(plane),
            objects=(),
            scene_points=readonly(np.empty((0, 3))),
            clean_depth=readonly(clean),
            warnings=tuple(warnings),
            frame_id=base,
            stamp=frame.stamp,
            table_points=readonly(np.empty((0, 3)) if table is None else table),
            timings_ms=timings,
        )

    raw = frame.depth
    valid = valid_depth_mask(raw)
    if not valid.any():
        warnings.append(
            SegmentationNote("no_depth", "depth: no valid pixel (all NaN, zero or negative)")
        )
        return empty(np.zeros_like(raw))
    filtered = edge_preserving_filter(raw) if p.edge_filter else raw
    clean = clean_depth(
        filtered, fill=bool(p.fill_holes), radius=p.inpaint_radius, scale=p.inpaint_scale
    )
    t = lap("clean_depth", t0)

    pts, pix = depth_to_cloud(filtered, camera, "base", p.pixel_stride, p.depth_min, p.depth_max)
    keep = crop_mask(pts, p.crop_min, p.crop_max)
    pts, pix = pts[keep], pix[keep]
    t = lap("cloud_crop", t)
    if len(pts) == 0:
        warnings.append(
            SegmentationNote(
                "empty_crop",
                f"no valid point inside the crop box {p.crop_min.tolist()}.."
                f"{p.crop_max.tolist()} at depth {p.depth_min:g}..{p.depth_max:g} m (check "
                "the camera extrinsic)",
            )
        )
        return empty(clean)

    vox, inverse = voxel_downsample(pts, p.voxel_size)
    t = lap("voxel", t)
    plane = _find_table(vox, p, warnings)
    t = lap("plane", t)
    if plane is not None:
        height_pts = pts @ plane[:3] + plane[3]
        height_vox = vox @ plane[:3] + plane[3]
        above_pts = height_pts >= p.object_min_height
        cand_vox = np.flatnonzero(height_vox >= p.object_min_height)
        table_pts = pts[np.abs(height_pts) <= p.plane_distance]
    else:
        above_pts = np.ones(len(pts), dtype=bool)
        cand_vox = np.arange(len(vox))
        table_pts = np.empty((0, 3))
    vox_label = np.full(len(vox), -1, dtype=np.int64)
    h, w = raw.shape
    if len(cand_vox) >= p.cluster_min_points:
        # DBSCAN on a grid of eps/2 (coarser than voxel_size): ~10x fewer neighbour pairs,
        # same connectivity for gaps wider than eps
        coarse, to_coarse = voxel_downsample(vox[cand_vox], max(p.voxel_size, p.cluster_eps / 2))
        raw_labels = np.asarray(
            to_o3d(coarse).cluster_dbscan(p.cluster_eps, p.cluster_min_points), np.int64
        )[to_coarse]
        n_raw = int(raw_labels.max(initial=-1)) + 1
        if n_raw > 1:
            # parts of one object that DBSCAN split apart (a bottle's neck top above its
            # shoulder, a tall side seen past a dropout band) lie inside its outline
            vox_raw = np.full(len(vox), -1, dtype=np.int64)
            vox_raw[cand_vox] = raw_labels
            root = _merge_nested(
                pix, np.where(above_pts, vox_raw[inverse], -1), (h, w), p.pixel_stride, n_raw
            )
            raw_labels = np.where(raw_labels >= 0, root[np.maximum(raw_labels, 0)], -1)
        ids, sizes = np.unique(raw_labels[raw_labels >= 0], return_counts=True)
        order = np.argsort(-sizes, kind="stable")
        kept = ids[order][sizes[order] >= p.object_min_points][: p.max_objects]
        remap = np.full(n_raw + 1, -1, dtype=np.int64)
        for new, old in enumerate(kept):
            remap[old + 1] = new
        vox_label[cand_vox] = remap[raw_labels + 1]
    t = lap("cluster", t)

    pt_label = np.where(above_pts, vox_label[inverse], -1)
    if plane is not None and p.footprint_fill and pt_label.max(initial=-1) >= 0:
        # unlabelled points above the table's noise floor: a bowl's inner floor (below
        # object_min_height), DBSCAN noise and fragments too small to be objects
        low = np.flatnonzero((pt_label < 0) & (height_pts >= p.footprint_min_height))
        owner = _footprint_owner(pix, pt_label, (h, w), p.pixel_stride, pix[low])
        claimed = owner >= 0
        pt_label[low[claimed]] = owner[claimed]
        above_pts[low[claimed]] = True
        table_pts = pts[(np.abs(height_pts) <= p.plane_distance) & ~above_pts]
    scene_pts = pts[above_pts]
    objects = []
    labelled = np.flatnonzero(pt_label >= 0)
    order = labelled[np.argsort(pt_label[labelled], kind="stable")]
    n_obj = int(pt_label.max(initial=-1)) + 1
    bounds = np.searchsorted(pt_label[order], np.arange(n_obj + 1))
    for k in range(n_obj):
        idx = order[bounds[k] : bounds[k + 1]]
        objects.append(ObjectCluster(k, pts[idx], pix[idx], (h, w), p.pixel_stride))
    if not objects:
        above = " above the table" if plane is not None else ""
        warnings.append(
            SegmentationNote(
                "no_object", f"no object: no cluster of >= {p.object_min_points} voxels{above}"
            )
        )
    lap("labels", t)
    timings["total"] = (time.perf_counter() - t0) * 1e3
    return SceneSegmentation(
        table_plane=None if plane is None else readonly(plane),
        objects=tuple(objects),
        scene_points=readonly(scene_pts),
        clean_depth=readonly(clean),
        warnings=tuple(warnings),
        frame_id=base,
        stamp=frame.stamp,
        table_points=readonly(table_pts),
        timings_ms=timings,
    )
