"""The demo's report: per-attempt records, metrics, annotated images and an animation.

ROS-free (numpy, opencv, imageio) so it is tested without a graph and reused by the
pick-success benchmark. Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from grasp_core import CameraModel, Grasp
from grasp_core.files import atomic_write_bytes, atomic_write_json
from grasp_core.gripper import GripperSpec, load_gripper

#: Outcomes of one attempt, in report order.
OUTCOMES = ("placed", "dropped", "failed", "no_candidates")


@dataclass
class Attempt:
    """One pick attempt: what was tried and how it went (times [s])."""

    index: int
    outcome: str  # one of OUTCOMES
    object: str = ""  # the object that ended in the bin (or moved), "" if none
    model: str = ""
    grasp_quality: float | None = None
    candidates: int = 0
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    #: other objects that left the table during the attempt: into the bin as well as the
    #: picked one, or out of reach (off the table, or beyond perception's crop box)
    also_in_bin: list[str] = field(default_factory=list)
    knocked_off: list[str] = field(default_factory=list)
    #: the placed object rests with its origin above the bin's rim (standing up in it)
    above_rim: bool = False
    #: how the executor placed it: "standing", "lying" ("" if it never got to the place)
    place: str = ""

    @property
    def success(self) -> bool:
        return self.outcome == "placed"


def summarise(attempts: Sequence[Attempt], n_objects: int) -> dict[str, Any]:
    """Success rate, objects cleared and median stage timings of a run."""
    placed = sum(a.success for a in attempts)
    stages = sorted({k for a in attempts for k in a.timings})
    return {
        "attempts": len(attempts),
        "placed": placed,
        "objects": n_objects,
        "success_rate": placed / len(attempts) if attempts else 0.0,
        "cleared_fraction": placed / n_objects if n_objects else 0.0,
        "table_cleared": placed >= n_objects > 0,
        "also_in_bin": sum(len(a.also_in_bin) for a in attempts),
        "knocked_off": sum(len(a.knocked_off) for a in attempts),
        "outcomes": {o: sum(a.outcome == o for a in attempts) for o in OUTCOMES},
        "median_timings": {
            s: statistics.median([a.timings[s] for a in attempts if s in a.timings]) for s in stages
        },
    }


def _side_effects(summary: dict[str, Any]) -> str:
    """The report's note on objects that left the table without being picked."""
    parts = []
    if summary.get("knocked_off"):
        parts.append(f"{summary['knocked_off']} knocked out of reach")
    if summary.get("also_in_bin"):
        parts.append(f"{summary['also_in_bin']} fell into the bin along with a picked one")
    return f" Not counted as placed: {'; '.join(parts)}." if parts else ""


def write_json(path: Path, data: Any) -> None:
    atomic_write_json(path, data)


def write_png(path: Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {path}")
    atomic_write_bytes(Path(path), buf.tobytes())


def write_animation(path: Path, frames: Sequence[np.ndarray], fps: float = 4.0) -> None:
    """Animated GIF of RGB frames (every frame resized to the first one's size)."""
    import imageio.v3 as iio

    if not frames:
        return
    h, w = frames[0].shape[:2]
    frames = [f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h)) for f in frames]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.gif")
    iio.imwrite(tmp, np.stack(frames), duration=1000.0 / fps, loop=0)
    os.replace(tmp, path)


def _quality_bgr(q: float) -> tuple[int, int, int]:
    q = float(np.clip(q, 0.0, 1.0))
    return (0, int(255 * min(1.0, 2 * q)), int(255 * min(1.0, 2 * (1 - q))))


