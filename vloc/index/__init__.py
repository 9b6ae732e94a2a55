"""Per-video subtitle vector indexes and global-context retrieval.

* :func:`build_index` / :func:`load_index` — the FAISS index of one subtitle file, cached in the
  video's workspace (``vloc index``).
* :func:`global_context` — for every cue, the top-P similar cues of the same film and their
  neighbour-fused features (paper §III-A, eq. 1–3), for the translator.
"""

from __future__ import annotations

from vloc.index.context import (
    DEFAULT_GAMMA,
    DEFAULT_P,
    DEFAULT_W,
    PAD_ID,
    GlobalContext,
    enhance,
    global_context,
    retrieve,
)
from vloc.index.store import (
    INDEX_FORMAT,
    INDEX_FORMAT_VERSION,
    IndexResult,
    SubtitleIndex,
    build_index,
    find_indexes,
    index_folder,
    load_index,
    plain_text,
)

__all__ = [
    "DEFAULT_GAMMA",
    "DEFAULT_P",
    "DEFAULT_W",
    "INDEX_FORMAT",
    "INDEX_FORMAT_VERSION",
    "PAD_ID",
    "GlobalContext",
    "IndexResult",
    "SubtitleIndex",
    "build_index",
    "enhance",
    "find_indexes",
    "global_context",
    "index_folder",
    "load_index",
    "plain_text",
    "retrieve",
]
