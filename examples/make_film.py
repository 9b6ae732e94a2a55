"""Generate the example film ``film.mp4``: a held-out synthetic documentary (≈ 100 s, 30 cues).

It is film 505 of the synthetic translation generator (:mod:`vloc.synthetic.translation`, seed 0,
places cross-cut in 3 runs): two places, one by a river and one in a city, whose English lines
"People meet at the bank in ..." and "The current at ... is stronger than it looks" translate
differently in each place (河岸 / 银行, 水流 / 电流) and sit over neutral shots. The shipped model
``models/synth-en-zh`` was trained on films 0–59 only, so this film is new to it.

The film is generated rather than committed so the repository carries no video binaries (the
frames are the same on every machine; the mp4 bytes may differ between ffmpeg versions). Its
subtitles, ``film.en.srt``, are committed next to this script; ``--subs`` rewrites them with
the reference translation ``film.zh-ref.srt`` beside them.

    python examples/make_film.py examples/film.mp4            # render the film if missing
    python examples/make_film.py examples/film.mp4 --subs     # also (re)write the subtitles
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FILM_INDEX = 505  # generator film index; the shipped model saw films 0-59
GENERATOR_SEED = 0  # the seed of the shipped model's training set
BLOCKS = 3  # runs per place, cross-cut (as in the benchmark and the training set)


def plan() -> tuple[object, list]:
    """(the film's truth, its shots) from the generator."""
    from vloc.synthetic import TranslationSetOptions
    from vloc.synthetic.translation import plan_film

    options = TranslationSetOptions(seed=GENERATOR_SEED, blocks=BLOCKS)
    return plan_film(FILM_INDEX, options)


def render_once(out: Path, shots: list) -> None:
    """Render ``shots`` into the video ``out`` unless it is already there (the demo films of
    this folder use it too)."""
    from vloc.synthetic import RenderOptions
    from vloc.synthetic.films import render_film

    if not out.exists():
        render_film(out, shots, RenderOptions())
        print(f"wrote {out}", file=sys.stderr)


def make_film(out: Path, *, subs: bool = False) -> Path:
    """Render the film into ``out``; with ``subs``, also write ``film.en.srt`` and
    ``film.zh-ref.srt`` beside it."""
    from vloc.errors import VlocError
    from vloc.subtitles import write_subtitles
    from vloc.synthetic.translation import film_subtitles

    film, shots = plan()
    try:
        render_once(out, shots)
        if subs:
            stem = out.with_suffix("")
            write_subtitles(stem.with_name(f"{stem.name}.en.srt"), film_subtitles(film, "en"))
            write_subtitles(stem.with_name(f"{stem.name}.zh-ref.srt"), film_subtitles(film, "zh"))
    except VlocError as e:
        sys.exit(f"error: {e}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("target", nargs="?", type=Path, default=Path(__file__).with_name("film.mp4"))
    ap.add_argument("--subs", action="store_true", help="also write film.en.srt, film.zh-ref.srt")
    args = ap.parse_args()
    make_film(args.target, subs=args.subs)