def draw_grasps(
    rgb: np.ndarray,
    grasps: Iterable[Grasp],
    camera: CameraModel,
    gripper: GripperSpec | None = None,
    highlight: int | None = 0,
    use_rect: bool = True,
) -> np.ndarray:
    """Colour image with each grasp drawn: its image rectangle for planar grasps (when
    ``use_rect`` and the image is the one the rectangle came from), else the projected
    gripper outline; coloured by quality, ``highlight`` drawn thicker."""
    from grasp_bringup.msgs import gripper_lines

    gripper = gripper or load_gripper("panda_hand")
    img = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    grasps = list(grasps)
    order = list(range(len(grasps)))[::-1]  # best drawn last, on top
    for i in order:
        g = grasps[i]
        color = _quality_bgr(g.quality)
        thick = 3 if i == highlight else 1
        if g.rect is not None and use_rect:
            pts = g.rect.corners().round().astype(np.int32)
            cv2.polylines(img, [pts], True, color, thick, cv2.LINE_AA)
            # the jaws: the two edges across the closing axis
            cv2.line(img, tuple(pts[0]), tuple(pts[3]), (255, 255, 255), thick, cv2.LINE_AA)
            cv2.line(img, tuple(pts[1]), tuple(pts[2]), (255, 255, 255), thick, cv2.LINE_AA)
            continue
        lines = camera.project_base(gripper_lines(g, gripper))
        if not np.all(np.isfinite(lines)):
            continue
        lines = lines.round().astype(np.int32)
        for a, b in zip(lines[::2], lines[1::2], strict=True):
            cv2.line(img, tuple(a), tuple(b), color, thick, cv2.LINE_AA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def caption(rgb: np.ndarray, text: str) -> np.ndarray:
    """The image with a dark caption bar along its top."""
    img = np.ascontiguousarray(rgb).copy()
    cv2.rectangle(img, (0, 0), (img.shape[1], 26), (20, 20, 20), -1)
    cv2.putText(img, text, (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def render_markdown(
    meta: dict[str, Any],
    attempts: Sequence[Attempt],
    summary: dict[str, Any],
    images: Sequence[str],
) -> str:
    """``report.md`` text."""
    lines = [
        f"# Pick-and-place run {meta.get('run_id', '')}",
        "",
        f"- model: `{meta.get('model')}`; objects: {summary['objects']} from `{meta.get('object_set')}` "
        f"(seed {meta.get('seed')}); attempt budget {meta.get('max_attempts')}",
        f"- command: `{meta.get('command', '')}`",
        f"- machine: {meta.get('machine', '')}; wall time {meta.get('wall_time', 0):.1f} s",
        *(
            [
                "- **interrupted** (Ctrl-C): the attempts finished before it; the table was not cleared to the end"
            ]
            if meta.get("interrupted")
            else []
        ),
        "",
        f"**{summary['placed']} of {summary['objects']} objects placed in the bin in "
        f"{summary['attempts']} attempts: success rate {100 * summary['success_rate']:.0f}% per attempt, "
        f"table {'cleared' if summary['table_cleared'] else 'not cleared'}.**"
        + _side_effects(summary),
        "",
        "| # | object | model | grasp quality | candidates | outcome | "
        + " | ".join(f"{s} [s]" for s in summary["median_timings"])
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(summary["median_timings"]),
    ]
    for a in attempts:
        q = "" if a.grasp_quality is None else f"{a.grasp_quality:.2f}"
        outcome = a.outcome + (f" ({a.reason})" if a.reason and not a.success else "")
        if a.also_in_bin:
            outcome += f"; also into the bin: {', '.join(a.also_in_bin)}"
        if a.knocked_off:
            outcome += f"; knocked out of reach: {', '.join(a.knocked_off)}"
        times = " | ".join(
            f"{a.timings[s]:.2f}" if s in a.timings else "" for s in summary["median_timings"]
        )
        lines.append(
            f"| {a.index} | {a.object or '-'} | {a.model} | {q} | {a.candidates} | {outcome} | {times} |"
        )
    med = " | ".join(f"{v:.2f}" for v in summary["median_timings"].values())
    lines += [f"| | | | | | **median** | {med} |", ""]
    lines += [
        "Stage timings: `perceive` camera frame → object clouds published, `detect` camera "
        "frame → grasp candidates published, `plan` filtering + planning the pick, "
        "`execute` arm motion, `attempt` the whole attempt (wall clock).",
        "",
    ]
    for name in images:
        lines += [f"![{name}]({name})", ""]
    return "\n".join(lines)


def write_report(
    run_dir: Path,
    meta: dict[str, Any],
    attempts: Sequence[Attempt],
    n_objects: int,
    images: Sequence[str] = (),
) -> dict[str, Any]:
    """Write ``metrics.json`` and ``report.md`` in ``run_dir``; return the metrics."""
    run_dir = Path(run_dir)
    summary = summarise(attempts, n_objects)
    metrics = {"meta": meta, "summary": summary, "attempts": [asdict(a) for a in attempts]}
    write_json(run_dir / "metrics.json", metrics)
    atomic_write_bytes(
        run_dir / "report.md", render_markdown(meta, attempts, summary, images).encode()
    )
    return metrics
