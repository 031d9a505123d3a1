"""Mesh objects: users' OBJ/STL files and pybullet_data's random_urdfs, convex-decomposed.

MuJoCo collides meshes as their convex hulls, so a concave mesh (a mug, a banana) is
split into convex parts with CoACD first. Parts are cached on disk under
``$GRASP_BRINGUP_CACHE`` (default ``~/.cache/grasp_bringup``)/``coacd/<key>/part_NNN.obj``
where ``key`` hashes the file's bytes and the decomposition settings, so a file is
decomposed once per machine; the cache entry is written to a temporary folder and renamed.

Third-party objects: the 1000 procedurally generated "random_urdfs" meshes shipped in the
``pybullet`` wheel (``pybullet_data/random_urdfs/NNN/NNN.obj``, zlib licence, as pybullet).
Each belongs to exactly one split, by a fixed hash of its id (80/10/10), independent of
any seed, so test meshes are never trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_sim.errors import ObjectError
from grasp_sim.objects import SPLITS, ObjectSpec, split_of

MESH_SUFFIXES = (".obj", ".stl")
#: Range [m] of the longest side random_urdfs objects are rescaled to.
LIBRARY_LONGEST_SIDE = (0.05, 0.13)
#: Density [kg/m^3] used for a mesh object's mass from its volume (clipped to 0.02-2 kg).
MESH_DENSITY = 500.0


@dataclass(frozen=True)
class DecompositionSettings:
    """CoACD settings (coarse and quick: grasping needs the rough shape, not detail)."""

    threshold: float = 0.08  # concavity tolerance (fraction of the mesh size)
    max_convex_hull: int = 16
    resolution: int = 1000
    mcts_iterations: int = 60
    mcts_max_depth: int = 2
    mcts_nodes: int = 10
    seed: int = 0


def cache_dir() -> Path:
    """Root of the on-disk cache (``$GRASP_BRINGUP_CACHE`` or ``~/.cache/grasp_bringup``)."""
    root = os.environ.get("GRASP_BRINGUP_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "grasp_bringup"


def _key(path: Path, settings: DecompositionSettings) -> str:
    h = hashlib.sha256(path.read_bytes())
    h.update(json.dumps(settings.__dict__, sort_keys=True).encode())
    return h.hexdigest()[:24]


def _load_trimesh(path: Path):
    import trimesh

    try:
        mesh = trimesh.load(str(path), force="mesh", process=True)
    except Exception as exc:  # trimesh raises many types for unreadable files
        raise ObjectError(f"{path}: cannot read mesh: {exc}") from exc
    if not hasattr(mesh, "faces") or len(mesh.faces) == 0:
        raise ObjectError(f"{path}: mesh has no faces")
    return mesh


def decompose(path: str | Path, settings: DecompositionSettings | None = None) -> list[Path]:
    """Convex parts (OBJ files, same units and frame as ``path``) of a mesh, cached."""
    import coacd
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise ObjectError(f"mesh file not found: {path}")
    settings = settings or DecompositionSettings()
    out = cache_dir() / "coacd" / _key(path, settings)
    if (out / "parts.json").is_file():
        names = json.loads((out / "parts.json").read_text())["parts"]
        return [out / n for n in names]
    mesh = _load_trimesh(path)
    coacd.set_log_level("error")
    parts = coacd.run_coacd(
        coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)),
        threshold=settings.threshold,
        max_convex_hull=settings.max_convex_hull,
        resolution=settings.resolution,
        mcts_iterations=settings.mcts_iterations,
        mcts_max_depth=settings.mcts_max_depth,
        mcts_nodes=settings.mcts_nodes,
        seed=settings.seed,
    )
    if not parts:
        raise ObjectError(f"{path}: convex decomposition produced no parts")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp_", dir=out.parent))
    names = []
    for i, (v, f) in enumerate(parts):
        name = f"part_{i:03d}.obj"
        trimesh.Trimesh(np.asarray(v), np.asarray(f)).export(str(tmp / name))
        names.append(name)
    (tmp / "parts.json").write_text(json.dumps({"source": str(path), "parts": names}))
    try:
        os.replace(tmp, out)
    except OSError:  # another process cached it first
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]


def mesh_object(
    path: str | Path,
    name: str | None = None,
    scale: float = 1.0,
    mass: float | None = None,
    rgba: tuple[float, float, float, float] = (0.6, 0.6, 0.65, 1.0),
    friction: float = 0.8,
    source: str = "user",
    split: str = "",
    settings: DecompositionSettings | None = None,
) -> ObjectSpec:
    """An :class:`ObjectSpec` of kind ``mesh`` from one OBJ/STL file (``scale``: file units
    to metres). The object frame is the bounding-box centre of the scaled mesh, axes as in
    the file. ``mass`` [kg] defaults to the hull volume times 500 kg/m^3."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ObjectError(f"{path}: unsupported mesh type; use one of {', '.join(MESH_SUFFIXES)}")
    if not np.isfinite(scale) or scale <= 0:
        raise ObjectError(f"{path}: scale must be a positive number, got {scale!r}")
    mesh = _load_trimesh(path)
    lo, hi = np.asarray(mesh.bounds) * scale
    if mass is None:
        volume = float(mesh.convex_hull.volume) * scale**3
        mass = float(np.clip(MESH_DENSITY * volume, 0.02, 2.0))
    parts = decompose(path, settings)
    return ObjectSpec(
        name=name or path.stem,
        kind="mesh",
        size=tuple(float(x) for x in np.maximum(hi - lo, 1e-4)),
        mass=mass,
        rgba=rgba,
        friction=friction,
        mesh_parts=tuple(str(p) for p in parts),
        mesh_offset=tuple(float(x) for x in (lo + hi) / 2),
        scale=float(scale),
        source=source if source != "user" else f"user:{path}",
        split=split,
    )


