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
import os
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

from grasp_bringup.graph import Graph, GraphError, load_graph
from grasp_bringup.report import (
    Attempt,
    caption,
    draw_grasps,
    summarise,
    write_animation,
    write_png,
    write_report,
)
from grasp_core.cell import CellLayout
from grasp_core.errors import GraspBringupError
from grasp_core.validation import require_range

Log = Callable[[str], None]
#: Object splits of grasp_sim; any other object set is a path to meshes.
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class EpisodeOptions:
    """One episode: ``objects`` objects of ``object_set`` (a split name or a folder of
    OBJ/STL meshes) dropped with ``seed``; at most ``max_attempts`` picks (default
    ``max(8, objects + 3)``); simulation paced at ``real_time_factor``; ``processes``: each
    node of the graph in its own process instead of all in this one; ``max_grasp_width``
    [m]: only split objects whose narrowest top-down grasp is at most that wide
    (``grasp_sim.objects.object_set``), None for any; ``executor_params``: parameters of
    the executor node set over config/executor.yaml's (e.g. ``{"place_descent": 0.15}``);
    ``detector_params`` and ``perception_params``: the same for the grasp detector and
    the perception node; ``cell``: the work-cell file
    (the graph's ``cell`` argument; None: its default, config/sim/panda_table.yaml);
    ``cell_camera``: its camera the nodes read (``wrist``: the one on the hand)."""

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
    weights: str | None = None
    processes: bool = False
    max_grasp_width: float | None = None
    executor_params: tuple[tuple[str, object], ...] = ()
    detector_params: tuple[tuple[str, object], ...] = ()
    perception_params: tuple[tuple[str, object], ...] = ()
    cell: str | None = None
    cell_camera: str = "overhead"

    def __post_init__(self) -> None:
        # zero objects never gave candidates: the start-up waited its 120 s for them
        require_range("objects", self.objects, 1, None)
        if self.max_attempts is not None:
            require_range("max_attempts", self.max_attempts, 1, None)
        if self.max_grasp_width is not None:
            require_range("max_grasp_width", self.max_grasp_width, 0.0, None, low_inclusive=False)
        require_range("real_time_factor", self.real_time_factor, 0.0, None)
        require_range("attempt_timeout", self.attempt_timeout, 0.0, None, low_inclusive=False)
        require_range("startup_timeout", self.startup_timeout, 0.0, None, low_inclusive=False)

    @property
    def budget(self) -> int:
        return self.max_attempts if self.max_attempts is not None else max(8, self.objects + 3)


def drawing_mount(layout: CellLayout, cell_camera: str) -> np.ndarray | None:
    """``T_base_camera`` the recording draws candidates on the camera images with: the
    nodes' camera when it is fixed in the cell; None (no drawings) for a camera on a robot
    link, which moves. Until 2026-12-07 always the cell's ``overhead`` camera: a wrist
    camera's images got drawings from the wrong pose, and a cell without an ``overhead``
    camera stopped the session."""
    cam = layout.cameras.get(cell_camera)
    return cam.camera_model().T_base_camera if cam is not None and cam.fixed else None


def episode_graph(opts: EpisodeOptions) -> Graph:
    """The panda_grasp graph with the episode's scene and model."""
    args = {"model": opts.model, "camera": "sim", "cell_camera": opts.cell_camera}
    if opts.cell:
        args["cell"] = str(opts.cell)
    graph = load_graph("panda_grasp", args)
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
                viewer_rate=4.0 if opts.record and opts.out_dir is not None else 0.0,
            )
            if opts.object_set in SPLITS:
                params["object_split"] = opts.object_set
            elif folder.is_dir() or folder.is_file():
                params["object_meshes"] = str(folder.resolve())
            else:
                raise GraphError(
                    f"object set {opts.object_set!r} is neither a split ({', '.join(SPLITS)}) "
                    "nor an existing OBJ/STL file or folder"
                )
            if opts.object_kinds:
                params["object_kinds"] = opts.object_kinds
            if opts.max_grasp_width is not None:
                params["object_max_grasp_width"] = float(opts.max_grasp_width)
        if spec.name == "executor":
            params.update(opts.executor_params)
            params["continuous"] = False
        if spec.name == "perception":
            params.update(opts.perception_params)
        if spec.name == "grasp_detector":
            params.update(opts.detector_params)
            if opts.weights:
                params["weights"] = str(Path(opts.weights).expanduser().resolve())
        nodes.append(dataclasses.replace(spec, parameters=params))
    return dataclasses.replace(graph, nodes=tuple(nodes))


