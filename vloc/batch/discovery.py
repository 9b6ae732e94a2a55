"""Finding the videos of a batch: a folder (videos paired with the subtitle file that shares
their stem) or a CSV / JSONL manifest (rules in :mod:`vloc.batch`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError
from vloc.fileio import MANIFEST_LIMIT_BYTES, read_text_limited
from vloc.text import LANG_CODE

if TYPE_CHECKING:
    pass

from vloc.batch.jobs import VideoJob
from vloc.batch.naming import RESERVED_NAMES, unique_names

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
SUBTITLE_EXTENSIONS = (".srt", ".vtt")


def discover(source: str | Path, reserved: Sequence[str] = RESERVED_NAMES) -> list[VideoJob]:
    """The videos of a folder or a manifest (see :mod:`vloc.batch`), with unique names.

    ``reserved``: names no video may take (see :func:`reserved_names`); compared
    case-insensitively like the names themselves.
    """
    source = Path(source)
    if source.is_dir():
        found = _scan_folder(source)
    elif source.exists() or source.is_symlink():
        found = _read_manifest(source)
    else:
        raise InputError("no such folder or manifest", path=source)
    if not found:
        raise InputError(
            "no videos found (looked for " + " ".join(VIDEO_EXTENSIONS) + ")", path=source
        )
    return unique_names(found, reserved)


def _split_subtitle_name(path: Path) -> tuple[str, str | None]:
    """``film.en.srt`` -> ("film", "en"); ``film.srt`` -> ("film", None)."""
    stem = path.stem
    base, dot, tag = stem.rpartition(".")
    if dot and base and LANG_CODE.match(tag):
        return base, tag
    return stem, None


def _scan_folder(folder: Path) -> list[tuple[str, Path, Path | None, str | None]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    subs_by_stem: dict[str, list[tuple[Path, str | None]]] = {}
    for p in files:
        if p.suffix.lower() in SUBTITLE_EXTENSIONS:
            base, lang = _split_subtitle_name(p)
            subs_by_stem.setdefault(base, []).append((p, lang))
    jobs = []
    for p in files:
        if p.suffix.lower() not in VIDEO_EXTENSIONS:
            continue
        candidates = subs_by_stem.get(p.stem, [])
        if len(candidates) > 1:
            names = ", ".join(c.name for c, _ in candidates)
            raise InputError(
                f"several subtitle files match this video ({names}): use a manifest to choose",
                path=p,
            )
        subs, lang = candidates[0] if candidates else (None, None)
        jobs.append((p.stem, p, subs, lang))
    return jobs


def _read_manifest(path: Path) -> list[tuple[str, Path, Path | None, str | None]]:
    text = read_text_limited(path, MANIFEST_LIMIT_BYTES, what="manifest")
    rows: list[dict[str, str]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"line {n}: not valid JSON ({e.msg})", path=path) from e
            if not isinstance(row, dict):
                raise InputError(f"line {n}: expected a JSON object", path=path)
            rows.append(row)
    elif path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        raise InputError("a manifest must be .csv or .jsonl", path=path)
    base = path.parent
    jobs = []
    for n, row in enumerate(rows, 1):
        video = (row.get("video") or "").strip()
        if not video:
            raise InputError(f"row {n}: the 'video' field is missing or empty", path=path)
        vpath = Path(video) if Path(video).is_absolute() else base / video
        subs = (row.get("subs") or "").strip()
        spath = None if not subs else (Path(subs) if Path(subs).is_absolute() else base / subs)
        lang = (row.get("lang") or "").strip() or (
            _split_subtitle_name(spath)[1] if spath is not None else None
        )
        name = (row.get("name") or "").strip() or vpath.stem
        jobs.append((name, vpath, spath, lang))
    return jobs
