"""Generate the summarization example ``talk.mp4``: a held-out synthetic documentary (≈ 40 s).

It is film 502 of the synthetic summarization generator (:mod:`vloc.synthetic.summarization`,
seed 0): a place in a forest. Its Chinese transcript (``talk.zh.srt``) never says so — it only
names the place and narrates topic-free lines — while half of its shots show the forest. The
shipped model ``models/synth-zh-en-summary`` was trained on films 0–79 only, so this film (and
its place name) is new to it; a summary that describes a forest had to take that from the video.

The film is generated rather than committed so the repository carries no video binaries (the
frames are the same on every machine; the mp4 bytes may differ between ffmpeg versions). Its
subtitles, ``talk.zh.srt``, are committed next to this script; ``--subs`` rewrites them, with
the reference summary ``talk.en-ref.summary.txt`` beside them.

    python examples/make_summary_film.py examples/talk.mp4           # render the film if missing
    python examples/make_summary_film.py examples/talk.mp4 --subs    # also (re)write the texts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FILM_INDEX = 502  # generator film index (topic: TOPICS[502 % 4] = forest); the model saw 0-79
GENERATOR_SEED = 0  # the seed of the shipped model's training set


def plan() -> tuple[object, list]:
    """(the film's truth, its shots) from the generator."""
    from vloc.synthetic import SummarizationSetOptions
    from vloc.synthetic.summarization import plan_summary_film

    return plan_summary_film(FILM_INDEX, SummarizationSetOptions(seed=GENERATOR_SEED))


def make_summary_film(out: Path, *, subs: bool = False) -> Path:
    """Render the film into ``out``; with ``subs``, also write ``<stem>.zh.srt`` and
    ``<stem>.en-ref.summary.txt`` beside it."""
    from make_film import render_once  # examples/ is on the path when this runs as a script

    from vloc.errors import VlocError
    from vloc.fileio import atomic_write_text
    from vloc.subtitles import Cue, write_subtitles

    film, shots = plan()
    try:
        render_once(out, shots)
        if subs:
            stem = out.with_suffix("")
            cues = [Cue(c["index"], c["start_ms"], c["end_ms"], c["zh"]) for c in film.cues]
            write_subtitles(stem.with_name(f"{stem.name}.zh.srt"), cues)
            atomic_write_text(
                stem.with_name(f"{stem.name}.en-ref.summary.txt"), film.summary + "\n"
            )
    except VlocError as e:
        sys.exit(f"error: {e}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("out", type=Path, nargs="?", default=Path(__file__).with_name("talk.mp4"))
    p.add_argument("--subs", action="store_true", help="also write the subtitles and reference")
    args = p.parse_args(argv)
    make_summary_film(args.out, subs=args.subs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
