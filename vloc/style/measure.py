"""Counting a cue the way a reader reads it: the lines shown, characters per line and per second.

A character is one Python ``str`` character of the text shown: tags (``<i>``, ``{\\an8}``) are
not shown and do not count; a CJK character counts one, as a Latin letter does, as in the
streaming platforms' guides; spaces and punctuation count unless the language's style says
otherwise (:class:`~vloc.style.profiles.LanguageStyle` ``count_spaces`` /
``count_punctuation``). The line break itself never counts. Reading speed is the characters of
all lines over the cue's duration in seconds.
"""

from __future__ import annotations

import unicodedata

from vloc.style.profiles import LanguageStyle
from vloc.text import strip_tags


def display_lines(text: str) -> list[str]:
    """The lines a cue shows: tags removed, each line stripped, blank lines dropped."""
    return [line.strip() for line in strip_tags(text).split("\n") if line.strip()]


def counts(ch: str, style: LanguageStyle) -> bool:
    """Does character ``ch`` count toward line length and reading speed under ``style``?"""
    if ch.isspace():
        return style.count_spaces
    if not style.count_punctuation and unicodedata.category(ch).startswith("P"):
        return False
    return True


def line_chars(line: str, style: LanguageStyle) -> int:
    """Characters of one shown line (already stripped of tags) as ``style`` counts them."""
    if style.count_spaces and style.count_punctuation:
        return len(line)
    return sum(1 for ch in line if counts(ch, style))


def cue_chars(text: str, style: LanguageStyle) -> int:
    """Characters of every shown line of a cue together (line breaks not counted)."""
    return sum(line_chars(line, style) for line in display_lines(text))


def reading_speed(chars: int, start_ms: int, end_ms: int) -> float:
    """Characters per second over ``[start_ms, end_ms)``: 0 for no text, inf for no time."""
    if chars == 0:
        return 0.0
    if end_ms <= start_ms:
        return float("inf")
    return chars * 1000.0 / (end_ms - start_ms)
