"""A translation memory applied to one film (``vloc translate --memory PATH...``).

:func:`film_memory` opens the memory (:func:`vloc.memory.open_memory`, cached) and looks up
every cue of the film once:

* **fixed** — cues with an exact or fuzzy match (:mod:`vloc.memory.lookup`, threshold
  :data:`~vloc.memory.lookup.FUZZY_THRESHOLD`): their memory translation is the output,
  byte for byte, for vloc's own model and every engine; they are not sent to the translator,
  and an LLM sees them, with that translation, wherever they are context;
* **examples** — for LLM engines, the memory pairs most similar to the film's lines, within
  ``example_tokens`` (:func:`~vloc.memory.lookup.fit_examples`): in a chat model's stable
  system prompt beside the synopsis and glossary (:func:`~vloc.memory.lookup.render_pairs`),
  among a base model's few-shot example pairs.

:attr:`FilmMemory.identity` (the memory's content hash, :attr:`TranslationMemory.identity`)
goes into the engines' journal key through the examples and the fixed translations each
prompt shows, so a changed memory re-translates only the batches it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.memory.lookup import EXAMPLE_TOKENS, MemoryCounts, fit_examples

if TYPE_CHECKING:
    from vloc.memory.store import TranslationMemory

WarnFn = Callable[[str], None]
EXAMPLE_PAIRS = 24  # most memory pairs considered for the examples block


@dataclass(frozen=True)
class FilmMemory:
    """What a memory gives one film."""

    fixed: dict[int, str]  # cue position (0-based) -> the memory's translation, used as is
    examples: tuple[tuple[str, str], ...]  # (source, target) pairs for an LLM's prompt,
    # most similar first, within the token budget (none when not asked for)
    counts: MemoryCounts
    identity: str  # the memory's content hash
    pairs: int  # memory pairs read
    cached: bool  # the memory's index came from the cache
    matches: list[dict[str, object]] = field(default_factory=list)  # per fixed cue, its match
    files: list[str] = field(default_factory=list)  # every file read (inputs, never written)

    def to_json(self) -> dict[str, object]:
        return {
            **self.counts.to_json(),
            "pairs": self.pairs,
            "identity": self.identity,
            "cached": self.cached,
            "examples": len(self.examples),
            "matches": self.matches[:50],
        }


def film_memory(
    paths: Sequence[str | Path] | TranslationMemory,
    texts: Sequence[str],
    *,
    source_lang: str,
    target_lang: str,
    examples: bool = False,
    example_tokens: int = EXAMPLE_TOKENS,
    encoding: str | None = None,
    warn: WarnFn | None = None,
) -> FilmMemory:
    """Look up the film's plain cue ``texts`` ("" for an empty cue) in the memory ``paths``
    (or a memory already opened, for many films).

    Raises:
        InputError: a bad or empty memory, naming the file.
    """
    from vloc.memory.store import TranslationMemory, open_memory

    if isinstance(paths, TranslationMemory):
        mem = paths
    else:
        mem = open_memory(
            paths, source_lang=source_lang, target_lang=target_lang, encoding=encoding, warn=warn
        )
    found = mem.match(list(texts))
    fixed = found.reused()
    kept = fit_examples(found.examples(limit=EXAMPLE_PAIRS), example_tokens) if examples else []
    block = tuple((m.source, m.target) for m in kept)
    matches = [{"cue": i + 1, **m.to_json()} for i, m in enumerate(found.matches) if m is not None]
    return FilmMemory(
        fixed, block, found.counts, mem.identity, len(mem.sources.pairs), mem.cached, matches,
        mem.sources.files,
    )  # fmt: skip
