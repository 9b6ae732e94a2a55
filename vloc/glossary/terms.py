"""Recurring names and terms of a film, and how its translations render them.

* :func:`film_terms` — capitalised source words and runs of them ("Rommel", "Afrika Korps"),
  not counting a sentence's capitalised first word, with the lines they occur in;
* :func:`common_run` — the longest string every translation of those lines shares (the
  rendering a reference uses throughout, e.g. 隆美尔);
* :func:`dominant_rendering` — the rendering most of them share, for mining glossaries from
  human translations, where a translator sometimes drops or paraphrases a name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from vloc.text import CJK_PATTERN

TERM = re.compile(r"\b[A-Z][a-z]{2,}(?:\s[A-Z][a-z]{2,})*\b")  # capitalised words, runs of them
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+$")
_CJK = re.compile(CJK_PATTERN)
RUN_CHARS = (2, 12)  # a rendering without spaces: this many characters (CJK targets)
RUN_WORDS = 4  # a rendering in a spaced language: up to this many words
EXTEND_SHARE = 0.8  # a longer run holding the best one, in this share of its texts, wins
# CJK function characters a rendering does not start or end with: "在巴黎" (in Paris) is
# 巴黎, "南美洲的" (South America's) is 南美洲
_EDGE_START = "在从到去和与对把被向给跟让"
_EDGE_END = "的了是和与在"


def film_terms(texts: Sequence[str]) -> dict[str, list[int]]:
    """A film's capitalised terms → the lines they occur in. A term counts once it is seen
    capitalised somewhere other than at a sentence's start (so "Rommel" at the start of one
    line still counts when another line has "General Rommel"); ordinary sentence-initial
    words never do."""
    names = {t for text in texts for t in line_terms(text)}
    out: dict[str, list[int]] = {}
    for term in sorted(names):
        pat = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)")
        rows = [i for i, text in enumerate(texts) if pat.search(text)]
        if rows:
            out[term] = rows
    return out


def line_terms(text: str) -> set[str]:
    """Capitalised words and runs of them, without a sentence's capitalised first word."""
    found = set()
    for m in TERM.finditer(text):
        words = m.group(0).split()
        if m.start() == 0 or _SENTENCE_END.search(text[: m.start()]):
            words = words[1:]  # "Then Rommel" at a sentence start: the term is "Rommel"
        if words:
            found.add(" ".join(words))
    return found


def common_run(texts: list[str], min_len: int = 2) -> str:
    """The longest string (2–12 characters, no spaces) contained in every text."""
    base = min(texts, key=len)
    for size in range(min(len(base), RUN_CHARS[1]), min_len - 1, -1):
        for s in range(len(base) - size + 1):
            cand = base[s : s + size]
            if " " in cand or not cand.strip():
                continue
            if all(cand in t for t in texts):
                return cand
    return ""


def candidates(text: str, cjk: bool) -> set[str]:
    """Every string of ``text`` that could render a term: runs of 2–12 characters without
    spaces for CJK text, runs of 1–4 whole words otherwise."""
    if cjk:
        out: set[str] = set()
        for chunk in text.split():
            for size in range(RUN_CHARS[0], min(len(chunk), RUN_CHARS[1]) + 1):
                out.update(chunk[s : s + size] for s in range(len(chunk) - size + 1))
        return out
    words = re.findall(r"[^\W_]+(?:['’\-][^\W_]+)*", text)
    return {
        " ".join(words[s : s + n])
        for n in range(1, RUN_WORDS + 1)
        for s in range(len(words) - n + 1)
    }


def is_cjk(texts: Sequence[str]) -> bool:
    """Whether most of ``texts`` are written in CJK characters (no spaces between words)."""
    joined = "".join(texts)
    letters = sum(ch.isalpha() for ch in joined)
    return bool(letters) and len(_CJK.findall(joined)) >= letters / 2


def dominant_rendering(texts: Sequence[str], *, cjk: bool) -> tuple[str, int]:
    """(the rendering held by the most of ``texts``, how many hold it): among the candidate
    strings (:func:`candidates`) the most frequent, the longest of those, then the first in
    order of appearance; ("", 0) when there is none. In CJK text a longer run holding it
    that is nearly as frequent (:data:`EXTEND_SHARE`) wins, as a transliteration a few lines
    cut short ("特勒" beside "希特勒") is the longer one; then function characters at its
    edges go ("在巴黎" -> "巴黎")."""
    counts: Counter[str] = Counter()
    first: dict[str, tuple[int, int]] = {}  # (text, offset) of its first appearance
    for n, t in enumerate(texts):
        for c in candidates(t, cjk):
            counts[c] += 1
            first.setdefault(c, (n, t.find(c)))
    if not counts:
        return "", 0

    def earliest(c: str) -> tuple[int, int]:
        return (-first[c][0], -first[c][1])

    best = max(counts, key=lambda c: (counts[c], len(c), earliest(c)))
    if cjk:
        longer = [c for c in counts if best in c and counts[c] >= EXTEND_SHARE * counts[best]]
        best = max(longer, key=lambda c: (len(c), counts[c], earliest(c)))
        while len(best) > 2 and (best[0] in _EDGE_START or not best[0].isalnum()):
            if best[1:] not in counts:
                break
            best = best[1:]
        while len(best) > 2 and (best[-1] in _EDGE_END or not best[-1].isalnum()):
            if best[:-1] not in counts:
                break
            best = best[:-1]
    return best, counts[best]
