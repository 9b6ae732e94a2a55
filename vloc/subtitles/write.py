"""Writing cues as SRT or WebVTT text (:func:`dumps_srt`, :func:`dumps_vtt`) and files,
atomically (:func:`write_subtitles`).

Whatever the texts hold, a written file parses back (:func:`vloc.subtitles.read_subtitles`)
to the same cues, with each text as :func:`written_text` gives it:

* control characters are not text: CR becomes a line break, terminal escape sequences and
  other controls (ESC, BEL, NUL ...) are removed (:func:`vloc.text.without_controls`);
* blank lines would end the cue, so blank lines inside a text are dropped;
* WebVTT: ``-->`` is forbidden in cue text and becomes ``--&gt;`` (the format's own escape:
  players show ``-->``);
* a text line that the parser would read as a timing line (``00:00:01,000 --> 00:00:02,000``,
  ``99 00:00:00,000 --> ...``, ``000 --> 00:00:01,000``, two times without an arrow) is
  written behind an empty ``<i></i>``: players show nothing for it, :func:`vloc.text.plain_text`
  removes it, and the line is text again. Dialogue such as ``low --> high`` stays as it is
  in SRT;
* WebVTT identifiers and cue settings lose their control characters too; an identifier
  holding ``-->`` or a line break, or starting with ``NOTE``, ``STYLE`` or ``REGION`` (it
  would hide its cue), is refused;
* a file larger than :data:`~vloc.subtitles.parse.MAX_SUBTITLE_BYTES` (what vloc reads) is
  refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vloc.errors import SubtitleError
from vloc.fileio import atomic_write_text, format_size
from vloc.subtitles.cues import (
    ASS_FORMATS,
    OUTPUT_FORMATS,
    Cue,
    Subtitles,
    format_timestamp,
)
from vloc.subtitles.parse import MAX_SUBTITLE_BYTES, reads_as_timing
from vloc.text import without_controls

NEUTRAL_PREFIX = "<i></i>"  # put before a text line that would read as a timing line
VTT_ARROW = "--&gt;"  # "-->" in WebVTT cue text, where the format forbids it
_BLOCK_WORDS = ("NOTE", "STYLE", "REGION")  # start blocks that are not cues


def written_text(text: str, fmt: str = "srt") -> str:
    """``text`` as the writer puts it in a cue of format ``fmt`` (the rules are in the module
    docstring); what :func:`~vloc.subtitles.read_subtitles` then reads back, exactly.
    Ordinary text is unchanged, and ``written_text(written_text(t)) == written_text(t)``."""
    out = []
    for line in without_controls(text).split("\n"):
        if not line.strip():
            continue
        if fmt == "vtt":
            line = line.replace("-->", VTT_ARROW)
        if reads_as_timing(line, fmt):
            line = NEUTRAL_PREFIX + line
        out.append(line)
    return "\n".join(out)


def _one_line(value: str, what: str, k: int) -> str:
    """A VTT identifier or cue settings: one line; an identifier without ``-->`` and not
    starting with a word that opens another kind of block (``NOTE``, ``STYLE`` ...)."""
    value = without_controls(value).strip()
    words = value.split(None, 1)
    if "\n" in value or (
        what == "identifier" and ("-->" in value or (words and words[0] in _BLOCK_WORDS))
    ):
        raise SubtitleError(
            f"cue {k + 1}: the WebVTT {what} {value[:40]!r} must be one line without '-->', "
            f"not starting with {', '.join(_BLOCK_WORDS)}"
        )
    return value


def dumps_srt(cues: Sequence[Cue], *, keep_indices: bool = False) -> str:
    """SRT text: cues numbered 1..N in order (or their own ``index``), ``\\n`` line ends."""
    blocks = []
    for k, cue in enumerate(cues):
        number = cue.index if keep_indices else k + 1
        if not isinstance(number, int) or number < 0:
            raise SubtitleError(f"cue {k + 1}: index {number!r} is not an SRT cue number (>= 0)")
        span = f"{format_timestamp(cue.start_ms)} --> {format_timestamp(cue.end_ms)}"
        blocks.append(f"{number}\n{span}\n{written_text(cue.text, 'srt')}\n\n")
    return "".join(blocks)


def dumps_vtt(
    cues: Sequence[Cue],
    settings: dict[int, str] | None = None,
    identifiers: dict[int, str] | None = None,
) -> str:
    """WebVTT text with a ``WEBVTT`` header; ``settings``/``identifiers`` keyed by cue position."""
    settings = settings or {}
    identifiers = identifiers or {}
    blocks = ["WEBVTT\n\n"]
    for k, cue in enumerate(cues):
        span = f"{format_timestamp(cue.start_ms, 'vtt')} --> {format_timestamp(cue.end_ms, 'vtt')}"
        if settings.get(k) and (extra := _one_line(settings[k], "cue settings", k)):
            span += f" {extra}"
        ident = ""
        if identifiers.get(k) and (name := _one_line(identifiers[k], "identifier", k)):
            ident = f"{name}\n"
        blocks.append(f"{ident}{span}\n{written_text(cue.text, 'vtt')}\n\n")
    return "".join(blocks)


def write_subtitles(
    path: str | Path,
    cues: Subtitles | Sequence[Cue],
    *,
    format: str | None = None,
    vtt_settings: dict[int, str] | None = None,
    identifiers: dict[int, str] | None = None,
    keep_indices: bool = False,
    lang: str | None = None,
    bilingual: bool = False,
) -> None:
    """Write cues atomically as UTF-8 (no BOM) SRT, WebVTT, ASS/SSA (pysubs2) or TTML (ttconv,
    ``lang`` its ``xml:lang``), chosen by ``format`` or the suffix.

    Given a :class:`Subtitles`, its VTT settings and identifiers are used unless overridden;
    one read from an ASS file is written back into its own document (styles kept).
    ``bilingual`` (ASS): add the source language's style (:data:`vloc.subtitles.ass.SOURCE_STYLE`).
    An SRT or WebVTT file always reads back to the same cues (see the module docstring); one
    that would be too large for vloc to read is refused, naming the longest cue, and nothing is
    written.
    """
    path = Path(path)
    doc = cues
    if isinstance(cues, Subtitles):
        vtt_settings = cues.vtt_settings if vtt_settings is None else vtt_settings
        identifiers = cues.identifiers if identifiers is None else identifiers
        cues = cues.cues
    fmt = format or path.suffix.lower().lstrip(".")
    if fmt not in OUTPUT_FORMATS:
        raise SubtitleError(
            f"cannot tell the subtitle format from {path.suffix or 'no extension'!r}; "
            f"use a .{', .'.join(OUTPUT_FORMATS[:-1])} or .{OUTPUT_FORMATS[-1]} file name "
            "or pass format=",
            path=path,
        )
    try:
        if fmt == "srt":
            text = dumps_srt(cues, keep_indices=keep_indices)
        elif fmt in ASS_FORMATS:
            from vloc.subtitles.ass import dumps_ass

            text = dumps_ass(doc, fmt, bilingual=bilingual)
        elif fmt == "ttml":
            from vloc.subtitles.ttml import dumps_ttml

            text = dumps_ttml(cues, lang)
        else:
            text = dumps_vtt(cues, vtt_settings, identifiers)
    except SubtitleError as e:
        raise SubtitleError(str(e), path=path) from None
    size = len(text.encode("utf-8"))
    if size > MAX_SUBTITLE_BYTES:
        longest = max(range(len(cues)), key=lambda k: len(cues[k].text))
        raise SubtitleError(
            f"refusing to write {size:,} bytes of subtitles, over the "
            f"{format_size(MAX_SUBTITLE_BYTES)} a subtitle file may have (the longest text, "
            f"cue {longest + 1}, has {len(cues[longest].text):,} characters)",
            path=path,
        )
    atomic_write_text(path, text)
