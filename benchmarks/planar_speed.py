"""Inference speed of the planar models on a 300x300 depth crop, batch 1, on the CPU.

Compares ways of running the same network (eager, inference mode, channels-last,
TorchScript trace + freeze, bfloat16 autocast; for GG-CNN also the exact rewrite
``FastGGCNN`` that ``PlanarGraspModel`` deploys, with and without oneDNN's fused
operators, and ONNX Runtime when it is installed) in interleaved rounds, and times the
full path the node uses (crop + normalise + network + blur + peaks + grasps), deployed
and previously deployed, also interleaved, and the node's ``detect`` call on a frame from a
camera looking straight down and from one tilted 34° (re-rendered from above first). Untrained weights time the same as trained
ones (same graph).

    .venv/bin/python benchmarks/planar_speed.py --threads 2
Writes benchmarks/results/planar_speed<tag>.json. With other jobs on the CPU, 2 threads stall
on GNU OpenMP's busy waiting; OMP_WAIT_POLICY=PASSIVE in the environment (recorded in the
JSON) shows what that costs.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from common import RESULTS_DIR, write_result

from grasp_models.planar.fast import FastGGCNN, mkldnn_ops_work
from grasp_models.planar.inference import PlanarGraspModel
from grasp_models.planar.networks import GGCNN
from grasp_models.planar.vqvae import VQVAE, VQVAEGGCNN

PREVIOUS = "inference_mode_channels_last"  # what PlanarGraspModel deployed before FastGGCNN


def timed_ms(fn, x, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t) * 1e3)
    return times


def median_ms(fn, x, warmup: int, reps: int) -> float:
    timed_ms(fn, x, warmup)
    return statistics.median(timed_ms(fn, x, reps))


def interleaved(runs: dict, warmup: int, reps: int, rounds: int) -> dict:
    """Time every variant in ``rounds`` interleaved rounds (the machine is shared: a burst
    of someone else's load then hits all variants alike). Per variant: the median of all
    samples and the lowest per-round median (closest to an idle machine)."""
    for fn, x in runs.values():
        timed_ms(fn, x, warmup)
    samples: dict[str, list[list[float]]] = {k: [] for k in runs}
    for _ in range(rounds):
        for k, (fn, x) in runs.items():
            samples[k].append(timed_ms(fn, x, max(reps // rounds, 1)))
    return {
        k: {
            "median_ms": round(statistics.median([t for r in v for t in r]), 2),
            "best_round_median_ms": round(min(statistics.median(r) for r in v), 2),
        }
        for k, v in samples.items()
    }


def onnxruntime_runner(net: torch.nn.Module, x: torch.Tensor, threads: int):
    """``net`` exported to ONNX (TorchScript exporter) in an ONNX Runtime CPU session with
    ``threads`` intra-op threads; None when onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), buf, input_names=["x"], opset_version=17, dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # its idle workers would otherwise spin between calls and stall the PyTorch variants
    # timed in the same rounds (seen: 2-thread PyTorch medians 10x higher)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])

    def f(t):
        return torch.from_numpy(sess.run(None, {"x": t.numpy()})[0])

    return f


def variants(net: torch.nn.Module, x: torch.Tensor, threads: int) -> dict:
    """name -> (callable, input) for each way of running ``net``."""
    net = net.eval()
    cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        traced = torch.jit.freeze(torch.jit.trace(copy.deepcopy(net), x))
        traced_cl = torch.jit.freeze(torch.jit.trace(copy.deepcopy(cl), x_cl))

    def no_grad(m):
        def f(t):
            with torch.no_grad():
                return m(t)

        return f

    def inference(m, bf16=False):
        def f(t):
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
            with torch.inference_mode(), ctx:
                return m(t)

        return f

    runs = {
        "eager_no_grad": (no_grad(net), x),
        "inference_mode": (inference(net), x),
        "inference_mode_channels_last": (inference(cl), x_cl),
        "jit_trace_freeze": (no_grad(traced), x),
        "jit_trace_freeze_channels_last": (no_grad(traced_cl), x_cl),
        "bf16_autocast_channels_last": (inference(cl, bf16=True), x_cl),
    }
    if isinstance(net, GGCNN):
        runs["fast_ggcnn_plain_ops"] = (inference(FastGGCNN(net, fused=False)), x_cl)
        if mkldnn_ops_work():
            runs["fast_ggcnn"] = (inference(FastGGCNN(net, fused=True)), x_cl)
        ort_ref = onnxruntime_runner(net, x, threads)
        if ort_ref is not None:
            runs["onnxruntime"] = (ort_ref, x)
            fast_plain = FastGGCNN(net, fused=False)
            runs["fast_ggcnn_onnxruntime"] = (onnxruntime_runner(fast_plain, x, threads), x)
    return runs


def deployed_model(name: str, net: torch.nn.Module) -> PlanarGraspModel:
    """A copy of ``net`` as the node deploys it (:class:`PlanarGraspModel` on the CPU)."""
    card = {"arch": name, "in_channels": 1}
    if name == "vqvae_ggcnn":
        card["vq_config"] = net.vq_config
    return PlanarGraspModel(copy.deepcopy(net), card, name=name)


