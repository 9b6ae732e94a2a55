"""Per-video subtitle vector indexes and global-context retrieval.

* :func:`build_index` / :func:`load_index` — the FAISS index of one subtitle file, cached in the
  video's workspace (``vloc index``).
* :func:`global_context` — for every cue, the top-P similar cues of the same film and their
  neighbour-fused features (paper §III-A, eq. 1–3).
* :func:`film_context` — the segments every cue of a film sees, for each translator variant
  (eq. 1–3, the temporal baselines, the cue's own segment): the one context path of
  ``vloc translate``, training and ``vloc eval translate``.
"""

from __future__ import annotations

from vloc.index.context import (
    CONTEXT_KINDS,
    DEFAULT_GAMMA,
    DEFAULT_P,
    DEFAULT_W,
    PAD_ID,
    FilmContext,
    GlobalContext,
    context_ids,
    embed_texts,
    enhance,
    film_context,
    gather_context,
    global_context,
    retrieve,
    temporal_context_ids,
)
from vloc.index.manifest import INDEX_FORMAT, INDEX_FORMAT_VERSION, find_indexes, index_folder
from vloc.index.store import IndexResult, build_index
from vloc.index.subtitle_index import SubtitleIndex, load_index
from vloc.text import plain_text

__all__ = [
    "CONTEXT_KINDS",
    "DEFAULT_GAMMA",
    "DEFAULT_P",
    "DEFAULT_W",
    "INDEX_FORMAT",
    "INDEX_FORMAT_VERSION",
    "PAD_ID",
    "FilmContext",
    "GlobalContext",
    "IndexResult",
    "SubtitleIndex",
    "build_index",
    "context_ids",
    "embed_texts",
    "enhance",
    "film_context",
    "find_indexes",
    "gather_context",
    "global_context",
    "index_folder",
    "load_index",
    "plain_text",
    "retrieve",
    "temporal_context_ids",
]
