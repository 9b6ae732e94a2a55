#!/usr/bin/env python
"""`vloc check` on every real subtitle file in ``../shared/data``: the shares of cues over a
profile's limits, for the README.

    python benchmarks/check_real.py OUT_DIR [--data ../shared/data] [--json]

The 18 TopicVD validation films become one English and one Chinese ``.srt`` each (under
OUT_DIR, as ``scripts/topicvd_to_srt.py`` does); the multilingual Pepper & Carrot episode is
checked whole (twelve languages a cue) and as one file per language. Every file is checked
under ``default`` and ``streaming``; the table gives, per group of files, the cues and the
share over the limits (characters per line, lines, reading speed), the share that stays over
the line limits even when broken by :func:`vloc.style.linebreak.break_lines` (the TopicVD files
hold every cue on one line: their line-length figure says how many a subtitler would have had to
break), then the share per rule. The TopicVD
Chinese files are the human references vloc's benchmarks score against. Nothing is written
into the repository. Skips with a message (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MSRT = Path("multilingual-srt") / "pepper-and-carrot-ep06.msrt"
MSRT_LANGS = {"eng": "en", "fra": "fr", "deu": "de", "spa": "es", "ita": "it", "rus": "ru",
              "jpn": "ja", "zhtw": "zh-TW", "zho": "zh", "por": "pt", "dan": "da", "epo": "eo",
              "jbo": "jbo"}  # fmt: skip
RULES_SHOWN = ("chars_per_line", "lines", "reading_speed", "min_duration", "max_duration",
               "min_gap", "overlap", "empty", "wrong_script")  # fmt: skip


def split_msrt(path: Path, out: Path) -> list[tuple[Path, str]]:
    """One SRT per language prefix of the multilingual file: ``(path, language tag)``."""
    from vloc.subtitles import Cue, read_subtitles, write_subtitles

    subs = read_subtitles(path)
    by_lang: dict[str, list[Cue]] = defaultdict(list)
    for c in subs.cues:
        for line in c.text.split("\n"):
            if line.startswith("[") and "]" in line:
                code, text = line[1:].split("]", 1)
                if code in MSRT_LANGS and text.strip():
                    by_lang[code].append(
                        Cue(len(by_lang[code]) + 1, c.start_ms, c.end_ms, text.strip())
                    )
    files = []
    for code, cues in sorted(by_lang.items()):
        lang = MSRT_LANGS[code]
        p = out / f"pepper-and-carrot-ep06.{lang}.srt"
        write_subtitles(p, cues)
        files.append((p, lang))
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.data / "topicvd-valid" / "valid.info").is_file():
        print(f"skipped: real data not found under {args.data}")
        return 0
    from vloc.style.check import check_file
    from vloc.style.linebreak import break_lines, fits
    from vloc.style.profile_file import load_profile
    from vloc.subtitles import read_subtitles
    from vloc.translator.topicvd import import_topicvd

    t0 = time.perf_counter()
    srt_dir = args.out / "srt"
    films = import_topicvd(args.data / "topicvd-valid", args.out / "topicvd.jsonl", srt_dir=srt_dir)
    groups: dict[str, list[tuple[Path, str | None]]] = {
        "TopicVD en (18 films)": [(p, "en") for p in films.srt_files if p.name.endswith(".en.srt")],
        "TopicVD zh (18 films, human)": [
            (p, "zh") for p in films.srt_files if p.name.endswith(".zh.srt")
        ],
        "Pepper&Carrot .msrt (whole)": [(args.data / MSRT, None)],
    }
    for p, lang in split_msrt(args.data / MSRT, args.out):
        groups[f"Pepper&Carrot {lang}"] = [(p, lang)]
    rows = []
    for name, files in groups.items():
        for profile in ("default", "streaming"):
            cues = over = unbreakable = 0
            per_rule: dict[str, int] = defaultdict(int)
            for path, lang in files:
                r = check_file(path, profile=profile, lang=lang)
                cues += r.cues
                over += r.over_limits
                for rule in r.checked_rules:
                    per_rule[rule] += r.count(rule)
                style = load_profile(profile).for_language(r.lang)
                for c in read_subtitles(path).cues:
                    if c.text.strip() and not fits(break_lines(c.text, r.lang, style), style):
                        unbreakable += 1
            rows.append(
                {
                    "files": name,
                    "profile": profile,
                    "cues": cues,
                    "over_limits": over,
                    "over_limits_share": round(over / cues, 4) if cues else 0.0,
                    "over_lines_when_broken_share": round(unbreakable / cues, 4) if cues else 0.0,
                    "rules": {k: round(per_rule[k] / cues, 4) for k in RULES_SHOWN if cues},
                }
            )
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"rows": rows, "seconds": round(seconds, 1)}, ensure_ascii=False))
        return 0
    head = "| files | profile | cues | over limits | over lines when broken | "
    print(head + " | ".join(RULES_SHOWN) + " |")
    print("|" + "---|" * (5 + len(RULES_SHOWN)))
    for r in rows:
        cells = " | ".join(f"{100 * r['rules'].get(k, 0):.1f}" for k in RULES_SHOWN)
        print(
            f"| {r['files']} | {r['profile']} | {r['cues']:,} | "
            f"{100 * r['over_limits_share']:.1f} % | "
            f"{100 * r['over_lines_when_broken_share']:.1f} % | {cells} |"
        )
    print(f"\n{seconds:.1f} s for {sum(len(f) for f in groups.values())} files × 2 profiles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
