# The two commands of the README. Both install what is missing into .venv
# first (scripts/install_env.sh; the first run builds mmcv, ~16 min).
CONFIG ?= configs/ecmt/synthscenes_mbv2.py
PY := .venv/bin/python

.PHONY: install train test

install:
	bash scripts/install_env.sh

# Main job: train on the embedded SynthScenes data (generated on first use)
# and print every task's metrics.
train: install
	$(PY) tools/train.py $(CONFIG)

test:
	bash scripts/run_tests.sh
