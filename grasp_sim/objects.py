"""Object library: immutable object specs, seeded procedural objects and named splits.

Object frame convention (every kind): origin at the centre of the object's axis-aligned
bounding box, +Z up in the object's natural resting pose (a mug stands on its bottom, a
capsule lies on its side along +X). ``size`` holds full extents in metres, per kind:

=========  ===========================================  =====================================
kind       ``size``                                     shape
=========  ===========================================  =====================================
box        (sx, sy, sz)                                 solid box
cylinder   (radius, height)                             upright cylinder
sphere     (radius,)                                    sphere
capsule    (radius, length)                             capsule lying along +X, total length
bottle     (radius, height, neck_radius)                cylinder body + neck (upright)
mug        (radius, height, wall)                       open cup + handle on +X
bowl       (radius, height, wall)                       open bowl, flat bottom
mesh       (sx, sy, sz) bounding box after ``scale``    convex parts (CoACD) of a user mesh
=========  ===========================================  =====================================

``object_set(split, seed)`` draws objects from a per-(seed, split, index) random stream, so
a split is reproducible from its seed, a longer set extends a shorter one, and the three
splits never share an object (their names differ and their sizes are drawn independently;
mesh objects are partitioned by file so a mesh is in exactly one split).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grasp_core.validation import require_choice, require_range
from grasp_sim.errors import ObjectError

KINDS = ("box", "cylinder", "sphere", "capsule", "bottle", "mug", "bowl", "mesh")
PRIMITIVE_KINDS = ("box", "cylinder", "sphere", "capsule", "bottle", "mug", "bowl")
SPLITS = ("train", "val", "test")
#: Number of ``size`` entries per kind.
SIZE_LEN = {
    "box": 3,
    "cylinder": 2,
    "sphere": 1,
    "capsule": 2,
    "bottle": 3,
    "mug": 3,
    "bowl": 3,
    "mesh": 3,
}
#: Objects per split when ``count`` is None (primitives; mesh objects: all of the split).
DEFAULT_COUNT = {"train": 200, "val": 40, "test": 40}
#: With ``max_grasp_width``, how many stream draws per requested object before giving up.
_MAX_DRAWS_PER_OBJECT = 50


@dataclass(frozen=True)
class ObjectSpec:
    """An object the simulator can build: shape, size [m], mass [kg], colour.

    ``mesh_parts`` are convex collision pieces (OBJ files, in the object frame before
    ``scale``) for ``kind == "mesh"``; ``visual_mesh`` the original mesh for rendering;
    ``mesh_offset`` [m] is subtracted from mesh vertices (after scaling) so the object
    frame sits at the bounding-box centre. ``source`` says where it came from.
    """

    name: str
    kind: str
    size: tuple[float, ...]
    mass: float = 0.1
    rgba: tuple[float, float, float, float] = (0.8, 0.3, 0.2, 1.0)
    friction: float = 1.0
    mesh_parts: tuple[str, ...] = ()
    visual_mesh: str | None = None
    mesh_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0
    source: str = "procedural"
    split: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ObjectError(f"ObjectSpec.name: expected a non-empty string, got {self.name!r}")
        try:
            require_choice(f"ObjectSpec({self.name}).kind", self.kind, KINDS)
        except ValueError as exc:
            raise ObjectError(str(exc)) from exc
        size = tuple(float(s) for s in self.size)
        if len(size) != SIZE_LEN[self.kind]:
            raise ObjectError(
                f"ObjectSpec({self.name}).size: kind {self.kind!r} takes "
                f"{SIZE_LEN[self.kind]} values, got {len(size)}"
            )
        for i, s in enumerate(size):
            _check(f"ObjectSpec({self.name}).size[{i}]", s, 1e-4, 2.0)
        object.__setattr__(self, "size", size)
        _check(f"ObjectSpec({self.name}).mass", self.mass, 1e-4, 50.0)
        _check(f"ObjectSpec({self.name}).scale", self.scale, 1e-4, 1e3)
        _check(f"ObjectSpec({self.name}).friction", self.friction, 0.01, 5.0)
        rgba = tuple(float(c) for c in self.rgba)
        if len(rgba) != 4 or not all(0.0 <= c <= 1.0 for c in rgba):
            raise ObjectError(f"ObjectSpec({self.name}).rgba: expected 4 values in [0, 1]")
        object.__setattr__(self, "rgba", rgba)
        object.__setattr__(self, "mesh_parts", tuple(str(p) for p in self.mesh_parts))
        if self.kind == "mesh" and not self.mesh_parts:
            raise ObjectError(f"ObjectSpec({self.name}): a mesh object needs mesh_parts")
        if self.kind in ("mug", "bowl") and size[2] * 2 >= size[0]:
            raise ObjectError(f"ObjectSpec({self.name}).size: wall must be < radius / 2")

    @property
    def half_extents(self) -> np.ndarray:
        """Half sizes [m] of the bounding box in the object frame (handle included)."""
        s = self.size
        k = self.kind
        if k in ("box", "mesh"):
            return np.array(s) / 2
        if k == "sphere":
            return np.array([s[0]] * 3)
        if k == "capsule":
            return np.array([s[1] / 2, s[0], s[0]])
        if k == "mug":
            r, h, _ = s
            return np.array([r + _handle_reach(r, h) / 2, r, h / 2])
        return np.array([s[0], s[0], s[1] / 2])  # cylinder, bottle, bowl

    @property
    def min_grasp_width(self) -> float | None:
        """Narrowest top-down parallel-jaw grasp of the object resting upright [m]: across
        a box's shorter side, a cylinder's, sphere's or capsule's diameter, a bottle's
        neck, a mug's or bowl's wall (a rim grasp); None for meshes (not computed)."""
        s, k = self.size, self.kind
        if k == "box":
            return float(min(s[0], s[1]))
        if k in ("cylinder", "sphere", "capsule"):
            return 2.0 * float(s[0])
        if k == "bottle":
            return 2.0 * float(s[2])
        if k in ("mug", "bowl"):
            return float(s[2])
        return None

    @property
    def radius(self) -> float:
        """Radius [m] of the bounding circle in the XY plane (for non-overlapping drops)."""
        h = self.half_extents
        return float(np.hypot(h[0], h[1]))

    @property
    def is_mesh(self) -> bool:
        return self.kind == "mesh"


def _handle_reach(radius: float, height: float) -> float:
    """How far a mug's handle sticks out [m]; the bounding box grows by that on +X only,
    so the box is shifted: see :func:`grasp_sim.builder.mug_offset`."""
    return min(0.035, 0.5 * height)


def _check(name: str, value: float, lo: float, hi: float) -> None:
    try:
        require_range(name, value, lo, hi)
    except ValueError as exc:
        raise ObjectError(str(exc)) from exc


def _colour(rng: np.random.Generator) -> tuple[float, float, float, float]:
    hue = rng.uniform(0, 1)
    # HSV -> RGB with saturation 0.7, value 0.85: distinct from the grey table
    i = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    v, s = 0.85, 0.7
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return (r, g, b, 1.0)


def _mass(volume: float, rng: np.random.Generator) -> float:
    density = rng.uniform(300.0, 900.0)  # kg/m^3: plastic/wood/filled containers
    return float(np.clip(density * volume, 0.02, 1.5))


def random_primitive(kind: str, rng: np.random.Generator, name: str, split: str = "") -> ObjectSpec:
    """One procedural object of ``kind`` with seeded random size (some wider than the
    8 cm Panda stroke, most graspable)."""
    u = rng.uniform
    if kind == "box":
        size: tuple[float, ...] = (u(0.02, 0.11), u(0.02, 0.11), u(0.02, 0.10))
        vol = float(np.prod(size))
    elif kind == "cylinder":
        r, h = u(0.012, 0.05), u(0.03, 0.15)
        size, vol = (r, h), np.pi * r * r * h
    elif kind == "sphere":
        r = u(0.015, 0.045)
        size, vol = (r,), 4 / 3 * np.pi * r**3
    elif kind == "capsule":
        r = u(0.01, 0.035)
        length = u(2.5 * r, 0.16)
        size, vol = (r, length), np.pi * r * r * (length - 2 * r) + 4 / 3 * np.pi * r**3
    elif kind == "bottle":
        r, h = u(0.02, 0.045), u(0.12, 0.24)
        size, vol = (r, h, u(0.35, 0.55) * r), np.pi * r * r * h * 0.8
    elif kind == "mug":
        r, h = u(0.03, 0.05), u(0.07, 0.12)
        w = u(0.003, 0.006)
        size, vol = (r, h, w), 2 * np.pi * r * w * h + np.pi * r * r * w
    elif kind == "bowl":
        r, h = u(0.05, 0.09), u(0.04, 0.07)
        w = u(0.003, 0.006)
        size, vol = (r, h, w), 2 * np.pi * r * w * h + np.pi * r * r * w
    else:
        raise ObjectError(f"random_primitive: kind {kind!r} is not one of {PRIMITIVE_KINDS}")
    return ObjectSpec(
        name=name,
        kind=kind,
        size=tuple(float(x) for x in size),
        mass=_mass(float(vol), rng),
        rgba=_colour(rng),
        friction=float(u(0.6, 1.0)),
        split=split,
    )


def _stream(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), SPLITS.index(split), int(index), 0x51A])


def split_of(key: str, seed: int = 0, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> str:
    """Deterministic split of a named item (a mesh file): hash of (seed, key) into
    ``train``/``val``/``test`` with the given fractions."""
    h = zlib.crc32(f"{seed}:{key}".encode()) / 2**32
    edges = np.cumsum(fractions) / np.sum(fractions)
    return SPLITS[int(np.searchsorted(edges, h, side="right").clip(0, 2))]


def object_set(
    split: str,
    seed: int = 0,
    count: int | None = None,
    kinds: Sequence[str] | None = None,
    max_grasp_width: float | None = None,
) -> list[ObjectSpec]:
    """A named, seeded object split.

    ``kinds`` defaults to all primitive kinds (no decomposition needed); include ``"mesh"``
    to add the split's share of the third-party mesh objects (pybullet_data random_urdfs,
    decomposed and cached on first use; see :mod:`grasp_sim.meshes`). Objects cycle through
    ``kinds`` in order; object ``i`` is the same for any ``count > i``.

    ``max_grasp_width`` [m] keeps only primitives whose narrowest top-down grasp
    (:attr:`ObjectSpec.min_grasp_width`) is at most that wide: the objects a gripper of
    that stroke (less its clearance) can hold. The others are skipped, not redrawn, so the
    kept objects are the same objects, with the same names, as in the unfiltered split,
    and the split stays disjoint from the others; ``count`` then counts kept objects.
    Mesh objects are kept (their narrowest grasp is not computed).
    """
    try:
        require_choice("object_set split", split, SPLITS)
    except ValueError as exc:
        raise ObjectError(str(exc)) from exc
    kinds = tuple(kinds) if kinds is not None else PRIMITIVE_KINDS
    if not kinds:
        raise ObjectError("object_set kinds: expected at least one kind")
    for k in kinds:
        if k not in KINDS:
            raise ObjectError(f"object_set kinds: {k!r} is not one of {', '.join(KINDS)}")
    if count is not None and (int(count) != count or count < 0):
        raise ObjectError(f"object_set count: expected a non-negative integer, got {count!r}")
    if max_grasp_width is not None:
        _check("object_set max_grasp_width", max_grasp_width, 1e-3, 2.0)
    prim = [k for k in kinds if k != "mesh"]
    n = DEFAULT_COUNT[split] if count is None else int(count)
    meshes: list[ObjectSpec] = []
    if "mesh" in kinds:
        from grasp_sim.meshes import library_objects  # heavy: trimesh + coacd

        slots = sum(kinds[i % len(kinds)] == "mesh" for i in range(n))
        meshes = library_objects(split, seed=seed, limit=None if count is None else slots)
    out: list[ObjectSpec] = []
    mi = 0
    # with a width limit, look further down the streams for objects that fit (bounded:
    # a limit no object of the kinds can meet must fail, not loop)
    limit = n if max_grasp_width is None else _MAX_DRAWS_PER_OBJECT * max(n, 1)
    for i in range(limit):
        if len(out) >= n:
            break
        kind = kinds[i % len(kinds)]
        if kind == "mesh":
            if mi >= len(meshes):
                continue
            out.append(meshes[mi])
            mi += 1
            continue
        if not prim:
            continue
        rng = _stream(seed, split, i)
        spec = random_primitive(kind, rng, f"{split}_{i:04d}_{kind}", split=split)
        if max_grasp_width is not None and spec.min_grasp_width > max_grasp_width:
            continue
        out.append(spec)
    if max_grasp_width is not None and len(out) < n and prim:
        raise ObjectError(
            f"object_set({split!r}, seed={seed}, kinds={list(kinds)}): only {len(out)} of "
            f"{n} objects within max_grasp_width {max_grasp_width} m in the first {limit} "
            "draws; raise the limit or add kinds"
        )
    return out
