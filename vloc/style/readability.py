"""Target-language line breaking and reading-speed checks for translated subtitles.

Limits follow the Netflix Timed Text Style Guides (partnerhelp.netflixstudios.com, the most
widely cited public subtitle specification): at most 2 lines per cue; 42 characters per line
and 20 characters per second for English, 17 cps for most other alphabetic languages;
Simplified/Traditional Chinese 16 full-width characters per line and 9 cps; Korean 16 and 12;
Japanese 13 and 4.

How a text is broken (it is never truncated, reworded or reordered):

* a text that fits on one line stays on one line;
* CJK targets (``zh``, ``ja``): any point between two characters is allowed except inside a
  run of Latin letters/digits; a break right after ``、，。！？；：`` (or at a space, which is
  dropped) is preferred; among allowed points the one giving the most even lines wins;
* other targets: breaks at spaces only, preferring a space right after ``, . ; : ! ?``,
  the most even split winning;
* when no split gives lines within the limit, the text is still split into two lines as
  evenly as possible (or kept on one line when it has no break point) and a line-length
  violation is counted.

Characters are counted as Python ``str`` characters after removing tags (``<i>``,
``{\\an8}``), so a full-width hanzi counts 1, as in the guides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from vloc.text import language_base, strip_tags

MAX_LINES = 2  # every Netflix guide: 2 lines maximum
CJK_BREAK_AFTER = "、，。！？；：,.!?;:…"  # preferred CJK break points (after these)
LATIN_BREAK_AFTER = ",.;:!?"  # preferred break points (a space right after one of these)
PUNCTUATION_BONUS = 4  # characters of imbalance a punctuation break is worth
MAX_LISTED = 10  # violating cue positions listed in a report
_WORD_CHAR = re.compile(r"[A-Za-z0-9\u00C0-\u024F]")  # Latin letters/digits: never split
_NUMBER_SEPARATORS = ",.:"  # between two digits these belong to the number, not the sentence
# a text too long for two lines is split nearest its middle: each character off the middle
# costs 3 (imbalance plus the longer line), punctuation earns 4, so a point within MIDDLE / 2
# of it beats every point MIDDLE or more away, and only the points within MIDDLE are scored
MIDDLE = 64


@dataclass(frozen=True)
class LanguageRules:
    """Line and reading-speed limits of one target language."""

    max_chars: int  # characters per line
    max_cps: float  # reading speed: characters per second over the cue's duration
    cjk: bool  # break between characters (True) or only at spaces (False)


# Netflix Timed Text Style Guides, per language (adult programmes).
ENGLISH = LanguageRules(max_chars=42, max_cps=20.0, cjk=False)
CHINESE = LanguageRules(max_chars=16, max_cps=9.0, cjk=True)
JAPANESE = LanguageRules(max_chars=13, max_cps=4.0, cjk=True)
KOREAN = LanguageRules(max_chars=16, max_cps=12.0, cjk=False)  # Hangul is written with spaces
OTHER = LanguageRules(max_chars=42, max_cps=17.0, cjk=False)  # French, German, Spanish, ...
RULES = {"en": ENGLISH, "zh": CHINESE, "ja": JAPANESE, "ko": KOREAN}


def rules_for(lang: str) -> LanguageRules:
    """Limits for a language code (``zh``, ``zh-Hans``, ``zh_TW``, ``en-US`` ...)."""
    return RULES.get(language_base(lang), OTHER)


def _break_points(
    text: str, cjk: bool, lo: int = 1, hi: int | None = None
) -> Iterator[tuple[int, int, bool]]:
    """Allowed splits of ``text`` (one line, single spaces) at positions ``lo <= i < hi`` as
    (end of line 1, start of line 2, after punctuation): a space is consumed, a CJK split
    between characters consumes nothing."""
    for i in range(max(lo, 1), min(len(text), hi if hi is not None else len(text))):
        prev, cur = text[i - 1], text[i]
        if cur == " ":
            if i + 1 < len(text):
                after = prev in (CJK_BREAK_AFTER if cjk else LATIN_BREAK_AFTER)
                yield (i, i + 1, after)
        elif cjk and prev != " ":
            if _WORD_CHAR.match(prev) and _WORD_CHAR.match(cur):
                continue  # inside a Latin word or a number
            if prev in _NUMBER_SEPARATORS and cur.isdigit() and i > 1 and text[i - 2].isdigit():
                continue  # inside a number or a time: 1,000 / 3.5 / 10:30
            if cur in CJK_BREAK_AFTER:
                continue  # never start a line with punctuation
            yield (i, i, prev in CJK_BREAK_AFTER)


def _best_split(one: str, r: LanguageRules, points: Iterable[tuple[int, int, bool]]):
    """(cost, end, start) of the best of ``points``, or None when there is none."""
    best: tuple[float, int, int] | None = None
    for end, start, after_punct in points:
        a, b = end, len(one) - start  # line lengths, without slicing: linear in the text
        fits = a <= r.max_chars and b <= r.max_chars
        cost = abs(a - b) - (PUNCTUATION_BONUS if after_punct else 0)
        if not fits:
            cost += 10_000 + max(a, b)  # only when nothing fits: the most even split
        if best is None or cost < best[0]:
            best = (cost, end, start)
    return best


def break_text(text: str, lang: str, *, rules: LanguageRules | None = None) -> tuple[str, bool]:
    """Break ``text`` into at most 2 lines for ``lang``.

    Returns ``(text with "\\n" between lines, fits)``; ``fits`` is False when a line is
    still longer than the limit (the text is kept whole, never truncated).

    Time is linear in the text: a text too long for two lines can only be split evenly,
    so only the points near its middle are scored (all of them when none is there).

    Example::

        >>> break_text("在夏天，源头干涸了，河流也随之消失。", "zh")
        ('在夏天，源头干涸了，\\n河流也随之消失。', True)
    """
    r = rules or rules_for(lang)
    one = " ".join(text.split())
    if not one:
        return "", True
    if len(one) <= r.max_chars:
        return one, True
    best = None
    if len(one) > 2 * r.max_chars + 1:  # nothing fits: the most even split wins
        mid = len(one) // 2
        best = _best_split(one, r, _break_points(one, r.cjk, mid - MIDDLE, mid + MIDDLE))
        if best is not None and abs(best[1] - mid) > MIDDLE // 2:
            best = None  # a point outside the window might do better: score them all
    if best is None:
        best = _best_split(one, r, _break_points(one, r.cjk))
    if best is None:
        return one, False
    _, end, start = best
    first, second = one[:end].rstrip(), one[start:].lstrip()
    return f"{first}\n{second}", max(len(first), len(second)) <= r.max_chars


@dataclass(frozen=True)
class CueCheck:
    """Line-length and reading-speed figures of one cue."""

    chars: int  # characters shown (tags and line breaks excluded)
    cps: float  # chars per second of display time (inf for a zero-length cue with text)
    line_ok: bool  # at most MAX_LINES lines, each within max_chars
    speed_ok: bool  # cps within max_cps


def check_cue(text: str, start_ms: int, end_ms: int, rules: LanguageRules) -> CueCheck:
    plain = strip_tags(text)
    lines = [line for line in plain.split("\n") if line.strip()]
    chars = sum(len(line.strip()) for line in lines)
    duration_s = (end_ms - start_ms) / 1000.0
    if chars == 0:
        cps = 0.0
    elif duration_s <= 0:
        cps = float("inf")
    else:
        cps = chars / duration_s
    line_ok = len(lines) <= MAX_LINES and all(len(x.strip()) <= rules.max_chars for x in lines)
    return CueCheck(chars, cps, line_ok, cps <= rules.max_cps)


@dataclass
class ReadabilityReport:
    """Summary of line-length and reading-speed violations over a subtitle file."""

    lang: str
    max_chars: int  # the line limit applied
    max_lines: int
    max_cps: float  # the reading-speed limit applied
    cues: int = 0  # cues with text that were checked
    line_violations: int = 0  # cues with a line over max_chars or more than max_lines lines
    speed_violations: int = 0  # cues read faster than max_cps (zero-length cues with text too)
    worst_cps: float = 0.0  # the fastest finite reading speed met
    line_violation_cues: list[int] = field(default_factory=list)  # 0-based, first MAX_LISTED
    speed_violation_cues: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "lang": self.lang,
            "max_chars_per_line": self.max_chars,
            "max_lines": self.max_lines,
            "max_cps": self.max_cps,
            "cues_checked": self.cues,
            "line_length": self.line_violations,
            "reading_speed": self.speed_violations,
            "worst_cps": round(self.worst_cps, 2),
            "line_length_cues": self.line_violation_cues,
            "reading_speed_cues": self.speed_violation_cues,
        }


def check_readability(
    texts: Sequence[str], spans_ms: Sequence[tuple[int, int]], lang: str
) -> ReadabilityReport:
    """Check every cue's lines and reading speed against ``lang``'s limits."""
    r = rules_for(lang)
    report = ReadabilityReport(lang, r.max_chars, MAX_LINES, r.max_cps)
    for pos, (text, (start, end)) in enumerate(zip(texts, spans_ms, strict=True)):
        c = check_cue(text, start, end, r)
        if c.chars == 0:
            continue
        report.cues += 1
        if c.cps != float("inf"):
            report.worst_cps = max(report.worst_cps, c.cps)
        if not c.line_ok:
            report.line_violations += 1
            if len(report.line_violation_cues) < MAX_LISTED:
                report.line_violation_cues.append(pos)
        if not c.speed_ok:
            report.speed_violations += 1
            if len(report.speed_violation_cues) < MAX_LISTED:
                report.speed_violation_cues.append(pos)
    return report
