#!/usr/bin/env python
"""How often a translation memory's verbatim reuse is right, on held-out real documentaries.

    python benchmarks/memory_reuse.py OUT_DIR [--data ../shared/data/topicvd-valid]
        [--settings series,rest] [--thresholds 0.7,0.8,0.9,1.01]

As ``benchmarks/glossary_precision.py``: the 18 TopicVD validation films as subtitle pairs;
each held-out film's lines are looked up (``vloc translate --memory``'s lookup,
:mod:`vloc.memory`) in a memory of other films — ``series``: the other episodes of its
title (The Green Planet, World War II From the Frontlines), ``rest``: the 17 other films.
Per fuzzy threshold (1.01: exact matches only): lines reused (exact / fuzzy), and of those
the share whose reused translation *is* the held-out film's own human translation
(identical after removing spaces and punctuation), and their mean chrF against it. Skips
(exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from glossary_precision import DEFAULT_DATA, series_films, titles

_SQUASH = re.compile(r"[\W_]+")


def same(a: str, b: str) -> bool:
    return _SQUASH.sub("", a) == _SQUASH.sub("", b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--settings", default="series,rest")
    ap.add_argument("--thresholds", default="0.7,0.8,0.9,1.01")
    args = ap.parse_args()
    if not (args.data / "valid.en").is_file():
        print(f"skipped: TopicVD data not found at {args.data}")
        return 0
    from sacrebleu.metrics import CHRF

    from vloc.memory import MemoryOptions, open_memory, read_memory

    chrf = CHRF()
    out = args.out
    srt, films, by_title = series_films(args.data, out)
    film_title = titles(args.data)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    totals: dict[tuple[str, float], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for setting in args.settings.split(","):
        for film in films:
            if setting == "series":
                memory = [g for g in by_title[film_title.get(film, film)] if g != film]
            else:
                memory = [g for g in films if g != film]
            if not memory:
                continue
            own = read_memory([srt / f"{film}.en.srt"], source_lang="en", target_lang="zh")
            texts = [p.source for p in own.pairs]
            refs = [p.target for p in own.pairs]
            mem = open_memory(
                [srt / f"{m}.en.srt" for m in memory], source_lang="en", target_lang="zh"
            )
            emb = None
            for t in thresholds:
                m2 = dataclasses.replace(
                    mem, options=MemoryOptions(fuzzy=t), _by_key={}, _tokens={}
                )
                if emb is None:
                    from vloc.index.context import embed_texts

                    emb = embed_texts(m2.encoder(), texts)
                found = m2.match(texts, embeddings=emb)
                row = totals[(setting, t)]
                row["lines"] += len(texts)
                for i, m in enumerate(found.matches):
                    if m is None:
                        continue
                    row[m.kind] += 1
                    row[f"{m.kind}_same"] += same(m.target, refs[i])
                    row[f"{m.kind}_chrf"] += chrf.sentence_score(m.target, [refs[i]]).score
            print(f"{setting:6} {film[:48]:48} memory {len(mem.entries):6} pairs", flush=True)
    rows = []
    print("\n| memory | fuzzy threshold | lines | exact | exact = own reference | fuzzy "
          "| fuzzy = own reference | fuzzy chrF vs reference |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for (setting, t), r in totals.items():
        ex, fz = r["exact"], r["fuzzy"]
        rows.append({"setting": setting, "threshold": t, **r})
        print(f"| {setting} | {t if t <= 1 else 'exact only'} | {int(r['lines'])} | {int(ex)} "
              f"| {r['exact_same'] / ex if ex else 0:.2f} | {int(fz)} "
              f"| {r['fuzzy_same'] / fz if fz else 0:.2f} "
              f"| {r['fuzzy_chrf'] / fz if fz else 0:.1f} |")  # fmt: skip
    (out / "reuse.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
