#!/usr/bin/env bash
# Install everything mmecmt needs into .venv (idempotent; only what is missing).
#
# The pinned stack (docs/get_started.md):
#   torch==2.14.1 + torchvision==0.29.1, mmengine==0.10.7, mmsegmentation==1.2.2,
#   mmpretrain==1.2.0 and mmcv==2.1.0 compiled from its sdist with its ops.
# mmcv has no wheel for this torch; we build one (about 16 minutes on two cores)
# with the C++ standard flag raised to c++20 (torch 2.14 headers require it) and
# keep the wheel in $MMECMT_WHEEL_CACHE so later installs reuse it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMECMT_VENV:-$ROOT/.venv}"
WHEEL_CACHE="${MMECMT_WHEEL_CACHE:-$HOME/.cache/mmecmt/wheels}"
PYTHON="${PYTHON:-python3.11}"
STAMP="$VENV/.mmecmt-installed"

log() { echo "[install_env] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip)

# Fast path: everything is already installed and setup.py has not changed.
if [ -f "$STAMP" ] && [ "$STAMP" -nt "$ROOT/setup.py" ] && \
   "$PY" -c "import mmcv.ops, mmseg, mmpretrain.models, mmecmt, onnx, onnxruntime" >/dev/null 2>&1; then
  log "environment up to date ($VENV)"
  exit 0
fi

"${PIP[@]}" install -q -U pip "setuptools<82" wheel ninja

if ! "$PY" -c "import torch, torchvision; assert torch.__version__.startswith('2.14.1')" >/dev/null 2>&1; then
  log "installing torch==2.14.1 torchvision==0.29.1"
  "${PIP[@]}" install torch==2.14.1 torchvision==0.29.1
fi

if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" >/dev/null 2>&1; then
  mkdir -p "$WHEEL_CACHE"
  WHEEL="$(ls "$WHEEL_CACHE"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$WHEEL" ]; then
    BUILD_DIR="$(mktemp -d)"
    log "building mmcv==2.1.0 with ops from its sdist in $BUILD_DIR (about 16 min on 2 cores)"
    "$PY" "$ROOT/scripts/fetch_sdist.py" mmcv 2.1.0 \
      d387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f "$BUILD_DIR"
    tar -xzf "$BUILD_DIR/mmcv-2.1.0.tar.gz" -C "$BUILD_DIR"
    # torch 2.14's ATen headers need C++20; mmcv 2.1.0 passes -std=c++17.
    sed -i "s/'-std=c++17'/'-std=c++20'/g" "$BUILD_DIR/mmcv-2.1.0/setup.py"
    grep -q "'-std=c++20'" "$BUILD_DIR/mmcv-2.1.0/setup.py"
    (cd "$BUILD_DIR/mmcv-2.1.0" && \
      MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" wheel -v --no-build-isolation --no-deps . -w "$BUILD_DIR/dist" 2>&1 | \
      grep --line-buffered -E "Building|building|\[[0-9]+/[0-9]+\]|error|Error|Created wheel" || true)
    BUILT="$(ls "$BUILD_DIR"/dist/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)"
    if [ -z "$BUILT" ]; then
      log "mmcv build failed (see above)"; exit 1
    fi
    cp "$BUILT" "$WHEEL_CACHE/"
    WHEEL="$WHEEL_CACHE/$(basename "$BUILT")"
    rm -rf "$BUILD_DIR"
  else
    log "reusing cached mmcv wheel $WHEEL"
  fi
  "${PIP[@]}" install "$WHEEL"
fi

log "installing mmecmt and its pinned requirements"
"${PIP[@]}" install -e "$ROOT[tests,deploy]"
"$PY" -c "import mmcv.ops, mmseg, mmpretrain.models, mmecmt; print('mmecmt environment OK')"
touch "$STAMP"
