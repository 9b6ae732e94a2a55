"""Style profiles: the limits a subtitle file is delivered to, per target language.

A profile names, for each language, characters per line, lines per cue, reading speed
(characters per second), how characters are counted and the punctuation convention; for the
whole file, minimum and maximum duration, the minimum gap between cues and how close to a shot
change a cue may end; and for each QC rule its level (``error``, ``warning`` or ``off``).

Shipped profiles (:data:`SHIPPED`):

* ``default`` — permissive: flags only what no audience can read or what is broken (overlaps,
  empty or untranslated cues, text in the wrong script); lines, reading speed and timing are
  warnings at generous limits; it imposes no punctuation convention.
* ``streaming`` — modelled on the public Timed Text Style Guides of Netflix
  (partnerhelp.netflixstudios.com: "Timed Text Style Guide: General Requirements" and the
  per-language guides), the most widely cited public subtitle specification, whose figures
  other platforms' vendor guides repeat:

  - 2 lines at most; duration 5/6 s (20 frames at 24 fps) to 7 s; a gap of 2 frames between
    cues "regardless of frame rate";
  - characters per line: 42 for English and other Latin-script languages, 16 for Simplified
    and Traditional Chinese and Korean, 13 for Japanese;
  - reading speed (adult programmes): English 20 characters per second in the English (USA)
    guide; 17 for other alphabetic languages (the guides of French, German, Spanish ...; the
    English *template* guide, which other languages translate from, also says 17); Chinese 9,
    Korean 12, Japanese 4;
  - every character of a line counts, spaces and punctuation included.

  Where guides differ: English is 20 cps in the English (USA) guide and 17 in the English
  template guide; the BBC's guidelines ask for 160-180 words per minute and 37 characters per
  line (68 % of a 16:9 picture); Chinese theatrical practice is often quoted at 4-5 characters
  per second. None of these guides prescribes dropping 。 and ，: punctuation is a client's
  convention, so ``streaming`` keeps what the translation has (``punctuation = "keep"``); a
  client who wants Chinese subtitle punctuation says so in its own profile (see
  :mod:`vloc.style.profile_file`).

A client's own profile is a TOML file (``--style FILE.toml``), read strictly by
:func:`vloc.style.profile_file.read_profile`: unknown keys, wrong types and impossible values
fail with one line naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from vloc.text import language_base

PUNCTUATION = ("keep", "subtitle")  # vloc.text.subtitle_punctuation: "subtitle" drops 。/，
LEVELS = ("error", "warning", "off")
RULES = (
    "chars_per_line",  # a line longer than the language's limit
    "lines",  # more lines than the limit
    "reading_speed",  # characters per second above the limit
    "min_duration",  # shown for less than the minimum
    "max_duration",  # shown for more than the maximum
    "min_gap",  # starts less than the minimum gap after the previous cue ends
    "overlap",  # starts before the previous cue ends (or before it starts: out of order)
    "empty",  # no text
    "untranslated",  # the same text as its source cue (needs the source subtitles)
    "wrong_script",  # letters mostly in another script than the language's
    "shot_change",  # a shot change inside the cue (needs the video)
)
DEFAULT_LANGUAGE = "default"  # the entry used for languages a profile does not list
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class LanguageStyle:
    """The line and reading-speed limits of one target language."""

    chars_per_line: int  # characters per line (counted as below)
    lines: int  # lines per cue
    cps: float  # reading speed: characters per second of display, all lines together
    punctuation: str = "keep"  # "keep": as written | "subtitle": Chinese 。/， become spaces
    count_spaces: bool = True  # spaces count as characters (line length and reading speed)
    count_punctuation: bool = True  # punctuation counts as characters


@dataclass(frozen=True)
class Timing:
    """Timing limits shared by every language of a profile."""

    min_duration_ms: int  # shortest display
    max_duration_ms: int  # longest display
    min_gap_frames: int  # frames between one cue's end and the next cue's start
    frame_rate: float = 24.0  # frames/s used for frame counts when no video is given
    shot_margin_frames: int = 12  # a shot change this close to a cue's start or end is a
    # timing detail (snap the cue to it), not a cue crossing a shot change

    def frames_ms(self, frames: int, fps: float | None = None) -> int:
        """``frames`` at ``fps`` (default :attr:`frame_rate`) in whole milliseconds, rounded up."""
        return math.ceil(frames * 1000.0 / (fps or self.frame_rate) - 1e-9)


@dataclass(frozen=True)
class StyleProfile:
    """A named set of delivery rules; :meth:`for_language` gives one language's limits."""

    name: str  # "streaming", "default", or the client's name (a TOML file's ``name``)
    description: str  # one line for reports
    languages: Mapping[str, LanguageStyle]  # by lower-case language tag ("zh", "zh-tw", "en")
    # and DEFAULT_LANGUAGE for the rest
    timing: Timing
    levels: Mapping[str, str]  # rule -> "error" | "warning" | "off", every rule of RULES
    source: str = ""  # where the figures come from (a file path for a client's profile)

    def for_language(self, lang: str | None) -> LanguageStyle:
        """The limits for ``lang``: its exact tag (``zh-TW``), else its primary language
        (``zh``), else the profile's default entry."""
        if lang:
            tag = lang.strip().lower().replace("_", "-")
            for key in (tag, language_base(tag)):
                if key in self.languages:
                    return self.languages[key]
        return self.languages[DEFAULT_LANGUAGE]

    def level(self, rule: str) -> str:
        return self.levels[rule]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "timing": self.timing.__dict__,
            "levels": dict(self.levels),
            "languages": {k: v.__dict__ for k, v in self.languages.items()},
        }


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(d))


