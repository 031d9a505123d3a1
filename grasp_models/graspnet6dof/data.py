"""ACRONYM-layout HDF5 grasp files (Eppner et al. 2021), read and written with h5py.

Layout (the subset ACRONYM defines, so real ACRONYM files load with :func:`read_grasps`):
``object/file`` (mesh path or object name), ``object/scale``, ``object/mass`` (optional),
``grasps/transforms`` Nx4x4 T_object_grasp [m], ``grasps/qualities/<source>/object_in_gripper``
N (1 success, 0 failure). ACRONYM's grasp frame is the Franka hand's base (flange side);
pass ``grasp_offset`` to move it to our TCP frame (+Z approach, TCP between fingertips).

Our files add (all optional to the reader): ``object/spec`` (JSON of the ObjectSpec),
``grasps/kind`` N (0 surface sample, 1 perturbed positive), ``grasps/prefilter`` N
(0 simulated, 1 in collision, 2 empty closing volume), ``views/points`` VxPx3 partial
clouds in the object frame [m], ``views/T_object_camera`` Vx4x4, ``meta`` attributes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from grasp_core.validation import readonly
from grasp_models.graspnet6dof.errors import AcronymFormatError

SOURCE = "physics"
#: ``grasps/kind`` values.
KIND_SURFACE, KIND_PERTURBED = 0, 1
#: ``grasps/prefilter`` values.
PREFILTER_OK, PREFILTER_COLLISION, PREFILTER_EMPTY = 0, 1, 2
#: ACRONYM's Franka grasp frame sits at the hand base; its TCP is this far along +Z [m].
ACRONYM_TCP_OFFSET = 0.1034


@dataclass(frozen=True, eq=False)
class GraspFile:
    """The content of one per-object grasp file (arrays read-only)."""

    object_file: str
    scale: float
    transforms: np.ndarray  # (N, 4, 4) T_object_grasp
    success: np.ndarray  # (N,) bool
    source: str = SOURCE
    mass: float | None = None
    spec: dict | None = None
    kind: np.ndarray | None = None  # (N,) int8
    prefilter: np.ndarray | None = None  # (N,) int8
    view_points: np.ndarray | None = None  # (V, P, 3) object frame
    T_object_camera: np.ndarray | None = None  # (V, 4, 4)
    meta: dict = field(default_factory=dict)

    @property
    def positives(self) -> np.ndarray:
        """T_object_grasp of the successful grasps (M, 4, 4)."""
        return self.transforms[self.success]


def write_grasps(path: Path, data: GraspFile) -> None:
    """Write ``data`` to ``path`` atomically (temp file beside it, then rename)."""
    path = Path(path)
    n = len(data.transforms)
    if data.transforms.shape != (n, 4, 4) or data.success.shape != (n,):
        raise AcronymFormatError(
            f"{path}: transforms must be Nx4x4 and success N, got {data.transforms.shape} "
            f"and {data.success.shape}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f["object/file"] = data.object_file
            f["object/scale"] = float(data.scale)
            if data.mass is not None:
                f["object/mass"] = float(data.mass)
            if data.spec is not None:
                f["object/spec"] = json.dumps(data.spec)
            f.create_dataset("grasps/transforms", data=data.transforms.astype(np.float64))
            f[f"grasps/qualities/{data.source}/object_in_gripper"] = data.success.astype(np.int8)
            for name in ("kind", "prefilter"):
                value = getattr(data, name)
                if value is not None:
                    f[f"grasps/{name}"] = np.asarray(value, dtype=np.int8)
            if data.view_points is not None:
                f.create_dataset(
                    "views/points", data=data.view_points.astype(np.float32), compression="gzip"
                )
                f["views/T_object_camera"] = np.asarray(data.T_object_camera, dtype=np.float64)
            for key, value in data.meta.items():
                f.attrs[key] = json.dumps(value)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_grasps(path: Path, source: str | None = None, grasp_offset: float = 0.0) -> GraspFile:
    """Read an ACRONYM-layout file; ``source`` picks ``grasps/qualities/<source>`` (default:
    ``physics`` if present, else the only one, e.g. ACRONYM's ``flex``). ``grasp_offset`` [m]
    moves each grasp frame along its +Z (use :data:`ACRONYM_TCP_OFFSET` for ACRONYM files)."""
    path = Path(path)
    if not path.is_file():
        raise AcronymFormatError(f"grasp file not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise AcronymFormatError(f"{path}: not an HDF5 file: {exc}") from exc
    with f:
        for key in ("object/file", "object/scale", "grasps/transforms", "grasps/qualities"):
            if key not in f:
                raise AcronymFormatError(f"{path}: missing dataset {key!r} (ACRONYM layout)")
        sources = sorted(f["grasps/qualities"].keys())
        if source is None:
            source = SOURCE if SOURCE in sources else sources[0] if len(sources) == 1 else ""
        if source not in sources:
            raise AcronymFormatError(
                f"{path}: quality source {source!r} not found; available: {', '.join(sources)}"
            )
        T = np.asarray(f["grasps/transforms"], dtype=np.float64)
        q = np.asarray(f[f"grasps/qualities/{source}/object_in_gripper"])
        if T.ndim != 3 or T.shape[1:] != (4, 4) or q.shape != (len(T),):
            raise AcronymFormatError(
                f"{path}: grasps/transforms {T.shape} and qualities {q.shape} do not match Nx4x4 / N"
            )
        if grasp_offset:
            T = T.copy()
            T[:, :3, 3] += T[:, :3, 2] * grasp_offset

        def opt(key: str) -> np.ndarray | None:
            return readonly(np.asarray(f[key])) if key in f else None

        return GraspFile(
            object_file=_str(f["object/file"][()]),
            scale=float(f["object/scale"][()]),
            transforms=readonly(T),
            success=readonly(q > 0),
            source=source,
            mass=float(f["object/mass"][()]) if "object/mass" in f else None,
            spec=json.loads(_str(f["object/spec"][()])) if "object/spec" in f else None,
            kind=opt("grasps/kind"),
            prefilter=opt("grasps/prefilter"),
            view_points=opt("views/points"),
            T_object_camera=opt("views/T_object_camera"),
            meta={k: json.loads(_str(v)) for k, v in f.attrs.items()},
        )
