"""``grasp info``: what this install has: versions of the parts it is built on, the grasp
models with their shipped weights' held-out numbers, robots, graphs and work cells.

Reads package metadata and the model cards (JSON) only: nothing heavy is imported, so it
answers in well under a second.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from typing import Any

#: distribution name -> what it is, in the order shown
PARTS = {
    "grasp_bringup": "this package",
    "torch": "networks",
    "mujoco": "simulation",
    "open3d": "point clouds",
    "pin": "pinocchio kinematics",
    "coal": "collision",
    "ompl": "motion planning",
    "ruckig": "time parameterisation",
}


def version(dist: str) -> str | None:
    """The installed version of distribution ``dist`` (None when not installed)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def ros_source() -> str:
    """Which ROS 2 the nodes run on: a sourced system install or the distribution wheels."""
    distro = os.environ.get("ROS_DISTRO")
    if distro:
        return f"system ROS 2 {distro} (sourced)"
    rclpy = version("ros-rclpy")
    return f"ROS 2 Kilted wheels (rclpy {rclpy})" if rclpy else "no ROS 2 found"


def model_summary(name: str) -> str:
    """One line on model ``name``'s shipped weights: the held-out figure of its card."""
    from grasp_models.registry import shipped_weights

    card_path = shipped_weights(name).with_suffix(".json")
    if not card_path.is_file():
        return f"no shipped weights: train them (`grasp train --model {name} ...`)"
    card = json.loads(card_path.read_text())
    if name == "graspnet6dof":
        auc = {int(k): v for k, v in card.get("held_out", {}).get("auc_by_iteration", {}).items()}
        if not auc:
            return f"shipped ({card_path.name}), no held-out figure on its card"
        steps = max(auc)
        return (
            f"shipped sampler + evaluator: held-out success-coverage AUC {auc[steps]:.3f} "
            f"after {steps} refinement steps"
        )
    return planar_summary(card, card_path.with_suffix(".pt").name)


def planar_summary(card: dict, weights_name: str) -> str:
    """The line of a planar card: blind top-1 on its largest held-out set (``heldout``,
    measured after training on fresh draws), then on its own test set (``metrics``);
    until 2026-12-07 only the latter (52 images), under the larger sets' figure."""
    blind = card.get("metrics", {}).get("image", {})
    sets = [v for v in (card.get("heldout") or {}).values() if isinstance(v, dict)]
    sets = [v for v in sets if "image_top1" in v and "images" in v]
    if "top1" not in blind and not sets:
        return f"shipped ({weights_name}), no held-out figure on its card"
    parts = []
    if sets:
        big = max(sets, key=lambda v: v["images"])
        parts.append(f"{100 * big['image_top1']:.1f} % on blind crops ({big['images']} images)")
    if "top1" in blind:
        where = "its own test set" if sets else "blind crops"
        parts.append(f"{100 * blind['top1']:.1f} % on {where} ({blind.get('images', '?')} images)")
    return f"shipped {weights_name}: held-out top-1 " + "; ".join(parts)


def collect() -> dict[str, Any]:
    """Everything ``grasp info`` shows, as a JSON-able dict."""
    from grasp_bringup.graph import available_graphs
    from grasp_core.cell import shipped_layouts
    from grasp_core.paths import share_dir
    from grasp_models.registry import WEIGHTS_DIR, available
    from grasp_planning.robot import available_robots

    return {
        "share_dir": str(share_dir()),
        "python": platform.python_version(),
        "ros": ros_source(),
        "versions": {dist: version(dist) for dist in PARTS},
        "models": {name: model_summary(name) for name in available()},
        "weights_dir": str(WEIGHTS_DIR),
        "robots": available_robots(),
        "graphs": available_graphs(),
        "cells": shipped_layouts(),
    }


def format_info(info: dict[str, Any]) -> str:
    width = max(map(len, info["models"]))
    lines = [
        f"grasp_bringup {info['versions']['grasp_bringup'] or '(not installed)'}: "
        f"share directory {info['share_dir']}",
        f"python {info['python']}, {info['ros']}",
        "built on: "
        + ", ".join(
            f"{dist} {info['versions'][dist] or 'MISSING'} ({what})"
            for dist, what in PARTS.items()
            if dist != "grasp_bringup"
        ),
        f"grasp models (model:=NAME; weights in {info['weights_dir']}):",
        *(f"  {name:<{width}}  {text}" for name, text in info["models"].items()),
        f"robots: {', '.join(info['robots'])}",
        f"graphs (grasp launch GRAPH, ros2 launch grasp_bringup GRAPH.launch.py): "
        f"{', '.join(info['graphs'])}",
        f"work cells (cell:=FILE, relative to config/): {', '.join(info['cells'])}",
    ]
    return "\n".join(lines)
