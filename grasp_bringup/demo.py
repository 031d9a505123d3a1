"""The closed-loop clutter-clearing demo (``make demo`` → ``grasp demo``).

Starts the panda_grasp graph in this process against the MuJoCo cell with held-out
objects, then repeats perceive → detect → filter → pick → place → look again until the
table is clear or the attempt budget is spent, and writes ``runs/<timestamp>/`` with
``report.md``, ``metrics.json``, annotated images and an animated GIF. The same episode
runner serves the end-to-end test and ``benchmarks/pick_success.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from grasp_bringup.graph import Graph, load_graph
from grasp_bringup.report import (
    Attempt,
    caption,
    draw_grasps,
    write_animation,
    write_png,
    write_report,
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class EpisodeOptions:
    """One episode: ``objects`` objects of ``object_set`` (a split name or a folder of
    OBJ/STL meshes) dropped with ``seed``; at most ``max_attempts`` picks (default
    ``max(8, objects + 3)``); simulation paced at ``real_time_factor``."""

    model: str = "ggcnn"
    objects: int = 3
    object_set: str = "test"
    seed: int = 0
    max_attempts: int | None = None
    real_time_factor: float = 1.0
    attempt_timeout: float = 120.0
    startup_timeout: float = 120.0
    out_dir: Path | None = None
    record: bool = True
    object_kinds: str | None = None

    @property
    def budget(self) -> int:
        return self.max_attempts if self.max_attempts is not None else max(8, self.objects + 3)


def episode_graph(opts: EpisodeOptions) -> Graph:
    """The panda_grasp graph with the episode's scene and model."""
    graph = load_graph("panda_grasp", {"model": opts.model, "camera": "sim"})
    folder = Path(opts.object_set).expanduser()
    nodes = []
    for spec in graph.nodes:
        params = dict(spec.parameters)
        if spec.name == "sim_driver":
            params.update(
                object_count=opts.objects,
                object_seed=opts.seed,
                seed=opts.seed,
                real_time_factor=opts.real_time_factor,
            )
            if folder.exists():
                params["object_meshes"] = str(folder.resolve())
            else:
                params["object_split"] = opts.object_set
            if opts.object_kinds:
                params["object_kinds"] = opts.object_kinds
        if spec.name == "executor":
            params["continuous"] = False
        nodes.append(dataclasses.replace(spec, parameters=params))
    return dataclasses.replace(graph, nodes=tuple(nodes))


class _Recorder:
    """Samples the camera topic into GIF frames (captioned) on a thread of its own."""

    def __init__(
        self, monitor: Any, period: float = 0.5, size: tuple[int, int] = (400, 300)
    ) -> None:
        self.monitor, self.period, self.size = monitor, period, size
        self.frames: list[np.ndarray] = []
        self.text = "starting"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-recorder", daemon=True)

    def start(self) -> _Recorder:
        self._thread.start()
        return self

    def _run(self) -> None:
        import cv2

        last = -1
        while not self._stop.wait(self.period):
            latest = self.monitor.color
            if latest.value is None or latest.count == last:
                continue
            last = latest.count
            img = latest.value
            cam = self.monitor.camera
            grasps = self.monitor.latest_grasps()[:5]
            if cam is not None and grasps:
                img = draw_grasps(img, grasps, cam)
            state = self.monitor.status.state or "waiting"
            self.frames.append(
                cv2.resize(caption(img, f"{self.text} | executor: {state}"), self.size)
            )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _remaining(positions: dict[str, np.ndarray], layout: Any) -> list[str]:
    """Objects still on the table (not in the bin, not fallen to the floor)."""
    c, h = layout.table_box()
    out = []
    for name, p in positions.items():
        on_xy = bool(np.all(np.abs(p[:2] - c[:2]) <= h[:2] + 0.02))
        if on_xy and p[2] > layout.table_top_z - 0.05 and not layout.in_bin(p):
            out.append(name)
    return out


