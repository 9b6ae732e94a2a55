"""Import TopicVD-style parallel files into a training manifest.

A TopicVD split ``NAME`` is three line-aligned files in one folder:

* ``NAME.en`` and ``NAME.zh``: one subtitle per line (source and target text);
* ``NAME.info``: ``video path \\t start \\t end \\t index \\t topic \\t score`` per line, times as
  SRT timestamps (``00:00:28,760``), ``index`` the subtitle's position within its video.

Lines are grouped by video path and ordered by index; every video becomes one
:class:`~vloc.translator.data.Documentary` (id: the video's file name without extension, made
safe for file names; made unique with a suffix when two videos share a name). A cue whose end
precedes its start (the TopicVD validation split has some) gets a zero length. Optionally
each film is also written as a pair of ``.srt`` files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vloc.errors import InputError
from vloc.fileio import atomic_write_text
from vloc.translator.data import Cue, Documentary, write_manifest
from vloc.workspace import safe_name

SRT_TIME = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)[,.](\d{1,3})$")
INFO_COLUMNS = 6  # video path, start, end, index, topic, score


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_topicvd` produced."""

    manifest: Path  # the manifest written
    documentaries: int  # films
    cues: int  # cues over all films
    srt_files: list[Path]  # .srt files written (empty unless asked for)


def parse_srt_time(value: str, where: str) -> float:
    """``hh:mm:ss,mmm`` → seconds."""
    m = SRT_TIME.match(value.strip())
    if not m:
        raise InputError(f"{where}: not an SRT time (hh:mm:ss,mmm): {value!r}")
    h, mi, s, frac = m.groups()
    return (int(h) * 60 + int(mi)) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError("TopicVD file not found", path=path)
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read as UTF-8 text: {e}", path=path) from e


def read_topicvd(
    folder: str | Path, *, name: str = "valid", source_lang: str = "en", target_lang: str = "zh"
) -> list[Documentary]:
    """The documentaries of split ``name`` in ``folder``, sorted by video path."""
    folder = Path(folder)
    info_path = folder / f"{name}.info"
    src_path, tgt_path = folder / f"{name}.{source_lang}", folder / f"{name}.{target_lang}"
    info, src, tgt = _read_lines(info_path), _read_lines(src_path), _read_lines(tgt_path)
    for path, lines in ((src_path, src), (tgt_path, tgt)):
        if len(lines) != len(info):
            raise InputError(
                f"{len(lines)} lines but {info_path.name} has {len(info)}: the files must be "
                "line-aligned",
                path=path,
            )
    films: dict[str, list[tuple[int, Cue]]] = defaultdict(list)
    for n, row in enumerate(info, start=1):
        where = f"{info_path}:{n}"
        cols = row.split("\t")
        if len(cols) < INFO_COLUMNS:
            raise InputError(
                f"{where}: expected {INFO_COLUMNS} tab-separated columns (video path, start, "
                f"end, index, topic, score), got {len(cols)}"
            )
        start, end = parse_srt_time(cols[1], where), parse_srt_time(cols[2], where)
        end = max(end, start)  # the corpus has a few cues ending before they start
        try:
            index = int(cols[3])
        except ValueError as e:
            raise InputError(f"{where}: index {cols[3]!r} is not an integer") from e
        text_s, text_t = " ".join(src[n - 1].split()), " ".join(tgt[n - 1].split())
        films[cols[0]].append((index, Cue(index, start, end, text_s, text_t)))
    docs: list[Documentary] = []
    used: set[str] = set()
    for video in sorted(films):
        cues = [c for _, c in sorted(films[video], key=lambda t: t[0])]
        base = safe_name(Path(video).stem) or "film"
        doc_id, k = base, 2
        while doc_id in used:
            doc_id, k = f"{base}-{k}", k + 1
        used.add(doc_id)
        path = folder / video
        docs.append(
            Documentary(
                id=doc_id,
                source_lang=source_lang,
                target_lang=target_lang,
                cues=tuple(cues),
                video=path.resolve() if path.is_file() else None,
            )
        )
    if not docs:
        raise InputError("holds no rows", path=info_path)
    return docs


def film_srt(cues: tuple[Cue, ...], side: str) -> str:
    """One film's cues as SRT text (``side``: "source" or "target")."""
    return "".join(
        f"{n}\n{_srt_time(c.start)} --> {_srt_time(c.end)}\n{getattr(c, side)}\n\n"
        for n, c in enumerate(cues, start=1)
    )


def import_topicvd(
    folder: str | Path,
    manifest: str | Path,
    *,
    name: str = "valid",
    source_lang: str = "en",
    target_lang: str = "zh",
    srt_dir: str | Path | None = None,
) -> ImportResult:
    """Write the manifest of TopicVD split ``name`` (and, with ``srt_dir``, one
    ``<id>.<lang>.srt`` per film and language)."""
    docs = read_topicvd(folder, name=name, source_lang=source_lang, target_lang=target_lang)
    written: list[Path] = []
    if srt_dir is not None:
        srt_dir = Path(srt_dir)
        for d in docs:
            for side, lang in (("source", source_lang), ("target", target_lang)):
                path = srt_dir / f"{d.id}.{lang}.srt"
                atomic_write_text(path, film_srt(d.cues, side))
                written.append(path)
    path = write_manifest(manifest, docs)
    return ImportResult(path, len(docs), sum(len(d.cues) for d in docs), written)
