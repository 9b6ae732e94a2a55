#!/usr/bin/env python
"""Precision of ``vloc glossary mine`` on held-out real documentaries (TopicVD validation).

    python benchmarks/glossary_precision.py OUT_DIR [--data ../shared/data/topicvd-valid]

The 18 films (English → Chinese human subtitles) are written as subtitle pairs
``<id>.en.srt`` + ``<id>.zh.srt`` (:func:`vloc.translator.topicvd.import_topicvd`). For each
held-out film, a glossary is mined from a memory of other films exactly as ``vloc glossary
mine`` does (the pairs aligned by timing), then checked against the held-out film's own
human translation as ``vloc glossary check`` does. Settings:

* ``series`` — each episode of a title with several (The Green Planet, 5; World War II From
  the Frontlines, 4), the memory being the title's other episodes;
* ``rest`` — each of the 18 films, the memory being the 17 others (related or not);
* ``split`` — the 3 test films of ``benchmarks/bench_engines.py`` (last 3 by id), the memory
  being its 15 training films (the glossary its ``+g`` variants use).

Per held-out film: terms mined, terms occurring in its source, and of those the terms whose
rendering the held-out reference uses (in at least half of the lines holding the term) —
*precision* = used / occurring; also the line-level share (lines whose reference holds the
mined rendering). Skips (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "topicvd-valid"
TEST_FILMS = 3  # as benchmarks/bench_engines.py


def titles(data: Path) -> dict[str, str]:
    """Film id → its title (the video's folder in ``valid.info``)."""
    from vloc.workspace import safe_name

    out: dict[str, str] = {}
    for line in (data / "valid.info").read_text(encoding="utf-8").splitlines():
        video = line.split("\t", 1)[0]
        out.setdefault(safe_name(Path(video).stem), video.split("/", 1)[0])
    return out


def series_films(data: Path, out: Path) -> tuple[Path, list[str], dict[str, list[str]]]:
    """Import the TopicVD films as SRT pairs under ``out/srt`` → (that folder, film names,
    films by series title)."""
    from vloc.translator.topicvd import import_topicvd

    srt = out / "srt"
    srt.mkdir(parents=True, exist_ok=True)
    import_topicvd(data, out / "topicvd.jsonl", srt_dir=srt)
    film_title = titles(data)
    films = sorted(p.name[: -len(".en.srt")] for p in srt.glob("*.en.srt"))
    by_title: dict[str, list[str]] = defaultdict(list)
    for f in films:
        by_title[film_title.get(f, f)].append(f)
    return srt, films, by_title


def measure(srt: Path, film: str, memory: list[str], out: Path) -> dict:
    """Mine the glossary of ``memory`` (film ids) and check it on ``film``."""
    from vloc.glossary.check import check_glossary
    from vloc.glossary.mine import mine_glossary

    glossary = out / f"{film}.tsv"
    mined = mine_glossary(
        [srt / f"{m}.en.srt" for m in memory], glossary, source_lang="en", target_lang="zh"
    )
    checked = check_glossary([srt / f"{film}.zh.srt"], glossary, source_lang="en",
                             target_lang="zh")  # fmt: skip
    found = checked.found
    used = [t for t in found if t.hits * 2 >= t.lines]
    return {
        "film": film,
        "memory_films": len(memory),
        "mined": len(mined.terms),
        "occurring": len(found),
        "used": len(used),
        "precision": round(len(used) / len(found), 4) if found else None,
        "lines": sum(t.lines for t in found),
        "line_hits": sum(t.hits for t in found),
        "not_used": [
            f"{t.source} → {t.target} ({t.hits}/{t.lines})" for t in found if t.hits * 2 < t.lines
        ],  # fmt: skip
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--settings", default="series,rest,split")
    args = ap.parse_args()
    if not (args.data / "valid.en").is_file():
        print(f"skipped: TopicVD data not found at {args.data}")
        return 0
    out = args.out
    srt, films, by_title = series_films(args.data, out)
    film_title = titles(args.data)
    runs: list[tuple[str, str, list[str]]] = []
    settings = args.settings.split(",")
    if "series" in settings:
        runs += [("series", f, [g for g in eps if g != f])
                 for eps in by_title.values() if len(eps) > 1 for f in eps]  # fmt: skip
    if "rest" in settings:
        runs += [("rest", f, [g for g in films if g != f]) for f in films]
    if "split" in settings:
        test = films[-TEST_FILMS:]
        runs += [("split", f, films[:-TEST_FILMS]) for f in test]
    results = []
    for setting, film, memory in runs:
        folder = out / "glossaries" / setting
        folder.mkdir(parents=True, exist_ok=True)
        r = {
            "setting": setting,
            "title": film_title.get(film, film),
            **measure(srt, film, memory, folder),
        }
        results.append(r)
        print(f"{setting:6} {film[:48]:48} mined {r['mined']:4} occurring {r['occurring']:3} "
              f"used {r['used']:3} precision {r['precision']}", flush=True)  # fmt: skip
    (out / "precision.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print("\n| setting | held-out films | terms occurring | used by the reference | precision "
          "| lines | lines with the rendering |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for setting in dict.fromkeys(r["setting"] for r in results):
        rows = [r for r in results if r["setting"] == setting]
        occ, used = sum(r["occurring"] for r in rows), sum(r["used"] for r in rows)
        lines, hits = sum(r["lines"] for r in rows), sum(r["line_hits"] for r in rows)
        print(f"| {setting} | {len(rows)} | {occ} | {used} | {used / occ if occ else 0:.3f} "
              f"| {lines} | {hits / lines if lines else 0:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
