"""CPU training speed of ``grasp train`` with and without one of its speed settings.

Two ``grasp train`` processes on the same data and configuration run side by side (same
machine load for both), one as ``grasp train`` runs by default, one with the setting
``--compare`` names turned off:

* ``malloc``: the glibc malloc tuning (``grasp_models/malloc.py``) against
  ``--no-malloc-tuning``. No arithmetic changes: the final losses must be equal.
* ``channels-last``: channels-last memory on the CPU against ``--no-channels-last``. The
  same arithmetic up to rounding: the final losses are reported with their relative
  difference.

Reported per process: median seconds per epoch (from the run's log.csv, the first epoch
left out as warm-up), user and system CPU seconds and peak resident memory
(``os.wait4``), and the median-epoch ratio (off / default).

    .venv/bin/python benchmarks/planar_train_speed.py --compare malloc \
        --data runs/planar/synth_train_v4 --test-data runs/planar/synth_test_v4 --epochs 12
Writes benchmarks/results/planar_train_malloc.json (``--compare malloc``) or
planar_train_channels_last.json.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import write_result

#: ``--compare``: name of the default run, name of the other run, the flag that makes it
COMPARISONS = {
    "malloc": ("tuned", "glibc_defaults", "--no-malloc-tuning"),
    "channels-last": ("channels_last", "contiguous", "--no-channels-last"),
}


def read_log(log: Path) -> tuple[list[float], float]:
    """Seconds of every epoch and the last epoch's loss from a run's log.csv."""
    with log.open() as fh:
        rows = list(csv.DictReader(fh))
    return [float(row["seconds"]) for row in rows], float(rows[-1]["loss"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", choices=sorted(COMPARISONS), default="malloc")
    ap.add_argument("--data", required=True)
    ap.add_argument("--test-data", required=True)
    ap.add_argument("--model", default="ggcnn")
    ap.add_argument("--vqvae", default=None, help="the VQ-VAE (.pt) of --model vqvae_ggcnn")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--label-fraction", type=float, default=0.1)
    ap.add_argument("--train-size", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    grasp = Path(sys.executable).with_name("grasp")
    work = Path(tempfile.mkdtemp(prefix="train_speed_"))
    procs = {}
    default, off, off_flag = COMPARISONS[args.compare]
    vq = ["--vqvae", args.vqvae] if args.vqvae else []
    try:
        for name, extra in ((default, vq), (off, [*vq, off_flag])):
            cmd = [
                str(grasp), "train", "--model", args.model, "--data", args.data,
                "--test-data", args.test_data, "--epochs", str(args.epochs),
                "--label-fraction", str(args.label_fraction), "--train-crop", "image",
                "--train-size", str(args.train_size), "--train-shift", "20", "--lr", "2e-3",
                "--seed", "0", "--threads", str(args.threads), "--quiet",
                "--out", str(work / f"{name}.pt"), *extra,
            ]  # fmt: skip
            env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
            procs[name] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        result: dict = {"config": vars(args), "runs": {}}
        for name, proc in procs.items():
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{name}: grasp train failed (exit {status})")
            secs, loss = read_log(work / f"{name}.run" / "log.csv")
            result["runs"][name] = {
                "median_epoch_s": statistics.median(secs[1:] or secs),
                "epoch_s": secs,
                "user_cpu_s": round(usage.ru_utime, 1),
                "system_cpu_s": round(usage.ru_stime, 1),
                "max_rss_mib": round(usage.ru_maxrss / 1024, 1),
                "final_train_loss": loss,
            }
        runs = result["runs"]
        result["speedup_median_epoch"] = (
            runs[off]["median_epoch_s"] / runs[default]["median_epoch_s"]
        )
        a, b = runs[default]["final_train_loss"], runs[off]["final_train_loss"]
        result["same_final_loss"] = a == b
        result["final_loss_rel_diff"] = abs(a - b) / max(abs(b), 1e-12)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    name = "planar_train_" + args.compare.replace("-", "_")
    out = write_result(name, result, Path(args.out) if args.out else None)
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