class _Recorder:
    """Samples the simulator's third-person view (or, without it, the robot's camera) into
    captioned GIF frames with the best candidates drawn, on a thread of its own."""

    def __init__(
        self,
        monitor: Any,
        viewer_camera: Any,
        period: float = 0.5,
        size: tuple[int, int] = (480, 360),
    ) -> None:
        self.monitor, self.viewer_camera = monitor, viewer_camera
        self.period, self.size = period, size
        self.frames: list[np.ndarray] = []
        self.text = "starting"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-recorder", daemon=True)

    def start(self) -> _Recorder:
        self._thread.start()
        return self

    def _run(self) -> None:
        import cv2

        m = self.monitor
        last = -1
        while not self._stop.wait(self.period):
            use_viewer = m.viewer.count > 0 and self.viewer_camera is not None
            latest, cam = (m.viewer, self.viewer_camera) if use_viewer else (m.color, m.camera)
            if latest.value is None or latest.count == last:
                continue
            last = latest.count
            img = latest.value
            grasps = m.latest_grasps()[:3]
            if cam is not None and grasps and m.status.state in ("", "idle", "done", "failed"):
                img = draw_grasps(img, grasps, cam, use_rect=not use_viewer)
            state = m.status.state or "waiting"
            self.frames.append(
                cv2.resize(caption(img, f"{self.text} | executor: {state}"), self.size)
            )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def reach_box(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) [m] of the crop box the perception node of ``graph`` will use, resolved
    from its parameters as the node resolves them (:func:`grasp_core.cell.resolve_crop_box`:
    its cell file's box, with each crop_* parameter given over it)."""
    from grasp_core.cell import CROP_KEYS, crop_bounds, resolve_crop_box

    spec = next((n for n in graph.nodes if n.name == "perception"), None)
    if spec is None:
        raise GraphError(f"graph {graph.name}: no perception node to read the crop box of")
    p = spec.parameters
    explicit = {k: p.get(k) for k in CROP_KEYS}
    frame = p.get("base_frame") or graph.base_frame
    values, _, _ = resolve_crop_box(p.get("cell_layout") or "", explicit, frame, user="demo")
    return crop_bounds(values)


def _remaining(
    positions: dict[str, np.ndarray], layout: Any, box: tuple[np.ndarray, np.ndarray]
) -> list[str]:
    """Objects still to pick: in reach of the graph (:meth:`CellLayout.object_in_reach`:
    in perception's crop box ``box``, :func:`reach_box`, not in the bin). One pushed
    beyond the crop box or off the table counts as knocked off; until 2026-12-07 one still
    on the table counted as left to pick, and the episode spent the rest of its budget on
    it. Until late 2026-12-07 (4c09449) the box was the cell's own, even with crop_* parameters given to
    perception (``benchmarks/pick_success.py --perception-param``)."""
    return [name for name, p in positions.items() if layout.object_in_reach(p, box)]


class ForeignRobotError(GraspBringupError):
    """Another graph's nodes would take the simulated robot's commands."""


class PickSession:
    """The running graph plus a monitor node: start it once, then run episodes, with
    :meth:`reset` (``/sim/reset``: next seed's objects, arm home) in between."""

    def __init__(self, opts: EpisodeOptions, log: Log = print) -> None:
        self.opts, self.log = opts, log
        self.images: list[str] = []
        self.recorder: _Recorder | None = None
        self.in_bin: set[str] = set()
        #: the running (or last) episode's finished attempts and objects on the table
        self.attempts: list[Attempt] = []
        self.n_objects = 0

    def __enter__(self) -> PickSession:
        import rclpy
        from rclpy.parameter import Parameter

        from grasp_bringup.demo_monitor import DemoMonitor
        from grasp_bringup.launcher import InProcessGraph, ProcessGraph
        from grasp_core.cell import load_layout

        self.layout = load_layout(self.opts.cell)
        T_base_camera = drawing_mount(self.layout, self.opts.cell_camera)
        graph = episode_graph(self.opts)
        self.reach = reach_box(graph)  # what perception crops to: what is left to pick
        self.context = rclpy.Context()
        rclpy.init(args=[sys.argv[0]], context=self.context)  # not the caller's options
        try:
            graph_cls = ProcessGraph if self.opts.processes else InProcessGraph
            self.running = graph_cls(graph, context=self.context, log=self.log)
            self.monitor = DemoMonitor(
                T_base_camera,
                images=self.opts.record and self.opts.out_dir is not None,
                context=self.context,
                parameter_overrides=[
                    Parameter("use_sim_time", value=self.running.graph.use_sim_time)
                ],
            )
            self.running.executor.add_node(self.monitor)
            self.running.start()
            self.wait_ready(since=-1.0)
            self.refuse_foreign_robot()  # before any pick: nothing has moved yet
        except BaseException:
            self.__exit__()
            raise
        out = self.opts.out_dir
        if out is not None and self.opts.record:
            viewer = self.layout.cameras.get("viewer")
            self.recorder = _Recorder(
                self.monitor, viewer.camera_model() if viewer is not None else None
            ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        import rclpy

        if self.recorder:
            self.recorder.stop()
        running = getattr(self, "running", None)
        monitor = getattr(self, "monitor", None)
        if running is not None:
            if monitor is not None:
                running.nodes["demo_monitor"] = monitor  # closed with the graph's nodes
                self.monitor = None
            running.close()
        if getattr(self, "monitor", None) is not None:
            self.monitor.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def refuse_foreign_robot(self, timeout: float = 15.0) -> None:
        """Raise :class:`ForeignRobotError` when a node outside this graph would take the
        simulated robot's commands or mix its joint states into ours (a real robot's
        driver on the same ROS domain): the demo's executor would drive it. Waits up to
        ``timeout`` [s] for discovery to name every node; it fails closed, raising, when
        it cannot tell."""
        graph_nodes = {spec.name for spec in self.running.graph.nodes if not spec.external}
        ours = graph_nodes | {self.monitor.get_name()}
        domain = os.environ.get("ROS_DOMAIN_ID", "0")
        deadline = time.monotonic() + timeout
        foreign = self.monitor.foreign_robot_endpoints(ours)
        while foreign is None and time.monotonic() < deadline:
            time.sleep(0.2)  # DDS names the nodes after their endpoints
            foreign = self.monitor.foreign_robot_endpoints(ours)
        if foreign is None:
            raise ForeignRobotError(
                f"could not tell within {timeout:.0f} s whether another graph's robot is on "
                f"ROS_DOMAIN_ID={domain}: discovery did not name every node "
                f"(seen: {', '.join(sorted(self.monitor.get_node_names()))}); not moving"
            )
        if foreign:
            raise ForeignRobotError(
                f"ROS_DOMAIN_ID={domain} holds nodes of another graph on the simulated "
                f"robot's topics: {'; '.join(foreign)}. The demo would command them, so it "
                "stops before any motion: unset ROS_DOMAIN_ID (the demo then draws a free "
                "one) or export another"
            )

    def wait_ready(self, since: float) -> None:
        """Wait for object poses and grasp candidates newer than
        ``since`` (ROS time [s])."""
        m = self.monitor
        ready = m.wait_for(
            lambda: (
                m.poses.value is not None
                and m.poses.stamp > since
                and bool(m.object_names)
                and m.candidates.count > 0
                and m.candidates.stamp > since
            ),
            self.opts.startup_timeout,
        )
        if not ready:
            raise TimeoutError(
                f"graph not ready within {self.opts.startup_timeout:.0f} s: object poses "
                f"{m.poses.count}, grasp candidates {m.candidates.count}"
            )

    def reset(self) -> None:
        """New objects (the sim driver's next seed) and the arm home; waits until ready."""
        from std_srvs.srv import Trigger

        m = self.monitor
        before = max(m.poses.stamp, m.candidates.stamp)
        client = m.create_client(Trigger, "/sim/reset")
        try:
            if not client.wait_for_service(timeout_sec=10.0):
                raise TimeoutError("/sim/reset is not available")
            future = client.call_async(Trigger.Request())
            deadline = time.monotonic() + 30.0
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            m.destroy_client(client)
        self.wait_ready(since=before + 0.5)

    def episode(self, budget: int) -> tuple[list[Attempt], int]:
        """Pick until the table is clear or ``budget`` attempts are spent; returns the
        attempts and the number of objects that were on the table. ``attempts`` and
        ``n_objects`` hold them as they come (what a Ctrl-C leaves, for a report)."""
        from grasp_bringup.msgs import EXECUTOR_TERMINAL_STATES

        m, layout, opts = self.monitor, self.layout, self.opts
        positions = m.object_positions()
        self.in_bin = {n for n, p in positions.items() if layout.object_in_bin(p)}
        n_objects = self.n_objects = len(_remaining(positions, layout, self.reach))
        self.log(f"[demo] {n_objects} objects on the table: {', '.join(positions)}")
        attempts: list[Attempt] = []
        self.attempts = attempts
        last_end = m.now()
        for k in range(1, budget + 1):
            t_attempt = time.monotonic()
            before = m.object_positions()
            if not _remaining(before, layout, self.reach):
                break
            if self.recorder:
                self.recorder.text = f"attempt {k}/{budget}"
            fresh = m.wait_for(
                lambda t=last_end: m.candidates.stamp > t and bool(m.candidates.value), 60.0
            )
            grasps = m.latest_grasps()
            timings: dict[str, float] = {}
            if fresh:  # wall clock, camera frame published -> candidates received
                timings["detect"] = (
                    m.detect_latencies[-1]
                    if m.detect_latencies
                    else max(0.0, m.candidates.received - m.candidates.stamp)
                )
            if m.object_points.count:
                timings["perceive"] = max(0.0, m.object_points.received - m.object_points.stamp)
            attempt = Attempt(
                k, "no_candidates", model=opts.model, candidates=len(grasps) if fresh else 0
            )
            pick_end = None
            if fresh:
                attempt.grasp_quality = float(grasps[0].quality)
                self._snapshot(k, grasps)
                pick_end = self._pick(attempt, before, timings, EXECUTOR_TERMINAL_STATES)
            timings["attempt"] = time.monotonic() - t_attempt
            attempt.timings = timings
            attempts.append(attempt)
            # the next attempt takes candidates from frames after the pick's end (the arm
            # at rest), not after this loop's bookkeeping: until 2026-12-07 the ground
            # truth's settling (1 s and more) came first, and the first detection after a
            # pick was refused (docs/BENCHMARKS.md, "The detector rests while the arm picks")
            last_end = pick_end if pick_end is not None else m.now()
            self.log(
                f"[demo] attempt {k}: {attempt.outcome}"
                + (f" {attempt.object}" if attempt.object else "")
                + (f" ({attempt.reason})" if attempt.reason else "")
                + f" in {timings['attempt']:.1f} s"
            )
        return attempts, n_objects

    def _snapshot(self, k: int, grasps: list) -> None:
        m, out = self.monitor, self.opts.out_dir
        if out is None or not self.opts.record or m.color.value is None or m.camera is None:
            return
        name = f"attempt_{k:02d}.png"
        img = draw_grasps(m.color.value, grasps[:10], m.camera)
        write_png(
            out / name, caption(img, f"attempt {k}: {len(grasps)} candidates ({self.opts.model})")
        )
        self.images.append(name)
        if "quality_map.png" not in self.images and m.quality_image.value is not None:
            write_png(out / "quality_map.png", m.quality_image.value)
            self.images.append("quality_map.png")

    def _pick(
        self, attempt: Attempt, before: dict, timings: dict, terminal: tuple[str, ...]
    ) -> float | None:
        """Ask for a pick, wait for its end and fill ``attempt``; returns when the
        executor's first terminal status arrived (monitor clock), None without one."""
        from grasp_bringup.msgs import pick_not_ready

        m, layout = self.monitor, self.layout
        n_status = len(m.status_history)
        accepted, text = m.request_pick()
        deadline = time.monotonic() + 60.0
        while not accepted and pick_not_ready(text) and time.monotonic() < deadline:
            # the last pick still going home, or, with one process per node, joint
            # states, controllers or candidates not discovered yet (the episode asks only
            # once it has candidates itself): waited out (60 s at most), not an attempt
            time.sleep(0.5)
            n_status = len(m.status_history)
            accepted, text = m.request_pick()
        if not accepted:
            attempt.outcome, attempt.reason = "failed", text
            return None
        done = m.wait_for(
            lambda: any(s.state in terminal for s in m.status_history[n_status:]),
            self.opts.attempt_timeout,
        )
        # the executor repeats the terminal state once the result (times, reason) is stored
        m.wait_for(lambda: sum(s.state in terminal for s in m.status_history[n_status:]) >= 2, 3.0)
        finals = [s for s in m.status_history[n_status:] if s.state in terminal]
        final = finals[-1] if finals else m.status
        t_settle = m.now() + 1.0  # let objects settle, then read the ground truth
        m.wait_for(lambda: m.poses.stamp > t_settle, 15.0)
        after = m.object_positions()
        newly = [n for n, p in after.items() if layout.object_in_bin(p) and n not in self.in_bin]
        self.in_bin |= set(newly)
        left = set(_remaining(before, layout, self.reach))
        left -= set(_remaining(after, layout, self.reach))
        attempt.knocked_off = sorted(left - set(newly))
        attempt.also_in_bin = newly[1:]
        moved = max(
            after, key=lambda n: np.linalg.norm(after[n] - before.get(n, after[n])), default=""
        )
        if newly:
            attempt.outcome, attempt.object = "placed", newly[0]
            attempt.above_rim = bool(after[newly[0]][2] > layout.bin_top_z)
        elif not done:
            attempt.outcome, attempt.reason = "failed", "executor did not finish in time"
        elif final.state == "done":
            attempt.outcome, attempt.object, attempt.reason = "dropped", moved, "not in the bin"
        else:
            attempt.outcome = "failed"
            attempt.reason = final.values.get("last_reason", final.message)
        attempt.place = final.values.get("place", "")
        for key, stage in (("planning_time", "plan"), ("execution_time", "execute")):
            if key in final.values:
                timings[stage] = float(final.values[key])
        if "grasp_quality" in final.values:
            attempt.grasp_quality = float(final.values["grasp_quality"])
        return finals[0].received if finals else None


def run_meta(opts: EpisodeOptions, wall: float) -> dict[str, Any]:
    """What a report says about how it was made."""
    return {
        "run_id": opts.out_dir.name if opts.out_dir else "",
        "model": opts.model,
        "object_set": opts.object_set,
        "objects_requested": opts.objects,
        "seed": opts.seed,
        "max_grasp_width": opts.max_grasp_width,
        "max_attempts": opts.budget,
        "real_time_factor": opts.real_time_factor,
        "processes": opts.processes,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time": wall,
    }


def run_episode(opts: EpisodeOptions, log: Log = print) -> dict[str, Any]:
    """One episode through real ROS 2 topics; returns its metrics and writes its run
    folder (report.md, metrics.json, images, run.gif) when ``opts.out_dir`` is set."""
    wall0 = time.monotonic()
    interrupted = False
    with PickSession(opts, log) as session:
        try:
            attempts, n_objects = session.episode(opts.budget)
        except KeyboardInterrupt:  # report what was finished: the run folder is not left empty
            interrupted = True
            attempts, n_objects = session.attempts, session.n_objects
            log(f"[demo] interrupted after {len(attempts)} attempts; writing the report")
        images = list(session.images)
    out = opts.out_dir
    meta = run_meta(opts, time.monotonic() - wall0)
    meta["interrupted"] = interrupted
    if out is None:
        return {
            "meta": meta,
            "summary": summarise(attempts, n_objects),
            "attempts": [dataclasses.asdict(a) for a in attempts],
        }
    if session.recorder and session.recorder.frames:
        write_animation(out / "run.gif", session.recorder.frames, fps=4.0)
        images.insert(0, "run.gif")
    return write_report(out, meta, attempts, n_objects, images)


def isolate_domain(log: Log = print) -> int:
    """Use ``ROS_DOMAIN_ID`` when the user set it, else a random one (1-100), so a demo or
    benchmark never talks to another graph running on this machine, and keep DDS
    discovery on this machine (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``) unless the
    user set a range: a simulation has no business on the network, where a robot may
    listen. Call before ``rclpy.init``; returns the domain."""
    if "ROS_DOMAIN_ID" not in os.environ:
        os.environ["ROS_DOMAIN_ID"] = str(int.from_bytes(os.urandom(2), "little") % 100 + 1)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    domain = int(os.environ["ROS_DOMAIN_ID"])
    log(
        f"[demo] ROS_DOMAIN_ID={domain}, discovery {os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']}"
        " (export both to watch this run with ros2 topic / rviz)"
    )
    return domain


def run_demo(args: argparse.Namespace) -> int:
    """``grasp demo``: one episode with a run folder and a console summary."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / stamp if args.out else Path("runs") / stamp
    opts = EpisodeOptions(  # checks the options before the run folder is made
        model=args.model,
        objects=args.objects,
        object_set=args.object_set,
        seed=args.seed,
        max_attempts=args.max_attempts,
        real_time_factor=args.real_time_factor,
        out_dir=out,
        record=not args.no_record,
        weights=args.weights or None,
        processes=args.processes,
        max_grasp_width=args.max_grasp_width,
    )
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"[demo] {opts.objects} objects from {opts.object_set!r}, model {opts.model}, seed {opts.seed} -> {out}"
    )
    isolate_domain()
    metrics = run_episode(opts)
    s = metrics["summary"]
    print(
        f"[demo] placed {s['placed']}/{s['objects']} objects in {s['attempts']} attempts "
        f"(success rate {100 * s['success_rate']:.0f}%); report: {out / 'report.md'}"
    )
    if metrics["meta"]["interrupted"]:
        return 130  # as the shell reports Ctrl-C
    return 0 if s["attempts"] else 1
