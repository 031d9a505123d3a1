"""Synthetic Cornell-format grasp datasets rendered by the MuJoCo simulator (grasp_sim).

Each labelled image shows one object of the chosen split, dropped on the table at a
seeded random pose and seen by the overhead camera. Top-down grasp candidates (centre on
the object, any closing angle) are proposed by the geometric antipodal check of
:mod:`grasp_models.datasets.labelling`. With ``labeller="physics"`` (the default) every
written label comes from a physics grasp trial (``grasp_sim.trial.run_grasp_trials``, the
object on a table in the pose the camera saw): the geometric positives and up to
``trial_negatives`` geometric negatives are trialled, successes are written as positives
(a geometric negative that holds becomes one, with the width the fingers closed to plus
the clearance), failures as negatives; untrialled candidates are not written.
``labeller="geometric"`` writes the geometric labels as they are. Files follow the Cornell
layout (``pcdNNNNcpos.txt``, ``pcdNNNNcneg.txt``, ``pcdNNNNd.tiff`` float32 metres,
``pcdNNNNr.png``) plus ``objects.txt`` (image -> object), ``camera.json`` and
``labels.jsonl`` (per image: trialled and flipped counts; summed in ``manifest.json``), so
:class:`~grasp_models.datasets.CornellDataset` reads them. Unlabelled images (further
objects, empty ``cpos``) serve the semi-supervised VQ-VAE.

Generation is seeded and resumable: an image whose ``cpos`` file exists is skipped, and
every file is written to a temporary name and renamed (``cpos`` last). ``shards``
processes (``shard`` 0..shards-1) can render one dataset together; each image depends
only on the seed, its object and view. A last run with ``shards=1`` (nothing left to
render) writes the manifest of the whole set.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from grasp_core import GraspRect
from grasp_core.errors import ValidationError
from grasp_core.files import atomic_write_bytes
from grasp_core.validation import require_choice, require_range
from grasp_models.checkpoint import save_json
from grasp_models.datasets.labelling import (
    GripperGeometry,
    height_map,
    label_candidates,
    sample_candidates,
    thin_rects,
)
from grasp_models.errors import DatasetError

LABELLERS = ("physics", "geometric")
#: Per-image physics-labelling counts kept in ``labels.jsonl`` and summed in the manifest.
PHYSICS_COUNTS = ("trialled_positive", "trialled_negative", "positive_failed", "negative_succeeded")


@dataclass(frozen=True)
class SynthConfig:
    """``objects`` labelled objects x ``views`` poses each, plus ``unlabelled`` objects with
    ``unlabelled_views`` unlabelled views each, views ``unlabelled_first_view`` onward
    (objects after the labelled ones in the same split).
    ``objects=0`` writes an unlabelled-only set: more images for the VQ-VAE alone. Its
    objects are then the split's first ones for ``seed``, the objects of a labelled set
    made with that seed; ``unlabelled_first_view`` = that set's ``views`` renders new
    poses of them (unlabelled images of the objects a robot will meet)."""

    out: str
    split: str = "train"
    objects: int = 100
    views: int = 2
    unlabelled: int = 0
    unlabelled_views: int = 1
    unlabelled_first_view: int = 0
    seed: int = 0
    candidates: int = 800
    max_positives: int = 30
    # 120/120 since 2026-12-06 (30/30 before): more trials find more of the grasps that
    # hold where the antipodal check finds none (benchmarks/results/planar_neg120_labels.plan.md)
    max_negatives: int = 120
    labeller: str = "physics"
    trial_negatives: int = 120  # geometric negatives trialled per view (at most max_negatives)
    depth_noise: bool = False
    kinds: tuple[str, ...] | None = None
    shard: int = 0  # this process renders the images whose number % shards == shard
    shards: int = 1

    def __post_init__(self) -> None:
        require_choice("split", self.split, ("train", "val", "test"))
        require_choice("labeller", self.labeller, LABELLERS)
        require_range("objects", self.objects, 0, None)
        require_range("views", self.views, 1, None)
        require_range("unlabelled", self.unlabelled, 0, None)
        require_range("unlabelled_views", self.unlabelled_views, 1, None)
        require_range("unlabelled_first_view", self.unlabelled_first_view, 0, None)
        if self.objects + self.unlabelled == 0:
            raise ValidationError("objects, unlabelled: both 0, so there is no image to write")
        require_range("max_negatives", self.max_negatives, 0, None)
        require_range("trial_negatives", self.trial_negatives, 0, None)
        if self.trial_negatives > self.max_negatives:
            raise ValidationError(
                f"trial_negatives: {self.trial_negatives} > max_negatives "
                f"{self.max_negatives}; the trialled negatives are taken from the kept "
                "ones, so raise max_negatives too"
            )
        require_range("shards", self.shards, 1, None)
        require_range("shard", self.shard, 0, self.shards, high_inclusive=False)


def corners_text(rects: list[GraspRect]) -> str:
    """Cornell rectangle lines: four ``x y`` corners, the first edge along the opening."""
    lines = []
    for r in rects:
        lines.extend(f"{u:.2f} {v:.2f}" for u, v in r.corners())
    return "\n".join(lines) + ("\n" if lines else "")


def _atomic_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def _atomic_image(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(path.suffix, image)
    if not ok:
        raise DatasetError(f"cannot encode {path}")
    atomic_write_bytes(path, buf.tobytes())


def write_cornell_image(
    root: Path,
    num: int,
    depth: np.ndarray,
    rgb: np.ndarray | None,
    positives: list[GraspRect],
    negatives: list[GraspRect],
) -> None:
    """Write one image in the Cornell layout (``cpos`` last, so its presence means done)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stem = root / f"pcd{num:04d}"
    _atomic_image(Path(f"{stem}d.tiff"), np.asarray(depth, dtype=np.float32))
    if rgb is not None:
        _atomic_image(Path(f"{stem}r.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    _atomic_text(Path(f"{stem}cneg.txt"), corners_text(negatives))
    _atomic_text(Path(f"{stem}cpos.txt"), corners_text(positives))


def label_view(
    depth: np.ndarray,
    seg: np.ndarray,
    fx: float,
    rng: np.random.Generator,
    cfg: SynthConfig,
    gripper: GripperGeometry | None = None,
) -> tuple[list[GraspRect], list[GraspRect], dict]:
    """Positive and negative rectangles of one rendered view (geometric labels) from the
    clean depth [m] and the segmentation (object index, -1 elsewhere)."""
    gripper = gripper or GripperGeometry()
    table = depth[(seg < 0) & (depth > 0)]
    if table.size == 0:
        raise DatasetError("rendered view shows no table pixels")
    table_depth = float(np.median(table))
    px_per_m = fx / table_depth
    h = height_map(depth, table_depth)
    h[seg < 0] = 0.0  # only the object counts (the bin and robot stay out of the crop)
    centers, angles = sample_candidates(h, rng, cfg.candidates, gripper.min_height)
    if len(centers) == 0:
        return [], [], {"table_depth": table_depth, "candidates": 0}
    ok, opening = label_candidates(h, centers, angles, px_per_m, gripper)
    jaw = gripper.finger_width * px_per_m
    pos, neg = [], []
    for c, a, good, w in zip(centers, angles, ok, opening, strict=True):
        width = (
            float(np.clip(w, 4.0, gripper.max_opening * px_per_m))
            if good
            else float(gripper.max_opening * px_per_m * 0.6)
        )
        rect = GraspRect((float(c[0]), float(c[1])), float(a), width, max(0.5 * width, jaw))
        (pos if good else neg).append(rect)
    stats = {"table_depth": table_depth, "candidates": len(centers), "positive": int(ok.sum())}
    pos = thin_rects(pos, min_dist=4.0, min_angle=math.radians(15), limit=cfg.max_positives)
    neg = thin_rects(neg, min_dist=4.0, min_angle=math.radians(15), limit=cfg.max_negatives)
    return pos, neg, stats


def physics_available() -> bool:
    return importlib.util.find_spec("grasp_sim.trial") is not None


def _trial_pose_of(world, name: str) -> np.ndarray:
    """T_table_object of a SimWorld object for an ``on_table`` trial (table top at z = 0)."""
    T = np.array(world.object_pose(name), dtype=np.float64)
    T[2, 3] -= world.layout.table_top_z
    return T


def physics_labels(
    world,
    obj,
    frame,
    positives: list[GraspRect],
    negatives: list[GraspRect],
    seed: int,
    px_per_m: float,
    gripper: GripperGeometry | None = None,
) -> tuple[list[GraspRect], list[GraspRect], dict]:
    """Labels of the trialled rectangles (geometric ``positives`` + ``negatives``) by
    physics trials of top-down grasps on ``obj`` in ``world``'s current pose: successes
    are positives, failures negatives. A geometric negative that holds gets the width the
    fingers closed to plus twice the clearance, at ``px_per_m`` [px/m] (table depth).
    Trial ``i`` uses seed ``seed + i``. Returns the counts alongside."""
    from grasp_core.se3 import invert
    from grasp_models.planar.processing import rects_to_grasps
    from grasp_sim.trial import run_grasp_trials

    gripper = gripper or GripperGeometry()
    rects = [*positives, *negatives]
    counts = {
        "trialled_positive": len(positives),
        "trialled_negative": len(negatives),
        "positive_failed": 0,
        "negative_succeeded": 0,
    }
    if not rects:
        return [], [], counts
    # TCP half way down the object's top, at most 3 cm below it: the rule inference uses
    grasps = rects_to_grasps(rects, frame.depth, frame.camera, model="", depth_offset=None)
    if len(grasps) != len(rects):
        raise DatasetError("a label rectangle has no valid depth between its jaws")
    T_world_object = _trial_pose_of(world, obj.name)
    T_object_base = invert(np.asarray(world.object_pose(obj.name)))
    results = run_grasp_trials(
        obj,
        np.stack([T_object_base @ g.pose for g in grasps]),
        seed=seed,
        on_table=True,
        T_world_object=T_world_object,
    )
    pos, neg = [], []
    for k, (rect, res) in enumerate(zip(rects, results, strict=True)):
        geometric_positive = k < len(positives)
        if res.success and not geometric_positive:
            width = (res.width_after_close + 2 * gripper.clearance) * px_per_m
            width = float(np.clip(width, 4.0, gripper.max_opening * px_per_m))
            jaw = gripper.finger_width * px_per_m
            rect = replace(rect, width=width, length=max(0.5 * width, jaw))
            counts["negative_succeeded"] += 1
        elif not res.success and geometric_positive:
            counts["positive_failed"] += 1
        (pos if res.success else neg).append(rect)
    return pos, neg, counts


def label_totals(path: Path, images: set[int]) -> dict:
    """Sums of the per-image label counts in ``labels.jsonl`` (the last line per image,
    so a resumed run counts each image once)."""
    last: dict[int, dict] = {}
    if path.is_file():
        for text in path.read_text().splitlines():
            if text.strip():
                row = json.loads(text)
                if row["image"] in images:
                    last[row["image"]] = row
    keys = ("positives", "negatives", *PHYSICS_COUNTS)
    totals = {f"{k}_written" if k in ("positives", "negatives") else k: 0 for k in keys}
    for row in last.values():
        for k in keys:
            totals[f"{k}_written" if k in ("positives", "negatives") else k] += int(row.get(k, 0))
    totals["images_counted"] = len(last)
    return totals


def generate(cfg: SynthConfig, progress: bool = True) -> dict:
    """Render and label the dataset into ``cfg.out``; returns the manifest it writes."""
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    if cfg.labeller == "physics" and not physics_available():
        raise DatasetError("labeller 'physics' needs grasp_sim.trial, which is not installed")
    root = Path(cfg.out)
    root.mkdir(parents=True, exist_ok=True)
    kinds = list(cfg.kinds) if cfg.kinds else None
    objs = object_set(cfg.split, seed=cfg.seed, count=cfg.objects + cfg.unlabelled, kinds=kinds)
    plan = []  # (image number, object index, view, labelled)
    for i in range(cfg.objects):
        plan.extend((i * cfg.views + v, i, v, True) for v in range(cfg.views))
    base = cfg.objects * cfg.views
    k, first = cfg.unlabelled_views, cfg.unlabelled_first_view
    plan.extend(
        (base + j * k + v, cfg.objects + j, first + v, False)
        for j in range(cfg.unlabelled)
        for v in range(k)
    )
    _atomic_text(root / "objects.txt", "".join(f"{n} {objs[i].name}\n" for n, i, _, _ in plan))
    manifest = {"config": asdict(cfg), "images": len(plan), "stats": {}}
    todo = [
        p
        for p in plan
        if p[0] % cfg.shards == cfg.shard and not (root / f"pcd{p[0]:04d}cpos.txt").is_file()
    ]
    bar = tqdm(
        total=len(plan),
        initial=len(plan) - len(todo),
        desc=f"synth {cfg.split}",
        disable=not progress,
    )
    by_object: dict[int, list] = {}
    for p in todo:
        by_object.setdefault(p[1], []).append(p)
    for oi, views in by_object.items():
        obj = objs[oi]
        with SimWorld([obj], seed=cfg.seed) as world:
            for num, _, view, labelled in views:
                world.reset(
                    seed=int(np.random.SeedSequence([cfg.seed, oi, view]).generate_state(1)[0])
                )
                frame = world.render("overhead", color=True)
                seg = world.render_segmentation("overhead")
                counts: dict = {}
                if labelled:
                    rng = np.random.default_rng([cfg.seed, num, 17])
                    pos, neg, stats = label_view(frame.depth, seg, frame.camera.fx, rng, cfg)
                    if cfg.labeller == "physics" and (pos or neg):
                        seed = int(np.random.SeedSequence([cfg.seed, num, 29]).generate_state(1)[0])
                        px_per_m = frame.camera.fx / stats["table_depth"]
                        pos, neg, counts = physics_labels(
                            world,
                            obj,
                            frame,
                            pos,
                            neg[: cfg.trial_negatives],
                            seed % 2**31,
                            px_per_m,
                        )
                        pos = thin_rects(pos, 4.0, math.radians(15), cfg.max_positives)
                else:
                    pos, neg = [], []
                depth = frame.depth
                if cfg.depth_noise:  # labels come from the clean depth, the image is noisy
                    from grasp_sim.camera import DepthNoise

                    depth = DepthNoise().apply(depth, np.random.default_rng([cfg.seed, num, 23]))
                write_cornell_image(root, num, depth, frame.color, pos, neg)
                line = {"image": num, "positives": len(pos), "negatives": len(neg), **counts}
                with (root / "labels.jsonl").open("a") as fh:
                    fh.write(json.dumps(line) + "\n")
                if not (root / "camera.json").is_file():
                    save_json(root / "camera.json", frame.camera.to_dict())
                bar.update(1)
    bar.close()
    manifest["stats"] = label_totals(root / "labels.jsonl", {p[0] for p in plan})
    save_json(root / "manifest.json", manifest)
    return manifest
