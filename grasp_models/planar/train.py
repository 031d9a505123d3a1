"""Training of the planar models: seeded, resumable (a checkpoint per epoch), CSV logs,
and a model card with data, seed, command and held-out metrics at the end.

With ``val_data`` (a split of its own objects, never the test set) the grasp models are
evaluated on it (blind crops, top-1 then top-5) every ``val_every`` epochs and the best
of those weights is kept: model selection on validation objects, the test set is only
reported.

``model`` is one of ``ggcnn``, ``ggcnn2``, ``vqvae`` (the unsupervised VQ-VAE, trained on
every training image, labelled or not) and ``vqvae_ggcnn`` (needs a trained ``vqvae``).
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import platform
import random
import shlex
import sys
import time
import warnings
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from grasp_core.errors import ValidationError
from grasp_core.files import file_sha256
from grasp_core.validation import require_choice, require_range
from grasp_models.checkpoint import (
    load_card,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from grasp_models.datasets import CornellDataset, JacquardDataset, PlanarDataset
from grasp_models.datasets.scale import dataset_pixels_per_metre
from grasp_models.datasets.splits import labelled_subset, split_indices
from grasp_models.datasets.torch_dataset import CROP_MODES, ConcatGraspMaps, GraspMapDataset
from grasp_models.errors import CheckpointError, DatasetError
from grasp_models.planar import processing as P
from grasp_models.planar.evaluate import evaluate
from grasp_models.planar.inference import PlanarGraspModel, build_network, load_network, load_vqvae
from grasp_models.planar.networks import WIDTH_LOSSES, grasp_loss
from grasp_models.planar.vqvae import VQVAE, VQVAEGGCNN
from grasp_models.registry import resolve_device

TRAINABLE = ("ggcnn", "ggcnn2", "vqvae", "vqvae_ggcnn")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """What to train on what. ``out`` is the weights file (``.pt``; the card goes beside it,
    the resumable checkpoint and CSV log into ``<out>.run/``)."""

    model: str
    data: str
    out: str
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-3
    # "constant": Adam at ``lr`` throughout; "cosine": ``lr`` decayed to 0 along a half
    # cosine over the run's ``epochs`` (set per step, a function of the epoch and step
    # alone, so a resumed run continues the same curve; resuming with another ``epochs``
    # bends the rest of it)
    lr_schedule: str = "constant"
    # "all": GG-CNN's width MSE over every pixel; "grasp": only inside the grasp regions
    width_loss: str = "all"
    label_fraction: float = 1.0
    test_fraction: float = 0.2
    test_data: str | None = None
    val_data: str | None = None
    val_every: int = 1
    split: str = "object"
    seed: int = 0
    rgb: bool = False
    vqvae: str | None = None
    size: int = 300
    train_size: int = 160
    # "gt": train_size patches around the labels; "image": centred on the image like the
    # blind evaluation crops, crop edges and bare table included; either shifted randomly
    # by up to train_shift px when augmenting
    train_crop: str = "gt"
    train_shift: float = 30.0
    augment: bool = True
    threads: int = 2
    device: str = "cpu"
    # on the CPU, run the network and its batches in channels-last memory, where oneDNN's
    # convolutions are fast (a GG-CNN epoch ~1.2x faster than in the default layout;
    # docs/BENCHMARKS.md, "channels-last"). The same arithmetic up to rounding; no
    # effect on other devices
    channels_last: bool = True
    # layout of data, test_data and val_data (unlabelled_data folders are Cornell's)
    data_format: str = "cornell"
    vq_num_embeddings: int = 128
    vq_dim: int = 16
    vq_train_decoder: bool = True  # False: ablation, only the cascaded GG-CNN is trained
    # vqvae_ggcnn: the decoder (pretrained with the VQ-VAE) learns at this multiple of
    # ``lr``, the freshly initialised GG-CNN at ``lr`` itself; 1.0 trains both alike
    vq_decoder_lr_scale: float = 1.0
    # weights (.pt, card beside) of the same architecture to start from instead of a
    # random initialisation: fine-tuning, e.g. the shipped weights on your own data
    init_weights: str | None = None
    # vqvae: more Cornell-format folders whose every image joins ``data``'s as a training
    # image (labels unused): unlabelled captures, e.g. ``grasp datagen-planar --objects 0``
    unlabelled_data: tuple[str, ...] = ()

    @property
    def in_channels(self) -> int:
        """Network input channels: depth, plus RGB with ``rgb``."""
        return 4 if self.rgb else 1

    def __post_init__(self) -> None:
        require_choice("model", self.model, TRAINABLE)
        require_choice("split", self.split, ("image", "object"))
        require_choice("data_format", self.data_format, tuple(DATASET_FORMATS))
        require_choice("train_crop", self.train_crop, CROP_MODES)
        require_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        require_choice("width_loss", self.width_loss, WIDTH_LOSSES)
        require_range("train_shift", self.train_shift, 0.0, None)
        require_range("epochs", self.epochs, 1, None)
        require_range("batch_size", self.batch_size, 1, None)
        require_range("lr", self.lr, 0.0, None)
        require_range("threads", self.threads, 1, None)
        resolve_device(self.device)  # a device this machine has, before any data is read
        require_range("val_every", self.val_every, 1, None)
        require_range("label_fraction", self.label_fraction, 0.0, 1.0, low_inclusive=False)
        require_range("vq_decoder_lr_scale", self.vq_decoder_lr_scale, 0.0, None)
        require_range("vq_num_embeddings", self.vq_num_embeddings, 2, None)
        require_range("vq_dim", self.vq_dim, 1, None)
        if self.init_weights and self.model == "vqvae":
            raise CheckpointError("init_weights: only the grasp models can start from weights")
        if self.model == "vqvae_ggcnn" and not (self.vqvae or self.init_weights):
            raise CheckpointError(
                "vqvae_ggcnn needs --vqvae PATH to a trained vqvae (.pt), or --init-weights "
                "of a vqvae_ggcnn to fine-tune (its encoder and codebook come along)"
            )
        if self.model == "vqvae_ggcnn" and self.vqvae and self.init_weights:
            raise CheckpointError(
                "vqvae_ggcnn: give --vqvae or --init-weights, not both (the init weights "
                "carry their own encoder and codebook, which would replace the vqvae's)"
            )
        codebook = {"vq_num_embeddings": self.vq_num_embeddings, "vq_dim": self.vq_dim}
        changed = [k for k, v in codebook.items() if v != getattr(TrainConfig, k)]
        if changed and self.model != "vqvae":
            raise ValidationError(
                f"{', '.join(changed)}: the codebook is set when training the vqvae, not "
                f"{self.model} (a vqvae_ggcnn takes its VQ-VAE's)"
            )
        if self.unlabelled_data and self.model != "vqvae":
            raise CheckpointError(
                f"unlabelled_data: only the vqvae trains on unlabelled images, not {self.model}"
            )


#: dataset layouts ``grasp train`` / ``grasp eval`` read
DATASET_FORMATS = {"cornell": CornellDataset, "jacquard": JacquardDataset}


def open_dataset(root: str, fmt: str = "cornell", rgb: bool = False) -> PlanarDataset:
    """The dataset at ``root`` in layout ``fmt`` (``cornell`` or ``jacquard``)."""
    return DATASET_FORMATS[require_choice("data format", fmt, tuple(DATASET_FORMATS))](root, rgb)


def learning_rate(cfg: TrainConfig, progress: float) -> float:
    """The learning rate at ``progress`` = (epochs done, fractions included) / ``cfg.epochs``."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    return 0.5 * cfg.lr * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


