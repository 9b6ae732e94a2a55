"""Glossaries (``--glossary terms.tsv``): reading, matching, enforcing and reporting.

File format: UTF-8 text, one term per line, tab-separated ``source<TAB>target[<TAB>note]``.
Blank lines and lines starting with ``#`` are ignored; a first other line
``source<TAB>target...`` is a header. A source term matches on word boundaries in Latin-script text (``Rommel``
matches "Rommel's", not "Rommelsberg") — a term written with a capital as written or in
capitals ("Over" is a name or a radio word, never the "over" of "it's over"), a lower-case
term in any case — and as a plain substring in text without spaces between words (Chinese,
Japanese).

Every engine is held to the glossary the same way: the report counts, per term, the cues
whose source contains it and how many of their translations contain the required target
(honoured) or not (missed). LLM engines get the terms in their prompt; the ``seq2seq`` engine
masks each term with a placeholder the model copies through and puts the target back
(:func:`mask_terms` / :func:`unmask_terms`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vloc.errors import InputError
from vloc.fileio import read_text_limited, sha256_bytes
from vloc.guard import note_read

HEADER = ("source", "target")
GLOSSARY_LIMIT_BYTES = 16 << 20  # a glossary of 100,000 terms is ~5 MB
PLACEHOLDER = "ZXQ{}"  # a token no language uses; models copy it through untranslated
_PLACEHOLDER = re.compile(r"Z\s?X\s?Q\s?(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class GlossaryTerm:
    """A term the translation must render one way (``--glossary``)."""

    source: str  # the term as it appears in the source text
    target: str  # its required translation
    note: str = ""  # optional guidance shown to LLM engines (e.g. "a German general")


def read_glossary(path: str | Path) -> tuple[GlossaryTerm, ...]:
    """Read a glossary file; one :class:`InputError` naming the file and line on bad input."""
    path = Path(path)
    note_read(path, "the glossary")
    text = read_text_limited(path, GLOSSARY_LIMIT_BYTES, what="glossary")
    terms: list[GlossaryTerm] = []
    seen: dict[str, int] = {}
    first = True
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        if first and tuple(c.lower() for c in cols[:2]) == HEADER:
            first = False
            continue
        first = False
        if len(cols) < 2 or not cols[0] or not cols[1]:
            raise InputError(
                f"line {n}: expected 'source<TAB>target[<TAB>note]', got {line[:60]!r}", path=path
            )
        key = cols[0].casefold()
        if key in seen:
            raise InputError(
                f"line {n}: {cols[0]!r} is already defined on line {seen[key]}", path=path
            )
        seen[key] = n
        terms.append(GlossaryTerm(cols[0], cols[1], cols[2] if len(cols) > 2 else ""))
    return tuple(terms)


def glossary_hash(terms: Sequence[GlossaryTerm]) -> str:
    """Content hash of a glossary (keys the translation journal)."""
    body = "\n".join(f"{t.source}\t{t.target}\t{t.note}" for t in terms)
    return sha256_bytes(body.encode())


def _pattern(term: str) -> re.Pattern[str]:
    """Where ``term`` occurs: on word boundaries where it has word characters; a term written
    with a capital (a name: "Rommel", "May", "Over") as written or in capitals only, so it
    never matches the common word ("may", "over"); a lower-case term in any case."""
    escaped = re.escape(term)
    if not re.search(r"[A-Za-z0-9]", term):
        return re.compile(escaped)
    if any(ch.isupper() for ch in term):
        upper = re.escape(term.upper())
        return re.compile(rf"(?<!\w)(?:{escaped}|{upper})(?!\w)")
    return re.compile(rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


def terms_in(texts: Sequence[str], terms: Sequence[GlossaryTerm]) -> tuple[GlossaryTerm, ...]:
    """The terms that occur in any of ``texts``, in glossary order."""
    return tuple(t for t in terms if any(_pattern(t.source).search(x) for x in texts))


def mask_terms(text: str, terms: Sequence[GlossaryTerm]) -> tuple[str, list[int]]:
    """Replace every glossary term in ``text`` with a placeholder; (masked text, the indices of
    the terms masked, in placeholder order). Longer terms are masked first."""
    used: list[int] = []
    order = sorted(range(len(terms)), key=lambda i: -len(terms[i].source))
    for i in order:
        pat = _pattern(terms[i].source)
        if pat.search(text):
            text = pat.sub(PLACEHOLDER.format(len(used)), text)
            used.append(i)
    return text, used


def unmask_terms(text: str, terms: Sequence[GlossaryTerm], used: Sequence[int]) -> str:
    """Put the targets back where the model copied the placeholders through."""

    def put(m: re.Match[str]) -> str:
        k = int(m.group(1))
        return terms[used[k]].target if k < len(used) else m.group(0)

    return _PLACEHOLDER.sub(put, text)


@dataclass
class TermReport:
    """How one glossary term fared over a film."""

    source: str
    target: str
    cues: int = 0  # cues whose source contains the term
    honoured: int = 0  # ... whose translation contains the target
    missed_cues: list[int] | None = None  # 1-based numbers of the cues that missed it

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "cues": self.cues,
            "honoured": self.honoured,
            "missed": self.cues - self.honoured,
            "missed_cues": (self.missed_cues or [])[:20],
        }


def missing_terms(
    source: str, translation: str, terms: Sequence[GlossaryTerm]
) -> list[GlossaryTerm]:
    """The terms that occur in ``source`` whose target is not in ``translation``."""
    text = translation.casefold()
    return [
        t for t in terms if _pattern(t.source).search(source) and t.target.casefold() not in text
    ]


def glossary_report(
    sources: Sequence[str], translations: Sequence[str], terms: Sequence[GlossaryTerm]
) -> list[TermReport]:
    """Per term: in how many cues it occurs and how often its target was used there."""
    out = []
    for t in terms:
        pat = _pattern(t.source)
        target = t.target.casefold()
        rep = TermReport(t.source, t.target, missed_cues=[])
        for n, (src, tr) in enumerate(zip(sources, translations, strict=True), start=1):
            if pat.search(src):
                rep.cues += 1
                if target in tr.casefold():  # the rule of missing_terms
                    rep.honoured += 1
                else:
                    rep.missed_cues.append(n)  # type: ignore[union-attr]
        out.append(rep)
    return out
