"""What a memory finds for a film's lines: exact and fuzzy matches to reuse, similar pairs to
show an LLM as examples, and the counts a run reports.

* **exact** — the line's normalised form (:func:`vloc.memory.text.match_key`: tags, case,
  spacing and punctuation but ``?``/``!`` ignored) equals a memory line's. Where the memory
  holds several translations of that form, the most frequent wins, a tie going to the one
  read last (later episodes are given later). Reused verbatim.
* **fuzzy** — not exact, but one of the ``candidates`` nearest memory lines (cosine of the
  sentence embeddings, FAISS) has a token similarity (:func:`vloc.memory.text.similarity`)
  of at least ``fuzzy`` and the same numbers. Reused verbatim. The default
  :data:`FUZZY_THRESHOLD` = 0.9 allows one token in ten to differ, so a line of under ten
  tokens only ever matches exactly: short lines one word apart usually mean something else
  ("I was a coward." / "I was a prisoner."), long ones mostly differ in grammar ("has" /
  "have produced a poster"). Measured on TopicVD (``benchmarks/memory_reuse.py``): the fuzzy
  matches at 0.9 had a mean chrF of 83.9 against the held-out film's own translation, the 14
  at 0.8 one of 36.8.
* **similar** — the nearest memory pairs of some lines with a cosine of at least
  ``min_example``: examples for an LLM's prompt (:func:`render_examples`, bounded in tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vloc.memory.text import estimate_tokens

if TYPE_CHECKING:
    from vloc.memory.store import TranslationMemory

FUZZY_THRESHOLD = 0.9  # least token similarity of a fuzzy match (module docstring)
CANDIDATES = 8  # nearest memory lines (by embedding) looked at per line
MIN_EXAMPLE = 0.5  # least cosine of a memory pair shown as an example
EXAMPLE_TOKENS = 600  # default budget of the examples block (estimate_tokens)
KINDS = ("exact", "fuzzy", "similar")
EXAMPLES_HEADER = (
    "Approved translations of related lines from earlier work (translation memory; follow "
    "their names and terms):"
)


@dataclass(frozen=True)
class MemoryOptions:
    """How a memory is matched against a film (keys :attr:`TranslationMemory.identity`)."""

    reuse: bool = True  # reuse exact and fuzzy matches verbatim (False: examples only)
    fuzzy: float = FUZZY_THRESHOLD  # least token similarity of a fuzzy match; >1 turns them off
    candidates: int = CANDIDATES  # nearest memory lines looked at per film line
    min_example: float = MIN_EXAMPLE  # least cosine of a pair shown as an example

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MemoryMatch:
    """A memory pair found for a line."""

    kind: str  # "exact" | "fuzzy" | "similar"
    score: float  # exact 1.0; fuzzy: token similarity; similar: cosine of the embeddings
    source: str  # the memory's source line
    target: str  # its translation (reused as is for exact and fuzzy matches)
    film: str  # the work it comes from
    origin: str  # the file it was read from
    cue: str  # where in that file ("12", "12+13", "tu 7", "cue 12")
    alternatives: int = 0  # other translations the memory holds for the same normalised line

    def to_json(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True)
class MemoryCounts:
    """How many lines a memory served."""

    exact: int = 0
    fuzzy: int = 0

    def summary(self) -> str:
        """``memory: N exact, M fuzzy`` (the line a run's summary shows)."""
        return f"memory: {self.exact} exact, {self.fuzzy} fuzzy"

    def to_json(self) -> dict[str, int]:
        return {"exact": self.exact, "fuzzy": self.fuzzy}


@dataclass(frozen=True)
class MemoryLookup:
    """The memory's answer for a film's lines (one position per line given to
    :meth:`TranslationMemory.match`)."""

    memory: TranslationMemory
    matches: tuple[MemoryMatch | None, ...]  # per line: exact or fuzzy, None: translate it
    neighbours: tuple[tuple[tuple[int, float], ...], ...]  # per line: (entry, cosine), best first

    @property
    def counts(self) -> MemoryCounts:
        kinds = [m.kind for m in self.matches if m is not None]
        return MemoryCounts(kinds.count("exact"), kinds.count("fuzzy"))

    def reused(self) -> dict[int, str]:
        """Line position → the translation to use as is (exact and fuzzy matches)."""
        return {i: m.target for i, m in enumerate(self.matches) if m is not None}

    def examples(self, rows: Sequence[int] | None = None, *, limit: int = 24) -> list[MemoryMatch]:
        """The memory pairs nearest to the lines ``rows`` (default: every line of the film),
        at most ``limit``, best first: each pair scored by its best cosine to any of the
        lines, pairs under ``min_example`` left out."""
        floor = self.memory.options.min_example
        best: dict[int, float] = {}
        for r in range(len(self.neighbours)) if rows is None else rows:
            for entry, score in self.neighbours[r]:
                if score >= floor and score > best.get(entry, float("-inf")):
                    best[entry] = score
        order = sorted(best, key=lambda e: (-best[e], e))[:limit]
        return [self.memory.entry_match(e, "similar", best[e]) for e in order]


def fit_examples(
    examples: Sequence[MemoryMatch],
    max_tokens: int = EXAMPLE_TOKENS,
    *,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> list[MemoryMatch]:
    """The first of ``examples`` (best first) whose rendered lines fit ``max_tokens``, as
    ``count_tokens`` counts them (default: :func:`vloc.memory.text.estimate_tokens`)."""
    used = count_tokens(EXAMPLES_HEADER)
    kept: list[MemoryMatch] = []
    for m in examples:
        cost = count_tokens(_example_line(m))
        if used + cost > max_tokens:
            continue  # a shorter pair further down may still fit
        kept.append(m)
        used += cost
    return kept


def _example_line(m: MemoryMatch) -> str:
    return f"- {m.source}\n    -> {m.target}"


def render_examples(
    examples: Sequence[MemoryMatch],
    max_tokens: int = EXAMPLE_TOKENS,
    *,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> str:
    """The examples block of an LLM prompt: a header line, then ``- source`` / ``-> target``
    per pair, best first, within ``max_tokens``; "" when none fits. Placed in the stable
    prefix (the system message) for examples of the whole film, or beside the related lines
    for a batch's own."""
    kept = fit_examples(examples, max_tokens, count_tokens=count_tokens)
    return render_pairs([(m.source, m.target) for m in kept])


def render_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """The examples block of (source, target) pairs, as :func:`render_examples` writes it;
    "" for none."""
    if not pairs:
        return ""
    return EXAMPLES_HEADER + "\n" + "\n".join(f"- {s}\n    -> {t}" for s, t in pairs)