#: Settings a resumed run may change: the length, where it is written, and how it runs
#: (threads, device and memory layout change the speed, not what is learned).
RESUME_FREE = ("epochs", "out", "threads", "device", "channels_last")


def config_changes(saved: dict, cfg: TrainConfig) -> list[str]:
    """The fields in which a checkpoint's saved config differs from ``cfg``,
    :data:`RESUME_FREE` aside. Fields added to :class:`TrainConfig` after the checkpoint
    was written count as their defaults."""
    now = json.loads(json.dumps(asdict(cfg)))  # tuples as lists, on both sides
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    old = json.loads(json.dumps({**defaults, **saved}))
    keys = sorted((set(old) | set(now)) - set(RESUME_FREE))
    return [k for k in keys if old.get(k) != now.get(k)]


def data_fingerprint(cfg: TrainConfig) -> dict[str, dict]:
    """Per data folder of ``cfg`` (data, test, validation, unlabelled): how many files it
    holds and a sha256 over their relative paths and sizes. A resumed run must see the
    same files (the split and the labelled subset are drawn from them)."""
    import hashlib

    out = {}
    roots = [cfg.data, cfg.test_data, cfg.val_data, *cfg.unlabelled_data]
    for root in dict.fromkeys(r for r in roots if r):
        files = sorted(p for p in Path(root).rglob("*") if p.is_file())
        h = hashlib.sha256()
        for p in files:
            h.update(f"{p.relative_to(root).as_posix()}\0{p.stat().st_size}\n".encode())
        out[str(root)] = {"files": len(files), "sha256": h.hexdigest()}
    return out


