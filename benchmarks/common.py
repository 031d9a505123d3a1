"""What every benchmark records with its numbers, and how it writes them.

Not a benchmark itself. Scripts in this folder import it as ``common`` (the folder is on
``sys.path`` when a script runs).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

#: The checkout this benchmark belongs to (the folder above benchmarks/).
ROOT = Path(__file__).resolve().parents[1]
# This checkout's packages, not those of the tree the editable install points at: run
# from a git worktree, a benchmark imported the main tree's code while recording the
# worktree's commit (found 2026-12-07). Child processes (one per node) get it through
# PYTHONPATH. A script that imports a grasp_* package before this module is caught by
# :func:`machine` instead.
if str(ROOT) not in sys.path[:2]:
    sys.path.insert(1, str(ROOT))  # after the script's own folder
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
)

from grasp_core.files import atomic_write_json  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


class ForeignCheckoutError(RuntimeError):
    """A benchmark's numbers would be recorded under one checkout's commit while another
    checkout's code ran."""


def check_checkout() -> None:
    """Raise :class:`ForeignCheckoutError` when a loaded ``grasp_*`` package comes from a
    folder other than :data:`ROOT`."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("grasp_") or "." in name or not getattr(module, "__file__", None):
            continue
        home = Path(module.__file__).resolve().parents[1]
        if home != ROOT:
            raise ForeignCheckoutError(
                f"this benchmark belongs to {ROOT} but imported {name} from {home}: the "
                f"numbers would carry the wrong commit. Run it with PYTHONPATH={ROOT} "
                "(or import benchmarks/common.py before any grasp_* package)"
            )


check_checkout()  # at import, before a long run, not only when its numbers are written


def machine(**extra: object) -> dict:
    """CPU model, cores, load average, Python version and git commit of this checkout
    (plus ``extra``); refuses when the code that ran is another checkout's
    (:func:`check_checkout`)."""
    check_checkout()
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "git_commit": commit,
        **extra,
    }


def write_result(name: str, result: dict, out: Path | None = None, **machine_extra: object) -> Path:
    """Write ``results/<name>.json`` (or ``out``) atomically with date, command and machine."""
    full = {
        "benchmark": name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(**machine_extra),
        **result,
    }
    return atomic_write_json(out or RESULTS_DIR / f"{name}.json", full)


def run_header(name: str, threads: int, load_start: tuple[float, ...]) -> dict:
    """Benchmark name, date, machine (platform, CPUs, torch threads, load average at the
    start and now) and command: the head of the 6-DOF evaluation JSONs."""
    return {
        "benchmark": name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "threads": threads,
            "load_average_at_start": load_start,
            "load_average_at_end": os.getloadavg(),
        },
        "command": " ".join([sys.executable, *sys.argv]),
    }


def paired_points(per_seed: dict[str, float]) -> dict:
    """Paired differences [points] keyed by seed: per seed, mean, (sample) standard deviation
    and, with two or more seeds, the 95 % t-interval of the mean."""
    diffs = list(per_seed.values())
    mean = statistics.fmean(diffs)
    std = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    entry = {"per_seed_points": dict(per_seed), "mean_points": mean, "std_points": std}
    if len(diffs) > 1:
        from scipy.stats import t

        half = float(t.ppf(0.975, len(diffs) - 1)) * std / math.sqrt(len(diffs))
        entry["ci95_points"] = [mean - half, mean + half]
    return entry
