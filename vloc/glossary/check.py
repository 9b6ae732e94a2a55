"""``vloc glossary check``: how a finished translation renders a glossary's terms.

The translation is read as memory pairs (:func:`vloc.memory.read_memory`): a translated
subtitle file ``NAME.<tgt>.srt`` with its source ``NAME.<src>.srt`` beside it (aligned by
timing), a TMX file or a manifest. Per glossary term: the lines whose source holds the term
(matched as ``--glossary`` matches, :mod:`vloc.glossary.file`), how many of their
translations hold the term's target (hits) and which do not (misses, by film and cue).

Languages: ``--to`` defaults to the language tag of the translated subtitle files given,
``--from`` to the one other language of the subtitle files beside them; otherwise as
:func:`vloc.memory.infer_languages` says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vloc.memory.sources import SUBTITLE_SUFFIXES, language_tag

WarnFn = Callable[[str], None]
MAX_MISSES_LISTED = 20  # per term, the first misses named in the report


@dataclass(frozen=True)
class TermCheck:
    """One term over the translation."""

    source: str
    target: str
    lines: int  # lines whose source holds the term
    hits: int  # ... whose translation holds the target
    misses: list[str] = field(default_factory=list)  # "FILM cue N" of the first misses

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "lines": self.lines,
            "hits": self.hits,
            "missed": self.lines - self.hits,
            "misses": self.misses,
        }


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check_glossary` found."""

    terms: list[TermCheck]  # every glossary term, in glossary order (lines 0: not in the film)
    pairs: int  # translated lines read
    source_lang: str
    target_lang: str

    @property
    def found(self) -> list[TermCheck]:
        return [t for t in self.terms if t.lines]

    def summary(self) -> str:
        lines = sum(t.lines for t in self.found)
        hits = sum(t.hits for t in self.found)
        share = f" ({hits / lines:.0%})" if lines else ""
        return (
            f"{len(self.found)} of {len(self.terms)} terms occur in {self.pairs} lines; "
            f"{hits} of their {lines} lines use the glossary's rendering{share}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "pairs": self.pairs,
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "terms_found": len(self.found),
            "lines": sum(t.lines for t in self.found),
            "hits": sum(t.hits for t in self.found),
            "terms": [t.to_json() for t in self.terms],
        }


def check_languages(
    paths: Sequence[str | Path], source_lang: str | None, target_lang: str | None
) -> tuple[str, str]:
    """(source, target) of a translation to check (module docstring)."""
    from vloc.memory import infer_languages

    subs = [Path(p) for p in paths if Path(p).suffix.lower() in SUBTITLE_SUFFIXES]
    tagged = [t for p in subs if (t := language_tag(p))]
    if subs and len(tagged) == len(paths):
        if target_lang is None and len({tag for _, tag in tagged}) == 1:
            target_lang = tagged[0][1]
        if source_lang is None and target_lang is not None:
            others = {
                t[1]
                for p in subs
                for q in p.parent.iterdir()
                if q.suffix.lower() in SUBTITLE_SUFFIXES
                and (t := language_tag(q))
                and t[0] == language_tag(p)[0]  # type: ignore[index]
                and t[1] != target_lang
            }
            if len(others) == 1:
                source_lang = others.pop()
    return infer_languages(paths, source_lang, target_lang)


def check_glossary(
    paths: Sequence[str | Path],
    glossary: str | Path,
    *,
    source_lang: str | None = None,
    target_lang: str | None = None,
    encoding: str | None = None,
    warn: WarnFn | None = None,
) -> CheckResult:
    """Per glossary term, its hits and misses in the translation ``paths`` (module docstring).

    Raises:
        InputError: a bad glossary or translation file, naming it.
    """
    from vloc.glossary.file import glossary_report, read_glossary
    from vloc.memory import read_memory

    terms = read_glossary(glossary)
    src, tgt = check_languages(paths, source_lang, target_lang)
    mem = read_memory(paths, source_lang=src, target_lang=tgt, encoding=encoding, warn=warn)
    pairs = mem.pairs
    films = len({p.film for p in pairs})
    report = glossary_report([p.source for p in pairs], [p.target for p in pairs], terms)
    out = []
    for r in report:
        misses = [
            _where(pairs[n - 1], films > 1) for n in (r.missed_cues or [])[:MAX_MISSES_LISTED]
        ]
        out.append(TermCheck(r.source, r.target, r.cues, r.honoured, misses))
    return CheckResult(out, len(pairs), src, tgt)


def _where(pair: object, with_film: bool) -> str:
    """ "cue 12" (subtitle cue numbers), "tu 7", "cue 3" — after the film when several."""
    cue: str = pair.cue  # type: ignore[attr-defined]
    label = f"cue {cue}" if cue[:1].isdigit() else cue
    return f"{pair.film} {label}" if with_film else label  # type: ignore[attr-defined]