def run_episode(opts: EpisodeOptions, log: Log = print) -> dict[str, Any]:
    """Run one episode through real ROS 2 topics; return its metrics (and write its run
    folder when ``opts.out_dir`` is set)."""
    import rclpy

    from grasp_bringup.demo_monitor import TERMINAL_STATES, DemoMonitor
    from grasp_bringup.launcher import InProcessGraph
    from grasp_sim.layout import load_layout

    layout = load_layout()
    T_base_camera = layout.cameras["overhead"].camera_model().T_base_camera
    graph = episode_graph(opts)
    out_dir = Path(opts.out_dir) if opts.out_dir else None
    images: list[str] = []
    attempts: list[Attempt] = []
    wall0 = time.monotonic()
    context = rclpy.Context()
    rclpy.init(context=context)
    recorder = None
    n_objects = 0
    try:
        with InProcessGraph(graph, context=context, log=log) as running:
            monitor = DemoMonitor(T_base_camera, context=context)
            running.executor.add_node(monitor)
            running.start()
            log("[demo] waiting for the simulator, the camera and the first grasp candidates")
            ready = monitor.wait_for(
                lambda: (
                    monitor.poses.value is not None
                    and monitor.object_names
                    and monitor.candidates.count > 0
                    and monitor.status.state != ""
                ),
                opts.startup_timeout,
            )
            if not ready:
                raise TimeoutError(
                    f"graph not ready within {opts.startup_timeout:.0f} s: poses "
                    f"{monitor.poses.count}, candidates {monitor.candidates.count}, "
                    f"executor status {monitor.status.state!r}"
                )
            positions = monitor.object_positions()
            n_objects = len(positions)
            in_bin0 = {n for n, p in positions.items() if layout.in_bin(p)}
            log(f"[demo] {n_objects} objects on the table: {', '.join(positions)}")
            if out_dir is not None and opts.record:
                recorder = _Recorder(monitor).start()
            last_end = monitor.now()
            for k in range(1, opts.budget + 1):
                t_attempt = time.monotonic()
                before = monitor.object_positions()
                if not _remaining(before, layout):
                    break
                if recorder:
                    recorder.text = f"attempt {k}/{opts.budget}"
                fresh = monitor.wait_for(
                    lambda t=last_end: (
                        monitor.candidates.stamp > t and bool(monitor.candidates.value)
                    ),
                    60.0,
                )
                grasps = monitor.latest_grasps()
                timings: dict[str, float] = {}
                cand = monitor.candidates
                if fresh:
                    timings["detect"] = max(0.0, cand.received - cand.stamp)
                if monitor.object_points.count:
                    timings["perceive"] = max(
                        0.0, monitor.object_points.received - monitor.object_points.stamp
                    )
                attempt = Attempt(k, "no_candidates", model=opts.model, candidates=len(grasps))
                if fresh:
                    attempt.grasp_quality = float(grasps[0].quality)
                    if (
                        out_dir is not None
                        and opts.record
                        and monitor.color.value is not None
                        and monitor.camera
                    ):
                        name = f"attempt_{k:02d}.png"
                        img = draw_grasps(monitor.color.value, grasps[:10], monitor.camera)
                        write_png(
                            out_dir / name,
                            caption(img, f"attempt {k}: {len(grasps)} candidates ({opts.model})"),
                        )
                        images.append(name)
                    if (
                        out_dir is not None
                        and opts.record
                        and k == 1
                        and monitor.quality_image.value is not None
                    ):
                        write_png(out_dir / "quality_map.png", monitor.quality_image.value)
                        images.append("quality_map.png")
                    n_status = len(monitor.status_history)
                    accepted, text = monitor.request_pick()
                    if not accepted:
                        attempt.outcome, attempt.reason = "failed", text
                    else:
                        done = monitor.wait_for(
                            lambda n=n_status: any(
                                s.state in TERMINAL_STATES for s in monitor.status_history[n:]
                            ),
                            opts.attempt_timeout,
                        )
                        final = next(
                            (
                                s
                                for s in monitor.status_history[n_status:]
                                if s.state in TERMINAL_STATES
                            ),
                            monitor.status,
                        )
                        # let objects settle, then read the ground truth
                        t_settle = monitor.now() + 1.0
                        monitor.wait_for(lambda t=t_settle: monitor.poses.stamp > t, 15.0)
                        after = monitor.object_positions()
                        newly = [
                            n for n, p in after.items() if layout.in_bin(p) and n not in in_bin0
                        ]
                        in_bin0 |= set(newly)
                        moved = max(
                            after,
                            key=lambda n: np.linalg.norm(after[n] - before.get(n, after[n])),
                            default="",
                        )
                        if newly:
                            attempt.outcome, attempt.object = "placed", newly[0]
                        elif not done:
                            attempt.outcome, attempt.reason = (
                                "failed",
                                "executor did not finish in time",
                            )
                        elif final.state == "done":
                            attempt.outcome, attempt.object = "dropped", moved
                            attempt.reason = "not in the bin"
                        else:
                            attempt.outcome = "failed"
                            attempt.reason = final.values.get("last_reason", final.message)
                        for key, stage in (
                            ("planning_time", "plan"),
                            ("execution_time", "execute"),
                        ):
                            if key in final.values:
                                timings[stage] = float(final.values[key])
                        if "grasp_quality" in final.values:
                            attempt.grasp_quality = float(final.values["grasp_quality"])
                timings["attempt"] = time.monotonic() - t_attempt
                attempt.timings = timings
                attempts.append(attempt)
                last_end = monitor.now()
                log(
                    f"[demo] attempt {k}: {attempt.outcome}"
                    + (f" {attempt.object}" if attempt.object else "")
                    + (f" ({attempt.reason})" if attempt.reason else "")
                    + f" in {timings['attempt']:.1f} s"
                )
            if recorder:
                recorder.stop()
            running.executor.remove_node(monitor)
            monitor.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    wall = time.monotonic() - wall0
    meta = {
        "run_id": out_dir.name if out_dir else "",
        "model": opts.model,
        "object_set": opts.object_set,
        "objects_requested": opts.objects,
        "seed": opts.seed,
        "max_attempts": opts.budget,
        "real_time_factor": opts.real_time_factor,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "machine": f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time": wall,
    }
    if out_dir is not None:
        if recorder and recorder.frames:
            write_animation(out_dir / "run.gif", recorder.frames, fps=4.0)
            images.insert(0, "run.gif")
        return write_report(out_dir, meta, attempts, n_objects, images)
    from grasp_bringup.report import summarise

    return {
        "meta": meta,
        "summary": summarise(attempts, n_objects),
        "attempts": [dataclasses.asdict(a) for a in attempts],
    }


def run_demo(args: argparse.Namespace) -> int:
    """``grasp demo``: one episode with a run folder and a console summary."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / stamp if args.out else Path("runs") / stamp
    out.mkdir(parents=True, exist_ok=True)
    opts = EpisodeOptions(
        model=args.model,
        objects=args.objects,
        object_set=args.object_set,
        seed=args.seed,
        max_attempts=args.max_attempts,
        real_time_factor=args.real_time_factor,
        out_dir=out,
        record=not args.no_record,
    )
    print(
        f"[demo] {opts.objects} objects from {opts.object_set!r}, model {opts.model}, seed {opts.seed} -> {out}"
    )
    metrics = run_episode(opts)
    s = metrics["summary"]
    print(
        f"[demo] placed {s['placed']}/{s['objects']} objects in {s['attempts']} attempts "
        f"(success rate {100 * s['success_rate']:.0f}%); report: {out / 'report.md'}"
    )
    return 0 if s["attempts"] else 1
