"""Typed, validated parameters of the perception pipeline (one set for library, node, benchmarks).

The same flat names are ROS parameters of the perception node (``config/perception.yaml``)
and keys of :meth:`PerceptionParams.from_dict`, so one YAML file serves both. The crop box
is not in that file: the node builds it around its cell file's workspace
(:func:`grasp_core.cell.resolve_crop_box`), and :meth:`PerceptionParams.from_node_block`
(hence :meth:`PerceptionParams.from_yaml`) does the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasp_core.cell import CROP_KEYS, CellConfigError, resolve_crop_box
from grasp_core.files import read_yaml_mapping
from grasp_core.validation import require_range
from grasp_perception.errors import ParamsError

#: ROS node name whose ``ros__parameters`` block :meth:`PerceptionParams.from_yaml` reads.
NODE_NAME = "perception"


@dataclass(frozen=True)
class ParamInfo:
    """Description and valid range of one parameter (used for ROS parameter descriptors)."""

    description: str
    low: float
    high: float
    integer: bool = False


#: Every parameter with its description, unit and valid (inclusive) range.
PARAM_INFO: dict[str, ParamInfo] = {
    "crop_x_min": ParamInfo("workspace crop box, base frame: min x [m]", -5.0, 5.0),
    "crop_x_max": ParamInfo("workspace crop box, base frame: max x [m]", -5.0, 5.0),
    "crop_y_min": ParamInfo("workspace crop box, base frame: min y [m]", -5.0, 5.0),
    "crop_y_max": ParamInfo("workspace crop box, base frame: max y [m]", -5.0, 5.0),
    "crop_z_min": ParamInfo("workspace crop box, base frame: min z [m]", -5.0, 5.0),
    "crop_z_max": ParamInfo("workspace crop box, base frame: max z [m]", -5.0, 5.0),
    "depth_min": ParamInfo("nearest valid depth [m]; closer returns are ignored", 0.0, 10.0),
    "depth_max": ParamInfo("farthest valid depth [m]; farther returns are ignored", 0.01, 20.0),
    "pixel_stride": ParamInfo(
        "back-project every n-th pixel in u and v (1 = full resolution) [px]", 1, 8, True
    ),
    "voxel_size": ParamInfo("voxel edge for downsampling before RANSAC/DBSCAN [m]", 0.001, 0.05),
    "fill_holes": ParamInfo("1 = inpaint holes in the published depth image, 0 = off", 0, 1, True),
    "inpaint_radius": ParamInfo("inpainting neighbourhood radius [px of the scaled image]", 1, 15),
    "inpaint_scale": ParamInfo("inpaint at 1/scale resolution, then upsample (speed)", 1, 8, True),
    "edge_filter": ParamInfo("1 = bilateral edge-preserving filter on the clean depth", 0, 1, True),
    "plane_distance": ParamInfo("RANSAC inlier distance to the table plane [m]", 0.001, 0.05),
    "plane_iterations": ParamInfo("RANSAC iterations for the table plane", 10, 5000, True),
    "plane_max_tilt_deg": ParamInfo(
        "max angle between the table normal and base +Z [deg]", 0.0, 90.0
    ),
    "plane_min_points": ParamInfo("min voxels supporting the table plane", 3, 1_000_000, True),
    "object_min_height": ParamInfo("points closer to the table than this are table [m]", 0.0, 0.1),
    "cluster_eps": ParamInfo("DBSCAN neighbourhood radius [m]", 0.001, 0.2),
    "cluster_min_points": ParamInfo("DBSCAN core-point neighbour count [voxels]", 1, 1000, True),
    "object_min_points": ParamInfo("smallest cluster kept as an object [voxels]", 1, 100_000, True),
    "max_objects": ParamInfo("keep at most this many (largest) clusters", 1, 1000, True),
    "footprint_fill": ParamInfo(
        "1 = table-height points inside an object's image convex hull join it (bowl floors)",
        0,
        1,
        True,
    ),
    "footprint_min_height": ParamInfo(
        "footprint fill: only points at least this high above the table [m]", 0.0, 0.05
    ),
    "seed": ParamInfo("seed of open3d's RANSAC", 0, 2**31 - 1, True),
}


@dataclass(frozen=True)
class PerceptionParams:
    """Parameters of :func:`grasp_perception.segmentation.segment` (metres, base frame).

    Defaults match ``config/perception.yaml``; the crop box defaults are the box around the
    sim cell's workspace in front of the Panda (table top at z = 0, the place bin outside
    the crop box), which the node derives from its cell file
    (:meth:`grasp_core.cell.CellLayout.crop_box`; a test keeps the two equal).
    """

    crop_x_min: float = 0.2
    crop_x_max: float = 0.8
    crop_y_min: float = -0.3
    crop_y_max: float = 0.3
    crop_z_min: float = -0.05
    crop_z_max: float = 0.3
    depth_min: float = 0.1
    depth_max: float = 2.0
    pixel_stride: int = 2
    voxel_size: float = 0.005
    fill_holes: int = 1
    inpaint_radius: float = 3.0
    inpaint_scale: int = 4
    edge_filter: int = 0
    plane_distance: float = 0.006
    plane_iterations: int = 200
    plane_max_tilt_deg: float = 20.0
    plane_min_points: int = 200
    object_min_height: float = 0.008
    cluster_eps: float = 0.02
    cluster_min_points: int = 3
    object_min_points: int = 20
    max_objects: int = 30
    footprint_fill: int = 1
    footprint_min_height: float = 0.001
    seed: int = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            info = PARAM_INFO[f.name]
            value = getattr(self, f.name)
            if isinstance(value, bool):
                value = int(value)
            try:
                checked = require_range(f"PerceptionParams.{f.name}", value, info.low, info.high)
            except ValueError as exc:
                raise ParamsError(f"{exc} ({info.description})") from exc
            if info.integer:
                if checked != int(checked):
                    raise ParamsError(
                        f"PerceptionParams.{f.name}: expected an integer, got {value!r}"
                    )
                object.__setattr__(self, f.name, int(checked))
            else:
                object.__setattr__(self, f.name, float(checked))
        for axis in "xyz":
            lo, hi = getattr(self, f"crop_{axis}_min"), getattr(self, f"crop_{axis}_max")
            if lo >= hi:
                raise ParamsError(f"PerceptionParams: crop_{axis}_min {lo} must be < max {hi}")
        if self.depth_min >= self.depth_max:
            raise ParamsError(
                f"PerceptionParams: depth_min {self.depth_min} must be < depth_max {self.depth_max}"
            )

    @property
    def crop_min(self) -> np.ndarray:
        """Lower corner of the workspace box in the base frame [m]."""
        return np.array([self.crop_x_min, self.crop_y_min, self.crop_z_min])

    @property
    def crop_max(self) -> np.ndarray:
        """Upper corner of the workspace box in the base frame [m]."""
        return np.array([self.crop_x_max, self.crop_y_max, self.crop_z_max])

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any], strict: bool = True) -> PerceptionParams:
        """Build from a flat dict; unknown keys raise (``strict``) or are ignored.

        ``crop_min`` / ``crop_max`` given as 3-sequences are accepted as shorthands.
        """
        values = dict(values)
        for corner in ("min", "max"):
            seq = values.pop(f"crop_{corner}", None)
            if seq is not None:
                if len(seq) != 3:
                    raise ParamsError(f"crop_{corner}: expected [x, y, z], got {seq!r}")
                for axis, v in zip("xyz", seq, strict=True):
                    values[f"crop_{axis}_{corner}"] = v
        known = set(cls.names())
        unknown = sorted(set(values) - known)
        if unknown and strict:
            raise ParamsError(
                f"PerceptionParams: unknown parameter(s) {unknown}; valid: {sorted(known)}"
            )
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_node_block(cls, block: dict[str, Any], user: str = NODE_NAME) -> PerceptionParams:
        """The parameters the perception node runs with, given its parameter values
        ``block`` (node-only keys are ignored): each crop_* key it lacks comes from the
        workspace of its ``cell_layout`` (empty or absent: the default cell) in its
        ``base_frame``, as in the node (:func:`grasp_core.cell.resolve_crop_box`; a bad
        cell file or a bin inside the box is a :class:`grasp_core.cell.CellConfigError`)."""
        crop, _, _ = resolve_crop_box(
            block.get("cell_layout", ""),
            {k: block.get(k) for k in CROP_KEYS},
            str(block.get("base_frame", "panda_link0")),
            user,
        )
        return cls.from_dict({**block, **crop}, strict=False)

    @classmethod
    def from_yaml(cls, path: str | Path, strict: bool = False) -> PerceptionParams:
        """Read a YAML file: either a flat mapping or the ROS 2 params format
        ``perception: {ros__parameters: {...}}`` (node-only keys are then ignored). The crop
        box is the node's: see :meth:`from_node_block`."""
        block = read_params_block(path)
        if strict:
            cls.from_dict(block, strict=True)  # unknown keys
        try:
            return cls.from_node_block(block, user=f"perception parameters {path}")
        except CellConfigError as exc:
            raise ParamsError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def read_params_block(path: str | Path) -> dict[str, Any]:
    """The perception node's parameters in a YAML file: its ``ros__parameters`` block
    (under ``perception``, ``/perception`` or ``/**``), or the file itself when flat."""
    data = read_yaml_mapping(path, "perception parameters", ParamsError)
    for key in (NODE_NAME, f"/{NODE_NAME}", "/**"):
        block = data.get(key)
        if isinstance(block, dict) and "ros__parameters" in block:
            return dict(block["ros__parameters"])
    return data
