#!/usr/bin/env bash
# Idempotent set-up of .venv for grasp_bringup (called by `make setup`, `make demo`, `make test`).
# Quick when nothing changed: a stamp file records a hash of every input that shapes the venv.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
DEBIAN_PACKAGES=(libegl1 libosmesa6 libgl1 libusb-1.0-0)

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- Debian libraries: EGL/OSMesa for headless MuJoCo rendering, libusb for open3d ---------
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } \
      || die "apt-get could not install: ${missing[*]}"
  else
    die "missing Debian packages: ${missing[*]} — install them with: sudo apt-get install ${missing[*]}"
  fi
fi

# --- Which ROS 2: a sourced system install, or the Kilted wheels --------------------------
SYSTEM_ROS=0
if [ -n "${ROS_DISTRO:-}" ] && "$PYTHON" -c "import rclpy" >/dev/null 2>&1; then
  SYSTEM_ROS=1
fi

inputs_hash() {
  cat requirements.txt requirements-ros.txt requirements-dev.txt setup.py setup.cfg package.xml \
    scripts/setup_env.sh | sha256sum | cut -c1-16
  echo "system_ros=$SYSTEM_ROS python=$("$PYTHON" --version 2>&1)"
}
STAMP="$VENV/.grasp_bringup_setup"
WANT=$(inputs_hash)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -x "$VENV/bin/python" ]; then
  say "environment up to date ($VENV)"
  exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3.11"
if [ ! -x "$VENV/bin/python" ]; then
  if ((SYSTEM_ROS)); then
    say "using the sourced system ROS 2 ($ROS_DISTRO): venv sees system site-packages"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
LOG="$VENV/setup.log"
: > "$LOG"
pip_install() {  # quiet unless it fails; the full output stays in $LOG
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "$@" >>"$LOG" 2>&1; then
    grep -v "is ignored" "$LOG" | tail -n 30 >&2
    die "pip install $* failed (full log: $LOG)"
  fi
}
pip_install --upgrade "pip>=24" "setuptools>=70" wheel
# torch first, pinned, so nothing later pulls another build: on these machines a local
# CPU wheel (pip's find-links) serves the pin; plain PyPI gives Linux the CUDA build.
say "installing torch==2.13.0"
pip_install "torch==2.13.0" "numpy>=2.0,<3"
if ((SYSTEM_ROS)); then
  say "system ROS 2 $ROS_DISTRO is sourced: not installing the ROS 2 wheels"
else
  say "installing the ROS 2 Kilted wheels"
  pip_install -r requirements-ros.txt
fi
say "installing grasp_bringup and its requirements"
pip_install -r requirements.txt -r requirements-dev.txt -e .
"$VENV/bin/python" - <<'PY' || die "the environment is incomplete (see the import error above)"
import importlib
for mod in ("torch", "rclpy", "sensor_msgs.msg", "mujoco", "pinocchio", "coal", "ompl",
            "ruckig", "open3d", "cv2", "h5py", "mcap", "grasp_core"):
    importlib.import_module(mod)
PY
inputs_hash > "$STAMP"
say "environment ready ($VENV)"
