"""Training of the sampler (Eq. 2) and the evaluator (Eq. 4) on CPU, resumable.

Each step takes ``clouds_per_step`` random (object, view) pairs with
``grasps_per_cloud`` grasps each (paper: one view and 64 grasps per batch); evaluator
batches hold 30% positives, 30% negatives, 40% hard negatives. Adam; checkpoints every
``save_every`` steps (atomic), final weights as a small state_dict (float16 on disk) plus
a JSON model card.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from grasp_core.errors import ValidationError
from grasp_core.validation import require_choice, require_range
from grasp_models.checkpoint import (
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
    save_json,
)
from grasp_models.graspnet6dof.control_points import control_points
from grasp_models.graspnet6dof.dataset import ObjectGrasps, load_folder, pick, view_sample
from grasp_models.graspnet6dof.evaluator import GraspEvaluator
from grasp_models.graspnet6dof.vae import GraspSamplerVAE

EVAL_MIX = (0.3, 0.3, 0.4)


@dataclass(frozen=True)
class TrainConfig:
    model: str  # "vae" | "evaluator"
    data: str
    out: str
    steps: int = 2000
    minutes: float = 20.0
    lr: float = 1e-3
    latent_size: int = 2
    grasps_per_cloud: int = 64
    clouds_per_step: int = 2
    seed: int = 0
    threads: int = 1
    save_every: int = 100
    bf16: bool = False  # evaluator forward/backward under CPU bfloat16 autocast
    # evaluator batch fractions: positives, negatives, hard negatives (paper: 30/30/40)
    eval_mix: tuple[float, float, float] = EVAL_MIX

    def __post_init__(self) -> None:
        require_choice("model", self.model, ("vae", "evaluator"))
        counts = ("steps", "latent_size", "grasps_per_cloud", "clouds_per_step", "threads")
        for name in (*counts, "save_every"):
            require_range(name, getattr(self, name), 1, None)
        require_range("minutes", self.minutes, 0.0, None, low_inclusive=False)
        require_range("lr", self.lr, 0.0, None)
        mix = tuple(float(x) for x in self.eval_mix)
        if len(mix) != 3 or min(mix) < 0 or abs(sum(mix) - 1.0) > 1e-6:
            raise ValidationError(
                f"TrainConfig.eval_mix: three fractions >= 0 summing to 1 "
                f"(positives, negatives, hard negatives), got {self.eval_mix}"
            )
        object.__setattr__(self, "eval_mix", mix)


def build_model(model: str, latent_size: int = 2) -> torch.nn.Module:
    return GraspSamplerVAE(latent_size) if model == "vae" else GraspEvaluator()


def _vae_loss(vae: GraspSamplerVAE, objs, cfg: TrainConfig, rng, cp) -> tuple[torch.Tensor, dict]:
    total, logs = 0.0, []
    for _ in range(cfg.clouds_per_step):
        obj = objs[rng.integers(len(objs))]
        s = view_sample(obj, int(rng.integers(len(obj.views))), rng)
        T = s.T_centroid_object @ pick(obj.positives, cfg.grasps_per_cloud, rng)
        loss, parts = vae.loss(
            torch.from_numpy(s.cloud)[None], torch.as_tensor(T, dtype=torch.float32), cp
        )
        total = total + loss / cfg.clouds_per_step
        logs.append(parts)
    return total, {k: float(np.mean([p[k] for p in logs])) for k in logs[0]}


def evaluator_batch(
    obj: ObjectGrasps, n: int, rng: np.random.Generator, mix: tuple[float, ...] = EVAL_MIX
):
    """(T_object_grasp (n,4,4), labels (n,)) with ``mix`` = fractions of positives,
    negatives and hard negatives (default the paper's 30/30/40)."""
    n_pos = round(mix[0] * n)
    n_neg = round(mix[1] * n)
    n_hard = n - n_pos - n_neg
    hard = obj.hard_negatives if len(obj.hard_negatives) else obj.negatives
    T = np.concatenate(
        [pick(obj.positives, n_pos, rng), pick(obj.negatives, n_neg, rng), pick(hard, n_hard, rng)]
    )
    y = np.concatenate([np.ones(n_pos), np.zeros(n - n_pos)])
    return T, y


def _eval_loss(ev: GraspEvaluator, objs, cfg: TrainConfig, rng) -> tuple[torch.Tensor, dict]:
    total, accs, losses = 0.0, [], []
    for _ in range(cfg.clouds_per_step):
        obj = objs[rng.integers(len(objs))]
        s = view_sample(obj, int(rng.integers(len(obj.views))), rng)
        T, y = evaluator_batch(obj, cfg.grasps_per_cloud, rng, cfg.eval_mix)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = ev(
                torch.from_numpy(s.cloud)[None],
                torch.as_tensor(s.T_centroid_object @ T, dtype=torch.float32),
            )
        logits = logits.float()
        yt = torch.as_tensor(y, dtype=torch.float32)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yt)
        total = total + loss / cfg.clouds_per_step
        losses.append(loss.item())
        accs.append(((logits > 0).float() == yt).float().mean().item())
    return total, {"loss": float(np.mean(losses)), "accuracy": float(np.mean(accs))}


