"""Translation memory: earlier episodes' approved subtitles reused for the next one.

Sources (:mod:`~vloc.memory.sources`): bilingual subtitle pairs ``NAME.<src>.srt`` +
``NAME.<tgt>.srt`` aligned by timing (:mod:`~vloc.memory.align`), TMX files
(:mod:`~vloc.memory.tmx`), vloc manifests. A memory is opened once per run
(:func:`open_memory`: its pairs embedded with the film index's encoder into a FAISS index
cached under ``$VLOC_HOME/memory/``), then asked about a film's lines
(:meth:`TranslationMemory.match`): exact and fuzzy matches to reuse verbatim, the most similar
pairs as examples for an LLM (:func:`render_examples`), and the counts a run reports
(``memory: N exact, M fuzzy``). :attr:`TranslationMemory.identity` keys journals.

Example::

    >>> mem = open_memory(["ep1.en.srt", "ep2.tmx"], source_lang="en", target_lang="zh")
    >>> found = mem.match(["General Rommel landed in Tripoli.", "Fire!"])
    >>> found.counts.summary(), found.reused()
    ('memory: 1 exact, 0 fuzzy', {1: '开火'})
    >>> block = render_examples(found.examples([0]), max_tokens=400)
"""

from __future__ import annotations

from vloc.memory.export import ExportResult, export_tmx
from vloc.memory.languages import infer_languages
from vloc.memory.lookup import (
    FUZZY_THRESHOLD,
    MemoryCounts,
    MemoryLookup,
    MemoryMatch,
    MemoryOptions,
    fit_examples,
    render_examples,
)
from vloc.memory.sources import MemoryPair, MemorySources, SourceReport, read_memory
from vloc.memory.store import TranslationMemory, open_memory
from vloc.memory.text import estimate_tokens, language_matches, match_key

__all__ = [
    "FUZZY_THRESHOLD",
    "ExportResult",
    "MemoryCounts",
    "MemoryLookup",
    "MemoryMatch",
    "MemoryOptions",
    "MemoryPair",
    "MemorySources",
    "SourceReport",
    "TranslationMemory",
    "estimate_tokens",
    "export_tmx",
    "fit_examples",
    "infer_languages",
    "language_matches",
    "match_key",
    "open_memory",
    "read_memory",
    "render_examples",
]
