"""Baxter's cell from camera to planned pick, without a Baxter simulator.

Baxter's cell camera (config/cells/baxter_table.yaml, frame ``base``) looks straight down
from 0.8 m above the table, like the Panda sim's overhead camera (same intrinsics, same
orientation, same height above the table top). A frame rendered in the Panda sim is
therefore a view of Baxter's table, shifted by the offset between the two cameras: each
frame is given Baxter's camera model and runs through the library code of the
baxter_grasp graph's nodes with the graph's parameters: perception (``segment``, the
crop box the node builds around the cell's workspace), the grasp model (``predict``, the
cell's workspace centre, as the detector node resolves it), and the
executor's steps for the left arm (Baxter's cell + perceived hulls, ``filter``,
``plan_pick`` with the embedded backend). Ground truth: the sim's object poses mapped
into ``base`` by the same offset.

Counts per scene: objects placed / found, the table height perception found, grasps
detected (all in ``base``), grasps within 3 cm (xy) of a true object centre, grasps the
filter keeps and why it drops the rest, whether one of the best 5 plans. The same again
with each predicted width capped at Baxter's gripper stroke (the models were trained for
the Panda hand's 8 cm; Baxter's electric gripper opens 4.17 cm in config/robots/
baxter.yaml): that separates "too wide for this gripper" from reach and collisions.

    nice -n 19 .venv/bin/python benchmarks/baxter_cell.py [--scenes 10 --objects 3 --seed 0]
        [--small --out benchmarks/results/baxter_cell_small.json]
Writes benchmarks/results/baxter_cell.json (or --out).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result

from grasp_bringup.graph import load_graph
from grasp_core.camera import CameraModel
from grasp_core.cell import load_layout, resolve_workspace_center
from grasp_core.frame import RGBDFrame
from grasp_models.base import GraspInput
from grasp_models.registry import load_model
from grasp_perception.params import PerceptionParams
from grasp_perception.segmentation import segment
from grasp_planning.backend import EmbeddedBackend
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import MotionPlanningError
from grasp_planning.pick import PickParams
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.world import add_cell, add_perceived_objects
from grasp_sim.objects import ObjectSpec, object_set
from grasp_sim.world import SimWorld


def graph_params(model: str) -> dict[str, dict]:
    graph = load_graph("baxter_grasp", {"camera": "topics", "model": model})
    return {n.name: dict(n.parameters) for n in graph.nodes}


def baxter_camera(sim_cam: CameraModel, T_base_camera: np.ndarray) -> CameraModel:
    """The sim camera's intrinsics with Baxter's mount (frame ``base``)."""
    return CameraModel.from_intrinsics(
        sim_cam.fx,
        sim_cam.fy,
        sim_cam.cx,
        sim_cam.cy,
        sim_cam.width,
        sim_cam.height,
        T_base_camera=T_base_camera,
        frame_id=sim_cam.frame_id,
        base_frame="base",
    )


def evaluate(
    backend: EmbeddedBackend, robot: RobotModel, grasps: list, reasons: Counter
) -> tuple[int, bool, str]:
    """The executor's steps from home: filter, then plan the best 5 until one plans.
    Returns (feasible grasps, planned, last planning error); counts rejection reasons."""
    report = backend.filter(grasps, robot.home)
    for _, r in report.rejected:
        reasons[r] += 1
    error = ""
    for ranked in report.ranked[:5]:
        try:
            backend.plan_pick(ranked, robot.home, PickParams())
            return len(report.ranked), True, ""
        except MotionPlanningError as exc:
            error = str(exc)
    return len(report.ranked), False, error


#: Objects narrower than Baxter's 4.17 cm stroke (``--small``): two boxes and a cylinder.
SMALL = (
    ObjectSpec("small_box_a", "box", (0.03, 0.05, 0.06), mass=0.1),
    ObjectSpec("small_cylinder", "cylinder", (0.015, 0.10), mass=0.08),
    ObjectSpec("small_box_b", "box", (0.025, 0.04, 0.05), mass=0.08),
)


def run(scenes: int, n_objects: int, seed: int, model_name: str, small: bool = False) -> dict:
    params = graph_params(model_name)
    ex_p, det_p, per_p = params["executor"], params["grasp_detector"], params["perception"]
    robot = RobotModel(load_robot(ex_p["robot"]))
    cell = load_layout(ex_p["cell_layout"], frame=robot.config.base_frame)
    T_base_cam = cell.cameras["overhead"].camera_model().T_base_camera
    perception = PerceptionParams.from_node_block(per_p)  # the crop box as the node's
    model = load_model(model_name, device="cpu")
    if hasattr(model, "workspace_center_base"):
        centre, _ = resolve_workspace_center(
            det_p["cell_layout"], det_p.get("workspace_center"), det_p["base_frame"]
        )
        model.workspace_center_base = tuple(float(v) for v in centre)
        model.depth_offset = None if det_p["adaptive_depth"] else det_p["depth_offset"]
    objects = list(SMALL[:n_objects]) if small else object_set("test", seed, count=n_objects)
    world = SimWorld(objects, seed=seed)
    sim_cam = world.layout.cameras["overhead"].camera_model()
    # sim frame (panda_link0) -> Baxter's base: the two overhead cameras coincide
    T_base_sim = T_base_cam @ np.linalg.inv(sim_cam.T_base_camera)
    rows = []
    reasons: Counter = Counter()
    reasons_capped: Counter = Counter()
    try:
        for s in range(scenes):
            world.reset(seed=seed + s)
            f = world.render("overhead")
            frame = RGBDFrame(
                depth=f.depth, camera=baxter_camera(f.camera, T_base_cam), color=f.color
            )
            truth = np.array([(T_base_sim @ T)[:3, 3] for T in world.object_poses().values()])
            t0 = time.perf_counter()
            seg = segment(frame, perception)
            grasps = model.predict(GraspInput(frame=frame), max_grasps=det_p["max_grasps"])
            grasps = [g for g in grasps if g.quality >= det_p["min_quality"]]
            scene = PlanningScene(robot, padding=ex_p["padding"])
            add_cell(scene, cell)
            pts, labels = seg.object_points()
            add_perceived_objects(scene, pts, labels, table_z=cell.table_top_z, q_robot=robot.home)
            backend = EmbeddedBackend(robot, scene, cell)
            feasible, planned, plan_error = evaluate(backend, robot, grasps, reasons)
            w_max = robot.gripper.max_width
            capped = [dataclasses.replace(g, width=min(g.width, w_max)) for g in grasps]
            feasible_c, planned_c, _ = evaluate(backend, robot, capped, reasons_capped)
            near = [
                float(np.min(np.linalg.norm(truth[:, :2] - g.pose[:2, 3], axis=1))) for g in grasps
            ]
            rows.append(
                {
                    "scene_seed": seed + s,
                    "objects_placed": len(truth),
                    "objects_on_table": int(sum(world.object_on_table(o.name) for o in objects)),
                    "objects_found": len(seg.objects),
                    "table_height_found": None
                    if seg.table_height is None
                    else round(seg.table_height, 4),
                    "grasps": len(grasps),
                    "grasps_in_base": sum(g.frame_id == "base" for g in grasps),
                    "grasps_within_3cm_of_an_object": sum(d <= 0.03 for d in near),
                    "grasp_widths_m": [round(float(g.width), 4) for g in grasps[:10]],
                    "feasible": feasible,
                    "pick_planned": planned,
                    "plan_error": plan_error,
                    "feasible_width_capped": feasible_c,
                    "pick_planned_width_capped": planned_c,
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
            print(rows[-1], flush=True)
    finally:
        world.close()
    total = {k: sum(r[k] for r in rows) for k in ("grasps", "grasps_within_3cm_of_an_object")}
    return {
        "model": model_name,
        "robot": f"{robot.config.name}/{robot.group.name}",
        "cell": cell.source,
        "scenes": scenes,
        "objects_per_scene": n_objects,
        "objects": [[o.name, o.kind, [round(v, 4) for v in o.size]] for o in objects],
        "seed": seed,
        "table_top_z": cell.table_top_z,
        "summary": {
            "scenes_with_objects_found": sum(r["objects_found"] > 0 for r in rows),
            "table_height_found_median": float(
                np.median([r["table_height_found"] for r in rows if r["table_height_found"]])
            )
            if any(r["table_height_found"] for r in rows)
            else None,
            "grasps": total["grasps"],
            "grasps_in_base": sum(r["grasps_in_base"] for r in rows),
            "grasps_within_3cm_of_an_object": total["grasps_within_3cm_of_an_object"],
            "feasible_grasps": sum(r["feasible"] for r in rows),
            "scenes_with_a_feasible_grasp": sum(r["feasible"] > 0 for r in rows),
            "scenes_with_a_planned_pick": sum(r["pick_planned"] for r in rows),
            "rejections": dict(reasons.most_common()),
            "width_capped": {
                "feasible_grasps": sum(r["feasible_width_capped"] for r in rows),
                "scenes_with_a_feasible_grasp": sum(r["feasible_width_capped"] > 0 for r in rows),
                "scenes_with_a_planned_pick": sum(r["pick_planned_width_capped"] for r in rows),
                "rejections": dict(reasons_capped.most_common()),
            },
            "gripper_max_width_m": robot.gripper.max_width,
        },
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="ggcnn")
    ap.add_argument(
        "--small", action="store_true", help="objects narrower than Baxter's gripper stroke"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    result = run(args.scenes, args.objects, args.seed, args.model, args.small)
    path = write_result("baxter_cell", result, args.out, torch_threads=args.threads)
    print(f"wrote {path}: {result['summary']}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    sys.exit(main())