def node_path(name: str, net: torch.nn.Module, previous: bool):
    """``PlanarGraspModel.run`` on a 640x480 frame (the node's path) as deployed, or with
    the previously deployed network (channels-last reference) when ``previous``."""
    model = deployed_model(name, net)
    if previous:
        model.net = copy.deepcopy(net).eval().to(memory_format=torch.channels_last)
    depth = np.full((480, 640), 0.8, np.float32)
    depth[200:280, 280:360] = 0.75

    def full(d):
        return model.run(d, max_grasps=10)

    return full, depth


def detect_path(
    name: str, net: torch.nn.Module, eye: tuple[float, float, float], color: bool = True
):
    """``PlanarGraspModel.detect`` (the node's call: view, crop, network, grasps) on a
    rendered 640x480 frame of a box seen from ``eye``: straight down, the frame is used as
    it is; tilted, it is first re-rendered from above (``planar_view`` auto); ``color``
    False: the node's call when nobody watches the quality image (a depth-only network's
    view made without colour)."""
    from grasp_core import CameraModel
    from grasp_core.se3 import look_at
    from grasp_perception.synthetic import SyntheticBox, SyntheticScene, render

    model = deployed_model(name, net)
    model.workspace_center_base = (0.5, 0.0, 0.0)
    T = look_at(np.array(eye), np.array([0.5, 0.0, 0.0]), up=(1.0, 0.0, 0.0))
    cam = CameraModel.from_intrinsics(615, 615, 319.5, 239.5, 640, 480, T_base_camera=T)
    box = SyntheticBox((0.52, 0.03), (0.03, 0.07, 0.06))
    frame = render(SyntheticScene(boxes=(box,)), cam)[0]

    def full(f):
        return model.detect(f, max_grasps=10, color=color)

    return full, frame


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix of the results file name")
    ap.add_argument(
        "--out", default=None, help="results file (default results/planar_speed<tag>.json)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.randn(1, 1, 300, 300) * 0.05
    nets = {"ggcnn": GGCNN().eval(), "vqvae_ggcnn": VQVAEGGCNN(VQVAE()).eval()}
    loads = [round(os.getloadavg()[0], 2)]
    result: dict = {
        "torch": torch.__version__,
        "threads": args.threads,
        "seed": args.seed,
        "input": [1, 1, 300, 300],
        "reps": args.reps,
        "rounds": args.rounds,
        "deployed_variant": {
            "ggcnn": "fast_ggcnn (FastGGCNN: PlanarGraspModel on CPU; fast_ggcnn_plain_ops "
            "where oneDNN's fused operators are missing)",
            "vqvae_ggcnn": "inference_mode_channels_last (PlanarGraspModel on CPU)",
        },
        "previous_deployed_variant": PREVIOUS,
        "median_ms": {},
        "end_to_end_ms": {},
    }
    for name, net in nets.items():
        runs = variants(net, x, args.threads)
        timing = interleaved(runs, args.warmup, args.reps, args.rounds)
        loads.append(round(os.getloadavg()[0], 2))
        with torch.inference_mode():
            ref = net(x).float()
        result["median_ms"][name] = {}
        for vname, (fn, inp) in runs.items():
            with torch.inference_mode():
                err = float((fn(inp).float() - ref).abs().max())
            result["median_ms"][name][vname] = {**timing[vname], "max_abs_diff": err}
            t = timing[vname]
            print(
                f"{name:12s} {vname:32s} {t['median_ms']:7.2f} ms "
                f"(best round {t['best_round_median_ms']:6.2f}; max |diff| {err:.1e})"
            )
        # the full node path: crop, normalise, network, blur, peaks, grasps
        paths = {"deployed": node_path(name, net, previous=False)}
        if name == "ggcnn":
            paths["previous"] = node_path(name, net, previous=True)
        paths["detect, camera straight down"] = detect_path(name, net, (0.5, 0.0, 0.8))
        paths["detect, camera 34° tilted (view from above)"] = detect_path(
            name, net, (1.0, 0.0, 0.75)
        )
        paths["detect, 34° tilted, quality image not watched"] = detect_path(
            name, net, (1.0, 0.0, 0.75), color=False
        )
        e2e = interleaved(paths, args.warmup, max(args.reps // 2, 10), args.rounds)
        loads.append(round(os.getloadavg()[0], 2))
        result["end_to_end_ms"][name] = e2e
        for k, t in e2e.items():
            print(f"{name:12s} {'end-to-end, ' + k:32s} {t['median_ms']:7.2f} ms")
    g = result["median_ms"]["ggcnn"]
    deployed = "fast_ggcnn" if "fast_ggcnn" in g else "fast_ggcnn_plain_ops"
    result["ggcnn_deployed_over_previous"] = {
        key: round(g[deployed][key] / g[PREVIOUS][key], 3)
        for key in ("median_ms", "best_round_median_ms")
    }
    print("GG-CNN deployed / previous:", result["ggcnn_deployed_over_previous"], "load", loads)
    out = args.out or RESULTS_DIR / f"planar_speed{args.tag}.json"
    write_result(
        "planar_speed",
        result,
        out=out,
        load_avg_1m_during=loads,
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "(unset)"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
