#!/usr/bin/env bash
# Run the test suite in .venv (installing what is missing first).
# Extra arguments go to pytest, e.g. `bash scripts/run_tests.sh -k metrics`.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install_env.sh || exit $?
# One intra-op thread per process: the suite runs tools in subprocesses
# (torchrun, dataloader workers) on a 2-core machine, where oversubscribed
# OpenMP threads make small models many times slower.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
.venv/bin/python -m pytest tests -q -ra "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  # pytest's exit code 5: no test was collected. An empty suite proves
  # nothing, so that is a failure here, with a message instead of a bare 5.
  echo "run_tests: pytest collected no tests (exit code 5); failing." >&2
  exit 1
fi
exit "$rc"
