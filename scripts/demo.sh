#!/usr/bin/env bash
# Set everything up, then run vloc's main job on the shipped example film: translate its
# English subtitles to Chinese with the shipped model (models/synth-en-zh), using the video.
# Then summarize the second example (a Chinese transcript) in English with the shipped
# summarizer (models/synth-zh-en-summary). Extra arguments go to `vloc translate`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python examples/make_film.py examples/film.mp4
.venv/bin/vloc translate examples/film.mp4 examples/film.en.srt --to zh "$@"
echo "--- first cues of examples/film.zh.srt"
head -n 20 examples/film.zh.srt
.venv/bin/python examples/make_summary_film.py examples/talk.mp4
.venv/bin/vloc summarize examples/talk.mp4 examples/talk.zh.srt --to en
echo "--- examples/talk.en.summary.md"
cat examples/talk.en.summary.md
