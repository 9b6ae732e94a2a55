#!/usr/bin/env python
"""Turn the TopicVD validation split into one real ``.srt`` per documentary.

    python scripts/topicvd_to_srt.py ../shared/data/topicvd-valid OUT_DIR [--lang en|zh]

``valid.info`` has one tab-separated row per subtitle (video path, start, end, index within the
video, topic, score; times in SRT form), line-aligned with ``valid.en`` / ``valid.zh``. Rows are
grouped by video path and ordered by their index; each film becomes
``OUT_DIR/<sanitised video file name>.<lang>.srt``. Prints one line per film (or ``--json``).
The data stays where it is: only OUT_DIR is written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from vloc.fileio import atomic_write_text
from vloc.workspace import safe_name

SRT_TIME = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)[,.](\d{3})$")
INFO_COLUMNS = 6  # video path, start, end, index, topic, score


def parse_time(value: str, where: str) -> int:
    """``hh:mm:ss,mmm`` → milliseconds."""
    m = SRT_TIME.match(value.strip())
    if not m:
        raise SystemExit(f"{where}: not an SRT time: {value!r}")
    h, mi, s, ms = (int(g) for g in m.groups())
    return ((h * 60 + mi) * 60 + s) * 1000 + ms


def srt_time(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def read_films(src: Path, lang: str) -> dict[str, list[tuple[int, int, int, str]]]:
    """Video path → cues (index, start ms, end ms, text) ordered by index."""
    info_path, text_path = src / "valid.info", src / f"valid.{lang}"
    info = info_path.read_text(encoding="utf-8").splitlines()
    texts = text_path.read_text(encoding="utf-8").splitlines()
    if len(info) != len(texts):
        raise SystemExit(f"{text_path}: {len(texts)} lines but {info_path} has {len(info)} rows")
    films: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
    for n, (row, text) in enumerate(zip(info, texts, strict=True), start=1):
        cols = row.split("\t")
        where = f"{info_path}:{n}"
        if len(cols) < INFO_COLUMNS:
            raise SystemExit(f"{where}: expected {INFO_COLUMNS} tab-separated columns")
        start, end = parse_time(cols[1], where), parse_time(cols[2], where)
        films[cols[0]].append((int(cols[3]), start, end, " ".join(text.split())))
    return {video: sorted(cues) for video, cues in films.items()}


def film_srt(cues: list[tuple[int, int, int, str]]) -> str:
    return "".join(
        f"{n}\n{srt_time(a)} --> {srt_time(b)}\n{text}\n\n"
        for n, (_, a, b, text) in enumerate(cues, start=1)
    )


def convert(src: Path, out: Path, lang: str = "en") -> list[dict]:
    """Write one SRT per film; returns one record per film (video, srt, cues, duration)."""
    records = []
    for video, cues in sorted(read_films(src, lang).items()):
        name = safe_name(Path(video).name)
        path = out / f"{name}.{lang}.srt"
        atomic_write_text(path, film_srt(cues))
        records.append(
            {
                "video": video,
                "video_name": Path(video).name,
                "srt": str(path),
                "cues": len(cues),
                "last_end_ms": max(b for _, _, b, _ in cues),
            }
        )
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("src", type=Path, help="the topicvd-valid folder")
    ap.add_argument("out", type=Path, help="where to write the .srt files")
    ap.add_argument("--lang", choices=("en", "zh"), default="en")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if not (args.src / "valid.info").is_file():
        print(
            f"error: {args.src}: no valid.info here (give the topicvd-valid folder)",
            file=sys.stderr,
        )
        return 1
    records = convert(args.src, args.out, args.lang)
    if args.json:
        print(json.dumps({"ok": True, "films": records}, ensure_ascii=False))
    else:
        for r in records:
            print(f"{r['cues']:5d} cues  {r['srt']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