def shipped_state(model: torch.nn.Module, kind: str) -> dict[str, torch.Tensor]:
    """The weights to ship, float16: the VAE's decoder only (inference needs no encoder)."""
    sd = model.state_dict()
    if kind == "vae":
        sd = {k: v for k, v in sd.items() if k.startswith("dec_")}
    return {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}


def train(cfg: TrainConfig) -> dict:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    objs = [o for o in load_folder(Path(cfg.data)) if len(o.positives) and o.views]
    if not objs:
        raise ValueError(f"{cfg.data}: no object with positives and views")
    model = build_model(cfg.model, cfg.latent_size)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    ckpt = out.with_suffix(".ckpt")
    step, history, state = 0, [], {}
    if ckpt.is_file():
        state = load_checkpoint(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        step, history = int(state["step"]), json.loads(state["history"])
        print(f"resumed {ckpt} at step {step}")
    rng = np.random.default_rng([cfg.seed, step])  # older checkpoints: a fresh stream
    if "np_rng" in state:  # absent in older checkpoints
        # both random streams where the checkpoint left them: the resumed run draws the
        # batches (and the VAE its latents) a run never stopped would have drawn
        rng.bit_generator.state = json.loads(state["np_rng"])
        restore_rng_state(state)
    cp = torch.as_tensor(control_points(), dtype=torch.float32)
    sched_total = cfg.steps
    t0 = time.perf_counter()
    running: list[dict] = []
    while step < cfg.steps and (time.perf_counter() - t0) < cfg.minutes * 60:
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / sched_total))
        for g in opt.param_groups:
            g["lr"] = lr
        if cfg.model == "vae":
            loss, parts = _vae_loss(model, objs, cfg, rng, cp)
        else:
            loss, parts = _eval_loss(model, objs, cfg, rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        running.append(parts)
        if step % cfg.save_every == 0 or step == cfg.steps:
            row = {
                "step": step,
                "lr": lr,
                **{k: float(np.mean([r[k] for r in running])) for k in running[0]},
            }
            history.append(row)
            running = []
            print(json.dumps(row), flush=True)
            save_checkpoint(
                ckpt,
                {"model": model.state_dict(), "optim": opt.state_dict(), "step": step,
                 "history": json.dumps(history), "np_rng": json.dumps(rng.bit_generator.state),
                 **rng_state()},
            )  # fmt: skip
    card = {
        "model": f"graspnet6dof_{cfg.model}",
        "architecture": type(model).__name__,
        "latent_size": cfg.latent_size if cfg.model == "vae" else None,
        "data": cfg.data,
        "objects": len(objs),
        "positives": int(sum(len(o.positives) for o in objs)),
        "steps": step,
        "config": asdict(cfg),
        "history": history[-10:],
        "seconds_this_run": round(time.perf_counter() - t0, 1),
        "command": f"grasp train-6dof --model {cfg.model} --data {cfg.data} --out {cfg.out} "
        f"--steps {cfg.steps} --lr {cfg.lr} --latent-size {cfg.latent_size} "
        f"--grasps-per-cloud {cfg.grasps_per_cloud} --clouds-per-step {cfg.clouds_per_step} "
        f"--seed {cfg.seed}"
        + (" --bf16" if cfg.bf16 else "")
        + ("" if cfg.eval_mix == EVAL_MIX else " --eval-mix " + " ".join(map(str, cfg.eval_mix))),
        "dtype_on_disk": "float16",
    }
    save_checkpoint(out, shipped_state(model, cfg.model), card)
    save_json(out.with_suffix(".history.json"), {"history": history})
    return card
