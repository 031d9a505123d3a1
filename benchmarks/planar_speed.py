"""Inference speed of the planar models on a 300x300 depth crop, batch 1, on the CPU.

Compares ways of running the same network (eager, inference mode, channels-last,
TorchScript trace + freeze, bfloat16 autocast) and times the full path the node uses
(crop + normalise + network + blur + peaks + grasps). Untrained weights time the same
as trained ones (same graph); pass --weights to time shipped files.

    .venv/bin/python benchmarks/planar_speed.py --threads 2
Writes benchmarks/results/planar_speed.json.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from grasp_models.planar.networks import GGCNN
from grasp_models.planar.vqvae import VQVAE, VQVAEGGCNN

RESULTS = Path(__file__).resolve().parent / "results" / "planar_speed.json"


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


def variants(net: torch.nn.Module, x: torch.Tensor) -> dict:
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

    return {
        "eager_no_grad": (no_grad(net), x),
        "inference_mode": (inference(net), x),
        "inference_mode_channels_last": (inference(cl), x_cl),
        "jit_trace_freeze": (no_grad(traced), x),
        "jit_trace_freeze_channels_last": (no_grad(traced_cl), x_cl),
        "bf16_autocast_channels_last": (inference(cl, bf16=True), x_cl),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.randn(1, 1, 300, 300) * 0.05
    nets = {"ggcnn": GGCNN(), "vqvae_ggcnn": VQVAEGGCNN(VQVAE())}
    result: dict = {
        "benchmark": "planar_speed",
        "command": " ".join([sys.executable, *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "node": platform.node(),
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "torch": torch.__version__,
        "threads": args.threads,
        "seed": args.seed,
        "input": [1, 1, 300, 300],
        "reps": args.reps,
        "rounds": args.rounds,
        "deployed_variant": "inference_mode_channels_last (PlanarGraspModel on CPU)",
        "median_ms": {},
        "end_to_end_ms": {},
    }
    for name, net in nets.items():
        runs = variants(net, x)
        timing = interleaved(runs, args.warmup, args.reps, args.rounds)
        ref = runs["eager_no_grad"][0](x).float()
        result["median_ms"][name] = {}
        for vname, (fn, inp) in runs.items():
            err = float((fn(inp).float() - ref).abs().max())
            result["median_ms"][name][vname] = {**timing[vname], "max_abs_diff": err}
            t = timing[vname]
            print(
                f"{name:12s} {vname:32s} {t['median_ms']:7.2f} ms "
                f"(best round {t['best_round_median_ms']:6.2f}; max |diff| {err:.1e})"
            )
        # the full node path: crop, normalise, network (as deployed), blur, peaks, grasps
        from grasp_core import CameraModel
        from grasp_models.planar.inference import PlanarGraspModel

        card = {"arch": name, "in_channels": 1}
        if name == "vqvae_ggcnn":
            card["vq_config"] = net.vq_config
        model = PlanarGraspModel(net, card, name=name)
        cam = CameraModel.from_intrinsics(615, 615, 319.5, 239.5, 640, 480)
        depth = np.full((480, 640), 0.8, np.float32)
        depth[200:280, 280:360] = 0.75

        def full(d, model=model, cam=cam):
            return model.run(d, max_grasps=10)

        ms = median_ms(full, depth, args.warmup, max(args.reps // 2, 10))
        result["end_to_end_ms"][name] = round(ms, 2)
        print(f"{name:12s} {'end-to-end (run)':32s} {ms:7.2f} ms")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
