# The README's commands. Every target sets the environment up first (idempotent, quick).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# DDS discovery stays on this machine unless the user says otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl

.PHONY: setup demo test test-fast lint bench clean

setup:
	@bash scripts/setup_env.sh

demo: setup
	$(PY) -m grasp_bringup.cli demo $(DEMO_ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/codespell grasp_core grasp_perception grasp_models grasp_planning grasp_sim grasp_bringup test benchmarks docs README.md

# every benchmark that runs on a fresh clone without arguments (the issues' targets); the
# studies that read generated data or training runs under runs/ (required arguments, or a
# default under runs/; their docstrings give the commands) are skipped, as are the helper
# modules without a __main__
bench: setup
	@for script in benchmarks/*.py; do \
		if ! grep -q '__main__' $$script; then continue; fi; \
		if grep -q 'required=True\|default="runs/' $$script; then echo "== $$script: skipped, needs data under runs/ (see its docstring)"; continue; fi; \
		echo "== $$script"; $(PY) $$script || exit 1; \
	done

clean:
	rm -rf $(VENV) build install log .pytest_cache .ruff_cache