def same_config(saved: dict, cfg: TrainConfig) -> bool:
    """Whether a checkpoint's saved config is ``cfg``'s (:func:`config_changes` empty)."""
    return not config_changes(saved, cfg)


def memory_format(cfg: TrainConfig, device: str) -> torch.memory_format:
    """The layout training runs the network and its batches in (``cfg.channels_last``)."""
    if cfg.channels_last and torch.device(device).type == "cpu":
        return torch.channels_last
    return torch.contiguous_format


def contiguous_cpu(t: torch.Tensor) -> torch.Tensor:
    """A detached CPU copy of ``t`` in the default (contiguous) layout."""
    return t.detach().cpu().clone(memory_format=torch.contiguous_format)


def run_state(net: torch.nn.Module) -> dict[str, Any]:
    """What a checkpoint needs beyond the state_dicts for a resumed run to go on exactly as
    one never stopped: the global torch RNG (the VQ-VAE's dead-code restarts draw on it)
    and the non-persistent buffers (the quantiser's idle counts), which ``state_dict``
    leaves out so shipped weights stay free of training bookkeeping."""
    persistent = net.state_dict().keys()
    return {
        **rng_state(),  # on a GPU the restarts draw on its generators: saved too
        "buffers": {n: contiguous_cpu(b) for n, b in net.named_buffers() if n not in persistent},
    }


def restore_run_state(net: torch.nn.Module, state: dict[str, Any]) -> None:
    """Put back :func:`run_state` from a checkpoint (absent in those written before
    08f9e50, 2026-12-07: the run then resumes as before, the RNG reseeded and idle counts at 0)."""
    restore_rng_state(state)
    buffers = dict(net.named_buffers())
    for name, value in state.get("buffers", {}).items():
        if name in buffers:
            buffers[name].copy_(value)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - third-party code may use the global stream
    torch.manual_seed(seed)


def dataset_split(
    cfg: TrainConfig, source: CornellDataset, test_source: CornellDataset | None = None
) -> dict[str, list[int]]:
    """Seeded train/test split (or all of ``source`` for training and the labelled images of
    ``test_source`` for testing) and the labelled subset of the training images."""
    flags = source.labelled_flags()
    if test_source is None:
        train, test = split_indices(source.object_ids(), cfg.test_fraction, cfg.split, cfg.seed)
        test = [i for i in test if flags[i]]
    else:
        train = list(range(len(source)))
        test = test_source.labelled_indices()
    labelled_train = [i for i in train if flags[i]]
    labelled = (
        labelled_subset(labelled_train, cfg.label_fraction, cfg.seed) if labelled_train else []
    )
    return {"train": train, "labelled": labelled, "test": test}


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    if cfg.model == "vqvae":
        return VQVAE(cfg.in_channels, num_embeddings=cfg.vq_num_embeddings, dim=cfg.vq_dim)
    if cfg.model == "vqvae_ggcnn":
        if cfg.vqvae:
            vq, _ = load_vqvae(cfg.vqvae)
        else:  # fine-tuning: the init weights' own VQ-VAE (encoder, codebook, decoder)
            vq = VQVAE.from_config(load_card(Path(cfg.init_weights))["vq_config"])
        return VQVAEGGCNN(vq, train_decoder=cfg.vq_train_decoder)
    return build_network({"arch": cfg.model, "in_channels": cfg.in_channels})


