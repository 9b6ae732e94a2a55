"""How memory lines compare: the normalised form that makes two lines an *exact* match, the
token similarity that makes them a *fuzzy* one, language codes, and the text a pair stores.

Normalisation (:func:`tokens`, :func:`match_key`) — what an exact match ignores:

* tags (``<i>``, ``{\\an8}``) and line breaks: the cue's plain text (:func:`vloc.text.plain_text`);
* Unicode compatibility forms (NFKC: full-width ``Ｒｏｍｍｅｌ``, ligatures), typographic quotes
  and apostrophes (``’`` is ``'``);
* case (``casefold``): "State of War" and "state of war" are the same line;
* punctuation and symbols, except ``?`` and ``!``, which change what a line means (and how it
  is translated: "He's dead." / "He's dead?"). Apostrophes and hyphens inside a word stay
  part of it ("it's" is not "its"; "B-29"), separators inside a number too ("1,000", "3.5").

The tokens are words, numbers, ``?``/``!`` and single CJK characters (Chinese and Japanese
write no spaces between words, so a character is their unit of edit).

Fuzzy similarity (:func:`similarity`) is ``1 - edit distance / max(len)`` over those tokens:
the share of tokens two lines have in the same place, as a translation memory's "fuzzy match
%" counts words. A fuzzy match must also hold the same numbers (:func:`numbers`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from vloc.text import CJK_LETTERS, plain_text

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_TOKEN = re.compile(
    rf"\d+(?:[.,:]\d+)*"  # a number, with its separators (1,000  3.5  10:30)
    rf"|[{CJK_LETTERS}]"  # one CJK character
    rf"|[^\W\d_{CJK_LETTERS}]+(?:['\-][^\W\d_{CJK_LETTERS}]+)*"  # a word (it's, well-known)
    r"|[?!]"  # the two marks that change meaning
)
_NUMBER = re.compile(r"\d")
# byte-order marks and C0 controls but tab and newline inside cue text: never meant as
# text, and XML (TMX) cannot hold the controls
_DROPPED = re.compile("[\ufeff\x00-\x08\x0b\x0c\x0e-\x1f]")
_SCRIPT_TRADITIONAL = {"hant", "tw", "hk", "mo"}  # zh subtags that mean Traditional Chinese


def clean_text(text: str) -> str:
    """What a memory pair stores of a cue: tags removed, lines joined by one space, stray
    byte-order marks (U+FEFF) and control characters dropped; nothing else changes (an exact
    match reuses it as is)."""
    return plain_text(_DROPPED.sub("", text))


def tokens(text: str) -> list[str]:
    """The normalised tokens of a line (module docstring)."""
    norm = unicodedata.normalize("NFKC", plain_text(text)).translate(_QUOTES).casefold()
    return _TOKEN.findall(norm)


def match_key(text: str) -> str:
    """The normalised line: equal keys are an exact match; "" for a line with no words."""
    return " ".join(tokens(text))


def numbers(toks: Sequence[str]) -> list[str]:
    """The numbers among ``toks``, sorted (a fuzzy match must hold the same ones)."""
    return sorted(t for t in toks if _NUMBER.match(t))


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (insert, delete, substitute: 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """``1 - edit_distance / max(len(a), len(b))`` in [0, 1]; 0.0 when either is empty."""
    if not a or not b:
        return 0.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


def similarity_bound(a: Sequence[str], b: Sequence[str]) -> float:
    """An upper bound of :func:`similarity` from the lengths alone (cheap pre-filter)."""
    if not a or not b:
        return 0.0
    return 1.0 - abs(len(a) - len(b)) / max(len(a), len(b))


def _subtags(code: str) -> list[str]:
    return [p for p in re.split(r"[-_]", code.strip().lower()) if p]


def language_matches(wanted: str, found: str) -> bool:
    """Whether text tagged ``found`` (``en-US``, ``zh-CN``, ``zh_Hant``) is in the language
    ``wanted`` (``en``, ``zh``, ``zh-TW``).

    The primary languages must be equal. Chinese must also be in the same script: ``zh`` is
    Simplified (``zh``, ``zh-CN``, ``zh-Hans``, ``zh-SG``), ``zh-TW``/``zh-HK``/``zh-Hant`` are
    Traditional, so a Traditional memory never serves a Simplified film. Otherwise a code
    without a region matches any region (``en`` matches ``en-GB``), and two regions must be
    equal (``pt-BR`` is not ``pt-PT``).
    """
    w, f = _subtags(wanted), _subtags(found)
    if not w or not f or w[0] != f[0]:
        return False
    if w[0] == "zh":
        return bool(_SCRIPT_TRADITIONAL & set(w[1:])) == bool(_SCRIPT_TRADITIONAL & set(f[1:]))
    return len(w) == 1 or len(f) == 1 or w[1:] == f[1:]


def estimate_tokens(text: str) -> int:
    """A model-independent upper estimate of a text's tokens: one per CJK character, one per
    four other characters (BPE vocabularies of current LLMs give fewer for both)."""
    cjk = len(re.findall(f"[{CJK_LETTERS}]", text))
    return cjk + -(-(len(text) - cjk) // 4)
