"""Search by what is seen on synthetic films whose subtitles never name it.

    .venv/bin/python benchmarks/bench_search_seen.py OUT_DIR [--train-films 40] [--steps 600]

Generates held-out synthetic films (16 scenes: 4 visual topics × 4 lights), trains align models
on training films' described cues (English only; English + Chinese translations; + softened
matching), indexes the held-out films with them and searches every unseen description in
English and Chinese --by said, seen and both, then quotes and translations of the subtitle
lines (where what is said is the informative side); validation films, searched the same way
with several fusion weights, show where the fusion was chosen. The stages and targets are
described in :mod:`vloc.synthetic.retrieval_benchmark`, which this script runs. Writes
``OUT_DIR/results.md`` and ``OUT_DIR/results.json``; exits 1 when a target is missed. Finished
stages in ``OUT_DIR`` are reused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import add_settings_flags, settings_from_flags

from vloc.synthetic.retrieval_benchmark import SeenBenchSettings, run_benchmark


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("out", type=Path)
    d = SeenBenchSettings()
    add_settings_flags(p, d)
    args = p.parse_args(argv)
    s = settings_from_flags(d, args)
    r = run_benchmark(args.out, s, log=lambda m: print(m, file=sys.stderr, flush=True))
    print((args.out / "results.md").read_text(encoding="utf-8"))
    return 0 if r["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
