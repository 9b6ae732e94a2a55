#!/usr/bin/env bash
# Set everything up, then run vloc's main job on the shipped example film.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python examples/make_film.py examples/film.mp4
exec .venv/bin/vloc features examples/film.mp4 --subs examples/film.en.srt \
  --backbone x3d_m --weights random --seed 0 "$@"
