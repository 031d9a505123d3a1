"""Seeded test scenes and grasp candidates shared by the tests and the benchmarks.

A cluttered table (boxes and cylinders in the sim's drop area) and candidate grasps around
those objects: top-down or tilted approaches with random yaw, a share of them deliberately
bad (too wide, below the table, out of reach).
"""

from __future__ import annotations

import numpy as np

from grasp_core.cell import CellLayout, load_layout
from grasp_core.grasp import Grasp
from grasp_core.se3 import make_transform, rot_x, rot_y, rot_z
from grasp_planning.collision import PlanningScene
from grasp_planning.robot import RobotModel
from grasp_planning.world import add_cell

#: TCP orientation of a top-down grasp: +Z (approach) pointing down.
R_DOWN = rot_x(np.pi)


def cluttered_scene(
    robot: RobotModel,
    rng: np.random.Generator,
    n_objects: int = 5,
    layout: CellLayout | None = None,
) -> tuple[PlanningScene, list[str]]:
    """Table, bin and ``n_objects`` non-overlapping boxes/cylinders in the layout's
    workspace (3 cm in from its x ends, 2 cm from its y ends; Panda cell: x 0.38-0.62 m,
    y -0.18-0.18 m); returns the scene and the object names."""
    layout = layout or load_layout()
    x0, x1 = layout.workspace_x[0] + 0.03, layout.workspace_x[1] - 0.03
    y0, y1 = layout.workspace_y[0] + 0.02, layout.workspace_y[1] - 0.02
    scene = PlanningScene(robot)
    add_cell(scene, layout)
    names: list[str] = []
    centers: list[np.ndarray] = []
    tries = 0
    while len(names) < n_objects and tries < 200:
        tries += 1
        c = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        if any(np.linalg.norm(c - o) < 0.11 for o in centers):
            continue
        h = rng.uniform(0.04, 0.12)
        name = f"object_{len(names)}"
        if rng.random() < 0.5:
            sx, sy = rng.uniform(0.03, 0.06, size=2)
            T = make_transform(
                rot_z(rng.uniform(-np.pi, np.pi)), [c[0], c[1], layout.table_top_z + h / 2]
            )
            scene.add_box(name, (sx, sy, h), T)
        else:
            T = make_transform(t=[c[0], c[1], layout.table_top_z + h / 2])
            scene.add_cylinder(name, rng.uniform(0.015, 0.03), h, T)
        names.append(name)
        centers.append(c)
    return scene, names


def grasp_candidates(
    scene: PlanningScene,
    names: list[str],
    n: int,
    rng: np.random.Generator,
    bad_fraction: float = 0.15,
) -> list[Grasp]:
    """``n`` candidates on the named objects: TCP ``0.01-0.03`` m below the object top,
    approach tilted up to 30 deg from vertical, random yaw; ``bad_fraction`` of them are
    too wide, inside the table or out of reach."""
    out = []
    objs = scene.objects
    for i in range(n):
        o = objs[names[i % len(names)]]
        top = o.aabb_max[2]
        p = np.array([*o.center[:2], top - rng.uniform(0.01, 0.03)])
        R = rot_z(rng.uniform(-np.pi, np.pi)) @ rot_y(rng.uniform(-0.5, 0.5)) @ R_DOWN
        width = rng.uniform(0.04, 0.075)
        if rng.random() < bad_fraction:
            kind = rng.integers(3)
            if kind == 0:
                width = 0.12
            elif kind == 1:
                p[2] = -0.05
            else:
                p[:2] = [1.4, 0.0]
        out.append(
            Grasp(
                pose=make_transform(R, p),
                width=width,
                quality=float(rng.uniform(0.3, 1.0)),
                model="scenario",
            )
        )
    return out
