"""Writing cues as SRT or WebVTT text (:func:`dumps_srt`, :func:`dumps_vtt`) and files,
atomically (:func:`write_subtitles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vloc.errors import SubtitleError
from vloc.fileio import atomic_write_text
from vloc.subtitles.cues import ASS_FORMATS, OUTPUT_FORMATS, Cue, Subtitles, format_timestamp


def _text_lines(cue: Cue) -> str:
    # A blank line would end the cue in both formats, so blank lines inside a text are dropped.
    return "\n".join(line for line in cue.text.split("\n") if line.strip())


def dumps_srt(cues: Sequence[Cue], *, keep_indices: bool = False) -> str:
    """SRT text: cues numbered 1..N in order (or their own ``index``), ``\\n`` line ends."""
    blocks = []
    for k, cue in enumerate(cues):
        number = cue.index if keep_indices else k + 1
        span = f"{format_timestamp(cue.start_ms)} --> {format_timestamp(cue.end_ms)}"
        blocks.append(f"{number}\n{span}\n{_text_lines(cue)}\n\n")
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
        if settings.get(k):
            span += f" {settings[k]}"
        ident = f"{identifiers[k]}\n" if identifiers.get(k) else ""
        blocks.append(f"{ident}{span}\n{_text_lines(cue)}\n\n")
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
    atomic_write_text(path, text)