def param_groups(net: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """The optimiser's parameter groups, each with the ``lr_scale`` its learning rate is
    ``lr`` times: one group, or for a vqvae_ggcnn whose decoder trains at
    ``vq_decoder_lr_scale`` the decoder and the rest apart."""
    trainable = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    scale = cfg.vq_decoder_lr_scale
    if cfg.model != "vqvae_ggcnn" or scale == 1.0:
        return [{"params": [p for _, p in trainable], "lr_scale": 1.0}]
    decoder = [p for n, p in trainable if n.startswith("decoder.")]
    rest = [p for n, p in trainable if not n.startswith("decoder.")]
    return [
        {"params": rest, "lr_scale": 1.0},
        {"params": decoder, "lr_scale": scale},  # the training loop sets each lr
    ]


def initialise(net: torch.nn.Module, cfg: TrainConfig) -> dict:
    """Load ``cfg.init_weights`` into ``net``; returns what the card records of them."""
    path = Path(cfg.init_weights)
    init, card = load_network(path)
    arch, channels = card.get("arch"), int(card.get("in_channels", 1))
    if arch != cfg.model or channels != cfg.in_channels:
        raise CheckpointError(
            f"init_weights {path}: a {arch} with {channels} input channel(s), not the "
            f"{cfg.model} with {cfg.in_channels} being trained"
        )
    try:
        net.load_state_dict(init.state_dict())
    except RuntimeError as exc:  # e.g. a vqvae_ggcnn of another codebook size
        raise CheckpointError(f"init_weights {path} do not fit the {cfg.model}: {exc}") from exc
    # how those weights were made, so the new card alone says how to remake it (a chain
    # of fine-tunes nests: their own init_weights record comes along)
    keys = ("command", "history", "selection", "date", "init_weights")
    made = {k: card[k] for k in keys if k in card}
    return {"path": str(path), "sha256": file_sha256(path), **made}


def training_data(
    cfg: TrainConfig, source: CornellDataset, indices: list[int]
) -> GraspMapDataset | ConcatGraspMaps:
    """The training crops. Fully convolutional: train on ``train_size`` patches at full
    resolution, around the labels or (``train_crop="image"``) centred on the image like
    the blind crops, for the grasp models; anywhere near the image centre for the VQ-VAE,
    over ``indices`` of ``source`` and every image of ``cfg.unlabelled_data``.
    The model card's processing (inference, evaluation) uses blind ``size`` crops."""
    is_vq = cfg.model == "vqvae"

    def crops(src: CornellDataset, idx: list[int]) -> GraspMapDataset:
        return GraspMapDataset(
            src,
            idx,
            P.ProcessingConfig(size=min(cfg.train_size, cfg.size)),
            augment=cfg.augment,
            crop="image" if is_vq else cfg.train_crop,
            rgb=cfg.rgb,
            seed=cfg.seed,
            shift=80.0 if is_vq else cfg.train_shift,
            with_targets=not is_vq,
        )

    if not cfg.unlabelled_data:
        return crops(source, indices)
    extra = [CornellDataset(root, load_rgb=cfg.rgb) for root in cfg.unlabelled_data]
    return ConcatGraspMaps(
        [crops(source, indices), *(crops(s, list(range(len(s)))) for s in extra)]
    )


def command_line() -> str:
    """This process's command line, shell-quoted."""
    return " ".join(shlex.quote(a) for a in sys.argv)


def card_for(
    cfg: TrainConfig,
    net: torch.nn.Module,
    split: dict,
    unlabelled: int = 0,
    ppm: float | None = None,
    has_objects: bool = True,
) -> dict:
    """``unlabelled``: how many images ``cfg.unlabelled_data`` added to the VQ-VAE's;
    ``ppm``: the training data's scale (:func:`dataset_pixels_per_metre`); ``has_objects``:
    whether the data names each image's object (else an object-wise split is image-wise)."""
    card = {
        "arch": cfg.model,
        "in_channels": cfg.in_channels,
        "processing": asdict(P.ProcessingConfig(size=cfg.size, pixels_per_metre=ppm)),
        "data": {
            "root": cfg.data,
            "split": cfg.split
            if cfg.split == "image" or cfg.test_data or has_objects
            else "object requested, image-wise in effect: no objects.txt",
            "test_fraction": None if cfg.test_data else cfg.test_fraction,
            "test_root": cfg.test_data,
            "label_fraction": cfg.label_fraction,
            "train_images": len(split["train"]),
            "unlabelled_roots": list(cfg.unlabelled_data),
            "unlabelled_root_images": unlabelled,
            "labelled_train_images": len(split["labelled"]),
            "test_images": len(split["test"]),
        },
        "seed": cfg.seed,
        "train_config": asdict(cfg),
        "command": command_line(),
        "parameters": sum(p.numel() for p in net.parameters()),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if isinstance(net, VQVAE | VQVAEGGCNN):
        card["vq_config"] = net.config if isinstance(net, VQVAE) else net.vq_config
    return card


def validate(
    net: torch.nn.Module, card: dict, cfg: TrainConfig, source, indices, val_ppm=None
) -> dict:
    """Blind-crop top-1/top-5 of a copy of ``net`` (training state untouched), the
    validation images (of scale ``val_ppm``, :func:`dataset_pixels_per_metre`) zoomed to
    the training scale as the detector would."""
    model = PlanarGraspModel(copy.deepcopy(net).cpu(), card, name=cfg.model, device="cpu")
    return evaluate(model, source, indices, crop="image", zoom=model.data_zoom(val_ppm))


def validation_line(epoch: int, v: dict, best: dict) -> str:
    """What ``grasp train`` prints after validating at ``epoch``: top-1/top-5 of ``v``
    and which epoch the run keeps so far (``best``)."""
    if best["epoch"] == epoch:
        kept = "best so far: kept"
    else:
        kept = f"epoch {best['epoch']} stays best at {best['top1']:.1%}"
    return f"epoch {epoch}: validation top-1 {v['top1']:.1%}, top-5 {v['top5']:.1%} ({kept})"


def train(cfg: TrainConfig, progress: bool = True) -> dict:
    """Train (or resume) and return the model card written beside ``cfg.out``."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out = Path(cfg.out)
    run_dir = out.with_suffix(".run")
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"
    source = open_dataset(cfg.data, cfg.data_format, cfg.rgb)
    test_source = open_dataset(cfg.test_data, cfg.data_format, cfg.rgb) if cfg.test_data else source
    split = dataset_split(cfg, source, test_source if cfg.test_data else None)
    ppm = dataset_pixels_per_metre(source)  # before training: a bad camera.json stops it here
    if cfg.split == "object" and not cfg.test_data and not source.has_object_ids():
        warnings.warn(
            f"{cfg.data}: no objects.txt names each image's object, so the object-wise split "
            "is image-wise (views of one object can be in training and test); the card says so",
            stacklevel=2,
        )
    is_vq = cfg.model == "vqvae"
    train_idx = split["train"] if is_vq else split["labelled"]
    if not train_idx:
        raise CheckpointError(f"{cfg.data}: no training images for {cfg.model}")
    if cfg.test_data and not is_vq and not split["test"]:  # before any epoch, not after all
        raise DatasetError(
            f"{cfg.test_data}: no labelled images (pcdNNNNcpos.txt with a rectangle) to test on"
        )
    data = training_data(cfg, source, train_idx)
    unlabelled = len(data) - len(train_idx)  # images of cfg.unlabelled_data
    device = resolve_device(cfg.device)
    layout = memory_format(cfg, device)
    net = build_model(cfg).to(device, memory_format=layout)
    opt = torch.optim.Adam(param_groups(net, cfg), lr=cfg.lr)
    start_epoch = 0
    history: list[dict] = []  # each call that trained this run: command, first epoch
    init = None  # what the run started from, when not a random initialisation
    fingerprint = data_fingerprint(cfg)
    if ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        changed = config_changes(state.get("config", {}), cfg)
        if changed:
            saved = {**asdict(cfg), **state.get("config", {})}
            diff = ", ".join(f"{k} {saved.get(k)!r} -> {getattr(cfg, k, None)!r}" for k in changed)
            raise CheckpointError(
                f"{ckpt_path} was written for another configuration ({diff}): rerun with "
                "the saved values to resume, or give another --out to start a new run"
            )
        saved_data = state.get("data")  # absent: checkpoints from before 2026-12-07
        if saved_data is not None and saved_data != fingerprint:
            moved = {
                r: f"{saved_data.get(r, {}).get('files')} files then, {v['files']} now"
                for r, v in fingerprint.items()
                if saved_data.get(r) != v
            }
            raise CheckpointError(
                f"{ckpt_path}: the data changed since it was written ({moved}); restore it "
                "to resume, or start a new run (--init-weights from this one to continue)"
            )
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        restore_run_state(net, state)
        start_epoch = int(state["epoch"])
        # checkpoints written before the record was kept: the earlier calls are unknown
        history = state.get("history") or [{"command": None, "from_epoch": 0}]
        init = state.get("init")
        print(f"resuming {cfg.model} from epoch {start_epoch}", file=sys.stderr)
    elif cfg.init_weights:
        init = initialise(net, cfg)
    if cfg.epochs > start_epoch:
        history = [*history, {"command": command_line(), "from_epoch": start_epoch}]
    val_source = val_idx = val_ppm = None
    best: dict | None = None  # {"epoch", "top1", "top5", "model"} of the best validation
    if cfg.val_data and not is_vq:
        val_source = open_dataset(cfg.val_data, cfg.data_format, cfg.rgb)
        val_idx = val_source.labelled_indices()
        if not val_idx:
            raise CheckpointError(f"{cfg.val_data}: no labelled validation images")
        val_ppm = dataset_pixels_per_metre(val_source)
    if start_epoch and ckpt_path.is_file():
        best = load_checkpoint(ckpt_path).get("best")
    log_path = run_dir / "log.csv"
    new_log = not log_path.is_file() or start_epoch == 0
    with log_path.open("w" if new_log else "a", newline="") as fh:
        writer = csv.writer(fh)
        if new_log:
            writer.writerow(["epoch", "loss", "seconds", "details"])
        for epoch in range(start_epoch, cfg.epochs):
            data.epoch = epoch
            gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
            loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, generator=gen)
            net.train()
            t0, total, count, details = time.time(), 0.0, 0, {}
            bar = tqdm(
                loader, desc=f"{cfg.model} epoch {epoch + 1}/{cfg.epochs}", disable=not progress
            )
            for step, (x, y, _) in enumerate(bar):
                lr = learning_rate(cfg, (epoch + step / len(loader)) / cfg.epochs)
                for group in opt.param_groups:
                    group["lr"] = lr * group.get("lr_scale", 1.0)  # absent: older checkpoints
                x, y = x.to(device, memory_format=layout), y.to(device)
                loss, details = net.loss(x) if is_vq else grasp_loss(net(x), y, cfg.width_loss)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(x)
                count += len(x)
                bar.set_postfix(loss=f"{total / count:.4f}")
            mean = total / max(count, 1)
            if val_source is not None and (
                (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs
            ):
                v = validate(
                    net,
                    card_for(cfg, net, split, unlabelled, ppm, source.has_object_ids()),
                    cfg,
                    val_source,
                    val_idx,
                    val_ppm,
                )
                details = {**details, "val_top1": v["top1"], "val_top5": v["top5"]}
                if best is None or (v["top1"], v["top5"]) > (best["top1"], best["top5"]):
                    state = {k: contiguous_cpu(t) for k, t in net.state_dict().items()}
                    best = {"epoch": epoch + 1, "top1": v["top1"], "top5": v["top5"]}
                    best["model"] = state
                if progress:  # the bars show the loss; the choice of epoch is said here
                    tqdm.write(validation_line(epoch + 1, v, best), file=sys.stderr)
            writer.writerow(
                [epoch + 1, f"{mean:.6f}", f"{time.time() - t0:.1f}", json.dumps(details)]
            )
            fh.flush()
            save_checkpoint(
                ckpt_path,
                {
                    "model": net.state_dict(),
                    "optimizer": opt.state_dict(),
                    "epoch": epoch + 1,
                    "config": asdict(cfg),
                    "loss": mean,
                    "best": best,
                    "history": history,
                    "init": init,
                    "data": fingerprint,
                    **run_state(net),
                },
            )
    card = card_for(cfg, net, split, unlabelled, ppm, source.has_object_ids())
    card["data"]["fingerprint"] = fingerprint
    if len(history) > 1:  # a resumed run: which call trained from which epoch on
        card["history"] = history
    if init is not None:
        card["init_weights"] = init
    card["final_train_loss"] = (
        mean if cfg.epochs > start_epoch else load_checkpoint(ckpt_path)["loss"]
    )
    if best is not None:
        net.load_state_dict(best["model"])
        card["selection"] = {
            "val_root": cfg.val_data,
            "val_images": len(val_idx or []),
            "val_every": cfg.val_every,
            "chosen_epoch": best["epoch"],
            "val_top1": best["top1"],
            "val_top5": best["top5"],
            "rule": "best blind top-1 (then top-5) on the validation objects; earliest wins",
        }
    if not is_vq:
        model = PlanarGraspModel(net.cpu(), card, name=cfg.model, device="cpu")
        card["metrics"] = {
            crop: evaluate(model, test_source, split["test"], crop=crop, progress=progress)
            for crop in ("image", "gt")
        }
    net = net.cpu().to(memory_format=torch.contiguous_format)  # the file as before
    save_checkpoint(out, net.state_dict(), card)
    os.sync()
    return card
