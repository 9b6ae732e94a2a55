"""What a subtitle document is (:class:`Cue`, :class:`Subtitles`) and its timestamps: integer
milliseconds, a cue covering ``[start_ms, end_ms)``; ``parse_timestamp`` / ``format_timestamp``
convert to and from the SRT and WebVTT forms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vloc.errors import SubtitleError

FORMATS = ("srt", "vtt")  # read and written by vloc's own parser and writer
ASS_FORMATS = ("ass", "ssa")  # read and written through pysubs2 (vloc.subtitles.ass)
READ_FORMATS = FORMATS + ASS_FORMATS
OUTPUT_FORMATS = FORMATS + ASS_FORMATS + ("ttml",)  # ttml: written through ttconv


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``[start_ms, end_ms)`` and its text (lines joined by ``\\n``, tags kept)."""

    index: int  # 1-based position as numbered in the file (or assigned in order when absent)
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class Subtitles:
    """A parsed subtitle document."""

    cues: tuple[Cue, ...]  # in file order, never sorted, merged or dropped
    path: Path | None  # the file read, None when parsed from a string
    encoding: str  # codec used to decode ("utf-8", "utf-8-sig", "utf-16", "gb18030", "big5", ...)
    format: str  # "srt" | "vtt"
    warnings: tuple[str, ...] = ()  # timing oddities and ignored lines, each naming file and cue
    vtt_settings: dict[int, str] = field(default_factory=dict)  # cue position (0-based) -> settings
    identifiers: dict[int, str] = field(default_factory=dict)  # cue position -> VTT cue identifier
    ass: Any = field(default=None, repr=False, compare=False)  # an ASS/SSA file's pysubs2
    # document (styles, events): written back by vloc.subtitles.ass.dumps_ass

    def with_texts(self, texts: Sequence[str]) -> Subtitles:
        """The same cues (indices, timing, settings) with new texts, e.g. a translation."""
        if len(texts) != len(self.cues):
            raise SubtitleError(
                f"got {len(texts)} texts for {len(self.cues)} cues; counts must match",
                path=self.path,
            )
        cues = tuple(replace(c, text=t) for c, t in zip(self.cues, texts, strict=True))
        return replace(self, cues=cues)


_TIMESTAMP_RE = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d+))?")
_SIGNS = "+-\u2212"  # plus, hyphen-minus, Unicode minus: a signed time is a (bad) time


def parse_timestamp(s: str) -> int:
    """``[hh:]mm:ss[,.]fff`` -> milliseconds. Fraction digits are a decimal fraction.

    ``"00:00:03.5"`` -> 3500, ``"00:00:03,05"`` -> 3050, ``"01:02.003"`` -> 62003; hours may
    exceed 99. Raises :class:`SubtitleError` for anything else (minutes/seconds >= 60 too).
    """
    m = _TIMESTAMP_RE.fullmatch(s.strip())
    if m is None:
        if s.strip()[:1] in tuple(_SIGNS):
            raise SubtitleError(f"malformed timestamp {s.strip()!r}: times cannot be negative")
        raise SubtitleError(f"malformed timestamp {s.strip()!r}")
    hours, minutes, seconds, frac = m.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        raise SubtitleError(f"malformed timestamp {s.strip()!r}: minutes and seconds must be < 60")
    ms = 0
    if frac:
        scale = 10 ** len(frac)
        ms = (int(frac) * 1000 + scale // 2) // scale  # decimal fraction, rounded to the ms
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def format_timestamp(ms: int, fmt: str = "srt") -> str:
    """Milliseconds -> ``hh:mm:ss,mmm`` (SRT) or ``hh:mm:ss.mmm`` (VTT); hours widen past 99."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown subtitle format {fmt!r}; valid: {', '.join(FORMATS)}")
    if not isinstance(ms, int) or ms < 0:
        raise SubtitleError(f"cannot write timestamp {ms!r}: times must be integer ms >= 0")
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    sep = "," if fmt == "srt" else "."
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"
