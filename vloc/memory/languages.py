"""The languages of memory files, for commands that take ``--from`` / ``--to`` as optional.

Evidence: a manifest's ``source_lang``/``target_lang`` and a TMX header's ``srclang`` give a
direction; a TMX file's unit languages and the tags of subtitle file names
(``NAME.<lang>.srt``) give languages. With ``--to`` alone the source is the one other
language found, with ``--from`` alone the target is; with neither, the one direction the
manifests and TMX headers agree on, else the two languages of subtitle pairs cannot say
which is the source and the user is asked for ``--to``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vloc.errors import InputError
from vloc.memory.sources import MANIFEST_SUFFIXES, SUBTITLE_SUFFIXES, TMX_SUFFIXES, language_tag
from vloc.memory.text import language_matches


def _files(paths: Sequence[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise InputError("memory file or folder not found", path=p)
    return out


def _evidence(paths: Sequence[str | Path]) -> tuple[list[str], list[tuple[str, str]]]:
    """(languages seen, directions seen) over the memory's files."""
    from vloc.manifest import read_manifest
    from vloc.memory.tmx import tmx_languages

    langs: list[str] = []
    directions: list[tuple[str, str]] = []
    for f in _files(paths):
        suffix = f.suffix.lower()
        if suffix in MANIFEST_SUFFIXES:
            doc = read_manifest(f)[0]
            directions.append((doc.source_lang, doc.target_lang))
            langs += [doc.source_lang, doc.target_lang]
        elif suffix in TMX_SUFFIXES:
            src, found = tmx_languages(f)
            langs += list(found)
            others = _distinct([x for x in found if not (src and language_matches(src, x))])
            if src and len(others) == 1:
                directions.append((src, others[0]))
        elif suffix in SUBTITLE_SUFFIXES and (tagged := language_tag(f)):
            langs.append(tagged[1])
    return _distinct(langs), directions


def _distinct(codes: Sequence[str]) -> list[str]:
    """``codes`` without repeats of one language (``en`` and ``en-US`` count once)."""
    out: list[str] = []
    for c in codes:
        if c and not any(language_matches(o, c) and language_matches(c, o) for o in out):
            out.append(c)
    return out


def infer_languages(
    paths: Sequence[str | Path], source_lang: str | None = None, target_lang: str | None = None
) -> tuple[str, str]:
    """(source, target) of a memory's files, taking what the user gave (module docstring)."""
    if source_lang and target_lang:
        return source_lang, target_lang
    langs, directions = _evidence(paths)
    held = ", ".join(langs) or "no language tags"
    if target_lang or source_lang:
        given = target_lang or source_lang or ""
        others = [x for x in langs if not language_matches(given, x)]
        if len(others) != 1:
            flag = "--from" if target_lang else "--to"
            raise InputError(
                f"cannot tell the memory's other language (its files hold: {held}); give {flag}"
            )
        return (others[0], given) if target_lang else (given, others[0])
    agreed = {(s.lower(), t.lower()) for s, t in directions}
    if len(agreed) == 1:
        return directions[0]
    raise InputError(f"give --to LANG (and --from LANG): the memory's files hold {held}")
