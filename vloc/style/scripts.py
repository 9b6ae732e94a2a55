"""Which script a text is written in, and whether that is the target language's.

Letters are classified by Unicode block (:func:`char_script`); digits, punctuation and symbols
belong to no script. A cue is *written in* a language when at least :data:`MIN_SCRIPT_SHARE`
of its letters are in the language's script: a Chinese cue may hold a name or an acronym in
Latin letters (``DNA``), an English cue a quoted word in another script.

Chinese is one language in two scripts: ``zh`` accepts Simplified and Traditional; ``zh-Hans``
(``zh-CN``, ``zh-SG``) and ``zh-Hant`` (``zh-TW``, ``zh-HK``, ``zh-MO``) also check which of the
two a cue is in (:func:`chinese_variant`, through OpenCC's character tables).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable

from vloc.text import LATIN_LETTERS, LATIN_WORD, language_base

MIN_SCRIPT_SHARE = 0.5  # share of a cue's letters that must be in the target's script
MIN_VARIANT_CHARS = 2  # characters proper to one Chinese script needed to call a cue that script

# (first code point, last code point, script), sorted; letters outside every range: "other"
_RANGES = sorted(
    [
        (0x0041, 0x005A, "latin"), (0x0061, 0x007A, "latin"), (0x00C0, 0x024F, "latin"),
        (0x1E00, 0x1EFF, "latin"), (0xFF21, 0xFF3A, "latin"), (0xFF41, 0xFF5A, "latin"),
        (0x0370, 0x03FF, "greek"), (0x0400, 0x052F, "cyrillic"), (0x0590, 0x05FF, "hebrew"),
        (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0x0900, 0x097F, "devanagari"),
        (0x0E00, 0x0E7F, "thai"), (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"),
        (0xAC00, 0xD7AF, "hangul"), (0x3040, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"),
        (0xFF66, 0xFF9F, "kana"), (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"),
        (0xF900, 0xFAFF, "han"), (0x20000, 0x2FFFF, "han"), (0x3005, 0x3007, "han"),
    ]
)  # fmt: skip
_STARTS = [r[0] for r in _RANGES]

# the script(s) a language is written in; languages not listed are written in Latin letters
_LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    "zh": frozenset({"han"}),
    "ja": frozenset({"han", "kana"}),
    "ko": frozenset({"hangul", "han"}),
    **{lang: frozenset({"cyrillic"}) for lang in ("ru", "uk", "bg", "sr", "mk", "be", "kk")},
    **{lang: frozenset({"arabic"}) for lang in ("ar", "fa", "ur", "ps")},
    **{lang: frozenset({"hebrew"}) for lang in ("he", "yi")},
    **{lang: frozenset({"devanagari"}) for lang in ("hi", "mr", "ne")},
    "th": frozenset({"thai"}),
    "el": frozenset({"greek"}),
}
_LATIN = frozenset({"latin"})
UNDETERMINED = ("und", "mul", "zxx")  # language tags that name no language
_HANS = ("hans", "cn", "sg", "my")  # subtags of Simplified Chinese
_HANT = ("hant", "tw", "hk", "mo")  # subtags of Traditional Chinese
# a Latin word of 3+ letters: "briefing", "café" (lowercase is asked of it after), not a part of
# "www.example.com"
_LOWER_WORD = re.compile(
    rf"(?<![{LATIN_LETTERS}./@])[{LATIN_LETTERS}]{{3,}}(?![{LATIN_LETTERS}@/]|\.[A-Za-z])"
)


def char_script(ch: str) -> str | None:
    """The script of a letter (``latin``, ``han``, ``kana``, ``hangul``, ``cyrillic`` ...),
    ``other`` for a letter of another script, None for anything that is not a letter."""
    if not ch.isalpha():
        return "han" if "\u3005" <= ch <= "\u3007" else None
    cp = ord(ch)
    i = bisect.bisect_right(_STARTS, cp) - 1
    if i >= 0 and cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    return "other"


def script_counts(text: str) -> Counter[str]:
    """Letters of ``text`` per script."""
    return Counter(s for s in map(char_script, text) if s is not None)


def language_scripts(lang: str | None) -> frozenset[str] | None:
    """The scripts ``lang`` is written in; None when the tag names no language (``und``)."""
    if not lang:
        return None
    base = language_base(lang)
    if base in UNDETERMINED:
        return None
    return _LANGUAGE_SCRIPTS.get(base, _LATIN)


def chinese_target(lang: str | None) -> str | None:
    """``hans`` or ``hant`` when ``lang`` asks for one Chinese script, else None (``zh``)."""
    if not lang or language_base(lang) != "zh":
        return None
    subtags = lang.lower().replace("_", "-").split("-")[1:]
    if any(t in _HANT for t in subtags):
        return "hant"
    if any(t in _HANS for t in subtags):
        return "hans"
    return None


def chinese_variant(text: str) -> str | None:
    """``hans`` when ``text`` holds characters only Simplified Chinese writes (OpenCC's s2t
    table changes them), ``hant`` for Traditional-only ones, None when neither stands out
    (characters shared by both scripts, or too few of either)."""
    from vloc.style.chinese import converter

    s2t, t2s = converter("s2t"), converter("t2s")
    simplified = sum(a != b for a, b in zip(text, s2t.convert(text), strict=False))
    traditional = sum(a != b for a, b in zip(text, t2s.convert(text), strict=False))
    if max(simplified, traditional) < MIN_VARIANT_CHARS:
        return None
    if simplified >= 2 * traditional:
        return "hans"
    if traditional >= 2 * simplified:
        return "hant"
    return None


def written_in(text: str, lang: str | None) -> bool | None:
    """Is ``text`` written in ``lang``'s script? None when it cannot tell (no letters, or
    ``lang`` names no language)."""
    scripts = language_scripts(lang)
    letters = script_counts(text)
    total = sum(letters.values())
    if scripts is None or total == 0:
        return None
    return sum(n for s, n in letters.items() if s in scripts) >= MIN_SCRIPT_SHARE * total


def guess_language(texts: Iterable[str]) -> str | None:
    """``zh``, ``ja`` or ``ko`` from the letters of a whole file; None for alphabetic text
    (which of the Latin-script languages it is cannot be told from letters)."""
    letters: Counter[str] = Counter()
    for t in texts:
        letters.update(script_counts(t))
    total = sum(letters.values())
    if total == 0:
        return None
    if letters["kana"] >= 0.1 * total:
        return "ja"
    if letters["hangul"] >= MIN_SCRIPT_SHARE * total:
        return "ko"
    if letters["han"] >= MIN_SCRIPT_SHARE * total:
        return "zh"
    return None


def source_words_left(
    source: str, text: str, lang: str, kept: Iterable[str] = (), *, forms: bool = False
) -> list[str]:
    """Common words of a Latin-script ``source`` copied into ``text``, its translation into
    ``lang`` when ``lang`` is written in another script: lowercase words of 3+ letters that the
    source has too ("briefing", "reinforcements") — with ``forms``, in another form too
    ("mile" for "miles": one is the other plus at most three letters, sharing four). Names and
    acronyms ("Rommel", "USA"), addresses and the words of ``kept`` are not counted. Empty
    for a Latin-script language."""
    scripts = language_scripts(lang)
    if scripts is None or "latin" in scripts:
        return []
    said = {w.lower() for w in LATIN_WORD.findall(source)}
    kept = {w.lower() for w in kept}

    def of_source(w: str) -> bool:
        if w in said:
            return True
        return forms and any(
            min(len(w), len(s)) >= 4 and abs(len(w) - len(s)) <= 3 and
            (s.startswith(w) or w.startswith(s))
            for s in said
        )  # fmt: skip

    return sorted(
        {w for w in _LOWER_WORD.findall(text) if w.islower() and of_source(w) and w not in kept}
    )