_STREAMING_LATIN = LanguageStyle(chars_per_line=42, lines=2, cps=17.0)
STREAMING = StyleProfile(
    name="streaming",
    description="streaming platforms' public timed-text guides (Netflix TTSG figures)",
    languages=_frozen(
        {
            DEFAULT_LANGUAGE: _STREAMING_LATIN,
            "en": LanguageStyle(chars_per_line=42, lines=2, cps=20.0),
            "zh": LanguageStyle(chars_per_line=16, lines=2, cps=9.0),
            "ko": LanguageStyle(chars_per_line=16, lines=2, cps=12.0),
            "ja": LanguageStyle(chars_per_line=13, lines=2, cps=4.0),
        }
    ),
    timing=Timing(min_duration_ms=834, max_duration_ms=7000, min_gap_frames=2),  # 5/6 s
    levels=_frozen(
        {
            "chars_per_line": "error",
            "lines": "error",
            "reading_speed": "error",
            "min_duration": "warning",
            "max_duration": "error",
            "min_gap": "warning",
            "overlap": "error",
            "empty": "error",
            "untranslated": "error",
            "wrong_script": "error",
            "shot_change": "warning",
        }
    ),
    source="Netflix Timed Text Style Guides (General Requirements; English (USA), Simplified "
    "and Traditional Chinese, Japanese, Korean guides), partnerhelp.netflixstudios.com",
)

DEFAULT = StyleProfile(
    name="default",
    description="permissive: flags broken cues, warns only far past the usual limits",
    languages=_frozen(
        {
            DEFAULT_LANGUAGE: LanguageStyle(chars_per_line=50, lines=3, cps=25.0),
            "zh": LanguageStyle(chars_per_line=24, lines=3, cps=15.0),
            "ko": LanguageStyle(chars_per_line=24, lines=3, cps=18.0),
            "ja": LanguageStyle(chars_per_line=20, lines=3, cps=8.0),
        }
    ),
    timing=Timing(min_duration_ms=500, max_duration_ms=10_000, min_gap_frames=0),
    levels=_frozen(
        {
            "chars_per_line": "warning",
            "lines": "warning",
            "reading_speed": "warning",
            "min_duration": "warning",
            "max_duration": "warning",
            "min_gap": "off",
            "overlap": "error",
            "empty": "warning",
            "untranslated": "error",
            "wrong_script": "error",
            "shot_change": "warning",
        }
    ),
    source="vloc's permissive default: half again the streaming limits, no punctuation rule",
)

SHIPPED: Mapping[str, StyleProfile] = _frozen({p.name: p for p in (DEFAULT, STREAMING)})
