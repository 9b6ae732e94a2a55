#!/usr/bin/env python
"""Generate a synthetic documentary set for training and benchmarking.

    python scripts/make_synthetic.py translation OUT_DIR [--films N] [--seed S] [--no-video] [--blocks B]
    python scripts/make_synthetic.py summarization OUT_DIR [--films N] [--seed S] [--no-video]

``translation``: EN subtitles with ZH references where some words (dry, bank, plant, spring...)
translate differently depending on what the film shows; ``truth.json`` says which cues, and
``vloc.synthetic.ambiguous_accuracy`` scores them. ``summarization``: ZH/EN transcripts that hide
the topic and EN summaries that name it. Subtitles and truth are byte-identical for a given seed;
video bytes may differ between ffmpeg versions (the frames do not). Prints one line per film on
stderr and a JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vloc.errors import VlocError
from vloc.synthetic import (
    SummarizationSetOptions,
    TranslationSetOptions,
    make_summarization_set,
    make_translation_set,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=("translation", "summarization"))
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--films", type=int, default=60, help="number of films (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-video", action="store_true", help="text and truth only")
    parser.add_argument(
        "--blocks",
        type=int,
        default=1,
        help="translation: runs per place, alternating (1: two halves; 3+: cross-cut)",
    )
    args = parser.parse_args(argv)

    def progress(done: int, total: int, film_id: str) -> None:
        print(f"[{done}/{total}] {film_id}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    try:
        if args.task == "translation":
            options = TranslationSetOptions(
                films=args.films, seed=args.seed, video=not args.no_video, blocks=args.blocks
            )
            films = make_translation_set(args.out_dir, options, progress=progress)
            cues = sum(len(f.cues) for f in films)
            ambiguous = sum(c.kind == "ambiguous" for f in films for c in f.cues)
        else:
            options = SummarizationSetOptions(
                films=args.films, seed=args.seed, video=not args.no_video
            )
            films = make_summarization_set(args.out_dir, options, progress=progress)
            cues = sum(len(f.cues) for f in films)
            ambiguous = 0
    except VlocError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in args.out_dir.rglob("*") if p.is_file())
    report = {
        "task": args.task,
        "out_dir": str(args.out_dir),
        "films": len(films),
        "cues": cues,
        "ambiguous_cues": ambiguous,
        "bytes": size,
        "seconds": round(time.perf_counter() - start, 2),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