def load_mesh_objects(path: str | Path, scale: float = 1.0) -> list[ObjectSpec]:
    """Objects from an OBJ/STL file or every such file under a folder (sorted), named by
    file stem (made unique with the parent folder when two files share a stem)."""
    path = Path(path).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in MESH_SUFFIXES)
        if not files:
            raise ObjectError(f"{path}: no {'/'.join(MESH_SUFFIXES)} files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise ObjectError(f"mesh path not found: {path}")
    stems = [f.stem for f in files]
    out = []
    for f in files:
        name = f.stem if stems.count(f.stem) == 1 else f"{f.parent.name}_{f.stem}"
        out.append(mesh_object(f, name=name, scale=scale))
    return out


def random_urdfs_dir() -> Path:
    """``pybullet_data/random_urdfs`` of the installed pybullet wheel."""
    try:
        import pybullet_data
    except ImportError as exc:
        raise ObjectError("pybullet is not installed (pip install pybullet)") from exc
    d = Path(pybullet_data.getDataPath()) / "random_urdfs"
    if not d.is_dir():
        raise ObjectError(f"pybullet_data has no random_urdfs folder at {d}")
    return d


def library_ids(split: str) -> list[str]:
    """Ids (``"000"``..``"999"``) of the random_urdfs meshes in ``split`` (fixed partition)."""
    if split not in SPLITS:
        raise ObjectError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    ids = sorted(p.name for p in random_urdfs_dir().iterdir() if p.is_dir())
    return [i for i in ids if split_of(f"random_urdfs/{i}", seed=0) == split]


def _urdf_scale_and_mass(urdf: Path) -> tuple[float, float]:
    text = urdf.read_text()
    s = re.search(r'scale="([\d.eE+-]+)', text)
    m = re.search(r'<mass value="([\d.eE+-]+)"', text)
    return (float(s.group(1)) if s else 1.0, float(m.group(1)) if m else 0.1)


def library_objects(
    split: str, seed: int = 0, limit: int | None = None, ids: Sequence[str] | None = None
) -> list[ObjectSpec]:
    """random_urdfs mesh objects of ``split`` in a seeded order (first ``limit`` of them;
    each is decomposed on first use, a few seconds each, then cached)."""
    pool = library_ids(split) if ids is None else list(ids)
    order = np.random.default_rng([int(seed), SPLITS.index(split), 0x4D]).permutation(len(pool))
    chosen = [pool[i] for i in order[: len(pool) if limit is None else int(limit)]]
    root = random_urdfs_dir()
    out = []
    for i in chosen:
        _, mass = _urdf_scale_and_mass(root / i / f"{i}.urdf")
        rng = np.random.default_rng(int(i))
        rgba = (*rng.uniform(0.2, 0.9, 3).tolist(), 1.0)
        # As shipped the blobs are 9-13 cm across (too big for the Panda's 8 cm stroke);
        # rescale each (seeded by its id) so its longest side is 5-13 cm.
        extent = float(np.max(np.ptp(_load_trimesh(root / i / f"{i}.obj").vertices, axis=0)))
        scale = float(rng.uniform(*LIBRARY_LONGEST_SIDE)) / extent
        out.append(
            mesh_object(
                root / i / f"{i}.obj",
                name=f"rand_{i}",
                scale=scale,
                mass=mass,
                rgba=rgba,  # type: ignore[arg-type]
                source=f"pybullet_data/random_urdfs/{i}",
                split=split,
            )
        )
    return out
