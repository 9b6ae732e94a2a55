"""ASS/SSA files through pysubs2 (MIT): read for translation, written back with every style,
position, layer, margin, effect, comment and override tag kept; only the text changes.

pysubs2 reads ``Dialogue:`` lines by a fixed field order and ignores the ``[Events]``
``Format:`` line, so a file whose Format line names other fields, or none, would be read
silently wrong. :func:`check_events_format` therefore reads that line first and refuses, in one
line naming the file and the line, any Format line that is not the one pysubs2 reads by.

A cue's text uses vloc's conventions: ``\\N`` (ASS's line break) becomes ``\\n``, ``\\h`` a
space; override blocks (``{\\an8\\pos(320,40)}``) stay in the text, where the translator keeps
a cue's leading block (:mod:`vloc.style.cues`). On writing (:func:`dumps_ass`) each
Dialogue event gets its translation between the source's own leading and trailing override
blocks; blocks inside a line cannot be placed in a translation and are dropped, as for SRT.
Comment events are not cues: they are kept as they are.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vloc.errors import SubtitleError
from vloc.subtitles.cues import Cue, Subtitles

ASS_FORMATS = ("ass", "ssa")
# the [Events] fields in the order pysubs2 reads them (ASS v4+; SSA has Marked for Layer)
EVENT_FIELDS = {
    "ass": ("layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect",
            "text"),
    "ssa": ("marked", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect",
            "text"),
}  # fmt: skip
SOURCE_STYLE = "Source"  # the style of the source language's line in a bilingual ASS file
_BLOCKS_AT_START = re.compile(r"^(?:\{[^}]*\})+")
_BLOCKS_AT_END = re.compile(r"(?:\{[^}]*\})+$")


def check_events_format(text: str, path: Path | None, fmt: str) -> None:
    """Refuse an ``[Events]`` section whose ``Format:`` line is missing or names other fields
    than :data:`EVENT_FIELDS` in that order (one line naming the file and the line)."""
    lines = text.splitlines()
    section = None
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line.lower()
            continue
        if section != "[events]" or not line or line.startswith(";"):
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "format":
            fields = tuple(f.strip().lower().replace("actor", "name") for f in value.split(","))
            want = EVENT_FIELDS["ssa" if fields[:1] == ("marked",) else "ass"]
            if fields != want:
                raise SubtitleError(
                    f"line {n}: the [Events] Format line names {value.strip()!r}; expected "
                    f"{', '.join(w.capitalize() for w in want)} (fields in this order)",
                    path=path,
                )
            return
        if key in ("dialogue", "comment"):
            raise SubtitleError(f"line {n}: an event before the [Events] Format line", path=path)
    raise SubtitleError(
        f"no [Events] section with a Format line: not an {fmt.upper()} file", path=path
    )


def _to_cue_text(ass_text: str) -> str:
    return ass_text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")


_HTML_TO_ASS = {"i": "i", "b": "b", "u": "u", "s": "s"}
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z]+)[^>]*>")


def _to_ass_text(text: str) -> str:
    return "\\N".join(line for line in text.split("\n") if line.strip())


def html_to_ass(text: str) -> str:
    """SRT/WebVTT styling as ASS overrides: ``<i>``/``<b>``/``<u>``/``<s>`` become ``{\\i1}``
    … ``{\\i0}``; other HTML-style tags (``<font>``, WebVTT classes) are dropped."""

    def one(m: re.Match[str]) -> str:
        tag = _HTML_TO_ASS.get(m.group(2).lower())
        return f"{{\\{tag}{0 if m.group(1) else 1}}}" if tag else ""

    return _HTML_TAG.sub(one, text)


def parse_ass(
    text: str, *, path: Path | None = None, fmt: str = "ass", encoding: str = "utf-8"
) -> Subtitles:
    """ASS/SSA text -> :class:`Subtitles` of its Dialogue events (file order), format ``ass`` /
    ``ssa``, the parsed pysubs2 document kept in ``ass`` for :func:`dumps_ass`."""
    import pysubs2

    text = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    check_events_format(text, path, fmt)
    try:
        doc = pysubs2.SSAFile.from_string(text, format_="ssa" if fmt == "ssa" else "ass")
    except Exception as e:  # pysubs2 raises several kinds for a broken file
        raise SubtitleError(f"not a valid {fmt.upper()} file: {e}", path=path) from None
    cues = []
    for ev in doc.events:
        if ev.is_comment:
            continue
        cues.append(
            Cue(len(cues) + 1, max(0, int(ev.start)), max(0, int(ev.end)), _to_cue_text(ev.text))
        )
    if not cues and text.strip():
        raise SubtitleError(
            f"no Dialogue events: nothing to read in this {fmt.upper()} file", path=path
        )
    return Subtitles(tuple(cues), path, encoding, fmt, ass=doc)


def _keep_source_tags(source: str, translated: str) -> str:
    """``translated`` between ``source``'s leading and trailing override blocks."""
    if not translated:
        return ""
    lead = _BLOCKS_AT_START.match(source)
    trail = _BLOCKS_AT_END.search(source)
    body = _BLOCKS_AT_START.sub("", translated, count=1)
    out = (lead.group(0) if lead else "") + body
    if trail and not (lead and trail.start() == 0):
        out += trail.group(0)
    return out


def bilingual_text(target: str, source: str) -> str:
    """One cue, target over source: the source line(s) in :data:`SOURCE_STYLE` (``{\\r...}``
    switches style inside an event)."""
    if not source.strip():
        return target
    return f"{target}\n{{\\r{SOURCE_STYLE}}}{source}" if target else source


def _new_document() -> Any:
    import pysubs2

    doc = pysubs2.SSAFile()
    doc.info["ScriptType"] = "v4.00+"
    return doc


def _add_source_style(doc: Any) -> None:
    if SOURCE_STYLE in doc.styles:
        return
    import pysubs2

    base = doc.styles.get("Default", pysubs2.SSAStyle())
    style = copy.copy(base)
    style.fontsize = round(base.fontsize * 0.8, 1)
    style.primarycolor = pysubs2.Color(200, 200, 200)
    doc.styles[SOURCE_STYLE] = style


def dumps_ass(subs: Subtitles | Sequence[Cue], fmt: str = "ass", *, bilingual: bool = False) -> str:
    """ASS/SSA text of ``subs``. Subtitles read from an ASS file (``subs.ass``) are written into
    that document: its Dialogue events, in order, get the cues' texts (each kept between its
    source's leading and trailing override blocks); everything else is kept. Other cues make a
    new document with pysubs2's default style. ``bilingual`` adds :data:`SOURCE_STYLE`."""
    import pysubs2

    doc = getattr(subs, "ass", None)
    cues = subs.cues if isinstance(subs, Subtitles) else tuple(subs)
    if doc is not None:
        doc = copy.deepcopy(doc)
        events = [ev for ev in doc.events if not ev.is_comment]
        if len(events) != len(cues):
            raise SubtitleError(f"{len(cues)} cues for {len(events)} Dialogue events")
        for ev, cue in zip(events, cues, strict=True):
            ev.text = _keep_source_tags(ev.text, _to_ass_text(cue.text))
    else:
        doc = _new_document()
        for cue in cues:
            text = _to_ass_text(html_to_ass(cue.text))
            doc.events.append(pysubs2.SSAEvent(start=cue.start_ms, end=cue.end_ms, text=text))
    if bilingual:
        _add_source_style(doc)
    return doc.to_string("ssa" if fmt == "ssa" else "ass")
