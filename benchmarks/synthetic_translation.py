"""Synthetic EN → ZH translation: does global video context resolve topic-dependent words?

    .venv/bin/python benchmarks/synthetic_translation.py OUT_DIR [--films 200] [--steps 3000]
        [--ship models/synth-en-zh]

The stages (generate, features, index, manifest, train, evaluate) and the targets are
described in :mod:`vloc.synthetic.translation_benchmark`, which this script runs. Writes
``OUT_DIR/results.md`` and ``OUT_DIR/results.json``; exits 1 when a target is missed. Stages
that already finished in ``OUT_DIR`` are reused, so an interrupted run can be resumed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import add_settings_flags, settings_from_flags

from vloc.synthetic.translation_benchmark import BenchSettings, run_benchmark, ship_model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--ship", type=Path, help="copy the full model here (e.g. models/synth-en-zh)")
    d = BenchSettings()
    add_settings_flags(p, d)
    args = p.parse_args(argv)
    s = settings_from_flags(d, args)
    r = run_benchmark(args.out, s, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.ship is not None and "full" in s.variants:
        print(f"shipped {ship_model(args.out, s, r, args.ship)}", file=sys.stderr)
    print((args.out / "results.md").read_text(encoding="utf-8"))
    return 0 if r["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
