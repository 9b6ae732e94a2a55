"""``vloc glossary mine``: a reviewed glossary's first draft from earlier human translations.

From memory pairs (:mod:`vloc.memory.sources`: subtitle pairs, TMX, manifests), per film:

1. the recurring capitalised terms of its source lines (:func:`vloc.glossary.terms.film_terms`);
2. over all films, a term is kept when it occurs in at least ``min_lines`` lines, written
   capitalised in at least ``name_share`` of its occurrences (so "Over", "Really", "Back" —
   common words that open a quoted sentence — are not names);
3. its rendering is the string most of those lines' translations hold
   (:func:`~vloc.glossary.terms.dominant_rendering`), kept when at least ``rendering_share``
   of them hold it, when it is rarer than ``max_background`` among the translations of the
   same films' other lines (a common word such as 我们 is not a name's rendering), and when it
   is not the source term copied (a name left in Latin letters needs no glossary).

The glossary is written in the format ``--glossary`` reads (:mod:`vloc.glossary.file`),
each term under a ``#`` line with its evidence — how many lines, in how many films, how many
of them render it so, and one example pair — so that a reviewer keeps or deletes each term.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vloc.glossary.terms import dominant_rendering, film_terms, is_cjk

WarnFn = Callable[[str], None]
EXAMPLE_CHARS = 120  # longest example line quoted in the glossary file


@dataclass(frozen=True)
class MiningOptions:
    """What makes a term and its rendering (module docstring)."""

    min_lines: int = 3  # lines of the memory a term must occur in
    name_share: float = 0.9  # least share of its occurrences written capitalised
    rendering_share: float = 0.8  # least share of its lines' translations holding the rendering
    max_background: float = 0.05  # most share of the films' other translations holding it


@dataclass(frozen=True)
class MinedTerm:
    """One glossary term with its evidence."""

    source: str  # the term as the source lines write it
    target: str  # its dominant rendering in the translations
    lines: int  # memory lines holding the term
    rendered: int  # ... whose translation holds the rendering
    films: int  # films it occurs in
    example_source: str  # one line holding the term, whose translation holds the rendering
    example_target: str

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def mine_terms(pairs: Sequence[object], options: MiningOptions | None = None) -> list[MinedTerm]:
    """The glossary terms of ``pairs`` (objects with ``source``, ``target`` and ``film``),
    sorted by term."""
    opts = options or MiningOptions()
    by_film: dict[str, list[object]] = defaultdict(list)
    for p in pairs:
        by_film[p.film].append(p)  # type: ignore[attr-defined]
    cjk = is_cjk([p.target for p in pairs[:2000]])  # type: ignore[attr-defined]
    occ: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # term -> (film, src, tgt)
    lower: Counter[str] = Counter()
    for film, rows in by_film.items():
        texts = [p.source for p in rows]  # type: ignore[attr-defined]
        for term, hits in film_terms(texts).items():
            occ[term].extend((film, texts[i], rows[i].target) for i in hits)  # type: ignore[attr-defined]
            word = re.compile(rf"(?<!\w){re.escape(term.lower())}(?!\w)")
            lower[term] += sum(len(word.findall(x)) for x in texts)
    out: list[MinedTerm] = []
    for term, found in sorted(occ.items()):
        n = len(found)
        if n < opts.min_lines or n < opts.name_share * (n + lower[term]):
            continue
        rendering, held = dominant_rendering([t for _, _, t in found], cjk=cjk)
        if not rendering or held < opts.rendering_share * n:
            continue
        if rendering.casefold() in term.casefold():
            continue
        films = {f for f, _, _ in found}
        if _background(rendering, found, by_film, films) > opts.max_background:
            continue
        example = next((s, t) for _, s, t in found if rendering in t)
        out.append(MinedTerm(term, rendering, n, held, len(films), *example))
    return out


def _background(
    rendering: str,
    found: Sequence[tuple[str, str, str]],
    by_film: dict[str, list[object]],
    films: set[str],
) -> float:
    """Share of the translations of the term's films' *other* lines that hold the rendering."""
    own = {(f, s) for f, s, _ in found}
    others = [
        p.target  # type: ignore[attr-defined]
        for f in films
        for p in by_film[f]
        if (f, p.source) not in own  # type: ignore[attr-defined]
    ]
    return sum(rendering in t for t in others) / len(others) if others else 0.0


def _clip(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def dumps_glossary(terms: Sequence[MinedTerm], *, header: str = "") -> str:
    """The glossary file: a comment header, ``source<TAB>target``, then each term under a
    ``#`` line with its evidence (module docstring)."""
    lines = [f"# {h}" for h in header.splitlines()]
    lines += [
        "# Review: keep a term's line to accept it, delete it (or start it with #) to strike it.",
        "source\ttarget",
    ]
    for t in terms:
        share = t.rendered / t.lines
        lines.append(
            f"# {t.lines} lines in {t.films} film{'s' if t.films > 1 else ''}, "
            f"{share:.0%} rendered so; e.g. {_clip(t.example_source)!r} -> "
            f"{_clip(t.example_target)!r}"
        )
        lines.append(f"{t.source}\t{t.target}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MineResult:
    """What :func:`mine_glossary` wrote."""

    output: Path
    terms: list[MinedTerm]
    pairs: int  # memory pairs read
    films: int  # films they come from
    sources: tuple[object, ...]  # per source file: what it gave (vloc.memory.SourceReport)


def mine_glossary(
    paths: Sequence[str | Path],
    output: str | Path,
    *,
    source_lang: str,
    target_lang: str,
    options: MiningOptions | None = None,
    encoding: str | None = None,
    warn: WarnFn | None = None,
) -> MineResult:
    """Mine the glossary of a memory's files and write it to ``output`` (atomically)."""
    from vloc.fileio import atomic_write_text
    from vloc.memory.sources import read_memory

    src = read_memory(
        paths, source_lang=source_lang, target_lang=target_lang, encoding=encoding, warn=warn
    )
    terms = mine_terms(src.pairs, options)
    films = len({p.film for p in src.pairs})
    if not terms and warn is not None:
        warn(
            f"no term found in {len(src.pairs)} line pairs: terms are recurring capitalised "
            "names with one rendering (a source language without capitals gives none)"
        )
    opts = options or MiningOptions()
    header = (
        f"vloc glossary mine: {len(terms)} terms from {films} film{'s' if films != 1 else ''} "
        f"({len(src.pairs)} line pairs, {source_lang}->{target_lang}).\n"
        f"A term occurs in >= {opts.min_lines} lines, capitalised in >= {opts.name_share:.0%} "
        f"of its occurrences, rendered one way in >= {opts.rendering_share:.0%} of them."
    )
    from vloc.guard import protect_inputs

    with protect_inputs(src.files):  # a subtitle pair's partner file too
        atomic_write_text(output, dumps_glossary(terms, header=header))
    return MineResult(Path(output), terms, len(src.pairs), films, src.sources)
